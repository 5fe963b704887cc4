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

ctcd_status ctcd_flat_alloc(ctcd_backend *be, int64_t n, const char *what, ctcd_flat_refs r,
                            size_t *bytes) {
    const size_t f32 = (size_t)n * sizeof(float);
    const size_t act = be->act_dtype == CTCD_F32 ? 0 : (size_t)n * ctcd_dtype_size(be->act_dtype);
    char name[64];
    *bytes = 4 * f32 + sizeof(float) + act;
#define FLAT_ALLOC_(ptr, sz, label)                                               \
    do {                                                                          \
        snprintf(name, sizeof name, "%s%s", what, label);                         \
        CTCD_TRY(be->alloc(be, (sz), name, (void **)(ptr)));                      \
    } while (0)
    FLAT_ALLOC_(r.master, f32, "master weights");
    if (act) FLAT_ALLOC_(r.params, act, "compute weights");
    else *r.params = *r.master;
    FLAT_ALLOC_(r.grads, f32, "gradients");
    FLAT_ALLOC_(r.adam_m, f32, "adam m");
    FLAT_ALLOC_(r.adam_v, f32, "adam v");
    FLAT_ALLOC_(r.sumsq, sizeof(float), "grad sumsq");
#undef FLAT_ALLOC_
    CTCD_TRY(be->memzero(be, *r.grads, f32));
    CTCD_TRY(be->memzero(be, *r.adam_m, f32));
    return be->memzero(be, *r.adam_v, f32);
}

void ctcd_flat_free(ctcd_backend *be, ctcd_flat_refs r) {
    if (*r.params && *r.params != (void *)*r.master) be->free(be, *r.params);
    float **f32[] = {r.master, r.grads, r.adam_m, r.adam_v, r.sumsq};
    for (size_t i = 0; i < sizeof f32 / sizeof f32[0]; i++) {
        be->free(be, *f32[i]);
        *f32[i] = NULL;
    }
    *r.params = NULL;
}
