/* test_loss.c — KD math of the fused lockstep loss: KL of identical distributions is 0, the
 * mutual gradient is T·(softmax(z/T) − softmax(z_peer/T))/rows, stop-gradient holds, and
 * finite differences agree for both models (T ≠ 1) and for the MSE variant; the same for
 * the frozen-teacher term (three-model mode). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/backend.h"
#include "ctcd/backend_cpu.h"
#include "ctcd/backend_create.h"
#include "gradcheck.h"
#include "testutil.h"

#define R 4
#define C 5

typedef struct loss_ctx {
    ctcd_backend *be;
    float z[2][R * C], dz[2][R * C], terms[CTCD_LOSS_NTERMS];
    float zt[R * C];   /* teacher logits */
    int use_teacher;
    int32_t labels[R];
    float targets[R];
    ctcd_loss_desc d;
    int which; /* total of which model FD differentiates */
} loss_ctx;

static void setup(loss_ctx *c, ctcd_loss_kind kind, float T) {
    memset(c, 0, sizeof *c);
    cr_assert_null(ctcd_backend_cpu_create(&c->be));
    c->d = (ctcd_loss_desc){.kind = kind, .n_models = 2, .rows = R,
                            .classes = kind == CTCD_LOSS_MSE ? 1 : C, .temperature = T,
                            .hard_w = {0.7f, 1.3f}, .mutual_w = {0.9f, 0.4f}};
    ctcd_test_fill_uniform(c->z[0], R * C, -2, 2, 1);
    ctcd_test_fill_uniform(c->z[1], R * C, -2, 2, 2);
    ctcd_test_fill_uniform(c->zt, R * C, -3, 3, 3);
    for (int r = 0; r < R; r++) {
        c->labels[r] = r == 2 ? -1 : (r * 3) % C; /* row 2 unlabelled */
        c->targets[r] = r == 2 ? NAN : 0.5f * (float)r;
    }
}

static void run(loss_ctx *c) {
    ctcd_loss_io io = {.logits = {c->z[0], c->z[1]}, .dlogits = {c->dz[0], c->dz[1]},
                       .labels = c->labels, .targets = c->targets, .terms = c->terms,
                       .teacher = c->use_teacher ? c->zt : NULL};
    ctcd_status st = c->be->loss(c->be, &c->d, &io);
    cr_assert_null(st, "%s", ctcd_status_message(st));
}

static double total_of(void *p) {
    loss_ctx *c = p;
    run(c);
    return c->terms[CTCD_TERM_TOTAL0 + c->which];
}

/* Finite differences of each model's total against the dz of the last run (tag: names the
 * case in a failure). */
static void check_both_fd(loss_ctx *c, const char *tag) {
    float g[2][R * C];
    memcpy(g, c->dz, sizeof g);
    for (int m = 0; m < 2; m++) {
        char what[96];
        snprintf(what, sizeof what, "dz %s%s", m ? "small" : "large", tag);
        c->which = m;
        gc_check(what, c->z[m], g[m], R * C, 1, total_of, c);
    }
}

static void softmax(const float *z, int n, float T, double *p) {
    double mx = -INFINITY, s = 0;
    for (int i = 0; i < n; i++) mx = fmax(mx, z[i] / T);
    for (int i = 0; i < n; i++) s += (p[i] = exp(z[i] / T - mx));
    for (int i = 0; i < n; i++) p[i] /= s;
}

Test(loss, kl_of_identical_distributions_is_zero) {
    loss_ctx c;
    setup(&c, CTCD_LOSS_CE_KL, 2.0f);
    memcpy(c.z[1], c.z[0], sizeof c.z[0]);
    run(&c);
    cr_assert_float_eq(c.terms[CTCD_TERM_MUTUAL0], 0.0f, 1e-7, "KL %g", (double)c.terms[CTCD_TERM_MUTUAL0]);
    cr_assert_float_eq(c.terms[CTCD_TERM_MUTUAL1], 0.0f, 1e-7, "KL %g", (double)c.terms[CTCD_TERM_MUTUAL1]);
    ctcd_backend_destroy(c.be);
}

