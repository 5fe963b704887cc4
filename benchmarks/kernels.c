/* kernels.c — microbenchmarks of every op family through the backend op table: GEMMs on
 * BERT shapes, LayerNorm, GELU, dropout, attention, embeddings, the fused two-model loss,
 * grad_sumsq + AdamW, and a device-to-device copy as the achievable-bandwidth reference.
 * Also the unfused variants DESIGN.md section 4 argues against, where the op table can
 * express them (see `compare` in the output and benchmarks/README.md).
 *
 * usage: kernels [--backend cuda|cpu|auto] [--size full|tiny] [--only SUBSTR]
 *                [--peak-tflops X] [--peak-gbps X] [--samples N] [--target-ms X]
 * Default backend cuda, size full (tiny on the CPU backend). One JSON line per measurement.
 *
 * Timing: W warm-up calls; one timed call sizes a sample to >= target-ms (k calls, at most
 * 10000); then N samples, each `sync; clock; k calls; sync; clock`; the reported time is
 * the median sample / k (ctcd_now, a monotonic host clock: the syncs bound the region, and a
 * sample spans many launches so launch latency is amortised as in a real step).
 * Traffic: `bytes` is our model of the minimum device-memory traffic of the call (every
 * input read once, every output written once; stated per op below) — GB/s = bytes / time.
 * FLOPs: multiply-add = 2; only the matrix products are counted (elementwise ops report
 * null). Fractions: of the datasheet peak chosen from the device name (or the options),
 * and for memory-bound ops also of the measured copy bandwidth. Inputs are random, never
 * zeros (zeros can run faster than real data). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/backend_create.h"
#include "ctcd/bench.h"
#include "ctcd/log.h"

typedef ctcd_status (*call_fn)(void *arg);

typedef struct kctx {
    ctcd_backend *be;
    size_t e;              /* bytes per activation element */
    int tiny, warmup, samples;
    double target_ms;
    const char *only;      /* run ops whose name contains this */
    ctcd_peaks pk;
    double copy_gbps;      /* measured reference (0 until the copy ran) */
    float *host_pattern;   /* random values reused to fill every buffer */
    int failed;
} kctx;

#define PATTERN_N ((int64_t)1 << 20)
#define CHECK(x)                                                               \
    do {                                                                       \
        ctcd_status check_st_ = (x);                                           \
        if (check_st_) return check_st_;                                       \
    } while (0)

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds per call of fn(arg). */
static ctcd_status time_call(kctx *k, call_fn fn, void *arg, double *sec, int *iters) {
    ctcd_backend *be = k->be;
    for (int i = 0; i < k->warmup; i++) CHECK(fn(arg));
    CHECK(be->sync(be));
    double t0 = ctcd_now();
    CHECK(fn(arg));
    CHECK(be->sync(be));
    const double one = ctcd_now() - t0;
    double want = k->target_ms * 1e-3 / (one > 1e-7 ? one : 1e-7);
    const int n = want < 1 ? 1 : want > 10000 ? 10000 : (int)ceil(want);
    double s[64];
    const int S = k->samples < 64 ? k->samples : 64;
    for (int j = 0; j < S; j++) {
        CHECK(be->sync(be));
        t0 = ctcd_now();
        for (int i = 0; i < n; i++) CHECK(fn(arg));
        CHECK(be->sync(be));
        s[j] = (ctcd_now() - t0) / n;
    }
    qsort(s, (size_t)S, sizeof s[0], cmp_double);
    *sec = s[S / 2];
    *iters = n;
    return CTCD_OK;
}

static void print_frac(const char *key, double num, double den) {
    if (den > 0 && num > 0) printf(",\"%s\":%.4f", key, num / den);
    else printf(",\"%s\":null", key);
}

/* Times one call and prints its JSON line. bytes / flops <= 0 print null. `compare` names
 * the measurement this one is a variant of ("" for none). Returns the seconds per call, 0
 * when skipped or failed: errors are printed as a JSON line too and counted; the run goes
 * on. */
