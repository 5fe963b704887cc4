/* embedding.cu — embedding sum, its backward scatter-add, and row gather / scatter-add, on the
 * device. Every scatter-add is deterministic and, in F32 mode, bitwise equal to the CPU's
 * serial loop.
 *
 * Scatter-adds with repeated destination rows (token ids, type ids, [CLS]/masked-row indices)
 * use no float atomics. The destination indices are stably radix-sorted together with their
 * source positions (CUB; stable, so equal ids keep ascending position order); then one
 * block per distinct destination row adds its sources in that order:
 *     acc = dst[row]; acc += src[p1]; acc += src[p2]; ...   (p1 < p2 < ...)
 * which is exactly the CPU reference's order of additions. Position embeddings need no sort:
 * position t receives rows b·T + t for b = 0..B−1, summed in b order.
 *
 * Known cost: a very frequent id (padding in a heavily padded batch) forms one long serial
 * segment; loads are issued eight at a time, but splitting such segments with a fixed-order
 * two-level sum is the next step if profiles show it. */
#if CTCD_CUDA_EMU
#include <algorithm>
#include <numeric>
#include <vector>
#else
#include <cub/cub.cuh>
#endif

#include "cuda_common.cuh"

/* ---- forward ---- */
template <typename T>
__global__ void embedding_fwd_kernel(T *out, const int32_t *ids, const int32_t *types,
                                     const T *wte, const T *wpe, const T *wtt, int T_, int H,
                                     int64_t total) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = i / H;
        const int j = (int)(i % H), t = (int)(r % T_);
        const float a = ld(wte, (size_t)ids[r] * H + j), p = ld(wpe, (size_t)t * H + j);
        const float c = ld(wtt, (size_t)types[r] * H + j);
        st(out, (size_t)i, (a + p) + c); /* the CPU's order */
    }
}

ctcd_status cuda_embedding_fwd(ctcd_backend *be, void *out, const int32_t *ids,
                               const int32_t *type_ids, const void *wte, const void *wpe,
                               const void *wtt, int B, int T, int H) {
    NVTX_OP(be, "embedding_fwd");
    const int64_t total = (int64_t)B * T * H;
    if (total <= 0) return CTCD_OK;
    ACT_DISPATCH(be->act_dtype, T_,
                 CTCD_LAUNCH(grid_1d(total, 256), 256, 0, stream_of(be), embedding_fwd_kernel<T_>)(
                     (T_ *)out, ids, type_ids, (const T_ *)wte, (const T_ *)wpe,
                     (const T_ *)wtt, T, H, total));
    LAUNCH_CHECK("embedding_fwd");
    return CTCD_OK;
}

/* ---- sorted segments ---- */

/* Scratch layout for one sort of n indices. */
typedef struct sorted_idx {
    int32_t *keys;  /* [n] destination rows, ascending */
    int32_t *pos;   /* [n] source positions, ascending within equal keys */
} sorted_idx;

__global__ void iota_kernel(int32_t *v, int64_t n) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        v[i] = (int32_t)i;
}

static size_t align256(size_t x) { return (x + 255) & ~(size_t)255; }

/* CUB's temporary storage for sorting n pairs (none in the emulation). */
static cudaError_t sort_temp_bytes(ctcd_backend *be, int64_t n, size_t *temp) {
    *temp = 0;
#if CTCD_CUDA_EMU
    (void)be;
    (void)n;
    return cudaSuccess;
#else
    return cub::DeviceRadixSort::SortPairs(NULL, *temp, (const int32_t *)NULL, (int32_t *)NULL,
                                           (const int32_t *)NULL, (int32_t *)NULL, (int)n, 0,
                                           32, stream_of(be));
#endif
}

/* A sort of up to h->rows indices (scatter-adds over the tokens of a batch). */
size_t cuda_embedding_scratch_bound(ctcd_backend *be, const ctcd_reserve_hint *h) {
    const int64_t n = h->rows < INT32_MAX ? h->rows : INT32_MAX;
    size_t temp = 0;
    if (sort_temp_bytes(be, n, &temp) != cudaSuccess) {
        (void)cudaGetLastError();
        temp = 0; /* the op will ask again and grow the scratch */
    }
    return 3 * align256((size_t)n * sizeof(int32_t)) + temp;
}

/* Sorts idx[n] (device) into scratch; the result is valid until the next scratch use. */
static ctcd_status sort_indices(ctcd_backend *be, const int32_t *idx, int64_t n, sorted_idx *out) {
    if (n > INT32_MAX)
        return ctcd_error_new(CTCD_E_UNSUPPORTED, __FILE__, __LINE__,
                              "cuda scatter-add: %lld rows exceed 2^31", (long long)n);
    size_t temp = 0;
    CUDA_CHECK(sort_temp_bytes(be, n, &temp));
    const size_t vec = align256((size_t)n * sizeof(int32_t));
    char *s = NULL;
    CTCD_TRY(cuda_scratch(be, 3 * vec + temp, (void **)&s));
    int32_t *pos_in = (int32_t *)s;
    out->keys = (int32_t *)(s + vec);
    out->pos = (int32_t *)(s + 2 * vec);
    CTCD_LAUNCH(grid_1d(n, 256), 256, 0, stream_of(be), iota_kernel)(pos_in, n);
    LAUNCH_CHECK("iota");
#if CTCD_CUDA_EMU
    /* No CUB on the CPU: a host stable sort gives what CUB's stable radix sort gives (the
     * emulated launches above have already run; device memory is host memory). */
    std::vector<int32_t> order((size_t)n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [idx](int32_t a, int32_t b) { return idx[a] < idx[b]; });
    for (int64_t i = 0; i < n; i++) {
        out->keys[i] = idx[order[(size_t)i]];
        out->pos[i] = pos_in[order[(size_t)i]];
    }
#else
    CUDA_CHECK(cub::DeviceRadixSort::SortPairs(s + 3 * vec, temp, idx, out->keys, pos_in,
                                               out->pos, (int)n, 0, 32, stream_of(be)));
#endif
    return CTCD_OK;
}

