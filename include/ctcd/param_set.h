/* param_set.h — one set of trainable parameters in flat buffers, and everything done to
 * them as a whole: the table of named tensors with its alignment rule, the buffers (compute
 * copy `params`, fp32 `master`, `grads`, AdamW `adam_m`/`adam_v` of an optimizer shard, the
 * grad sum of squares), allocation, upload/download, zero-grad, grad norm + clipped AdamW,
 * ZeRO-1 sharding of the moments and freezing. The BERT encoder (ctcd_model, model.h) and
 * the rationale decoder (rationale.h) each embed one and delegate to it; ZeRO-1 (zero.h)
 * works on it alone. What the tensors mean (names, shapes, initialisation) is the owner's.
 *
 * All buffers are indexed by the same element offsets. The owner orders its tensors so that
 * every weight-decayed one comes first: [0, n_decay) gets weight decay, [n_decay, n_total)
 * (biases and LayerNorm) does not. AdamW, grad-norm and checkpointing are therefore one call
 * each.
 *
 * Every tensor starts at an offset that is a multiple of CTCD_PARAM_ALIGN elements (16 bytes
 * of bf16, 32 of fp32: cuBLASLt's bias epilogue and vector loads want 16-byte operands),
 * except a tensor that `follows` the previous one as part of one fused operand (key and value
 * after query). The gaps are padding: zero in every flat buffer (master, compute copy, grads,
 * AdamW moments) at all times, so weight decay, grad-norm and all-reduce leave them zero.
 * n_total (the buffer length) therefore exceeds the parameter count (the sum of numel) by
 * the padding; checkpoints store tensors by name and never see it. */
#ifndef CTCD_PARAM_SET_H
#define CTCD_PARAM_SET_H

#include <stddef.h>
#include <stdint.h>

#include "ctcd/backend.h"
#include "ctcd/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CTCD_PARAM_NAME_MAX 96

/* Tensors start at multiples of this many elements of the flat buffers (see above). */
#define CTCD_PARAM_ALIGN 8

/* One named tensor of the flat buffer (HF name, shape, decay class). */
typedef struct ctcd_param_info {
    char name[CTCD_PARAM_NAME_MAX];
    int64_t offset;
    int64_t numel;
    int ndim;
    int64_t shape[2];
    int decay;
    int follows;     /* 1: starts right after the previous tensor (one fused operand with it),
                        so its offset need not be a multiple of CTCD_PARAM_ALIGN */
} ctcd_param_info;

/* Zeroes the padding of a host copy host[n_total] of a flat buffer laid out by params[n]:
 * every element outside [offset, offset + numel) of all tensors. */
void ctcd_params_zero_padding(float *host, const ctcd_param_info *params, int n,
                              int64_t n_total);

/* ---- building a table ---- */

/* A table being built: appends keep `*params` (realloc'd), `*n_params`, `*n_total` (the
 * buffer length, padding included) and `*n_real` (the sum of numel), fields of the owner's
 * layout. */
typedef struct ctcd_param_builder {
    ctcd_param_info **params;
    int *n_params;
    int64_t *n_total;
    int64_t *n_real;
    int cap;
    ctcd_status err;     /* the first error (later appends are no-ops) */
    const char *what;    /* for the out-of-memory message ("the decoder's parameters") */
} ctcd_param_builder;

/* Appends tensor `fmt` (with %d = l) of rows x cols (cols 0: a vector) at the next multiple
 * of CTCD_PARAM_ALIGN elements (the gap is padding) and returns its offset in the flat
 * buffer. decay: 1 for weight-decayed tensors. */
int64_t ctcd_param_add(ctcd_param_builder *b, int decay, int64_t rows, int64_t cols,
                       const char *fmt, int l);
/* The same, but placed directly after the previous tensor (no padding; p->follows = 1): for
 * tensors that ops read as one fused operand with it (key and value after query). There must
 * be a previous tensor, of the same decay class. */
int64_t ctcd_param_add_next(ctcd_param_builder *b, int decay, int64_t rows, int64_t cols,
                            const char *fmt, int l);

/* ---- the set ---- */

