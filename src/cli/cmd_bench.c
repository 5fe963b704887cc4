/* cmd_bench.c — `ctcd bench step`: examples/s, tokens/s and MFU of the full lockstep
 * co-training step (both forwards, the fused loss, both backwards, clip + AdamW of both) on
 * synthetic full-length batches, for stated model pairs and shapes. One JSON line per
 * (pair, seq, batch) with --json; benchmarks/reference_step.py prints the same fields for
 * PyTorch. MFU = model FLOPs of both models (ctcd_bert_train_flops, formula in
 * src/train/bench_flops.c) / step time / the device's dense bf16 peak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctcd/bench.h"
#include "ctcd/log.h"

typedef struct model_shape {
    int layers, hidden, heads, inter;
} model_shape;

typedef struct pair_def {
    const char *name;
    model_shape m[2]; /* large, small */
} pair_def;

static const pair_def PAIRS[] = {
    {"base+small", {{12, 768, 12, 3072}, {4, 512, 8, 2048}}},
    {"base+6l", {{12, 768, 12, 3072}, {6, 768, 12, 3072}}},
    {"large+base", {{24, 1024, 16, 4096}, {12, 768, 12, 3072}}},
    /* CPU-sized pairs for tests and smoke runs */
    {"mini", {{4, 256, 4, 1024}, {2, 128, 2, 512}}},
    {"tiny", {{2, 64, 2, 256}, {1, 32, 2, 128}}},
};
#define N_PAIRS ((int)(sizeof PAIRS / sizeof PAIRS[0]))
#define MAX_LIST 16

typedef struct bench_opts {
    const char *backend, *precision;
    int steps, warmup, mlm, json, classes, vocab, deterministic, ragged;
    const pair_def *pairs[MAX_LIST];
    int n_pairs;
    int seq[MAX_LIST], n_seq;
    int batch[MAX_LIST], n_batch;
    double peak_tflops, peak_gbps;
} bench_opts;

static void usage(FILE *f) {
    fputs("usage: ctcd bench step [options]\n"
          "\n"
          "Times the full co-training step (forward both, fused loss, backward both, clip +\n"
          "AdamW both) on synthetic full-length batches and prints examples/s, tokens/s,\n"
          "MFU and device memory per model.\n"
          "\n"
          "options:\n"
          "  --backend NAME      cuda (default), cpu or auto\n"
          "  --precision P       bf16 (default) or fp32\n"
          "  --deterministic     train.deterministic: on the CPU the fixed-order GEMM that\n"
          "                      gives the same weights on every x86-64 CPU (its cost)\n"
          "  --pairs LIST        comma list of base+small, base+6l, large+base, mini, tiny\n"
          "                      (default base+small,base+6l,large+base)\n"
          "  --seq LIST          sequence lengths (default 128,512)\n"
          "  --batch LIST        one batch size for every seq, or one per seq (default 32)\n"
          "  --steps N           timed steps (default 10)\n"
          "  --warmup N          untimed steps first (default 3)\n"
          "  --mlm               masked-LM head over 15% of the tokens (vocab columns)\n"
          "  --lengths L         full (default): every row --seq tokens; ragged: 8 bucketed\n"
          "                      batches of SST-2-like lengths, padded to 16..64 tokens\n"
          "                      (capped at --seq), rows up to 7 tokens shorter (padding\n"
          "                      masked); benchmarks/reference_cpu.py has the same profile\n"
          "  --classes C         classification head width (default 2)\n"
          "  --vocab V           vocabulary size (default 30522)\n"
          "  --peak-tflops X     dense bf16 peak for MFU (default: from the device name)\n"
          "  --peak-gbps X       memory bandwidth peak (reported only)\n"
          "  --json              one JSON line per configuration, nothing else on stdout\n"
          "  -h, --help          this help\n",
          f);
}

static int parse_int_list(const char *s, int *out, int cap) {
    int n = 0;
    while (*s && n < cap) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 1 << 20 || (*end && *end != ',')) return -1;
        out[n++] = (int)v;
        s = *end ? end + 1 : end;
    }
    return *s ? -1 : n;
}

static ctcd_status parse_pairs(const char *s, bench_opts *o) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    o->n_pairs = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int k = 0;
        while (k < N_PAIRS && strcmp(PAIRS[k].name, tok) != 0) k++;
        if (k == N_PAIRS)
            return CTCD_ERR(CTCD_E_INVALID, "bench: unknown pair '%s' (valid: base+small, "
                            "base+6l, large+base, mini, tiny)", tok);
        if (o->n_pairs == MAX_LIST) return CTCD_ERR(CTCD_E_INVALID, "bench: too many pairs");
        o->pairs[o->n_pairs++] = &PAIRS[k];
    }
    if (!o->n_pairs) return CTCD_ERR(CTCD_E_INVALID, "bench: --pairs is empty");
    return CTCD_OK;
}

