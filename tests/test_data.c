/* test_data.c — builtin:demo generation (determinism, balance, lengths, disjoint splits,
 * heuristics far from the label), the batcher (coverage, padding, bucketing, seek), and the
 * metrics against hand-computed values. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/data.h"
#include "ctcd/glue.h"
#include "ctcd/metrics.h"

static void demo(ctcd_dataset *tr, ctcd_dataset *dv, uint64_t seed, int64_t n) {
    ctcd_demo_config c = {.train_examples = n, .dev_examples = n / 4, .seed = seed,
                          .max_depth = 3, .max_len = 48};
    ctcd_status st = ctcd_demo_generate(&c, tr, dv);
    cr_assert_null(st, "%s", ctcd_status_message(st));
}

static int same(const ctcd_dataset *a, const ctcd_dataset *b) {
    return a->n == b->n && memcmp(a->offsets, b->offsets, (size_t)(a->n + 1) * 8) == 0 &&
           memcmp(a->tokens, b->tokens, (size_t)a->offsets[a->n] * 4) == 0 &&
           memcmp(a->labels, b->labels, (size_t)a->n * 4) == 0;
}

Test(demo, same_seed_same_data_other_seed_other_data) {
    ctcd_dataset a, b, c, d, e, f;
    demo(&a, &b, 1, 400);
    demo(&c, &d, 1, 400);
    demo(&e, &f, 2, 400);
    cr_assert(same(&a, &c) && same(&b, &d), "same seed produced different data");
    cr_assert(!same(&a, &e), "different seeds produced the same data");
    ctcd_dataset *all[] = {&a, &b, &c, &d, &e, &f};
    for (int i = 0; i < 6; i++) ctcd_dataset_free(all[i]);
}

Test(demo, balanced_bounded_in_vocab_and_disjoint) {
    ctcd_dataset tr, dv;
    demo(&tr, &dv, 5, 4000);
    int64_t pos = 0;
    for (int64_t i = 0; i < tr.n; i++) pos += tr.labels[i];
    const double frac = (double)pos / (double)tr.n;
    cr_assert(frac > 0.45 && frac < 0.55, "positive fraction %.3f", frac);
    cr_assert_leq(tr.max_len, 48, "max_len %d", tr.max_len);
    for (int64_t i = 0; i < tr.offsets[tr.n]; i++)
        cr_assert(tr.tokens[i] >= 0 && tr.tokens[i] < tr.vocab_size, "id %d", tr.tokens[i]);
    for (int64_t i = 0; i < dv.n; i++)
        for (int64_t j = 0; j < tr.n; j++) {
            const int li = ctcd_dataset_len(&dv, i);
            if (li != ctcd_dataset_len(&tr, j)) continue;
            cr_assert(memcmp(dv.tokens + dv.offsets[i], tr.tokens + tr.offsets[j],
                             (size_t)li * 4) != 0, "dev %lld repeats train %lld", (long long)i,
                      (long long)j);
        }
    ctcd_dataset_free(&tr);
    ctcd_dataset_free(&dv);
}

Test(demo, word_heuristics_do_not_solve_it) {
    /* "polarity of the last adjective, flipped per negator in its clause" ignores the
     * combinators and embeddings; it must stay far from the label. */
    ctcd_dataset tr, dv;
    demo(&tr, &dv, 3, 4000);
    int64_t ok_last = 0, ok_count = 0;
    for (int64_t i = 0; i < tr.n; i++) {
        int last = 0, score = 0;
        for (int64_t j = tr.offsets[i]; j < tr.offsets[i + 1]; j++) {
            const char *w = ctcd_demo_word(tr.tokens[j]);
            static const char *pos[] = {"good", "great", "happy", "kind", "nice", "bright", "calm",
                                        "brave", "clever", "warm", "gentle", "honest", "cheerful", "lovely"};
            int is_pos = 0;
            for (int k = 0; k < 14; k++) is_pos |= strcmp(w, pos[k]) == 0;
            const int is_adj = is_pos || (tr.tokens[j] >= 5 + 50 && tr.tokens[j] < 5 + 64);
            if (is_adj) {
                last = is_pos ? 1 : -1;
                score += last;
            }
        }
        ok_last += (last > 0) == tr.labels[i];
        ok_count += (score > 0) == tr.labels[i];
    }
    const double a1 = (double)ok_last / (double)tr.n, a2 = (double)ok_count / (double)tr.n;
    cr_log_info("last-adjective heuristic %.3f, adjective-count heuristic %.3f", a1, a2);
    cr_assert_lt(a1, 0.80, "last adjective reaches %.3f", a1);
    cr_assert_lt(a2, 0.80, "adjective count reaches %.3f", a2);
    ctcd_dataset_free(&tr);
    ctcd_dataset_free(&dv);
}

