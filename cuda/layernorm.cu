/* layernorm.cu — the LayerNorm family on the device: LayerNorm with fused residual add,
 * residual + dropout + LayerNorm (a post-LN sublayer's output), and embedding gather + sum +
 * LayerNorm + dropout (the embedding block). One forward and one backward kernel serve all
 * three; layernorm_fwd/bwd are the p = 0 case.
 *
 * Forward: one warp per row; the row's input s (dropout(inp) + residual, or the embedding
 * sum) in fp32, written to sum_out in the act dtype when asked; two-pass mean / biased
 * variance in fp32; out = (s−mean)·rstd·γ + β, dropped out afterwards in the embedding case.
 * Backward: one warp per row for ds (written to dres) and dinp = dropout(ds) (written), or
 * with the dropout applied to dout first (embedding case); dγ, dβ accumulate through the
 * deterministic two-stage column sum of colsum.cuh (no atomics, bitwise reproducible).
 *
 * Dropout draws the mask of dropout_kernel (elementwise.cu): element i = row·C + col of the
 * site keeps iff uniform(key, i) >= p, uniform taken from word i % 4 of
 * philox(seed, (i / 4, site)). A lane therefore walks its row in Philox groups of four flat
 * indices (one draw serves the group's elements that fall in the row; a group can straddle
 * two rows when C % 4 != 0, and each row's warp then draws it once), so the mask is bitwise
 * the CPU's, and backward recomputes it instead of storing it. Products with the dropout
 * scale and the residual add use __fmul_rn/__fadd_rn so that fp32 mode gives bitwise the
 * composition of the separate ops for s: no contraction into an FMA. */
#include "colsum.cuh"
#include "cuda_common.cuh"

#define LN_WARPS 8 /* rows per 256-thread block */

/* Calls f(j, keep) for every column j of the row whose first flat index is base, lane by lane
 * in Philox groups of four; keep is the dropout mask bit (always 1 when p == 0). The same lane
 * visits the same columns on every call, so a pass may overwrite what it reads. */
template <typename F>
__device__ __forceinline__ void ln_row_groups(size_t base, int C, int lane, float p,
                                              ctcd_dropout_key key, F f) {
    const size_t g0 = base / 4, g1 = (base + (size_t)C - 1) / 4;
    for (size_t g = g0 + (size_t)lane; g <= g1; g += 32) {
        ctcd_u32x4 r = {{0u, 0u, 0u, 0u}};
        if (p > 0.0f) r = ctcd_philox4x32(key.seed, (uint64_t)g, key.site);
#pragma unroll
        for (int w = 0; w < 4; w++) {
            const size_t i = 4 * g + (size_t)w;
            if (i < base || i >= base + (size_t)C) continue;
            const int keep = p > 0.0f ? ctcd_u32_to_unit(r.v[w]) >= p : 1;
            f((int)(i - base), keep);
        }
    }
}

/* Inverted dropout of one value with its mask bit; the identity when p == 0. */
__device__ __forceinline__ float ln_drop(float x, int keep, float p, float scale) {
    if (!(p > 0.0f)) return x;
    return keep ? __fmul_rn(x, scale) : 0.0f;
}

/* Row input of the sublayer case: s = dropout(inp) + res, exactly as dropout_fwd followed by
 * the residual add of layernorm_fwd compute it. */
template <typename T> struct ln_src_residual {
    const T *inp, *res;
    float p, scale;
    __device__ float operator()(int64_t row, size_t base, int j, int keep) const {
        (void)row;
        const float x = ln_drop(ld(inp, base + j), keep, p, scale);
        return res ? __fadd_rn(x, ld(res, base + j)) : x;
    }
};

/* Row input of the embedding case: s = wte[ids] + wpe[t] + wtt[types] in embedding_fwd's
 * order of additions (t = row % T). */