/* 0 ok, 1 help printed, 2 usage error */
static int parse_args(int argc, char **argv, bench_opts *o) {
    *o = (bench_opts){.backend = "cuda", .precision = "bf16", .steps = 10, .warmup = 3,
                      .classes = 2, .vocab = 30522, .seq = {128, 512}, .n_seq = 2,
                      .batch = {32}, .n_batch = 1};
    ctcd_status st = parse_pairs("base+small,base+6l,large+base", o);
    ctcd_status_free(st);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int used = 1, bad = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "--mlm")) {
            o->mlm = 1, used = 0;
        } else if (!strcmp(a, "--json")) {
            o->json = 1, used = 0;
        } else if (!strcmp(a, "--deterministic")) {
            o->deterministic = 1, used = 0;
        } else if (!v) {
            bad = 1;
        } else if (!strcmp(a, "--lengths")) {
            o->ragged = !strcmp(v, "ragged");
            bad = !o->ragged && strcmp(v, "full") != 0;
        } else if (!strcmp(a, "--backend")) {
            o->backend = v;
        } else if (!strcmp(a, "--precision")) {
            o->precision = v;
        } else if (!strcmp(a, "--pairs")) {
            st = parse_pairs(v, o);
            if (st) return ctcd_cli_fail(st) * 2;
        } else if (!strcmp(a, "--seq")) {
            bad = (o->n_seq = parse_int_list(v, o->seq, MAX_LIST)) < 1;
        } else if (!strcmp(a, "--batch")) {
            bad = (o->n_batch = parse_int_list(v, o->batch, MAX_LIST)) < 1;
        } else if (!strcmp(a, "--steps")) {
            bad = (o->steps = atoi(v)) < 1;
        } else if (!strcmp(a, "--warmup")) {
            bad = (o->warmup = atoi(v)) < 0 || strspn(v, "0123456789") != strlen(v);
        } else if (!strcmp(a, "--classes")) {
            bad = (o->classes = atoi(v)) < 2;
        } else if (!strcmp(a, "--vocab")) {
            bad = (o->vocab = atoi(v)) < 1001;
        } else if (!strcmp(a, "--peak-tflops")) {
            bad = (o->peak_tflops = atof(v)) <= 0;
        } else if (!strcmp(a, "--peak-gbps")) {
            bad = (o->peak_gbps = atof(v)) <= 0;
        } else {
            fprintf(stderr, "ctcd bench step: unknown option '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "ctcd bench step: bad or missing value for %s\n", a);
            return 2;
        }
        i += used;
    }
    if (o->n_batch != 1 && o->n_batch != o->n_seq) {
        fprintf(stderr, "ctcd bench step: --batch needs one value or one per --seq value\n");
        return 2;
    }
    return 0;
}

static void set_model(ctcd_model_recipe *m, const model_shape *s) {
    m->present = 1;
    m->layers = s->layers;
    m->hidden = s->hidden;
    m->heads = s->heads;
    m->intermediate = s->inter;
}

typedef struct step_result {
    double ms_mean, ms_min, ms_median;
    double tokens, rows, flops; /* summed over the timed steps */
    float loss[2];
} step_result;

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Warm-up steps, then `steps` timed ones; step k uses batch k mod n_mb. Each
 * ctcd_trainer_step ends by downloading the loss terms, which waits for the device: a host
 * clock around it times the whole step. */
