/* dataset.c — the tokenised dataset container and its builder (include/ctcd/data.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/data.h"

ctcd_status ctcd_dataset_init(ctcd_dataset *d, const char *name, int n_classes) {
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", name);
    if (n_classes < 1) return CTCD_ERR(CTCD_E_INVALID, "%s: n_classes must be >= 1", name);
    d->n_classes = n_classes;
    d->offsets = malloc(sizeof *d->offsets);
    if (!d->offsets) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", name);
    d->offsets[0] = 0;
    d->special = (ctcd_special_ids){.pad = 0, .unk = 100, .cls = 101, .sep = 102, .mask = 103};
    return CTCD_OK;
}

ctcd_status ctcd_dataset_init_choices(ctcd_dataset *d, const char *name, int K) {
    if (K < 2) {
        memset(d, 0, sizeof *d);
        return CTCD_ERR(CTCD_E_INVALID, "%s: a multiple-choice dataset needs >= 2 choices (%d)",
                        name, K);
    }
    CTCD_TRY(ctcd_dataset_init(d, name, K));
    d->n_choices = K;
    return CTCD_OK;
}

/* Reallocates *p to cap elements of size elem. */
static int resize(void **p, int64_t cap, size_t elem) {
    void *q = realloc(*p, (size_t)cap * elem);
    if (!q) return 0;
    *p = q;
    return 1;
}

/* Appends one sequence's tokens after sequence s (offsets[s] is set, offsets[s+1] is
 * written); grows the token arrays. */
static ctcd_status push_seq(ctcd_dataset *d, int64_t s, const int32_t *ids,
                            const int32_t *types, int len) {
    if (len <= 0) return CTCD_ERR(CTCD_E_INVALID, "%s: empty example", d->name);
    int64_t ntok = d->offsets[s];
    if (ntok + len > d->cap_tokens) {
        int64_t c = d->cap_tokens ? d->cap_tokens : 4096;
        while (c < ntok + len) c *= 2;
        if (!resize((void **)&d->tokens, c, sizeof(int32_t)) ||
            !resize((void **)&d->types, c, sizeof(int32_t)))
            return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory at example %lld", d->name,
                            (long long)d->n);
        d->cap_tokens = c;
    }
    memcpy(d->tokens + ntok, ids, (size_t)len * sizeof(int32_t));
    if (types) {
        memcpy(d->types + ntok, types, (size_t)len * sizeof(int32_t));
    } else {
        memset(d->types + ntok, 0, (size_t)len * sizeof(int32_t));
    }
    d->offsets[s + 1] = ntok + len;
    if (len > d->max_len) d->max_len = len;
    return CTCD_OK;
}

/* Room for one more example (its label/target and its sequences' offsets). */
static ctcd_status grow_examples(ctcd_dataset *d) {
    if (d->n + 1 <= d->cap_examples) return CTCD_OK;
    const int64_t c = d->cap_examples ? d->cap_examples * 2 : 256;
    int ok = resize((void **)&d->offsets, c * ctcd_dataset_seqs(d) + 1, sizeof(int64_t));
    if (ok && d->n_classes > 1) ok = resize((void **)&d->labels, c, sizeof(int32_t));
    if (ok && d->n_classes == 1) ok = resize((void **)&d->targets, c, sizeof(float));
    if (!ok)
        return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory at example %lld", d->name,
                        (long long)d->n);
    d->cap_examples = c;
    return CTCD_OK;
}

ctcd_status ctcd_dataset_push(ctcd_dataset *d, const int32_t *ids, const int32_t *types,
                              int len, int32_t label, float target) {
    if (d->n_choices > 1)
        return CTCD_ERR(CTCD_E_INVALID, "%s: a multiple-choice dataset takes whole examples "
                        "(ctcd_dataset_push_choices)", d->name);
    if (len <= 0) return CTCD_ERR(CTCD_E_INVALID, "%s: empty example", d->name);
    CTCD_TRY(grow_examples(d));
    CTCD_TRY(push_seq(d, d->n, ids, types, len));
    if (d->n_classes > 1) {
        d->labels[d->n] = label;
    } else {
        d->targets[d->n] = target;
    }
    d->n++;
    return CTCD_OK;
}

ctcd_status ctcd_dataset_push_choices(ctcd_dataset *d, const int32_t *const *ids,
                                      const int32_t *const *types, const int *len,
                                      int32_t label) {
    const int K = d->n_choices;
    if (K < 2)
        return CTCD_ERR(CTCD_E_INVALID, "%s: not a multiple-choice dataset", d->name);
    if (label < -1 || label >= K)
        return CTCD_ERR(CTCD_E_INVALID, "%s: example %lld: answer %d of %d choices", d->name,
                        (long long)d->n, label, K);
    for (int k = 0; k < K; k++)
        if (len[k] <= 0) return CTCD_ERR(CTCD_E_INVALID, "%s: empty example", d->name);
    CTCD_TRY(grow_examples(d));
    for (int k = 0; k < K; k++) CTCD_TRY(push_seq(d, d->n * K + k, ids[k], types[k], len[k]));
    d->labels[d->n] = label;
    d->n++;
    return CTCD_OK;
}

void ctcd_dataset_free(ctcd_dataset *d) {
    free(d->offsets);
    free(d->tokens);
    free(d->types);
    free(d->labels);
    free(d->targets);
    memset(d, 0, sizeof *d);
}
