/* test_deterministic_cpu.c — train.deterministic on the CPU gives the same weights whichever
 * kernel set OpenBLAS picks for the CPU (OPENBLAS_CORETYPE stands in for running on another
 * machine: Haswell = AVX2 + FMA kernels, Sandybridge = AVX kernels without FMA; both run on
 * any CPU with AVX2), and without it the same run does not: the check is not vacuous. The
 * fixed-order GEMM itself is checked against OpenBLAS on edge-sized shapes through the op
 * table (forward, both backward products, accumulation, and 1 vs 2 threads bit for bit). */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ctcd/backend_cpu.h"
#include "ctcd/fileio.h"
#include "testutil.h"

static const char *RECIPE =
    "task: builtin:demo\n"
    "data: {max_len: 32, demo: {train_examples: 256, dev_examples: 64}}\n"
    "models:\n"
    "  large: {layers: 2, hidden: 64, heads: 2, intermediate: 256}\n"
    "  small: {layers: 1, hidden: 32, heads: 2, intermediate: 128}\n"
    "train: {max_steps: 6, batch: 16, backend: cpu, log_every: 1}\n"
    "eval: {every: 0, batch: 64}\n";

/* Trains the recipe into <dir>/<name> under OPENBLAS_CORETYPE=core with `threads` OpenMP
 * threads; returns the large model's last checkpoint bytes (*n its length). */
static char *train_threads(const char *dir, const char *recipe, const char *name,
                           const char *core, int deterministic, int threads, size_t *n) {
    char out[4096], set_out[4200], set_det[64], log[4200];
    snprintf(out, sizeof out, "%s/%s", dir, name);
    snprintf(set_out, sizeof set_out, "output=%s", out);
    snprintf(set_det, sizeof set_det, "train.deterministic=%s", deterministic ? "true" : "false");
    snprintf(log, sizeof log, "%s.out", out);
    char *argv[] = {"ctcd", "train", (char *)recipe, "--set", set_out, "--set", set_det,
                    "--force", "--quiet", NULL};
    char core_env[64];
    snprintf(core_env, sizeof core_env, "OPENBLAS_CORETYPE=%s", core);
    char threads_env[32];
    snprintf(threads_env, sizeof threads_env, "OMP_NUM_THREADS=%d", threads);
    const char *env[] = {core_env, threads_env, NULL};
    const pid_t pid = ctcd_test_spawn_cli(argv, log, env);
    cr_assert_gt(pid, 0, "cannot start ctcd");
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    char *text = ctcd_test_read_file(log);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s failed:\n%s", name,
              text ? text : "");
    free(text);
    /* the run records the kernel set OpenBLAS chose, so the override did take effect */
    snprintf(log, sizeof log, "%s/log.jsonl", out);
    text = ctcd_test_read_file(log);
    cr_assert_not_null(text, "no %s", log);
    char want[96];
    snprintf(want, sizeof want, "\"openblas_core\":\"%s\"", core);
    cr_assert_not_null(strstr(text, want), "%s does not record %s:\n%.600s", log, want, text);
    free(text);
    char path[4200];
    snprintf(path, sizeof path, "%s/large/last/model.safetensors", out);
    char *buf = NULL;
    ctcd_status st = ctcd_read_small_file(path, SIZE_MAX, &buf, n);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    return buf;
}

static char *train(const char *dir, const char *recipe, const char *name, const char *core,
                   int deterministic, size_t *n) {
    return train_threads(dir, recipe, name, core, deterministic, 2, n);
}

/* The CPU backend is the reference: a run gives the same weights at 1 and 2 OpenMP threads,
 * with OpenBLAS (each GEMM cut into row blocks by shape, one sgemm per block, blocks shared
 * by the threads) and with the fixed-order GEMM, dropout on (attention and hidden). */
Test(deterministic_cpu, same_weights_at_one_and_two_threads, .timeout = 600) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        cr_skip_test("this CPU has no AVX2 + FMA (the runs pin OpenBLAS to its Haswell kernels)");
    char *dir = ctcd_test_tmpdir();
    char recipe[4096];
    snprintf(recipe, sizeof recipe, "%s/tiny.yaml", dir);
    cr_assert_eq(ctcd_test_write_file(recipe, RECIPE), 0);
    for (int det = 0; det <= 1; det++) {
        size_t n1, n2;
        char *one = train_threads(dir, recipe, det ? "det-1" : "blas-1", "Haswell", det, 1, &n1);
        char *two = train_threads(dir, recipe, det ? "det-2" : "blas-2", "Haswell", det, 2, &n2);
        cr_assert(n1 == n2 && memcmp(one, two, n1) == 0,
                  "%s: 1 and 2 OpenMP threads gave different weights",
                  det ? "train.deterministic" : "OpenBLAS GEMMs");
        free(one), free(two);
    }
    ctcd_test_rmtree(dir);
    free(dir);
}

