/* attention.cu — fused (flash-style) multi-head self-attention, forward and backward.
 *
 * Layout (backend.h): qkv act[B,T,3,NH,HD], token row stride 3A (A = NH·HD), q/k/v of head h
 * at offsets h·HD, A + h·HD, 2A + h·HD; out act[B,T,NH,HD]; mask I32[B,T] (0 = padding key,
 * probability exactly 0). Scores are scaled by 1/sqrt(HD). A query row with no valid key
 * outputs zeros, as on the CPU.
 *
 * Never materialises B·NH·T·T: the forward streams key tiles with an online softmax and keeps
 * only the logsumexp per query row in aux (F32[B,NH,T]; +inf marks a row with no valid key).
 * The backward recomputes P = exp(S − lse) tile by tile in two kernels, each writing its
 * outputs once (no atomics, deterministic):
 *   dq kernel (per query tile): pass 1 D_i = Σ_j P_ij·dP_ij, pass 2 dQ_i = scale·Σ_j dS_ij·k_j
 *   dkv kernel (per key tile):  dV_j = Σ_i P̃_ij·dO_i,  dK_j = scale·Σ_i dS_ij·q_i
 * with dP_ij = keep_ij·(dO_i·v_j)/(1−p), P̃ = P·keep/(1−p), dS = P·(dP − D_i). D lives in the
 * backend scratch between the two kernels.
 *
 * Attention-probability dropout uses the CPU reference's Philox index
 *     ((b·NH + h)·T + i)·T + j
 * with the layer's key, so both backends drop the same probabilities.
 *
 * Arithmetic is fp32 on CUDA cores (correctness first); a tensor-core (wgmma / mma.sync)
 * version or cuDNN's fused SDPA is the planned speed-up, with this kernel as its check.
 * Tiles: 32 queries × 32 keys per step, 4 warps, each warp owning 8 rows; lanes index keys
 * (for scores) or head-dim columns (for accumulators, DPL = ceil(HD/32) per lane). Shared
 * rows are padded to HD+1 floats so both access patterns are bank-conflict free. */
#include <math.h>

#include "cuda_common.cuh"

#define AT_BQ 32
#define AT_BK 32
#define AT_WARPS 4
#define AT_RPW (AT_BQ / AT_WARPS) /* rows per warp */

__device__ __forceinline__ float keep_scale(ctcd_dropout_key key, uint64_t idx, float p,
                                            float dscale) {
    if (p <= 0.0f) return 1.0f;
    return ctcd_dropout_uniform(key, idx) >= p ? dscale : 0.0f;
}

/* Loads rows [r0, r0+32) of one head's q, k or v (which = 0, 1, 2) into sh[32][HD+1] as fp32;
 * rows past T are zero. */
template <typename T>
__device__ __forceinline__ void load_tile(float *sh, const T *qkv, int b, int r0, int which,
                                          int h, int T_, int NH, int HD) {
    const int A = NH * HD, HDP = HD + 1;
    for (int idx = threadIdx.x; idx < 32 * HD; idx += blockDim.x) {
        const int r = idx / HD, d = idx % HD, t = r0 + r;
        float v = 0.0f;
        if (t < T_) v = ld(qkv, ((size_t)b * T_ + t) * 3 * A + (size_t)which * A + (size_t)h * HD + d);
        sh[r * HDP + d] = v;
    }
}

/* Same for a [B,T,NH,HD] tensor (dout). */
template <typename T>
__device__ __forceinline__ void load_tile_o(float *sh, const T *o, int b, int r0, int h, int T_,
                                            int NH, int HD) {
    const int A = NH * HD, HDP = HD + 1;
    for (int idx = threadIdx.x; idx < 32 * HD; idx += blockDim.x) {
        const int r = idx / HD, d = idx % HD, t = r0 + r;
        float v = 0.0f;
        if (t < T_) v = ld(o, ((size_t)b * T_ + t) * A + (size_t)h * HD + d);
        sh[r * HDP + d] = v;
    }
}