Test(demo, bad_config_is_named) {
    ctcd_dataset tr, dv;
    ctcd_demo_config c = {.train_examples = 10, .dev_examples = 5, .seed = 1, .max_depth = 0,
                          .max_len = 48};
    ctcd_status st = ctcd_demo_generate(&c, &tr, &dv);
    cr_assert_not_null(st);
    cr_assert_not_null(strstr(ctcd_status_message(st), "max_depth"));
    ctcd_status_free(st);
}

Test(batcher, epoch_covers_every_example_once_with_valid_padding) {
    ctcd_dataset tr, dv;
    demo(&tr, &dv, 7, 1000);
    ctcd_batcher b;
    ctcd_batcher_config bc = {.batch = 32, .max_len = 48, .pad_multiple = 8, .shuffle = 1,
                              .bucket_batches = 5, .seed = 3};
    cr_assert_null(ctcd_batcher_init(&b, &tr, &bc));
    char *seen = calloc((size_t)tr.n, 1);
    const ctcd_batch *x;
    int64_t rows = 0, padded = 0, batches = 0;
    while (ctcd_batcher_next(&b, &x)) {
        batches++;
        cr_assert_eq(x->T % 8, 0, "T %d not a multiple of 8", x->T);
        for (int i = 0; i < x->B; i++) {
            const int64_t e = x->example[i];
            cr_assert_eq(seen[e], 0, "example %lld twice", (long long)e);
            seen[e] = 1;
            const int len = ctcd_dataset_len(&tr, e);
            cr_assert_geq(x->T, len);
            cr_assert_eq(x->labels[i], tr.labels[e]);
            cr_assert_eq(x->cls_idx[i], i * x->T);
            for (int t = 0; t < x->T; t++) {
                cr_assert_eq(x->mask[i * x->T + t], t < len, "mask row %d pos %d", i, t);
                if (t >= len) cr_assert_eq(x->ids[i * x->T + t], tr.special.pad);
            }
            padded += x->T - len;
        }
        rows += x->B;
    }
    cr_assert_eq(rows, tr.n, "epoch produced %lld of %lld rows", (long long)rows, (long long)tr.n);
    cr_assert_eq(batches, (tr.n + 31) / 32);
    /* bucketing: far less padding than unsorted batches of the same data */
    ctcd_batcher u;
    bc.bucket_batches = 1;
    cr_assert_null(ctcd_batcher_init(&u, &tr, &bc));
    int64_t padded_u = 0;
    while (ctcd_batcher_next(&u, &x))
        for (int i = 0; i < x->B; i++) padded_u += x->T - ctcd_dataset_len(&tr, x->example[i]);
    cr_log_info("padding: bucketed %lld vs unbucketed %lld tokens", (long long)padded, (long long)padded_u);
    cr_assert_lt(padded, padded_u / 2, "bucketed %lld vs unbucketed %lld", (long long)padded,
                 (long long)padded_u);
    free(seen);
    ctcd_batcher_free(&b);
    ctcd_batcher_free(&u);
    ctcd_dataset_free(&tr);
    ctcd_dataset_free(&dv);
}

