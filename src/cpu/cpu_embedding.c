/* cpu_embedding.c — token + position + type embedding sum, and row gather/scatter, on the
 * CPU. Backward scatter-adds are serial over rows so that repeated ids accumulate in a fixed
 * order (deterministic, no atomics). */
#include "cpu_ops.h"

ctcd_status cpu_embedding_fwd(ctcd_backend *be, void *out_, const int32_t *ids,
                              const int32_t *type_ids, const void *wte_, const void *wpe_,
                              const void *wtt_, int B, int T, int H) {
    (void)be;
    float *out = out_;                              /* (B, T, H) */
    const float *wte = wte_, *wpe = wpe_, *wtt = wtt_;  /* (V, H), (P, H), (TV, H) */
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < (int64_t)B * T; r++) {
        const int t = (int)(r % T);
        const float *a = wte + (size_t)ids[r] * H, *p = wpe + (size_t)t * H;
        const float *c = wtt + (size_t)type_ids[r] * H;
        float *o = out + r * H;
        for (int j = 0; j < H; j++) o[j] = a[j] + p[j] + c[j];
    }
    return CTCD_OK;
}

ctcd_status cpu_embedding_bwd(ctcd_backend *be, float *dwte, float *dwpe, float *dwtt,
                              const void *dout_, const int32_t *ids, const int32_t *type_ids,
                              int B, int T, int H) {
    (void)be;
    const float *dout = dout_;  /* (B, T, H) */
    for (int64_t r = 0; r < (int64_t)B * T; r++) {
        const int t = (int)(r % T);
        const float *g = dout + r * H;
        float *a = dwte ? dwte + (size_t)ids[r] * H : NULL;
        float *p = dwpe ? dwpe + (size_t)t * H : NULL;
        float *c = dwtt ? dwtt + (size_t)type_ids[r] * H : NULL;
        for (int j = 0; j < H; j++) {
            if (a) a[j] += g[j];
            if (p) p[j] += g[j];
            if (c) c[j] += g[j];
        }
    }
    return CTCD_OK;
}

ctcd_status cpu_gather_rows(ctcd_backend *be, void *dst_, const void *src_, const int32_t *idx,
                            int64_t n, int C) {
    (void)be;
    float *dst = dst_;
    const float *src = src_;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < C; j++) dst[i * C + j] = src[(int64_t)idx[i] * C + j];
    return CTCD_OK;
}

ctcd_status cpu_scatter_add_rows(ctcd_backend *be, void *dst_, const void *src_,
                                 const int32_t *idx, int64_t n, int C) {
    (void)be;
    float *dst = dst_;
    const float *src = src_;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < C; j++) dst[(int64_t)idx[i] * C + j] += src[i * C + j];
    return CTCD_OK;
}
