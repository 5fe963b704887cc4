/* attention.cu — fused (flash-style) multi-head attention, forward and backward.
 *
 * One general implementation (attn_fwd / attn_bwd, backend.h's ctcd_attn_shape): Tq queries
 * of q (row stride q_stride) attend to Tk keys / values of k, v (row stride kv_stride), with
 * a key padding mask I32[B,Tk] (NULL = all real; 0 = probability exactly 0) and an optional
 * causal mask (key j visible to query i only if j <= i). out act[B,Tq,NH,HD]. The encoder's
 * self-attention op (fused qkv act[B,T,3,NH,HD]) is the same kernels with q, k, v at
 * offsets 0, A, 2A of each row and strides 3A: its arithmetic is unchanged. Scores are
 * scaled by 1/sqrt(HD). A query row with no visible key outputs zeros, as on the CPU.
 * With causal, key tiles entirely above the diagonal are skipped (they contribute exactly 0).
 *
 * Never materialises B·NH·T·T: the forward streams key tiles with an online softmax and keeps
 * only the logsumexp per query row in aux (F32[B,NH,Tq]; +inf marks a row with no valid key).
 * The backward recomputes P = exp(S − lse) tile by tile in two kernels, each writing its
 * outputs once (no atomics, deterministic):
 *   dq kernel (per query tile): pass 1 D_i = Σ_j P_ij·dP_ij, pass 2 dQ_i = scale·Σ_j dS_ij·k_j
 *   dkv kernel (per key tile):  dV_j = Σ_i P̃_ij·dO_i,  dK_j = scale·Σ_i dS_ij·q_i
 * with dP_ij = keep_ij·(dO_i·v_j)/(1−p), P̃ = P·keep/(1−p), dS = P·(dP − D_i). D lives in the
 * backend scratch between the two kernels.
 *
 * Attention-probability dropout uses the CPU reference's Philox index
 *     ((b·NH + h)·Tq + i)·Tk + j
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

/* Loads rows [r0, r0+32) of one head of a [B, Trows, ·] tensor with row stride `stride`
 * (element d of head h of row t at base[(b·Trows + t)·stride + h·HD + d]) into sh[32][HD+1]
 * as fp32; rows past Trows are zero. */
template <typename T>
__device__ __forceinline__ void load_rows(float *sh, const T *base, int b, int r0, int Trows,
                                          int64_t stride, int h, int HD) {
    const int HDP = HD + 1;
    for (int idx = threadIdx.x; idx < 32 * HD; idx += blockDim.x) {
        const int r = idx / HD, d = idx % HD, t = r0 + r;
        float v = 0.0f;
        if (t < Trows) v = ld(base, ((size_t)b * Trows + t) * (size_t)stride + (size_t)h * HD + d);
        sh[r * HDP + d] = v;
    }
}

/* Kernel arguments shared by the three kernels (passed by value). */
struct AttnDims {
    int Tq, Tk, NH, HD;
    int64_t qs, ks; /* row strides of q and of k / v, in elements */
    int causal;
};

