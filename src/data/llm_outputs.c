/* llm_outputs.c — shared pieces of the rationale loaders (src/data/llm_outputs.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/fileio.h"
#include "llm_outputs.h"

int llm_is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void llm_trim(const char *text, size_t *off, size_t *len) {
    while (*len && llm_is_space(text[*off])) {
        (*off)++;
        (*len)--;
    }
    while (*len && llm_is_space(text[*off + *len - 1])) (*len)--;
}

void llm_list_free(llm_list *l) {
    for (int i = 0; i < l->n_parts; i++) cJSON_Delete(l->parts[i]);
    memset(l, 0, sizeof *l);
}

ctcd_status llm_list_load(const char *dir, const char *split, llm_list *l) {
    memset(l, 0, sizeof *l);
    for (int k = 0; k < 16; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/llm/%s_CoT_%d.json", dir, split, k);
        FILE *probe = fopen(path, "rb");
        if (!probe) break;
        fclose(probe);
        char *text = NULL;
        size_t n = 0;
        ctcd_status st = ctcd_read_small_file(path, SIZE_MAX, &text, &n);
        if (st) {
            llm_list_free(l);
            return st;
        }
        cJSON *root = cJSON_ParseWithLength(text, n);
        free(text);
        if (!cJSON_IsArray(root)) {
            cJSON_Delete(root);
            llm_list_free(l);
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

const char *llm_list_at(const llm_list *l, int64_t i) {
    for (int p = 0; p < l->n_parts && i >= 0; p++) {
        const int64_t n = cJSON_GetArraySize(l->parts[p]);
        if (i < n) {
            const cJSON *s = cJSON_GetArrayItem(l->parts[p], (int)i);
            return cJSON_IsString(s) ? s->valuestring : NULL;
        }
        i -= n;
    }
    return NULL;
}

ctcd_status llm_tokenize_rationale(ctcd_tokenizer *tok, llm_rat_buf *r, const char *text,
                                   size_t n, int *len, const char *path, int64_t line) {
    size_t total = 0;
    ctcd_status st = ctcd_tokenizer_tokenize(tok, text, n, r->ids, r->cap, &total);
    if (!st && total > r->cap) {
        int32_t *ids = realloc(r->ids, total * sizeof *ids);
        if (!ids) return CTCD_ERR(CTCD_E_NOMEM, "%s:%lld: out of memory", path, (long long)line);
        r->ids = ids;
        r->cap = total;
        st = ctcd_tokenizer_tokenize(tok, text, n, r->ids, r->cap, &total);
    }
    if (st) return ctcd_error_wrap(st, "%s:%lld: rationale", path, (long long)line);
    *len = (int)total;
    return CTCD_OK;
}

const char *llm_str_field(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The JSONL walk of llm_split_walk over text[0..n). */
static ctcd_status jsonl_each(llm_split *s, const char *text, size_t n, int64_t limit,
                              llm_row_fn row, void *ctx, int64_t *rows) {
    ctcd_status st = CTCD_OK;
    int64_t line = 0;
    *rows = 0;
    for (const char *p = text; !st && p < text + n && (limit <= 0 || *rows < limit);) {
        const char *e = memchr(p, '\n', (size_t)(text + n - p));
        if (!e) e = text + n;
        line++;
        size_t len = (size_t)(e - p);
        while (len && llm_is_space(p[len - 1])) len--;
        if (len) {
            cJSON *o = cJSON_ParseWithLength(p, len);
            if (!cJSON_IsObject(o))
                st = CTCD_ERR(CTCD_E_INVALID, "%s:%lld: not a JSON object", s->path,
                              (long long)line);
            else if (s->llm.n_parts && *rows >= s->llm.n)
                st = CTCD_ERR(CTCD_E_INVALID, "%s:%lld: no LLM output left (%s/llm/%s_CoT_*.json "
                              "hold %lld)", s->path, (long long)line, s->dir, s->split,
                              (long long)s->llm.n);
            else
                st = row(ctx, o, line, *rows);
            cJSON_Delete(o);
            (*rows)++;
        }
        p = e + 1;
    }
    return st;
}

