/* param_set.c — a set of trainable parameters in flat buffers: the table builder with its
 * alignment rule, and the buffers' allocation, transfers and optimizer step
 * (include/ctcd/param_set.h). */
#include "ctcd/param_set.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the table ---- */

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

/* ---- the buffers ---- */

ctcd_status ctcd_param_set_alloc(ctcd_param_set *ps, ctcd_backend *be, const char *name,
                                 const char *label, const ctcd_param_info *tensors,
                                 int n_tensors, int64_t n_total, int64_t n_decay) {
    memset(ps, 0, sizeof *ps);
    snprintf(ps->name, sizeof ps->name, "%s", name);
    ps->be = be;
    ps->tensors = tensors;
    ps->n_tensors = n_tensors;
    ps->n_total = n_total;
    ps->n_decay = n_decay;
    ps->opt_lo = 0;
    ps->opt_hi = n_total;
    const size_t f32 = (size_t)n_total * sizeof(float);
    const size_t act =
        be->act_dtype == CTCD_F32 ? 0 : (size_t)n_total * ctcd_dtype_size(be->act_dtype);
    char what[64];
    ps->bytes = 4 * f32 + sizeof(float) + act;
#define ALLOC_(ptr, sz, kind)                                                     \
    do {                                                                          \
        snprintf(what, sizeof what, "%s%s", label, kind);                         \
        CTCD_TRY(be->alloc(be, (sz), what, (void **)&(ptr)));                     \
    } while (0)
    ALLOC_(ps->master, f32, "master weights");
    if (act) ALLOC_(ps->params, act, "compute weights");
    else ps->params = ps->master;
    ALLOC_(ps->grads, f32, "gradients");
    ALLOC_(ps->adam_m, f32, "adam m");
    ALLOC_(ps->adam_v, f32, "adam v");
    ALLOC_(ps->sumsq, sizeof(float), "grad sumsq");
#undef ALLOC_
    CTCD_TRY(be->memzero(be, ps->master, f32));
    if (act) CTCD_TRY(be->memzero(be, ps->params, act));
    CTCD_TRY(be->memzero(be, ps->grads, f32));
    CTCD_TRY(be->memzero(be, ps->adam_m, f32));
    return be->memzero(be, ps->adam_v, f32);
}

void ctcd_param_set_free(ctcd_param_set *ps) {
    ctcd_backend *be = ps->be;
    if (!be) return; /* never allocated */
    if (ps->params && ps->params != (void *)ps->master) be->free(be, ps->params);
    float **f32[] = {&ps->master, &ps->grads, &ps->adam_m, &ps->adam_v, &ps->sumsq};
    for (size_t i = 0; i < sizeof f32 / sizeof f32[0]; i++) {
        be->free(be, *f32[i]);
        *f32[i] = NULL;
    }
    ps->params = NULL;
}

ctcd_status ctcd_param_set_sync_compute(ctcd_param_set *ps) {
    if (ps->params == (void *)ps->master) return CTCD_OK;
    ctcd_backend *be = ps->be;
    return be->cast(be, ps->params, be->act_dtype, ps->master, CTCD_F32, ps->n_total);
}

ctcd_status ctcd_param_set_upload(ctcd_param_set *ps, const float *host) {
    ctcd_backend *be = ps->be;
    CTCD_TRY(be->upload(be, ps->master, host, (size_t)ps->n_total * sizeof *host));
    for (int i = 0; i <= ps->n_tensors; i++) {
        int64_t lo, hi;
        padding_before(ps->tensors, ps->n_tensors, ps->n_total, i, &lo, &hi);
        if (hi > lo)
            CTCD_TRY(be->memzero(be, ps->master + lo, (size_t)(hi - lo) * sizeof(float)));
    }
    return ctcd_param_set_sync_compute(ps);
}

ctcd_status ctcd_param_set_download(const ctcd_param_set *ps, float *host) {
    return ps->be->download(ps->be, host, ps->master, (size_t)ps->n_total * sizeof(float));
}

/* ---- the optimizer ---- */

ctcd_status ctcd_param_set_frozen_error(const ctcd_param_set *ps, const char *what) {
    return CTCD_ERR(CTCD_E_INVALID, "%s: %s of a frozen (forward-only) model", ps->name, what);
}

ctcd_status ctcd_param_set_zero_grad(ctcd_param_set *ps) {
    if (ps->frozen) return ctcd_param_set_frozen_error(ps, "zero_grad");
    return ps->be->memzero(ps->be, ps->grads, (size_t)ps->n_total * sizeof(float));
}

