/* test_search.c — KD-NAS building blocks: the search space (enumeration, validity,
 * mutation, crossover, determinism), least squares, the latency cache and predictor, and
 * the reward predictor. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/backend_create.h"
#include "ctcd/model.h"
#include "ctcd/search.h"
#include "testutil.h"

static ctcd_search_space small_space(void) {
    ctcd_search_space s = {.min_head_dim = 8};
    s.dim[CTCD_DIM_LAYERS] = (ctcd_search_dim){1, 4, 1};
    s.dim[CTCD_DIM_HIDDEN] = (ctcd_search_dim){32, 128, 32};
    s.dim[CTCD_DIM_HEADS] = (ctcd_search_dim){1, 8, 1};
    s.dim[CTCD_DIM_INTER] = (ctcd_search_dim){64, 512, 64};
    return s;
}

static void expect_ok(ctcd_status st) {
    cr_assert(!st, "unexpected error: %s", ctcd_status_message(st));
}

/* Brute force over the whole grid. */
static int64_t brute_count(const ctcd_search_space *s) {
    int64_t n = 0;
    ctcd_arch a = {.v = {0}};
    for (a.v[0] = s->dim[0].min; a.v[0] <= s->dim[0].max; a.v[0] += s->dim[0].step)
        for (a.v[1] = s->dim[1].min; a.v[1] <= s->dim[1].max; a.v[1] += s->dim[1].step)
            for (a.v[2] = s->dim[2].min; a.v[2] <= s->dim[2].max; a.v[2] += s->dim[2].step)
                for (a.v[3] = s->dim[3].min; a.v[3] <= s->dim[3].max; a.v[3] += s->dim[3].step)
                    n += ctcd_arch_valid(s, &a);
    return n;
}

Test(search_space, count_matches_brute_force_and_index_round_trips) {
    ctcd_search_space s = small_space();
    expect_ok(ctcd_space_check(&s));
    const int64_t n = ctcd_space_count(&s);
    cr_assert_eq(n, brute_count(&s), "count %lld, brute force %lld", (long long)n,
                 (long long)brute_count(&s));
    /* hidden 32: heads 1,2,4; 64: 1,2,4,8; 96: 1,2,3,4,6,8 (head_dim 12); 128: 1,2,4,8 */
    cr_assert_eq(n, 4 * 8 * (3 + 4 + 6 + 4), "count %lld", (long long)n);
    for (int64_t i = 0; i < n; i++) {
        ctcd_arch a;
        cr_assert_eq(ctcd_space_arch_at(&s, i, &a), 0);
        cr_assert(ctcd_arch_valid(&s, &a), "index %lld is invalid", (long long)i);
        cr_assert_eq(ctcd_space_index_of(&s, &a), i, "index %lld does not round-trip",
                     (long long)i);
        cr_assert_eq(a.v[CTCD_DIM_HIDDEN] % a.v[CTCD_DIM_HEADS], 0);
        cr_assert_geq(a.v[CTCD_DIM_HIDDEN] / a.v[CTCD_DIM_HEADS], 8);
    }
    ctcd_arch a;
    cr_assert_eq(ctcd_space_arch_at(&s, n, &a), -1);
    a = (ctcd_arch){.v = {2, 96, 5, 128}};
    cr_assert_eq(ctcd_space_index_of(&s, &a), -1, "96 %% 5 != 0 must be invalid");
    a = (ctcd_arch){.v = {2, 100, 4, 128}};
    cr_assert(!ctcd_arch_valid(&s, &a), "hidden 100 is off the grid");
}