Test(loss, mutual_gradient_is_T_times_softmax_difference_over_rows) {
    loss_ctx c;
    const float T = 3.0f;
    setup(&c, CTCD_LOSS_CE_KL, T);
    c.d.hard_w[0] = c.d.hard_w[1] = 0.0f;
    c.d.mutual_w[0] = c.d.mutual_w[1] = 1.0f;
    run(&c);
    for (int m = 0; m < 2; m++)
        for (int r = 0; r < R; r++) {
            double p[C], q[C];
            softmax(c.z[m] + r * C, C, T, p);
            softmax(c.z[1 - m] + r * C, C, T, q);
            for (int k = 0; k < C; k++) {
                const double want = T * (p[k] - q[k]) / R;
                cr_assert_float_eq(c.dz[m][r * C + k], want, 1e-6,
                                   "model %d row %d class %d: %g vs %g", m, r, k,
                                   (double)c.dz[m][r * C + k], want);
            }
        }
    ctcd_backend_destroy(c.be);
}

Test(loss, peer_gets_no_gradient_from_the_term_that_uses_it_as_target) {
    loss_ctx c;
    setup(&c, CTCD_LOSS_CE_KL, 2.0f);
    c.d.hard_w[0] = c.d.hard_w[1] = 0.0f;
    c.d.mutual_w[0] = 1.0f; /* only the large model learns from the small one */
    c.d.mutual_w[1] = 0.0f;
    run(&c);
    for (int i = 0; i < R * C; i++)
        cr_assert_eq(c.dz[1][i], 0.0f, "small model got gradient %g at %d from large's term",
                     (double)c.dz[1][i], i);
    /* model 0's gradient treats the peer as a constant: FD on z0 alone matches it */
    float g[R * C];
    memcpy(g, c.dz[0], sizeof g);
    c.which = 0;
    gc_check("dz0 (peer constant)", c.z[0], g, R * C, 1, total_of, &c);
    ctcd_backend_destroy(c.be);
}

Test(loss, fused_ce_kl_gradients_match_finite_differences_for_both_models) {
    loss_ctx c;
    setup(&c, CTCD_LOSS_CE_KL, 2.5f);
    run(&c);
    check_both_fd(&c, "");
    ctcd_backend_destroy(c.be);
}

Test(loss, mse_variant_gradients_match_finite_differences) {
    loss_ctx c;
    setup(&c, CTCD_LOSS_MSE, 1.0f);
    run(&c);
    float g0[R], g1[R];
    memcpy(g0, c.dz[0], sizeof g0);
    memcpy(g1, c.dz[1], sizeof g1);
    c.which = 0;
    gc_check("mse dz large", c.z[0], g0, R, 1, total_of, &c);
    c.which = 1;
    gc_check("mse dz small", c.z[1], g1, R, 1, total_of, &c);
    /* hard term over the 3 labelled rows only */
    double want = 0;
    for (int r = 0; r < R; r++)
        if (r != 2) want += pow(c.z[0][r] - c.targets[r], 2);
    cr_assert_float_eq(c.terms[CTCD_TERM_HARD0], want / 3, 1e-5, "mse hard %g vs %g",
                       (double)c.terms[CTCD_TERM_HARD0], want / 3);
    ctcd_backend_destroy(c.be);
}

Test(loss, unlabelled_rows_and_correct_counts) {
    loss_ctx c;
    setup(&c, CTCD_LOSS_CE_KL, 1.0f);
    run(&c);
    double ce = 0;
    int correct = 0;
    for (int r = 0; r < R; r++) {
        if (c.labels[r] < 0) continue;
        double p[C];
        softmax(c.z[0] + r * C, C, 1.0f, p);
        ce -= log(p[c.labels[r]]);
        int best = 0;
        for (int k = 1; k < C; k++)
            if (c.z[0][r * C + k] > c.z[0][r * C + best]) best = k;
        correct += best == c.labels[r];
    }
    cr_assert_float_eq(c.terms[CTCD_TERM_HARD0], ce / 3, 1e-5, "CE over labelled rows %g vs %g",
                       (double)c.terms[CTCD_TERM_HARD0], ce / 3);
    cr_assert_eq((int)c.terms[CTCD_TERM_CORRECT0], correct, "correct %g vs %d",
                 (double)c.terms[CTCD_TERM_CORRECT0], correct);
    for (int k = 0; k < C; k++)
        cr_assert(fabsf(c.dz[0][2 * C + k]) < 1.0f, "unlabelled row has only the mutual gradient");
    ctcd_backend_destroy(c.be);
}

