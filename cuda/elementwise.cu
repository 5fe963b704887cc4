/* elementwise.cu — cast, GELU (exact erf form), tanh and inverted dropout on the device.
 *
 * Dropout draws its mask from Philox exactly as the CPU reference does (rng.h): element i of
 * a site keeps iff uniform(key, i) >= p, with uniform taken from word i % 4 of
 * philox(seed, counter = (i / 4, site)). Integer arithmetic and the 24-bit float conversion
 * are exact, so the CPU and CUDA masks are bitwise identical for the same key. Each thread
 * handles one group of four elements so that one Philox call serves all four. */
#include "cuda_common.cuh"

/* Same formulas as src/cpu/cpu_math.h. erff on the device is accurate to 2 ulp. */
__device__ __forceinline__ float gelu_f(float x) {
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}
__device__ __forceinline__ float gelu_grad_f(float x) {
    const float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
    const float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
    return cdf + x * pdf;
}

/* ---- cast ---- */
template <typename TD, typename TS>
__global__ void cast_kernel(TD *dst, const TS *src, int64_t n) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        st(dst, (size_t)i, ld(src, (size_t)i));
}

ctcd_status cuda_cast(ctcd_backend *be, void *dst, ctcd_dtype dst_dt, const void *src,
                      ctcd_dtype src_dt, int64_t n) {
    NVTX_OP(be, "cast");
    if (n <= 0) return CTCD_OK;
    if (dst_dt == src_dt) {
        CUDA_CHECK(cudaMemcpyAsync(dst, src, (size_t)n * dt_size(dst_dt),
                                   cudaMemcpyDeviceToDevice, stream_of(be)));
        return CTCD_OK;
    }
    const unsigned grid = grid_1d(n, 256);
    if (dst_dt == CTCD_BF16 && src_dt == CTCD_F32) {
        CTCD_LAUNCH(grid, 256, 0, stream_of(be), cast_kernel<bf16, float>)(
            (bf16 *)dst, (const float *)src, n);
    } else if (dst_dt == CTCD_F32 && src_dt == CTCD_BF16) {
        CTCD_LAUNCH(grid, 256, 0, stream_of(be), cast_kernel<float, bf16>)(
            (float *)dst, (const bf16 *)src, n);
    } else {
        return ctcd_error_new(CTCD_E_UNSUPPORTED, __FILE__, __LINE__, "cuda: cast from %s to %s",
                              dt_name(src_dt), dt_name(dst_dt));
    }
    LAUNCH_CHECK("cast");
    return CTCD_OK;
}

/* ---- unary maps ---- */
enum { OP_GELU_FWD, OP_GELU_BWD, OP_TANH_FWD, OP_TANH_BWD };

/* out = f(a) or out = b·f'(a); out may alias a or b (each element is read before written). */
template <int OP, typename T>
__global__ void unary_kernel(T *out, const T *a, const T *b, int64_t n) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const float x = ld(a, (size_t)i);
        float y;
        if (OP == OP_GELU_FWD) y = gelu_f(x);
        else if (OP == OP_GELU_BWD) y = ld(b, (size_t)i) * gelu_grad_f(x);
        else if (OP == OP_TANH_FWD) y = tanhf(x);
        else y = ld(b, (size_t)i) * (1.0f - x * x);
        st(out, (size_t)i, y);
    }
}

template <int OP>
static ctcd_status unary(ctcd_backend *be, void *out, const void *a, const void *b, int64_t n) {
    if (n <= 0) return CTCD_OK;
    ACT_DISPATCH(be->act_dtype, T,
                 CTCD_LAUNCH(grid_1d(n, 256), 256, 0, stream_of(be), unary_kernel<OP, T>)(
                     (T *)out, (const T *)a, (const T *)b, n));
    LAUNCH_CHECK("unary");
    return CTCD_OK;
}

ctcd_status cuda_gelu_fwd(ctcd_backend *be, void *out, const void *inp, int64_t n) {
    NVTX_OP(be, "gelu_fwd");
    return unary<OP_GELU_FWD>(be, out, inp, NULL, n);
}
ctcd_status cuda_gelu_bwd(ctcd_backend *be, void *dinp, const void *inp, const void *dout,
                          int64_t n) {
    NVTX_OP(be, "gelu_bwd");
    return unary<OP_GELU_BWD>(be, dinp, inp, dout, n);
}
ctcd_status cuda_tanh_fwd(ctcd_backend *be, void *out, const void *inp, int64_t n) {
    NVTX_OP(be, "tanh_fwd");
    return unary<OP_TANH_FWD>(be, out, inp, NULL, n);
}
ctcd_status cuda_tanh_bwd(ctcd_backend *be, void *dinp, const void *out, const void *dout,
                          int64_t n) {
    NVTX_OP(be, "tanh_bwd");
    return unary<OP_TANH_BWD>(be, dinp, out, dout, n);
}

/* ---- dropout ---- */
template <typename T>
__global__ void dropout_kernel(T *out, const T *in, int64_t n, float p, float scale,
                               ctcd_dropout_key key) {
    const int64_t groups = (n + 3) / 4;
    for (int64_t g = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; g < groups;
         g += (int64_t)gridDim.x * blockDim.x) {
        /* Same draw as ctcd_dropout_uniform(key, i) for i = 4g .. 4g+3. */
        const ctcd_u32x4 r = ctcd_philox4x32(key.seed, (uint64_t)g, key.site);
#pragma unroll
        for (int w = 0; w < 4; w++) {
            const int64_t i = 4 * g + w;
            if (i >= n) break;
            const float u = ctcd_u32_to_unit(r.v[w]);
            st(out, (size_t)i, u >= p ? ld(in, (size_t)i) * scale : 0.0f);
        }
    }
}

static ctcd_status dropout(ctcd_backend *be, void *out, const void *in, int64_t n, float p,
                           ctcd_dropout_key key) {
    if (n <= 0) return CTCD_OK;
    const size_t es = dt_size(be->act_dtype);
    if (p <= 0.0f) {
        if (out != in)
            CUDA_CHECK(cudaMemcpyAsync(out, in, (size_t)n * es, cudaMemcpyDeviceToDevice,
                                       stream_of(be)));
        return CTCD_OK;
    }
    if (!(p < 1.0f))
        return ctcd_error_new(CTCD_E_INVALID, __FILE__, __LINE__,
                              "dropout probability %g not in [0, 1)", (double)p);
    const float scale = 1.0f / (1.0f - p);
    ACT_DISPATCH(be->act_dtype, T,
                 CTCD_LAUNCH(grid_1d((n + 3) / 4, 256), 256, 0, stream_of(be), dropout_kernel<T>)(
                     (T *)out, (const T *)in, n, p, scale, key));
    LAUNCH_CHECK("dropout");
    return CTCD_OK;
}

ctcd_status cuda_dropout_fwd(ctcd_backend *be, void *out, const void *inp, int64_t n, float p,
                             ctcd_dropout_key key) {
    NVTX_OP(be, "dropout_fwd");
    return dropout(be, out, inp, n, p, key);
}

ctcd_status cuda_dropout_bwd(ctcd_backend *be, void *dinp, const void *dout, int64_t n,
                             float p, ctcd_dropout_key key) {
    NVTX_OP(be, "dropout_bwd");
    return dropout(be, dinp, dout, n, p, key);
}
