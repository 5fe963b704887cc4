/* hf_config_write.c — ctcd_bert_config -> Hugging Face config.json
 * (include/ctcd/checkpoint.h).
 *
 * The output holds every key transformers.BertConfig needs so that
 * BertConfig.from_pretrained and AutoModelFor*.from_pretrained build the same shapes; the
 * reader in hf_config.c reads it back unchanged. Pruned heads are recorded as the LAST
 * heads of a layer (ctcd keeps heads 0..k-1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/fileio.h"
#include "ctcd/checkpoint.h"
#include "ctcd/json_util.h"

/* The shortest decimal that reads back as f, as a double: cJSON then prints 1e-12f as
 * "1e-12" instead of "9.9999999600419720e-13". */
static double short_decimal(float f) {
    char buf[40];
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)f);
        if (strtof(buf, NULL) == f) break;
    }
    return strtod(buf, NULL);
}

static int uniform_intermediate(const ctcd_bert_config *c) {
    for (int l = 1; l < c->n_layers; l++)
        if (c->layer_intermediate[l] != c->layer_intermediate[0]) return 0;
    return 1;
}

static ctcd_status check_labels(const ctcd_bert_config *c, const char *const *labels) {
    if (!labels) return CTCD_OK;
    for (int i = 0; i < c->n_labels; i++) {
        if (!labels[i]) return CTCD_ERR(CTCD_E_INVALID, "config.json: label %d has no name", i);
        for (int j = 0; j < i; j++)
            if (strcmp(labels[i], labels[j]) == 0)
                return CTCD_ERR(CTCD_E_INVALID, "config.json: labels %d and %d are both '%s' "
                                "(label2id needs distinct names)", j, i, labels[i]);
    }
    return CTCD_OK;
}

/* id2label / label2id (+ problem_type for the classification head). */
static int add_labels(cJSON *o, const ctcd_bert_config *c, const char *const *labels) {
    if (c->n_labels < 1) return 1; /* masked LM without labels: HF's default applies */
    cJSON *i2l = cJSON_AddObjectToObject(o, "id2label");
    cJSON *l2i = cJSON_AddObjectToObject(o, "label2id");
    if (!i2l || !l2i) return 0;
    for (int i = 0; i < c->n_labels; i++) {
        char id[16], def[32];
        snprintf(id, sizeof id, "%d", i);
        snprintf(def, sizeof def, "LABEL_%d", i);
        const char *name = labels ? labels[i] : def;
        if (!cJSON_AddStringToObject(i2l, id, name) || !cJSON_AddNumberToObject(l2i, name, i))
            return 0;
    }
    if (c->head != CTCD_HEAD_CLASSIFY || c->multiple_choice) return 1;
    return cJSON_AddStringToObject(o, "problem_type", c->n_labels == 1
                                                          ? "regression"
                                                          : "single_label_classification") != NULL;
}

/* "pruned_heads" when some layer has fewer heads; ctcd keeps heads 0..k-1. */
static int add_pruned_heads(cJSON *o, const ctcd_bert_config *c) {
    cJSON *ph = NULL;
    for (int l = 0; l < c->n_layers; l++) {
        if (c->layer_heads[l] == c->n_heads) continue;
        if (!ph && !(ph = cJSON_AddObjectToObject(o, "pruned_heads"))) return 0;
        char key[16];
        snprintf(key, sizeof key, "%d", l);
        cJSON *list = cJSON_AddArrayToObject(ph, key);
        if (!list) return 0;
        for (int h = c->layer_heads[l]; h < c->n_heads; h++)
            if (!cJSON_AddItemToArray(list, cJSON_CreateNumber(h))) return 0;
    }
    return 1;
}

static int add_intermediate(cJSON *o, const ctcd_bert_config *c) {
    if (uniform_intermediate(c))
        return cJSON_AddNumberToObject(o, "intermediate_size", c->layer_intermediate[0]) != NULL;
    if (!cJSON_AddNumberToObject(o, "intermediate_size", c->intermediate)) return 0;
    cJSON *a = cJSON_AddArrayToObject(o, "ctcd_layer_intermediate");
    if (!a) return 0;
    for (int l = 0; l < c->n_layers; l++)
        if (!cJSON_AddItemToArray(a, cJSON_CreateNumber(c->layer_intermediate[l]))) return 0;
    return 1;
}

