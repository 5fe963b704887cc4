/* test_minidisc.c — MiniDisc scheduling pieces (include/ctcd/schedule.h): the sparsity list,
 * the λ-tradeoff choice on a hand-made table, the sandwich rule, and the elastic TA's loss:
 * with a fixed sample of sparsities the sandwich loss and gradients are the mean of the
 * single-sparsity ones, and the hidden-state term's gradient matches finite differences. */
#include <math.h>

#include "ctcd/schedule.h"
#include "tiny_bert.h"

Test(minidisc, sparsity_list_parses_sorted_and_rejects_bad_values) {
    float sp[CTCD_SCHED_MAX];
    int n = 0;
    ctcd_status st = ctcd_sparsity_list_parse("0.5, 0.05,0.9 ,0.25", "k", sp, CTCD_SCHED_MAX, &n);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_eq(n, 4);
    const float want[4] = {0.05f, 0.25f, 0.5f, 0.9f};
    for (int i = 0; i < 4; i++) cr_assert_eq(sp[i], want[i], "sp[%d] = %g", i, (double)sp[i]);
    const char *bad[] = {"", "0.5,1.0", "-0.1", "0.2,,0.3", "0.3,0.3", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        st = ctcd_sparsity_list_parse(bad[i], "schedule.sparsities", sp, CTCD_SCHED_MAX, &n);
        cr_assert_not_null(st, "'%s' accepted", bad[i]);
        cr_assert(strstr(ctcd_status_message(st), "schedule.sparsities"), "%s",
                  ctcd_status_message(st));
        ctcd_status_free(st);
    }
}

Test(minidisc, lambda_tradeoff_picks_the_expected_ta) {
    /* dev falls with sparsity; λ = 0.2 trades 0.02 of dev per 0.1 of sparsity */
    ctcd_ta_row rows[5] = {
        {.sparsity = 0.1f, .dev = 0.90}, {.sparsity = 0.3f, .dev = 0.89},
        {.sparsity = 0.5f, .dev = 0.87}, {.sparsity = 0.7f, .dev = 0.80},
        {.sparsity = 0.9f, .dev = NAN},
    };
    /* scores: 0.92, 0.95, 0.97, 0.94, NaN -> sparsity 0.5 */
    cr_assert_eq(ctcd_ta_choose(rows, 5, 0.2), 2);
    cr_assert(rows[2].chosen && !rows[0].chosen && !rows[1].chosen && !rows[3].chosen &&
              !rows[4].chosen);
    cr_assert(fabs(rows[2].score - 0.97) < 1e-6, "score %g", rows[2].score);
    /* λ = 0: the best dev wins; a large λ: the sparsest finite one */
    cr_assert_eq(ctcd_ta_choose(rows, 5, 0.0), 0);
    cr_assert_eq(ctcd_ta_choose(rows, 5, 5.0), 3);
    /* ties go to the sparser (cheaper) TA */
    ctcd_ta_row tie[2] = {{.sparsity = 0.2f, .dev = 0.9}, {.sparsity = 0.4f, .dev = 0.9}};
    cr_assert_eq(ctcd_ta_choose(tie, 2, 0.0), 1);
    ctcd_ta_row none[1] = {{.sparsity = 0.2f, .dev = NAN}};
    cr_assert_eq(ctcd_ta_choose(none, 1, 0.2), -1);
}

Test(minidisc, sandwich_sample_has_both_ends_and_k_distinct_inner) {
    ctcd_rng r;
    ctcd_rng_init(&r, 3, 0);
    int idx[CTCD_SCHED_MAX];
    for (int rep = 0; rep < 50; rep++) {
        const int n = ctcd_sandwich_sample(10, 3, &r, idx);
        cr_assert_eq(n, 5);
        cr_assert_eq(idx[0], 0);
        cr_assert_eq(idx[1], 9);
        for (int i = 2; i < n; i++) {
            cr_assert(idx[i] >= 1 && idx[i] <= 8, "inner index %d", idx[i]);
            for (int j = 2; j < i; j++) cr_assert_neq(idx[i], idx[j]);
        }
    }
    cr_assert_eq(ctcd_sandwich_sample(4, 5, &r, idx), 4); /* k capped at the inner count */
    cr_assert_eq(ctcd_sandwich_sample(2, 2, &r, idx), 2);
    cr_assert_eq(ctcd_sandwich_sample(1, 2, &r, idx), 1);
    cr_assert_eq(idx[0], 0);
}

/* A teacher and a differently initialised TA of the tiny config, with an elastic TA over
 * three sparsities. */
typedef struct efix {
    tiny f;
    ctcd_model *teacher;
    ctcd_elastic e;
    ctcd_batch hb;
    float *head, *ffn;
} efix;

