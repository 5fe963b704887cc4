/* test_search_layers.c — the per-layer KD-NAS space (search.per_layer): count against brute
 * force, sampling / mutation / crossover stay valid and in bounds (determinism is in
 * test_search.c), names that round-trip, parameter count and config against the model,
 * per-layer latency cache lines, predictor features that leave uniform archs unchanged. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/backend_create.h"
#include "ctcd/model.h"
#include "ctcd/search.h"
#include "testutil.h"

static ctcd_search_space layer_space(void) {
    ctcd_search_space s = {.min_head_dim = 8, .per_layer = 1};
    s.dim[CTCD_DIM_LAYERS] = (ctcd_search_dim){1, 3, 1};
    s.dim[CTCD_DIM_HIDDEN] = (ctcd_search_dim){32, 64, 32};
    s.dim[CTCD_DIM_HEADS] = (ctcd_search_dim){1, 4, 1};
    s.dim[CTCD_DIM_INTER] = (ctcd_search_dim){64, 192, 64};
    return s;
}

static void expect_ok(ctcd_status st) {
    cr_assert(!st, "unexpected error: %s", ctcd_status_message(st));
}

/* Every (layers, hidden, heads, per-layer heads and FFN) assignment on the grid, with
 * v[INTER] tried at every grid value: the valid ones are counted. */
static int64_t brute(const ctcd_search_space *s, ctcd_arch *a, int l) {
    const int L = a->v[CTCD_DIM_LAYERS];
    if (l == L) {
        int64_t n = 0;
        for (a->v[3] = s->dim[3].min; a->v[3] <= s->dim[3].max; a->v[3] += s->dim[3].step)
            n += ctcd_arch_valid(s, a);
        return n;
    }
    int64_t n = 0;
    for (int h = s->dim[2].min; h <= s->dim[2].max; h += s->dim[2].step)
        for (int i = s->dim[3].min; i <= s->dim[3].max; i += s->dim[3].step) {
            a->layer_heads[l] = h;
            a->layer_inter[l] = i;
            n += brute(s, a, l + 1);
        }
    a->layer_heads[l] = a->layer_inter[l] = 0;
    return n;
}

Test(search_layers, count_matches_brute_force) {
    ctcd_search_space s = layer_space();
    expect_ok(ctcd_space_check(&s));
    int64_t n = 0;
    ctcd_arch a = {.v = {0}};
    for (a.v[0] = 1; a.v[0] <= 3; a.v[0]++)
        for (a.v[1] = 32; a.v[1] <= 64; a.v[1] += 32)
            for (a.v[2] = 1; a.v[2] <= 4; a.v[2]++) n += brute(&s, &a, 0);
    cr_assert_eq(ctcd_space_count(&s), n, "count %lld, brute force %lld",
                 (long long)ctcd_space_count(&s), (long long)n);
    /* (hidden, heads): 32 and 64 each with heads 1, 2, 4, allowing 1, 2, 4 layer-head
     * values (heads grid 1..4 up to heads) x 3 FFN widths per layer, depth 1..3 */
    const int64_t per[] = {1 * 3, 2 * 3, 4 * 3, 1 * 3, 2 * 3, 4 * 3};
    int64_t want = 0;
    for (int p = 0; p < 6; p++) want += per[p] + per[p] * per[p] + per[p] * per[p] * per[p];
    cr_assert_eq(n, want, "brute force %lld, closed form %lld", (long long)n, (long long)want);
    cr_assert_eq(ctcd_space_arch_at(&s, 0, &a), -1, "per-layer spaces do not enumerate");
}

static void expect_in_bounds(const ctcd_search_space *s, const ctcd_arch *a) {
    cr_assert(ctcd_arch_valid(s, a), "invalid architecture");
    cr_assert(ctcd_arch_is_per_layer(a));
    int widest = 0;
    for (int l = 0; l < a->v[CTCD_DIM_LAYERS]; l++) {
        cr_assert(a->layer_heads[l] >= s->dim[2].min && a->layer_heads[l] <= a->v[2]);
        cr_assert(a->layer_inter[l] >= s->dim[3].min && a->layer_inter[l] <= s->dim[3].max);
        widest = a->layer_inter[l] > widest ? a->layer_inter[l] : widest;
    }
    cr_assert_eq(widest, a->v[CTCD_DIM_INTER]);
}

