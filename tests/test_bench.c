/* test_bench.c — the benchmark tools on the CPU backend (their numbers need a GPU; their
 * plumbing does not): `ctcd bench step` with a tiny pair prints every JSON field with
 * consistent values, for the classification and the masked-LM head; the kernel
 * microbenchmarks run every op family at tiny sizes; the FLOP formula and the peak table
 * give the stated values. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/bench.h"
#include "testutil.h"

/* The first output line that parses as a JSON object with "bench": "step". */
static cJSON *first_step_line(const char *out) {
    for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (*p != '{') continue;
        cJSON *j = cJSON_ParseWithOpts(p, NULL, 0);
        if (j && cJSON_IsString(cJSON_GetObjectItem(j, "bench")) &&
            !strcmp(cJSON_GetObjectItem(j, "bench")->valuestring, "step"))
            return j;
        cJSON_Delete(j);
    }
    return NULL;
}

static double num(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(j, key);
    cr_assert(cJSON_IsNumber(v), "field %s missing or not a number", key);
    return v->valuedouble;
}

static const char *str(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(j, key);
    cr_assert(cJSON_IsString(v), "field %s missing or not a string", key);
    return v->valuestring;
}

/* Runs the tiny pair and checks the fields every configuration line carries; mean_T is the
 * mean padded length of the timed steps' batches (T for full-length batches). */
static cJSON *run_tiny_len(const char *extra, int T, int B, double mean_T) {
    char args[512], *out = NULL;
    snprintf(args, sizeof args,
             "bench step --backend cpu --pairs tiny --seq %d --batch %d --steps 2 --warmup 1 "
             "--json --vocab 2048 %s",
             T, B, extra);
    int rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "ctcd %s: exit %d: %s", args, rc, out);
    cJSON *j = first_step_line(out);
    cr_assert_not_null(j, "no step JSON line in: %s", out);
    free(out);
    cr_expect_str_eq(str(j, "impl"), "ctcd");
    cr_expect_str_eq(str(j, "backend"), "cpu");
    cr_expect_str_eq(str(j, "pair"), "tiny");
    cr_expect_str_eq(str(j, "large"), "2L/64H/2A/256I");
    cr_expect_str_eq(str(j, "small"), "1L/32H/2A/128I");
    cr_expect_eq(num(j, "seq"), T);
    cr_expect_eq(num(j, "batch"), B);
    cr_expect_eq(num(j, "steps"), 2);
    const double ms = num(j, "step_ms"), eps = num(j, "examples_per_s");
    cr_expect_gt(ms, 0);
    cr_expect(num(j, "step_ms_min") <= num(j, "step_ms_median"), "min above median");
    cr_expect(fabs(eps - B / (ms * 1e-3)) < 0.01 * eps + 0.01, "examples/s %g vs %g ms", eps, ms);
    cr_expect(fabs(num(j, "tokens_per_s") - eps * mean_T) < 0.01 * eps * mean_T + 1,
              "tokens/s %g, want %g", num(j, "tokens_per_s"), eps * mean_T);
    cr_expect_gt(num(j, "model_flops_per_step"), 0);
    cr_expect_gt(num(j, "params_large"), num(j, "params_small"));
    cr_expect_gt(num(j, "mem_large_bytes"), num(j, "act_large_bytes"));
    cr_expect_gt(num(j, "act_small_bytes"), 0);
    cr_expect_eq(num(j, "mem_total_bytes"), num(j, "mem_large_bytes") + num(j, "mem_small_bytes"));
    cr_expect(isfinite(num(j, "loss_large")) && isfinite(num(j, "loss_small")), "losses");
    return j;
}

static cJSON *run_tiny(const char *extra, int T, int B) { return run_tiny_len(extra, T, B, T); }

