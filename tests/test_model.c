/* test_model.c — the BERT graph on the CPU backend: parameter layout matches Hugging Face,
 * a whole 2-layer model's backward matches finite differences (dropout on), and padding
 * never changes a sequence's logits. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/backend_create.h"
#include "ctcd/model.h"
#include "gradcheck.h"
#include "testutil.h"

Test(model_layout, bert_base_has_hf_parameter_count_and_names) {
    ctcd_bert_config c;
    ctcd_status st = ctcd_bert_config_init(&c, "bert-base", 12, 768, 12, 3072, 30522, 512, 2, 2);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    ctcd_model_layout lay;
    st = ctcd_model_layout_build(&c, &lay);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    /* bert-base-uncased BertModel (with pooler) has 109,482,240 parameters; the 2-class
     * classifier adds 768*2 + 2. */
    cr_assert_eq(lay.n_params_real, 109482240LL + 1538, "parameter count %lld",
                 (long long)lay.n_params_real);
    const ctcd_param_info *q = ctcd_model_layout_find(&lay, "bert.encoder.layer.3.attention.self.query.weight");
    const ctcd_param_info *k = ctcd_model_layout_find(&lay, "bert.encoder.layer.3.attention.self.key.weight");
    const ctcd_param_info *v = ctcd_model_layout_find(&lay, "bert.encoder.layer.3.attention.self.value.weight");
    cr_assert(q && k && v, "q/k/v of layer 3 missing");
    cr_assert_eq(k->offset, q->offset + q->numel, "key must follow query");
    cr_assert_eq(v->offset, k->offset + k->numel, "value must follow key");
    cr_assert_eq(lay.layer[3].qkv_w, q->offset, "fused qkv starts at query");
    /* Every decayed tensor lies before n_decay, every other one after. */
    for (int i = 0; i < lay.n_params; i++) {
        const ctcd_param_info *p = &lay.params[i];
        const int no_decay = strstr(p->name, "bias") || strstr(p->name, "LayerNorm");
        cr_assert_eq(p->decay, !no_decay, "%s decay flag", p->name);
        if (p->decay)
            cr_assert_leq(p->offset + p->numel, lay.n_decay, "%s after n_decay", p->name);
        else
            cr_assert_geq(p->offset, lay.n_decay, "%s before n_decay", p->name);
    }
    cr_assert_not_null(ctcd_model_layout_find(&lay, "bert.embeddings.LayerNorm.weight"));
    cr_assert_not_null(ctcd_model_layout_find(&lay, "bert.pooler.dense.weight"));
    cr_assert_not_null(ctcd_model_layout_find(&lay, "classifier.bias"));
    ctcd_model_layout_free(&lay);
}

Test(model_layout, non_uniform_layers_size_their_tensors) {
    ctcd_bert_config c;
    ctcd_status st = ctcd_bert_config_init(&c, "ta", 2, 64, 4, 256, 100, 64, 2, 3);
    cr_assert_null(st);
    c.layer_heads[1] = 2;          /* pruned: 2 of 4 heads */
    c.layer_intermediate[1] = 100; /* pruned FFN */
    ctcd_model_layout lay;
    st = ctcd_model_layout_build(&c, &lay);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    const ctcd_param_info *q = ctcd_model_layout_find(&lay, "bert.encoder.layer.1.attention.self.query.weight");
    const ctcd_param_info *f = ctcd_model_layout_find(&lay, "bert.encoder.layer.1.intermediate.dense.weight");
    cr_assert_eq(q->shape[0], 32, "pruned query rows %lld", (long long)q->shape[0]);
    cr_assert_eq(f->shape[0], 100, "pruned FFN rows %lld", (long long)f->shape[0]);
    ctcd_model_layout_free(&lay);
}

/* A tiny model and a padded batch shared by the graph tests. */
typedef struct fixture {
    ctcd_backend *be;
    ctcd_model *m;
    int32_t ids[32], types[32], mask[32], cls[4], labels[32], pred[32];
    int head;
    ctcd_batch_dev b;
    float *terms;
} fixture;

