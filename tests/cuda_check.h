/* cuda_check.h — harness shared by the CUDA-vs-CPU suites (test_cuda_ops.c,
 * test_cuda_model.c): opens a CPU and a CUDA backend of one precision (skipping the test
 * cleanly when the build has no CUDA or no device is present — unless CTCD_REQUIRE_CUDA=1,
 * which makes that a failure: see ck_require_cuda), moves data between host
 * floats and device buffers of the act dtype, and compares results while printing the max
 * absolute and relative error of every check (one line per check on stderr, so a single GPU
 * run tells how close each op is, not only whether it passed).
 *
 * Everything here is static and header-only: each suite is its own executable. */
#ifndef CTCD_TESTS_CUDA_CHECK_H
#define CTCD_TESTS_CUDA_CHECK_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/backend.h"
#include "ctcd/backend_cpu.h"
#include "ctcd/backend_create.h"
#include "ctcd/tensor.h"
#include "testutil.h"

#define CK_MAX_ALLOCS 512

typedef struct ck_env {
    ctcd_backend *cpu, *gpu;
    const char *prec; /* "fp32" | "bf16" */
    int bf16;
    void *dev[CK_MAX_ALLOCS];
    int n_dev;
    void *host[CK_MAX_ALLOCS];
    int n_host;
} ck_env;

/* CTCD_REQUIRE_CUDA set to anything but "" or "0": a run that must exercise the CUDA
 * backend (scripts/gpu-check.sh on the GPU machine, the emulated-CUDA pass) fails every
 * test that cannot open it, with the reason, instead of skipping it — otherwise a missing
 * driver or cuBLASLt turns the whole suite into skips and exit status 0. */
static inline int ck_require_cuda(void) {
    const char *v = getenv("CTCD_REQUIRE_CUDA");
    return v && *v && strcmp(v, "0") != 0;
}

/* Skips the calling test with the reason, or fails it under CTCD_REQUIRE_CUDA. */
#define CK_NO_CUDA(...)                                                                  \
    do {                                                                                 \
        char ck_why_[768];                                                               \
        snprintf(ck_why_, sizeof ck_why_, __VA_ARGS__);                                  \
        if (ck_require_cuda())                                                           \
            cr_assert_fail("CTCD_REQUIRE_CUDA=1 but the CUDA backend cannot be opened: %s", \
                           ck_why_);                                                     \
        cr_skip_test("%s", ck_why_);                                                     \
    } while (0)

/* Opens both backends or skips the calling test with the reason (fails it under
 * CTCD_REQUIRE_CUDA=1). */
static inline void ck_open(ck_env *e, const char *prec) {
    memset(e, 0, sizeof *e);
    e->prec = prec;
    e->bf16 = strcmp(prec, "bf16") == 0;
#ifndef CTCD_HAVE_CUDA
    CK_NO_CUDA("no CUDA device: this build of ctcd has no CUDA backend");
#else
    ctcd_status st = ctcd_backend_create_precision("cuda", prec, &e->gpu);
    if (st) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", ctcd_status_message(st));
        ctcd_status_free(st);
        e->gpu = NULL;
        CK_NO_CUDA("no CUDA device (%s)", msg);
    }
    st = ctcd_backend_cpu_create(&e->cpu);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_eq(e->gpu->act_dtype, e->bf16 ? CTCD_BF16 : CTCD_F32, "precision %s", prec);
#endif
}

static inline void ck_close(ck_env *e) {
    for (int i = 0; i < e->n_dev; i++) e->gpu->free(e->gpu, e->dev[i]);
    for (int i = 0; i < e->n_host; i++) free(e->host[i]);
    ctcd_backend_destroy(e->gpu);
    ctcd_backend_destroy(e->cpu);
    memset(e, 0, sizeof *e);
}

static inline void *ck_hmalloc(ck_env *e, size_t bytes) {
    cr_assert_lt(e->n_host, CK_MAX_ALLOCS, "too many host allocations in one test");
    void *p = calloc(1, bytes ? bytes : 1);
    cr_assert_not_null(p);
    e->host[e->n_host++] = p;
    return p;
}