Test(bench, step_tiny_pair_prints_consistent_json, .timeout = 60) {
    cJSON *j = run_tiny("", 32, 4);
    cr_expect_str_eq(str(j, "head"), "cls");
    cr_expect_eq(num(j, "head_rows"), 4);
    cr_expect(cJSON_IsNull(cJSON_GetObjectItem(j, "mfu")), "mfu must be null without a peak");
    /* the FLOPs printed are the formula's, for both models */
    ctcd_bert_config L, S;
    cr_assert_eq(ctcd_bert_config_init(&L, "l", 2, 64, 2, 256, 2048, 512, 2, 2), CTCD_OK);
    cr_assert_eq(ctcd_bert_config_init(&S, "s", 1, 32, 2, 128, 2048, 512, 2, 2), CTCD_OK);
    const double want = ctcd_bert_train_flops(&L, 4, 32, 4) + ctcd_bert_train_flops(&S, 4, 32, 4);
    cr_expect(fabs(num(j, "model_flops_per_step") - want) < 1e-4 * want, "flops %g, want %g",
              num(j, "model_flops_per_step"), want);
    cJSON_Delete(j);
}

Test(bench, step_tiny_pair_mlm_runs_on_masked_rows, .timeout = 60) {
    cJSON *j = run_tiny("--mlm --peak-tflops 1", 32, 4);
    cr_expect_str_eq(str(j, "head"), "mlm");
    cr_expect_eq(num(j, "head_rows"), 4 * 5, "15%% of 32 tokens = 5 masked rows per sequence");
    cr_expect_gt(num(j, "mfu"), 0);
    cJSON_Delete(j);
}

/* --lengths ragged: timed steps 1 and 2 (after one warm-up) use the profile's batches 1 and 2,
 * padded to 24 and 12 tokens, rows r = 0..3 (r % 8) tokens shorter; masked rows per sequence
 * lround(0.15·len): 4+3+3+3 = 13 and 2+2+2+1 = 7. The same profile as reference_cpu.py. */
Test(bench, step_ragged_lengths_follow_the_profile, .timeout = 60) {
    cr_expect_eq(ctcd_bench_ragged_len(1, 32), 24);
    cr_expect_eq(ctcd_bench_ragged_len(2, 32), 12);
    cr_expect_eq(ctcd_bench_ragged_len(7, 32), 32, "capped at --seq");
    cr_expect_eq(ctcd_bench_ragged_row(24, 3), 21);
    cr_expect_eq(ctcd_bench_ragged_row(12, 9), 11);
    cr_expect_eq(ctcd_bench_ragged_row(3, 7), 2);
    cJSON *j = run_tiny_len("--lengths ragged", 32, 4, (24 + 12) / 2.0);
    cr_expect_str_eq(str(j, "lengths"), "ragged");
    cr_expect_eq(num(j, "head_rows"), 4);
    ctcd_bert_config L, S;
    cr_assert_eq(ctcd_bert_config_init(&L, "l", 2, 64, 2, 256, 2048, 512, 2, 2), CTCD_OK);
    cr_assert_eq(ctcd_bert_config_init(&S, "s", 1, 32, 2, 128, 2048, 512, 2, 2), CTCD_OK);
    const double want = (ctcd_bert_train_flops(&L, 4, 24, 4) + ctcd_bert_train_flops(&S, 4, 24, 4) +
                         ctcd_bert_train_flops(&L, 4, 12, 4) + ctcd_bert_train_flops(&S, 4, 12, 4)) / 2;
    cr_expect(fabs(num(j, "model_flops_per_step") - want) < 1e-4 * want, "flops %g, want %g",
              num(j, "model_flops_per_step"), want);
    cJSON_Delete(j);
    j = run_tiny_len("--mlm --lengths ragged", 32, 4, (24 + 12) / 2.0);
    cr_expect_eq(num(j, "head_rows"), (13 + 7) / 2);
    cJSON_Delete(j);
    char *out = NULL;
    const int rc = ctcd_test_run_cli("bench step --backend cpu --pairs tiny --lengths short", &out);
    cr_expect_eq(rc, 2, "--lengths short: exit %d: %s", rc, out);
    free(out);
}

Test(bench, step_rejects_unknown_pair) {
    char *out = NULL;
    int rc = ctcd_test_run_cli("bench step --backend cpu --pairs huge", &out);
    cr_expect_neq(rc, 0);
    cr_expect_not_null(strstr(out, "unknown pair 'huge'"), "output: %s", out);
    free(out);
}

