/* esnli.c — the e-SNLI loader (task esnli) and the parsing of LLM chain-of-thought outputs
 * (include/ctcd/rationale_data.h). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/rationale_data.h"
#include "llm_outputs.h"

static const char *const k_labels[3] = {"entailment", "neutral", "contradiction"};

const char *ctcd_esnli_label_name(int label) {
    return label >= 0 && label < 3 ? k_labels[label] : NULL;
}

/* First occurrence of needle in text[0..len), or len. */
static size_t find(const char *text, size_t len, const char *needle) {
    const size_t m = strlen(needle);
    for (size_t i = 0; i + m <= len; i++)
        if (memcmp(text + i, needle, m) == 0) return i;
    return len;
}

void ctcd_llm_parse_output(const char *text, size_t len, ctcd_llm_parse *out) {
    /* Cut a hallucinated next example. */
    static const char *const next[] = {"\nPremise:", "\nQ:", "\nHypothesis:"};
    for (size_t i = 0; i < sizeof next / sizeof next[0]; i++) {
        const size_t at = find(text, len, next[i]);
        if (at < len) len = at;
    }
    static const char *const marks[] = {"Answer:", "So the answer is"};
    size_t at = len, mlen = 0;
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        const size_t a = find(text, len, marks[i]);
        if (a < at) {
            at = a;
            mlen = strlen(marks[i]);
        }
    }
    memset(out, 0, sizeof *out);
    out->rat_len = at;
    llm_trim(text, &out->rat_off, &out->rat_len);
    if (at == len) return;
    size_t lo = at + mlen, ll = len - lo;
    ll = find(text + lo, ll, "\n");
    ll = find(text + lo, ll, "Premise");
    llm_trim(text, &lo, &ll);
    if (ll && text[lo + ll - 1] == '.') ll--;
    llm_trim(text, &lo, &ll);
    out->label_off = lo;
    out->label_len = ll;
}

/* ---- loading ---- */

static int label_of(const void *ctx, const char *s, size_t n) {
    (void)ctx;
    for (int c = 0; c < 3; c++)
        if (strlen(k_labels[c]) == n && strncmp(s, k_labels[c], n) == 0) return c;
    return -1;
}

typedef struct loader {
    const char *path;
    ctcd_tokenizer *tok;
    int max_len;
    int32_t *ids, *types;
    llm_rationale_src rat;     /* the rationale of each row */
    ctcd_dataset *data;
} loader;

/* One JSONL row: the pair, the label and the rationale (an llm_row_fn). */
static ctcd_status load_row(void *ctx, const cJSON *o, int64_t line, int64_t idx) {
    loader *l = ctx;
    const char *p = llm_str_field(o, "premise"), *h = llm_str_field(o, "hypothesis");
    const cJSON *lab = cJSON_GetObjectItemCaseSensitive(o, "label");
    if (!p || !h || !cJSON_IsNumber(lab) || lab->valueint < 0 || lab->valueint > 2 ||
        lab->valuedouble != (double)lab->valueint)
        return CTCD_ERR(CTCD_E_INVALID,
                        "%s:%lld: needs string premise and hypothesis and label 0, 1 or 2",
                        l->path, (long long)line);
    ctcd_encoding enc;
    ctcd_status st = ctcd_tokenizer_encode(l->tok, p, strlen(p), h, strlen(h), l->max_len,
                                           l->ids, l->types, &enc);
    if (st) return ctcd_error_wrap(st, "%s:%lld", l->path, (long long)line);
    if (enc.removed) l->rat.rep->truncated++;
    CTCD_TRY(ctcd_dataset_push(l->data, l->ids, l->types, enc.len, lab->valueint, 0.0f));
    return llm_push_rationale(&l->rat, o, line, idx, lab->valueint);
}

ctcd_status ctcd_esnli_load(const char *dir, const char *split, int source, ctcd_tokenizer *tok,
                            int max_len, int64_t limit, ctcd_dataset *data,
                            ctcd_rationale_set *rats, ctcd_esnli_report *rep) {
    static const char *const splits[2] = {"valid", "test"};
    llm_load L;
    CTCD_TRY(llm_load_begin(&L, "e-SNLI", "esnli", splits, dir, split, source, tok, data, rats,
                            rep));
    L.src.human_key = "explanation_1";
    L.src.label_of = label_of;
    char name[64];
    snprintf(name, sizeof name, "esnli/%s", split);
    loader l = {.path = L.path, .tok = tok, .max_len = max_len,
                .ids = malloc((size_t)max_len * 4), .types = malloc((size_t)max_len * 4),
                .rat = L.src, .data = data};
    ctcd_status st = l.ids && l.types ? ctcd_dataset_init(data, name, 3)
                                      : CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", L.path);
    if (!st) {
        data->vocab_size = ctcd_tokenizer_vocab_size(tok);
        data->special = ctcd_tokenizer_special(tok);
        st = llm_load_walk(&L, limit, load_row, &l);
    }
    free(l.ids);
    free(l.types);
    return llm_load_end(&L, st, data, rats);
}
