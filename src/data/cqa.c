/* cqa.c — the CommonsenseQA loader (task cqa, CoS-E v1.11 as released with "distilling
 * step-by-step"): multiple-choice examples and their rationales
 * (include/ctcd/rationale_data.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctcd/rationale_data.h"
#include "llm_outputs.h"

#define CQA_MAX_CHOICES 16

int ctcd_cqa_llm_choice(const char *label, size_t n, const char *const *choices, int K) {
    size_t off = 0;
    llm_trim(label, &off, &n);
    if (n >= 3 && label[off] == '(' && label[off + 2] == ')') {
        off += 3;
        n -= 3;
        llm_trim(label, &off, &n);
    }
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < K; k++) {
            if (strlen(choices[k]) != n) continue;
            if (pass == 0 ? strncmp(label + off, choices[k], n) == 0
                          : strncasecmp(label + off, choices[k], n) == 0)
                return k;
        }
    return -1;
}

typedef struct cqa_loader {
    const char *path, *split;
    ctcd_tokenizer *tok;
    int max_len;
    int32_t *ids[CQA_MAX_CHOICES], *types[CQA_MAX_CHOICES];
    int len[CQA_MAX_CHOICES];
    const char *choice[CQA_MAX_CHOICES];
    int K;                     /* from the first row */
    int64_t first_line;
    llm_rationale_src rat;     /* the rationale of each row */
    ctcd_dataset *data;
} cqa_loader;

/* The LLM's stated choice among the current row's (an llm_label_fn). */
static int llm_choice(const void *ctx, const char *label, size_t n) {
    const cqa_loader *l = ctx;
    return ctcd_cqa_llm_choice(label, n, l->choice, l->K);
}

/* The row's choices into l->choice (the first row fixes K and creates the dataset). */
static ctcd_status read_choices(cqa_loader *l, const cJSON *o, int64_t line) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "choices");
    const int n = cJSON_IsArray(c) ? cJSON_GetArraySize(c) : -1;
    if (n < 2 || n > CQA_MAX_CHOICES)
        return CTCD_ERR(CTCD_E_INVALID, "%s:%lld: needs \"choices\", a list of 2..%d strings",
                        l->path, (long long)line, CQA_MAX_CHOICES);
    if (l->K == 0) {
        char name[64];
        snprintf(name, sizeof name, "cqa/%s", l->split);
        CTCD_TRY(ctcd_dataset_init_choices(l->data, name, n));
        l->data->vocab_size = ctcd_tokenizer_vocab_size(l->tok);
        l->data->special = ctcd_tokenizer_special(l->tok);
        l->K = n;
        l->first_line = line;
    } else if (n != l->K) {
        return CTCD_ERR(CTCD_E_INVALID, "%s:%lld: %d choices, but the first row (line %lld) has %d",
                        l->path, (long long)line, n, (long long)l->first_line, l->K);
    }
    for (int k = 0; k < n; k++) {
        const cJSON *s = cJSON_GetArrayItem(c, k);
        if (!cJSON_IsString(s))
            return CTCD_ERR(CTCD_E_INVALID, "%s:%lld: choice %d is not a string", l->path,
                            (long long)line, k);
        l->choice[k] = s->valuestring;
    }
    return CTCD_OK;
}

/* One JSONL row (an llm_row_fn). */
static ctcd_status load_row(void *ctx, const cJSON *o, int64_t line, int64_t idx) {
    cqa_loader *l = ctx;
    const char *q = llm_str_field(o, "question"), *ans = llm_str_field(o, "answer");
    if (!q || !ans)
        return CTCD_ERR(CTCD_E_INVALID, "%s:%lld: needs string \"question\" and \"answer\"",
                        l->path, (long long)line);
    CTCD_TRY(read_choices(l, o, line));
    int answer = -1;
    for (int k = 0; k < l->K && answer < 0; k++)
        if (strcmp(ans, l->choice[k]) == 0) answer = k;
    if (answer < 0)
        return CTCD_ERR(CTCD_E_INVALID, "%s:%lld: answer \"%.64s\" is not among the choices",
                        l->path, (long long)line, ans);
    int cut = 0;
    for (int k = 0; k < l->K; k++) {
        ctcd_encoding enc;
        ctcd_status st = ctcd_tokenizer_encode(l->tok, q, strlen(q), l->choice[k],
                                               strlen(l->choice[k]), l->max_len, l->ids[k],
                                               l->types[k], &enc);
        if (st) return ctcd_error_wrap(st, "%s:%lld: choice %d", l->path, (long long)line, k);
        cut |= enc.removed > 0;
        l->len[k] = enc.len;
    }
    l->rat.rep->truncated += cut;
    CTCD_TRY(ctcd_dataset_push_choices(l->data, (const int32_t *const *)l->ids,
                                       (const int32_t *const *)l->types, l->len, answer));
    return llm_push_rationale(&l->rat, o, line, idx, answer);
}

ctcd_status ctcd_cqa_load(const char *dir, const char *split, int source, ctcd_tokenizer *tok,
                          int max_len, int64_t limit, ctcd_dataset *data,
                          ctcd_rationale_set *rats, ctcd_cqa_report *rep) {
    static const char *const splits[2] = {"train", "test"};
    llm_load L;
    CTCD_TRY(llm_load_begin(&L, "CommonsenseQA", "cqa", splits, dir, split, source, tok, data,
                            rats, rep));
    cqa_loader *l = calloc(1, sizeof *l);
    ctcd_status st = l ? CTCD_OK : CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", L.path);
    if (l) {
        *l = (cqa_loader){.path = L.path, .split = split, .tok = tok, .max_len = max_len,
                          .rat = L.src, .data = data};
        l->rat.human_key = "abstractive_explanation";
        l->rat.label_of = llm_choice;
        l->rat.label_ctx = l;
    }
    for (int k = 0; !st && k < CQA_MAX_CHOICES; k++) {
        l->ids[k] = malloc((size_t)max_len * sizeof(int32_t));
        l->types[k] = malloc((size_t)max_len * sizeof(int32_t));
        if (!l->ids[k] || !l->types[k]) st = CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", L.path);
    }
    if (!st) st = llm_load_walk(&L, limit, load_row, l);
    for (int k = 0; l && k < CQA_MAX_CHOICES; k++) {
        free(l->ids[k]);
        free(l->types[k]);
    }
    free(l);
    return llm_load_end(&L, st, data, rats);
}