#define SEG_PREFETCH 8

/* One block per segment start (grid-stride over sorted positions): dst[key, :] += Σ src[pos,
 * :] in ascending pos. Loads are fetched SEG_PREFETCH at a time, additions stay in order. */
template <typename TD, typename TS>
__global__ void segment_add_kernel(TD *dst, const TS *src, const int32_t *keys,
                                   const int32_t *pos, int64_t n, int C) {
    for (int64_t i = blockIdx.x; i < n; i += gridDim.x) {
        const int32_t key = keys[i];
        if (i > 0 && keys[i - 1] == key) continue; /* not a segment start */
        int64_t end = i + 1;
        while (end < n && keys[end] == key) end++;
        for (int j = threadIdx.x; j < C; j += blockDim.x) {
            float acc = ld(dst, (size_t)key * C + j);
            for (int64_t k = i; k < end; k += SEG_PREFETCH) {
                float v[SEG_PREFETCH];
#pragma unroll
                for (int u = 0; u < SEG_PREFETCH; u++)
                    v[u] = k + u < end ? ld(src, (size_t)pos[k + u] * C + j) : 0.0f;
#pragma unroll
                for (int u = 0; u < SEG_PREFETCH; u++)
                    if (k + u < end) acc += v[u];
            }
            st(dst, (size_t)key * C + j, acc);
        }
    }
}

template <typename TD, typename TS>
static ctcd_status scatter_add_sorted(ctcd_backend *be, TD *dst, const TS *src,
                                      const int32_t *idx, int64_t n, int C) {
    if (n <= 0 || C <= 0) return CTCD_OK;
    sorted_idx s;
    CTCD_TRY(sort_indices(be, idx, n, &s));
    const unsigned grid = (unsigned)(n < 65535 * 4 ? n : 65535 * 4);
    const int block = C >= 256 ? 256 : ((C + 31) / 32) * 32;
    CTCD_LAUNCH(grid, block, 0, stream_of(be), segment_add_kernel<TD, TS>)(dst, src, s.keys,
                                                                            s.pos, n, C);
    LAUNCH_CHECK("segment_add");
    return CTCD_OK;
}

/* dwpe[t, j] += Σ_b dout[b, t, j] in b order. */
template <typename T>
__global__ void pos_grad_kernel(float *dwpe, const T *dout, int B, int T_, int H) {
    const int64_t total = (int64_t)T_ * H;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        float acc = dwpe[i];
        for (int b = 0; b < B; b++) acc += ld(dout, (size_t)b * total + i);
        dwpe[i] = acc;
    }
}

ctcd_status cuda_embedding_bwd(ctcd_backend *be, float *dwte, float *dwpe, float *dwtt,
                               const void *dout, const int32_t *ids, const int32_t *type_ids,
                               int B, int T, int H) {
    NVTX_OP(be, "embedding_bwd");
    const int64_t n = (int64_t)B * T;
    if (n <= 0) return CTCD_OK;
    ctcd_status st = CTCD_OK;
    ACT_DISPATCH(be->act_dtype, T_, {
        if (dwte) st = scatter_add_sorted<float, T_>(be, dwte, (const T_ *)dout, ids, n, H);
        if (!st && dwtt)
            st = scatter_add_sorted<float, T_>(be, dwtt, (const T_ *)dout, type_ids, n, H);
        if (!st && dwpe) {
            CTCD_LAUNCH(grid_1d((int64_t)T * H, 256), 256, 0, stream_of(be), pos_grad_kernel<T_>)(
                dwpe, (const T_ *)dout, B, T, H);
            LAUNCH_CHECK("embedding_bwd positions");
        }
    });
    return st;
}

/* ---- row gather / scatter ---- */
template <typename T>
__global__ void gather_rows_kernel(T *dst, const T *src, const int32_t *idx, int64_t n, int C) {
    const int64_t total = n * C;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = i / C;
        dst[i] = src[(size_t)idx[r] * C + (size_t)(i % C)]; /* a copy: no rounding */
    }
}

ctcd_status cuda_gather_rows(ctcd_backend *be, void *dst, const void *src, const int32_t *idx,
                             int64_t n, int C) {
    NVTX_OP(be, "gather_rows");
    if (n <= 0 || C <= 0) return CTCD_OK;
    ACT_DISPATCH(be->act_dtype, T_,
                 CTCD_LAUNCH(grid_1d(n * C, 256), 256, 0, stream_of(be), gather_rows_kernel<T_>)(
                     (T_ *)dst, (const T_ *)src, idx, n, C));
    LAUNCH_CHECK("gather_rows");
    return CTCD_OK;
}

ctcd_status cuda_scatter_add_rows(ctcd_backend *be, void *dst, const void *src,
                                  const int32_t *idx, int64_t n, int C) {
    NVTX_OP(be, "scatter_add_rows");
    ctcd_status st = CTCD_OK;
    ACT_DISPATCH(be->act_dtype, T_,
                 st = scatter_add_sorted<T_, T_>(be, (T_ *)dst, (const T_ *)src, idx, n, C));
    return st;
}
