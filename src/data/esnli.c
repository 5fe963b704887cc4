/* esnli.c — the e-SNLI loader (task esnli) and the parsing of LLM chain-of-thought outputs
 * (include/ctcd/rationale_data.h). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/rationale_data.h"

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

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Trims whitespace off both ends of the span [*off, *off + *len). */
static void trim(const char *text, size_t *off, size_t *len) {
    while (*len && is_space(text[*off])) {
        (*off)++;
        (*len)--;
    }
    while (*len && is_space(text[*off + *len - 1])) (*len)--;
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
    trim(text, &out->rat_off, &out->rat_len);
    if (at == len) return;
    size_t lo = at + mlen, ll = len - lo;
    ll = find(text + lo, ll, "\n");
    ll = find(text + lo, ll, "Premise");
    trim(text, &lo, &ll);
    if (ll && text[lo + ll - 1] == '.') ll--;
    trim(text, &lo, &ll);
    out->label_off = lo;
    out->label_len = ll;
}

/* ---- loading ---- */

static ctcd_status read_all(const char *path, char **out, size_t *n) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return CTCD_ERR(CTCD_E_IO, "%s: cannot open", path);
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - 1 - len, f);
        if (len < cap - 1) break;
        cap *= 2;
        char *b2 = realloc(buf, cap);
        if (!b2) free(buf);
        buf = b2;
    }
    const int err = ferror(f);
    fclose(f);
    if (!buf) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
    if (err) {
        free(buf);
        return CTCD_ERR(CTCD_E_IO, "%s: read error", path);
    }
    buf[len] = 0;
    *out = buf;
    *n = len;
    return CTCD_OK;
}

/* The PaLM outputs of a split: llm/{split}_CoT_0.json, _1.json, … concatenated. */
typedef struct llm_list {
    cJSON *parts[16];
    int n_parts;
    int64_t n;
} llm_list;

static void llm_free(llm_list *l) {
    for (int i = 0; i < l->n_parts; i++) cJSON_Delete(l->parts[i]);
    memset(l, 0, sizeof *l);
}

static ctcd_status llm_load(const char *dir, const char *split, llm_list *l) {
    memset(l, 0, sizeof *l);
    for (int k = 0; k < 16; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/llm/%s_CoT_%d.json", dir, split, k);
        FILE *probe = fopen(path, "rb");
        if (!probe) break;
        fclose(probe);
        char *text = NULL;
        size_t n = 0;
        CTCD_TRY(read_all(path, &text, &n));
        cJSON *root = cJSON_ParseWithLength(text, n);
        free(text);
        if (!cJSON_IsArray(root)) {
            cJSON_Delete(root);
            llm_free(l);
            return CTCD_ERR(CTCD_E_INVALID, "%s: not a JSON list of strings", path);
        }
        l->parts[l->n_parts++] = root;
        l->n += cJSON_GetArraySize(root);
    }
    if (l->n_parts == 0)
        return CTCD_ERR(CTCD_E_IO, "%s/llm/%s_CoT_0.json: not found (rationale.source: llm)", dir,
                        split);
    return CTCD_OK;
}

/* Element i of the concatenated lists (NULL when not a string). */
static const char *llm_at(const llm_list *l, int64_t i) {
    for (int p = 0; p < l->n_parts; p++) {
        const int64_t n = cJSON_GetArraySize(l->parts[p]);
        if (i < n) {
            const cJSON *s = cJSON_GetArrayItem(l->parts[p], (int)i);
            return cJSON_IsString(s) ? s->valuestring : NULL;
        }
        i -= n;
    }
    return NULL;
}

static int label_of(const char *s, size_t n) {
    for (int c = 0; c < 3; c++)
        if (strlen(k_labels[c]) == n && strncmp(s, k_labels[c], n) == 0) return c;
    return -1;
}

typedef struct loader {
    const char *path;
    ctcd_tokenizer *tok;
    int max_len;
    int32_t *ids, *types, *rat;
    size_t rat_cap;
} loader;

/* Tokenises text[0..n) into l->rat (grown as needed); *len receives the count. */
static ctcd_status tokenize_rationale(loader *l, const char *text, size_t n, int *len,
                                      int64_t line) {
    size_t total = 0;
    ctcd_status st = ctcd_tokenizer_tokenize(l->tok, text, n, l->rat, l->rat_cap, &total);
    if (!st && total > l->rat_cap) {
        int32_t *r = realloc(l->rat, total * sizeof *r);
        if (!r) return CTCD_ERR(CTCD_E_NOMEM, "%s:%lld: out of memory", l->path, (long long)line);
        l->rat = r;
        l->rat_cap = total;
        st = ctcd_tokenizer_tokenize(l->tok, text, n, l->rat, l->rat_cap, &total);
    }
    if (st) return ctcd_error_wrap(st, "%s:%lld: rationale", l->path, (long long)line);
    *len = (int)total;
    return CTCD_OK;
}

