/* cuda_common.cuh — what every file of the CUDA backend shares: the backend's private state
 * (stream, cuBLASLt handle and workspace, GEMM algorithm cache, scratch buffer), the error
 * macros that turn CUDA / cuBLAS failures into ctcd_status errors (never an abort), the
 * bf16/fp32 load-store helpers every kernel is templated over, and the op entry points that
 * backend_cuda.cu wires into the op table.
 *
 * Dtype convention: kernels are templates over the activation storage type T (float or
 * __nv_bfloat16) and always compute in fp32; ACT_DISPATCH picks T from be->act_dtype. */
#ifndef CTCD_CUDA_COMMON_CUH
#define CTCD_CUDA_COMMON_CUH

#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "ctcd/backend.h"
#include "ctcd/rng.h"
#include "ctcd/status.h"
#include "ctcd/tensor.h"

#if defined(__has_include)
#if __has_include(<nvtx3/nvToolsExt.h>)
#include <nvtx3/nvToolsExt.h>
#define CTCD_HAVE_NVTX 1
#endif
#endif

/* lt_loader.cu: loads libcublasLt on first use; an error names what is missing. */
extern "C" ctcd_status ctcd_cuda_lt_load(void);

/* ---- errors ---------------------------------------------------------------------------- */

static inline ctcd_status cuda_error_status(cudaError_t e, const char *expr, const char *file,
                                            int line) {
    return ctcd_error_new(CTCD_E_DEVICE, file, line, "CUDA error %s (%s) in %s",
                          cudaGetErrorName(e), cudaGetErrorString(e), expr);
}

static inline ctcd_status cublas_error_status(cublasStatus_t s, const char *expr,
                                              const char *file, int line) {
    return ctcd_error_new(CTCD_E_DEVICE, file, line, "cuBLASLt error %s (%s) in %s",
                          cublasLtGetStatusName(s), cublasLtGetStatusString(s), expr);
}

/* Evaluate a CUDA runtime call; on failure return a CTCD_E_DEVICE status naming the call,
 * the error and this source location from the enclosing function. */