/* Token-level KL between two decoders: padding positions (label -1) carry no KL and the
 * KL is a mean over the labelled rows. */
Test(loss, soft_labelled_only_skips_unlabelled_rows_in_the_kl) {
    loss_ctx c;
    const float T = 1.0f;
    setup(&c, CTCD_LOSS_CE_KL, T);
    c.d.soft_labelled_only = 1;
    c.use_teacher = 1;
    c.d.teacher_w[0] = 0.6f;
    c.d.teacher_w[1] = 0.2f;
    run(&c);
    for (int m = 0; m < 2; m++) {
        double kl = 0.0;
        for (int r = 0; r < R; r++) {
            if (c.labels[r] < 0) continue;
            double p[C], q[C];
            softmax(c.z[m] + r * C, C, T, p);
            softmax(c.z[1 - m] + r * C, C, T, q);
            for (int k = 0; k < C; k++) kl += q[k] * (log(q[k]) - log(p[k]));
        }
        cr_assert_float_eq(c.terms[CTCD_TERM_MUTUAL0 + m], kl / 3, 1e-5,
                           "model %d: KL over the 3 labelled rows %g, want %g", m,
                           (double)c.terms[CTCD_TERM_MUTUAL0 + m], kl / 3);
        for (int k = 0; k < C; k++)
            cr_assert_eq(c.dz[m][2 * C + k], 0.0f, "model %d: unlabelled row 2 got gradient %g",
                         m, (double)c.dz[m][2 * C + k]);
    }
    check_both_fd(&c, " (labelled-only KL)");
    ctcd_backend_destroy(c.be);
}

Test(loss, single_model_has_no_mutual_term) {
    loss_ctx c;
    setup(&c, CTCD_LOSS_CE_KL, 2.0f);
    c.d.n_models = 1;
    run(&c);
    cr_assert_eq(c.terms[CTCD_TERM_MUTUAL0], 0.0f, "mutual %g", (double)c.terms[CTCD_TERM_MUTUAL0]);
    cr_assert_float_eq(c.terms[CTCD_TERM_TOTAL0], c.d.hard_w[0] * c.terms[CTCD_TERM_HARD0], 1e-7);
    ctcd_backend_destroy(c.be);
}

/* ---- frozen teacher ---- */

static void with_teacher(loss_ctx *c, float w_large, float w_small) {
    c->use_teacher = 1;
    c->d.teacher_w[0] = w_large;
    c->d.teacher_w[1] = w_small;
}

Test(loss, teacher_term_is_T2_kl_from_the_teacher_and_adds_to_the_total) {
    loss_ctx c;
    const float T = 2.0f;
    setup(&c, CTCD_LOSS_CE_KL, T);
    with_teacher(&c, 0.6f, 1.7f);
    run(&c);
    for (int m = 0; m < 2; m++) {
        double kl = 0.0;
        for (int r = 0; r < R; r++) {
            double p[C], q[C];
            softmax(c.zt + r * C, C, T, p);
            softmax(c.z[m] + r * C, C, T, q);
            for (int k = 0; k < C; k++) kl += p[k] * log(p[k] / q[k]);
        }
        const double want = T * T * kl / R;
        const float got = c.terms[CTCD_TERM_TEACHER0 + m];
        cr_assert_float_eq(got, want, 1e-5, "teacher term of model %d: %g vs %g", m, (double)got,
                           want);
        const double total = c.d.hard_w[m] * c.terms[CTCD_TERM_HARD0 + m] +
                             c.d.mutual_w[m] * c.terms[CTCD_TERM_MUTUAL0 + m] +
                             c.d.teacher_w[m] * got;
        cr_assert_float_eq(c.terms[CTCD_TERM_TOTAL0 + m], total, 1e-5, "total of model %d", m);
    }
    ctcd_backend_destroy(c.be);
}

