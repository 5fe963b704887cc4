/* mask.cu — unit masks on the device: scaling groups of an activation (attention heads, FFN
 * neurons) by a per-group F32 mask, and the mask's gradient, for head / neuron importance
 * (Michel et al. 2019). Contracts: include/ctcd/backend.h (unit_mask_fwd / unit_mask_bwd).
 *
 * The mask gradient is one block per group reducing M·S products in double in a fixed order
 * (per-thread strided partial sums, then a fixed warp/block tree): deterministic, no atomics.
 * It reads with stride G·S, which is uncoalesced for FFN neurons (S = 1); importance
 * passes are rare and short, so simplicity wins over a transposed reduction here. */
#include "cuda_common.cuh"

template <typename T>
__global__ void unit_mask_kernel(T *out, const T *inp, const float *mask, int64_t n, int G,
                                 int S) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const int g = (int)((i / S) % G);
        st(out, (size_t)i, ld(inp, (size_t)i) * mask[g]);
    }
}

/* dmask[g] += Σ_{m,s} dout[m,g,s]·inp[m,g,s]; blockDim.x == 256. */
template <typename T>
__global__ void unit_mask_grad_kernel(float *dmask, const T *dout, const T *inp, int64_t M,
                                      int G, int S) {
    __shared__ double part[8];
    const int g = blockIdx.x;
    const int64_t n = M * S, row = (int64_t)G * S;
    double acc = 0.0;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        const int64_t i = (j / S) * row + (int64_t)g * S + j % S;
        acc += (double)ld(dout, (size_t)i) * (double)ld(inp, (size_t)i);
    }
    acc = warp_sum_d(acc);
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = acc;
    __syncthreads();
    if (threadIdx.x == 0) {
        double s = 0.0;
        for (int w = 0; w < 8; w++) s += part[w];
        dmask[g] += (float)s;
    }
}

extern "C" ctcd_status cuda_unit_mask_fwd(ctcd_backend *be, void *out, const void *inp,
                                          const float *mask, int64_t M, int G, int S) {
    NVTX_OP(be, "unit_mask_fwd");
    const int64_t n = M * (int64_t)G * S;
    if (n <= 0) return CTCD_OK;
    ACT_DISPATCH(be->act_dtype, T,
                 CTCD_LAUNCH(grid_1d(n, 256), 256, 0, stream_of(be), unit_mask_kernel<T>)(
                     (T *)out, (const T *)inp, mask, n, G, S));
    LAUNCH_CHECK("unit_mask_fwd");
    return CTCD_OK;
}

extern "C" ctcd_status cuda_unit_mask_bwd(ctcd_backend *be, void *dinp, float *dmask,
                                          const void *dout, const void *inp, const float *mask,
                                          int64_t M, int G, int S) {
    NVTX_OP(be, "unit_mask_bwd");
    const int64_t n = M * (int64_t)G * S;
    if (n <= 0) return CTCD_OK;
    /* The gradient reads dout before dinp (which may alias it) is written: same stream. */
    if (dmask) {
        ACT_DISPATCH(be->act_dtype, T,
                     CTCD_LAUNCH((unsigned)G, 256, 0, stream_of(be), unit_mask_grad_kernel<T>)(
                         dmask, (const T *)dout, (const T *)inp, M, G, S));
        LAUNCH_CHECK("unit_mask_grad");
    }
    ACT_DISPATCH(be->act_dtype, T,
                 CTCD_LAUNCH(grid_1d(n, 256), 256, 0, stream_of(be), unit_mask_kernel<T>)(
                     (T *)dinp, (const T *)dout, mask, n, G, S));
    LAUNCH_CHECK("unit_mask_bwd");
    return CTCD_OK;
}