static double measure(kctx *k, const char *op, const char *shape, const char *variant,
                      const char *compare, double bytes, double flops, call_fn fn, void *arg) {
    if (k->only && !strstr(op, k->only)) return 0;
    double sec = 0;
    int iters = 0;
    ctcd_status st = time_call(k, fn, arg, &sec, &iters);
    if (st) {
        printf("{\"bench\":\"kernels\",\"op\":\"%s\",\"shape\":\"%s\",\"variant\":\"%s\","
               "\"error\":\"see stderr\"}\n", op, shape, variant);
        fprintf(stderr, "kernels: %s %s: %s\n", op, shape, ctcd_status_message(st));
        ctcd_status_free(st);
        k->failed = 1;
        fflush(stdout);
        return 0;
    }
    const double gbps = bytes > 0 ? bytes / sec * 1e-9 : 0;
    const double tfl = flops > 0 ? flops / sec * 1e-12 : 0;
    /* which roof limits this call: time each would take at peak, the larger wins */
    const int compute = flops > 0 && k->pk.tflops > 0 && k->pk.gbps > 0 &&
                        flops / (k->pk.tflops * 1e12) > bytes / (k->pk.gbps * 1e9);
    printf("{\"bench\":\"kernels\",\"op\":\"%s\",\"shape\":\"%s\",\"variant\":\"%s\","
           "\"compare\":\"%s\",\"us\":%.3f,\"iters_per_sample\":%d,\"samples\":%d",
           op, shape, variant, compare, sec * 1e6, iters, k->samples);
    if (bytes > 0) printf(",\"bytes\":%.0f,\"gbps\":%.1f", bytes, gbps);
    else printf(",\"bytes\":null,\"gbps\":null");
    if (flops > 0) printf(",\"flops\":%.0f,\"tflops\":%.2f", flops, tfl);
    else printf(",\"flops\":null,\"tflops\":null");
    printf(",\"bound\":\"%s\"", compute ? "compute" : "memory");
    print_frac("frac_peak_bw", gbps, k->pk.gbps);
    print_frac("frac_copy_bw", gbps, k->copy_gbps);
    print_frac("frac_peak_flops", tfl, k->pk.tflops);
    print_frac("frac_peak", compute ? tfl : gbps, compute ? k->pk.tflops : k->pk.gbps);
    printf("}\n");
    fflush(stdout);
    return sec;
}

/* ---- buffers -------------------------------------------------------------------------- */

#define MAX_BUFS 64
static void *g_bufs[MAX_BUFS];
static int g_nbufs;

static ctcd_status buf_alloc(kctx *k, size_t bytes, const char *what, void **out) {
    if (g_nbufs == MAX_BUFS) return CTCD_ERR(CTCD_E_INVALID, "kernels: too many buffers");
    CHECK(k->be->alloc(k->be, bytes, what, out));
    g_bufs[g_nbufs++] = *out;
    return CTCD_OK;
}

static void bufs_free(kctx *k) {
    for (int i = 0; i < g_nbufs; i++) k->be->free(k->be, g_bufs[i]);
    g_nbufs = 0;
}

/* n random values of dtype dt (F32 or the act dtype) in backend memory: the host pattern
 * (uniform in [-1, 1)) times `scale`, or its magnitude times -scale when scale < 0 (for
 * buffers that must be non-negative). F32 chunks are uploaded and cast on the device when dt
 * is not F32. */
static ctcd_status rand_buf(kctx *k, int64_t n, ctcd_dtype dt, float scale, const char *what,
                            void **out) {
    ctcd_backend *be = k->be;
    CHECK(buf_alloc(k, (size_t)n * ctcd_dtype_size(dt), what, out));
    float *host = malloc((size_t)PATTERN_N * sizeof *host);
    if (!host) return CTCD_ERR(CTCD_E_NOMEM, "kernels: out of host memory");
    for (int64_t i = 0; i < PATTERN_N; i++)
        host[i] = scale < 0 ? -scale * fabsf(k->host_pattern[i]) : scale * k->host_pattern[i];
    void *tmp = NULL;
    ctcd_status st = dt == CTCD_F32 ? CTCD_OK
                                    : be->alloc(be, (size_t)PATTERN_N * 4, "upload staging", &tmp);
    for (int64_t off = 0; !st && off < n; off += PATTERN_N) {
        const int64_t c = n - off < PATTERN_N ? n - off : PATTERN_N;
        if (dt == CTCD_F32) {
            st = be->upload(be, (float *)*out + off, host, (size_t)c * 4);
        } else {
            st = be->upload(be, tmp, host, (size_t)c * 4);
            if (!st) st = be->cast(be, (char *)*out + (size_t)off * ctcd_dtype_size(dt), dt, tmp,
                                   CTCD_F32, c);
        }
    }
    if (tmp) {
        ctcd_status s2 = be->sync(be);
        if (!st) st = s2; else ctcd_status_free(s2);
        be->free(be, tmp);
    }
    free(host);
    return st;
}

static ctcd_status act_buf(kctx *k, int64_t n, float scale, const char *what, void **out) {
    return rand_buf(k, n, k->be->act_dtype, scale, what, out);
}

/* An I32 buffer holding host[n]. */
static ctcd_status int_buf(kctx *k, const int32_t *host, int64_t n, const char *what,
                           int32_t **out) {
    CHECK(buf_alloc(k, (size_t)n * 4, what, (void **)out));
    return k->be->upload(k->be, *out, host, (size_t)n * 4);
}

/* ---- calls ------------------------------------------------------------------------------
 * One argument block for every call: each run_* reads the fields it needs. */
typedef struct kargs {
    ctcd_backend *be;
    void *a, *b, *c, *d, *e, *f;   /* act buffers */
    float *f0, *f1, *f2, *f3, *f4; /* F32 buffers */
    int32_t *i0, *i1, *i2;         /* I32 buffers */
    int64_t M, n;
    int K, N, B, T, NH, HD, C;
    ctcd_act act;
    float p;
    ctcd_loss_desc desc, desc_b;
    ctcd_loss_io io, io_b;
    ctcd_adamw_hparams h;
} kargs;