Test(loss, teacher_gradients_match_finite_differences_with_peer_and_labels) {
    loss_ctx c;
    setup(&c, CTCD_LOSS_CE_KL, 1.5f);
    with_teacher(&c, 0.8f, 1.2f);
    run(&c);
    float g0[R * C], g1[R * C];
    memcpy(g0, c.dz[0], sizeof g0);
    memcpy(g1, c.dz[1], sizeof g1);
    c.which = 0;
    gc_check("dz large (teacher)", c.z[0], g0, R * C, 1, total_of, &c);
    c.which = 1;
    gc_check("dz small (teacher)", c.z[1], g1, R * C, 1, total_of, &c);
    ctcd_backend_destroy(c.be);
}

Test(loss, teacher_alone_distils_into_one_model) {
    /* n_models 1: plain one-way KD from the frozen teacher, no peer. */
    loss_ctx c;
    setup(&c, CTCD_LOSS_CE_KL, 3.0f);
    c.d.n_models = 1;
    c.d.hard_w[0] = 0.0f;
    with_teacher(&c, 1.0f, 0.0f);
    run(&c);
    cr_assert_eq(c.terms[CTCD_TERM_MUTUAL0], 0.0f);
    for (int r = 0; r < R; r++) {
        double p[C], q[C];
        softmax(c.z[0] + r * C, C, 3.0f, p);
        softmax(c.zt + r * C, C, 3.0f, q);
        for (int k = 0; k < C; k++) {
            const double want = 3.0 * (p[k] - q[k]) / R;
            cr_assert_float_eq(c.dz[0][r * C + k], want, 1e-6, "row %d class %d: %g vs %g", r, k,
                               (double)c.dz[0][r * C + k], want);
        }
    }
    ctcd_backend_destroy(c.be);
}

Test(loss, teacher_with_zero_weights_changes_no_gradient) {
    loss_ctx a, b;
    setup(&a, CTCD_LOSS_CE_KL, 2.0f);
    setup(&b, CTCD_LOSS_CE_KL, 2.0f);
    with_teacher(&b, 0.0f, 0.0f);
    run(&a);
    run(&b);
    cr_assert(memcmp(a.dz, b.dz, sizeof a.dz) == 0, "a teacher of weight 0 changed a gradient");
    cr_assert_eq(a.terms[CTCD_TERM_TOTAL0], b.terms[CTCD_TERM_TOTAL0]);
    cr_assert_gt(b.terms[CTCD_TERM_TEACHER0], 0.0f, "the term is still measured");
    ctcd_backend_destroy(a.be);
    ctcd_backend_destroy(b.be);
}

Test(loss, teacher_mse_term_and_gradients) {
    loss_ctx c;
    setup(&c, CTCD_LOSS_MSE, 1.0f);
    with_teacher(&c, 0.5f, 2.0f);
    run(&c);
    for (int m = 0; m < 2; m++) {
        double want = 0.0;
        for (int r = 0; r < R; r++) want += (double)(c.z[m][r] - c.zt[r]) * (c.z[m][r] - c.zt[r]);
        cr_assert_float_eq(c.terms[CTCD_TERM_TEACHER0 + m], want / R, 1e-5, "mse teacher %d", m);
    }
    float g0[R], g1[R];
    memcpy(g0, c.dz[0], sizeof g0);
    memcpy(g1, c.dz[1], sizeof g1);
    c.which = 0;
    gc_check("mse dz large (teacher)", c.z[0], g0, R, 1, total_of, &c);
    c.which = 1;
    gc_check("mse dz small (teacher)", c.z[1], g1, R, 1, total_of, &c);
    ctcd_backend_destroy(c.be);
}

/* The descriptor checks every backend makes first (ctcd_loss_desc_check): each bad field
 * is refused by the CPU loss with the message that names it (tests/test_cuda_ops.c checks
 * that CUDA says the same). */