Test(deterministic_cpu, same_weights_under_every_openblas_core, .timeout = 600) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        cr_skip_test("this CPU has no AVX2 + FMA: train.deterministic is refused here");
    char *dir = ctcd_test_tmpdir();
    char recipe[4096];
    snprintf(recipe, sizeof recipe, "%s/tiny.yaml", dir);
    cr_assert_eq(ctcd_test_write_file(recipe, RECIPE), 0);
    size_t n[4];
    char *det_h = train(dir, recipe, "det-haswell", "Haswell", 1, &n[0]);
    char *det_s = train(dir, recipe, "det-sandybridge", "Sandybridge", 1, &n[1]);
    char *off_h = train(dir, recipe, "off-haswell", "Haswell", 0, &n[2]);
    char *off_s = train(dir, recipe, "off-sandybridge", "Sandybridge", 0, &n[3]);
    cr_assert(n[0] == n[1] && memcmp(det_h, det_s, n[0]) == 0,
              "train.deterministic: the weights depend on OpenBLAS's kernel set");
    cr_assert(n[2] == n[3] && memcmp(off_h, off_s, n[2]) != 0,
              "without train.deterministic the two kernel sets gave identical weights: this "
              "test would not notice a broken deterministic mode");
    free(det_h), free(det_s), free(off_h), free(off_s);
    ctcd_test_rmtree(dir);
    free(dir);
}

/* max |a - b| / (1 + |b|) over n */
static double max_rel(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)a[i] - b[i]) / (1.0 + fabs((double)b[i]));
        if (d > m) m = d;
    }
    return m;
}

Test(deterministic_cpu, fixed_order_gemm_matches_openblas_on_edge_shapes) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        cr_skip_test("this CPU has no AVX2 + FMA: the fixed-order GEMM is refused here");
    ctcd_backend *be = NULL;
    cr_assert_null(ctcd_backend_cpu_create(&be));
    /* M, K, N around the 6x16 register tile: remainders in every dimension */
    static const int shapes[][3] = {{1, 1, 1}, {5, 7, 15}, {6, 16, 16}, {13, 33, 17},
                                    {64, 128, 96}, {37, 200, 50}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
        float *inp = malloc(sizeof(float) * M * K), *w = malloc(sizeof(float) * N * K);
        float *dout = malloc(sizeof(float) * M * N), *bias = malloc(sizeof(float) * N);
        float *out[2], *dinp[2], *dw[2], *db[2];
        ctcd_test_fill_uniform(inp, (int64_t)M * K, -1, 1, 1 + s);
        ctcd_test_fill_uniform(w, (int64_t)N * K, -1, 1, 100 + s);
        ctcd_test_fill_uniform(dout, (int64_t)M * N, -1, 1, 200 + s);
        ctcd_test_fill_uniform(bias, N, -1, 1, 300 + s);
        for (int det = 0; det < 2; det++) {
            be->deterministic = det;
            out[det] = malloc(sizeof(float) * M * N);
            dinp[det] = malloc(sizeof(float) * M * K);
            dw[det] = malloc(sizeof(float) * N * K);
            db[det] = calloc((size_t)N, sizeof(float));
            ctcd_test_fill_uniform(dinp[det], (int64_t)M * K, -1, 1, 400 + s); /* accumulated */
            ctcd_test_fill_uniform(dw[det], (int64_t)N * K, -1, 1, 500 + s);   /* accumulated */
            cr_assert_null(be->matmul_fwd(be, out[det], NULL, inp, w, bias, M, K, N,
                                          CTCD_ACT_NONE));
            cr_assert_null(be->matmul_bwd(be, dinp[det], dw[det], db[det], dout, inp, w, M, K,
                                          N, 1));
        }
        cr_assert_lt(max_rel(out[1], out[0], (size_t)M * N), 1e-5, "out %dx%dx%d", M, K, N);
        cr_assert_lt(max_rel(dinp[1], dinp[0], (size_t)M * K), 1e-5, "dinp %dx%dx%d", M, K, N);
        cr_assert_lt(max_rel(dw[1], dw[0], (size_t)N * K), 1e-5, "dw %dx%dx%d", M, K, N);
        /* the same call at 1 thread: bit for bit */
        be->deterministic = 1;
        float *out1 = malloc(sizeof(float) * M * N);
        const int threads = omp_get_max_threads();
        omp_set_num_threads(1);
        cr_assert_null(be->matmul_fwd(be, out1, NULL, inp, w, bias, M, K, N, CTCD_ACT_NONE));
        omp_set_num_threads(threads);
        cr_assert(memcmp(out1, out[1], sizeof(float) * M * N) == 0,
                  "%dx%dx%d: 1 thread differs from %d", M, K, N, threads);
        free(out1);
        for (int det = 0; det < 2; det++) free(out[det]), free(dinp[det]), free(dw[det]), free(db[det]);
        free(inp), free(w), free(dout), free(bias);
    }
    be->destroy(be);
}