Test(search_space, empty_space_is_an_error_naming_the_dimension) {
    ctcd_search_space s = small_space();
    s.dim[CTCD_DIM_HEADS] = (ctcd_search_dim){16, 16, 1}; /* head_dim <= 8 only at 128 */
    s.min_head_dim = 16;
    ctcd_status st = ctcd_space_check(&s);
    cr_assert(st);
    cr_assert(strstr(ctcd_status_message(st), "no valid architecture"), "%s",
              ctcd_status_message(st));
    ctcd_status_free(st);
    s = small_space();
    s.dim[CTCD_DIM_INTER].step = 0;
    st = ctcd_space_check(&s);
    cr_assert(st && strstr(ctcd_status_message(st), "search.intermediate"), "%s",
              ctcd_status_message(st));
    ctcd_status_free(st);
}

Test(search_space, mutation_stays_valid_moves_one_dimension_within_k_steps) {
    ctcd_search_space s = small_space();
    ctcd_rng r;
    ctcd_rng_init(&r, 5, 0);
    for (int it = 0; it < 2000; it++) {
        ctcd_arch a, b;
        ctcd_space_sample(&s, &r, &a);
        cr_assert(ctcd_arch_valid(&s, &a));
        cr_assert_eq(ctcd_space_mutate(&s, &r, 2, &a, &b), 0);
        cr_assert(ctcd_arch_valid(&s, &b));
        int changed = 0;
        for (int d = 0; d < CTCD_N_DIMS; d++) {
            if (a.v[d] == b.v[d]) continue;
            changed++;
            const int steps = abs(a.v[d] - b.v[d]) / s.dim[d].step;
            cr_assert(steps >= 1 && steps <= 2, "dimension %s moved %d steps",
                      ctcd_dim_names[d], steps);
        }
        cr_assert_eq(changed, 1, "mutation changed %d dimensions", changed);
    }
}

Test(search_space, crossover_takes_each_gene_from_a_parent_and_is_valid) {
    ctcd_search_space s = small_space();
    ctcd_rng r;
    ctcd_rng_init(&r, 9, 0);
    for (int it = 0; it < 2000; it++) {
        ctcd_arch a, b, c;
        ctcd_space_sample(&s, &r, &a);
        ctcd_space_sample(&s, &r, &b);
        ctcd_space_crossover(&s, &r, &a, &b, &c);
        cr_assert(ctcd_arch_valid(&s, &c));
        for (int d = 0; d < CTCD_N_DIMS; d++)
            cr_assert(c.v[d] == a.v[d] || c.v[d] == b.v[d]);
    }
}

Test(search_space, sampling_and_mutation_are_deterministic_for_a_seed) {
    ctcd_search_space s = small_space();
    ctcd_rng r1, r2;
    ctcd_rng_init(&r1, 77, 3);
    ctcd_rng_init(&r2, 77, 3);
    for (int it = 0; it < 400; it++) {
        s.per_layer = it >= 200; /* uniform, then per-layer */
        ctcd_arch a1, a2, m1, m2, c1, c2;
        ctcd_space_sample(&s, &r1, &a1);
        ctcd_space_sample(&s, &r2, &a2);
        ctcd_space_mutate(&s, &r1, 3, &a1, &m1);
        ctcd_space_mutate(&s, &r2, 3, &a2, &m2);
        ctcd_space_crossover(&s, &r1, &a1, &m1, &c1);
        ctcd_space_crossover(&s, &r2, &a2, &m2, &c2);
        cr_assert(!memcmp(&a1, &a2, sizeof a1) && !memcmp(&m1, &m2, sizeof m1) &&
                  !memcmp(&c1, &c2, sizeof c1), "draw %d differs", it);
    }
}

Test(search_space, parameter_count_matches_the_model_layout) {
    const ctcd_arch a = {.v = {3, 96, 6, 320}};
    ctcd_bert_config cfg;
    expect_ok(ctcd_arch_config(&a, 1234, 512, 3, &cfg));
    ctcd_model_layout lay;
    expect_ok(ctcd_model_layout_build(&cfg, &lay));
    cr_assert_eq(ctcd_arch_n_params(&a, 1234, 3), lay.n_params_real,
                 "closed form %lld, layout %lld", (long long)ctcd_arch_n_params(&a, 1234, 3),
                 (long long)lay.n_params_real);
    ctcd_model_layout_free(&lay);
}

