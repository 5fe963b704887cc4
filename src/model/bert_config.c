/* bert_config.c — building and validating BERT configs (include/ctcd/model.h). */
#include <string.h>

#include "ctcd/model.h"

ctcd_status ctcd_bert_config_init(ctcd_bert_config *c, const char *who, int layers, int hidden,
                                  int heads, int intermediate, int vocab_size,
                                  int max_position, int type_vocab, int n_labels) {
    memset(c, 0, sizeof *c);
    c->n_layers = layers;
    c->hidden = hidden;
    c->n_heads = heads;
    c->head_dim = heads > 0 ? hidden / heads : 0;
    c->intermediate = intermediate > 0 ? intermediate : 4 * hidden;
    for (int l = 0; l < layers && l < CTCD_MAX_LAYERS; l++) {
        c->layer_heads[l] = heads;
        c->layer_intermediate[l] = c->intermediate;
    }
    c->vocab_size = vocab_size;
    c->max_position = max_position;
    c->type_vocab = type_vocab;
    c->pad_id = 0;
    c->hidden_dropout = 0.1f;
    c->attn_dropout = 0.1f;
    c->initializer_range = 0.02f;
    c->ln_eps = 1e-12f;
    c->n_labels = n_labels;
    return ctcd_bert_config_validate(c, who);
}

ctcd_status ctcd_bert_config_validate(const ctcd_bert_config *c, const char *who) {
    if (c->n_layers < 1 || c->n_layers > CTCD_MAX_LAYERS)
        return CTCD_ERR(CTCD_E_INVALID, "%s: layers must be in 1..%d (got %d)", who,
                        CTCD_MAX_LAYERS, c->n_layers);
    if (c->hidden < 1 || c->n_heads < 1 || c->hidden % c->n_heads != 0)
        return CTCD_ERR(CTCD_E_INVALID,
                        "%s: hidden (%d) must be a positive multiple of heads (%d)", who,
                        c->hidden, c->n_heads);
    if (c->head_dim != c->hidden / c->n_heads)
        return CTCD_ERR(CTCD_E_INVALID, "%s: head_dim %d != hidden / heads = %d", who,
                        c->head_dim, c->hidden / c->n_heads);
    for (int l = 0; l < c->n_layers; l++) {
        /* A layer without heads (or FFN neurons) would be HF's "output = dense bias"
         * branch; ctcd rejects it instead of special-casing every backend's matmul for K = 0:
         * model surgery keeps >= 1 unit per layer and drops whole layers instead. */
        if (c->layer_heads[l] < 1 || c->layer_heads[l] > c->n_heads)
            return CTCD_ERR(CTCD_E_INVALID, "%s: layer %d has %d attention heads (need 1..%d; "
                            "to remove a layer's attention entirely, drop the layer)", who, l,
                            c->layer_heads[l], c->n_heads);
        if (c->layer_intermediate[l] < 1)
            return CTCD_ERR(CTCD_E_INVALID, "%s: layer %d has intermediate size %d (need >= 1; "
                            "to remove a layer's FFN entirely, drop the layer)", who, l,
                            c->layer_intermediate[l]);
    }
    if (c->vocab_size < 1 || c->max_position < 1 || c->type_vocab < 1)
        return CTCD_ERR(CTCD_E_INVALID,
                        "%s: vocab_size (%d), max_position (%d) and type_vocab (%d) must be >= 1",
                        who, c->vocab_size, c->max_position, c->type_vocab);
    if (c->pad_id < 0 || c->pad_id >= c->vocab_size)
        return CTCD_ERR(CTCD_E_INVALID, "%s: pad id %d outside the vocabulary of %d", who,
                        c->pad_id, c->vocab_size);
    if (c->head != CTCD_HEAD_CLASSIFY && c->head != CTCD_HEAD_MLM)
        return CTCD_ERR(CTCD_E_INVALID, "%s: unknown head %d", who, c->head);
    if (c->multiple_choice && c->head != CTCD_HEAD_CLASSIFY)
        return CTCD_ERR(CTCD_E_INVALID, "%s: a multiple-choice model needs the classifier head",
                        who);
    if (c->max_predictions < 0)
        return CTCD_ERR(CTCD_E_INVALID, "%s: max_predictions must be >= 0 (got %d)", who,
                        c->max_predictions);
    if (c->head == CTCD_HEAD_CLASSIFY && c->n_labels < 1)
        return CTCD_ERR(CTCD_E_INVALID, "%s: n_labels must be >= 1 (got %d)", who, c->n_labels);
    if (!(c->hidden_dropout >= 0.0f && c->hidden_dropout < 1.0f) ||
        !(c->attn_dropout >= 0.0f && c->attn_dropout < 1.0f))
        return CTCD_ERR(CTCD_E_INVALID, "%s: dropout must be in [0, 1)", who);
    return CTCD_OK;
}
