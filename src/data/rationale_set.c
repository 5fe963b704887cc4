/* rationale_set.c — tokenised rationales aligned with a dataset and the teacher-forced
 * decoder rows of a batch (include/ctcd/rationale_data.h). */
#include <stdlib.h>
#include <string.h>

#include "ctcd/rationale_data.h"

static int grow(void **p, int64_t cap, size_t elem) {
    void *q = realloc(*p, (size_t)cap * elem);
    if (!q) return 0;
    *p = q;
    return 1;
}

ctcd_status ctcd_rationale_set_push(ctcd_rationale_set *s, const int32_t *ids, int len,
                                    int32_t llm_label) {
    if (len < 0) return CTCD_ERR(CTCD_E_INVALID, "rationale of negative length %d", len);
    if (!s->offsets) {
        s->offsets = calloc(1, sizeof *s->offsets);
        if (!s->offsets) return CTCD_ERR(CTCD_E_NOMEM, "rationales: out of memory");
    }
    const int64_t ntok = s->offsets[s->n];
    if (ntok + len > s->cap_tokens) {
        int64_t c = s->cap_tokens ? s->cap_tokens : 4096;
        while (c < ntok + len) c *= 2;
        if (!grow((void **)&s->tokens, c, sizeof(int32_t)))
            return CTCD_ERR(CTCD_E_NOMEM, "rationales: out of memory at %lld", (long long)s->n);
        s->cap_tokens = c;
    }
    if (s->n + 1 > s->cap_n) {
        const int64_t c = s->cap_n ? 2 * s->cap_n : 256;
        if (!grow((void **)&s->offsets, c + 1, sizeof(int64_t)) ||
            !grow((void **)&s->llm_labels, c, sizeof(int32_t)))
            return CTCD_ERR(CTCD_E_NOMEM, "rationales: out of memory at %lld", (long long)s->n);
        s->cap_n = c;
    }
    if (len) memcpy(s->tokens + ntok, ids, (size_t)len * sizeof(int32_t));
    s->llm_labels[s->n] = llm_label;
    s->n++;
    s->offsets[s->n] = ntok + len;
    return CTCD_OK;
}

void ctcd_rationale_set_free(ctcd_rationale_set *s) {
    free(s->offsets);
    free(s->tokens);
    free(s->llm_labels);
    memset(s, 0, sizeof *s);
}

int ctcd_rationale_batch_rows(const ctcd_rationale_set *s, const int64_t *example, int B,
                              int max_len, int32_t bos, int32_t eos, int32_t pad, int32_t *ids,
                              int32_t *targets) {
    int T = 1;
    for (int b = 0; b < B; b++) {
        int k = ctcd_rationale_len(s, example[b]);
        if (k > max_len - 1) k = max_len - 1;
        if (k > 0 && k + 1 > T) T = k + 1;
    }
    for (int b = 0; b < B; b++) {
        int k = ctcd_rationale_len(s, example[b]);
        if (k > max_len - 1) k = max_len - 1;
        const int32_t *r = k > 0 ? s->tokens + s->offsets[example[b]] : NULL;
        int32_t *x = ids + (size_t)b * T, *y = targets + (size_t)b * T;
        for (int t = 0; t < T; t++) {
            x[t] = t == 0 ? bos : t <= k ? r[t - 1] : pad;
            y[t] = k == 0 ? -1 : t < k ? r[t] : t == k ? eos : -1;
        }
    }
    return T;
}
