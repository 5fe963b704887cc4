/* cpu_attention.c — multi-head self-attention with a key padding mask on the CPU.
 *
 * Layout: qkv (B, T, 3, NH, HD) — q, k, v of token t at row (b·T + t), offsets 0, A, 2A with
 * A = NH·HD; out (B, T, NH, HD). aux keeps the softmax probabilities P (B, NH, T, T) before
 * dropout. Keys with mask 0 get probability exactly 0; a query whose row has no valid key
 * outputs zeros.
 *
 * Attention-probability dropout: element (b, h, i, j) uses Philox index
 *     ((b·NH + h)·T + i)·T + j
 * with the layer's key. The CUDA backend must use the same index to draw the same mask. */
#include <math.h>
#include <string.h>

#include "cpu_ops.h"

size_t cpu_attention_aux_bytes(ctcd_backend *be, int B, int T, int NH) {
    (void)be;
    return (size_t)B * (size_t)NH * (size_t)T * (size_t)T * sizeof(float);
}

static inline float keep_scale(ctcd_dropout_key key, uint64_t idx, float p, float scale) {
    if (p <= 0.0f) return 1.0f;
    return ctcd_dropout_uniform(key, idx) >= p ? scale : 0.0f;
}

ctcd_status cpu_attention_fwd(ctcd_backend *be, void *out_, void *aux_, const void *qkv_,
                              const int32_t *mask, int B, int T, int NH, int HD, float p,
                              ctcd_dropout_key key) {
    (void)be;
    float *out = out_;          /* (B, T, NH, HD) */
    float *P = aux_;            /* (B, NH, T, T) */
    const float *qkv = qkv_;    /* (B, T, 3, NH, HD) */
    if (!(p >= 0.0f && p < 1.0f))
        return CTCD_ERR(CTCD_E_INVALID, "attention dropout %g not in [0, 1)", (double)p);
    const int A = NH * HD, row = 3 * A;
    const float scale = 1.0f / sqrtf((float)HD), dscale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const float *q = qkv + (size_t)b * T * row + (size_t)h * HD;
            const float *k = q + A, *v = q + 2 * A;
            const int32_t *mk = mask + (size_t)b * T;
            for (int i = 0; i < T; i++) {
                float *pr = P + (((size_t)b * NH + h) * T + i) * T;
                float mx = -INFINITY;
                for (int j = 0; j < T; j++) {
                    if (!mk[j]) {
                        pr[j] = -INFINITY;
                        continue;
                    }
                    float s = 0.0f;
                    for (int d = 0; d < HD; d++) s += q[(size_t)i * row + d] * k[(size_t)j * row + d];
                    pr[j] = s * scale;
                    if (pr[j] > mx) mx = pr[j];
                }
                float *o = out + ((size_t)b * T + i) * A + (size_t)h * HD;
                memset(o, 0, (size_t)HD * sizeof(float));
                if (mx == -INFINITY) {
                    for (int j = 0; j < T; j++) pr[j] = 0.0f;
                    continue;
                }
                double sum = 0.0;
                for (int j = 0; j < T; j++) {
                    pr[j] = mk[j] ? expf(pr[j] - mx) : 0.0f;
                    sum += pr[j];
                }
                const float inv = (float)(1.0 / sum);
                const uint64_t base = (((uint64_t)b * NH + h) * T + i) * T;
                for (int j = 0; j < T; j++) {
                    pr[j] *= inv;
                    if (pr[j] == 0.0f) continue;
                    const float pd = pr[j] * keep_scale(key, base + j, p, dscale);
                    for (int d = 0; d < HD; d++) o[d] += pd * v[(size_t)j * row + d];
                }
            }
        }
    }
    return CTCD_OK;
}

ctcd_status cpu_attention_bwd(ctcd_backend *be, void *dqkv_, const void *dout_, const void *qkv_,
                              const void *aux_, const int32_t *mask, int B, int T, int NH,
                              int HD, float p, ctcd_dropout_key key) {
    (void)be;
    (void)mask; /* masked keys have P = 0, which already zeroes their gradients */
    float *dqkv = dqkv_;        /* (B, T, 3, NH, HD) written */
    const float *dout = dout_;  /* (B, T, NH, HD) */
    const float *qkv = qkv_;
    const float *P = aux_;      /* (B, NH, T, T) */
    const int A = NH * HD, row = 3 * A;
    const float scale = 1.0f / sqrtf((float)HD), dscale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const size_t off = (size_t)b * T * row + (size_t)h * HD;
            const float *q = qkv + off, *k = q + A, *v = q + 2 * A;
            float *dq = dqkv + off, *dk = dq + A, *dv = dq + 2 * A;
            for (int t = 0; t < T; t++) {
                memset(dq + (size_t)t * row, 0, (size_t)HD * sizeof(float));
                memset(dk + (size_t)t * row, 0, (size_t)HD * sizeof(float));
                memset(dv + (size_t)t * row, 0, (size_t)HD * sizeof(float));
            }
            for (int i = 0; i < T; i++) {
                const float *pr = P + (((size_t)b * NH + h) * T + i) * T;
                const float *go = dout + ((size_t)b * T + i) * A + (size_t)h * HD;
                const uint64_t base = (((uint64_t)b * NH + h) * T + i) * T;
                /* With dP_j = keep_j·(go·v_j): dS_j = P_j·(dP_j − Σ_k P_k·dP_k). Two passes over j
                 * recompute go·v_j instead of keeping a (T) scratch row per thread. */
                double dot = 0.0;
                for (int j = 0; j < T; j++) {
                    if (pr[j] == 0.0f) continue;
                    const float ks = keep_scale(key, base + j, p, dscale);
                    float g = 0.0f;
                    for (int d = 0; d < HD; d++) g += go[d] * v[(size_t)j * row + d];
                    dot += (double)pr[j] * g * ks;
                    const float pd = pr[j] * ks;
                    for (int d = 0; d < HD; d++) dv[(size_t)j * row + d] += pd * go[d];
                }
                for (int j = 0; j < T; j++) {
                    if (pr[j] == 0.0f) continue;
                    const float ks = keep_scale(key, base + j, p, dscale);
                    float g = 0.0f;
                    for (int d = 0; d < HD; d++) g += go[d] * v[(size_t)j * row + d];
                    const float ds = pr[j] * (g * ks - (float)dot) * scale;
                    for (int d = 0; d < HD; d++) {
                        dq[(size_t)i * row + d] += ds * k[(size_t)j * row + d];
                        dk[(size_t)j * row + d] += ds * q[(size_t)i * row + d];
                    }
                }
            }
        }
    }
    return CTCD_OK;
}