template <typename T> struct ln_src_embedding {
    const int32_t *ids, *types;
    const T *wte, *wpe, *wtt;
    int T_, H;
    __device__ float operator()(int64_t row, size_t base, int j, int keep) const {
        (void)base;
        (void)keep;
        const float a = ld(wte, (size_t)ids[row] * H + j);
        const float p = ld(wpe, (size_t)(row % T_) * H + j);
        return __fadd_rn(__fadd_rn(a, p), ld(wtt, (size_t)types[row] * H + j));
    }
};

/* The mask (p, key) applies to the input inside src, or to the output when drop_out. */
template <typename T, typename S>
__global__ void ln_fwd_kernel(S src, T *out, T *sum_out, float *mean, float *rstd,
                              const T *gamma, const T *beta, int64_t N, int C, float eps,
                              float p, float scale, int drop_out, ctcd_dropout_key key) {
    const int lane = threadIdx.x & 31;
    const int64_t row = (int64_t)blockIdx.x * LN_WARPS + (threadIdx.x >> 5);
    if (row >= N) return;
    const size_t base = (size_t)row * C;
    float s = 0.0f;
    ln_row_groups(base, C, lane, p, key, [&](int j, int keep) {
        const float v = src(row, base, j, keep);
        if (sum_out) st(sum_out, base + j, v);
        s += v;
    });
    const float m = warp_sum(s) / (float)C;
    float q = 0.0f;
    ln_row_groups(base, C, lane, p, key, [&](int j, int keep) {
        const float d = src(row, base, j, keep) - m;
        q += d * d;
    });
    const float var = warp_sum(q) / (float)C;
    const float rs = 1.0f / sqrtf(var + eps);
    if (lane == 0) {
        mean[row] = m;
        rstd[row] = rs;
    }
    ln_row_groups(base, C, lane, p, key, [&](int j, int keep) {
        const float xh = (src(row, base, j, keep) - m) * rs;
        const float y = xh * ld(gamma, (size_t)j) + ld(beta, (size_t)j);
        st(out, base + j, drop_out ? ln_drop(y, keep, p, scale) : y);
    });
}

/* Checks p and returns the scale 1/(1−p); *p becomes 0 when it is <= 0 (no dropout). */
static ctcd_status ln_dropout_scale(float *p, float *scale) {
    if (!(*p < 1.0f))
        return ctcd_error_new(CTCD_E_INVALID, __FILE__, __LINE__,
                              "dropout probability %g not in [0, 1)", (double)*p);
    if (!(*p > 0.0f)) *p = 0.0f;
    *scale = 1.0f / (1.0f - *p);
    return CTCD_OK;
}

static unsigned ln_grid(int64_t N) { return (unsigned)((N + LN_WARPS - 1) / LN_WARPS); }

ctcd_status cuda_dropout_layernorm_fwd(ctcd_backend *be, void *out, void *sum_out, float *mean,
                                       float *rstd, const void *inp, const void *residual,
                                       const void *gamma, const void *beta, int64_t N, int C,
                                       float eps, float p, ctcd_dropout_key key) {
    NVTX_OP(be, "dropout_layernorm_fwd");
    float scale = 1.0f;
    CTCD_TRY(ln_dropout_scale(&p, &scale));
    if (N <= 0 || C <= 0) return CTCD_OK;
    ACT_DISPATCH(be->act_dtype, T, {
        const ln_src_residual<T> src = {(const T *)inp, (const T *)residual, p, scale};
        CTCD_LAUNCH(ln_grid(N), 32 * LN_WARPS, 0, stream_of(be),
                    ln_fwd_kernel<T, ln_src_residual<T>>)(
            src, (T *)out, (T *)sum_out, mean, rstd, (const T *)gamma, (const T *)beta, N, C,
            eps, p, scale, 0, key);
    });
    LAUNCH_CHECK("dropout_layernorm_fwd");
    return CTCD_OK;
}

