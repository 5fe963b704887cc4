/* cpu_math.h — scalar math shared by the CPU ops (GELU in its exact erf form). */
#ifndef CTCD_CPU_MATH_H
#define CTCD_CPU_MATH_H

#include <math.h>
#include <stdint.h>

#include "ctcd/rng.h"

/* GELU(x) = x·Φ(x) = 0.5·x·(1 + erf(x/√2)), as torch.nn.functional.gelu (approximate='none'). */
static inline float cpu_gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }

/* d/dx GELU(x) = Φ(x) + x·φ(x). */
static inline float cpu_gelu_grad(float x) {
    const float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
    const float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
    return cdf + x * pdf;
}

/* keep[j] = scale where ctcd_dropout_uniform(key, base + j) >= p, else 0, for j in [0, n)
 * (1 everywhere when p <= 0). The same values as one ctcd_dropout_uniform call per element,
 * with one Philox call per group of four indices instead of one per index (each call makes
 * the four words of its group; ctcd_dropout_uniform keeps one of them). */
static inline void cpu_dropout_keep(ctcd_dropout_key key, uint64_t base, int64_t n, float p,
                                    float scale, float *keep) {
    if (p <= 0.0f) {
        for (int64_t j = 0; j < n; j++) keep[j] = 1.0f;
        return;
    }
    for (int64_t j = 0; j < n;) {
        const uint64_t idx = base + (uint64_t)j;
        const ctcd_u32x4 r = ctcd_philox4x32(key.seed, idx >> 2, key.site);
        for (unsigned w = (unsigned)(idx & 3); w < 4 && j < n; w++, j++)
            keep[j] = ctcd_u32_to_unit(r.v[w]) >= p ? scale : 0.0f;
    }
}

#endif