static int add_scalars(cJSON *o, const ctcd_bert_config *c) {
    cJSON *arch = cJSON_AddArrayToObject(o, "architectures");
    const char *name = c->head == CTCD_HEAD_MLM ? "BertForMaskedLM"
                       : c->multiple_choice    ? "BertForMultipleChoice"
                                               : "BertForSequenceClassification";
    return arch && cJSON_AddItemToArray(arch, cJSON_CreateString(name)) &&
           cJSON_AddStringToObject(o, "model_type", "bert") &&
           cJSON_AddNumberToObject(o, "hidden_size", c->hidden) &&
           cJSON_AddNumberToObject(o, "num_hidden_layers", c->n_layers) &&
           cJSON_AddNumberToObject(o, "num_attention_heads", c->n_heads) &&
           add_intermediate(o, c) &&
           cJSON_AddStringToObject(o, "hidden_act", "gelu") &&
           cJSON_AddNumberToObject(o, "hidden_dropout_prob", short_decimal(c->hidden_dropout)) &&
           cJSON_AddNumberToObject(o, "attention_probs_dropout_prob",
                                   short_decimal(c->attn_dropout)) &&
           cJSON_AddNumberToObject(o, "max_position_embeddings", c->max_position) &&
           cJSON_AddNumberToObject(o, "type_vocab_size", c->type_vocab) &&
           cJSON_AddNumberToObject(o, "vocab_size", c->vocab_size) &&
           cJSON_AddNumberToObject(o, "initializer_range",
                                   short_decimal(c->initializer_range)) &&
           cJSON_AddNumberToObject(o, "layer_norm_eps", short_decimal(c->ln_eps)) &&
           cJSON_AddNumberToObject(o, "pad_token_id", c->pad_id) &&
           cJSON_AddStringToObject(o, "position_embedding_type", "absolute") &&
           cJSON_AddNullToObject(o, "classifier_dropout");
}

ctcd_status ctcd_hf_config_to_json(const ctcd_bert_config *c, const char *const *labels,
                                   ctcd_dtype dtype, char **out) {
    *out = NULL;
    CTCD_TRY(ctcd_bert_config_validate(c, "config.json"));
    CTCD_TRY(check_labels(c, labels));
    if (dtype != CTCD_F32 && dtype != CTCD_BF16)
        return CTCD_ERR(CTCD_E_INVALID, "config.json: checkpoints are F32 or BF16, not %s",
                        ctcd_dtype_name(dtype));
    cJSON *o = cJSON_CreateObject();
    const int ok = o && add_scalars(o, c) && add_labels(o, c, labels) &&
                   add_pruned_heads(o, c) &&
                   cJSON_AddStringToObject(o, "torch_dtype",
                                           dtype == CTCD_BF16 ? "bfloat16" : "float32");
    char *text = ok ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (!text) return CTCD_ERR(CTCD_E_NOMEM, "config.json: out of memory");
    const size_t n = strlen(text);
    char *nl = realloc(text, n + 2); /* end with a newline like every text file */
    if (!nl) {
        free(text);
        return CTCD_ERR(CTCD_E_NOMEM, "config.json: out of memory");
    }
    nl[n] = '\n';
    nl[n + 1] = '\0';
    *out = nl;
    return CTCD_OK;
}

ctcd_status ctcd_hf_config_write(const char *path, const ctcd_bert_config *c,
                                 const char *const *labels, ctcd_dtype dtype) {
    char *text = NULL;
    ctcd_status st = ctcd_hf_config_to_json(c, labels, dtype, &text);
    if (st) return ctcd_error_wrap(st, "%s", path);
    st = ctcd_atomic_write_file(path, text, strlen(text));
    free(text);
    return st;
}
