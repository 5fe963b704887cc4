/* flat_params.c — the parameter table builder and the flat-buffer optimizer pieces shared by
 * the encoder and the rationale decoder (flat_params.h). */
#include "flat_params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends a tensor at the next aligned offset, or, with follows, right at *n_total. */
static int64_t append(ctcd_param_builder *b, int decay, int64_t rows, int64_t cols,
                      const char *fmt, int l, int follows) {
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
    const int64_t A = CTCD_PARAM_ALIGN;
    ctcd_param_info *p = &(*b->params)[(*b->n_params)++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, fmt, l);
    p->offset = follows ? *b->n_total : (*b->n_total + A - 1) / A * A;
    p->ndim = cols > 0 ? 2 : 1;
    p->shape[0] = rows;
    p->shape[1] = cols > 0 ? cols : 0;
    p->numel = rows * (cols > 0 ? cols : 1);
    p->decay = decay;
    p->follows = follows;
    *b->n_total = p->offset + p->numel;
    *b->n_real += p->numel;
    return p->offset;
}

int64_t ctcd_param_add(ctcd_param_builder *b, int decay, int64_t rows, int64_t cols,
                       const char *fmt, int l) {
    return append(b, decay, rows, cols, fmt, l, 0);
}

int64_t ctcd_param_add_next(ctcd_param_builder *b, int decay, int64_t rows, int64_t cols,
                            const char *fmt, int l) {
    CTCD_ASSERT(b->err || (*b->n_params > 0 && (*b->params)[*b->n_params - 1].decay == decay),
                "%s: '%s' must follow a tensor of its decay class", b->what, fmt);
    return append(b, decay, rows, cols, fmt, l, 1);
}

/* The padding before tensor i (i == n: after the last one, up to n_total): [*lo, *hi),
 * empty when *hi == *lo. Tensors are in buffer order. */
static void padding_before(const ctcd_param_info *params, int n, int64_t n_total, int i,
                           int64_t *lo, int64_t *hi) {
    *lo = i > 0 ? params[i - 1].offset + params[i - 1].numel : 0;
    *hi = i < n ? params[i].offset : n_total;
    CTCD_ASSERT(*hi >= *lo, "tensor %d overlaps the previous one", i);
}

void ctcd_params_zero_padding(float *host, const ctcd_param_info *params, int n,
                              int64_t n_total) {
    for (int i = 0; i <= n; i++) {
        int64_t lo, hi;
        padding_before(params, n, n_total, i, &lo, &hi);
        if (hi > lo) memset(host + lo, 0, (size_t)(hi - lo) * sizeof *host);
    }
}

ctcd_status ctcd_flat_upload(ctcd_backend *be, float *master, const float *host,
                             const ctcd_param_info *params, int n_params, int64_t n_total) {
    CTCD_TRY(be->upload(be, master, host, (size_t)n_total * sizeof *host));
    for (int i = 0; i <= n_params; i++) {
        int64_t lo, hi;
        padding_before(params, n_params, n_total, i, &lo, &hi);
        if (hi > lo) CTCD_TRY(be->memzero(be, master + lo, (size_t)(hi - lo) * sizeof *master));
    }
    return CTCD_OK;
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
    CTCD_TRY(be->memzero(be, *r.master, f32));
    if (act) CTCD_TRY(be->memzero(be, *r.params, act));
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
