/* flat_params.c — the parameter table builder and the flat-buffer optimizer pieces shared by
 * the encoder and the rationale decoder (flat_params.h). */
#include "flat_params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t ctcd_param_add(ctcd_param_builder *b, int decay, int64_t rows, int64_t cols,
                       const char *fmt, int l) {
    if (b->err) return 0;
    if (*b->n_params == b->cap) {
        const int cap = b->cap ? 2 * b->cap : 64;
        ctcd_param_info *p = realloc(*b->params, (size_t)cap * sizeof *p);
        if (!p) {
            b->err = CTCD_ERR(CTCD_E_NOMEM, "out of memory building %s",
                              b->what ? b->what : "the parameter table");
            return 0;
        }
        *b->params = p;
        b->cap = cap;
    }
    ctcd_param_info *p = &(*b->params)[(*b->n_params)++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, fmt, l);
    p->offset = *b->n_total;
    p->ndim = cols > 0 ? 2 : 1;
    p->shape[0] = rows;
    p->shape[1] = cols > 0 ? cols : 0;
    p->numel = rows * (cols > 0 ? cols : 1);
    p->decay = decay;
    *b->n_total += p->numel;
    return p->offset;
}

ctcd_status ctcd_flat_sync_compute(ctcd_backend *be, void *params, const float *master,
                                   int64_t n) {
    if (params == (const void *)master) return CTCD_OK;
    return be->cast(be, params, be->act_dtype, master, CTCD_F32, n);
}

ctcd_status ctcd_flat_grad_norm(ctcd_backend *be, float *sumsq, const float *grads, int64_t n,
                                float *norm) {
    CTCD_TRY(be->grad_sumsq(be, sumsq, grads, n));
    float s = 0.0f;
    CTCD_TRY(be->download(be, &s, sumsq, sizeof s));
    *norm = sqrtf(s);
    return CTCD_OK;
}

ctcd_status ctcd_flat_adamw(ctcd_backend *be, float *master, void *params, const float *grads,
                            float *adam_m, float *adam_v, const float *sumsq, int64_t n,
                            int64_t n_decay, const ctcd_adamw_hparams *h) {
    void *compute = params == (void *)master ? NULL : params;
    return be->adamw(be, master, compute, grads, adam_m, adam_v, n, n_decay, sumsq, h);
}