static const ctcd_dropout_key KEY = {12345, 678};

static ctcd_status run_copy(void *v) {
    kargs *x = v;
    return x->be->cast(x->be, x->f1, CTCD_F32, x->f0, CTCD_F32, x->n);
}
static ctcd_status run_mm_fwd(void *v) {
    kargs *x = v;
    return x->be->matmul_fwd(x->be, x->c, x->act ? x->d : NULL, x->a, x->b, x->e, x->M, x->K,
                             x->N, x->act);
}
/* the unfused alternative of the GELU epilogue: GEMM + bias, then gelu_fwd as its own pass */
static ctcd_status run_mm_fwd_then_gelu(void *v) {
    kargs *x = v;
    CHECK(x->be->matmul_fwd(x->be, x->d, NULL, x->a, x->b, x->e, x->M, x->K, x->N,
                            CTCD_ACT_NONE));
    return x->be->gelu_fwd(x->be, x->c, x->d, x->M * x->N);
}
static ctcd_status run_mm_bwd(void *v) {
    kargs *x = v;
    return x->be->matmul_bwd(x->be, x->f, x->f0, x->f1, x->c, x->a, x->b, x->M, x->K, x->N, 0);
}
static ctcd_status run_ln_fwd(void *v) {
    kargs *x = v;
    return x->be->layernorm_fwd(x->be, x->c, x->b ? x->d : NULL, x->f0, x->f1, x->a, x->b,
                                x->e, x->f, x->M, x->C, 1e-12f);
}
/* residual add as its own pass (scatter_add_rows over the identity rows), then LayerNorm */
static ctcd_status run_add_then_ln(void *v) {
    kargs *x = v;
    CHECK(x->be->scatter_add_rows(x->be, x->a, x->b, x->i0, x->M, x->C));
    return x->be->layernorm_fwd(x->be, x->c, NULL, x->f0, x->f1, x->a, NULL, x->e, x->f, x->M,
                                x->C, 1e-12f);
}
static ctcd_status run_ln_bwd(void *v) {
    kargs *x = v;
    return x->be->layernorm_bwd(x->be, x->c, x->f2, x->f3, x->b, x->a, x->f0, x->f1, x->e, x->M,
                                x->C);
}
static ctcd_status run_gelu_fwd(void *v) {
    kargs *x = v;
    return x->be->gelu_fwd(x->be, x->b, x->a, x->n);
}
static ctcd_status run_gelu_bwd(void *v) {
    kargs *x = v;
    return x->be->gelu_bwd(x->be, x->c, x->a, x->b, x->n);
}
static ctcd_status run_drop_fwd(void *v) {
    kargs *x = v;
    return x->be->dropout_fwd(x->be, x->b, x->a, x->n, x->p, KEY);
}
static ctcd_status run_drop_bwd(void *v) {
    kargs *x = v;
    return x->be->dropout_bwd(x->be, x->b, x->a, x->n, x->p, KEY);
}
static ctcd_status run_att_fwd(void *v) {
    kargs *x = v;
    return x->be->attention_fwd(x->be, x->b, x->d, x->a, x->i0, x->B, x->T, x->NH, x->HD, x->p,
                                KEY);
}
static ctcd_status run_att_bwd(void *v) {
    kargs *x = v;
    return x->be->attention_bwd(x->be, x->c, x->b, x->a, x->d, x->i0, x->B, x->T, x->NH, x->HD,
                                x->p, KEY);
}
static ctcd_status run_emb_fwd(void *v) {
    kargs *x = v;
    return x->be->embedding_fwd(x->be, x->d, x->i0, x->i1, x->a, x->b, x->c, x->B, x->T, x->C);
}
static ctcd_status run_emb_bwd(void *v) {
    kargs *x = v;
    return x->be->embedding_bwd(x->be, x->f0, x->f1, x->f2, x->d, x->i0, x->i1, x->B, x->T,
                                x->C);
}
static ctcd_status run_loss(void *v) {
    kargs *x = v;
    return x->be->loss(x->be, &x->desc, &x->io);
}
/* separate CE and KL passes: CE of each model alone, then a KL-only pass over both */
static ctcd_status run_loss_split(void *v) {
    kargs *x = v;
    for (int m = 0; m < 2; m++) {
        ctcd_loss_desc d = x->desc;
        ctcd_loss_io io = x->io;
        d.n_models = 1;
        d.hard_w[0] = x->desc.hard_w[m];
        d.mutual_w[0] = 0;
        io.logits[0] = x->io.logits[m];
        io.dlogits[0] = x->io.dlogits[m];
        io.logits[1] = NULL;
        io.dlogits[1] = NULL;
        CHECK(x->be->loss(x->be, &d, &io));
    }
    return x->be->loss(x->be, &x->desc_b, &x->io_b);
}
static ctcd_status run_sumsq(void *v) {
    kargs *x = v;
    return x->be->grad_sumsq(x->be, x->f4, x->f2, x->n);
}
static ctcd_status run_adamw(void *v) {
    kargs *x = v;
    return x->be->adamw(x->be, x->f0, x->a, x->f2, x->f1, x->f3, x->n, x->n * 9 / 10, x->f4,
                        &x->h);
}
static ctcd_status run_optim(void *v) {
    CHECK(run_sumsq(v));
    return run_adamw(v);
}