Test(loss, bad_descriptors_are_refused_with_the_field_named) {
    loss_ctx c;
    setup(&c, CTCD_LOSS_CE_KL, 2.0f);
    static const struct {
        ctcd_loss_kind kind;
        int n_models, classes;
        int64_t rows;
        float T;
        const char *want;
    } bad[] = {
        {CTCD_LOSS_CE_KL, 3, C, R, 2.0f, "loss: bad shape (models 3, rows 4, classes 5)"},
        {CTCD_LOSS_CE_KL, 2, C, 0, 2.0f, "loss: bad shape (models 2, rows 0, classes 5)"},
        {CTCD_LOSS_CE_KL, 2, 0, R, 2.0f, "loss: bad shape (models 2, rows 4, classes 0)"},
        {CTCD_LOSS_MSE, 2, 2, R, 1.0f, "loss: MSE needs one output, got 2"},
        {CTCD_LOSS_CE_KL, 2, C, R, 0.0f, "loss: temperature must be > 0 (got 0)"},
        {CTCD_LOSS_CE_KL, 2, C, R, NAN, "loss: temperature must be > 0 (got nan)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c.d.kind = bad[i].kind;
        c.d.n_models = bad[i].n_models;
        c.d.classes = bad[i].classes;
        c.d.rows = bad[i].rows;
        c.d.temperature = bad[i].T;
        ctcd_loss_io io = {.logits = {c.z[0], c.z[1]}, .dlogits = {c.dz[0], c.dz[1]},
                           .labels = c.labels, .targets = c.targets, .terms = c.terms};
        ctcd_status st = c.be->loss(c.be, &c.d, &io);
        cr_assert_not_null(st, "case %zu (%s) was accepted", i, bad[i].want);
        cr_expect_str_eq(ctcd_status_message(st), bad[i].want, "case %zu", i);
        cr_expect_eq(ctcd_status_code(st), CTCD_E_INVALID, "case %zu", i);
        ctcd_status_free(st);
    }
    ctcd_backend_destroy(c.be);
}

/* Vocabulary-sized rows take the OpenMP path (rows computed in parallel, sums taken in row
 * order afterwards): 1 and 2 threads give the same terms and gradients bit for bit, with a
 * peer, a teacher and unlabelled rows. */
Test(loss, vocabulary_rows_are_the_same_at_one_and_two_threads) {
    enum { RR = 37, V = 3001 };
    ctcd_backend *be = NULL;
    cr_assert_null(ctcd_backend_cpu_create(&be));
    float *z[3], *dz[2][2], terms[2][CTCD_LOSS_NTERMS];
    int32_t lab[RR];
    for (int m = 0; m < 3; m++) {
        z[m] = malloc((size_t)RR * V * sizeof(float));
        ctcd_test_fill_uniform(z[m], RR * V, -4, 4, 10 + (uint64_t)m);
    }
    for (int r = 0; r < RR; r++) lab[r] = r % 4 == 1 ? -1 : (r * 97) % V;
    const ctcd_loss_desc d = {.kind = CTCD_LOSS_CE_KL, .n_models = 2, .rows = RR, .classes = V,
                              .temperature = 2.0f, .hard_w = {1.0f, 0.8f},
                              .mutual_w = {0.6f, 1.0f}, .teacher_w = {0.3f, 0.2f},
                              .soft_labelled_only = 1};
    const int threads = omp_get_max_threads();
    for (int v = 0; v < 2; v++) {
        for (int m = 0; m < 2; m++) dz[v][m] = malloc((size_t)RR * V * sizeof(float));
        ctcd_loss_io io = {.logits = {z[0], z[1]}, .teacher = z[2], .labels = lab,
                           .dlogits = {dz[v][0], dz[v][1]}, .terms = terms[v]};
        omp_set_num_threads(v == 0 ? 1 : 2);
        cr_assert_null(be->loss(be, &d, &io));
    }
    omp_set_num_threads(threads);
    cr_expect_eq(memcmp(terms[0], terms[1], sizeof terms[0]), 0, "terms differ");
    for (int m = 0; m < 2; m++)
        cr_expect_eq(memcmp(dz[0][m], dz[1][m], (size_t)RR * V * sizeof(float)), 0,
                     "model %d's gradient differs between 1 and 2 threads", m);
    cr_expect_gt(terms[0][CTCD_TERM_TEACHER0], 0.0f);
    for (int v = 0; v < 2; v++) free(dz[v][0]), free(dz[v][1]);
    for (int m = 0; m < 3; m++) free(z[m]);
    be->destroy(be);
}
