/* test_cuda_search.c — KD-NAS latency through the CUDA backend (search.latency.backend:
 * cuda): a per-layer candidate's forward latency measured on the GPU is positive, cached
 * under the GPU's device name next to the CPU's entry, and a repeat is a cache hit; a demo
 * search with the latency on CUDA records the GPU as the candidates' device. Skips with a
 * message without a CUDA build or device. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/search.h"
#include "cuda_check.h"
#include "testutil.h"

static void expect_ok(ctcd_status st) {
    cr_assert(!st, "unexpected error: %s", ctcd_status_message(st));
}

Test(cuda_search, per_layer_latency_on_gpu_is_measured_and_cached_per_device, .timeout = 300) {
    ck_env e;
    ck_open(&e, "bf16");
    const ctcd_latency_opts o = {.B = 2, .T = 64, .reps = 5, .warmup = 2, .vocab = 1000,
                                 .n_labels = 2, .seed = 3};
    const ctcd_arch a = {.v = {2, 128, 4, 512}, .layer_heads = {4, 2},
                         .layer_inter = {512, 256}};
    ctcd_latency_cache c;
    expect_ok(ctcd_latency_cache_open(&c, NULL));
    double gpu_ms, cpu_ms, again;
    int measured;
    expect_ok(ctcd_latency_get(&c, e.gpu, &a, &o, &gpu_ms, &measured));
    cr_assert(measured && gpu_ms > 0, "GPU latency %g ms", gpu_ms);
    expect_ok(ctcd_latency_get(&c, e.cpu, &a, &o, &cpu_ms, &measured));
    cr_assert(measured && cpu_ms > 0 && c.n == 2, "the CPU hit the GPU's entry");
    cr_assert_str_neq(c.e[0].device, c.e[1].device);
    expect_ok(ctcd_latency_get(&c, e.gpu, &a, &o, &again, &measured));
    cr_assert(!measured && again == gpu_ms);
    fprintf(stderr, "per-layer L2-H128 latency B=2 T=64: GPU %.3f ms, CPU %.3f ms\n", gpu_ms,
            cpu_ms);
    ctcd_latency_cache_close(&c);
    ck_close(&e);
}

static const char *RECIPE = CTCD_TEST_EXTENDS("tiny-search-pair.yaml")
    "train: {max_steps: 4}\n"
    "search:\n"
    "  layers: {min: 1, max: 2, step: 1}\n"
    "  hidden: {min: 16, max: 48, step: 16}\n"
    "  heads: {min: 1, max: 2, step: 1}\n"
    "  intermediate: {min: 32, max: 96, step: 32}\n"
    "  per_layer: true\n"
    "  episodes: 1\n"
    "  proposals: 3\n"
    "  top_k: 1\n"
    "  proxy_examples: 64\n"
    "  latency: {batch: 1, seq: 16, reps: 3, warmup: 1, backend: cuda}\n";

Test(cuda_search, demo_search_with_cuda_latency_records_the_gpu, .timeout = 600) {
    ck_env e;
    ck_open(&e, "bf16"); /* skips without a GPU */
    ck_close(&e);
    char *tmp = ctcd_test_tmpdir();
    char path[1024], args[2048];
    snprintf(path, sizeof path, "%s/search.yaml", tmp);
    cr_assert_eq(ctcd_test_write_file(path, RECIPE), 0);
    snprintf(args, sizeof args, "search '%s' --set output='%s/s'", path, tmp);
    char *out = NULL;
    const int rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "ctcd %s failed:\n%s", args, out);
    free(out);
    snprintf(path, sizeof path, "%s/s/candidates.jsonl", tmp);
    char *t = ctcd_test_read_file(path);
    cr_assert(t && *t, "%s missing", path);
    cr_assert(!strstr(t, "\"device\":\"cpu\""), "latency measured on the CPU:\n%s", t);
    free(t);
    ctcd_test_rmtree(tmp);
    free(tmp);
}
