/* zero.h — ZeRO-1 sharding of the AdamW state across data-parallel ranks (train.zero: 1).
 *
 * Rank r of a communicator c keeps the AdamW moments of its shard ctcd_shard_rows(n_total,
 * r, world) of a parameter set's flat buffer only (include/ctcd/param_set.h: a model's
 * m->ps; messages call it "the <ps->name> model"). A step then: reduce-scatters the
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
#include "ctcd/param_set.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Shrinks ps's moments to this rank's shard (their values carried over). */
ctcd_status ctcd_zero_shard(ctcd_comm *c, ctcd_param_set *ps);
/* 1 when ps's optimizer holds a shard rather than the whole buffer. */
int ctcd_zero_is_sharded(const ctcd_param_set *ps);
/* Reduce-scatter of ps->grads: this rank's shard holds the sum over every rank. */
ctcd_status ctcd_zero_reduce_grads(ctcd_comm *c, ctcd_param_set *ps);
/* The global gradient norm from the reduced shards; ps->sumsq receives the global sum of
 * squares (what the clip of ctcd_param_set_apply_update reads). Identical on every rank. */
ctcd_status ctcd_zero_grad_norm(ctcd_comm *c, ctcd_param_set *ps, float *norm);
/* All-gather of the master weights after every rank updated its shard, then the compute
 * copy re-cast. */
ctcd_status ctcd_zero_gather_params(ctcd_comm *c, ctcd_param_set *ps);
/* Both moments as full F32[n_total] host buffers on every rank (collective: every rank must
 * call it, in the same order of parameter sets). */
ctcd_status ctcd_zero_gather_moments(ctcd_comm *c, const ctcd_param_set *ps, float *adam_m,
                                     float *adam_v);

#ifdef __cplusplus
}
#endif
#endif
