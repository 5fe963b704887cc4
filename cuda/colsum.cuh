/* colsum.cuh — deterministic column sums over a row-major (M, N) matrix, accumulated into
 * F32 vectors: dst_v[j] += Σ_i f_v(i, j) for NV value functions at once. Used for the bias
 * gradient of a linear layer and LayerNorm's dgamma/dbeta.
 *
 * Why not atomics: parameter gradients must be bitwise reproducible (DESIGN §4, STYLE 6).
 * Stage 1 splits the rows into fixed chunks whose size depends only on M; each (chunk,
 * 32-column tile) block sums its rows in a fixed order into a partial. Stage 2 adds the
 * partials of each column in chunk order. The result therefore depends only on (M, N) and
 * the data, never on scheduling. */
#ifndef CTCD_CUDA_COLSUM_CUH
#define CTCD_CUDA_COLSUM_CUH

#include "cuda_common.cuh"

#define COLSUM_TX 32
#define COLSUM_TY 8

static inline int64_t colsum_rows_per_chunk(int64_t M) {
    /* At most ~256 chunks, so stage 2's serial loop stays short, and at least 64 rows per
     * chunk, so stage 1's blocks have work. */
    int64_t r = (M + 255) / 256;
    return r < 64 ? 64 : r;
}

/* The partials of a column sum over at most h->rows rows of at most h->cols columns, two
 * sums at once: chunks(M) <= min(256, ceil(M / 64)) for every M. */
static inline size_t colsum_scratch_bound(const ctcd_reserve_hint *h) {
    const int64_t chunks = (h->rows + 63) / 64 < 256 ? (h->rows + 63) / 64 : 256;
    return (size_t)2 * (size_t)chunks * (size_t)h->cols * sizeof(float);
}

/* partial: [NV][chunks][N]. Block (32, 8); grid (ceil(N/32), chunks). F(i, j, v[NV]). */
template <int NV, typename F>
__global__ void colsum_partial_kernel(F f, float *partial, int64_t M, int N, int64_t rpc,
                                      int chunks) {
    __shared__ float sh[NV][COLSUM_TY][COLSUM_TX];
    const int j = blockIdx.x * COLSUM_TX + threadIdx.x;
    const int64_t r0 = (int64_t)blockIdx.y * rpc;
    const int64_t r1 = r0 + rpc < M ? r0 + rpc : M;
    float acc[NV];
#pragma unroll
    for (int v = 0; v < NV; v++) acc[v] = 0.0f;
    if (j < N) {
        for (int64_t i = r0 + threadIdx.y; i < r1; i += COLSUM_TY) {
            float val[NV];
            f(i, j, val);
#pragma unroll
            for (int v = 0; v < NV; v++) acc[v] += val[v];
        }
    }
#pragma unroll
    for (int v = 0; v < NV; v++) sh[v][threadIdx.y][threadIdx.x] = acc[v];
    __syncthreads();
    if (threadIdx.y == 0 && j < N) {
#pragma unroll
        for (int v = 0; v < NV; v++) {
            float s = 0.0f;
            for (int y = 0; y < COLSUM_TY; y++) s += sh[v][y][threadIdx.x];
            partial[((size_t)v * chunks + blockIdx.y) * N + j] = s;
        }
    }
}

template <int NV>
__global__ void colsum_finish_kernel(const float *partial, float *dst0, float *dst1, int N,
                                     int chunks) {
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= N) return;
#pragma unroll
    for (int v = 0; v < NV; v++) {
        float *dst = v == 0 ? dst0 : dst1;
        if (!dst) continue;
        float s = 0.0f;
        for (int c = 0; c < chunks; c++) s += partial[((size_t)v * chunks + c) * N + j];
        dst[j] += s;
    }
}

/* Runs both stages on the backend's stream; dst1 is only used when NV == 2. */
template <int NV, typename F>
static ctcd_status colsum_run(ctcd_backend *be, F f, float *dst0, float *dst1, int64_t M,
                              int N) {
    if (M <= 0 || N <= 0) return CTCD_OK;
    const int64_t rpc = colsum_rows_per_chunk(M);
    const int chunks = (int)((M + rpc - 1) / rpc);
    float *partial = NULL;
    CTCD_TRY(cuda_scratch(be, (size_t)NV * chunks * N * sizeof(float), (void **)&partial));
    dim3 grid((unsigned)((N + COLSUM_TX - 1) / COLSUM_TX), (unsigned)chunks);
    CTCD_LAUNCH(grid, dim3(COLSUM_TX, COLSUM_TY), 0, stream_of(be), colsum_partial_kernel<NV, F>)(
        f, partial, M, N, rpc, chunks);
    LAUNCH_CHECK("colsum_partial");
    CTCD_LAUNCH(grid_1d(N, 256), 256, 0, stream_of(be), colsum_finish_kernel<NV>)(
        partial, dst0, dst1, N, chunks);
    LAUNCH_CHECK("colsum_finish");
    return CTCD_OK;
}

#endif
