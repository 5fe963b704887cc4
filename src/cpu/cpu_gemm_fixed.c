/* cpu_gemm_fixed.c — the GEMM of train.deterministic on the CPU: C = op(A)·op(B) (+ C), every
 * element summed over k in ascending order with fused multiply-adds, in one code path that
 * does not depend on the CPU model or the thread count.
 *
 * Why not OpenBLAS: its DYNAMIC_ARCH build picks a kernel per CPU model (OPENBLAS_CORETYPE:
 * Haswell, SkylakeX, Zen, ...), and each kernel blocks and orders the k-sum differently, so
 * the same seed gave different weights on different machines (issue 27). Here one binary runs
 * one instruction sequence everywhere: AVX2 + FMA (every x86-64 CPU since Haswell / Zen),
 * checked at run time with a clear error where they are missing.
 *
 * Layout: op(A) is M×K with element (i, k) at a[i·ras + k·cas], op(B) is K×N with element
 * (k, j) at b[k·rbs + j·cbs], C is M×N row-major with leading dimension ldc. B is packed in
 * panels of NR = 16 columns (k-major), A in blocks of MR = 6 rows (k-major), both zero-padded
 * at the edges; a 6×16 register tile accumulates over all of k (no k blocking, so each
 * element's sum has one fixed order), then is added to (or stored in) C. Threads split the
 * column panels only, so the result is the same at any thread count. */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"

#define MR 6
#define NR 16

/* A is packed once per call (blocks of MR rows), each thread packs its own B panel. */
static void pack_a(float *dst, const float *a, int64_t M, int K, int64_t ras, int64_t cas) {
    const int64_t blocks = (M + MR - 1) / MR;
#pragma omp parallel for schedule(static)
    for (int64_t blk = 0; blk < blocks; blk++) {
        float *p = dst + blk * MR * (int64_t)K;
        for (int k = 0; k < K; k++)
            for (int r = 0; r < MR; r++) {
                const int64_t i = blk * MR + r;
                p[(int64_t)k * MR + r] = i < M ? a[i * ras + (int64_t)k * cas] : 0.0f;
            }
    }
}

static void pack_b(float *dst, const float *b, int K, int N, int j0, int64_t rbs, int64_t cbs) {
    for (int k = 0; k < K; k++)
        for (int c = 0; c < NR; c++) {
            const int j = j0 + c;
            dst[(int64_t)k * NR + c] = j < N ? b[(int64_t)k * rbs + (int64_t)j * cbs] : 0.0f;
        }
}

/* One MR×NR tile over all of k: acc[r][c] = Σ_k ap[k][r]·bp[k][c], k ascending, one FMA per
 * product. Written to tile[MR][NR]. */
__attribute__((target("avx2,fma"))) static void kernel_6x16(const float *ap, const float *bp,
                                                            int K, float *tile) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int k = 0; k < K; k++) {
        const __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
        __m256 a = _mm256_broadcast_ss(ap + 0);
        c00 = _mm256_fmadd_ps(a, b0, c00), c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(ap + 1);
        c10 = _mm256_fmadd_ps(a, b0, c10), c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(ap + 2);
        c20 = _mm256_fmadd_ps(a, b0, c20), c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(ap + 3);
        c30 = _mm256_fmadd_ps(a, b0, c30), c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(ap + 4);
        c40 = _mm256_fmadd_ps(a, b0, c40), c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(ap + 5);
        c50 = _mm256_fmadd_ps(a, b0, c50), c51 = _mm256_fmadd_ps(a, b1, c51);
        ap += MR;
        bp += NR;
    }
    _mm256_storeu_ps(tile + 0 * NR, c00), _mm256_storeu_ps(tile + 0 * NR + 8, c01);
    _mm256_storeu_ps(tile + 1 * NR, c10), _mm256_storeu_ps(tile + 1 * NR + 8, c11);
    _mm256_storeu_ps(tile + 2 * NR, c20), _mm256_storeu_ps(tile + 2 * NR + 8, c21);
    _mm256_storeu_ps(tile + 3 * NR, c30), _mm256_storeu_ps(tile + 3 * NR + 8, c31);
    _mm256_storeu_ps(tile + 4 * NR, c40), _mm256_storeu_ps(tile + 4 * NR + 8, c41);
    _mm256_storeu_ps(tile + 5 * NR, c50), _mm256_storeu_ps(tile + 5 * NR + 8, c51);
}

/* __builtin_cpu_supports reads what libgcc detected at start-up (no __builtin_cpu_init
 * needed outside constructors): cheap enough for every call. */
static int supported(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

ctcd_status cpu_gemm_fixed(const float *a, int64_t ras, int64_t cas, const float *b,
                           int64_t rbs, int64_t cbs, float *c, int64_t ldc, int64_t M, int K,
                           int N, int accumulate) {
    if (!supported())
        return CTCD_ERR(CTCD_E_UNSUPPORTED, "train.deterministic on the CPU needs AVX2 and FMA "
                        "(x86-64 since Intel Haswell / AMD Zen); this CPU lacks them");
    if (M == 0 || N == 0) return CTCD_OK;
    if (K == 0) {
        if (!accumulate)
            for (int64_t i = 0; i < M; i++) memset(c + i * ldc, 0, (size_t)N * sizeof(float));
        return CTCD_OK;
    }
    const int64_t blocks = (M + MR - 1) / MR;
    float *ap = malloc((size_t)(blocks * MR) * (size_t)K * sizeof(float));
    if (!ap)
        return CTCD_ERR(CTCD_E_NOMEM, "cpu: out of memory packing a %lldx%d GEMM operand",
                        (long long)M, K);
    pack_a(ap, a, M, K, ras, cas);
    const int panels = (N + NR - 1) / NR;
    int failed = 0;
#pragma omp parallel reduction(| : failed)
    {
        float *bp = malloc((size_t)K * NR * sizeof(float));
        if (!bp) failed = 1;
#pragma omp for schedule(static)
        for (int pn = 0; pn < panels; pn++) {
            if (!bp) continue;
            const int j0 = pn * NR, nc = N - j0 < NR ? N - j0 : NR;
            pack_b(bp, b, K, N, j0, rbs, cbs);
            float tile[MR * NR];
            for (int64_t blk = 0; blk < blocks; blk++) {
                kernel_6x16(ap + blk * MR * (int64_t)K, bp, K, tile);
                const int64_t i0 = blk * MR;
                const int mr = M - i0 < MR ? (int)(M - i0) : MR;
                for (int r = 0; r < mr; r++) {
                    float *row = c + (i0 + r) * ldc + j0;
                    if (accumulate)
                        for (int q = 0; q < nc; q++) row[q] += tile[r * NR + q];
                    else
                        for (int q = 0; q < nc; q++) row[q] = tile[r * NR + q];
                }
            }
        }
        free(bp);
    }
    free(ap);
    if (failed) return CTCD_ERR(CTCD_E_NOMEM, "cpu: out of memory packing a GEMM panel");
    return CTCD_OK;
}