#define CUDA_CHECK(expr)                                                              \
    do {                                                                              \
        cudaError_t cuda_check_e_ = (expr);                                           \
        if (cuda_check_e_ != cudaSuccess)                                             \
            return cuda_error_status(cuda_check_e_, #expr, __FILE__, __LINE__);       \
    } while (0)

#define CUBLAS_CHECK(expr)                                                            \
    do {                                                                              \
        cublasStatus_t cublas_check_s_ = (expr);                                      \
        if (cublas_check_s_ != CUBLAS_STATUS_SUCCESS)                                 \
            return cublas_error_status(cublas_check_s_, #expr, __FILE__, __LINE__);   \
    } while (0)

/* ---- launches ------------------------------------------------------------------------- */

/* CTCD_LAUNCH(grid, block, smem, stream, kernel)(args...) is kernel<<<grid, block, smem,
 * stream>>>(args...) under nvcc. The kernel comes last because a template kernel's name
 * (attn_fwd_kernel<T, DPL>) holds commas. In the emulation build (CTCD_CUDA_EMU,
 * cuda/emu/cuda_runtime.h) the same call runs the kernel on the CPU through hip-cpu. */
#if CTCD_CUDA_EMU
#define CTCD_LAUNCH(grid, block, smem, stream, ...) \
    ctcd_emu::launch((grid), (block), (smem), (stream), __VA_ARGS__)
/* extern __shared__: hip-cpu keeps a kernel's dynamic shared memory per block thread. */
#define CTCD_DYNAMIC_SMEM(type, name) HIP_DYNAMIC_SHARED(type, name)
#else
#define CTCD_LAUNCH(grid, block, smem, stream, ...) \
    __VA_ARGS__<<<(grid), (block), (smem), (stream)>>>
#define CTCD_DYNAMIC_SMEM(type, name) extern __shared__ type name[]
#endif

/* After a kernel launch: launch-configuration errors show up here (asynchronous faults
 * surface at the next synchronising call, e.g. sync or download). */
#define LAUNCH_CHECK(what) CUDA_CHECK(cudaGetLastError())

/* ---- backend state ---------------------------------------------------------------------- */

/* One cached cuBLASLt algorithm choice. The key holds everything the heuristic depends on:
 * shape, transposes, leading dimensions, dtypes, epilogue, whether beta != 0, and the
 * pointer alignments (an algorithm chosen for 16-byte aligned operands cannot run on
 * 2-byte aligned ones, which parameter slices of a flat buffer can be). */
typedef struct gemm_key {
    int32_t transa, transb;
    int64_t m, n, k, lda, ldb, ldc;
    int32_t a_type, c_type, d_type;
    int32_t epilogue;
    int32_t beta_nonzero;
    int32_t align_a, align_b, align_c, align_d;
    int32_t align_bias; /* 0 without a bias */
} gemm_key;

typedef struct gemm_cache_entry {
    gemm_key key;
    int found;                    /* 0: the heuristic had nothing; use the fallback kernel */
    cublasLtMatmulAlgo_t algo;
} gemm_cache_entry;

/* Streams ("lanes"): lane 0 is the main stream; lanes 1.. are the models' streams entered with
 * stream_fork and left with stream_join (backend.h). Every op runs on the current lane, in
 * issue order there. Buffers an op keeps between its kernels (scratch, the cuBLASLt
 * workspace) are per lane, so ops on two lanes never share one. */
#define CUDA_LANES 4

typedef struct cuda_impl {
    int device;
    char device_name[256];
    int sm_count;
    size_t smem_optin;            /* max dynamic shared memory per block (bytes) */
    cudaStream_t lanes[CUDA_LANES]; /* [0] main; [1..] created at start */
    cudaEvent_t lane_mark[CUDA_LANES]; /* fork/join ordering points, one per lane */
    int lane;                     /* the current lane: every op is queued on lanes[lane] */
    cublasLtHandle_t lt;
    void *lt_ws[CUDA_LANES];      /* cuBLASLt workspace per lane, allocated at creation */
    size_t lt_ws_bytes;
    gemm_cache_entry *gemm_cache; /* linear list; BERT uses a few dozen shapes */
    int gemm_cache_n, gemm_cache_cap;
    void *scratch[CUDA_LANES];    /* grow-only temporary buffer shared by the ops of a lane
                                     (in order there, so no two ops use it at once) */
    size_t scratch_bytes[CUDA_LANES];
    int lt_gelu;                  /* 1: use cuBLASLt's GELU_AUX_BIAS epilogue (tanh-approximate
                                     GELU, off by default: the contract is the erf form) */
    int nvtx;                     /* 1: an NVTX range around every op */
    int32_t *loss_err;            /* device [4]: a bad label seen by the loss (flag, label,
                                     row, classes); read back at the next download/sync */
    int loss_err_pending;         /* 1: a loss ran since loss_err was last read */
    int loss_err_lane;            /* the lane it ran on */
} cuda_impl;

/* The error a loss kernel left in loss_err, if any (clears it); called after a sync. */
ctcd_status cuda_loss_error(ctcd_backend *be);

/* Op scratch an op family needs for shapes up to the hint (backend reserve): the bound of
 * each file's cuda_scratch calls (colsum.cuh: colsum_scratch_bound). */
size_t cuda_adamw_scratch_bound(const ctcd_reserve_hint *h);
size_t cuda_attention_scratch_bound(const ctcd_reserve_hint *h);
size_t cuda_embedding_scratch_bound(ctcd_backend *be, const ctcd_reserve_hint *h);
size_t cuda_loss_scratch_bound(const ctcd_reserve_hint *h);

/* Local copies of tensor.c helpers: libctcd_cuda.a links after libctcd.a, so it must not
 * need objects of libctcd.a that nothing else pulled in (status.o always is). */
static inline size_t dt_size(ctcd_dtype dt) {
    return dt == CTCD_F32 || dt == CTCD_I32 ? 4 : dt == CTCD_I64 ? 8 : dt == CTCD_U8 ? 1 : 2;
}
static inline const char *dt_name(ctcd_dtype dt) {
    return dt == CTCD_F32 ? "F32" : dt == CTCD_BF16 ? "BF16" : "other";
}

static inline cuda_impl *cuda_of(ctcd_backend *be) { return (cuda_impl *)be->impl; }
static inline cudaStream_t stream_of(ctcd_backend *be) {
    cuda_impl *c = cuda_of(be);
    return c->lanes[c->lane];
}

/* Returns a device buffer of the current lane of at least `bytes`, valid until the next op on
 * that lane. Growing it waits for the lane (the old buffer may still be read by queued
 * work). */
ctcd_status cuda_scratch(ctcd_backend *be, size_t bytes, void **out);

/* ---- NVTX ---------------------------------------------------------------------------- */

/* An op-level range, active only when the backend was created with NVTX detail on. */
struct nvtx_op_range {
    int on;
    nvtx_op_range(ctcd_backend *be, const char *name) : on(0) {
#ifdef CTCD_HAVE_NVTX
        if (cuda_of(be)->nvtx) {
            nvtxRangePushA(name);
            on = 1;
        }
#else
        (void)be;
        (void)name;
#endif
    }
    ~nvtx_op_range() {
#ifdef CTCD_HAVE_NVTX
        if (on) nvtxRangePop();
#endif
    }
};
#define NVTX_OP(be, name) nvtx_op_range nvtx_op_range_(be, name)

/* ---- element access ----------------------------------------------------------------------- */

typedef __nv_bfloat16 bf16;

/* fp32 -> bf16 exactly as ctcd_f32_to_bf16 on the host (round to nearest even, quiet NaN
 * kept), so a cast on either backend gives the same bits. */
__device__ __forceinline__ bf16 f32_to_bf16(float f) {
    unsigned u = __float_as_uint(f);
    unsigned short h;
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        h = (unsigned short)((u >> 16) | 0x40u);
    } else {
        u += 0x7fffu + ((u >> 16) & 1u);
        h = (unsigned short)(u >> 16);
    }
    return __ushort_as_bfloat16(h);
}

__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(bf16 x) { return __bfloat162float(x); }
template <typename T> __device__ __forceinline__ T from_f32(float x);
template <> __device__ __forceinline__ float from_f32<float>(float x) { return x; }
template <> __device__ __forceinline__ bf16 from_f32<bf16>(float x) { return f32_to_bf16(x); }

template <typename T> __device__ __forceinline__ float ld(const T *p, size_t i) {
    return to_f32(p[i]);
}
template <typename T> __device__ __forceinline__ void st(T *p, size_t i, float v) {
    p[i] = from_f32<T>(v);
}

/* Runs the statement list with T bound to the storage type of dtype dt (F32 or BF16). */
#define ACT_DISPATCH(dt, T, ...)              \
    do {                                      \
        if ((dt) == CTCD_F32) {               \
            typedef float T;                  \
            __VA_ARGS__;                      \
        } else {                              \
            typedef bf16 T;                   \
            __VA_ARGS__;                      \
        }                                     \
    } while (0)

static inline unsigned grid_1d(int64_t n, int block, unsigned cap = 65535u * 16u) {
    int64_t g = (n + block - 1) / block;
    if (g < 1) g = 1;
    return (unsigned)(g > (int64_t)cap ? cap : g);
}

/* Warp-level sum / max (full warp). */
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
__device__ __forceinline__ double warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* ---- op entry points (contracts: include/ctcd/backend.h) -------------------------------- */

extern "C" {
/* gemm_lt.cu */
ctcd_status cuda_gemm_init(ctcd_backend *be);
void cuda_gemm_destroy(ctcd_backend *be);
ctcd_status cuda_matmul_fwd(ctcd_backend *be, void *out, void *pre, const void *inp,
                            const void *w, const void *bias, int64_t M, int K, int N,
                            ctcd_act act);
ctcd_status cuda_matmul_bwd(ctcd_backend *be, void *dinp, float *dw, float *dbias,
                            const void *dout, const void *inp, const void *w, int64_t M, int K,
                            int N, int accumulate_dinp);
/* elementwise.cu */
ctcd_status cuda_cast(ctcd_backend *be, void *dst, ctcd_dtype dst_dt, const void *src,
                      ctcd_dtype src_dt, int64_t n);
ctcd_status cuda_gelu_fwd(ctcd_backend *be, void *out, const void *inp, int64_t n);
ctcd_status cuda_gelu_bwd(ctcd_backend *be, void *dinp, const void *inp, const void *dout,
                          int64_t n);
ctcd_status cuda_tanh_fwd(ctcd_backend *be, void *out, const void *inp, int64_t n);
ctcd_status cuda_tanh_bwd(ctcd_backend *be, void *dinp, const void *out, const void *dout,
                          int64_t n);
ctcd_status cuda_dropout_fwd(ctcd_backend *be, void *out, const void *inp, int64_t n, float p,
                             ctcd_dropout_key key);
ctcd_status cuda_dropout_bwd(ctcd_backend *be, void *dinp, const void *dout, int64_t n,
                             float p, ctcd_dropout_key key);
/* layernorm.cu */
ctcd_status cuda_layernorm_fwd(ctcd_backend *be, void *out, void *sum_out, float *mean,
                               float *rstd, const void *inp, const void *residual,
                               const void *gamma, const void *beta, int64_t N, int C,
                               float eps);
ctcd_status cuda_layernorm_bwd(ctcd_backend *be, void *dinp, float *dgamma, float *dbeta,
                               const void *dout, const void *s, const float *mean,
                               const float *rstd, const void *gamma, int64_t N, int C);
ctcd_status cuda_dropout_layernorm_fwd(ctcd_backend *be, void *out, void *sum_out, float *mean,
                                       float *rstd, const void *inp, const void *residual,
                                       const void *gamma, const void *beta, int64_t N, int C,
                                       float eps, float p, ctcd_dropout_key key);
ctcd_status cuda_dropout_layernorm_bwd(ctcd_backend *be, void *dinp, void *dres, float *dgamma,
                                       float *dbeta, const void *dout, const void *s,
                                       const float *mean, const float *rstd, const void *gamma,
                                       int64_t N, int C, float p, ctcd_dropout_key key);
ctcd_status cuda_embedding_layernorm_fwd(ctcd_backend *be, void *out, void *sum_out,
                                         float *mean, float *rstd, const int32_t *ids,
                                         const int32_t *type_ids, const void *wte,
                                         const void *wpe, const void *wtt, const void *gamma,
                                         const void *beta, int B, int T, int H, float eps,
                                         float p, ctcd_dropout_key key);
ctcd_status cuda_embedding_layernorm_bwd(ctcd_backend *be, float *dwte, float *dwpe,
                                         float *dwtt, float *dgamma, float *dbeta, void *dout,
                                         void *ds, const void *s, const float *mean,
                                         const float *rstd, const void *gamma,
                                         const int32_t *ids, const int32_t *type_ids, int B,
                                         int T, int H, float p, ctcd_dropout_key key);
/* Deterministic dst[j] += Σ_i src[i, j] (F32 dst); used by matmul_bwd for dbias. */
ctcd_status cuda_colsum_acc(ctcd_backend *be, float *dst, const void *src, int64_t M, int N);
/* attention.cu */
size_t cuda_attention_aux_bytes(ctcd_backend *be, int B, int T, int NH);
ctcd_status cuda_attention_fwd(ctcd_backend *be, void *out, void *aux, const void *qkv,
                               const int32_t *mask, int B, int T, int NH, int HD, float p,
                               ctcd_dropout_key key);
ctcd_status cuda_attention_bwd(ctcd_backend *be, void *dqkv, const void *dout,
                               const void *qkv, const void *aux, const int32_t *mask, int B,
                               int T, int NH, int HD, float p, ctcd_dropout_key key);
size_t cuda_attn_aux_bytes(ctcd_backend *be, const ctcd_attn_shape *s);
ctcd_status cuda_attn_fwd(ctcd_backend *be, void *out, void *aux, const void *q, const void *k,
                          const void *v, const int32_t *kmask, const ctcd_attn_shape *s,
                          float p, ctcd_dropout_key key);
ctcd_status cuda_attn_bwd(ctcd_backend *be, void *dq, void *dk, void *dv, const void *dout,
                          const void *q, const void *k, const void *v, const void *aux,
                          const int32_t *kmask, const ctcd_attn_shape *s, float p,
                          ctcd_dropout_key key);
/* embedding.cu */
/* mask.cu */
ctcd_status cuda_unit_mask_fwd(ctcd_backend *be, void *out, const void *inp, const float *mask,
                               int64_t M, int G, int S);
ctcd_status cuda_unit_mask_bwd(ctcd_backend *be, void *dinp, float *dmask, const void *dout,
                               const void *inp, const float *mask, int64_t M, int G, int S);
ctcd_status cuda_embedding_fwd(ctcd_backend *be, void *out, const int32_t *ids,
                               const int32_t *type_ids, const void *wte, const void *wpe,
                               const void *wtt, int B, int T, int H);
ctcd_status cuda_embedding_bwd(ctcd_backend *be, float *dwte, float *dwpe, float *dwtt,
                               const void *dout, const int32_t *ids, const int32_t *type_ids,
                               int B, int T, int H);
ctcd_status cuda_gather_rows(ctcd_backend *be, void *dst, const void *src, const int32_t *idx,
                             int64_t n, int C);
ctcd_status cuda_scatter_add_rows(ctcd_backend *be, void *dst, const void *src,
                                  const int32_t *idx, int64_t n, int C);
/* loss.cu */
ctcd_status cuda_loss(ctcd_backend *be, const ctcd_loss_desc *desc, const ctcd_loss_io *io);
/* adamw.cu */
ctcd_status cuda_grad_sumsq(ctcd_backend *be, float *sumsq, const float *grad, int64_t n);
ctcd_status cuda_adamw(ctcd_backend *be, float *master, void *compute, const float *grad,
                       float *m, float *v, int64_t n, int64_t n_decay, const float *sumsq,
                       const ctcd_adamw_hparams *h);
}

#endif
