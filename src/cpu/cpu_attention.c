/* cpu_attention.c — multi-head attention with a key padding mask (and an optional causal
 * mask) on the CPU.
 *
 * One general implementation (attn_fwd / attn_bwd, backend.h's ctcd_attn_shape): q, k, v are
 * separate pointers with their own row strides, Tq queries attend to Tk keys. The encoder's
 * self-attention op (attention_fwd / attention_bwd, fused qkv (B, T, 3, NH, HD)) is a thin
 * wrapper with q, k, v at offsets 0, A, 2A of each row and strides 3A, so it runs exactly the
 * arithmetic it always did. out (B, Tq, NH, HD). aux keeps the softmax probabilities P
 * (B, NH, Tq, Tk) before dropout. Keys with mask 0 (and, when causal, keys j > i) get
 * probability exactly 0; a query with no visible key outputs zeros.
 *
 * Attention-probability dropout: element (b, h, i, j) uses Philox index
 *     ((b·NH + h)·Tq + i)·Tk + j
 * with the layer's key. The CUDA backend must use the same index to draw the same mask. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_math.h"
#include "cpu_ops.h"

size_t cpu_attn_aux_bytes(ctcd_backend *be, const ctcd_attn_shape *s) {
    (void)be;
    return (size_t)s->B * (size_t)s->NH * (size_t)s->Tq * (size_t)s->Tk * sizeof(float);
}

size_t cpu_attention_aux_bytes(ctcd_backend *be, int B, int T, int NH) {
    const ctcd_attn_shape s = {B, T, T, NH, 1, 3, 3, 0};
    return cpu_attn_aux_bytes(be, &s);
}

static ctcd_status check_shape(const ctcd_attn_shape *s, float p) {
    if (!(p >= 0.0f && p < 1.0f))
        return CTCD_ERR(CTCD_E_INVALID, "attention dropout %g not in [0, 1)", (double)p);
    const int64_t A = (int64_t)s->NH * s->HD;
    if (s->B < 0 || s->Tq < 0 || s->Tk < 0 || s->NH < 0 || s->HD < 1 || s->q_stride < A ||
        s->kv_stride < A)
        return CTCD_ERR(CTCD_E_INVALID,
                        "attention: bad shape B=%d Tq=%d Tk=%d NH=%d HD=%d strides %lld/%lld",
                        s->B, s->Tq, s->Tk, s->NH, s->HD, (long long)s->q_stride,
                        (long long)s->kv_stride);
    if (s->causal && s->Tq != s->Tk)
        return CTCD_ERR(CTCD_E_INVALID, "attention: causal needs Tq == Tk (got %d, %d)", s->Tq,
                        s->Tk);
    return CTCD_OK;
}

/* Per-thread scratch of one (b, h): a transposed copy (HD × Tkp, Tkp = Tk rounded up to JB,
 * zero-padded) of k (forward) or v (backward), and two rows of Tkp floats. */
#define JB 16
typedef struct attn_scratch {
    float *t, *row0, *row1;
    int Tkp;
} attn_scratch;

static int scratch_alloc(attn_scratch *w, int HD, int Tk) {
    w->Tkp = (Tk + JB - 1) / JB * JB;
    w->t = malloc(((size_t)HD + 2) * (size_t)(w->Tkp ? w->Tkp : JB) * sizeof(float));
    w->row0 = w->t ? w->t + (size_t)HD * w->Tkp : NULL;
    w->row1 = w->t ? w->row0 + w->Tkp : NULL;
    return w->t != NULL;
}

/* t[d·Tkp + j] = x[j·stride + d], zero for j >= Tk. */
static void transpose_in(float *t, const float *x, size_t stride, int Tk, int Tkp, int HD) {
    for (int d = 0; d < HD; d++) {
        float *td = t + (size_t)d * Tkp;
        for (int j = 0; j < Tk; j++) td[j] = x[(size_t)j * stride + d];
        for (int j = Tk; j < Tkp; j++) td[j] = 0.0f;
    }
}

/* dots[j] = Σ_d a[d]·t[d·Tkp + j] for j < Tkp, each sum taken over d in ascending order from
 * 0.0f with a separate multiply and add — the arithmetic of the scalar loop
 * `s = 0; for d: s += a[d]·x[j][d]`, so the result does not change with the vector width;
 * JB sums at a time stay in registers over the whole d loop. */
static inline __attribute__((always_inline)) void dots_body(float *dots, const float *a,
                                                            const float *t, int Tkp, int HD) {
    for (int j0 = 0; j0 < Tkp; j0 += JB) {
        float acc[JB] = {0};
        for (int d = 0; d < HD; d++) {
            const float ad = a[d];
            const float *tr = t + (size_t)d * Tkp + j0;
            for (int c = 0; c < JB; c++) acc[c] += ad * tr[c];
        }
        for (int c = 0; c < JB; c++) dots[j0 + c] = acc[c];
    }
}

/* AVX2 where the CPU has it (wider vectors, same operations: no FMA contraction, "fma" is
 * not enabled here), the baseline build elsewhere. */