static size_t fwd_smem(int HD) {
    return ((size_t)(AT_BQ + 2 * AT_BK) * (HD + 1) + (size_t)AT_BQ * (AT_BK + 1)) * sizeof(float);
}
static size_t dq_smem(int HD) {
    return ((size_t)(2 * AT_BQ + 2 * AT_BK) * (HD + 1) + (size_t)AT_BQ * (AT_BK + 1)) *
           sizeof(float);
}
static size_t dkv_smem(int HD) {
    return ((size_t)(2 * AT_BQ + 2 * AT_BK) * (HD + 1) + 2 * (size_t)AT_BK * (AT_BQ + 1) +
            2 * (size_t)AT_BQ) *
           sizeof(float);
}

/* ---------------------------------------------------------------------------------------- */
template <typename T, int DPL>
__global__ void __launch_bounds__(32 * AT_WARPS)
    attn_fwd_kernel(T *out, float *lse, const T *qkv, const int32_t *mask, int T_, int NH, int HD,
                    float scale, float p, float dscale, ctcd_dropout_key key) {
    extern __shared__ float smem[];
    const int HDP = HD + 1;
    float *Qs = smem, *Ks = Qs + AT_BQ * HDP, *Vs = Ks + AT_BK * HDP, *Ps = Vs + AT_BK * HDP;
    const int q0 = blockIdx.x * AT_BQ, h = blockIdx.y, b = blockIdx.z;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const uint64_t bh = (uint64_t)b * NH + h;

    load_tile(Qs, qkv, b, q0, 0, h, T_, NH, HD);
    float o[AT_RPW][DPL], m[AT_RPW], l[AT_RPW];
#pragma unroll
    for (int i = 0; i < AT_RPW; i++) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
#pragma unroll
        for (int c = 0; c < DPL; c++) o[i][c] = 0.0f;
    }
    for (int k0 = 0; k0 < T_; k0 += AT_BK) {
        __syncthreads(); /* previous tile fully consumed */
        load_tile(Ks, qkv, b, k0, 1, h, T_, NH, HD);
        load_tile(Vs, qkv, b, k0, 2, h, T_, NH, HD);
        __syncthreads();
        const int kj = k0 + lane;
        const bool valid = kj < T_ && mask[(size_t)b * T_ + kj] != 0;
        float s[AT_RPW];
#pragma unroll
        for (int i = 0; i < AT_RPW; i++) s[i] = 0.0f;
        for (int d = 0; d < HD; d++) {
            const float kd = Ks[lane * HDP + d];
#pragma unroll
            for (int i = 0; i < AT_RPW; i++) s[i] += Qs[(warp * AT_RPW + i) * HDP + d] * kd;
        }
#pragma unroll
        for (int i = 0; i < AT_RPW; i++) {
            const int r = warp * AT_RPW + i, qi = q0 + r;
            const float sv = valid ? s[i] * scale : -INFINITY;
            const float mn = fmaxf(m[i], warp_max(sv));
            float pe = 0.0f, alpha = 1.0f;
            if (mn != -INFINITY) {
                pe = valid ? expf(sv - mn) : 0.0f;
                alpha = m[i] == -INFINITY ? 0.0f : expf(m[i] - mn);
            }
            l[i] = l[i] * alpha + warp_sum(pe);
            m[i] = mn;
            float pd = pe;
            if (p > 0.0f && pe != 0.0f && qi < T_)
                pd = pe * keep_scale(key, (bh * T_ + qi) * T_ + kj, p, dscale);
            Ps[r * (AT_BK + 1) + lane] = pd;
#pragma unroll
            for (int c = 0; c < DPL; c++) o[i][c] *= alpha;
        }
        __syncwarp();
        for (int j = 0; j < AT_BK; j++) {
            float vj[DPL];
#pragma unroll
            for (int c = 0; c < DPL; c++) {
                const int d = lane + 32 * c;
                vj[c] = d < HD ? Vs[j * HDP + d] : 0.0f;
            }
#pragma unroll
            for (int i = 0; i < AT_RPW; i++) {
                const float pj = Ps[(warp * AT_RPW + i) * (AT_BK + 1) + j];
#pragma unroll
                for (int c = 0; c < DPL; c++) o[i][c] += pj * vj[c];
            }
        }
    }
    const int A = NH * HD;