Test(bench, flops_formula_bert_base) {
    ctcd_bert_config c;
    cr_assert_eq(ctcd_bert_config_init(&c, "base", 12, 768, 12, 3072, 30522, 512, 2, 2), CTCD_OK);
    /* per layer 2·N·(4·768² + 2·768·3072) + 4·N·T·768 with N = T = 128; head 2·768² + 2·768·2 */
    const double N = 128, layer = 2 * N * (4.0 * 768 * 768 + 2.0 * 768 * 3072) + 4 * N * 128 * 768;
    const double fwd = 12 * layer + 2.0 * 768 * 768 + 2.0 * 768 * 2;
    cr_expect_eq(ctcd_bert_forward_flops(&c, 1, 128, 1), fwd);
    cr_expect_eq(ctcd_bert_train_flops(&c, 1, 128, 1), 3 * fwd);
}

Test(bench, peaks_follow_the_device_name) {
    ctcd_peaks p;
    ctcd_peaks_for_device("NVIDIA H200", 0, 0, &p);
    cr_expect(p.tflops == 989 && p.gbps == 4800, "H200: %g %g", p.tflops, p.gbps);
    ctcd_peaks_for_device("NVIDIA H100 80GB HBM3", 0, 0, &p);
    cr_expect(p.tflops == 989 && p.gbps == 3350, "H100 SXM: %g %g", p.tflops, p.gbps);
    ctcd_peaks_for_device("NVIDIA H100 PCIe", 0, 0, &p);
    cr_expect(p.gbps == 2000, "H100 PCIe: %g", p.gbps);
    ctcd_peaks_for_device("cpu", 0, 0, &p);
    cr_expect(p.tflops == 0 && p.gbps == 0, "cpu has no peak");
    ctcd_peaks_for_device("NVIDIA H200", 500, 0, &p);
    cr_expect(p.tflops == 500 && p.gbps == 4800 && strstr(p.source, "option"), "override");
}

/* build/benchmarks/kernels beside build/ctcd */
static void kernels_path(char *buf, size_t cap) {
    snprintf(buf, cap, "%s", CTCD_CLI_PATH);
    char *slash = strrchr(buf, '/');
    snprintf(slash ? slash + 1 : buf, cap - (size_t)(slash ? slash + 1 - buf : 0),
             "benchmarks/kernels");
}

Test(bench, kernels_cpu_tiny_covers_every_op_family, .timeout = 120) {
    char exe[4096], cmd[4200];
    kernels_path(exe, sizeof exe);
    FILE *f = fopen(exe, "r");
    if (!f) cr_skip_test("%s not built", exe);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "'%s' --backend cpu --size tiny --samples 2 --target-ms 0.1 --warmup 1", exe);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    const char *ops[] = {"copy", "matmul_fwd", "matmul_bwd", "layernorm_fwd", "layernorm_bwd",
                         "gelu_fwd", "gelu_bwd", "dropout_fwd", "dropout_bwd", "attention_fwd",
                         "attention_bwd", "embedding_fwd", "embedding_bwd", "loss",
                         "grad_sumsq", "adamw", "optimizer"};
    enum { NOPS = sizeof ops / sizeof ops[0] };
    int seen[NOPS] = {0}, done = 0, compares = 0;
    char line[4096];
    while (fgets(line, sizeof line, p)) {
        cJSON *j = cJSON_Parse(line);
        cr_assert_not_null(j, "not JSON: %s", line);
        const cJSON *op = cJSON_GetObjectItem(j, "op"), *ev = cJSON_GetObjectItem(j, "event");
        cr_expect_null(cJSON_GetObjectItem(j, "error"), "error line: %s", line);
        if (cJSON_IsString(op)) {
            cr_expect_gt(num(j, "us"), 0, "%s", line);
            for (int i = 0; i < NOPS; i++) seen[i] |= !strcmp(op->valuestring, ops[i]);
            compares += cJSON_GetObjectItem(j, "compare")->valuestring[0] != '\0';
        } else if (cJSON_IsString(ev) && !strcmp(ev->valuestring, "done")) {
            done = 1;
            cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(j, "failed")), "failed: %s", line);
        }
        cJSON_Delete(j);
    }
    cr_expect_eq(pclose(p), 0, "kernels exited with an error");
    cr_expect(done, "no done line");
    for (int i = 0; i < NOPS; i++) cr_expect(seen[i], "no measurement of %s", ops[i]);
    cr_expect_geq(compares, 4, "the unfused comparisons (GEMM+GELU, add+LN, loss x2)");
}