__attribute__((target("avx2"))) static void dots_avx2(float *dots, const float *a,
                                                      const float *t, int Tkp, int HD) {
    dots_body(dots, a, t, Tkp, HD);
}

static void dots_base(float *dots, const float *a, const float *t, int Tkp, int HD) {
    dots_body(dots, a, t, Tkp, HD);
}

typedef void (*dots_fn)(float *, const float *, const float *, int, int);

static dots_fn pick_dots(void) {
    return __builtin_cpu_supports("avx2") ? dots_avx2 : dots_base;
}

/* What one (batch, head) of the forward or the backward reads and writes. */
typedef struct attn_args {
    const ctcd_attn_shape *s;
    float p, scale, dscale;
    ctcd_dropout_key key;
    dots_fn dots;
    const float *q, *k, *v;
    const int32_t *kmask;
    float *P;                        /* forward: written; backward: read */
    float *out;                      /* forward */
    const float *dout;               /* backward */
    float *dq, *dk, *dv;             /* backward */
} attn_args;

typedef void (*head_fn)(const attn_args *a, int b, int h, const attn_scratch *w);

/* Runs fn on every (batch, head), OpenMP-parallel, each thread with its own scratch. */
static ctcd_status for_each_head(const attn_args *a, head_fn fn) {
    const int B = a->s->B, NH = a->s->NH;
    int failed = 0;
#pragma omp parallel reduction(| : failed)
    {
        attn_scratch w;
        if (!scratch_alloc(&w, a->s->HD, a->s->Tk)) failed = 1;
#pragma omp for collapse(2) schedule(static)
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                if (w.t) fn(a, b, h, &w);
        free(w.t);
    }
    if (failed) return CTCD_ERR(CTCD_E_NOMEM, "cpu: out of memory for attention scratch");
    return CTCD_OK;
}

static attn_args args_of(const ctcd_attn_shape *s, float p, ctcd_dropout_key key) {
    return (attn_args){.s = s, .p = p, .key = key, .dots = pick_dots(),
                       .scale = 1.0f / sqrtf((float)s->HD),
                       .dscale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f};
}

static void fwd_head(const attn_args *a, int b, int h, const attn_scratch *w) {
    const ctcd_attn_shape *s = a->s;
    const int Tq = s->Tq, Tk = s->Tk, NH = s->NH, HD = s->HD, causal = s->causal;
    const int A = NH * HD;
    const size_t qs = (size_t)s->q_stride, ks = (size_t)s->kv_stride;
    const float *q = a->q + (size_t)b * Tq * qs + (size_t)h * HD;
    const float *k = a->k + (size_t)b * Tk * ks + (size_t)h * HD;
    const float *v = a->v + (size_t)b * Tk * ks + (size_t)h * HD;
    const int32_t *mk = a->kmask ? a->kmask + (size_t)b * Tk : NULL;
    float *sc = w->row0, *keep = w->row1;
    transpose_in(w->t, k, ks, Tk, w->Tkp, HD);
    for (int i = 0; i < Tq; i++) {
        float *pr = a->P + (((size_t)b * NH + h) * Tq + i) * Tk;
        a->dots(sc, q + (size_t)i * qs, w->t, w->Tkp, HD);
        float mx = -INFINITY;
        for (int j = 0; j < Tk; j++) {
            if ((mk && !mk[j]) || (causal && j > i)) {
                pr[j] = -INFINITY;
                continue;
            }
            pr[j] = sc[j] * a->scale;
            if (pr[j] > mx) mx = pr[j];
        }
        float *o = a->out + ((size_t)b * Tq + i) * A + (size_t)h * HD;
        memset(o, 0, (size_t)HD * sizeof(float));
        if (mx == -INFINITY) {
            for (int j = 0; j < Tk; j++) pr[j] = 0.0f;
            continue;
        }
        double sum = 0.0;
        for (int j = 0; j < Tk; j++) {
            pr[j] = pr[j] != -INFINITY ? expf(pr[j] - mx) : 0.0f;
            sum += pr[j];
        }
        const float inv = (float)(1.0 / sum);
        cpu_dropout_keep(a->key, (((uint64_t)b * NH + h) * Tq + i) * Tk, Tk, a->p, a->dscale,
                         keep);
        for (int j = 0; j < Tk; j++) {
            pr[j] *= inv;
            if (pr[j] == 0.0f) continue;
            const float pd = pr[j] * keep[j];
            for (int d = 0; d < HD; d++) o[d] += pd * v[(size_t)j * ks + d];
        }
    }
}

ctcd_status cpu_attn_fwd(ctcd_backend *be, void *out_, void *aux_, const void *q_,
                         const void *k_, const void *v_, const int32_t *kmask,
                         const ctcd_attn_shape *s, float p, ctcd_dropout_key key) {
    (void)be;
    CTCD_TRY(check_shape(s, p));
    attn_args a = args_of(s, p, key);
    a.out = out_;  /* (B, Tq, NH, HD) */
    a.P = aux_;    /* (B, NH, Tq, Tk) */
    a.q = q_, a.k = k_, a.v = v_, a.kmask = kmask;
    return for_each_head(&a, fwd_head);
}