typedef struct ctcd_param_set {
    char name[32];                  /* the owner in messages ("large", "rationale decoder") */
    ctcd_backend *be;
    const ctcd_param_info *tensors; /* [n_tensors] in buffer order; the owner's table, which
                                     * must outlive the set */
    int n_tensors;
    int64_t n_total;                /* elements in every full buffer, padding included */
    int64_t n_decay;                /* [0, n_decay) is weight-decayed */
    void *params;                   /* act[n_total] compute copy (== master on fp32 backends) */
    float *master;                  /* F32[n_total] */
    float *grads;                   /* F32[n_total]; NULL once frozen */
    float *adam_m, *adam_v;         /* F32[opt_hi - opt_lo]: moments of the optimizer shard;
                                     * NULL once frozen */
    int64_t opt_lo, opt_hi;         /* the shard AdamW updates: [0, n_total) unless ZeRO-1
                                     * sharded it (ctcd_param_set_shard) */
    float *sumsq;                   /* F32[1] grad sum of squares (backend memory) */
    int frozen;                     /* forward only: no gradients or optimizer state */
    size_t bytes;                   /* backend memory these buffers hold */
} ctcd_param_set;

/* Allocates the buffers of the table tensors[n_tensors] (n_total elements, the first n_decay
 * weight-decayed) on be, all zeroed (the padding must be zero in every buffer); the
 * allocations are named with the prefix `label` ("" or "decoder "), messages with `name`.
 * Parameters are zero until an upload. On failure what was allocated stays in place for
 * ctcd_param_set_free. */
ctcd_status ctcd_param_set_alloc(ctcd_param_set *ps, ctcd_backend *be, const char *name,
                                 const char *label, const ctcd_param_info *tensors,
                                 int n_tensors, int64_t n_total, int64_t n_decay);
/* Frees every buffer (any may be NULL, so a failed alloc is freed too) and clears them. */
void ctcd_param_set_free(ctcd_param_set *ps);

/* Replaces all parameters from host[n_total]: uploads the fp32 master, zeroes its padding
 * (whatever host holds there, so an upload can never put garbage between tensors) and
 * re-casts the compute copy. */
ctcd_status ctcd_param_set_upload(ctcd_param_set *ps, const float *host);
/* Copies all parameters (fp32 master) to host[n_total]. */
ctcd_status ctcd_param_set_download(const ctcd_param_set *ps, float *host);
/* Re-casts the compute copy from the fp32 master after the caller changed the master in
 * place (ZeRO-1's all-gather); a no-op on fp32 backends, where they are one buffer. */
ctcd_status ctcd_param_set_sync_compute(ctcd_param_set *ps);

/* Zeroes the gradients (the AdamW moments are left alone). An error when frozen. */
ctcd_status ctcd_param_set_zero_grad(ctcd_param_set *ps);
/* The first half of the optimizer step: Σ g² over the whole buffer into ps->sumsq (backend
 * memory, what the clip of ctcd_param_set_apply_update reads) and its square root on the
 * host. A non-finite result is the cheap detector of a NaN/Inf gradient. */
ctcd_status ctcd_param_set_grad_norm(ctcd_param_set *ps, float *norm);
/* The second half: clip by ps->sumsq + AdamW of the optimizer shard [opt_lo, opt_hi) (the
 * whole buffer unless sharded), writing the compute copy there when it is a separate buffer.
 * Must follow ctcd_param_set_grad_norm of the same gradients (or, sharded, the global sum of
 * squares written into ps->sumsq by the caller). */
ctcd_status ctcd_param_set_apply_update(ctcd_param_set *ps, const ctcd_adamw_hparams *h);
/* Both halves; norm (may be NULL) receives the pre-clip global gradient norm. An error when
 * frozen. */
ctcd_status ctcd_param_set_optimizer_step(ctcd_param_set *ps, const ctcd_adamw_hparams *h,
                                          float *norm);

/* ZeRO-1: keeps the AdamW moments of [lo, hi) of the flat buffer only (their current values
 * carried over; [lo, hi) must lie inside the current shard), so each moment shrinks to
 * hi − lo floats and ps->bytes by the difference. Updates then touch master and the compute
 * copy in [lo, hi) alone; the caller gathers the rest from the other ranks. */
ctcd_status ctcd_param_set_shard(ctcd_param_set *ps, int64_t lo, int64_t hi);
/* Forward only (a frozen teacher): releases the gradients and the moments; zero_grad and
 * optimizer_step then return an error. */
void ctcd_param_set_freeze(ctcd_param_set *ps);
/* The error for operation `what` ("backward") of a frozen set, naming its owner. */
ctcd_status ctcd_param_set_frozen_error(const ctcd_param_set *ps, const char *what);

#ifdef __cplusplus
}
#endif
#endif
