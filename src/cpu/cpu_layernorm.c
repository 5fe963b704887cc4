/* cpu_layernorm.c — LayerNorm with fused residual add on the CPU, and the fused
 * residual + dropout + LayerNorm and embedding + LayerNorm + dropout ops as compositions of
 * the reference ops. Statistics per row in double
 * (the reference), biased variance as PyTorch, stored as fp32 mean/rstd. */
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

/* The reference of the fused op is the composition itself, so that switching the model graph
 * to it leaves every CPU result bitwise unchanged: dropout into out (a temporary here), then
 * LayerNorm from out into out. cpu_layernorm_fwd reads each element of its input before it
 * writes the same element of its output, so in-place is safe; out must not alias inp or
 * residual. */
ctcd_status cpu_dropout_layernorm_fwd(ctcd_backend *be, void *out, void *sum_out, float *mean,
                                      float *rstd, const void *inp, const void *residual,
                                      const void *gamma, const void *beta, int64_t N, int C,
                                      float eps, float p, ctcd_dropout_key key) {
    if (p <= 0.0f)
        return cpu_layernorm_fwd(be, out, sum_out, mean, rstd, inp, residual, gamma, beta, N, C,
                                 eps);
    CTCD_TRY(cpu_dropout_fwd(be, out, inp, N * C, p, key));
    return cpu_layernorm_fwd(be, out, sum_out, mean, rstd, out, residual, gamma, beta, N, C, eps);
}

ctcd_status cpu_dropout_layernorm_bwd(ctcd_backend *be, void *dinp, void *dres, float *dgamma,
                                      float *dbeta, const void *dout, const void *s,
                                      const float *mean, const float *rstd, const void *gamma,
                                      int64_t N, int C, float p, ctcd_dropout_key key) {
    CTCD_TRY(cpu_layernorm_bwd(be, dres, dgamma, dbeta, dout, s, mean, rstd, gamma, N, C));
    return cpu_dropout_bwd(be, dinp, dres, N * C, p, key);
}

/* Composition again: embedding sum into sum_out, LayerNorm, dropout in place. */
ctcd_status cpu_embedding_layernorm_fwd(ctcd_backend *be, void *out, void *sum_out,
                                        float *mean, float *rstd, const int32_t *ids,
                                        const int32_t *type_ids, const void *wte,
                                        const void *wpe, const void *wtt, const void *gamma,
                                        const void *beta, int B, int T, int H, float eps,
                                        float p, ctcd_dropout_key key) {
    const int64_t N = (int64_t)B * T;
    CTCD_TRY(cpu_embedding_fwd(be, sum_out, ids, type_ids, wte, wpe, wtt, B, T, H));
    CTCD_TRY(cpu_layernorm_fwd(be, out, NULL, mean, rstd, sum_out, NULL, gamma, beta, N, H, eps));
    return cpu_dropout_fwd(be, out, out, N * H, p, key);
}

ctcd_status cpu_embedding_layernorm_bwd(ctcd_backend *be, float *dwte, float *dwpe,
                                        float *dwtt, float *dgamma, float *dbeta, void *dout,
                                        void *ds, const void *s, const float *mean,
                                        const float *rstd, const void *gamma,
                                        const int32_t *ids, const int32_t *type_ids, int B,
                                        int T, int H, float p, ctcd_dropout_key key) {
    const int64_t N = (int64_t)B * T;
    CTCD_TRY(cpu_dropout_bwd(be, dout, dout, N * H, p, key));
    CTCD_TRY(cpu_layernorm_bwd(be, ds, dgamma, dbeta, dout, s, mean, rstd, gamma, N, H));
    return cpu_embedding_bwd(be, dwte, dwpe, dwtt, ds, ids, type_ids, B, T, H);
}
