/* zero.h — ZeRO-1 sharding of the AdamW state across data-parallel ranks (train.zero: 1).
 *
 * Rank r of a communicator c keeps the AdamW moments of its shard ctcd_shard_rows(n_total,
 * r, world) of a model's flat parameter buffer only. A step then: reduce-scatters the
 * gradients (each rank gets the global sum of its shard), takes the global gradient norm
 * (shard sums of squares all-reduced, so clipping sees the same norm as without sharding),
 * runs AdamW on its shard, and all-gathers the updated fp32 master weights (re-casting the
 * compute copy). Parameters after each step equal those of the unsharded run to fp32
 * rounding (sums in another order). Checkpoints stay world-size independent: saving gathers
 * the moments into full host buffers on every rank (ctcd_zero_gather_moments). Only the
 * transport's reduce_scatter_sum / allgather are used, so MPI (CPU) and NCCL (GPU) both
 * serve. */
#ifndef CTCD_ZERO_H
#define CTCD_ZERO_H

#include "ctcd/dist.h"
#include "ctcd/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Shrinks m's moments to this rank's shard (their values carried over). */
ctcd_status ctcd_zero_shard(ctcd_comm *c, ctcd_model *m);
/* 1 when m's optimizer holds a shard rather than the whole buffer. */
int ctcd_zero_is_sharded(const ctcd_model *m);
/* Reduce-scatter of m->grads: this rank's shard holds the sum over every rank. */
ctcd_status ctcd_zero_reduce_grads(ctcd_comm *c, ctcd_model *m);
/* The global gradient norm from the reduced shards; m->sumsq receives the global sum of
 * squares (what the clip of ctcd_model_apply_update reads). Identical on every rank. */
ctcd_status ctcd_zero_grad_norm(ctcd_comm *c, ctcd_model *m, float *norm);
/* All-gather of the master weights after every rank updated its shard, then the compute
 * copy re-cast. */
ctcd_status ctcd_zero_gather_params(ctcd_comm *c, ctcd_model *m);
/* Both moments as full F32[n_total] host buffers on every rank (collective: every rank must
 * call it, in the same order of models). */
ctcd_status ctcd_zero_gather_moments(ctcd_comm *c, const ctcd_model *m, float *adam_m,
                                     float *adam_v);

#ifdef __cplusplus
}
#endif
#endif