ctcd_status llm_split_walk(llm_split *s, int llm, int64_t limit, llm_row_fn row, void *ctx) {
    memset(&s->llm, 0, sizeof s->llm);
    char *text = NULL;
    size_t n = 0;
    CTCD_TRY(ctcd_read_small_file(s->path, SIZE_MAX, &text, &n));
    ctcd_status st = llm ? llm_list_load(s->dir, s->split, &s->llm) : CTCD_OK;
    int64_t rows = 0;
    if (!st) st = jsonl_each(s, text, n, limit, row, ctx, &rows);
    if (!st && rows == 0) st = CTCD_ERR(CTCD_E_INVALID, "%s: no examples", s->path);
    if (!st && s->llm.n_parts && limit <= 0 && s->llm.n != rows)
        st = CTCD_ERR(CTCD_E_INVALID, "%s has %lld rows but %s/llm/%s_CoT_*.json %lld outputs",
                      s->path, (long long)rows, s->dir, s->split, (long long)s->llm.n);
    free(text);
    return st;
}

ctcd_status llm_push_rationale(const llm_rationale_src *s, const cJSON *o, int64_t line,
                               int64_t idx, int gold) {
    int len = 0, llm_label = -1;
    if (s->llm) {
        const char *out = llm_list_at(s->llm, idx);
        if (!out)
            return CTCD_ERR(CTCD_E_INVALID, "LLM output %lld (for %s:%lld) is not a string",
                            (long long)idx, s->path, (long long)line);
        ctcd_llm_parse pr;
        ctcd_llm_parse_output(out, strlen(out), &pr);
        llm_label = s->label_of(s->label_ctx, out + pr.label_off, pr.label_len);
        if (llm_label < 0) s->rep->llm_unparsed++;
        if (llm_label == gold) s->rep->llm_agree++;
        CTCD_TRY(llm_tokenize_rationale(s->tok, s->rat, out + pr.rat_off, pr.rat_len, &len,
                                        s->path, line));
    } else {
        const char *e = llm_str_field(o, s->human_key);
        if (e) CTCD_TRY(llm_tokenize_rationale(s->tok, s->rat, e, strlen(e), &len, s->path, line));
    }
    if (len == 0) s->rep->no_rationale++;
    return ctcd_rationale_set_push(s->rats, s->rat->ids, len, llm_label);
}

ctcd_status llm_load_begin(llm_load *L, const char *title, const char *prefix,
                           const char *const splits[2], const char *dir, const char *split,
                           int source, ctcd_tokenizer *tok, ctcd_dataset *data,
                           ctcd_rationale_set *rats, ctcd_esnli_report *rep) {
    memset(L, 0, sizeof *L);
    memset(rats, 0, sizeof *rats);
    memset(rep, 0, sizeof *rep);
    memset(data, 0, sizeof *data);
    if (strcmp(split, splits[0]) != 0 && strcmp(split, splits[1]) != 0)
        return CTCD_ERR(CTCD_E_INVALID, "%s split '%s' (%s or %s)", title, split, splits[0],
                        splits[1]);
    snprintf(L->path, sizeof L->path, "%s/%s_%s.json", dir, prefix, split);
    L->sp = (llm_split){.path = L->path, .dir = dir, .split = split};
    L->src = (llm_rationale_src){.tok = tok, .rat = &L->rb,
                                 .llm = source == CTCD_RATIONALE_LLM ? &L->sp.llm : NULL,
                                 .path = L->path, .rats = rats, .rep = rep};
    return CTCD_OK;
}

ctcd_status llm_load_walk(llm_load *L, int64_t limit, llm_row_fn row, void *ctx) {
    return llm_split_walk(&L->sp, L->src.llm != NULL, limit, row, ctx);
}

ctcd_status llm_load_end(llm_load *L, ctcd_status st, ctcd_dataset *data,
                         ctcd_rationale_set *rats) {
    free(L->rb.ids);
    llm_list_free(&L->sp.llm);
    if (st) {
        ctcd_dataset_free(data);
        ctcd_rationale_set_free(rats);
    }
    return st;
}