Test(search_lstsq, recovers_exact_coefficients_and_rejects_singular_systems) {
    double X[8 * 3], y[8], w[3];
    for (int i = 0; i < 8; i++) {
        X[i * 3] = 1, X[i * 3 + 1] = i * 0.5, X[i * 3 + 2] = (i * i) % 5;
        y[i] = 0.25 + 2.0 * X[i * 3 + 1] - 3.5 * X[i * 3 + 2];
    }
    expect_ok(ctcd_lstsq(X, y, 8, 3, 0.0, 1, w));
    cr_assert(fabs(w[0] - 0.25) < 1e-9 && fabs(w[1] - 2.0) < 1e-9 && fabs(w[2] + 3.5) < 1e-9,
              "w = %g %g %g", w[0], w[1], w[2]);
    for (int i = 0; i < 8; i++) X[i * 3 + 2] = 2 * X[i * 3 + 1]; /* collinear */
    ctcd_status st = ctcd_lstsq(X, y, 8, 3, 0.0, 1, w);
    cr_assert(st && strstr(ctcd_status_message(st), "singular"), "%s", ctcd_status_message(st));
    ctcd_status_free(st);
}

/* ---- latency ---- */

static ctcd_status fake_measure(ctcd_backend *be, const ctcd_arch *a,
                                const ctcd_latency_opts *o, double *ms) {
    (void)be, (void)o;
    *ms = a->v[0] * 1.5 + a->v[1] * 0.01;
    return CTCD_OK;
}

static const ctcd_latency_opts LAT = {.B = 2, .T = 16, .reps = 3, .warmup = 1, .vocab = 1200,
                                      .n_labels = 2, .seed = 1};

Test(search_latency, cache_hit_returns_stored_value_without_measuring) {
    char *dir = ctcd_test_tmpdir();
    char path[1024];
    snprintf(path, sizeof path, "%s/latency.tsv", dir);
    ctcd_backend *be = NULL;
    expect_ok(ctcd_backend_create("cpu", &be));
    ctcd_latency_cache c;
    expect_ok(ctcd_latency_cache_open(&c, path));
    c.measure = fake_measure;
    const ctcd_arch a = {.v = {2, 64, 2, 128}}, b = {.v = {3, 64, 2, 128}};
    double ms;
    int measured;
    expect_ok(ctcd_latency_get(&c, be, &a, &LAT, &ms, &measured));
    cr_assert(measured && c.n_measured == 1 && fabs(ms - 3.64) < 1e-9);
    expect_ok(ctcd_latency_get(&c, be, &a, &LAT, &ms, &measured));
    cr_assert(!measured && c.n_measured == 1, "a repeat measured again");
    ctcd_latency_opts o2 = LAT;
    o2.T = 32; /* another shape is another key */
    expect_ok(ctcd_latency_get(&c, be, &a, &o2, &ms, &measured));
    cr_assert(measured && c.n_measured == 2);
    expect_ok(ctcd_latency_get(&c, be, &b, &LAT, &ms, &measured));
    cr_assert_eq(c.n_measured, 3);
    ctcd_latency_cache_close(&c);
    /* reopened from the file: every key is a hit, with the stored value */
    expect_ok(ctcd_latency_cache_open(&c, path));
    c.measure = fake_measure;
    cr_assert_eq(c.n, 3);
    c.e[0].ms = 42.0; /* proves the value comes from the cache, not a measurement */
    expect_ok(ctcd_latency_get(&c, be, &a, &LAT, &ms, &measured));
    cr_assert(!measured && c.n_measured == 0 && ms == 42.0, "ms %g", ms);
    ctcd_latency_cache_close(&c);
    be->destroy(be);
    ctcd_test_rmtree(dir);
    free(dir);
}