ctcd_status ctcd_param_set_grad_norm(ctcd_param_set *ps, float *norm) {
    ctcd_backend *be = ps->be;
    CTCD_TRY(be->grad_sumsq(be, ps->sumsq, ps->grads, ps->n_total));
    float s = 0.0f;
    CTCD_TRY(be->download(be, &s, ps->sumsq, sizeof s));
    *norm = sqrtf(s);
    return CTCD_OK;
}

ctcd_status ctcd_param_set_apply_update(ctcd_param_set *ps, const ctcd_adamw_hparams *h) {
    ctcd_backend *be = ps->be;
    const int64_t lo = ps->opt_lo, n = ps->opt_hi - ps->opt_lo;
    /* the decayed prefix [0, n_decay) as seen from inside the shard */
    const int64_t left = ps->n_decay - lo, n_decay = left < 0 ? 0 : left > n ? n : left;
    /* the backend writes a separate compute copy alongside the master, NULL when they are one */
    void *compute = ps->params == (void *)ps->master
                        ? NULL
                        : (char *)ps->params + (size_t)lo * ctcd_dtype_size(be->act_dtype);
    return be->adamw(be, ps->master + lo, compute, ps->grads + lo, ps->adam_m, ps->adam_v, n,
                     n_decay, ps->sumsq, h);
}

ctcd_status ctcd_param_set_optimizer_step(ctcd_param_set *ps, const ctcd_adamw_hparams *h,
                                          float *norm) {
    if (ps->frozen) return ctcd_param_set_frozen_error(ps, "optimizer step");
    float s;
    CTCD_TRY(ctcd_param_set_grad_norm(ps, &s));
    CTCD_TRY(ctcd_param_set_apply_update(ps, h));
    if (norm) *norm = s;
    return CTCD_OK;
}

/* Replaces moment buffer *buf (of the current shard) by one holding [lo, hi) of it. */
static ctcd_status shrink_moment(ctcd_param_set *ps, float **buf, int64_t lo, int64_t hi,
                                 float *host, const char *what) {
    ctcd_backend *be = ps->be;
    const size_t bytes = (size_t)(hi - lo) * sizeof(float);
    float *fresh = NULL;
    if (bytes) CTCD_TRY(be->download(be, host, *buf + (lo - ps->opt_lo), bytes));
    CTCD_TRY(be->alloc(be, bytes ? bytes : 4, what, (void **)&fresh));
    ctcd_status st = bytes ? be->upload(be, fresh, host, bytes) : CTCD_OK;
    if (st) {
        be->free(be, fresh);
        return st;
    }
    be->free(be, *buf);
    *buf = fresh;
    return CTCD_OK;
}

ctcd_status ctcd_param_set_shard(ctcd_param_set *ps, int64_t lo, int64_t hi) {
    if (ps->frozen) return ctcd_param_set_frozen_error(ps, "optimizer sharding");
    if (lo < ps->opt_lo || hi > ps->opt_hi || lo > hi)
        return CTCD_ERR(CTCD_E_INVALID, "%s: optimizer shard [%lld, %lld) is not inside the "
                        "current one [%lld, %lld)", ps->name, (long long)lo, (long long)hi,
                        (long long)ps->opt_lo, (long long)ps->opt_hi);
    float *host = malloc((size_t)(hi - lo + 1) * sizeof *host);
    if (!host)
        return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory sharding the optimizer", ps->name);
    ctcd_status st = shrink_moment(ps, &ps->adam_m, lo, hi, host, "adam m shard");
    if (!st) st = shrink_moment(ps, &ps->adam_v, lo, hi, host, "adam v shard");
    free(host);
    if (st) return ctcd_error_wrap(st, "%s: sharding the optimizer", ps->name);
    ps->bytes -= (size_t)((ps->opt_hi - ps->opt_lo) - (hi - lo)) * sizeof(float) * 2;
    ps->opt_lo = lo;
    ps->opt_hi = hi;
    return CTCD_OK;
}

void ctcd_param_set_freeze(ctcd_param_set *ps) {
    ctcd_backend *be = ps->be;
    be->free(be, ps->grads);
    be->free(be, ps->adam_m);
    be->free(be, ps->adam_v);
    ps->grads = ps->adam_m = ps->adam_v = NULL;
    ps->frozen = 1;
    ps->bytes -= (size_t)ps->n_total * sizeof(float) +
                 (size_t)(ps->opt_hi - ps->opt_lo) * sizeof(float) * 2;
}