static void bwd_head(const attn_args *a, int b, int h, const attn_scratch *w) {
    const ctcd_attn_shape *s = a->s;
    const int Tq = s->Tq, Tk = s->Tk, NH = s->NH, HD = s->HD;
    const int A = NH * HD;
    const size_t qs = (size_t)s->q_stride, ks = (size_t)s->kv_stride;
    const size_t qoff = (size_t)b * Tq * qs + (size_t)h * HD;
    const size_t koff = (size_t)b * Tk * ks + (size_t)h * HD;
    const float *q = a->q + qoff, *k = a->k + koff, *v = a->v + koff;
    float *dq = a->dq + qoff, *dk = a->dk + koff, *dv = a->dv + koff;
    float *g = w->row0, *keep = w->row1;
    for (int t = 0; t < Tq; t++) memset(dq + (size_t)t * qs, 0, (size_t)HD * sizeof(float));
    for (int t = 0; t < Tk; t++) {
        memset(dk + (size_t)t * ks, 0, (size_t)HD * sizeof(float));
        memset(dv + (size_t)t * ks, 0, (size_t)HD * sizeof(float));
    }
    transpose_in(w->t, v, ks, Tk, w->Tkp, HD);
    for (int i = 0; i < Tq; i++) {
        const float *pr = a->P + (((size_t)b * NH + h) * Tq + i) * Tk;
        const float *go = a->dout + ((size_t)b * Tq + i) * A + (size_t)h * HD;
        /* With dP_j = keep_j·(go·v_j): dS_j = P_j·(dP_j − Σ_k P_k·dP_k). */
        a->dots(g, go, w->t, w->Tkp, HD);
        cpu_dropout_keep(a->key, (((uint64_t)b * NH + h) * Tq + i) * Tk, Tk, a->p, a->dscale,
                         keep);
        double dot = 0.0;
        for (int j = 0; j < Tk; j++) {
            if (pr[j] == 0.0f) continue;
            dot += (double)pr[j] * g[j] * keep[j];
            const float pd = pr[j] * keep[j];
            for (int d = 0; d < HD; d++) dv[(size_t)j * ks + d] += pd * go[d];
        }
        for (int j = 0; j < Tk; j++) {
            if (pr[j] == 0.0f) continue;
            const float ds = pr[j] * (g[j] * keep[j] - (float)dot) * a->scale;
            for (int d = 0; d < HD; d++) {
                dq[(size_t)i * qs + d] += ds * k[(size_t)j * ks + d];
                dk[(size_t)j * ks + d] += ds * q[(size_t)i * qs + d];
            }
        }
    }
}

ctcd_status cpu_attn_bwd(ctcd_backend *be, void *dq_, void *dk_, void *dv_, const void *dout_,
                         const void *q_, const void *k_, const void *v_, const void *aux_,
                         const int32_t *kmask, const ctcd_attn_shape *s, float p,
                         ctcd_dropout_key key) {
    (void)be;
    (void)kmask; /* masked (and causally hidden) keys have P = 0, which zeroes their gradients */
    CTCD_TRY(check_shape(s, p));
    attn_args a = args_of(s, p, key);
    a.dout = dout_;          /* (B, Tq, NH, HD) */
    a.P = (float *)aux_;     /* (B, NH, Tq, Tk), read only */
    a.q = q_, a.k = k_, a.v = v_;
    a.dq = dq_, a.dk = dk_, a.dv = dv_;
    return for_each_head(&a, bwd_head);
}

/* The encoder's fused self-attention: the general op on the three thirds of each qkv row. */
static ctcd_attn_shape self_shape(int B, int T, int NH, int HD) {
    const ctcd_attn_shape s = {B, T, T, NH, HD, 3 * (int64_t)NH * HD, 3 * (int64_t)NH * HD, 0};
    return s;
}

ctcd_status cpu_attention_fwd(ctcd_backend *be, void *out, void *aux, const void *qkv_,
                              const int32_t *mask, int B, int T, int NH, int HD, float p,
                              ctcd_dropout_key key) {
    const ctcd_attn_shape s = self_shape(B, T, NH, HD);
    const float *qkv = qkv_;
    const size_t A = (size_t)NH * HD;
    return cpu_attn_fwd(be, out, aux, qkv, qkv + A, qkv + 2 * A, mask, &s, p, key);
}

ctcd_status cpu_attention_bwd(ctcd_backend *be, void *dqkv_, const void *dout, const void *qkv_,
                              const void *aux, const int32_t *mask, int B, int T, int NH,
                              int HD, float p, ctcd_dropout_key key) {
    const ctcd_attn_shape s = self_shape(B, T, NH, HD);
    const float *qkv = qkv_;
    float *dqkv = dqkv_;
    const size_t A = (size_t)NH * HD;
    return cpu_attn_bwd(be, dqkv, dqkv + A, dqkv + 2 * A, dout, qkv, qkv + A, qkv + 2 * A, aux,
                        mask, &s, p, key);
}