/* head CTCD_HEAD_MLM predicts every second real token (original id as the label). With
 * non_uniform, layer 0 keeps 1 of its 2 heads and layer 1 has an FFN of width 5 (a pruned
 * model). */
static void fixture_make_shaped(fixture *f, int B, int T, const int *lens, float dropout,
                                int head, int non_uniform) {
    memset(f, 0, sizeof *f);
    f->head = head;
    ctcd_status st = ctcd_backend_create("cpu", &f->be);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    ctcd_bert_config c;
    st = ctcd_bert_config_init(&c, "tiny", 2, 8, 2, 16, 11, 16, 2, 3);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    c.hidden_dropout = dropout;
    c.attn_dropout = dropout;
    c.initializer_range = 0.4f; /* large weights: gradients well above fp32 FD noise */
    c.head = head;
    if (non_uniform) {
        c.layer_heads[0] = 1;
        c.layer_intermediate[1] = 5;
    }
    st = ctcd_model_create(f->be, &c, "tiny", 4, 8, &f->m);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    st = ctcd_model_init_random(f->m, 7);
    cr_assert_null(st);
    /* Perturb the LayerNorm/bias parameters away from (1, 0) so their gradients are generic. */
    float *w = f->m->ps.master;
    ctcd_test_fill_uniform(w + f->m->lay.n_decay, f->m->lay.n_total - f->m->lay.n_decay, -0.5f,
                           1.5f, 3);
    ctcd_params_zero_padding(w, f->m->lay.params, f->m->lay.n_params, f->m->lay.n_total);
    f->m->dropout_seed = 99;
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            const int real = t < lens[b];
            f->ids[b * T + t] = real ? 1 + (b * 7 + t * 3) % 10 : 0;
            f->types[b * T + t] = real && t >= 2 ? 1 : 0;
            f->mask[b * T + t] = real;
        }
        f->cls[b] = b * T;
        f->labels[b] = b % 3;
    }
    f->b = (ctcd_batch_dev){.B = B, .T = T, .ids = f->ids, .types = f->types, .mask = f->mask,
                            .cls_idx = f->cls};
    if (head == CTCD_HEAD_MLM) {
        for (int b = 0; b < B; b++)
            for (int t = 1; t < lens[b]; t += 2) {
                f->pred[f->b.n_pred] = b * T + t;
                f->labels[f->b.n_pred++] = f->ids[b * T + t];
            }
        f->b.pred_idx = f->pred;
    }
    f->terms = calloc(CTCD_LOSS_NTERMS, sizeof(float));
}

static void fixture_make(fixture *f, int B, int T, const int *lens, float dropout, int head) {
    fixture_make_shaped(f, B, T, lens, dropout, head, 0);
}

static void fixture_free(fixture *f) {
    ctcd_model_destroy(f->m);
    ctcd_backend_destroy(f->be);
    free(f->terms);
}

/* Forward + loss; returns the loss (and leaves dlogits written). */
static float loss_of(fixture *f) {
    ctcd_status st = ctcd_model_forward(f->m, &f->b, 1, 5);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    const int mlm = f->head == CTCD_HEAD_MLM;
    ctcd_loss_desc d = {.kind = CTCD_LOSS_CE_KL, .n_models = 1,
                        .rows = mlm ? f->b.n_pred : f->b.B,
                        .classes = ctcd_bert_out_classes(&f->m->cfg), .temperature = 1.0f,
                        .hard_w = {1.0f, 0.0f}};
    ctcd_loss_io io = {.logits = {f->m->acts.logits}, .dlogits = {f->m->acts.dlogits},
                       .labels = f->labels, .terms = f->terms};
    st = f->be->loss(f->be, &d, &io);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    return f->terms[CTCD_TERM_TOTAL0];
}

static double loss_ctx(void *f) { return loss_of(f); }

