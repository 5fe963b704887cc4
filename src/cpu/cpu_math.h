/* cpu_math.h — scalar math shared by the CPU ops (GELU in its exact erf form). */
#ifndef CTCD_CPU_MATH_H
#define CTCD_CPU_MATH_H

#include <math.h>

/* GELU(x) = x·Φ(x) = 0.5·x·(1 + erf(x/√2)), as torch.nn.functional.gelu (approximate='none'). */
static inline float cpu_gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }

/* d/dx GELU(x) = Φ(x) + x·φ(x). */
static inline float cpu_gelu_grad(float x) {
    const float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
    const float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
    return cdf + x * pdf;
}

#endif
