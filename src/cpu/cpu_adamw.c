/* cpu_adamw.c — global gradient norm and AdamW (PyTorch semantics, decoupled weight decay)
 * over a model's flat buffers. Sums are taken over fixed chunks and combined in order, so
 * the result does not depend on the number of threads. */
#include <math.h>

#include "cpu_ops.h"

#define SUMSQ_CHUNKS 64

ctcd_status cpu_grad_sumsq(ctcd_backend *be, float *sumsq, const float *g, int64_t n) {
    (void)be;
    double part[SUMSQ_CHUNKS] = {0};
    const int64_t chunk = (n + SUMSQ_CHUNKS - 1) / SUMSQ_CHUNKS;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < SUMSQ_CHUNKS; c++) {
        const int64_t lo = c * chunk, hi = lo + chunk < n ? lo + chunk : n;
        double s = 0.0;
        for (int64_t i = lo; i < hi; i++) s += (double)g[i] * g[i];
        part[c] = s;
    }
    double total = 0.0;
    for (int c = 0; c < SUMSQ_CHUNKS; c++) total += part[c];
    *sumsq = (float)total;
    return CTCD_OK;
}

ctcd_status cpu_adamw(ctcd_backend *be, float *master, void *compute, const float *grad,
                      float *m, float *v, int64_t n, int64_t n_decay, const float *sumsq,
                      const ctcd_adamw_hparams *h) {
    if (h->step < 1) return CTCD_ERR(CTCD_E_INVALID, "adamw: step must be >= 1 (got %lld)",
                                     (long long)h->step);
    float scale = 1.0f;
    if (h->max_norm > 0.0f) {
        if (!sumsq) return CTCD_ERR(CTCD_E_INVALID, "adamw: clipping needs the grad sumsq");
        /* torch.nn.utils.clip_grad_norm_: coef = max_norm / (norm + 1e-6), clamped to 1. */
        const float coef = h->max_norm / (sqrtf(*sumsq) + 1e-6f);
        scale = coef < 1.0f ? coef : 1.0f;
    }
    const float b1 = h->beta1, b2 = h->beta2, lr = h->lr, eps = h->eps;
    const float bc1 = 1.0f - powf(b1, (float)h->step), bc2 = 1.0f - powf(b2, (float)h->step);
    const float decay = 1.0f - lr * h->weight_decay;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const float g = grad[i] * scale;
        float p = master[i];
        if (i < n_decay) p *= decay;
        const float mi = b1 * m[i] + (1.0f - b1) * g;
        const float vi = b2 * v[i] + (1.0f - b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        p -= lr * (mi / bc1) / (sqrtf(vi / bc2) + eps);
        master[i] = p;
    }
    if (compute && compute != master)
        return be->cast(be, compute, be->act_dtype, master, CTCD_F32, n);
    return CTCD_OK;
}