/* ---- benchmark sections ----------------------------------------------------------------- */

typedef struct gemm_shape {
    const char *name;
    int64_t M;
    int K, N;
    ctcd_act act;
    int compare_gelu; /* also time GEMM + separate gelu_fwd */
} gemm_shape;

/* M = batch x seq tokens (32x128 = 4096, 32x512 = 16384, 256x128 = 32768); K, N from the
 * hidden size H and FFN 4H; the MLM decoder runs on 15% of 256x128 tokens. */
static const gemm_shape GEMM_FULL[] = {
    {"h128 fc1 32x128", 4096, 128, 512, CTCD_ACT_GELU, 0},
    {"h256 fc1 32x128", 4096, 256, 1024, CTCD_ACT_GELU, 0},
    {"h512 qkv 32x128", 4096, 512, 1536, CTCD_ACT_NONE, 0},
    {"h512 fc1 32x128", 4096, 512, 2048, CTCD_ACT_GELU, 0},
    {"h512 fc2 32x128", 4096, 2048, 512, CTCD_ACT_NONE, 0},
    {"h768 qkv 32x128", 4096, 768, 2304, CTCD_ACT_NONE, 0},
    {"h768 attn_out 32x128", 4096, 768, 768, CTCD_ACT_NONE, 0},
    {"h768 fc1 32x128", 4096, 768, 3072, CTCD_ACT_GELU, 1},
    {"h768 fc2 32x128", 4096, 3072, 768, CTCD_ACT_NONE, 0},
    {"h768 fc1 256x128", 32768, 768, 3072, CTCD_ACT_GELU, 1},
    {"h768 fc1 32x512", 16384, 768, 3072, CTCD_ACT_GELU, 0},
    {"h1024 fc1 32x512", 16384, 1024, 4096, CTCD_ACT_GELU, 0},
    {"h1024 fc2 32x512", 16384, 4096, 1024, CTCD_ACT_NONE, 0},
    {"mlm decoder h768 V30522", 4915, 768, 30522, CTCD_ACT_NONE, 0},
};
static const gemm_shape GEMM_TINY[] = {
    {"h64 fc1 4x32", 128, 64, 256, CTCD_ACT_GELU, 1},
    {"h64 fc2 4x32", 128, 256, 64, CTCD_ACT_NONE, 0},
    {"mlm decoder h64 V2048", 32, 64, 2048, CTCD_ACT_NONE, 0},
};

static ctcd_status bench_copy(kctx *k) {
    kargs x = {.be = k->be, .n = k->tiny ? ((int64_t)1 << 20) : ((int64_t)128 << 20)};
    CHECK(rand_buf(k, x.n, CTCD_F32, 1.0f, "copy src", (void **)&x.f0));
    CHECK(buf_alloc(k, (size_t)x.n * 4, "copy dst", (void **)&x.f1));
    char shape[64];
    snprintf(shape, sizeof shape, "%lld MiB F32", (long long)(x.n * 4 >> 20));
    /* bytes read + bytes written; every later memory-bound line is also compared to this */
    const double bytes = 8.0 * (double)x.n;
    const char *only = k->only; /* the reference runs whatever --only says */
    k->only = NULL;
    const double sec = measure(k, "copy", shape, "cast F32->F32 (device-to-device memcpy)", "",
                               bytes, 0, run_copy, &x);
    k->only = only;
    if (sec > 0) k->copy_gbps = bytes / sec * 1e-9;
    bufs_free(k);
    return CTCD_OK;
}

static ctcd_status bench_gemm(kctx *k, const gemm_shape *g) {
    kargs x = {.be = k->be, .M = g->M, .K = g->K, .N = g->N, .act = g->act};
    const double e = (double)k->e, M = (double)g->M, K = g->K, N = g->N;
    CHECK(act_buf(k, g->M * g->K, 1.0f, "gemm inp", &x.a));
    CHECK(act_buf(k, (int64_t)g->N * g->K, 0.02f, "gemm w", &x.b));
    CHECK(act_buf(k, g->N, 0.02f, "gemm bias", &x.e));
    CHECK(act_buf(k, g->M * g->N, 1.0f, "gemm out", &x.c));
    CHECK(act_buf(k, g->M * g->N, 1.0f, "gemm pre", &x.d));
    CHECK(act_buf(k, g->M * g->K, 1.0f, "gemm dinp", &x.f));
    CHECK(rand_buf(k, (int64_t)g->N * g->K, CTCD_F32, 0.0f, "gemm dw", (void **)&x.f0));
    CHECK(rand_buf(k, g->N, CTCD_F32, 0.0f, "gemm dbias", (void **)&x.f1));
    char shape[96];
    snprintf(shape, sizeof shape, "%s M=%lld K=%d N=%d", g->name, (long long)g->M, g->K, g->N);
    /* fwd: inp, w, bias read; out (and pre with GELU) written */
    const double fwd_bytes = e * (M * K + N * K + N + M * N * (g->act ? 2 : 1));
    const char *v = g->act ? "bias+GELU epilogue" : "bias";
    measure(k, "matmul_fwd", shape, v, "", fwd_bytes, 2 * M * K * N, run_mm_fwd, &x);
    if (g->compare_gelu)
        measure(k, "matmul_fwd", shape, "bias, then gelu_fwd pass", "matmul_fwd bias+GELU epilogue",
                fwd_bytes + 2 * e * M * N, 2 * M * K * N, run_mm_fwd_then_gelu, &x);
    /* bwd: dout, inp, w read; dinp written; dw, dbias (F32) read and written */
    const double bwd_bytes = e * (M * N + 2 * M * K + N * K) + 8 * (N * K + N);
    measure(k, "matmul_bwd", shape, "dinp+dw+dbias", "", bwd_bytes, 4 * M * K * N, run_mm_bwd, &x);
    bufs_free(k);
    return CTCD_OK;
}

