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
#include <string.h>

#include "cpu_ops.h"

size_t cpu_attn_aux_bytes(ctcd_backend *be, const ctcd_attn_shape *s) {
    (void)be;
    return (size_t)s->B * (size_t)s->NH * (size_t)s->Tq * (size_t)s->Tk * sizeof(float);
}

size_t cpu_attention_aux_bytes(ctcd_backend *be, int B, int T, int NH) {
    const ctcd_attn_shape s = {B, T, T, NH, 1, 3, 3, 0};
    return cpu_attn_aux_bytes(be, &s);
}

static inline float keep_scale(ctcd_dropout_key key, uint64_t idx, float p, float scale) {
    if (p <= 0.0f) return 1.0f;
    return ctcd_dropout_uniform(key, idx) >= p ? scale : 0.0f;
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

ctcd_status cpu_attn_fwd(ctcd_backend *be, void *out_, void *aux_, const void *q_,
                         const void *k_, const void *v_, const int32_t *kmask,
                         const ctcd_attn_shape *s, float p, ctcd_dropout_key key) {
    (void)be;
    CTCD_TRY(check_shape(s, p));
    float *out = out_;          /* (B, Tq, NH, HD) */
    float *P = aux_;            /* (B, NH, Tq, Tk) */
    const int B = s->B, Tq = s->Tq, Tk = s->Tk, NH = s->NH, HD = s->HD, causal = s->causal;
    const int A = NH * HD;
    const size_t qs = (size_t)s->q_stride, ks = (size_t)s->kv_stride;
    const float scale = 1.0f / sqrtf((float)HD), dscale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const float *q = (const float *)q_ + (size_t)b * Tq * qs + (size_t)h * HD;
            const float *k = (const float *)k_ + (size_t)b * Tk * ks + (size_t)h * HD;
            const float *v = (const float *)v_ + (size_t)b * Tk * ks + (size_t)h * HD;
            const int32_t *mk = kmask ? kmask + (size_t)b * Tk : NULL;
            for (int i = 0; i < Tq; i++) {
                float *pr = P + (((size_t)b * NH + h) * Tq + i) * Tk;
                float mx = -INFINITY;
                for (int j = 0; j < Tk; j++) {
                    if ((mk && !mk[j]) || (causal && j > i)) {
                        pr[j] = -INFINITY;
                        continue;
                    }
                    float sc = 0.0f;
                    for (int d = 0; d < HD; d++) sc += q[(size_t)i * qs + d] * k[(size_t)j * ks + d];
                    pr[j] = sc * scale;
                    if (pr[j] > mx) mx = pr[j];
                }
                float *o = out + ((size_t)b * Tq + i) * A + (size_t)h * HD;
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
                const uint64_t base = (((uint64_t)b * NH + h) * Tq + i) * Tk;
                for (int j = 0; j < Tk; j++) {
                    pr[j] *= inv;
                    if (pr[j] == 0.0f) continue;
                    const float pd = pr[j] * keep_scale(key, base + j, p, dscale);
                    for (int d = 0; d < HD; d++) o[d] += pd * v[(size_t)j * ks + d];
                }
            }
        }
    }
    return CTCD_OK;
}

ctcd_status cpu_attn_bwd(ctcd_backend *be, void *dq_, void *dk_, void *dv_, const void *dout_,
                         const void *q_, const void *k_, const void *v_, const void *aux_,
                         const int32_t *kmask, const ctcd_attn_shape *s, float p,
                         ctcd_dropout_key key) {
    (void)be;
    (void)kmask; /* masked (and causally hidden) keys have P = 0, which zeroes their gradients */
    CTCD_TRY(check_shape(s, p));
    const float *dout = dout_;  /* (B, Tq, NH, HD) */
    const float *P = aux_;      /* (B, NH, Tq, Tk) */
    const int B = s->B, Tq = s->Tq, Tk = s->Tk, NH = s->NH, HD = s->HD;
    const int A = NH * HD;
    const size_t qs = (size_t)s->q_stride, ks = (size_t)s->kv_stride;
    const float scale = 1.0f / sqrtf((float)HD), dscale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const size_t qoff = (size_t)b * Tq * qs + (size_t)h * HD;
            const size_t koff = (size_t)b * Tk * ks + (size_t)h * HD;
            const float *q = (const float *)q_ + qoff, *k = (const float *)k_ + koff;
            const float *v = (const float *)v_ + koff;
            float *dq = (float *)dq_ + qoff, *dk = (float *)dk_ + koff, *dv = (float *)dv_ + koff;
            for (int t = 0; t < Tq; t++) memset(dq + (size_t)t * qs, 0, (size_t)HD * sizeof(float));
            for (int t = 0; t < Tk; t++) {
                memset(dk + (size_t)t * ks, 0, (size_t)HD * sizeof(float));
                memset(dv + (size_t)t * ks, 0, (size_t)HD * sizeof(float));
            }
            for (int i = 0; i < Tq; i++) {
                const float *pr = P + (((size_t)b * NH + h) * Tq + i) * Tk;
                const float *go = dout + ((size_t)b * Tq + i) * A + (size_t)h * HD;
                const uint64_t base = (((uint64_t)b * NH + h) * Tq + i) * Tk;
                /* With dP_j = keep_j·(go·v_j): dS_j = P_j·(dP_j − Σ_k P_k·dP_k). Two passes over j
                 * recompute go·v_j instead of keeping a (Tk) scratch row per thread. */
                double dot = 0.0;
                for (int j = 0; j < Tk; j++) {
                    if (pr[j] == 0.0f) continue;
                    const float kp = keep_scale(key, base + j, p, dscale);
                    float g = 0.0f;
                    for (int d = 0; d < HD; d++) g += go[d] * v[(size_t)j * ks + d];
                    dot += (double)pr[j] * g * kp;
                    const float pd = pr[j] * kp;
                    for (int d = 0; d < HD; d++) dv[(size_t)j * ks + d] += pd * go[d];
                }
                for (int j = 0; j < Tk; j++) {
                    if (pr[j] == 0.0f) continue;
                    const float kp = keep_scale(key, base + j, p, dscale);
                    float g = 0.0f;
                    for (int d = 0; d < HD; d++) g += go[d] * v[(size_t)j * ks + d];
                    const float ds = pr[j] * (g * kp - (float)dot) * scale;
                    for (int d = 0; d < HD; d++) {
                        dq[(size_t)i * qs + d] += ds * k[(size_t)j * ks + d];
                        dk[(size_t)j * ks + d] += ds * q[(size_t)i * qs + d];
                    }
                }
            }
        }
    }
    return CTCD_OK;
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