#pragma unroll
    for (int i = 0; i < AT_RPW; i++) {
        const int qi = q0 + warp * AT_RPW + i;
        if (qi >= T_) continue;
        const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
#pragma unroll
        for (int c = 0; c < DPL; c++) {
            const int d = lane + 32 * c;
            if (d < HD) st(out, ((size_t)b * T_ + qi) * A + (size_t)h * HD + d, o[i][c] * inv);
        }
        if (lane == 0) lse[bh * T_ + qi] = l[i] > 0.0f ? m[i] + logf(l[i]) : INFINITY;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* dQ for one query tile, and D_i = Σ_j P_ij·dP_ij (saved for the dkv kernel). */
template <typename T, int DPL>
__global__ void __launch_bounds__(32 * AT_WARPS)
    attn_dq_kernel(T *dqkv, float *Dout, const T *dout, const T *qkv, const float *lse,
                   const int32_t *mask, int T_, int NH, int HD, float scale, float p,
                   float dscale, ctcd_dropout_key key) {
    extern __shared__ float smem[];
    const int HDP = HD + 1;
    float *Qs = smem, *dOs = Qs + AT_BQ * HDP, *Ks = dOs + AT_BQ * HDP, *Vs = Ks + AT_BK * HDP;
    float *dSs = Vs + AT_BK * HDP;
    const int q0 = blockIdx.x * AT_BQ, h = blockIdx.y, b = blockIdx.z;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const uint64_t bh = (uint64_t)b * NH + h;
    load_tile(Qs, qkv, b, q0, 0, h, T_, NH, HD);
    load_tile_o(dOs, dout, b, q0, h, T_, NH, HD);
    float L[AT_RPW], D[AT_RPW], dq[AT_RPW][DPL];
#pragma unroll
    for (int i = 0; i < AT_RPW; i++) {
        const int qi = q0 + warp * AT_RPW + i;
        L[i] = qi < T_ ? lse[bh * T_ + qi] : INFINITY;
        D[i] = 0.0f;
#pragma unroll
        for (int c = 0; c < DPL; c++) dq[i][c] = 0.0f;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int k0 = 0; k0 < T_; k0 += AT_BK) {
            __syncthreads();
            load_tile(Ks, qkv, b, k0, 1, h, T_, NH, HD);
            load_tile(Vs, qkv, b, k0, 2, h, T_, NH, HD);
            __syncthreads();
            const int kj = k0 + lane;
            const bool valid = kj < T_ && mask[(size_t)b * T_ + kj] != 0;
            float s[AT_RPW], g[AT_RPW];
#pragma unroll
            for (int i = 0; i < AT_RPW; i++) s[i] = g[i] = 0.0f;
            for (int d = 0; d < HD; d++) {
                const float kd = Ks[lane * HDP + d], vd = Vs[lane * HDP + d];
#pragma unroll
                for (int i = 0; i < AT_RPW; i++) {
                    const int r = warp * AT_RPW + i;
                    s[i] += Qs[r * HDP + d] * kd;
                    g[i] += dOs[r * HDP + d] * vd;
                }
            }
#pragma unroll
            for (int i = 0; i < AT_RPW; i++) {
                const int r = warp * AT_RPW + i, qi = q0 + r;
                const float P = valid && L[i] != INFINITY ? expf(s[i] * scale - L[i]) : 0.0f;
                float ks = 1.0f;
                if (p > 0.0f && P != 0.0f) ks = keep_scale(key, (bh * T_ + qi) * T_ + kj, p, dscale);
                const float dP = ks * g[i];
                if (pass == 0) {
                    D[i] += warp_sum(P * dP);
                } else {
                    dSs[r * (AT_BK + 1) + lane] = P * (dP - D[i]);
                }
            }
            if (pass == 1) {
                __syncwarp();
                for (int j = 0; j < AT_BK; j++) {
                    float kj_[DPL];
#pragma unroll
                    for (int c = 0; c < DPL; c++) {
                        const int d = lane + 32 * c;
                        kj_[c] = d < HD ? Ks[j * HDP + d] : 0.0f;
                    }
#pragma unroll
                    for (int i = 0; i < AT_RPW; i++) {
                        const float ds = dSs[(warp * AT_RPW + i) * (AT_BK + 1) + j];
#pragma unroll
                        for (int c = 0; c < DPL; c++) dq[i][c] += ds * kj_[c];
                    }
                }
            }
        }
    }
    const int A = NH * HD;
#pragma unroll
    for (int i = 0; i < AT_RPW; i++) {
        const int qi = q0 + warp * AT_RPW + i;
        if (qi >= T_) continue;
#pragma unroll
        for (int c = 0; c < DPL; c++) {
            const int d = lane + 32 * c;
            if (d < HD) st(dqkv, ((size_t)b * T_ + qi) * 3 * A + (size_t)h * HD + d, dq[i][c] * scale);
        }
        if (lane == 0) Dout[bh * T_ + qi] = D[i];
    }
}