static ctcd_status bench_layernorm(kctx *k, int64_t M, int C) {
    kargs x = {.be = k->be, .M = M, .C = C};
    const double e = (double)k->e, n = (double)M * C;
    CHECK(act_buf(k, M * C, 1.0f, "ln inp", &x.a));
    CHECK(act_buf(k, M * C, 1.0f, "ln residual", &x.b));
    CHECK(act_buf(k, M * C, 1.0f, "ln out", &x.c));
    CHECK(act_buf(k, M * C, 1.0f, "ln sum", &x.d));
    CHECK(act_buf(k, C, 1.0f, "ln gamma", &x.e));
    CHECK(act_buf(k, C, 0.1f, "ln beta", &x.f));
    CHECK(rand_buf(k, M, CTCD_F32, 1.0f, "ln mean", (void **)&x.f0));
    CHECK(rand_buf(k, M, CTCD_F32, 1.0f, "ln rstd", (void **)&x.f1));
    CHECK(rand_buf(k, C, CTCD_F32, 0.0f, "ln dgamma", (void **)&x.f2));
    CHECK(rand_buf(k, C, CTCD_F32, 0.0f, "ln dbeta", (void **)&x.f3));
    int32_t *rows = malloc((size_t)M * sizeof *rows);
    if (!rows) return CTCD_ERR(CTCD_E_NOMEM, "kernels: out of host memory");
    for (int64_t i = 0; i < M; i++) rows[i] = (int32_t)i;
    ctcd_status st = int_buf(k, rows, M, "identity rows", &x.i0);
    free(rows);
    CHECK(st);
    char shape[64];
    snprintf(shape, sizeof shape, "N=%lld C=%d", (long long)M, C);
    /* fused: inp + residual read, out + sum written, mean/rstd written */
    const double fused = e * 4 * n + 8.0 * M;
    measure(k, "layernorm_fwd", shape, "residual fused", "", fused, 0, run_ln_fwd, &x);
    /* unfused: add pass (2 reads, 1 write, row ids) then LN (1 read, 1 write, stats) */
    measure(k, "layernorm_fwd", shape, "residual add pass, then LN", "layernorm_fwd residual fused",
            e * 5 * n + 4.0 * M + 8.0 * M, 0, run_add_then_ln, &x);
    /* bwd: dout, s read, mean/rstd read, dinp written, dgamma/dbeta F32 read+written */
    measure(k, "layernorm_bwd", shape, "", "", e * 3 * n + 8.0 * M + 16.0 * C, 0, run_ln_bwd, &x);
    bufs_free(k);
    return CTCD_OK;
}

static ctcd_status bench_pointwise(kctx *k, int64_t n_gelu, int64_t n_drop) {
    kargs x = {.be = k->be, .n = n_gelu, .p = 0.1f};
    const double e = (double)k->e;
    CHECK(act_buf(k, n_gelu, 1.0f, "gelu inp", &x.a));
    CHECK(act_buf(k, n_gelu, 1.0f, "gelu dout", &x.b));
    CHECK(act_buf(k, n_gelu, 1.0f, "gelu out", &x.c));
    char shape[64];
    snprintf(shape, sizeof shape, "n=%lld", (long long)n_gelu);
    measure(k, "gelu_fwd", shape, "", "", 2 * e * (double)n_gelu, 0, run_gelu_fwd, &x);
    measure(k, "gelu_bwd", shape, "", "", 3 * e * (double)n_gelu, 0, run_gelu_bwd, &x);
    x.n = n_drop;
    snprintf(shape, sizeof shape, "n=%lld p=0.1", (long long)n_drop);
    measure(k, "dropout_fwd", shape, "", "", 2 * e * (double)n_drop, 0, run_drop_fwd, &x);
    measure(k, "dropout_bwd", shape, "", "", 2 * e * (double)n_drop, 0, run_drop_bwd, &x);
    bufs_free(k);
    return CTCD_OK;
}

