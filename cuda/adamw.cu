/* adamw.cu — global gradient sum of squares and the fused AdamW step over a model's flat
 * buffers (contract: backend.h; reference: src/cpu/cpu_adamw.c).
 *
 * grad_sumsq: a fixed grid of SUMSQ_BLOCKS blocks sums g² in double over a grid-stride
 * partition that depends only on n, each block reduces by a fixed tree, and one block adds
 * the block partials in order. The result is therefore bitwise reproducible (and the same on
 * any GPU), as the trainer's deterministic mode asks.
 *
 * adamw: one elementwise kernel reads the clip scale from the device-side sumsq (no host
 * round trip), updates m, v and the fp32 master, and writes the compute copy (bf16 or f32)
 * in the same pass. The arithmetic mirrors the CPU reference operation by operation with
 * explicitly rounded intrinsics (__fmul_rn, ...), so the compiler cannot contract a·b + c
 * into an FMA and the F32 results match the CPU's to the last bit or so. */
#include <math.h>

#include "cuda_common.cuh"

#define SUMSQ_BLOCKS 512
#define SUMSQ_THREADS 256

__global__ void sumsq_partial_kernel(double *partial, const float *g, int64_t n) {
    __shared__ double sh[SUMSQ_THREADS];
    double s = 0.0;
    for (int64_t i = (int64_t)blockIdx.x * SUMSQ_THREADS + threadIdx.x; i < n;
         i += (int64_t)SUMSQ_BLOCKS * SUMSQ_THREADS) {
        const double v = (double)g[i];
        s += v * v;
    }
    sh[threadIdx.x] = s;
    __syncthreads();
    for (int w = SUMSQ_THREADS / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[blockIdx.x] = sh[0];
}

__global__ void sumsq_finish_kernel(float *out, const double *partial) {
    __shared__ double sh[SUMSQ_BLOCKS];
    sh[threadIdx.x] = partial[threadIdx.x];
    __syncthreads();
    for (int w = SUMSQ_BLOCKS / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) *out = (float)sh[0];
}

ctcd_status cuda_grad_sumsq(ctcd_backend *be, float *sumsq, const float *grad, int64_t n) {
    NVTX_OP(be, "grad_sumsq");
    double *partial = NULL;
    CTCD_TRY(cuda_scratch(be, SUMSQ_BLOCKS * sizeof(double), (void **)&partial));
    CTCD_LAUNCH(SUMSQ_BLOCKS, SUMSQ_THREADS, 0, stream_of(be), sumsq_partial_kernel)(partial, grad,
                                                                           n > 0 ? n : 0);
    LAUNCH_CHECK("grad_sumsq partial");
    CTCD_LAUNCH(1, SUMSQ_BLOCKS, 0, stream_of(be), sumsq_finish_kernel)(sumsq, partial);
    LAUNCH_CHECK("grad_sumsq finish");
    return CTCD_OK;
}

typedef struct adamw_consts {
    float lr, b1, b2, one_m_b1, one_m_b2, eps, bc1, bc2, decay, max_norm;
} adamw_consts;

template <typename T>
__global__ void adamw_kernel(float *master, T *compute, const float *grad, float *m, float *v,
                             int64_t n, int64_t n_decay, const float *sumsq, adamw_consts k) {
    float scale = 1.0f;
    if (k.max_norm > 0.0f) {
        /* torch.nn.utils.clip_grad_norm_: coef = max_norm / (norm + 1e-6), clamped to 1. */
        const float coef = __fdiv_rn(k.max_norm, __fadd_rn(__fsqrt_rn(*sumsq), 1e-6f));
        scale = coef < 1.0f ? coef : 1.0f;
    }
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const float g = __fmul_rn(grad[i], scale);
        float p = master[i];
        if (i < n_decay) p = __fmul_rn(p, k.decay);
        const float mi = __fadd_rn(__fmul_rn(k.b1, m[i]), __fmul_rn(k.one_m_b1, g));
        const float vi = __fadd_rn(__fmul_rn(k.b2, v[i]), __fmul_rn(__fmul_rn(k.one_m_b2, g), g));
        m[i] = mi;
        v[i] = vi;
        const float den = __fadd_rn(__fsqrt_rn(__fdiv_rn(vi, k.bc2)), k.eps);
        p = __fsub_rn(p, __fdiv_rn(__fmul_rn(k.lr, __fdiv_rn(mi, k.bc1)), den));
        master[i] = p;
        if (compute) st(compute, (size_t)i, p);
    }
}

ctcd_status cuda_adamw(ctcd_backend *be, float *master, void *compute, const float *grad,
                       float *m, float *v, int64_t n, int64_t n_decay, const float *sumsq,
                       const ctcd_adamw_hparams *h) {
    NVTX_OP(be, "adamw");
    if (h->step < 1)
        return ctcd_error_new(CTCD_E_INVALID, __FILE__, __LINE__,
                              "adamw: step must be >= 1 (got %lld)", (long long)h->step);
    if (h->max_norm > 0.0f && !sumsq)
        return ctcd_error_new(CTCD_E_INVALID, __FILE__, __LINE__,
                              "adamw: clipping needs the grad sumsq");
    if (n <= 0) return CTCD_OK;
    /* Host-side constants computed exactly as the CPU reference computes them. */
    adamw_consts k;
    k.lr = h->lr;
    k.b1 = h->beta1;
    k.b2 = h->beta2;
    k.one_m_b1 = 1.0f - h->beta1;
    k.one_m_b2 = 1.0f - h->beta2;
    k.eps = h->eps;
    k.bc1 = 1.0f - powf(h->beta1, (float)h->step);
    k.bc2 = 1.0f - powf(h->beta2, (float)h->step);
    k.decay = 1.0f - h->lr * h->weight_decay;
    k.max_norm = h->max_norm;
    if (compute == master) compute = NULL;
    const unsigned grid = grid_1d(n, 256, (unsigned)cuda_of(be)->sm_count * 16u);
    ACT_DISPATCH(be->act_dtype, T,
                 CTCD_LAUNCH(grid, 256, 0, stream_of(be), adamw_kernel<T>)(
                     master, (T *)compute, grad, m, v, n, n_decay, sumsq, k));
    LAUNCH_CHECK("adamw");
    return CTCD_OK;
}

size_t cuda_adamw_scratch_bound(const ctcd_reserve_hint *h) {
    (void)h;
    return SUMSQ_BLOCKS * sizeof(double);
}