static ctcd_status time_steps(ctcd_trainer *t, const bench_opts *o, const ctcd_mlm_batch *mb,
                              int n_mb, step_result *r) {
    ctcd_step_stats s;
    double *ms = calloc((size_t)o->steps, sizeof *ms);
    if (!ms) return CTCD_ERR(CTCD_E_NOMEM, "bench: out of memory");
    ctcd_status st = CTCD_OK;
    double total = 0;
    for (int k = 0; !st && k < o->warmup + o->steps; k++) {
        const ctcd_mlm_batch *b = &mb[k % n_mb];
        const double t0 = ctcd_now();
        st = o->mlm ? ctcd_trainer_step_mlm(t, b, &s) : ctcd_trainer_step(t, &b->b, &s);
        const double dt = (ctcd_now() - t0) * 1e3;
        if (k < o->warmup) continue;
        total += ms[k - o->warmup] = dt;
        const int64_t rows = o->mlm ? b->n_pred : b->b.B;
        r->tokens += (double)b->b.B * b->b.T;
        r->rows += (double)rows;
        for (int i = 0; i < ctcd_trainer_n_models(t); i++)
            r->flops += ctcd_bert_train_flops(&ctcd_trainer_model(t, i)->cfg, b->b.B, b->b.T,
                                              rows);
    }
    if (!st) {
        qsort(ms, (size_t)o->steps, sizeof *ms, cmp_double);
        r->ms_mean = total / o->steps;
        r->ms_min = ms[0];
        r->ms_median = ms[o->steps / 2];
        r->loss[0] = s.terms[CTCD_TERM_TOTAL0];
        r->loss[1] = s.terms[CTCD_TERM_TOTAL1];
    }
    free(ms);
    return st;
}

/* Copies s into buf as the inside of a JSON string (quotes, backslashes, controls escaped). */
static void json_escape(char *buf, size_t cap, const char *s) {
    size_t n = 0;
    for (; *s && n + 7 < cap; s++) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') buf[n++] = '\\', buf[n++] = (char)c;
        else if (c < 0x20) n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", c);
        else buf[n++] = (char)c;
    }
    buf[n] = '\0';
}

static void shape_str(char *buf, size_t cap, const ctcd_bert_config *c) {
    snprintf(buf, cap, "%dL/%dH/%dA/%dI", c->n_layers, c->hidden, c->n_heads, c->intermediate);
}

/* One configuration: build, time, print. Errors are returned (and reported by the caller)
 * so the other configurations still run. */