/* ---------------------------------------------------------------------------------------- */
/* dK, dV for one key tile; warps own key rows, lanes index queries of the current q tile. */
template <typename T, int DPL>
__global__ void __launch_bounds__(32 * AT_WARPS)
    attn_dkv_kernel(T *dqkv, const float *Dq, const T *dout, const T *qkv, const float *lse,
                    const int32_t *mask, int T_, int NH, int HD, float scale, float p,
                    float dscale, ctcd_dropout_key key) {
    extern __shared__ float smem[];
    const int HDP = HD + 1;
    float *Ks = smem, *Vs = Ks + AT_BK * HDP, *Qs = Vs + AT_BK * HDP, *dOs = Qs + AT_BQ * HDP;
    float *Pt = dOs + AT_BQ * HDP, *dSt = Pt + AT_BK * (AT_BQ + 1);
    float *Ls = dSt + AT_BK * (AT_BQ + 1), *Ds = Ls + AT_BQ;
    const int k0 = blockIdx.x * AT_BK, h = blockIdx.y, b = blockIdx.z;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const uint64_t bh = (uint64_t)b * NH + h;
    load_tile(Ks, qkv, b, k0, 1, h, T_, NH, HD);
    load_tile(Vs, qkv, b, k0, 2, h, T_, NH, HD);
    bool kvalid[AT_RPW];
    float dk[AT_RPW][DPL], dv[AT_RPW][DPL];
#pragma unroll
    for (int i = 0; i < AT_RPW; i++) {
        const int kj = k0 + warp * AT_RPW + i;
        kvalid[i] = kj < T_ && mask[(size_t)b * T_ + kj] != 0;
#pragma unroll
        for (int c = 0; c < DPL; c++) dk[i][c] = dv[i][c] = 0.0f;
    }
    for (int q0 = 0; q0 < T_; q0 += AT_BQ) {
        __syncthreads();
        load_tile(Qs, qkv, b, q0, 0, h, T_, NH, HD);
        load_tile_o(dOs, dout, b, q0, h, T_, NH, HD);
        if (threadIdx.x < AT_BQ) {
            const int qi = q0 + threadIdx.x;
            Ls[threadIdx.x] = qi < T_ ? lse[bh * T_ + qi] : INFINITY;
            Ds[threadIdx.x] = qi < T_ ? Dq[bh * T_ + qi] : 0.0f;
        }
        __syncthreads();
        const int qi = q0 + lane;
        const float Lq = Ls[lane], Dl = Ds[lane];
        float s[AT_RPW], g[AT_RPW];
#pragma unroll
        for (int i = 0; i < AT_RPW; i++) s[i] = g[i] = 0.0f;
        for (int d = 0; d < HD; d++) {
            const float qd = Qs[lane * HDP + d], od = dOs[lane * HDP + d];
#pragma unroll
            for (int i = 0; i < AT_RPW; i++) {
                const int r = warp * AT_RPW + i;
                s[i] += qd * Ks[r * HDP + d];
                g[i] += od * Vs[r * HDP + d];
            }
        }
#pragma unroll
        for (int i = 0; i < AT_RPW; i++) {
            const int r = warp * AT_RPW + i, kj = k0 + r;
            const float P = kvalid[i] && Lq != INFINITY ? expf(s[i] * scale - Lq) : 0.0f;
            float ks = 1.0f;
            if (p > 0.0f && P != 0.0f) ks = keep_scale(key, (bh * T_ + qi) * T_ + kj, p, dscale);
            Pt[r * (AT_BQ + 1) + lane] = P * ks;
            dSt[r * (AT_BQ + 1) + lane] = P * (ks * g[i] - Dl);
        }
        __syncwarp();
        for (int j = 0; j < AT_BQ; j++) {
            float qj[DPL], oj[DPL];
#pragma unroll
            for (int c = 0; c < DPL; c++) {
                const int d = lane + 32 * c;
                qj[c] = d < HD ? Qs[j * HDP + d] : 0.0f;
                oj[c] = d < HD ? dOs[j * HDP + d] : 0.0f;
            }
#pragma unroll
            for (int i = 0; i < AT_RPW; i++) {
                const int r = warp * AT_RPW + i;
                const float pt = Pt[r * (AT_BQ + 1) + j], ds = dSt[r * (AT_BQ + 1) + j];
#pragma unroll
                for (int c = 0; c < DPL; c++) {
                    dv[i][c] += pt * oj[c];
                    dk[i][c] += ds * qj[c];
                }
            }
        }
    }
    const int A = NH * HD;
#pragma unroll
    for (int i = 0; i < AT_RPW; i++) {
        const int kj = k0 + warp * AT_RPW + i;
        if (kj >= T_) continue;
        const size_t row = ((size_t)b * T_ + kj) * 3 * A + (size_t)h * HD;
#pragma unroll
        for (int c = 0; c < DPL; c++) {
            const int d = lane + 32 * c;
            if (d < HD) {
                st(dqkv, row + A + d, dk[i][c] * scale);
                st(dqkv, row + 2 * (size_t)A + d, dv[i][c]);
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
size_t cuda_attention_aux_bytes(ctcd_backend *be, int B, int T, int NH) {
    (void)be;
    return (size_t)B * (size_t)NH * (size_t)T * sizeof(float); /* logsumexp */
}

static ctcd_status check_args(int B, int T, int NH, int HD, float p) {
    if (!(p >= 0.0f && p < 1.0f))
        return ctcd_error_new(CTCD_E_INVALID, __FILE__, __LINE__,
                              "attention dropout %g not in [0, 1)", (double)p);
    if (HD < 1 || HD > 128)
        return ctcd_error_new(CTCD_E_UNSUPPORTED, __FILE__, __LINE__,
                              "cuda attention: head dim %d not in [1, 128]", HD);
    if (B < 0 || T < 0 || NH < 0 || NH > 65535 || B > 65535)
        return ctcd_error_new(CTCD_E_INVALID, __FILE__, __LINE__,
                              "cuda attention: bad shape B=%d T=%d NH=%d", B, T, NH);
    return CTCD_OK;
}

/* Raises the kernel's dynamic shared-memory limit when it needs more than the default 48 KB
 * (a per-function attribute; setting it every launch is cheap and keeps no global state). */
template <typename K>
static ctcd_status prep_smem(ctcd_backend *be, K kernel, size_t bytes) {
    if (bytes > cuda_of(be)->smem_optin)
        return ctcd_error_new(CTCD_E_UNSUPPORTED, __FILE__, __LINE__,
                              "cuda attention: needs %zu bytes of shared memory, device allows %zu",
                              bytes, cuda_of(be)->smem_optin);
    if (bytes > 48 * 1024)
        CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        (int)bytes));
    return CTCD_OK;
}

template <typename T, int DPL>
static ctcd_status fwd_launch(ctcd_backend *be, void *out, void *aux, const void *qkv,
                              const int32_t *mask, int B, int T_, int NH, int HD, float p,
                              ctcd_dropout_key key) {
    const size_t sm = fwd_smem(HD);
    CTCD_TRY(prep_smem(be, attn_fwd_kernel<T, DPL>, sm));
    const float scale = 1.0f / sqrtf((float)HD), dscale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
    dim3 grid((unsigned)((T_ + AT_BQ - 1) / AT_BQ), (unsigned)NH, (unsigned)B);
    attn_fwd_kernel<T, DPL><<<grid, 32 * AT_WARPS, sm, stream_of(be)>>>(
        (T *)out, (float *)aux, (const T *)qkv, mask, T_, NH, HD, scale, p, dscale, key);
    LAUNCH_CHECK("attention_fwd");
    return CTCD_OK;
}

template <typename T, int DPL>
static ctcd_status bwd_launch(ctcd_backend *be, void *dqkv, const void *dout, const void *qkv,
                              const void *aux, const int32_t *mask, int B, int T_, int NH,
                              int HD, float p, ctcd_dropout_key key) {
    float *D = NULL;
    CTCD_TRY(cuda_scratch(be, (size_t)B * NH * T_ * sizeof(float), (void **)&D));
    const size_t sm1 = dq_smem(HD), sm2 = dkv_smem(HD);
    CTCD_TRY(prep_smem(be, attn_dq_kernel<T, DPL>, sm1));
    CTCD_TRY(prep_smem(be, attn_dkv_kernel<T, DPL>, sm2));
    const float scale = 1.0f / sqrtf((float)HD), dscale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
    dim3 gq((unsigned)((T_ + AT_BQ - 1) / AT_BQ), (unsigned)NH, (unsigned)B);
    attn_dq_kernel<T, DPL><<<gq, 32 * AT_WARPS, sm1, stream_of(be)>>>(
        (T *)dqkv, D, (const T *)dout, (const T *)qkv, (const float *)aux, mask, T_, NH, HD,
        scale, p, dscale, key);
    LAUNCH_CHECK("attention_bwd dq");
    dim3 gk((unsigned)((T_ + AT_BK - 1) / AT_BK), (unsigned)NH, (unsigned)B);
    attn_dkv_kernel<T, DPL><<<gk, 32 * AT_WARPS, sm2, stream_of(be)>>>(
        (T *)dqkv, D, (const T *)dout, (const T *)qkv, (const float *)aux, mask, T_, NH, HD,
        scale, p, dscale, key);
    LAUNCH_CHECK("attention_bwd dkv");
    return CTCD_OK;
}

/* DPL (head-dim values per lane) is a template parameter so the accumulators stay in
 * registers; HD itself stays a run-time value (any HD <= 32·DPL). */
#define AT_DISPATCH(HD, FN, ...)                                       \
    do {                                                               \
        const int dpl_ = ((HD) + 31) / 32;                             \
        if (be->act_dtype == CTCD_F32) {                               \
            if (dpl_ == 1) return FN<float, 1>(__VA_ARGS__);           \
            if (dpl_ == 2) return FN<float, 2>(__VA_ARGS__);           \
            if (dpl_ == 3) return FN<float, 3>(__VA_ARGS__);           \
            return FN<float, 4>(__VA_ARGS__);                          \
        }                                                              \
        if (dpl_ == 1) return FN<bf16, 1>(__VA_ARGS__);                \
        if (dpl_ == 2) return FN<bf16, 2>(__VA_ARGS__);                \
        if (dpl_ == 3) return FN<bf16, 3>(__VA_ARGS__);                \
        return FN<bf16, 4>(__VA_ARGS__);                               \
    } while (0)

ctcd_status cuda_attention_fwd(ctcd_backend *be, void *out, void *aux, const void *qkv,
                               const int32_t *mask, int B, int T, int NH, int HD, float p,
                               ctcd_dropout_key key) {
    NVTX_OP(be, "attention_fwd");
    CTCD_TRY(check_args(B, T, NH, HD, p));
    if (B == 0 || T == 0 || NH == 0) return CTCD_OK;
    AT_DISPATCH(HD, fwd_launch, be, out, aux, qkv, mask, B, T, NH, HD, p, key);
}

ctcd_status cuda_attention_bwd(ctcd_backend *be, void *dqkv, const void *dout,
                               const void *qkv, const void *aux, const int32_t *mask, int B,
                               int T, int NH, int HD, float p, ctcd_dropout_key key) {
    NVTX_OP(be, "attention_bwd");
    CTCD_TRY(check_args(B, T, NH, HD, p));
    if (B == 0 || T == 0 || NH == 0) return CTCD_OK;
    AT_DISPATCH(HD, bwd_launch, be, dqkv, dout, qkv, aux, mask, B, T, NH, HD, p, key);
}