/* Backward of the whole model against central differences on 3 random entries of every
 * parameter tensor. */
static void check_model_gradients(int head, int non_uniform) {
    fixture f;
    const int lens[3] = {6, 4, 2};
    fixture_make_shaped(&f, 3, 6, lens, 0.1f, head, non_uniform);
    ctcd_model *m = f.m;
    cr_assert_null(ctcd_model_zero_grad(m));
    (void)loss_of(&f);
    ctcd_status st = ctcd_model_backward(m, &f.b, 5);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    float *g = malloc((size_t)m->lay.n_total * sizeof(float));
    memcpy(g, m->ps.grads, (size_t)m->lay.n_total * sizeof(float));

    gc_check_model(m, g, 3, loss_ctx, &f);
    free(g);
    fixture_free(&f);
}

Test(model_grad, two_layer_model_backward_matches_finite_differences) {
    check_model_gradients(CTCD_HEAD_CLASSIFY, 0);
}

Test(model_grad, non_uniform_heads_and_ffn_widths_backward_matches_finite_differences) {
    check_model_gradients(CTCD_HEAD_CLASSIFY, 1);
}

Test(model_grad, masked_lm_head_backward_matches_finite_differences) {
    /* Covers the transform, its LayerNorm, the decoder bias and the tied decoder, whose
     * gradient adds to the word embeddings' lookup gradient. */
    check_model_gradients(CTCD_HEAD_MLM, 0);
}

Test(model_graph, padding_does_not_change_logits) {
    /* The same 4-token sequence padded to T=4 and to T=8 must give identical logits. */
    fixture a, b;
    const int lens4[1] = {4}, lens8[1] = {4};
    fixture_make(&a, 1, 4, lens4, 0.0f, CTCD_HEAD_CLASSIFY);
    fixture_make(&b, 1, 8, lens8, 0.0f, CTCD_HEAD_CLASSIFY);
    cr_assert_null(ctcd_model_forward(a.m, &a.b, 0, 0));
    cr_assert_null(ctcd_model_forward(b.m, &b.b, 0, 0));
    const float *la = a.m->acts.logits, *lb = b.m->acts.logits;
    for (int c = 0; c < 3; c++)
        cr_assert_float_eq(la[c], lb[c], 1e-5f, "class %d: %g (T=4) vs %g (T=8)", c,
                           (double)la[c], (double)lb[c]);
    fixture_free(&a);
    fixture_free(&b);
}

Test(model_layout, bert_base_masked_lm_matches_hf_count_and_ties_the_decoder) {
    ctcd_bert_config c;
    ctcd_status st = ctcd_bert_config_init(&c, "bert-base-mlm", 12, 768, 12, 3072, 30522, 512,
                                           2, 2);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    c.head = CTCD_HEAD_MLM;
    ctcd_model_layout lay;
    st = ctcd_model_layout_build(&c, &lay);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    /* BertForMaskedLM(bert-base-uncased) has 109,514,298 parameters: the encoder without the
     * pooler, the transform (768² + 768 + 2·768) and the decoder bias (30522); the decoder
     * weight is the word-embedding table. */
    cr_assert_eq(lay.n_params_real, 109514298LL, "parameter count %lld",
                 (long long)lay.n_params_real);
    cr_assert_null(ctcd_model_layout_find(&lay, "bert.pooler.dense.weight"));
    cr_assert_null(ctcd_model_layout_find(&lay, "classifier.weight"));
    cr_assert_null(ctcd_model_layout_find(&lay, "cls.predictions.decoder.weight"));
    const ctcd_param_info *bias = ctcd_model_layout_find(&lay, "cls.predictions.bias");
    cr_assert(bias && bias->numel == 30522 && !bias->decay, "cls.predictions.bias");
    const ctcd_param_info *w =
        ctcd_model_layout_find(&lay, "cls.predictions.transform.dense.weight");
    cr_assert(w && w->decay && w->offset + w->numel <= lay.n_decay, "transform weight decayed");
    ctcd_model_layout_free(&lay);
}