static inline void *ck_dmalloc(ck_env *e, size_t bytes) {
    cr_assert_lt(e->n_dev, CK_MAX_ALLOCS, "too many device allocations in one test");
    void *p = NULL;
    ctcd_status st = e->gpu->alloc(e->gpu, bytes, "test buffer", &p);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    e->dev[e->n_dev++] = p;
    return p;
}

static inline void ck_ok(ctcd_status st, const char *what) {
    if (st) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", ctcd_status_message(st));
        ctcd_status_free(st);
        cr_assert_fail("%s failed: %s", what, msg);
    }
}

static inline float ck_round_bf16(float x) { return ctcd_bf16_to_f32(ctcd_f32_to_bf16(x)); }

/* Rounds a host array to bf16 precision when the env is bf16 (so the CPU reference sees the
 * very values the device sees). */
static inline void ck_round_act(const ck_env *e, float *x, int64_t n) {
    if (!e->bf16) return;
    for (int64_t i = 0; i < n; i++) x[i] = ck_round_bf16(x[i]);
}

/* Random host act values in [lo, hi), already rounded to the act precision. */
static inline float *ck_rand_act(ck_env *e, int64_t n, float lo, float hi, uint64_t seed) {
    float *x = ck_hmalloc(e, (size_t)n * sizeof(float));
    ctcd_test_fill_uniform(x, n, lo, hi, seed);
    ck_round_act(e, x, n);
    return x;
}

static inline float *ck_rand_f32(ck_env *e, int64_t n, float lo, float hi, uint64_t seed) {
    float *x = ck_hmalloc(e, (size_t)n * sizeof(float));
    ctcd_test_fill_uniform(x, n, lo, hi, seed);
    return x;
}

static inline float *ck_copy(ck_env *e, const float *x, int64_t n) {
    float *y = ck_hmalloc(e, (size_t)n * sizeof(float));
    memcpy(y, x, (size_t)n * sizeof(float));
    return y;
}

/* Device act buffer holding host floats (converted to bf16 in bf16 mode). */
static inline void *ck_up_act(ck_env *e, const float *h, int64_t n) {
    const size_t es = ctcd_dtype_size(e->gpu->act_dtype);
    void *d = ck_dmalloc(e, (size_t)n * es);
    if (!e->bf16) {
        ck_ok(e->gpu->upload(e->gpu, d, h, (size_t)n * 4), "upload");
    } else {
        uint16_t *t = malloc((size_t)n * 2 + 2);
        for (int64_t i = 0; i < n; i++) t[i] = ctcd_f32_to_bf16(h[i]);
        ck_ok(e->gpu->upload(e->gpu, d, t, (size_t)n * 2), "upload");
        free(t);
    }
    return d;
}

static inline float *ck_up_f32(ck_env *e, const float *h, int64_t n) {
    float *d = ck_dmalloc(e, (size_t)n * 4);
    ck_ok(e->gpu->upload(e->gpu, d, h, (size_t)n * 4), "upload");
    return d;
}

static inline int32_t *ck_up_i32(ck_env *e, const int32_t *h, int64_t n) {
    int32_t *d = ck_dmalloc(e, (size_t)n * 4);
    ck_ok(e->gpu->upload(e->gpu, d, h, (size_t)n * 4), "upload");
    return d;
}

/* Downloads a device act buffer as host floats. */
static inline float *ck_down_act(ck_env *e, const void *d, int64_t n) {
    float *h = ck_hmalloc(e, (size_t)n * sizeof(float));
    if (!e->bf16) {
        ck_ok(e->gpu->download(e->gpu, h, d, (size_t)n * 4), "download");
    } else {
        uint16_t *t = malloc((size_t)n * 2 + 2);
        ck_ok(e->gpu->download(e->gpu, t, d, (size_t)n * 2), "download");
        for (int64_t i = 0; i < n; i++) h[i] = ctcd_bf16_to_f32(t[i]);
        free(t);
    }
    return h;
}

static inline float *ck_down_f32(ck_env *e, const float *d, int64_t n) {
    float *h = ck_hmalloc(e, (size_t)n * sizeof(float));
    ck_ok(e->gpu->download(e->gpu, h, d, (size_t)n * 4), "download");
    return h;
}

