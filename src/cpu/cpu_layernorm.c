/* cpu_layernorm.c — LayerNorm with fused residual add on the CPU. Statistics per row in
 * double (the reference), biased variance as PyTorch, stored as fp32 mean/rstd. */
#include <math.h>

#include "cpu_ops.h"

ctcd_status cpu_layernorm_fwd(ctcd_backend *be, void *out_, void *sum_out_, float *mean,
                              float *rstd, const void *inp_, const void *res_,
                              const void *gamma_, const void *beta_, int64_t N, int C,
                              float eps) {
    (void)be;
    float *out = out_, *sum_out = sum_out_;  /* (N, C) */
    const float *inp = inp_, *res = res_;    /* (N, C); res may be NULL */
    const float *gamma = gamma_, *beta = beta_;  /* (C) */
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < N; i++) {
        const float *x = inp + i * C, *r = res ? res + i * C : NULL;
        float *s = sum_out ? sum_out + i * C : NULL, *y = out + i * C;
        double m = 0.0;
        for (int j = 0; j < C; j++) {
            const float v = r ? x[j] + r[j] : x[j];
            if (s) s[j] = v;
            m += v;
        }
        m /= C;
        double var = 0.0;
        for (int j = 0; j < C; j++) {
            const double d = (double)(r ? x[j] + r[j] : x[j]) - m;
            var += d * d;
        }
        var /= C;
        const float mf = (float)m, rs = (float)(1.0 / sqrt(var + (double)eps));
        mean[i] = mf;
        rstd[i] = rs;
        for (int j = 0; j < C; j++) {
            const float v = r ? x[j] + r[j] : x[j];
            y[j] = (v - mf) * rs * gamma[j] + beta[j];
        }
    }
    return CTCD_OK;
}

ctcd_status cpu_layernorm_bwd(ctcd_backend *be, void *dinp_, float *dgamma, float *dbeta,
                              const void *dout_, const void *s_, const float *mean,
                              const float *rstd, const void *gamma_, int64_t N, int C) {
    (void)be;
    float *dinp = dinp_;                    /* (N, C) written */
    const float *dout = dout_, *s = s_;     /* (N, C) */
    const float *gamma = gamma_;            /* (C) */
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < N; i++) {
        const float *dy = dout + i * C, *x = s + i * C;
        const float m = mean[i], rs = rstd[i];
        double sum_g = 0.0, sum_gx = 0.0;
        for (int j = 0; j < C; j++) {
            const double g = (double)dy[j] * gamma[j], xh = (double)(x[j] - m) * rs;
            sum_g += g;
            sum_gx += g * xh;
        }
        const double mg = sum_g / C, mgx = sum_gx / C;
        float *dx = dinp + i * C;
        for (int j = 0; j < C; j++) {
            const double xh = (double)(x[j] - m) * rs;
            dx[j] = (float)(rs * ((double)dy[j] * gamma[j] - mg - xh * mgx));
        }
    }
    /* Parameter gradients: rows in order, so the sum does not depend on threads. */
    if (dgamma || dbeta) {
        for (int64_t i = 0; i < N; i++) {
            const float *dy = dout + i * C, *x = s + i * C;
            const float m = mean[i], rs = rstd[i];
            for (int j = 0; j < C; j++) {
                if (dgamma) dgamma[j] += dy[j] * ((x[j] - m) * rs);
                if (dbeta) dbeta[j] += dy[j];
            }
        }
    }
    return CTCD_OK;
}