ctcd_status cuda_layernorm_fwd(ctcd_backend *be, void *out, void *sum_out, float *mean,
                               float *rstd, const void *inp, const void *residual,
                               const void *gamma, const void *beta, int64_t N, int C,
                               float eps) {
    const ctcd_dropout_key none = {0, 0};
    return cuda_dropout_layernorm_fwd(be, out, sum_out, mean, rstd, inp, residual, gamma, beta,
                                      N, C, eps, 0.0f, none);
}

ctcd_status cuda_embedding_layernorm_fwd(ctcd_backend *be, void *out, void *sum_out,
                                         float *mean, float *rstd, const int32_t *ids,
                                         const int32_t *type_ids, const void *wte,
                                         const void *wpe, const void *wtt, const void *gamma,
                                         const void *beta, int B, int T, int H, float eps,
                                         float p, ctcd_dropout_key key) {
    NVTX_OP(be, "embedding_layernorm_fwd");
    float scale = 1.0f;
    CTCD_TRY(ln_dropout_scale(&p, &scale));
    const int64_t N = (int64_t)B * T;
    if (N <= 0 || H <= 0) return CTCD_OK;
    ACT_DISPATCH(be->act_dtype, T_, {
        const ln_src_embedding<T_> src = {ids, type_ids, (const T_ *)wte, (const T_ *)wpe,
                                          (const T_ *)wtt, T, H};
        CTCD_LAUNCH(ln_grid(N), 32 * LN_WARPS, 0, stream_of(be),
                    ln_fwd_kernel<T_, ln_src_embedding<T_>>)(
            src, (T_ *)out, (T_ *)sum_out, mean, rstd, (const T_ *)gamma, (const T_ *)beta, N,
            H, eps, p, scale, 1, key);
    });
    LAUNCH_CHECK("embedding_layernorm_fwd");
    return CTCD_OK;
}

/* ds = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ, x̂ = (s − mean)·rstd, where dy is dout, or
 * dropout(dout) when drop_in; dres = ds (if not NULL); dinp = ds, or dropout(ds) when
 * !drop_in (if not NULL). */
template <typename T>
__global__ void ln_bwd_kernel(T *dinp, T *dres, const T *dout, const T *s, const float *mean,
                              const float *rstd, const T *gamma, int64_t N, int C, float p,
                              float scale, int drop_in, ctcd_dropout_key key) {
    const int lane = threadIdx.x & 31;
    const int64_t row = (int64_t)blockIdx.x * LN_WARPS + (threadIdx.x >> 5);
    if (row >= N) return;
    const size_t base = (size_t)row * C;
    const float m = mean[row], rs = rstd[row];
    const float p_in = drop_in ? p : 0.0f, p_out = drop_in ? 0.0f : p;
    float sg = 0.0f, sgx = 0.0f;
    ln_row_groups(base, C, lane, p, key, [&](int j, int keep) {
        const float g = ln_drop(ld(dout, base + j), keep, p_in, scale) * ld(gamma, (size_t)j);
        const float xh = (ld(s, base + j) - m) * rs;
        sg += g;
        sgx += g * xh;
    });
    /* warp_sum is a warp-wide exchange: every lane has read its dout before any lane writes
     * below (and each lane writes only what it read), so dinp or dres may alias dout. */
    const float mg = warp_sum(sg) / (float)C, mgx = warp_sum(sgx) / (float)C;
    ln_row_groups(base, C, lane, p, key, [&](int j, int keep) {
        const float g = ln_drop(ld(dout, base + j), keep, p_in, scale) * ld(gamma, (size_t)j);
        const float xh = (ld(s, base + j) - m) * rs;
        const float ds = rs * (g - mg - xh * mgx);
        if (dres) st(dres, base + j, ds);
        if (dinp) st(dinp, base + j, ln_drop(ds, keep, p_out, scale));
    });
}

