/* bert_layout.c — the flat parameter buffer of a BERT model: offsets, HF names, shapes and
 * weight-decay classes (include/ctcd/model.h).
 *
 * Order: every weight-decayed tensor (embeddings, Linear weights) first, then biases and
 * LayerNorm parameters, matching the usual `no_decay = ["bias", "LayerNorm.weight"]` rule of
 * HF fine-tuning scripts. Every tensor starts at a multiple of CTCD_PARAM_ALIGN elements
 * (param_set.h), except that within a layer key and value follow query directly (`add_next`),
 * which makes them one fused (3A, H) projection and one (3A) bias. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/model.h"

typedef struct builder {
    ctcd_model_layout *lay;
    ctcd_param_builder pb;
} builder;

/* Appends a named tensor at the next aligned offset and returns that offset. */
static int64_t add(builder *b, int decay, int64_t rows, int64_t cols, const char *fmt, int l) {
    return ctcd_param_add(&b->pb, decay, rows, cols, fmt, l);
}

/* Appends a tensor directly after the previous one (part of the same fused operand). */
static void add_next(builder *b, int decay, int64_t rows, int64_t cols, const char *fmt, int l) {
    ctcd_param_add_next(&b->pb, decay, rows, cols, fmt, l);
}

#define LP "bert.encoder.layer.%d."

static void add_decayed(builder *b, const ctcd_bert_config *c) {
    ctcd_model_layout *lay = b->lay;
    const int64_t H = c->hidden, HD = c->head_dim;
    lay->wte = add(b, 1, c->vocab_size, H, "bert.embeddings.word_embeddings.weight", 0);
    lay->wpe = add(b, 1, c->max_position, H, "bert.embeddings.position_embeddings.weight", 0);
    lay->wtt = add(b, 1, c->type_vocab, H, "bert.embeddings.token_type_embeddings.weight", 0);
    for (int l = 0; l < c->n_layers; l++) {
        ctcd_layer_offsets *o = &lay->layer[l];
        const int64_t A = (int64_t)c->layer_heads[l] * HD, I = c->layer_intermediate[l];
        o->qkv_w = add(b, 1, A, H, LP "attention.self.query.weight", l);
        add_next(b, 1, A, H, LP "attention.self.key.weight", l);
        add_next(b, 1, A, H, LP "attention.self.value.weight", l);
        o->ao_w = add(b, 1, H, A, LP "attention.output.dense.weight", l);
        o->fc1_w = add(b, 1, I, H, LP "intermediate.dense.weight", l);
        o->fc2_w = add(b, 1, H, I, LP "output.dense.weight", l);
    }
    if (c->head == CTCD_HEAD_MLM) {
        lay->mlm_w = add(b, 1, H, H, "cls.predictions.transform.dense.weight", 0);
    } else {
        lay->pool_w = add(b, 1, H, H, "bert.pooler.dense.weight", 0);
        lay->cls_w = add(b, 1, c->n_labels, H, "classifier.weight", 0);
    }
}

static void add_undecayed(builder *b, const ctcd_bert_config *c) {
    ctcd_model_layout *lay = b->lay;
    const int64_t H = c->hidden, HD = c->head_dim;
    lay->emb_ln_g = add(b, 0, H, 0, "bert.embeddings.LayerNorm.weight", 0);
    lay->emb_ln_b = add(b, 0, H, 0, "bert.embeddings.LayerNorm.bias", 0);
    for (int l = 0; l < c->n_layers; l++) {
        ctcd_layer_offsets *o = &lay->layer[l];
        const int64_t A = (int64_t)c->layer_heads[l] * HD, I = c->layer_intermediate[l];
        o->qkv_b = add(b, 0, A, 0, LP "attention.self.query.bias", l);
        add_next(b, 0, A, 0, LP "attention.self.key.bias", l);
        add_next(b, 0, A, 0, LP "attention.self.value.bias", l);
        o->ao_b = add(b, 0, H, 0, LP "attention.output.dense.bias", l);
        o->ln1_g = add(b, 0, H, 0, LP "attention.output.LayerNorm.weight", l);
        o->ln1_b = add(b, 0, H, 0, LP "attention.output.LayerNorm.bias", l);
        o->fc1_b = add(b, 0, I, 0, LP "intermediate.dense.bias", l);
        o->fc2_b = add(b, 0, H, 0, LP "output.dense.bias", l);
        o->ln2_g = add(b, 0, H, 0, LP "output.LayerNorm.weight", l);
        o->ln2_b = add(b, 0, H, 0, LP "output.LayerNorm.bias", l);
    }
    if (c->head == CTCD_HEAD_MLM) {
        /* HF ties cls.predictions.decoder.weight to the word embeddings and
         * cls.predictions.decoder.bias to cls.predictions.bias: neither is stored twice. */
        lay->mlm_b = add(b, 0, H, 0, "cls.predictions.transform.dense.bias", 0);
        lay->mlm_ln_g = add(b, 0, H, 0, "cls.predictions.transform.LayerNorm.weight", 0);
        lay->mlm_ln_b = add(b, 0, H, 0, "cls.predictions.transform.LayerNorm.bias", 0);
        lay->mlm_bias = add(b, 0, c->vocab_size, 0, "cls.predictions.bias", 0);
    } else {
        lay->pool_b = add(b, 0, H, 0, "bert.pooler.dense.bias", 0);
        lay->cls_b = add(b, 0, c->n_labels, 0, "classifier.bias", 0);
    }
}

ctcd_status ctcd_model_layout_build(const ctcd_bert_config *c, ctcd_model_layout *lay) {
    memset(lay, 0, sizeof *lay);
    CTCD_TRY(ctcd_bert_config_validate(c, "model"));
    builder b = {lay, {.params = &lay->params, .n_params = &lay->n_params,
                       .n_total = &lay->n_total, .n_real = &lay->n_params_real,
                       .what = "the parameter table"}};
    add_decayed(&b, c);
    lay->n_decay = lay->n_total;
    add_undecayed(&b, c);
    if (b.pb.err) ctcd_model_layout_free(lay);
    return b.pb.err;
}

void ctcd_model_layout_free(ctcd_model_layout *lay) {
    free(lay->params);
    lay->params = NULL;
    lay->n_params = 0;
}

const ctcd_param_info *ctcd_model_layout_find(const ctcd_model_layout *lay, const char *name) {
    for (int i = 0; i < lay->n_params; i++)
        if (strcmp(lay->params[i].name, name) == 0) return &lay->params[i];
    return NULL;
}
