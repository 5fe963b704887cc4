/* cpu_matmul.c — linear layers on the CPU: out = act(inp·wᵀ + b) with OpenBLAS sgemm (or,
 * with train.deterministic, the fixed-order GEMM of cpu_gemm_fixed.c) and the bias/GELU
 * epilogue applied per row; backward gives dinp, dw (+=), dbias (+=). */
#include <cblas.h>
#include <limits.h>

#include "cpu_ops.h"
#include "cpu_math.h"

ctcd_status cpu_matmul_fwd(ctcd_backend *be, void *out_, void *pre_, const void *inp_,
                           const void *w_, const void *bias_, int64_t M, int K, int N,
                           ctcd_act act) {
    float *out = out_;          /* (M, N) */
    float *pre = pre_;          /* (M, N) or NULL */
    const float *inp = inp_;    /* (M, K) */
    const float *w = w_;        /* (N, K) */
    const float *bias = bias_;  /* (N) or NULL */
    CTCD_ASSERT(M <= INT_MAX, "matmul rows %lld exceed BLAS int", (long long)M);
    if (M == 0) return CTCD_OK;
    if (be->deterministic)
        CTCD_TRY(cpu_gemm_fixed(inp, K, 1, w, 1, K, out, N, M, K, N, 0));
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, N, K, 1.0f, inp, K, w, K,
                    0.0f, out, N);
    if (!bias && act == CTCD_ACT_NONE) return CTCD_OK;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < M; i++) {
        float *row = out + i * N;
        if (bias)
            for (int j = 0; j < N; j++) row[j] += bias[j];
        if (act == CTCD_ACT_GELU) {
            if (pre)
                for (int j = 0; j < N; j++) pre[i * N + j] = row[j];
            for (int j = 0; j < N; j++) row[j] = cpu_gelu(row[j]);
        }
    }
    return CTCD_OK;
}

ctcd_status cpu_matmul_bwd(ctcd_backend *be, void *dinp_, float *dw, float *dbias,
                           const void *dout_, const void *inp_, const void *w_, int64_t M, int K,
                           int N, int accumulate_dinp) {
    float *dinp = dinp_;        /* (M, K) or NULL */
    const float *dout = dout_;  /* (M, N) */
    const float *inp = inp_;    /* (M, K) */
    const float *w = w_;        /* (N, K) */
    CTCD_ASSERT(M <= INT_MAX, "matmul rows %lld exceed BLAS int", (long long)M);
    if (M == 0) return CTCD_OK;
    if (dinp && be->deterministic)
        CTCD_TRY(cpu_gemm_fixed(dout, N, 1, w, K, 1, dinp, K, M, N, K, accumulate_dinp));
    else if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, K, N, 1.0f, dout, N, w, K,
                    accumulate_dinp ? 1.0f : 0.0f, dinp, K);
    if (dw && be->deterministic)
        CTCD_TRY(cpu_gemm_fixed(dout, 1, N, inp, K, 1, dw, K, N, (int)M, K, 1));
    else if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, K, (int)M, 1.0f, dout, N, inp, K,
                    1.0f, dw, K);
    if (dbias) {
        /* Column sums; each column is summed over rows in order, so results do not depend
         * on the thread count. */
#pragma omp parallel for schedule(static)
        for (int j = 0; j < N; j++) {
            float s = 0.0f;
            for (int64_t i = 0; i < M; i++) s += dout[i * N + j];
            dbias[j] += s;
        }
    }
    return CTCD_OK;
}
