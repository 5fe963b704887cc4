/* emu_selftest.cu — kernels that check the emulation itself (built only with
 * CTCD_CUDA_EMU; tests/test_emu_runtime.c runs them). Each one is valid CUDA whose result
 * depends on a property the emulated launch must have; a launch that breaks the property
 * gives a wrong result rather than passing silently:
 *  - threads that return early, before or between barriers, while the others go on through
 *    more barriers (every thread must run exactly once, to its return);
 *  - warp shuffles done by one warp alone while the rest of the block waits at a barrier
 *    (a shuffle must not act as a block barrier);
 *  - launch configurations a GPU refuses. */
#include "cuda_common.cuh"
#include "emu_selftest.h"

/* A tree sum in shared memory where a thread returns as soon as it has no more work: thread
 * t takes part in rounds while t < s, so threads leave after 0, 1, 2, ... barriers. Thread 0
 * takes the most barriers and writes the sum. entries[t] counts how often thread t started. */
__global__ void early_exit_tree_sum(const float *in, float *out, int *entries, int *rounds,
                                    int skip_first_warp) {
    __shared__ float sh[1024];
    const int t = (int)threadIdx.x, n = (int)blockDim.x;
    const int base = skip_first_warp ? 32 : 0, u = t - base; /* n - base: a power of two */
    const size_t i = (size_t)blockIdx.x * n + t;
    entries[i] += 1;
    sh[t] = in[i];
    if (u < 0) { /* the first warp leaves before any barrier: the block must still finish */
        rounds[i] = -1;
        return;
    }
    __syncthreads();
    int r = 0;
    for (int s = (n - base) / 2; s > 0; s >>= 1) {
        if (u >= s) break;
        sh[t] += sh[t + s];
        r++;
        __syncthreads();
    }
    rounds[i] = r;
    if (u == 0) out[blockIdx.x] = sh[t];
}

/* Warp 0 alone reduces the per-warp partial sums with shuffles while the other warps wait at
 * the block's second barrier. */
__global__ void lone_warp_shuffle_sum(const float *in, float *out) {
    __shared__ float part[32];
    const int t = (int)threadIdx.x, lane = t & 31, warp = t >> 5;
    float v = warp_sum(in[blockIdx.x * blockDim.x + t]);
    if (lane == 0) part[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < (int)(blockDim.x >> 5) ? part[lane] : 0.0f;
        v = warp_sum(v);
        if (lane == 0) part[0] = v;
    }
    __syncthreads();
    if (t == (int)blockDim.x - 1) out[blockIdx.x] = part[0];
}

__global__ void noop_kernel(int *x) {
    if (x && threadIdx.x == 0) x[blockIdx.x] = 1;
}

extern "C" int ctcd_emu_selftest_tree_sum(const float *in, float *out, int *entries,
                                          int *rounds, int blocks, int threads,
                                          int skip_first_warp) {
    CTCD_LAUNCH(blocks, threads, 0, (cudaStream_t)NULL, early_exit_tree_sum)(
        in, out, entries, rounds, skip_first_warp);
    return (int)cudaGetLastError();
}

extern "C" int ctcd_emu_selftest_lone_warp(const float *in, float *out, int blocks,
                                           int threads) {
    CTCD_LAUNCH(blocks, threads, 0, (cudaStream_t)NULL, lone_warp_shuffle_sum)(in, out);
    return (int)cudaGetLastError();
}

extern "C" int ctcd_emu_selftest_launch(unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                                        unsigned by, unsigned bz, size_t smem,
                                        size_t smem_attr) {
    if (smem_attr)
        if (cudaFuncSetAttribute(noop_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 (int)smem_attr) != cudaSuccess)
            return (int)cudaGetLastError();
    CTCD_LAUNCH(dim3(gx, gy, gz), dim3(bx, by, bz), smem, (cudaStream_t)NULL, noop_kernel)(
        (int *)NULL);
    return (int)cudaGetLastError();
}

extern "C" long ctcd_emu_malloc_calls(void) { return ctcd_emu::malloc_calls().load(); }
