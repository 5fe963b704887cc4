/* hf_config.c — Hugging Face BertConfig (config.json) <-> ctcd_bert_config
 * (include/ctcd/checkpoint.h).
 *
 * Reading is strict where a wrong guess would silently change the model (activation,
 * position embeddings, shapes, problem type) and lenient where HF itself is (unknown keys
 * are ignored, label2id need not agree with id2label). Writing produces what
 * BertConfig.save_pretrained would, plus ctcd's one extension "ctcd_layer_intermediate". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctcd/fileio.h"
#include "ctcd/checkpoint.h"
#include "ctcd/json_util.h"

#define CONFIG_MAX_BYTES ((size_t)64 << 20) /* a real config.json is a few KiB */
#define CONFIG_MAX_DEPTH 32
#define MAX_LABELS (1 << 20)
#define BIG (1 << 24) /* sanity cap for sizes: keeps every product far from overflow */

typedef struct reader {
    const char *path;
    const cJSON *root;
} reader;

static const cJSON *key(const reader *r, const char *k) {
    return cJSON_GetObjectItemCaseSensitive(r->root, k);
}

static ctcd_status missing(const reader *r, const char *k) {
    return CTCD_ERR(CTCD_E_PARSE, "%s: missing required key \"%s\"", r->path, k);
}

static ctcd_status wrong_type(const reader *r, const char *k, const cJSON *v, const char *want) {
    return CTCD_ERR(CTCD_E_PARSE, "%s: key \"%s\" is %s, expected %s", r->path, k,
                    ctcd_json_type_name(v), want);
}

/* An integer key in [lo, hi]; def when absent (or null, if null_ok) and not required. */
static ctcd_status get_int(const reader *r, const char *k, int required, int def, int lo,
                           int hi, int *out) {
    const cJSON *v = key(r, k);
    if (!v || (cJSON_IsNull(v) && !required)) {
        if (required) return missing(r, k);
        *out = def;
        return CTCD_OK;
    }
    if (!cJSON_IsNumber(v)) return wrong_type(r, k, v, "an integer");
    if (!ctcd_json_is_int_in(v, lo, hi))
        return CTCD_ERR(CTCD_E_PARSE, "%s: key \"%s\" = %g: expected an integer in [%d, %d]",
                        r->path, k, v->valuedouble, lo, hi);
    *out = (int)v->valuedouble;
    return CTCD_OK;
}

/* An optional number key in [lo, hi]. */
static ctcd_status get_float(const reader *r, const char *k, float def, double lo, double hi,
                             float *out) {
    const cJSON *v = key(r, k);
    if (!v) {
        *out = def;
        return CTCD_OK;
    }
    if (!cJSON_IsNumber(v)) return wrong_type(r, k, v, "a number");
    if (!(v->valuedouble >= lo && v->valuedouble <= hi))
        return CTCD_ERR(CTCD_E_PARSE, "%s: key \"%s\" = %g: expected a number in [%g, %g]",
                        r->path, k, v->valuedouble, lo, hi);
    *out = (float)v->valuedouble;
    return CTCD_OK;
}

/* An optional string key; *out is NULL when absent or null. */
static ctcd_status get_string(const reader *r, const char *k, const char **out) {
    const cJSON *v = key(r, k);
    *out = NULL;
    if (!v || cJSON_IsNull(v)) return CTCD_OK;
    if (!cJSON_IsString(v)) return wrong_type(r, k, v, "a string");
    *out = v->valuestring;
    return CTCD_OK;
}

/* ---- architecture and activation ---- */

static ctcd_status read_arch(const reader *r, ctcd_hf_config *hf) {
    const char *mt;
    CTCD_TRY(get_string(r, "model_type", &mt));
    if (mt && strcmp(mt, "bert") != 0)
        return CTCD_ERR(CTCD_E_UNSUPPORTED, "%s: key \"model_type\" is \"%.64s\"; ctcd reads "
                        "BERT checkpoints only (\"bert\")", r->path, mt);
    const cJSON *a = key(r, "architectures");
    if (!a || cJSON_IsNull(a)) return CTCD_OK;
    if (!cJSON_IsArray(a)) return wrong_type(r, "architectures", a, "an array of strings");
    if (!a->child) return CTCD_OK;
    if (!cJSON_IsString(a->child))
        return wrong_type(r, "architectures", a->child, "an array of strings");
    const char *name = a->child->valuestring;
    if (strncmp(name, "Bert", 4) != 0)
        return CTCD_ERR(CTCD_E_UNSUPPORTED, "%s: key \"architectures\": %.64s is not a BERT "
                        "architecture", r->path, name);
    snprintf(hf->architecture, sizeof hf->architecture, "%s", name);
    if (strcmp(name, "BertForSequenceClassification") == 0) {
        hf->has_head = 1;
        hf->cfg.head = CTCD_HEAD_CLASSIFY;
    } else if (strcmp(name, "BertForMultipleChoice") == 0) {
        hf->has_head = 1; /* one score per choice: n_labels becomes 1 when opened */
        hf->cfg.head = CTCD_HEAD_CLASSIFY;
        hf->cfg.multiple_choice = 1;
    } else if (strcmp(name, "BertForMaskedLM") == 0) {
        hf->has_head = 1;
        hf->cfg.head = CTCD_HEAD_MLM;
    }
    return CTCD_OK;
}