Test(search_layers, sample_mutate_crossover_stay_valid_and_in_bounds) {
    ctcd_search_space s = layer_space();
    ctcd_rng r;
    ctcd_rng_init(&r, 13, 0);
    int non_uniform = 0, depth_changes = 0;
    for (int it = 0; it < 3000; it++) {
        ctcd_arch a, b, m, c;
        ctcd_space_sample(&s, &r, &a);
        ctcd_space_sample(&s, &r, &b);
        expect_in_bounds(&s, &a);
        cr_assert_eq(ctcd_space_mutate(&s, &r, 2, &a, &m), 0);
        expect_in_bounds(&s, &m);
        cr_assert(memcmp(&a, &m, sizeof a), "mutation returned its parent");
        depth_changes += m.v[0] != a.v[0];
        ctcd_space_crossover(&s, &r, &a, &b, &c);
        expect_in_bounds(&s, &c);
        cr_assert(c.v[0] == a.v[0] || c.v[0] == b.v[0]);
        cr_assert(c.v[1] == a.v[1] || c.v[1] == b.v[1]);
        for (int l = 0; l < c.v[0]; l++) {
            const int from_a = l < a.v[0] && a.layer_inter[l] == c.layer_inter[l];
            const int from_b = l < b.v[0] && b.layer_inter[l] == c.layer_inter[l];
            cr_assert(from_a || from_b, "layer %d FFN from neither parent", l);
            non_uniform += c.layer_inter[l] != c.layer_inter[0];
        }
    }
    cr_assert_gt(non_uniform, 100, "per-layer children are nearly always uniform");
    cr_assert_gt(depth_changes, 100, "mutation rarely changes depth");
}

Test(search_layers, name_round_trips_and_uniform_spaces_reject_per_layer_genes) {
    ctcd_arch a = {.v = {3, 96, 6, 320}};
    const int heads[] = {6, 2, 4}, inter[] = {320, 64, 128};
    memcpy(a.layer_heads, heads, sizeof heads);
    memcpy(a.layer_inter, inter, sizeof inter);
    char name[64];
    cr_assert_str_eq(ctcd_arch_str(&a, name, sizeof name), "L3-H96-A6-I320-a6.2.4-i320.64.128");
    ctcd_arch b;
    expect_ok(ctcd_arch_parse(name, "test", &b));
    cr_assert(!memcmp(&a, &b, sizeof a), "parse(str(a)) != a");
    const char *bad[] = {"L3-H96-A6-I320-a6.2-i320.64.128", "L3-H96-A6-I256-a6.2.4-i320.64.128",
                         "L3-H96-A6-I320-a6.7.4-i320.64.128", "L3-H96-A6-I320-a6.2.4"};
    for (int i = 0; i < 4; i++) {
        ctcd_status st = ctcd_arch_parse(bad[i], "test", &b);
        cr_assert(st, "'%s' parsed", bad[i]);
        ctcd_status_free(st);
    }
    ctcd_search_space u = layer_space();
    u.per_layer = 0;
    const ctcd_arch p = {.v = {1, 64, 2, 128}, .layer_heads = {2}, .layer_inter = {128}};
    cr_assert(!ctcd_arch_valid(&u, &p), "a uniform space accepted per-layer genes");
    u.per_layer = 1;
    cr_assert(ctcd_arch_valid(&u, &p));
}

Test(search_layers, parameter_count_and_config_match_the_model) {
    ctcd_arch a = {.v = {3, 96, 6, 320}};
    const int heads[] = {6, 2, 4}, inter[] = {320, 64, 128};
    memcpy(a.layer_heads, heads, sizeof heads);
    memcpy(a.layer_inter, inter, sizeof inter);
    ctcd_bert_config cfg;
    expect_ok(ctcd_arch_config(&a, 1234, 512, 3, &cfg));
    for (int l = 0; l < 3; l++)
        cr_assert(cfg.layer_heads[l] == heads[l] && cfg.layer_intermediate[l] == inter[l]);
    cr_assert_eq(cfg.head_dim, 16);
    ctcd_model_layout lay;
    expect_ok(ctcd_model_layout_build(&cfg, &lay));
    cr_assert_eq(ctcd_arch_n_params(&a, 1234, 3), lay.n_params_real,
                 "closed form %lld, layout %lld", (long long)ctcd_arch_n_params(&a, 1234, 3),
                 (long long)lay.n_params_real);
    ctcd_model_layout_free(&lay);
}