static void efix_make(efix *x, float dropout, float logit_w, float hidden_w) {
    memset(x, 0, sizeof *x);
    tiny_make(&x->f, dropout);
    const ctcd_bert_config c = tiny_config(dropout);
    x->teacher = tiny_model(x->f.be, &c, 21);
    ctcd_model_freeze(x->teacher);
    x->head = malloc((size_t)x->f.m->n_head_units * sizeof *x->head);
    x->ffn = malloc((size_t)x->f.m->n_ffn_units * sizeof *x->ffn);
    ctcd_test_fill_uniform(x->head, x->f.m->n_head_units, 0.1f, 1.0f, 5);
    ctcd_test_fill_uniform(x->ffn, x->f.m->n_ffn_units, 0.1f, 1.0f, 6);
    const float sp[3] = {0.2f, 0.5f, 0.8f};
    const ctcd_elastic_opts o = {.temperature = 2.0f, .logit_w = logit_w, .hidden_w = hidden_w};
    ctcd_status st = ctcd_elastic_init(&x->e, x->f.m, x->teacher, x->head, x->ffn, sp, 3, &o);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    x->hb = (ctcd_batch){.B = x->f.b.B, .T = x->f.b.T, .ids = x->f.ids, .types = x->f.types,
                         .mask = x->f.mask, .labels = x->f.labels, .cls_idx = x->f.cls};
}

static void efix_free(efix *x) {
    ctcd_elastic_free(&x->e);
    ctcd_model_destroy(x->teacher);
    free(x->head);
    free(x->ffn);
    tiny_free(&x->f);
}

static double grad_of(efix *x, const int *idx, int n, double *per) {
    const ctcd_elastic_labels y = {x->f.labels, NULL};
    double loss;
    ctcd_status st = ctcd_elastic_loss_grad(&x->e, &x->hb, &x->f.b, &y, idx, n, 5, &loss, per);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    return loss;
}

Test(minidisc, sandwich_loss_and_gradients_are_the_mean_over_sampled_sparsities) {
    efix x;
    efix_make(&x, 0.1f, 1.0f, 1.0f);
    ctcd_model *m = x.f.m;
    const size_t n = (size_t)m->lay.n_total;
    /* the keep flags differ between sparsities and prune more as sparsity grows */
    int kept[3] = {0};
    for (int i = 0; i < 3; i++)
        for (int64_t u = 0; u < m->n_ffn_units; u++) kept[i] += x.e.gate_ffn[i * m->n_ffn_units + u] > 0;
    cr_assert(kept[0] > kept[1] && kept[1] > kept[2], "kept FFN units %d %d %d", kept[0],
              kept[1], kept[2]);
    cr_assert(x.e.params[0] > x.e.params[1] && x.e.params[1] > x.e.params[2]);

    double single[3];
    float *g = calloc(n, sizeof *g);
    for (int i = 0; i < 3; i++) {
        const int one = i;
        single[i] = grad_of(&x, &one, 1, NULL);
        cr_assert(single[i] > 0, "loss at sparsity %d is %g", i, single[i]);
        for (size_t j = 0; j < n; j++) g[j] += m->ps.grads[j] / 3.0f;
    }
    const int all[3] = {0, 2, 1};
    double per[3];
    const double mean = grad_of(&x, all, 3, per);
    const double want = (single[0] + single[1] + single[2]) / 3.0;
    cr_assert(fabs(mean - want) <= 1e-6 * fabs(want), "sandwich loss %.9g, mean of singles %.9g",
              mean, want);
    cr_assert(fabs(per[1] - single[2]) <= 1e-6 * single[2], "per-sparsity loss differs");
    double worst = 0, scale = 0;
    for (size_t j = 0; j < n; j++) {
        worst = fmax(worst, fabs((double)m->ps.grads[j] - g[j]));
        scale = fmax(scale, fabs((double)g[j]));
    }
    cr_assert(scale > 0 && worst <= 1e-5 * scale, "gradient max |diff| %g (scale %g)", worst,
              scale);
    free(g);
    efix_free(&x);
}

Test(minidisc, hidden_mse_gradient_matches_finite_differences) {
    efix x;
    efix_make(&x, 0.0f, 0.0f, 1.0f); /* hidden term alone, dropout off */
    ctcd_model *m = x.f.m;
    const int one = 1;
    grad_of(&x, &one, 1, NULL);
    float *g = malloc((size_t)m->lay.n_total * sizeof *g);
    memcpy(g, m->ps.grads, (size_t)m->lay.n_total * sizeof *g);
    /* probes: the largest analytic gradient in each of four regions of the buffer (so the
     * check is not lost in finite-difference noise) */
    int64_t probes[4];
    const int64_t span = m->lay.n_total / 4;
    for (int k = 0; k < 4; k++) {
        probes[k] = k * span;
        for (int64_t j = k * span; j < (k + 1) * span; j++)
            if (fabsf(g[j]) > fabsf(g[probes[k]])) probes[k] = j;
    }
    double biggest = 0;
    for (int k = 0; k < 4; k++) {
        const int64_t p = probes[k];
        const float w0 = m->ps.master[p], h = 3e-3f;
        m->ps.master[p] = w0 + h;
        const double lp = grad_of(&x, &one, 1, NULL);
        m->ps.master[p] = w0 - h;
        const double lm = grad_of(&x, &one, 1, NULL);
        m->ps.master[p] = w0;
        const double fd = (lp - lm) / (2.0 * h);
        biggest = fmax(biggest, fabs(fd));
        cr_assert(fabs(fd - g[p]) <= 1e-4 + 3e-2 * fabs(fd),
                  "parameter %lld: analytic %.6g vs finite difference %.6g", (long long)p,
                  (double)g[p], fd);
    }
    cr_assert(biggest > 1e-2, "the probes barely move the hidden loss (max |fd| %g)", biggest);
    free(g);
    efix_free(&x);
}
