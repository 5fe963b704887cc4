/* tiny_bert.h — a tiny (possibly non-uniform) BERT classifier on the CPU backend and a
 * padded batch, shared by the mask / importance / pruning suites (static helpers). */
#ifndef CTCD_TINY_BERT_H
#define CTCD_TINY_BERT_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/backend_create.h"
#include "ctcd/model.h"
#include "testutil.h"

typedef struct tiny {
    ctcd_backend *be;
    ctcd_model *m;
    int32_t ids[64], types[64], mask[64], cls[8], labels[8];
    ctcd_batch_dev b;
    float terms[CTCD_LOSS_NTERMS];
} tiny;

/* 3 layers, hidden 12, 3 heads (HD 4), FFN 10, 3 classes; layer 1 keeps 2 heads and layer 2
 * has an FFN of width 7. Batch: 4 rows of T = 6 with lengths 6, 5, 3, 2. */
static inline ctcd_bert_config tiny_config(float dropout) {
    ctcd_bert_config c;
    ctcd_status st = ctcd_bert_config_init(&c, "tiny", 3, 12, 3, 10, 13, 16, 2, 3);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    c.layer_heads[1] = 2;
    c.layer_intermediate[2] = 7;
    c.hidden_dropout = dropout;
    c.attn_dropout = dropout;
    c.initializer_range = 0.4f; /* large weights: gradients well above fp32 FD noise */
    return c;
}

static inline void tiny_batch(tiny *f) {
    const int B = 4, T = 6, lens[4] = {6, 5, 3, 2};
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            const int real = t < lens[b];
            f->ids[b * T + t] = real ? 1 + (b * 7 + t * 3) % 12 : 0;
            f->types[b * T + t] = real && t >= 3 ? 1 : 0;
            f->mask[b * T + t] = real;
        }
        f->cls[b] = b * T;
        f->labels[b] = b % 3;
    }
    f->b = (ctcd_batch_dev){.B = B, .T = T, .ids = f->ids, .types = f->types, .mask = f->mask,
                            .cls_idx = f->cls};
}

/* A model of config c with deterministic random weights (LayerNorm/bias perturbed). */
static inline ctcd_model *tiny_model(ctcd_backend *be, const ctcd_bert_config *c, uint64_t seed) {
    ctcd_model *m = NULL;
    ctcd_status st = ctcd_model_create(be, c, "tiny", 4, 8, &m);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_null(ctcd_model_init_random(m, seed));
    ctcd_test_fill_uniform(m->ps.master + m->lay.n_decay, m->lay.n_total - m->lay.n_decay, -0.5f,
                           1.5f, seed + 1);
    ctcd_params_zero_padding(m->ps.master, m->lay.params, m->lay.n_params, m->lay.n_total);
    m->dropout_seed = 99;
    return m;
}

static inline void tiny_make(tiny *f, float dropout) {
    memset(f, 0, sizeof *f);
    ctcd_status st = ctcd_backend_create("cpu", &f->be);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    const ctcd_bert_config c = tiny_config(dropout);
    f->m = tiny_model(f->be, &c, 7);
    tiny_batch(f);
}

static inline void tiny_free(tiny *f) {
    ctcd_model_destroy(f->m);
    ctcd_backend_destroy(f->be);
}

/* Forward (train mode at step 5, so dropout is on when configured) + CE loss of model m on
 * f's batch; leaves dlogits written. */
static inline float tiny_loss(tiny *f, ctcd_model *m) {
    ctcd_status st = ctcd_model_forward(m, &f->b, 1, 5);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    ctcd_loss_desc d = {.kind = CTCD_LOSS_CE_KL, .n_models = 1, .rows = f->b.B,
                        .classes = m->cfg.n_labels, .temperature = 1.0f,
                        .hard_w = {1.0f, 0.0f}};
    ctcd_loss_io io = {.logits = {m->acts.logits}, .dlogits = {m->acts.dlogits},
                       .labels = f->labels, .terms = f->terms};
    st = f->be->loss(f->be, &d, &io);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    return f->terms[CTCD_TERM_TOTAL0];
}

#endif
