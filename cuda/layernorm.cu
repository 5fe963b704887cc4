/* layernorm.cu — LayerNorm with fused residual add on the device.
 *
 * Forward: one warp per row; s = inp + residual in fp32 (written to sum_out in the act
 * dtype when asked), two-pass mean / biased variance in fp32, out = (s−mean)·rstd·γ + β.
 * Backward: one warp per row for dinp (written); dγ, dβ accumulate through the deterministic
 * two-stage column sum of colsum.cuh (no atomics, bitwise reproducible). */
#include "colsum.cuh"
#include "cuda_common.cuh"

#define LN_WARPS 8 /* rows per 256-thread block */

template <typename T>
__global__ void layernorm_fwd_kernel(T *out, T *sum_out, float *mean, float *rstd, const T *inp,
                                     const T *res, const T *gamma, const T *beta, int64_t N,
                                     int C, float eps) {
    const int lane = threadIdx.x & 31;
    const int64_t row = (int64_t)blockIdx.x * LN_WARPS + (threadIdx.x >> 5);
    if (row >= N) return;
    const size_t base = (size_t)row * C;
    float s = 0.0f;
    for (int j = lane; j < C; j += 32) {
        const float v = ld(inp, base + j) + (res ? ld(res, base + j) : 0.0f);
        if (sum_out) st(sum_out, base + j, v);
        s += v;
    }
    const float m = warp_sum(s) / (float)C;
    float q = 0.0f;
    for (int j = lane; j < C; j += 32) {
        const float d = ld(inp, base + j) + (res ? ld(res, base + j) : 0.0f) - m;
        q += d * d;
    }
    const float var = warp_sum(q) / (float)C;
    const float rs = 1.0f / sqrtf(var + eps);
    if (lane == 0) {
        mean[row] = m;
        rstd[row] = rs;
    }
    for (int j = lane; j < C; j += 32) {
        const float v = ld(inp, base + j) + (res ? ld(res, base + j) : 0.0f);
        st(out, base + j, (v - m) * rs * ld(gamma, (size_t)j) + ld(beta, (size_t)j));
    }
}

ctcd_status cuda_layernorm_fwd(ctcd_backend *be, void *out, void *sum_out, float *mean,
                               float *rstd, const void *inp, const void *residual,
                               const void *gamma, const void *beta, int64_t N, int C,
                               float eps) {
    NVTX_OP(be, "layernorm_fwd");
    if (N <= 0) return CTCD_OK;
    const unsigned grid = (unsigned)((N + LN_WARPS - 1) / LN_WARPS);
    ACT_DISPATCH(be->act_dtype, T,
                 layernorm_fwd_kernel<T><<<grid, 32 * LN_WARPS, 0, stream_of(be)>>>(
                     (T *)out, (T *)sum_out, mean, rstd, (const T *)inp, (const T *)residual,
                     (const T *)gamma, (const T *)beta, N, C, eps));
    LAUNCH_CHECK("layernorm_fwd");
    return CTCD_OK;
}

/* dx = rstd·(dy·γ − mean(dy·γ) − x̂·mean(dy·γ·x̂)), x̂ = (s − mean)·rstd. */
template <typename T>
__global__ void layernorm_bwd_kernel(T *dinp, const T *dout, const T *s, const float *mean,
                                     const float *rstd, const T *gamma, int64_t N, int C) {
    const int lane = threadIdx.x & 31;
    const int64_t row = (int64_t)blockIdx.x * LN_WARPS + (threadIdx.x >> 5);
    if (row >= N) return;
    const size_t base = (size_t)row * C;
    const float m = mean[row], rs = rstd[row];
    float sg = 0.0f, sgx = 0.0f;
    for (int j = lane; j < C; j += 32) {
        const float g = ld(dout, base + j) * ld(gamma, (size_t)j);
        const float xh = (ld(s, base + j) - m) * rs;
        sg += g;
        sgx += g * xh;
    }
    const float mg = warp_sum(sg) / (float)C, mgx = warp_sum(sgx) / (float)C;
    for (int j = lane; j < C; j += 32) {
        const float g = ld(dout, base + j) * ld(gamma, (size_t)j);
        const float xh = (ld(s, base + j) - m) * rs;
        st(dinp, base + j, rs * (g - mg - xh * mgx));
    }
}

/* (dy·x̂, dy) for dγ and dβ. */
template <typename T> struct ln_param_grads {
    const T *dout, *s;
    const float *mean, *rstd;
    int C;
    __device__ void operator()(int64_t i, int j, float *v) const {
        const float dy = ld(dout, (size_t)i * C + j);
        v[0] = dy * ((ld(s, (size_t)i * C + j) - mean[i]) * rstd[i]);
        v[1] = dy;
    }
};

ctcd_status cuda_layernorm_bwd(ctcd_backend *be, void *dinp, float *dgamma, float *dbeta,
                               const void *dout, const void *s, const float *mean,
                               const float *rstd, const void *gamma, int64_t N, int C) {
    NVTX_OP(be, "layernorm_bwd");
    if (N <= 0) return CTCD_OK;
    const unsigned grid = (unsigned)((N + LN_WARPS - 1) / LN_WARPS);
    ctcd_status st = CTCD_OK;
    ACT_DISPATCH(be->act_dtype, T, {
        /* Parameter gradients first: they read dout, which dinp may alias. */
        if (dgamma || dbeta) {
            ln_param_grads<T> f = {(const T *)dout, (const T *)s, mean, rstd, C};
            st = colsum_run<2>(be, f, dgamma, dbeta, N, C);
            if (st) return st;
        }
        if (dinp) {
            layernorm_bwd_kernel<T><<<grid, 32 * LN_WARPS, 0, stream_of(be)>>>(
                (T *)dinp, (const T *)dout, (const T *)s, mean, rstd, (const T *)gamma, N, C);
            LAUNCH_CHECK("layernorm_bwd");
        }
    });
    return st;
}