static ctcd_status run_config(const bench_opts *o, const pair_def *p, int T, int B) {
    ctcd_recipe rc;
    ctcd_recipe_defaults(&rc);
    snprintf(rc.train.backend, sizeof rc.train.backend, "%s", o->backend);
    snprintf(rc.train.precision, sizeof rc.train.precision, "%s", o->precision);
    rc.train.deterministic = o->deterministic;
    rc.distill.temperature = 2.0f; /* benchmarks/reference_step.py uses the same */
    rc.train.batch = B;
    rc.data.max_len = T;
    for (int i = 0; i < 2; i++) set_model(&rc.models[i], &p->m[i]);
    ctcd_trainer *t = NULL;
    CTCD_TRY(ctcd_bench_trainer_create(&rc, o->mlm, B, T, o->vocab, o->classes, &t));
    ctcd_mlm_batch mb[CTCD_BENCH_RAGGED_BATCHES];
    const int n_mb = o->ragged ? CTCD_BENCH_RAGGED_BATCHES : 1;
    ctcd_status st = CTCD_OK;
    int made = 0;
    for (; !st && made < n_mb; made++) {
        int len[4096];
        const int Tk = o->ragged ? ctcd_bench_ragged_len(made, T) : T;
        if (o->ragged && B > (int)(sizeof len / sizeof len[0]))
            st = CTCD_ERR(CTCD_E_INVALID, "bench: --lengths ragged takes batch <= %d",
                          (int)(sizeof len / sizeof len[0]));
        for (int i = 0; !st && o->ragged && i < B; i++) len[i] = ctcd_bench_ragged_row(Tk, i);
        if (!st)
            st = ctcd_bench_batch_make(B, Tk, o->ragged ? len : NULL, o->vocab, o->classes,
                                       o->mlm, 1234 + (uint64_t)made, &mb[made]);
        if (st) break;
    }
    step_result r = {0};
    if (!st) st = time_steps(t, o, mb, n_mb, &r);
    if (st) {
        for (int i = 0; i < made; i++) ctcd_bench_batch_free(&mb[i]);
        ctcd_trainer_destroy(t);
        return st;
    }
    const int64_t rows = (int64_t)llround(r.rows / o->steps);
    const ctcd_model *L = ctcd_trainer_model(t, 0), *S = ctcd_trainer_model(t, 1);
    const ctcd_backend *be = ctcd_trainer_backend(t);
    const double flops = r.flops / o->steps;
    ctcd_peaks pk;
    ctcd_peaks_for_device(be->device_name, o->peak_tflops, o->peak_gbps, &pk);
    const double sec = r.ms_mean * 1e-3, tflops = flops / sec * 1e-12;
    const double total_sec = sec * o->steps;
    char mfu[32] = "null", sh[2][64];
    if (pk.tflops > 0) snprintf(mfu, sizeof mfu, "%.4f", tflops / pk.tflops);
    for (int i = 0; i < 2; i++) shape_str(sh[i], sizeof sh[i], &ctcd_trainer_model(t, i)->cfg);
    const int64_t mem[2] = {ctcd_model_device_bytes(L), ctcd_model_device_bytes(S)};
    printf("{\"bench\":\"step\",\"impl\":\"ctcd\",\"backend\":\"%s\",\"device\":\"%s\","
           "\"precision\":\"%s\",\"act_dtype\":\"%s\",\"pair\":\"%s\",\"large\":\"%s\","
           "\"small\":\"%s\",\"head\":\"%s\",\"batch\":%d,\"seq\":%d,\"head_rows\":%lld,"
           "\"lengths\":\"%s\",\"deterministic\":%s,",
           be->name, be->device_name ? be->device_name : "?", o->precision,
           ctcd_dtype_name(be->act_dtype), p->name, sh[0], sh[1], o->mlm ? "mlm" : "cls", B, T,
           (long long)rows, o->ragged ? "ragged" : "full", o->deterministic ? "true" : "false");
    printf("\"steps\":%d,\"warmup\":%d,\"step_ms\":%.3f,\"step_ms_median\":%.3f,"
           "\"step_ms_min\":%.3f,\"examples_per_s\":%.2f,\"tokens_per_s\":%.0f,"
           "\"model_flops_per_step\":%.4e,\"tflops\":%.2f,\"mfu\":%s,\"peak_tflops\":%.0f,"
           "\"peak_source\":\"%s\",",
           o->steps, o->warmup, r.ms_mean, r.ms_median, r.ms_min, B / sec, r.tokens / (total_sec),
           flops, tflops, mfu, pk.tflops, pk.source);
    printf("\"params_large\":%lld,\"params_small\":%lld,\"mem_large_bytes\":%lld,"
           "\"mem_small_bytes\":%lld,\"mem_total_bytes\":%lld,\"act_large_bytes\":%lld,"
           "\"act_small_bytes\":%lld,\"loss_large\":%.4f,\"loss_small\":%.4f}\n",
           (long long)ctcd_model_n_params(L), (long long)ctcd_model_n_params(S),
           (long long)mem[0], (long long)mem[1], (long long)(mem[0] + mem[1]),
           (long long)L->act_bytes, (long long)S->act_bytes, (double)r.loss[0],
           (double)r.loss[1]);
    if (!o->json)
        printf("  %-10s seq %s%3d batch %3d %s: %8.2f ms/step  %9.1f examples/s  %10.0f "
               "tokens/s  MFU %s  mem %.2f + %.2f GiB\n",
               p->name, o->ragged ? "<=" : "", T, B, o->mlm ? "mlm" : "cls", r.ms_mean, B / sec,
               r.tokens / total_sec,
               mfu, mem[0] / 1073741824.0, mem[1] / 1073741824.0);
    fflush(stdout);
    for (int i = 0; i < n_mb; i++) ctcd_bench_batch_free(&mb[i]);
    ctcd_trainer_destroy(t);
    return CTCD_OK;
}

int ctcd_cmd_bench(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "step") != 0)) {
        if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
            usage(stdout);
            return 0;
        }
        fprintf(stderr, "ctcd bench: expected 'step' (kernel microbenchmarks are "
                        "build/benchmarks/kernels)\n\n");
        usage(stderr);
        return 2;
    }
    bench_opts o;
    const int prc = parse_args(argc - 1, argv + 1, &o);
    if (prc) return prc == 1 ? 0 : 2;
    ctcd_log_set_level(CTCD_LOG_WARN);
    int failed = 0;
    for (int p = 0; p < o.n_pairs; p++)
        for (int s = 0; s < o.n_seq; s++) {
            const int B = o.batch[o.n_batch == 1 ? 0 : s];
            ctcd_status st = run_config(&o, o.pairs[p], o.seq[s], B);
            if (!st) continue;
            /* an out-of-memory or unsupported shape must not hide the other results */
            char msg[1024];
            json_escape(msg, sizeof msg, ctcd_status_message(st));
            printf("{\"bench\":\"step\",\"impl\":\"ctcd\",\"pair\":\"%s\",\"seq\":%d,"
                   "\"batch\":%d,\"head\":\"%s\",\"error\":\"%s\"}\n",
                   o.pairs[p]->name, o.seq[s], B, o.mlm ? "mlm" : "cls", msg);
            fflush(stdout);
            failed |= ctcd_cli_fail(st);
        }
    return failed;
}
