/* cpu_matmul.c — linear layers on the CPU: out = act(inp·wᵀ + b) with OpenBLAS sgemm (or,
 * with train.deterministic, the fixed-order GEMM of cpu_gemm_fixed.c) and the bias/GELU
 * epilogue applied per row; backward gives dinp, dw (+=), dbias (+=).
 *
 * OpenBLAS runs single-threaded (cpu_backend.c: its own thread pool fought OpenMP's), so the
 * OpenMP threads share each GEMM instead: the output's rows are cut into blocks whose size
 * depends on the shape only (never on the thread count) and each block is one sgemm call,
 * so the result is the same at any thread count (tests/test_deterministic_cpu.c). It is not
 * bitwise the result of one sgemm over all rows: OpenBLAS's summation order depends on the
 * extents of the call (measured: most elements differ in the last bits), so runs made before
 * this blocking (commit 637c1b7 and earlier) do not reproduce bit for bit without
 * train.deterministic, whose GEMM is unchanged. */
#include <cblas.h>
#include <limits.h>

#include "cpu_ops.h"
#include "cpu_math.h"

#define DBIAS_COLS 64

/* Rows per block: up to 16 blocks, each at least 64 rows and a multiple of 16. */
static int64_t gemm_block_rows(int64_t rows) {
    int64_t r = (rows + 15) / 16;
    r = (r + 15) / 16 * 16;
    return r < 64 ? 64 : r;
}

/* C (rows×n, ldc) = op(A)·op(B) + beta·C in row blocks; op(A)'s row i starts at
 * a + i·a_row (a_row = lda without transpose, 1 with). */
static void sgemm_rows(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t rows, int n, int k,
                       const float *a, int lda, int64_t a_row, const float *b, int ldb,
                       float beta, float *c, int ldc) {
    const int64_t br = gemm_block_rows(rows), blocks = (rows + br - 1) / br;
#pragma omp parallel for schedule(dynamic, 1) if (blocks > 1)
    for (int64_t blk = 0; blk < blocks; blk++) {
        const int64_t i0 = blk * br, m = rows - i0 < br ? rows - i0 : br;
        cblas_sgemm(CblasRowMajor, ta, tb, (int)m, n, k, 1.0f, a + i0 * a_row, lda, b, ldb,
                    beta, c + i0 * ldc, ldc);
    }
}

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
        sgemm_rows(CblasNoTrans, CblasTrans, M, N, K, inp, K, K, w, K, 0.0f, out, N);
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
        sgemm_rows(CblasNoTrans, CblasNoTrans, M, K, N, dout, N, N, w, K,
                   accumulate_dinp ? 1.0f : 0.0f, dinp, K);
    if (dw && be->deterministic)
        CTCD_TRY(cpu_gemm_fixed(dout, 1, N, inp, K, 1, dw, K, N, (int)M, K, 1));
    else if (dw)
        sgemm_rows(CblasTrans, CblasNoTrans, N, K, (int)M, dout, N, 1, inp, K, 1.0f, dw, K);
    if (dbias) {
        /* Column sums, each over rows in ascending order (so the result does not depend on
         * the thread count), DBIAS_COLS columns at a time walking the rows: dout is read
         * row-wise instead of one strided column at a time. */
        const int chunks = (N + DBIAS_COLS - 1) / DBIAS_COLS;
#pragma omp parallel for schedule(static)
        for (int ch = 0; ch < chunks; ch++) {
            const int j0 = ch * DBIAS_COLS, nc = N - j0 < DBIAS_COLS ? N - j0 : DBIAS_COLS;
            float acc[DBIAS_COLS] = {0};
            for (int64_t i = 0; i < M; i++) {
                const float *row = dout + i * N + j0;
                for (int c = 0; c < nc; c++) acc[c] += row[c];
            }
            for (int c = 0; c < nc; c++) dbias[j0 + c] += acc[c];
        }
    }
    return CTCD_OK;
}