static ctcd_status read_activation(const reader *r) {
    const char *act, *pos;
    CTCD_TRY(get_string(r, "hidden_act", &act));
    if (act && strcmp(act, "gelu") != 0)
        return CTCD_ERR(CTCD_E_UNSUPPORTED, "%s: key \"hidden_act\" is \"%.64s\": only the "
                        "exact-erf GELU (\"gelu\") is supported", r->path, act);
    CTCD_TRY(get_string(r, "position_embedding_type", &pos));
    if (pos && strcmp(pos, "absolute") != 0)
        return CTCD_ERR(CTCD_E_UNSUPPORTED, "%s: key \"position_embedding_type\" is \"%.64s\": "
                        "only \"absolute\" is supported", r->path, pos);
    return CTCD_OK;
}

/* ---- labels ---- */

/* "12" -> 12 when it is a plain decimal below n; -1 otherwise. */
static int label_id(const char *s, int n) {
    if (!*s || strlen(s) > 9) return -1;
    int v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (*p - '0');
    }
    return v < n ? v : -1;
}

static ctcd_status labels_alloc(const reader *r, ctcd_hf_config *hf, int n) {
    hf->labels = calloc((size_t)n, sizeof *hf->labels);
    if (!hf->labels) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory for labels", r->path);
    hf->cfg.n_labels = n;
    return CTCD_OK;
}

static ctcd_status set_label(const reader *r, ctcd_hf_config *hf, const char *k, int id,
                             const char *name) {
    if (id < 0)
        return CTCD_ERR(CTCD_E_PARSE, "%s: key \"%s\": ids must be 0..%d", r->path, k,
                        hf->cfg.n_labels - 1);
    if (hf->labels[id])
        return CTCD_ERR(CTCD_E_PARSE, "%s: key \"%s\": id %d appears twice", r->path, k, id);
    if (!(hf->labels[id] = strdup(name)))
        return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory for labels", r->path);
    return CTCD_OK;
}

static ctcd_status labels_from_id2label(const reader *r, ctcd_hf_config *hf, const cJSON *m) {
    CTCD_TRY(labels_alloc(r, hf, cJSON_GetArraySize(m)));
    for (const cJSON *e = m->child; e; e = e->next) {
        if (!cJSON_IsString(e)) return wrong_type(r, "id2label", e, "string label names");
        CTCD_TRY(set_label(r, hf, "id2label", label_id(e->string, hf->cfg.n_labels),
                           e->valuestring));
    }
    return CTCD_OK;
}

static ctcd_status labels_from_label2id(const reader *r, ctcd_hf_config *hf, const cJSON *m) {
    CTCD_TRY(labels_alloc(r, hf, cJSON_GetArraySize(m)));
    for (const cJSON *e = m->child; e; e = e->next) {
        const int id = ctcd_json_is_int_in(e, 0, hf->cfg.n_labels - 1) ? (int)e->valuedouble : -1;
        CTCD_TRY(set_label(r, hf, "label2id", id, e->string));
    }
    return CTCD_OK;
}

static ctcd_status default_labels(const reader *r, ctcd_hf_config *hf, int n) {
    CTCD_TRY(labels_alloc(r, hf, n));
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "LABEL_%d", i);
        CTCD_TRY(set_label(r, hf, "num_labels", i, name));
    }
    return CTCD_OK;
}

/* Labels come from id2label (as in HF), else label2id, else num_labels (default 2). */
static ctcd_status read_labels(const reader *r, ctcd_hf_config *hf) {
    int num = 0;
    CTCD_TRY(get_int(r, "num_labels", 0, 0, 1, MAX_LABELS, &num));
    const cJSON *i2l = key(r, "id2label"), *l2i = key(r, "label2id");
    const char *src = NULL;
    const cJSON *m = NULL;
    if (i2l && !cJSON_IsNull(i2l)) {
        src = "id2label";
        m = i2l;
    } else if (l2i && !cJSON_IsNull(l2i)) {
        src = "label2id";
        m = l2i;
    }
    if (!m) return default_labels(r, hf, num ? num : 2);
    if (!cJSON_IsObject(m)) return wrong_type(r, src, m, "an object");
    const int n = cJSON_GetArraySize(m);
    if (n < 1 || n > MAX_LABELS)
        return CTCD_ERR(CTCD_E_PARSE, "%s: key \"%s\" has %d labels (need 1..%d)", r->path, src,
                        n, MAX_LABELS);
    if (num && num != n)
        return CTCD_ERR(CTCD_E_PARSE, "%s: key \"num_labels\" = %d disagrees with the %d "
                        "entries of \"%s\"", r->path, num, n, src);
    return m == i2l ? labels_from_id2label(r, hf, m) : labels_from_label2id(r, hf, m);
}