Test(search_latency, real_measurement_on_cpu_is_positive) {
    ctcd_backend *be = NULL;
    expect_ok(ctcd_backend_create("cpu", &be));
    const ctcd_arch a = {.v = {1, 32, 2, 64}};
    double ms = -1;
    expect_ok(ctcd_latency_measure(be, &a, &LAT, &ms));
    cr_assert(ms > 0 && ms < 10000, "ms %g", ms);
    be->destroy(be);
}

Test(search_latency, predictor_recovers_synthetic_coefficients) {
    ctcd_search_space s = small_space();
    ctcd_rng r;
    ctcd_rng_init(&r, 3, 0);
    ctcd_arch a[40];
    double ms[40];
    const double w_true[3] = {0.3, 1.7, 0.05};
    for (int i = 0; i < 40; i++) {
        ctcd_space_sample(&s, &r, &a[i]);
        double f[CTCD_LAT_NFEAT];
        ctcd_latency_features(&a[i], &LAT, f);
        ms[i] = w_true[0] * f[0] + w_true[1] * f[1] + w_true[2] * f[2];
    }
    ctcd_latency_model m;
    expect_ok(ctcd_latency_fit(&m, a, ms, 40, &LAT));
    for (int k = 0; k < 3; k++)
        cr_assert(fabs(m.w[k] - w_true[k]) < 1e-6 * (1 + fabs(w_true[k])), "w[%d] = %.12g, want %g",
                  k, m.w[k], w_true[k]);
    const ctcd_arch q = {.v = {4, 128, 8, 512}};
    double f[CTCD_LAT_NFEAT];
    ctcd_latency_features(&q, &LAT, f);
    const double want = w_true[0] + w_true[1] * f[1] + w_true[2] * f[2];
    cr_assert(fabs(ctcd_latency_predict(&m, &q, &LAT) - want) < 1e-6 * want);
}

/* ---- reward predictor ---- */

/* Uniform, then per-layer (whose last two features are not all zero). */
static void fit_and_rank(int per_layer) {
    ctcd_search_space s = small_space();
    s.per_layer = per_layer;
    ctcd_rng r;
    ctcd_rng_init(&r, 4, 0);
    enum { N = 40 };
    ctcd_arch a[N];
    double y[N];
    double w_true[CTCD_PRED_NFEAT] = {0.5, 0.1, 0.3, -0.05, 0.02, 0.08, -0.2, 0.15};
    if (!per_layer) w_true[6] = w_true[7] = 0;
    for (int i = 0; i < N; i++) {
        ctcd_space_sample(&s, &r, &a[i]);
        double f[CTCD_PRED_NFEAT];
        ctcd_reward_features(&s, &a[i], f);
        y[i] = 0;
        for (int k = 0; k < CTCD_PRED_NFEAT; k++) y[i] += w_true[k] * f[k];
    }
    ctcd_reward_model m;
    expect_ok(ctcd_reward_fit(&m, &s, a, y, N, 0.0));
    for (int k = 0; k < CTCD_PRED_NFEAT; k++)
        cr_assert(fabs(m.w[k] - w_true[k]) < 1e-6, "w[%d] = %.9g, want %g", k, m.w[k], w_true[k]);
    int order[N];
    ctcd_reward_rank(&m, &s, a, N, order);
    for (int i = 1; i < N; i++)
        cr_assert(y[order[i - 1]] >= y[order[i]] - 1e-9, "rank %d: %g before %g", i,
                  y[order[i - 1]], y[order[i]]);
    /* ridge shrinks but keeps the order of a clearly ordered pair */
    expect_ok(ctcd_reward_fit(&m, &s, a, y, N, 0.1));
    const ctcd_arch big = {.v = {4, 128, 4, 512}}, tiny = {.v = {1, 32, 1, 64}};
    cr_assert(ctcd_reward_predict(&m, &s, &big) > ctcd_reward_predict(&m, &s, &tiny));
}

Test(search_predictor, fits_a_linear_function_and_ranks_by_it) {
    fit_and_rank(0);
    fit_and_rank(1);
}