/* Is key kj of batch row b real (in range and not padding)? */
__device__ __forceinline__ bool key_real(const int32_t *mask, int b, int kj, int Tk) {
    return kj < Tk && (mask == nullptr || mask[(size_t)b * Tk + kj] != 0);
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
    attn_fwd_kernel(T *out, float *lse, const T *q, const T *k, const T *v, const int32_t *mask,
                    AttnDims g, float scale, float p, float dscale, ctcd_dropout_key key) {
    CTCD_DYNAMIC_SMEM(float, smem);
    const int HD = g.HD, NH = g.NH, Tq = g.Tq, Tk = g.Tk;
    const int HDP = HD + 1;
    float *Qs = smem, *Ks = Qs + AT_BQ * HDP, *Vs = Ks + AT_BK * HDP, *Ps = Vs + AT_BK * HDP;
    const int q0 = blockIdx.x * AT_BQ, h = blockIdx.y, b = blockIdx.z;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const uint64_t bh = (uint64_t)b * NH + h;
    const int kend = g.causal ? min(Tk, q0 + AT_BQ) : Tk;

    load_rows(Qs, q, b, q0, Tq, g.qs, h, HD);
    float o[AT_RPW][DPL], m[AT_RPW], l[AT_RPW];
#pragma unroll
    for (int i = 0; i < AT_RPW; i++) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
#pragma unroll
        for (int c = 0; c < DPL; c++) o[i][c] = 0.0f;
    }
    for (int k0 = 0; k0 < kend; k0 += AT_BK) {
        __syncthreads(); /* previous tile fully consumed */
        load_rows(Ks, k, b, k0, Tk, g.ks, h, HD);
        load_rows(Vs, v, b, k0, Tk, g.ks, h, HD);
        __syncthreads();
        const int kj = k0 + lane;
        const bool real = key_real(mask, b, kj, Tk);
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
            const bool valid = real && (!g.causal || kj <= qi);
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
            if (p > 0.0f && pe != 0.0f && qi < Tq)
                pd = pe * keep_scale(key, (bh * Tq + qi) * Tk + kj, p, dscale);
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
        if (qi >= Tq) continue;
        const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
#pragma unroll
        for (int c = 0; c < DPL; c++) {
            const int d = lane + 32 * c;
            if (d < HD) st(out, ((size_t)b * Tq + qi) * A + (size_t)h * HD + d, o[i][c] * inv);
        }
        if (lane == 0) lse[bh * Tq + qi] = l[i] > 0.0f ? m[i] + logf(l[i]) : INFINITY;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* dQ for one query tile, and D_i = Σ_j P_ij·dP_ij (saved for the dkv kernel). */
template <typename T, int DPL>
__global__ void __launch_bounds__(32 * AT_WARPS)
    attn_dq_kernel(T *dqo, float *Dout, const T *dout, const T *q, const T *k, const T *v,
                   const float *lse, const int32_t *mask, AttnDims g, float scale, float p,
                   float dscale, ctcd_dropout_key key) {
    CTCD_DYNAMIC_SMEM(float, smem);
    const int HD = g.HD, NH = g.NH, Tq = g.Tq, Tk = g.Tk, A = NH * HD;
    const int HDP = HD + 1;
    float *Qs = smem, *dOs = Qs + AT_BQ * HDP, *Ks = dOs + AT_BQ * HDP, *Vs = Ks + AT_BK * HDP;
    float *dSs = Vs + AT_BK * HDP;
    const int q0 = blockIdx.x * AT_BQ, h = blockIdx.y, b = blockIdx.z;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const uint64_t bh = (uint64_t)b * NH + h;
    const int kend = g.causal ? min(Tk, q0 + AT_BQ) : Tk;
    load_rows(Qs, q, b, q0, Tq, g.qs, h, HD);
    load_rows(dOs, dout, b, q0, Tq, A, h, HD);
    float L[AT_RPW], D[AT_RPW], dq[AT_RPW][DPL];
#pragma unroll
    for (int i = 0; i < AT_RPW; i++) {
        const int qi = q0 + warp * AT_RPW + i;
        L[i] = qi < Tq ? lse[bh * Tq + qi] : INFINITY;
        D[i] = 0.0f;
#pragma unroll
        for (int c = 0; c < DPL; c++) dq[i][c] = 0.0f;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int k0 = 0; k0 < kend; k0 += AT_BK) {
            __syncthreads();
            load_rows(Ks, k, b, k0, Tk, g.ks, h, HD);
            load_rows(Vs, v, b, k0, Tk, g.ks, h, HD);
            __syncthreads();
            const int kj = k0 + lane;
            const bool real = key_real(mask, b, kj, Tk);
            float s[AT_RPW], gv[AT_RPW];
#pragma unroll
            for (int i = 0; i < AT_RPW; i++) s[i] = gv[i] = 0.0f;
            for (int d = 0; d < HD; d++) {
                const float kd = Ks[lane * HDP + d], vd = Vs[lane * HDP + d];
#pragma unroll
                for (int i = 0; i < AT_RPW; i++) {
                    const int r = warp * AT_RPW + i;
                    s[i] += Qs[r * HDP + d] * kd;
                    gv[i] += dOs[r * HDP + d] * vd;
                }
            }
#pragma unroll
            for (int i = 0; i < AT_RPW; i++) {
                const int r = warp * AT_RPW + i, qi = q0 + r;
                const bool valid = real && (!g.causal || kj <= qi);
                const float P = valid && L[i] != INFINITY ? expf(s[i] * scale - L[i]) : 0.0f;
                float ks = 1.0f;
                if (p > 0.0f && P != 0.0f) ks = keep_scale(key, (bh * Tq + qi) * Tk + kj, p, dscale);
                const float dP = ks * gv[i];
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
#pragma unroll
    for (int i = 0; i < AT_RPW; i++) {
        const int qi = q0 + warp * AT_RPW + i;
        if (qi >= Tq) continue;
#pragma unroll
        for (int c = 0; c < DPL; c++) {
            const int d = lane + 32 * c;
            if (d < HD)
                st(dqo, ((size_t)b * Tq + qi) * (size_t)g.qs + (size_t)h * HD + d, dq[i][c] * scale);
        }
        if (lane == 0) Dout[bh * Tq + qi] = D[i];
    }
}

/* ---------------------------------------------------------------------------------------- */
/* dK, dV for one key tile; warps own key rows, lanes index queries of the current q tile. */
template <typename T, int DPL>
__global__ void __launch_bounds__(32 * AT_WARPS)
    attn_dkv_kernel(T *dko, T *dvo, const float *Dq, const T *dout, const T *q, const T *k,
                    const T *v, const float *lse, const int32_t *mask, AttnDims g, float scale,
                    float p, float dscale, ctcd_dropout_key key) {
    CTCD_DYNAMIC_SMEM(float, smem);
    const int HD = g.HD, NH = g.NH, Tq = g.Tq, Tk = g.Tk, A = NH * HD;
    const int HDP = HD + 1;
    float *Ks = smem, *Vs = Ks + AT_BK * HDP, *Qs = Vs + AT_BK * HDP, *dOs = Qs + AT_BQ * HDP;
    float *Pt = dOs + AT_BQ * HDP, *dSt = Pt + AT_BK * (AT_BQ + 1);
    float *Ls = dSt + AT_BK * (AT_BQ + 1), *Ds = Ls + AT_BQ;
    const int k0 = blockIdx.x * AT_BK, h = blockIdx.y, b = blockIdx.z;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const uint64_t bh = (uint64_t)b * NH + h;
    /* Causal: query tiles entirely before this key tile see none of its keys. */
    const int qstart = g.causal ? (k0 / AT_BQ) * AT_BQ : 0;
    load_rows(Ks, k, b, k0, Tk, g.ks, h, HD);
    load_rows(Vs, v, b, k0, Tk, g.ks, h, HD);
    bool kreal[AT_RPW];
    float dk[AT_RPW][DPL], dv[AT_RPW][DPL];
#pragma unroll
    for (int i = 0; i < AT_RPW; i++) {
        const int kj = k0 + warp * AT_RPW + i;
        kreal[i] = key_real(mask, b, kj, Tk);
#pragma unroll
        for (int c = 0; c < DPL; c++) dk[i][c] = dv[i][c] = 0.0f;
    }
    for (int q0 = qstart; q0 < Tq; q0 += AT_BQ) {
        __syncthreads();
        load_rows(Qs, q, b, q0, Tq, g.qs, h, HD);
        load_rows(dOs, dout, b, q0, Tq, A, h, HD);
        if (threadIdx.x < AT_BQ) {
            const int qi = q0 + threadIdx.x;
            Ls[threadIdx.x] = qi < Tq ? lse[bh * Tq + qi] : INFINITY;
            Ds[threadIdx.x] = qi < Tq ? Dq[bh * Tq + qi] : 0.0f;
        }
        __syncthreads();
        const int qi = q0 + lane;
        const float Lq = Ls[lane], Dl = Ds[lane];
        float s[AT_RPW], gv[AT_RPW];
#pragma unroll
        for (int i = 0; i < AT_RPW; i++) s[i] = gv[i] = 0.0f;
        for (int d = 0; d < HD; d++) {
            const float qd = Qs[lane * HDP + d], od = dOs[lane * HDP + d];
#pragma unroll
            for (int i = 0; i < AT_RPW; i++) {
                const int r = warp * AT_RPW + i;
                s[i] += qd * Ks[r * HDP + d];
                gv[i] += od * Vs[r * HDP + d];
            }
        }
#pragma unroll
        for (int i = 0; i < AT_RPW; i++) {
            const int r = warp * AT_RPW + i, kj = k0 + r;
            const bool valid = kreal[i] && (!g.causal || kj <= qi);
            const float P = valid && Lq != INFINITY ? expf(s[i] * scale - Lq) : 0.0f;
            float ks = 1.0f;
            if (p > 0.0f && P != 0.0f) ks = keep_scale(key, (bh * Tq + qi) * Tk + kj, p, dscale);
            Pt[r * (AT_BQ + 1) + lane] = P * ks;
            dSt[r * (AT_BQ + 1) + lane] = P * (ks * gv[i] - Dl);
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
#pragma unroll
    for (int i = 0; i < AT_RPW; i++) {
        const int kj = k0 + warp * AT_RPW + i;
        if (kj >= Tk) continue;
        const size_t row = ((size_t)b * Tk + kj) * (size_t)g.ks + (size_t)h * HD;
#pragma unroll
        for (int c = 0; c < DPL; c++) {
            const int d = lane + 32 * c;
            if (d < HD) {
                st(dko, row + d, dk[i][c] * scale);
                st(dvo, row + d, dv[i][c]);
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
size_t cuda_attn_aux_bytes(ctcd_backend *be, const ctcd_attn_shape *s) {
    (void)be;
    return (size_t)s->B * (size_t)s->NH * (size_t)s->Tq * sizeof(float); /* logsumexp */
}

size_t cuda_attention_aux_bytes(ctcd_backend *be, int B, int T, int NH) {
    const ctcd_attn_shape s = {B, T, T, NH, 1, 3, 3, 0};
    return cuda_attn_aux_bytes(be, &s);
}

static ctcd_status check_args(const ctcd_attn_shape *s, float p) {
    if (!(p >= 0.0f && p < 1.0f))
        return ctcd_error_new(CTCD_E_INVALID, __FILE__, __LINE__,
                              "attention dropout %g not in [0, 1)", (double)p);
    if (s->HD < 1 || s->HD > 128)
        return ctcd_error_new(CTCD_E_UNSUPPORTED, __FILE__, __LINE__,
                              "cuda attention: head dim %d not in [1, 128]", s->HD);
    const int64_t A = (int64_t)s->NH * s->HD;
    if (s->B < 0 || s->Tq < 0 || s->Tk < 0 || s->NH < 0 || s->NH > 65535 || s->B > 65535 ||
        s->q_stride < A || s->kv_stride < A)
        return ctcd_error_new(CTCD_E_INVALID, __FILE__, __LINE__,
                              "cuda attention: bad shape B=%d Tq=%d Tk=%d NH=%d strides %lld/%lld",
                              s->B, s->Tq, s->Tk, s->NH, (long long)s->q_stride,
                              (long long)s->kv_stride);
    if (s->causal && s->Tq != s->Tk)
        return ctcd_error_new(CTCD_E_INVALID, __FILE__, __LINE__,
                              "cuda attention: causal needs Tq == Tk (got %d, %d)", s->Tq, s->Tk);
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

static AttnDims dims_of(const ctcd_attn_shape *s) {
    AttnDims g;
    g.Tq = s->Tq;
    g.Tk = s->Tk;
    g.NH = s->NH;
    g.HD = s->HD;
    g.qs = s->q_stride;
    g.ks = s->kv_stride;
    g.causal = s->causal;
    return g;
}

template <typename T, int DPL>
static ctcd_status fwd_launch(ctcd_backend *be, void *out, void *aux, const void *q,
                              const void *k, const void *v, const int32_t *mask,
                              const ctcd_attn_shape *s, float p, ctcd_dropout_key key) {
    const size_t sm = fwd_smem(s->HD);
    CTCD_TRY(prep_smem(be, attn_fwd_kernel<T, DPL>, sm));
    const float scale = 1.0f / sqrtf((float)s->HD), dscale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
    dim3 grid((unsigned)((s->Tq + AT_BQ - 1) / AT_BQ), (unsigned)s->NH, (unsigned)s->B);
    CTCD_LAUNCH(grid, 32 * AT_WARPS, sm, stream_of(be), attn_fwd_kernel<T, DPL>)(
        (T *)out, (float *)aux, (const T *)q, (const T *)k, (const T *)v, mask, dims_of(s),
        scale, p, dscale, key);
    LAUNCH_CHECK("attention_fwd");
    return CTCD_OK;
}

template <typename T, int DPL>
static ctcd_status bwd_launch(ctcd_backend *be, void *dq, void *dk, void *dv, const void *dout,
                              const void *q, const void *k, const void *v, const void *aux,
                              const int32_t *mask, const ctcd_attn_shape *s, float p,
                              ctcd_dropout_key key) {
    float *D = NULL;
    CTCD_TRY(cuda_scratch(be, (size_t)s->B * s->NH * s->Tq * sizeof(float), (void **)&D));
    const size_t sm1 = dq_smem(s->HD), sm2 = dkv_smem(s->HD);
    CTCD_TRY(prep_smem(be, attn_dq_kernel<T, DPL>, sm1));
    CTCD_TRY(prep_smem(be, attn_dkv_kernel<T, DPL>, sm2));
    const float scale = 1.0f / sqrtf((float)s->HD), dscale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
    const AttnDims g = dims_of(s);
    if (s->Tq > 0) { /* with no queries the dkv kernel alone writes dK = dV = 0 */
        dim3 gq((unsigned)((s->Tq + AT_BQ - 1) / AT_BQ), (unsigned)s->NH, (unsigned)s->B);
        CTCD_LAUNCH(gq, 32 * AT_WARPS, sm1, stream_of(be), attn_dq_kernel<T, DPL>)(
            (T *)dq, D, (const T *)dout, (const T *)q, (const T *)k, (const T *)v,
            (const float *)aux, mask, g, scale, p, dscale, key);
        LAUNCH_CHECK("attention_bwd dq");
    }
    if (s->Tk == 0) return CTCD_OK;
    dim3 gk((unsigned)((s->Tk + AT_BK - 1) / AT_BK), (unsigned)s->NH, (unsigned)s->B);
    CTCD_LAUNCH(gk, 32 * AT_WARPS, sm2, stream_of(be), attn_dkv_kernel<T, DPL>)(
        (T *)dk, (T *)dv, D, (const T *)dout, (const T *)q, (const T *)k, (const T *)v,
        (const float *)aux, mask, g, scale, p, dscale, key);
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

ctcd_status cuda_attn_fwd(ctcd_backend *be, void *out, void *aux, const void *q, const void *k,
                          const void *v, const int32_t *kmask, const ctcd_attn_shape *s,
                          float p, ctcd_dropout_key key) {
    NVTX_OP(be, "attention_fwd");
    CTCD_TRY(check_args(s, p));
    if (s->B == 0 || s->Tq == 0 || s->NH == 0) return CTCD_OK;
    AT_DISPATCH(s->HD, fwd_launch, be, out, aux, q, k, v, kmask, s, p, key);
}

ctcd_status cuda_attn_bwd(ctcd_backend *be, void *dq, void *dk, void *dv, const void *dout,
                          const void *q, const void *k, const void *v, const void *aux,
                          const int32_t *kmask, const ctcd_attn_shape *s, float p,
                          ctcd_dropout_key key) {
    NVTX_OP(be, "attention_bwd");
    CTCD_TRY(check_args(s, p));
    if (s->B == 0 || s->NH == 0 || (s->Tq == 0 && s->Tk == 0)) return CTCD_OK;
    AT_DISPATCH(s->HD, bwd_launch, be, dq, dk, dv, dout, q, k, v, aux, kmask, s, p, key);
}

/* The encoder's fused self-attention: the general kernels on the thirds of each qkv row. */
static ctcd_attn_shape self_shape(int B, int T, int NH, int HD) {
    ctcd_attn_shape s;
    s.B = B;
    s.Tq = s.Tk = T;
    s.NH = NH;
    s.HD = HD;
    s.q_stride = s.kv_stride = 3 * (int64_t)NH * HD;
    s.causal = 0;
    return s;
}

ctcd_status cuda_attention_fwd(ctcd_backend *be, void *out, void *aux, const void *qkv,
                               const int32_t *mask, int B, int T, int NH, int HD, float p,
                               ctcd_dropout_key key) {
    const ctcd_attn_shape s = self_shape(B, T, NH, HD);
    const size_t A = (size_t)NH * HD * ctcd_dtype_size(be->act_dtype);
    const char *base = (const char *)qkv;
    return cuda_attn_fwd(be, out, aux, base, base + A, base + 2 * A, mask, &s, p, key);
}

ctcd_status cuda_attention_bwd(ctcd_backend *be, void *dqkv, const void *dout,
                               const void *qkv, const void *aux, const int32_t *mask, int B,
                               int T, int NH, int HD, float p, ctcd_dropout_key key) {
    const ctcd_attn_shape s = self_shape(B, T, NH, HD);
    const size_t A = (size_t)NH * HD * ctcd_dtype_size(be->act_dtype);
    const char *base = (const char *)qkv;
    char *dbase = (char *)dqkv;
    return cuda_attn_bwd(be, dbase, dbase + A, dbase + 2 * A, dout, base, base + A, base + 2 * A,
                         aux, mask, &s, p, key);
}

/* attn_bwd's D: B·NH·Tq floats, B·Tq rows of the batch. */
size_t cuda_attention_scratch_bound(const ctcd_reserve_hint *h) {
    return (size_t)h->rows * (size_t)h->heads * sizeof(float);
}