Test(batcher, seek_reproduces_a_later_epoch_and_truncation_keeps_sep) {
    ctcd_dataset tr, dv;
    demo(&tr, &dv, 8, 300);
    ctcd_batcher a, b;
    ctcd_batcher_config bc = {.batch = 16, .max_len = 12, .pad_multiple = 8, .shuffle = 1,
                              .bucket_batches = 4, .seed = 9};
    cr_assert_null(ctcd_batcher_init(&a, &tr, &bc));
    cr_assert_null(ctcd_batcher_init(&b, &tr, &bc));
    const ctcd_batch *x, *y;
    while (ctcd_batcher_next(&a, &x)) {} /* finish epoch 0 */
    cr_assert(ctcd_batcher_next(&a, &x)); /* epoch 1, batch 0 */
    cr_assert(ctcd_batcher_next(&a, &x)); /* epoch 1, batch 1 */
    cr_assert_null(ctcd_batcher_seek(&b, (ctcd_batcher_cursor){1, 1}));
    cr_assert(ctcd_batcher_next(&b, &y));
    cr_assert_eq(x->B, y->B);
    cr_assert_eq(x->T, y->T);
    cr_assert(memcmp(x->example, y->example, (size_t)x->B * 8) == 0, "seek gave other rows");
    cr_assert(memcmp(x->ids, y->ids, (size_t)x->B * x->T * 4) == 0, "seek gave other ids");
    for (int i = 0; i < y->B; i++)
        if (ctcd_dataset_len(&tr, y->example[i]) > 12)
            cr_assert_eq(y->ids[i * y->T + 11], tr.special.sep, "truncated row lost [SEP]");
    cr_assert_gt(a.n_truncated, 0, "no row was truncated at max_len 12");
    ctcd_batcher_free(&a);
    ctcd_batcher_free(&b);
    ctcd_dataset_free(&tr);
    ctcd_dataset_free(&dv);
}

Test(metrics, hand_computed_values) {
    const int32_t pred[8] = {1, 1, 0, 0, 1, 0, 1, 0}, gold[8] = {1, 0, 0, 1, 1, 0, 1, 1};
    /* tp 3, fp 1, fn 2, tn 2 */
    cr_assert_float_eq(ctcd_accuracy(pred, gold, 8), 5.0 / 8, 1e-12);
    cr_assert_float_eq(ctcd_f1(pred, gold, 8), 6.0 / 9, 1e-12);
    cr_assert_float_eq(ctcd_mcc(pred, gold, 8), (3.0 * 2 - 1 * 2) / sqrt(4.0 * 5 * 3 * 4), 1e-12);
    const int32_t ones[4] = {1, 1, 1, 1};
    cr_assert_float_eq(ctcd_mcc(ones, gold, 4), 0.0, 0, "undefined MCC must be 0");
    const float x[5] = {1, 2, 3, 4, 5}, y[5] = {2, 4, 6, 8, 10}, z[5] = {1, 2, 2, 3, 10};
    cr_assert_float_eq(ctcd_pearson(x, y, 5), 1.0, 1e-12);
    /* ranks of z with the tie: 1, 2.5, 2.5, 4, 5 */
    const double rz[5] = {1, 2.5, 2.5, 4, 5};
    double mz = 3, sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < 5; i++) {
        sxy += (i + 1 - 3.0) * (rz[i] - mz);
        sxx += (i + 1 - 3.0) * (i + 1 - 3.0);
        syy += (rz[i] - mz) * (rz[i] - mz);
    }
    cr_assert_float_eq(ctcd_spearman(x, z, 5), sxy / sqrt(sxx * syy), 1e-12);
    const float logits[6] = {0.1f, 0.7f, 0.2f, 2.0f, -1.0f, 0.0f};
    int32_t am[2];
    ctcd_argmax_rows(logits, 2, 3, am);
    cr_assert(am[0] == 1 && am[1] == 0);
}

/* A labelled dataset of n one-token examples (only labels/targets matter for metrics). */
static void metric_data(ctcd_dataset *d, const int32_t *labels, const float *targets, int n,
                        int C) {
    cr_assert_null(ctcd_dataset_init(d, "metric/dev", C));
    const int32_t id = 1, type = 0;
    for (int i = 0; i < n; i++)
        cr_assert_null(ctcd_dataset_push(d, &id, &type, 1, labels ? labels[i] : 0,
                                         targets ? targets[i] : 0.0f));
}