static ctcd_status bench_attention(kctx *k, int B, int T, int NH, int HD) {
    ctcd_backend *be = k->be;
    kargs x = {.be = be, .B = B, .T = T, .NH = NH, .HD = HD, .p = 0.1f};
    const double e = (double)k->e, BT = (double)B * T, A = (double)NH * HD;
    CHECK(act_buf(k, (int64_t)B * T * 3 * NH * HD, 1.0f, "att qkv", &x.a));
    CHECK(act_buf(k, (int64_t)B * T * NH * HD, 1.0f, "att out/dout", &x.b));
    CHECK(act_buf(k, (int64_t)B * T * 3 * NH * HD, 1.0f, "att dqkv", &x.c));
    const size_t aux = be->attention_aux_bytes(be, B, T, NH);
    CHECK(buf_alloc(k, aux ? aux : 16, "att aux", &x.d));
    int32_t *mask = malloc((size_t)B * T * sizeof *mask);
    if (!mask) return CTCD_ERR(CTCD_E_NOMEM, "kernels: out of host memory");
    for (int64_t i = 0; i < (int64_t)B * T; i++) mask[i] = 1;
    ctcd_status st = int_buf(k, mask, (int64_t)B * T, "att mask", &x.i0);
    free(mask);
    CHECK(st);
    char shape[80];
    snprintf(shape, sizeof shape, "B=%d T=%d NH=%d HD=%d p=0.1", B, T, NH, HD);
    /* fwd: qkv and mask read, context and the saved state (aux) written; FLOPs of Q·Kᵀ and
     * P·V. bwd: qkv, dout, aux, mask read, dqkv written; model FLOPs 2x forward (a flash
     * backward that recomputes the scores does 2.5x). */
    const double fwd_bytes = e * 4 * BT * A + 4 * BT + (double)aux;
    const double fl = 4.0 * BT * T * A;
    /* the backward reads what the forward saved: run it once first */
    CHECK(run_att_fwd(&x));
    measure(k, "attention_fwd", shape, "", "", fwd_bytes, fl, run_att_fwd, &x);
    measure(k, "attention_bwd", shape, "", "", e * 7 * BT * A + 4 * BT + (double)aux, 2 * fl,
            run_att_bwd, &x);
    bufs_free(k);
    return CTCD_OK;
}

static ctcd_status bench_embedding(kctx *k, int B, int T, int H, int V) {
    kargs x = {.be = k->be, .B = B, .T = T, .C = H};
    const int64_t N = (int64_t)B * T;
    CHECK(act_buf(k, (int64_t)V * H, 0.02f, "wte", &x.a));
    CHECK(act_buf(k, (int64_t)512 * H, 0.02f, "wpe", &x.b));
    CHECK(act_buf(k, (int64_t)2 * H, 0.02f, "wtt", &x.c));
    CHECK(act_buf(k, N * H, 1.0f, "emb out/dout", &x.d));
    CHECK(rand_buf(k, (int64_t)V * H, CTCD_F32, 0.0f, "dwte", (void **)&x.f0));
    CHECK(rand_buf(k, (int64_t)512 * H, CTCD_F32, 0.0f, "dwpe", (void **)&x.f1));
    CHECK(rand_buf(k, (int64_t)2 * H, CTCD_F32, 0.0f, "dwtt", (void **)&x.f2));
    int32_t *ids = malloc((size_t)N * sizeof *ids), *types = malloc((size_t)N * sizeof *types);
    uint8_t *seen = calloc((size_t)V, 1);
    int64_t distinct = 0;
    ctcd_status st = CTCD_OK;
    if (!ids || !types || !seen) st = CTCD_ERR(CTCD_E_NOMEM, "kernels: out of host memory");
    ctcd_rng r;
    ctcd_rng_init(&r, 99, 0);
    for (int64_t i = 0; !st && i < N; i++) {
        ids[i] = (int32_t)(ctcd_rng_u32(&r) % (uint32_t)V);
        types[i] = (int32_t)((i % T) >= T / 2);
        distinct += !seen[ids[i]];
        seen[ids[i]] = 1;
    }
    if (!st) st = int_buf(k, ids, N, "ids", &x.i0);
    if (!st) st = int_buf(k, types, N, "types", &x.i1);
    free(ids);
    free(types);
    free(seen);
    CHECK(st);
    char shape[80];
    snprintf(shape, sizeof shape, "B=%d T=%d H=%d V=%d", B, T, H, V);
    const double e = (double)k->e, NH_ = (double)N * H;
    /* fwd: ids + types read, one wte row per token, the T position rows and 2 type rows
     * read, out written */
    measure(k, "embedding_fwd", shape, "", "", 8.0 * N + e * (2 * NH_ + (T + 2.0) * H), 0,
            run_emb_fwd, &x);
    /* bwd: dout + ids + types read; each distinct touched row of dwte, the T rows of dwpe
     * and the 2 of dwtt read and written (F32) */
    measure(k, "embedding_bwd", shape, "", "",
            e * NH_ + 8.0 * N + 8.0 * H * ((double)distinct + T + 2.0), 0, run_emb_bwd, &x);
    bufs_free(k);
    return CTCD_OK;
}

