/* cpu_mask.c — unit masks on the CPU: scaling groups of an activation (attention heads, FFN
 * neurons) by a per-group mask, and the mask's gradient, for head / neuron importance
 * (Michel et al. 2019). Contracts: include/ctcd/backend.h (unit_mask_fwd / unit_mask_bwd). */
#include "cpu_ops.h"

ctcd_status cpu_unit_mask_fwd(ctcd_backend *be, void *out_, const void *inp_, const float *mask,
                              int64_t M, int G, int S) {
    (void)be;
    float *out = out_;
    const float *inp = inp_;
    const int64_t row = (int64_t)G * S;
#pragma omp parallel for schedule(static)
    for (int64_t m = 0; m < M; m++)
        for (int g = 0; g < G; g++)
            for (int s = 0; s < S; s++) {
                const int64_t i = m * row + (int64_t)g * S + s;
                out[i] = inp[i] * mask[g];
            }
    return CTCD_OK;
}

ctcd_status cpu_unit_mask_bwd(ctcd_backend *be, void *dinp_, float *dmask, const void *dout_,
                              const void *inp_, const float *mask, int64_t M, int G, int S) {
    (void)be;
    float *dinp = dinp_;
    const float *dout = dout_, *inp = inp_;
    const int64_t row = (int64_t)G * S;
    /* One thread per group, rows in order: the sum is the same for any thread count. Read
     * every dout before dinp (which may alias it) is written. */
    if (dmask) {
#pragma omp parallel for schedule(static)
        for (int g = 0; g < G; g++) {
            double acc = 0.0;
            for (int64_t m = 0; m < M; m++)
                for (int s = 0; s < S; s++) {
                    const int64_t i = m * row + (int64_t)g * S + s;
                    acc += (double)dout[i] * inp[i];
                }
            dmask[g] += (float)acc;
        }
    }
#pragma omp parallel for schedule(static)
    for (int64_t m = 0; m < M; m++)
        for (int g = 0; g < G; g++)
            for (int s = 0; s < S; s++) {
                const int64_t i = m * row + (int64_t)g * S + s;
                dinp[i] = dout[i] * mask[g];
            }
    return CTCD_OK;
}