static ctcd_status read_problem_type(const reader *r, const ctcd_hf_config *hf) {
    const char *pt;
    CTCD_TRY(get_string(r, "problem_type", &pt));
    const int n = hf->cfg.n_labels;
    if (!pt) return CTCD_OK;
    if (strcmp(pt, "regression") == 0 && n != 1)
        return CTCD_ERR(CTCD_E_PARSE, "%s: key \"problem_type\" is \"regression\" but there are "
                        "%d labels (regression has exactly 1)", r->path, n);
    if (strcmp(pt, "single_label_classification") == 0 && n == 1)
        return CTCD_ERR(CTCD_E_PARSE, "%s: key \"problem_type\" is \"%s\" with 1 label (1 label "
                        "means regression)", r->path, pt);
    if (strcmp(pt, "regression") != 0 && strcmp(pt, "single_label_classification") != 0)
        return CTCD_ERR(CTCD_E_UNSUPPORTED, "%s: key \"problem_type\" is \"%.64s\": ctcd "
                        "supports \"single_label_classification\" and \"regression\"",
                        r->path, pt);
    return CTCD_OK;
}

/* ---- per-layer shapes ---- */

/* Distinct heads in one layer's list (HF treats it as a set); -1 on a bad index. */
static int count_pruned(const cJSON *list, int n_heads, unsigned char *seen) {
    memset(seen, 0, (size_t)n_heads);
    int count = 0;
    for (const cJSON *h = list->child; h; h = h->next) {
        if (!ctcd_json_is_int_in(h, 0, n_heads - 1)) return -1;
        const int i = (int)h->valuedouble;
        count += !seen[i];
        seen[i] = 1;
    }
    return count;
}

static ctcd_status read_pruned_heads(const reader *r, ctcd_bert_config *c) {
    const cJSON *ph = key(r, "pruned_heads");
    if (!ph || cJSON_IsNull(ph)) return CTCD_OK;
    if (!cJSON_IsObject(ph)) return wrong_type(r, "pruned_heads", ph, "an object");
    unsigned char *seen = malloc((size_t)c->n_heads);
    if (!seen) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", r->path);
    ctcd_status st = CTCD_OK;
    for (const cJSON *e = ph->child; e && !st; e = e->next) {
        const int l = label_id(e->string, c->n_layers);
        const int count = cJSON_IsArray(e) ? count_pruned(e, c->n_heads, seen) : -1;
        if (l < 0) {
            st = CTCD_ERR(CTCD_E_PARSE, "%s: key \"pruned_heads\": \"%.32s\" is not a layer "
                          "index in 0..%d", r->path, e->string, c->n_layers - 1);
        } else if (count < 0) {
            st = CTCD_ERR(CTCD_E_PARSE, "%s: key \"pruned_heads\": layer %d: expected an array "
                          "of head indices in 0..%d", r->path, l, c->n_heads - 1);
        } else if (count >= c->n_heads) {
            st = CTCD_ERR(CTCD_E_UNSUPPORTED, "%s: key \"pruned_heads\": layer %d prunes all "
                          "%d heads (ctcd keeps >= 1 head per layer; drop the layer instead)",
                          r->path, l, c->n_heads);
        } else {
            c->layer_heads[l] = c->n_heads - count;
        }
    }
    free(seen);
    return st;
}

static ctcd_status read_layer_intermediate(const reader *r, ctcd_bert_config *c) {
    const char *k = "ctcd_layer_intermediate";
    const cJSON *a = key(r, k);
    if (!a || cJSON_IsNull(a)) return CTCD_OK;
    if (!cJSON_IsArray(a)) return wrong_type(r, k, a, "an array of integers");
    if (cJSON_GetArraySize(a) != c->n_layers)
        return CTCD_ERR(CTCD_E_PARSE, "%s: key \"%s\" has %d entries for %d layers", r->path, k,
                        cJSON_GetArraySize(a), c->n_layers);
    int l = 0;
    for (const cJSON *e = a->child; e; e = e->next, l++) {
        if (!ctcd_json_is_int_in(e, 1, BIG))
            return CTCD_ERR(CTCD_E_PARSE, "%s: key \"%s\"[%d] must be an integer in [1, %d]",
                            r->path, k, l, BIG);
        c->layer_intermediate[l] = (int)e->valuedouble;
    }
    return CTCD_OK;
}