static const char *str_field(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* One JSONL row: the pair, the label and the rationale. */
static ctcd_status load_row(loader *l, const cJSON *o, int64_t line, const llm_list *llm,
                            int64_t idx, ctcd_dataset *data, ctcd_rationale_set *rats,
                            ctcd_esnli_report *rep) {
    const char *p = str_field(o, "premise"), *h = str_field(o, "hypothesis");
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
    if (enc.removed) rep->truncated++;
    CTCD_TRY(ctcd_dataset_push(data, l->ids, l->types, enc.len, lab->valueint, 0.0f));
    int len = 0, llm_label = -1;
    if (llm) {
        const char *out = llm_at(llm, idx);
        if (!out)
            return CTCD_ERR(CTCD_E_INVALID, "LLM output %lld (for %s:%lld) is not a string",
                            (long long)idx, l->path, (long long)line);
        ctcd_llm_parse pr;
        ctcd_llm_parse_output(out, strlen(out), &pr);
        llm_label = label_of(out + pr.label_off, pr.label_len);
        if (llm_label < 0) rep->llm_unparsed++;
        if (llm_label == lab->valueint) rep->llm_agree++;
        CTCD_TRY(tokenize_rationale(l, out + pr.rat_off, pr.rat_len, &len, line));
    } else {
        const char *e = str_field(o, "explanation_1");
        if (e) CTCD_TRY(tokenize_rationale(l, e, strlen(e), &len, line));
    }
    if (len == 0) rep->no_rationale++;
    return ctcd_rationale_set_push(rats, l->rat, len, llm_label);
}

ctcd_status ctcd_esnli_load(const char *dir, const char *split, int source, ctcd_tokenizer *tok,
                            int max_len, int64_t limit, ctcd_dataset *data,
                            ctcd_rationale_set *rats, ctcd_esnli_report *rep) {
    memset(rats, 0, sizeof *rats);
    memset(rep, 0, sizeof *rep);
    if (strcmp(split, "valid") != 0 && strcmp(split, "test") != 0)
        return CTCD_ERR(CTCD_E_INVALID, "e-SNLI split '%s' (valid or test)", split);
    char path[4096], name[64];
    snprintf(path, sizeof path, "%s/esnli_%s.json", dir, split);
    snprintf(name, sizeof name, "esnli/%s", split);
    char *text = NULL;
    size_t n = 0;
    CTCD_TRY(read_all(path, &text, &n));
    llm_list llm;
    memset(&llm, 0, sizeof llm);
    ctcd_status st = source == CTCD_RATIONALE_LLM ? llm_load(dir, split, &llm) : CTCD_OK;
    loader l = {path, tok, max_len, malloc((size_t)max_len * 4), malloc((size_t)max_len * 4),
                NULL, 0};
    if (!st && (!l.ids || !l.types)) st = CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
    if (!st) st = ctcd_dataset_init(data, name, 3);
    if (!st) {
        data->vocab_size = ctcd_tokenizer_vocab_size(tok);
        data->special = ctcd_tokenizer_special(tok);
    }
    int64_t line = 0, rows = 0;
    for (char *s = text; !st && s < text + n && (limit <= 0 || rows < limit);) {
        char *e = memchr(s, '\n', (size_t)(text + n - s));
        if (!e) e = text + n;
        line++;
        size_t len = (size_t)(e - s);
        while (len && is_space(s[len - 1])) len--;
        if (len) {
            cJSON *o = cJSON_ParseWithLength(s, len);
            if (!cJSON_IsObject(o))
                st = CTCD_ERR(CTCD_E_INVALID, "%s:%lld: not a JSON object", path, (long long)line);
            else if (llm.n_parts && rows >= llm.n)
                st = CTCD_ERR(CTCD_E_INVALID, "%s:%lld: no LLM output left (%s/llm/%s_CoT_*.json "
                              "hold %lld)", path, (long long)line, dir, split, (long long)llm.n);
            else
                st = load_row(&l, o, line, llm.n_parts ? &llm : NULL, rows, data, rats, rep);
            cJSON_Delete(o);
            rows++;
        }
        s = e + 1;
    }
    if (!st && rows == 0) st = CTCD_ERR(CTCD_E_INVALID, "%s: no examples", path);
    if (!st && llm.n_parts && limit <= 0 && llm.n != rows)
        st = CTCD_ERR(CTCD_E_INVALID, "%s has %lld rows but %s/llm/%s_CoT_*.json %lld outputs",
                      path, (long long)rows, dir, split, (long long)llm.n);
    free(text);
    free(l.ids);
    free(l.types);
    free(l.rat);
    llm_free(&llm);
    if (st) {
        ctcd_dataset_free(data);
        ctcd_rationale_set_free(rats);
    }
    return st;
}