Test(metrics, glue_task_metrics_and_score) {
    /* Logits whose argmax is pred; gold as in hand_computed_values: acc 5/8, f1 6/9. */
    const int32_t pred[8] = {1, 1, 0, 0, 1, 0, 1, 0}, gold[8] = {1, 0, 0, 1, 1, 0, 1, 1};
    float logits[16];
    for (int i = 0; i < 8; i++) {
        logits[2 * i] = pred[i] ? -1.0f : 1.0f;
        logits[2 * i + 1] = pred[i] ? 1.0f : -1.0f;
    }
    ctcd_dataset d;
    metric_data(&d, gold, NULL, 8, 2);
    const float *lg[1] = {logits};
    const ctcd_dataset *gd[1] = {&d};
    ctcd_metric_set m;
    cr_assert_null(ctcd_glue_metrics(CTCD_GLUE_ACC_F1, 1, lg, gd, 2, &m));
    cr_assert_eq(m.n, 2);
    cr_assert_float_eq(ctcd_metric_get(&m, "acc"), 5.0 / 8, 1e-12);
    cr_assert_float_eq(ctcd_metric_get(&m, "f1"), 6.0 / 9, 1e-12);
    cr_assert_float_eq(m.score, (5.0 / 8 + 6.0 / 9) / 2, 1e-12, "MRPC/QQP score is the mean");
    cr_assert(isnan(ctcd_metric_get(&m, "mcc")));
    cr_assert_null(ctcd_glue_metrics(CTCD_GLUE_MCC, 1, lg, gd, 2, &m));
    cr_assert_float_eq(m.score, (3.0 * 2 - 1 * 2) / sqrt(4.0 * 5 * 3 * 4), 1e-12);

    /* MNLI: matched gets 5/8, mismatched (gold = pred) 1.0. */
    ctcd_dataset d2;
    metric_data(&d2, pred, NULL, 8, 2);
    const float *lg2[2] = {logits, logits};
    const ctcd_dataset *gd2[2] = {&d, &d2};
    cr_assert_null(ctcd_glue_metrics(CTCD_GLUE_ACC_MM, 2, lg2, gd2, 2, &m));
    cr_assert_float_eq(ctcd_metric_get(&m, "acc_m"), 5.0 / 8, 1e-12);
    cr_assert_float_eq(ctcd_metric_get(&m, "acc_mm"), 1.0, 1e-12);
    cr_assert_float_eq(m.score, (5.0 / 8 + 1.0) / 2, 1e-12);
    ctcd_status st = ctcd_glue_metrics(CTCD_GLUE_ACC_MM, 1, lg2, gd2, 2, &m);
    cr_assert_not_null(st, "MNLI with one split must be an error");
    ctcd_status_free(st);

    /* STS-B: a perfect linear prediction has Pearson 1; ranks give Spearman 1. */
    const float y[5] = {0.5f, 1.0f, 2.5f, 4.0f, 5.0f}, z[5] = {1.0f, 2.0f, 5.0f, 8.0f, 10.0f};
    ctcd_dataset r;
    metric_data(&r, NULL, y, 5, 1);
    const float *lr[1] = {z};
    const ctcd_dataset *gr[1] = {&r};
    cr_assert_null(ctcd_glue_metrics(CTCD_GLUE_PEARSON_SPEARMAN, 1, lr, gr, 1, &m));
    cr_assert_float_eq(ctcd_metric_get(&m, "pearson"), 1.0, 1e-6);
    cr_assert_float_eq(ctcd_metric_get(&m, "spearman"), 1.0, 1e-12);
    st = ctcd_glue_metrics(CTCD_GLUE_PEARSON_SPEARMAN, 1, lg, gd, 2, &m);
    cr_assert_not_null(st, "regression metric on 2-class logits must be an error");
    ctcd_status_free(st);

    const double tasks[3] = {0.5, 0.7, 0.9};
    cr_assert_float_eq(ctcd_glue_score(tasks, 3), 0.7, 1e-12);
    ctcd_dataset_free(&d);
    ctcd_dataset_free(&d2);
    ctcd_dataset_free(&r);
}