/* Expects |got − ref| <= atol_frac·max|ref| + rtol·|ref| everywhere (NaN never passes unless
 * both are NaN). Prints one line: the check, precision, max abs / rel error. */
static inline void ck_close_to(const ck_env *e, const char *what, const float *got, const float *ref,
                        int64_t n, double atol_frac, double rtol) {
    double scale = 0.0;
    for (int64_t i = 0; i < n; i++)
        if (fabs(ref[i]) > scale) scale = fabs(ref[i]);
    const double atol = atol_frac * (scale > 0 ? scale : 1.0);
    double max_abs = 0.0, max_rel = 0.0;
    int64_t bad = 0, worst = -1;
    double worst_excess = -1.0;
    for (int64_t i = 0; i < n; i++) {
        const int gn = isnan(got[i]), rn = isnan(ref[i]);
        if (gn || rn) {
            if (gn != rn) {
                bad++;
                if (worst_excess < INFINITY) {
                    worst_excess = INFINITY;
                    worst = i;
                }
            }
            continue;
        }
        const double d = fabs((double)got[i] - ref[i]);
        const double rel = d / fmax(fabs(ref[i]), atol > 0 ? atol : 1e-30);
        if (d > max_abs) max_abs = d;
        if (rel > max_rel) max_rel = rel;
        const double lim = atol + rtol * fabs(ref[i]);
        if (d > lim) {
            bad++;
            if (d - lim > worst_excess) {
                worst_excess = d - lim;
                worst = i;
            }
        }
    }
    fprintf(stderr,
            "  [%-4s] %-44s max abs err %.3e  max rel err %.3e  (scale %.3e, n %lld, tol %.0e·scale + "
            "%.0e·|ref|)%s\n",
            e->prec, what, max_abs, max_rel, scale, (long long)n, atol_frac, rtol,
            bad ? "  FAIL" : "");
    if (bad)
        cr_expect_fail("%s (%s): %lld of %lld elements out of tolerance; worst [%lld] got %.9g "
                       "want %.9g",
                       what, e->prec, (long long)bad, (long long)n, (long long)worst,
                       (double)got[worst], (double)ref[worst]);
}

/* Expects identical bits (after rounding ref to the act precision when is_act). */
static inline void ck_bitwise(const ck_env *e, const char *what, const float *got, const float *ref,
                       int64_t n, int is_act) {
    int64_t bad = 0, first = -1;
    double max_abs = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float r = is_act && e->bf16 ? ck_round_bf16(ref[i]) : ref[i];
        if (memcmp(&got[i], &r, sizeof r) != 0) {
            if (first < 0) first = i;
            bad++;
            const double d = fabs((double)got[i] - r);
            if (d > max_abs) max_abs = d;
        }
    }
    fprintf(stderr, "  [%-4s] %-44s bitwise: %lld of %lld differ (max abs err %.3e)%s\n", e->prec,
            what, (long long)bad, (long long)n, max_abs, bad ? "  FAIL" : "");
    if (bad) {
        const float r = is_act && e->bf16 ? ck_round_bf16(ref[first]) : ref[first];
        cr_expect_fail("%s (%s): %lld of %lld values differ bitwise; first [%lld] got %.9g want "
                       "%.9g",
                       what, e->prec, (long long)bad, (long long)n, (long long)first,
                       (double)got[first], (double)r);
    }
}

/* Tolerances for act-dtype outputs: bf16 rounds every stored value (relative 2^-9), so
 * results are compared at a few bf16 ulps; F32 differs from the CPU only by summation order. */
#define CK_ACT_RTOL(e) ((e)->bf16 ? 1e-2 : 1e-4)
#define CK_ACT_ATOL(e) ((e)->bf16 ? 5e-3 : 1e-5)

/* Defines Test(suite, name_fp32) and Test(suite, name_bf16) running fn(prec). */
#define CK_BOTH(suite, name, fn)                 \
    Test(suite, name##_fp32) { fn("fp32"); }     \
    Test(suite, name##_bf16) { fn("bf16"); }

#endif