static ctcd_status bench_loss(kctx *k, int64_t rows, int C, const char *what) {
    kargs x = {.be = k->be};
    const double e = (double)k->e, RC = (double)rows * C;
    void *z[2], *dz[2];
    for (int m = 0; m < 2; m++) {
        CHECK(act_buf(k, rows * C, 2.0f, "logits", &z[m]));
        CHECK(act_buf(k, rows * C, 1.0f, "dlogits", &dz[m]));
    }
    int32_t *labels = malloc((size_t)rows * sizeof *labels);
    if (!labels) return CTCD_ERR(CTCD_E_NOMEM, "kernels: out of host memory");
    for (int64_t i = 0; i < rows; i++) labels[i] = (int32_t)((i * 7919) % C);
    ctcd_status st = int_buf(k, labels, rows, "labels", &x.i0);
    free(labels);
    CHECK(st);
    CHECK(rand_buf(k, CTCD_LOSS_NTERMS, CTCD_F32, 0.0f, "terms", (void **)&x.f0));
    x.desc = (ctcd_loss_desc){.kind = CTCD_LOSS_CE_KL, .n_models = 2, .rows = rows,
                              .classes = C, .temperature = 2.0f, .hard_w = {1, 1},
                              .mutual_w = {1, 1}};
    x.io = (ctcd_loss_io){.logits = {z[0], z[1]}, .dlogits = {dz[0], dz[1]}, .labels = x.i0,
                          .terms = x.f0};
    x.desc_b = x.desc;
    x.desc_b.hard_w[0] = x.desc_b.hard_w[1] = 0;
    x.io_b = x.io;
    char shape[80];
    snprintf(shape, sizeof shape, "rows=%lld C=%d (%s)", (long long)rows, C, what);
    /* fused: both models' logits read once, both gradients written once, labels read */
    const double fused = 4 * e * RC + 4.0 * rows;
    measure(k, "loss", shape, "fused, 2 models", "", fused, 0, run_loss, &x);
    /* separate passes: CE per model (read z, write dz) then KL (read both, write both) */
    measure(k, "loss", shape, "CE per model, then a KL pass", "loss fused, 2 models",
            8 * e * RC + 8.0 * rows, 0, run_loss_split, &x);
    bufs_free(k);
    return CTCD_OK;
}

static ctcd_status bench_optim(kctx *k, int64_t n) {
    kargs x = {.be = k->be, .n = n};
    CHECK(rand_buf(k, n, CTCD_F32, 0.02f, "master", (void **)&x.f0));
    CHECK(rand_buf(k, n, CTCD_F32, 0.001f, "adam m", (void **)&x.f1));
    CHECK(rand_buf(k, n, CTCD_F32, 0.5f, "grads", (void **)&x.f2));
    CHECK(rand_buf(k, n, CTCD_F32, -1e-6f, "adam v", (void **)&x.f3)); /* >= 0 */
    CHECK(rand_buf(k, 1, CTCD_F32, 0.0f, "sumsq", (void **)&x.f4));
    CHECK(act_buf(k, n, 0.02f, "compute copy", &x.a));
    x.h = (ctcd_adamw_hparams){.lr = 1e-5f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                               .weight_decay = 0.01f, .step = 10, .max_norm = 1.0f};
    char shape[64];
    snprintf(shape, sizeof shape, "n=%lld", (long long)n);
    const double e = (double)k->e, N = (double)n;
    measure(k, "grad_sumsq", shape, "", "", 4 * N, 0, run_sumsq, &x);
    /* master, m, v read and written; grad read; compute copy written */
    measure(k, "adamw", shape, "clip scale from sumsq", "", (28 + e) * N, 0, run_adamw, &x);
    measure(k, "optimizer", shape, "grad_sumsq + adamw", "", (32 + e) * N, 0, run_optim, &x);
    bufs_free(k);
    return CTCD_OK;
}

/* ---- driver ----------------------------------------------------------------------------- */

static int usage(FILE *f) {
    fputs("usage: kernels [--backend cuda|cpu|auto] [--size full|tiny] [--only SUBSTR]\n"
          "               [--peak-tflops X] [--peak-gbps X] [--samples N] [--target-ms X]\n"
          "               [--warmup N]\n"
          "Microbenchmarks of every op family; one JSON line per measurement.\n"
          "Defaults: backend cuda, size full (tiny on the CPU backend), 15 samples of >= 2 ms,\n"
          "3 warm-up calls; peaks from the device name (H100 SXM 989 TFLOP/s 3350 GB/s,\n"
          "H200 989 TFLOP/s 4800 GB/s).\n",
          f);
    return f == stdout ? 0 : 2;
}