Test(model_graph, masked_lm_rows_depend_only_on_their_own_position) {
    /* Predicting every token and predicting a subset must give the subset's rows exactly:
     * the head gathers rows and never mixes them. */
    fixture all, sub;
    const int lens[2] = {5, 3};
    fixture_make(&all, 2, 5, lens, 0.0f, CTCD_HEAD_MLM);
    fixture_make(&sub, 2, 5, lens, 0.0f, CTCD_HEAD_MLM);
    for (int i = 0; i < 10; i++) all.pred[i] = i;
    all.b.n_pred = 10;
    cr_assert_null(ctcd_model_forward(all.m, &all.b, 0, 0));
    cr_assert_null(ctcd_model_forward(sub.m, &sub.b, 0, 0));
    const int V = sub.m->cfg.vocab_size;
    cr_assert_gt(sub.b.n_pred, 1);
    for (int64_t i = 0; i < sub.b.n_pred; i++) {
        const float *ra = (const float *)all.m->acts.logits + (int64_t)sub.pred[i] * V;
        const float *rs = (const float *)sub.m->acts.logits + i * V;
        for (int v = 0; v < V; v++)
            cr_assert_float_eq(ra[v], rs[v], 1e-6f, "row %d vocab %d", sub.pred[i], v);
    }
    fixture_free(&all);
    fixture_free(&sub);
}

Test(model_graph, masked_lm_batch_over_capacity_is_an_error) {
    fixture f;
    const int lens[1] = {4};
    fixture_make(&f, 1, 4, lens, 0.0f, CTCD_HEAD_MLM);
    f.b.n_pred = f.m->R_max + 1;
    ctcd_status st = ctcd_model_forward(f.m, &f.b, 0, 0);
    cr_assert_not_null(st, "over-capacity MLM batch accepted");
    cr_assert(strstr(ctcd_status_message(st), "max_predictions"), "message: %s",
              ctcd_status_message(st));
    ctcd_status_free(st);
    fixture_free(&f);
}

Test(model_grad, masked_lm_gathered_rows_equal_the_full_sequence_path) {
    /* The head on the masked rows only must give the loss and every gradient of the head on
     * all B·T rows with the unmasked rows unlabelled (label -1). */
    fixture g, full;
    const int lens[3] = {6, 4, 2};
    fixture_make(&g, 3, 6, lens, 0.1f, CTCD_HEAD_MLM);
    fixture_make(&full, 3, 6, lens, 0.1f, CTCD_HEAD_MLM);
    for (int i = 0; i < 18; i++) {
        full.pred[i] = i;
        full.labels[i] = -1;
    }
    for (int64_t k = 0; k < g.b.n_pred; k++) full.labels[g.pred[k]] = g.labels[k];
    full.b.n_pred = 18;
    cr_assert_null(ctcd_model_zero_grad(g.m));
    cr_assert_null(ctcd_model_zero_grad(full.m));
    const float lg = loss_of(&g), lf = loss_of(&full);
    cr_assert_float_eq(lg, lf, 1e-6f * fabsf(lf), "gathered loss %.8g vs full %.8g", lg, lf);
    cr_assert_null(ctcd_model_backward(g.m, &g.b, 5));
    cr_assert_null(ctcd_model_backward(full.m, &full.b, 5));
    double max_abs = 0, max_diff = 0;
    for (int64_t j = 0; j < g.m->lay.n_total; j++) {
        max_abs = fmax(max_abs, fabs(full.m->ps.grads[j]));
        max_diff = fmax(max_diff, fabs(g.m->ps.grads[j] - full.m->ps.grads[j]));
    }
    cr_assert_gt(max_abs, 1e-3, "no gradient");
    cr_assert_leq(max_diff, 1e-5 * max_abs, "gradients differ by %.3g (max %.3g)", max_diff,
                  max_abs);
    fixture_free(&g);
    fixture_free(&full);
}
