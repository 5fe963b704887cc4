/* flat_params.h — what every set of trainable parameters shares (the BERT encoder and the
 * rationale decoder): a table of named tensors laid out in one flat buffer, the fp32 master
 * copy with its compute copy, and the global grad norm + clipped AdamW over the whole
 * buffer. The owners keep their own structs; these functions take the pieces. */
#ifndef CTCD_FLAT_PARAMS_H
#define CTCD_FLAT_PARAMS_H

#include "ctcd/backend.h"
#include "ctcd/model.h"

/* A table being built: appends keep `*params` (realloc'd), `*n_params`, `*n_total` (the
 * buffer length, padding included) and `*n_real` (the sum of numel). */
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

/* Where a parameter set keeps its flat buffers (fields of the owner's struct). */
typedef struct ctcd_flat_refs {
    float **master;  /* F32[n] */
    void **params;   /* act[n]; == *master on fp32 backends */
    float **grads, **adam_m, **adam_v; /* F32[n], zeroed */
    float **sumsq;   /* F32[1]: the grad sum of squares for clipping */
} ctcd_flat_refs;

/* Allocates the buffers of a set of n elements (n_total), the allocations named with the
 * prefix `what` ("" or "decoder "), all zeroed (the padding between tensors must be zero in
 * every buffer); *bytes = their total. On failure what was allocated is left in place for
 * ctcd_flat_free. */
ctcd_status ctcd_flat_alloc(ctcd_backend *be, int64_t n, const char *what, ctcd_flat_refs r,
                            size_t *bytes);
/* Frees them (any may be NULL) and clears the pointers. */
void ctcd_flat_free(ctcd_backend *be, ctcd_flat_refs r);

/* Uploads host[n_total] into master[n_total] and zeroes the padding there (whatever host
 * holds in it), so an upload can never put garbage between tensors. */
ctcd_status ctcd_flat_upload(ctcd_backend *be, float *master, const float *host,
                             const ctcd_param_info *params, int n_params, int64_t n_total);

/* Re-casts the compute copy from the fp32 master (a no-op when they are one buffer). */
ctcd_status ctcd_flat_sync_compute(ctcd_backend *be, void *params, const float *master,
                                   int64_t n);
/* The global L2 norm of grads[n]; leaves the sum of squares in sumsq (backend memory) for
 * ctcd_flat_adamw's clipping. */
ctcd_status ctcd_flat_grad_norm(ctcd_backend *be, float *sumsq, const float *grads, int64_t n,
                                float *norm);
/* Clip (by the sumsq of ctcd_flat_grad_norm) + AdamW over master[n], writing the compute
 * copy params when it is a separate buffer. */
ctcd_status ctcd_flat_adamw(ctcd_backend *be, float *master, void *params, const float *grads,
                            float *adam_m, float *adam_v, const float *sumsq, int64_t n,
                            int64_t n_decay, const ctcd_adamw_hparams *h);

#endif