static ctcd_status fake_measure(ctcd_backend *be, const ctcd_arch *a,
                                const ctcd_latency_opts *o, double *ms) {
    (void)be, (void)o;
    *ms = 1.0 + a->layer_inter[0] * 0.01;
    return CTCD_OK;
}

Test(search_layers, latency_cache_keys_and_stores_per_layer_shapes) {
    char *dir = ctcd_test_tmpdir();
    char path[1024];
    snprintf(path, sizeof path, "%s/latency.tsv", dir);
    ctcd_backend *be = NULL;
    expect_ok(ctcd_backend_create("cpu", &be));
    const ctcd_latency_opts o = {.B = 1, .T = 16, .reps = 1, .vocab = 100, .n_labels = 2};
    const ctcd_arch u = {.v = {2, 64, 2, 128}};
    const ctcd_arch p = {.v = {2, 64, 2, 128}, .layer_heads = {2, 1}, .layer_inter = {128, 64}};
    ctcd_latency_cache c;
    expect_ok(ctcd_latency_cache_open(&c, path));
    c.measure = fake_measure;
    double ms;
    int measured;
    expect_ok(ctcd_latency_get(&c, be, &u, &o, &ms, &measured));
    expect_ok(ctcd_latency_get(&c, be, &p, &o, &ms, &measured));
    cr_assert(measured && c.n_measured == 2, "the per-layer arch hit the uniform one's entry");
    ctcd_latency_cache_close(&c);
    expect_ok(ctcd_latency_cache_open(&c, path));
    c.measure = fake_measure;
    cr_assert_eq(c.n, 2);
    expect_ok(ctcd_latency_get(&c, be, &p, &o, &ms, &measured));
    cr_assert(!measured && fabs(ms - 2.28) < 1e-9, "per-layer entry not read back (ms %g)", ms);
    ctcd_latency_cache_close(&c);
    be->destroy(be);
    ctcd_test_rmtree(dir);
    free(dir);
}

Test(search_layers, predictor_features_of_uniform_archs_ignore_the_per_layer_terms) {
    ctcd_search_space s = layer_space();
    const ctcd_arch u = {.v = {2, 64, 4, 128}};
    const ctcd_arch p = {.v = {2, 64, 4, 128}, .layer_heads = {4, 4}, .layer_inter = {128, 128}};
    const ctcd_arch q = {.v = {2, 64, 4, 128}, .layer_heads = {2, 4}, .layer_inter = {64, 128}};
    double fu[CTCD_PRED_NFEAT], fp[CTCD_PRED_NFEAT], fq[CTCD_PRED_NFEAT];
    ctcd_reward_features(&s, &u, fu);
    ctcd_reward_features(&s, &p, fp);
    ctcd_reward_features(&s, &q, fq);
    for (int k = 0; k < CTCD_PRED_NFEAT; k++)
        cr_assert(fabs(fu[k] - fp[k]) < 1e-12, "feature %d: uniform %g, per-layer alike %g", k,
                  fu[k], fp[k]);
    cr_assert(fu[6] == 0 && fu[7] == 0);
    cr_assert(fq[6] > 0 && fq[7] > 0 && fq[5] < fu[5], "narrower layers: %g %g %g", fq[5], fq[6],
              fq[7]);
    const ctcd_latency_opts o = {.B = 1, .T = 16, .vocab = 100, .n_labels = 2};
    double lu[CTCD_LAT_NFEAT], lq[CTCD_LAT_NFEAT];
    ctcd_latency_features(&u, &o, lu);
    ctcd_latency_features(&q, &o, lq);
    cr_assert(lq[1] < lu[1] && lq[2] < lu[2], "latency features ignore the per-layer widths");
}
