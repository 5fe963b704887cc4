/* cpu_elementwise.c — GELU, tanh and inverted dropout on the CPU. Dropout masks come from
 * Philox (rng.h) keyed by (seed, site) and the element index, so backward recomputes the
 * mask and the CUDA backend draws the same one. */
#include "cpu_math.h"
#include "cpu_ops.h"

ctcd_status cpu_gelu_fwd(ctcd_backend *be, void *out_, const void *inp_, int64_t n) {
    (void)be;
    float *out = out_;
    const float *inp = inp_;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) out[i] = cpu_gelu(inp[i]);
    return CTCD_OK;
}

ctcd_status cpu_gelu_bwd(ctcd_backend *be, void *dinp_, const void *inp_, const void *dout_,
                         int64_t n) {
    (void)be;
    float *dinp = dinp_;
    const float *inp = inp_, *dout = dout_;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) dinp[i] = dout[i] * cpu_gelu_grad(inp[i]);
    return CTCD_OK;
}

ctcd_status cpu_tanh_fwd(ctcd_backend *be, void *out_, const void *inp_, int64_t n) {
    (void)be;
    float *out = out_;
    const float *inp = inp_;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) out[i] = tanhf(inp[i]);
    return CTCD_OK;
}

ctcd_status cpu_tanh_bwd(ctcd_backend *be, void *dinp_, const void *out_, const void *dout_,
                         int64_t n) {
    (void)be;
    float *dinp = dinp_;
    const float *out = out_, *dout = dout_;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) dinp[i] = dout[i] * (1.0f - out[i] * out[i]);
    return CTCD_OK;
}

/* out[i] = in[i]·keep_i/(1−p); the same function serves forward and backward because the
 * mask only depends on (key, i). Chunks of DROPOUT_CHUNK elements (a multiple of 4, so each
 * Philox call serves one chunk) draw their mask first, then apply it. */
#define DROPOUT_CHUNK 1024
static ctcd_status apply_dropout(float *out, const float *in, int64_t n, float p,
                                 ctcd_dropout_key key) {
    if (p <= 0.0f) {
        if (out != in)
            for (int64_t i = 0; i < n; i++) out[i] = in[i];
        return CTCD_OK;
    }
    if (!(p < 1.0f)) return CTCD_ERR(CTCD_E_INVALID, "dropout probability %g not in [0, 1)", (double)p);
    const float scale = 1.0f / (1.0f - p);
    const int64_t chunks = (n + DROPOUT_CHUNK - 1) / DROPOUT_CHUNK;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < chunks; c++) {
        float keep[DROPOUT_CHUNK];
        const int64_t i0 = c * DROPOUT_CHUNK, m = n - i0 < DROPOUT_CHUNK ? n - i0 : DROPOUT_CHUNK;
        cpu_dropout_keep(key, (uint64_t)i0, m, p, scale, keep);
        for (int64_t i = 0; i < m; i++) out[i0 + i] = keep[i] != 0.0f ? in[i0 + i] * scale : 0.0f;
    }
    return CTCD_OK;
}

ctcd_status cpu_dropout_fwd(ctcd_backend *be, void *out, const void *inp, int64_t n, float p,
                            ctcd_dropout_key key) {
    (void)be;
    return apply_dropout(out, inp, n, p, key);
}

ctcd_status cpu_dropout_bwd(ctcd_backend *be, void *dinp, const void *dout, int64_t n, float p,
                            ctcd_dropout_key key) {
    (void)be;
    return apply_dropout(dinp, dout, n, p, key);
}
