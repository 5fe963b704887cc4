/* test_cqa_model.c — the multiple-choice head (BertForMultipleChoice) on the CPU backend:
 * the (B·K, 1) scores of a batch read as (B, K) give each (example, choice) the score of
 * that sequence alone and the fused loss the K-way cross-entropy; the backward of that loss
 * matches finite differences; a checkpoint round trip keeps the architecture, the (1, H)
 * classifier and the logits; a sequence-classification checkpoint used as init gets a fresh
 * one-output classifier. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/backend_create.h"
#include "ctcd/checkpoint.h"
#include "ctcd/data.h"
#include "ctcd/model.h"
#include "ctcd/safetensors.h"
#include "gradcheck.h"
#include "testutil.h"

#define OK(expr)                                                                  \
    do {                                                                          \
        ctcd_status st_ = (expr);                                                 \
        cr_assert_null(st_, "%s: %s", #expr, ctcd_status_message(st_));           \
    } while (0)

enum { E = 3, K = 4, TMAX = 8 };

typedef struct mc_fx {
    ctcd_backend *be;
    ctcd_model *m;
    ctcd_dataset d;
    ctcd_batcher bt;
    const ctcd_batch *b;
    ctcd_batch_dev db;
    float terms[CTCD_LOSS_NTERMS];
} mc_fx;

static ctcd_bert_config mc_config(int n_labels, int mc) {
    ctcd_bert_config c;
    OK(ctcd_bert_config_init(&c, "mc", 2, 8, 2, 16, 11, 16, 2, n_labels));
    c.multiple_choice = mc;
    c.hidden_dropout = c.attn_dropout = 0.1f;
    c.initializer_range = 0.4f; /* large weights: gradients well above fp32 FD noise */
    return c;
}

static ctcd_model *mc_model(ctcd_backend *be, const ctcd_bert_config *c, uint64_t seed) {
    ctcd_model *m = NULL;
    OK(ctcd_model_create(be, c, "mc", E * K, TMAX, &m));
    OK(ctcd_model_init_random(m, seed));
    ctcd_test_fill_uniform(m->ps.master + m->lay.n_decay, m->lay.n_total - m->lay.n_decay, -0.5f,
                           1.5f, seed + 1);
    ctcd_params_zero_padding(m->ps.master, m->lay.params, m->lay.n_params, m->lay.n_total);
    m->dropout_seed = 99;
    return m;
}

/* E examples of K choices with lengths 3..8 and one batch of all of them (B = E·K rows). */
static void mc_make(mc_fx *f) {
    memset(f, 0, sizeof *f);
    OK(ctcd_backend_create("cpu", &f->be));
    const ctcd_bert_config c = mc_config(1, 1);
    f->m = mc_model(f->be, &c, 7);
    OK(ctcd_dataset_init_choices(&f->d, "mc", K));
    for (int e = 0; e < E; e++) {
        int32_t ids[K][TMAX], types[K][TMAX];
        const int32_t *pi[K], *pt[K];
        int len[K];
        for (int k = 0; k < K; k++) {
            len[k] = 3 + (e * 3 + k * 2) % 6;
            for (int t = 0; t < len[k]; t++) {
                ids[k][t] = 1 + (e * 7 + k * 5 + t * 3) % 10;
                types[k][t] = t >= 2;
            }
            pi[k] = ids[k];
            pt[k] = types[k];
        }
        OK(ctcd_dataset_push_choices(&f->d, pi, pt, len, (e * 2 + 1) % K));
    }
    ctcd_batcher_config bc = {.batch = E, .max_len = TMAX, .pad_multiple = 8, .shuffle = 0,
                              .bucket_batches = 1, .seed = 0};
    OK(ctcd_batcher_init(&f->bt, &f->d, &bc));
    cr_assert(ctcd_batcher_next(&f->bt, &f->b));
    cr_assert_eq(f->b->B, E * K);
    f->db = (ctcd_batch_dev){.B = f->b->B, .T = f->b->T, .ids = f->b->ids, .types = f->b->types,
                             .mask = f->b->mask, .cls_idx = f->b->cls_idx};
}

static void mc_free(mc_fx *f) {
    ctcd_batcher_free(&f->bt);
    ctcd_dataset_free(&f->d);
    ctcd_model_destroy(f->m);
    ctcd_backend_destroy(f->be);
}

/* Forward (train mode at step 5 when train) + the fused loss over E rows of K classes. */
static float mc_loss(mc_fx *f, int train) {
    OK(ctcd_model_forward(f->m, &f->db, train, 5));
    const ctcd_loss_desc d = {.kind = CTCD_LOSS_CE_KL, .n_models = 1, .rows = E, .classes = K,
                              .temperature = 1.0f, .hard_w = {1.0f, 0.0f}};
    ctcd_loss_io io = {.logits = {f->m->acts.logits}, .dlogits = {f->m->acts.dlogits},
                       .labels = f->b->labels, .terms = f->terms};
    OK(f->be->loss(f->be, &d, &io));
    return f->terms[CTCD_TERM_TOTAL0];
}

/* The score of sequence s of the dataset alone (a batch of one row, no padding). */
static float alone(mc_fx *f, int64_t s) {
    const int len = ctcd_dataset_seq_len(&f->d, s);
    int32_t mask[TMAX], cls[1] = {0};
    for (int t = 0; t < len; t++) mask[t] = 1;
    const ctcd_batch_dev one = {.B = 1, .T = len, .ids = f->d.tokens + f->d.offsets[s],
                                .types = f->d.types + f->d.offsets[s], .mask = mask,
                                .cls_idx = cls};
    OK(ctcd_model_forward(f->m, &one, 0, 0));
    return ((const float *)f->m->acts.logits)[0];
}