static ctcd_status run_all(kctx *k) {
    CHECK(bench_copy(k));
    const gemm_shape *g = k->tiny ? GEMM_TINY : GEMM_FULL;
    const size_t ng = k->tiny ? sizeof GEMM_TINY / sizeof GEMM_TINY[0]
                              : sizeof GEMM_FULL / sizeof GEMM_FULL[0];
    const int op_matmul = !k->only || strstr("matmul_fwd matmul_bwd", k->only);
    for (size_t i = 0; op_matmul && i < ng; i++) CHECK(bench_gemm(k, &g[i]));
    if (k->tiny) {
        CHECK(bench_layernorm(k, 256, 64));
        CHECK(bench_pointwise(k, 256 * 256, 256 * 64));
        CHECK(bench_attention(k, 2, 64, 2, 64));
        CHECK(bench_embedding(k, 4, 32, 64, 2048));
        CHECK(bench_loss(k, 16, 2, "classification, batch 16"));
        CHECK(bench_loss(k, 32, 2048, "MLM, tiny vocabulary"));
        CHECK(bench_optim(k, (int64_t)1 << 20));
        return CTCD_OK;
    }
    /* 256 x 128 = 32768 tokens: each tensor is several times the 50-60 MB L2 */
    CHECK(bench_layernorm(k, 32768, 768));
    CHECK(bench_layernorm(k, 32768, 1024));
    CHECK(bench_pointwise(k, (int64_t)32768 * 3072, (int64_t)32768 * 768));
    CHECK(bench_attention(k, 32, 128, 12, 64));
    CHECK(bench_attention(k, 32, 512, 12, 64));
    CHECK(bench_embedding(k, 256, 128, 768, 30522));
    CHECK(bench_loss(k, 256, 2, "classification, batch 256"));
    CHECK(bench_loss(k, 4915, 30522, "MLM, 15% of 256x128"));
    CHECK(bench_loss(k, 2458, 30522, "MLM, 15% of 32x512"));
    CHECK(bench_optim(k, 110000000)); /* BERT-base: 110M parameters */
    return CTCD_OK;
}

int main(int argc, char **argv) {
    const char *backend = "cuda", *size = NULL;
    double peak_tflops = 0, peak_gbps = 0;
    kctx k = {.warmup = 3, .samples = 15, .target_ms = 2.0};
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        if (!v) return usage(stderr);
        if (!strcmp(a, "--backend")) backend = v;
        else if (!strcmp(a, "--size")) size = v;
        else if (!strcmp(a, "--only")) k.only = v;
        else if (!strcmp(a, "--peak-tflops")) peak_tflops = atof(v);
        else if (!strcmp(a, "--peak-gbps")) peak_gbps = atof(v);
        else if (!strcmp(a, "--samples")) k.samples = atoi(v);
        else if (!strcmp(a, "--target-ms")) k.target_ms = atof(v);
        else if (!strcmp(a, "--warmup")) k.warmup = atoi(v);
        else return usage(stderr);
    }
    if (k.samples < 1 || k.samples > 64 || k.target_ms <= 0 || k.warmup < 0 ||
        (size && strcmp(size, "full") && strcmp(size, "tiny"))) {
        fprintf(stderr, "kernels: --samples 1..64, --target-ms > 0, --warmup >= 0, "
                        "--size full|tiny\n");
        return 2;
    }
    ctcd_log_set_level(CTCD_LOG_WARN);
    ctcd_status st = ctcd_backend_create(backend, &k.be);
    if (st) {
        fprintf(stderr, "kernels: %s\n", ctcd_status_message(st));
        ctcd_status_free(st);
        return 1;
    }
    k.e = ctcd_dtype_size(k.be->act_dtype);
    k.tiny = size ? !strcmp(size, "tiny") : k.be->device == CTCD_DEVICE_CPU;
    ctcd_peaks_for_device(k.be->device_name, peak_tflops, peak_gbps, &k.pk);
    k.host_pattern = malloc((size_t)PATTERN_N * sizeof *k.host_pattern);
    if (!k.host_pattern) return 1;
    ctcd_rng r;
    ctcd_rng_init(&r, 2024, 0);
    for (int64_t i = 0; i < PATTERN_N; i++) k.host_pattern[i] = 2.0f * ctcd_rng_uniform(&r) - 1.0f;
    printf("{\"bench\":\"kernels\",\"event\":\"device\",\"backend\":\"%s\",\"device\":\"%s\","
           "\"act_dtype\":\"%s\",\"size\":\"%s\",\"peak_tflops\":%.0f,\"peak_gbps\":%.0f,"
           "\"peak_source\":\"%s\",\"samples\":%d,\"target_ms\":%.2f,\"warmup\":%d}\n",
           k.be->name, k.be->device_name ? k.be->device_name : "?",
           ctcd_dtype_name(k.be->act_dtype), k.tiny ? "tiny" : "full", k.pk.tflops, k.pk.gbps,
           k.pk.source, k.samples, k.target_ms, k.warmup);
    fflush(stdout);
    const double t0 = ctcd_now();
    st = run_all(&k);
    bufs_free(&k);
    if (st) {
        fprintf(stderr, "kernels: %s\n", ctcd_status_message(st));
        ctcd_status_free(st);
        k.failed = 1;
    }
    printf("{\"bench\":\"kernels\",\"event\":\"done\",\"seconds\":%.1f,\"failed\":%s}\n",
           ctcd_now() - t0, k.failed ? "true" : "false");
    free(k.host_pattern);
    ctcd_backend_destroy(k.be);
    return k.failed;
}