/* ---- the whole file ---- */

static ctcd_status read_sizes(const reader *r, ctcd_hf_config *hf) {
    int layers, hidden, heads, inter, vocab, maxpos, types;
    CTCD_TRY(get_int(r, "num_hidden_layers", 1, 0, 1, CTCD_MAX_LAYERS, &layers));
    CTCD_TRY(get_int(r, "hidden_size", 1, 0, 1, 65536, &hidden));
    CTCD_TRY(get_int(r, "num_attention_heads", 1, 0, 1, hidden, &heads));
    CTCD_TRY(get_int(r, "intermediate_size", 1, 0, 1, BIG, &inter));
    CTCD_TRY(get_int(r, "vocab_size", 1, 0, 1, BIG, &vocab));
    CTCD_TRY(get_int(r, "max_position_embeddings", 1, 0, 1, BIG, &maxpos));
    CTCD_TRY(get_int(r, "type_vocab_size", 1, 0, 1, BIG, &types));
    if (hidden % heads != 0)
        return CTCD_ERR(CTCD_E_PARSE, "%s: key \"hidden_size\" (%d) is not a multiple of "
                        "\"num_attention_heads\" (%d)", r->path, hidden, heads);
    ctcd_status st = ctcd_bert_config_init(&hf->cfg, r->path, layers, hidden, heads, inter,
                                           vocab, maxpos, types, 1);
    if (st) return st;
    ctcd_bert_config *c = &hf->cfg;
    CTCD_TRY(get_int(r, "pad_token_id", 0, 0, 0, vocab - 1, &c->pad_id));
    CTCD_TRY(get_float(r, "hidden_dropout_prob", 0.1f, 0.0, 0.99, &c->hidden_dropout));
    CTCD_TRY(get_float(r, "attention_probs_dropout_prob", 0.1f, 0.0, 0.99, &c->attn_dropout));
    CTCD_TRY(get_float(r, "initializer_range", 0.02f, 0.0, 10.0, &c->initializer_range));
    CTCD_TRY(get_float(r, "layer_norm_eps", 1e-12f, 1e-30, 1.0, &c->ln_eps));
    const cJSON *cd = key(r, "classifier_dropout");
    hf->classifier_dropout = -1.0f;
    if (cd && !cJSON_IsNull(cd))
        CTCD_TRY(get_float(r, "classifier_dropout", 0.0f, 0.0, 0.99, &hf->classifier_dropout));
    CTCD_TRY(read_pruned_heads(r, c));
    return read_layer_intermediate(r, c);
}

static ctcd_status read_root(const reader *r, ctcd_hf_config *hf) {
    if (!cJSON_IsObject(r->root))
        return CTCD_ERR(CTCD_E_PARSE, "%s: top level is a JSON %s, expected an object", r->path,
                        ctcd_json_type_name(r->root));
    CTCD_TRY(ctcd_json_check_unique_keys(r->root, r->path));
    CTCD_TRY(read_sizes(r, hf));
    CTCD_TRY(read_arch(r, hf));
    CTCD_TRY(read_activation(r));
    CTCD_TRY(read_labels(r, hf));
    CTCD_TRY(read_problem_type(r, hf));
    return ctcd_bert_config_validate(&hf->cfg, r->path);
}

ctcd_status ctcd_hf_config_read(const char *path, ctcd_hf_config *out) {
    memset(out, 0, sizeof *out);
    out->classifier_dropout = -1.0f;
    struct stat sb;
    char *file = NULL;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        const size_t n = strlen(path) + sizeof "/config.json";
        if (!(file = malloc(n))) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
        snprintf(file, n, "%s/config.json", path);
    } else if (!(file = strdup(path))) {
        return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
    }
    char *text = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    ctcd_status st = ctcd_read_small_file(file, CONFIG_MAX_BYTES, &text, &len);
    if (!st) st = ctcd_json_parse(text, len, CONFIG_MAX_DEPTH, file, 0, &root);
    if (!st) {
        const reader r = {file, root};
        st = read_root(&r, out);
    }
    cJSON_Delete(root);
    free(text);
    free(file);
    if (st) ctcd_hf_config_free(out);
    return st;
}

ctcd_status ctcd_hf_checkpoint_check(const char *dir) {
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return CTCD_ERR(CTCD_E_IO, "cannot open checkpoint directory %s: %s", dir,
                        strerror(errno));
    ctcd_hf_config hc;
    ctcd_status st = ctcd_hf_config_read(dir, &hc);
    ctcd_hf_config_free(&hc);
    return st;
}

void ctcd_hf_config_free(ctcd_hf_config *c) {
    if (c->labels)
        for (int i = 0; i < c->cfg.n_labels; i++) free(c->labels[i]);
    free(c->labels);
    c->labels = NULL;
}