Test(cqa_model, batch_scores_read_as_examples_by_choices) {
    mc_fx f;
    mc_make(&f);
    OK(ctcd_model_forward(f.m, &f.db, 0, 0));
    float z[E * K];
    memcpy(z, f.m->acts.logits, sizeof z);
    double ce = 0.0;
    for (int e = 0; e < E; e++) {
        double lse = 0.0;
        float zi[K];
        for (int k = 0; k < K; k++) {
            zi[k] = alone(&f, f.b->example[e] * K + k);
            cr_assert_float_eq(z[e * K + k], zi[k], 1e-5f,
                               "example %d choice %d: %.7g in the batch, %.7g alone", e, k,
                               (double)z[e * K + k], (double)zi[k]);
            lse += exp((double)zi[k]);
        }
        ce += log(lse) - zi[f.b->labels[e]];
    }
    const float loss = mc_loss(&f, 0);
    cr_assert_float_eq(loss, (float)(ce / E), 1e-5f, "fused loss %.7g, K-way CE %.7g",
                       (double)loss, ce / E);
    mc_free(&f);
}

static double mc_loss_train(void *f) { return mc_loss(f, 1); }

Test(cqa_model, multiple_choice_loss_backward_matches_finite_differences) {
    mc_fx f;
    mc_make(&f);
    ctcd_model *m = f.m;
    OK(ctcd_model_zero_grad(m));
    (void)mc_loss(&f, 1);
    OK(ctcd_model_backward(m, &f.db, 5));
    float *g = malloc((size_t)m->lay.n_total * sizeof(float));
    memcpy(g, m->ps.grads, (size_t)m->lay.n_total * sizeof(float));
    gc_check_model(m, g, 2, mc_loss_train, &f);
    free(g);
    mc_free(&f);
}

Test(cqa_model, checkpoint_round_trip_keeps_the_multiple_choice_head) {
    mc_fx f;
    mc_make(&f);
    char *tmp = ctcd_test_tmpdir();
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/mc", tmp);
    OK(ctcd_model_save_hf(f.m, dir, NULL));
    ctcd_hf_config hc;
    OK(ctcd_hf_config_read(dir, &hc));
    cr_assert_str_eq(hc.architecture, "BertForMultipleChoice");
    cr_assert(hc.cfg.multiple_choice && hc.has_head);
    ctcd_hf_config_free(&hc);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    ctcd_st_file *st = NULL;
    OK(ctcd_st_open(path, &st));
    const ctcd_st_tensor *w = ctcd_st_find(st, "classifier.weight");
    cr_assert(w && w->ndim == 2 && w->shape[0] == 1 && w->shape[1] == 8,
              "classifier.weight is not (1, H)");
    ctcd_st_close(st);
    /* reopened from the file alone: the same head and the same scores */
    OK(ctcd_model_forward(f.m, &f.db, 0, 0));
    float z[E * K];
    memcpy(z, f.m->acts.logits, sizeof z);
    const ctcd_hf_open_opts o = {.name = "back", .B_max = E * K, .T_max = TMAX, .seed = 1,
                                 .head = CTCD_HF_HEAD_FROM_FILE};
    ctcd_model *back = NULL;
    ctcd_hf_load_report rep;
    OK(ctcd_model_open_hf(f.be, dir, &o, &back, NULL, &rep));
    cr_assert_eq(rep.n_fresh, 0);
    ctcd_hf_load_report_free(&rep);
    cr_assert(back->cfg.multiple_choice && back->cfg.n_labels == 1);
    OK(ctcd_model_forward(back, &f.db, 0, 0));
    cr_assert(memcmp(z, back->acts.logits, sizeof z) == 0, "scores differ after the reload");
    ctcd_model_destroy(back);
    /* a 3-label sequence classifier as init: encoder loaded, classifier fresh */
    const ctcd_bert_config c3 = mc_config(3, 0);
    ctcd_model *seq = mc_model(f.be, &c3, 11);
    snprintf(dir, sizeof dir, "%s/seq", tmp);
    OK(ctcd_model_save_hf(seq, dir, NULL));
    const ctcd_hf_open_opts o2 = {.name = "init", .B_max = E * K, .T_max = TMAX, .seed = 1,
                                  .head = CTCD_HEAD_CLASSIFY, .multiple_choice = 1};
    OK(ctcd_model_open_hf(f.be, dir, &o2, &back, NULL, &rep));
    cr_assert_eq(rep.n_fresh, 2, "classifier.weight and .bias start fresh (%d fresh)",
                 rep.n_fresh);
    ctcd_hf_load_report_free(&rep);
    cr_assert(back->cfg.multiple_choice && back->cfg.n_labels == 1);
    const ctcd_param_info *q = ctcd_model_layout_find(&back->lay,
                                                      "bert.encoder.layer.1.output.dense.weight");
    const ctcd_param_info *q0 = ctcd_model_layout_find(&seq->lay,
                                                       "bert.encoder.layer.1.output.dense.weight");
    cr_assert(q && q0 && memcmp(back->ps.master + q->offset, seq->ps.master + q0->offset,
                                (size_t)q->numel * sizeof(float)) == 0,
              "the encoder was not loaded");
    ctcd_model_destroy(back);
    ctcd_model_destroy(seq);
    ctcd_test_rmtree(tmp);
    free(tmp);
    mc_free(&f);
}