/* (dy·x̂, dy) for dγ and dβ; dy = dropout(dout) when p > 0 (the embedding case). */
template <typename T> struct ln_param_grads {
    const T *dout, *s;
    const float *mean, *rstd;
    int C;
    float p, scale;
    ctcd_dropout_key key;
    __device__ void operator()(int64_t i, int j, float *v) const {
        const size_t k = (size_t)i * C + j;
        float dy = ld(dout, k);
        if (p > 0.0f) dy = ln_drop(dy, ctcd_dropout_uniform(key, (uint64_t)k) >= p, p, scale);
        v[0] = dy * ((ld(s, k) - mean[i]) * rstd[i]);
        v[1] = dy;
    }
};

/* The shared backward: drop_in says where the mask applies (see ln_bwd_kernel). */
static ctcd_status ln_bwd(ctcd_backend *be, void *dinp, void *dres, float *dgamma, float *dbeta,
                          const void *dout, const void *s, const float *mean, const float *rstd,
                          const void *gamma, int64_t N, int C, float p, int drop_in,
                          ctcd_dropout_key key) {
    float scale = 1.0f;
    CTCD_TRY(ln_dropout_scale(&p, &scale));
    if (N <= 0 || C <= 0) return CTCD_OK;
    ctcd_status st = CTCD_OK;
    ACT_DISPATCH(be->act_dtype, T, {
        /* Parameter gradients first: they read dout, which dinp or dres may alias. */
        if (dgamma || dbeta) {
            const ln_param_grads<T> f = {(const T *)dout, (const T *)s, mean, rstd, C,
                                         drop_in ? p : 0.0f, scale, key};
            st = colsum_run<2>(be, f, dgamma, dbeta, N, C);
            if (st) return st;
        }
        if (dinp || dres) {
            CTCD_LAUNCH(ln_grid(N), 32 * LN_WARPS, 0, stream_of(be), ln_bwd_kernel<T>)(
                (T *)dinp, (T *)dres, (const T *)dout, (const T *)s, mean, rstd,
                (const T *)gamma, N, C, p, scale, drop_in, key);
            LAUNCH_CHECK("layernorm_bwd");
        }
    });
    return st;
}

ctcd_status cuda_dropout_layernorm_bwd(ctcd_backend *be, void *dinp, void *dres, float *dgamma,
                                       float *dbeta, const void *dout, const void *s,
                                       const float *mean, const float *rstd, const void *gamma,
                                       int64_t N, int C, float p, ctcd_dropout_key key) {
    NVTX_OP(be, "dropout_layernorm_bwd");
    return ln_bwd(be, dinp, dres, dgamma, dbeta, dout, s, mean, rstd, gamma, N, C, p, 0, key);
}

ctcd_status cuda_layernorm_bwd(ctcd_backend *be, void *dinp, float *dgamma, float *dbeta,
                               const void *dout, const void *s, const float *mean,
                               const float *rstd, const void *gamma, int64_t N, int C) {
    NVTX_OP(be, "layernorm_bwd");
    const ctcd_dropout_key none = {0, 0};
    return ln_bwd(be, dinp, NULL, dgamma, dbeta, dout, s, mean, rstd, gamma, N, C, 0.0f, 0,
                  none);
}

/* ds = LN backward of dropout(dout) into ds (scratch), then the table gradients from ds
 * through embedding_bwd (sorted, deterministic scatter; embedding.cu). */
ctcd_status cuda_embedding_layernorm_bwd(ctcd_backend *be, float *dwte, float *dwpe,
                                         float *dwtt, float *dgamma, float *dbeta, void *dout,
                                         void *ds, const void *s, const float *mean,
                                         const float *rstd, const void *gamma,
                                         const int32_t *ids, const int32_t *type_ids, int B,
                                         int T, int H, float p, ctcd_dropout_key key) {
    NVTX_OP(be, "embedding_layernorm_bwd");
    const int64_t N = (int64_t)B * T;
    CTCD_TRY(ln_bwd(be, ds, NULL, dgamma, dbeta, dout, s, mean, rstd, gamma, N, H, p, 1, key));
    return cuda_embedding_bwd(be, dwte, dwpe, dwtt, ds, ids, type_ids, B, T, H);
}
