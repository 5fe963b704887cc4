/* data.h — tokenised datasets, the batcher, and the built-in demo task.
 *
 * A dataset is a set of already tokenised examples ([CLS] A [SEP] (B [SEP])), stored as
 * one token array with offsets, so that batching never re-tokenises. Every loader (the
 * demo generator, GLUE TSV loaders) produces this form.
 *
 * Multiple choice (BertForMultipleChoice, task cqa): with n_choices = K >= 2 every example
 * is K sequences "[CLS] question [SEP] choice_k [SEP]", stored consecutively (sequence
 * i·K + k is choice k of example i), and labels[i] is the index of the answer. The batcher
 * turns B such examples into B·K encoder rows. */
#ifndef CTCD_DATA_H
#define CTCD_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "ctcd/rng.h"
#include "ctcd/status.h"
#include "ctcd/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ctcd_dataset {
    char name[64];           /* e.g. "demo/train", "SST-2/dev" */
    int64_t n;               /* number of examples */
    int n_choices;           /* K >= 2: a multiple-choice dataset (see above); 0 = one
                                sequence per example */
    int64_t *offsets;        /* [n·max(K,1) + 1] start of sequence s in tokens/types */
    int32_t *tokens;         /* [offsets[n]] token ids, [CLS] ... [SEP] included */
    int32_t *types;          /* [offsets[n]] token type (segment) ids, 0 or 1 */
    int32_t *labels;         /* [n] class ids (classification), NULL for regression */
    float *targets;          /* [n] regression targets, NULL for classification */
    int n_classes;           /* C (1 = regression) */
    int max_len;             /* longest sequence, in tokens */
    int32_t vocab_size;      /* ids are in [0, vocab_size) */
    ctcd_special_ids special;
    int64_t cap_examples;    /* builder capacity (examples), internal */
    int64_t cap_tokens;      /* builder capacity (tokens), internal */
} ctcd_dataset;

/* Growable builder used by loaders: append examples, then finish. */
ctcd_status ctcd_dataset_init(ctcd_dataset *d, const char *name, int n_classes);
/* Appends one example: ids/types of length len (already with [CLS]/[SEP]). label is used
 * for classification (0..n_classes-1), target for regression. */
ctcd_status ctcd_dataset_push(ctcd_dataset *d, const int32_t *ids, const int32_t *types,
                              int len, int32_t label, float target);
/* A multiple-choice dataset of K >= 2 choices per example (n_classes = K). */
ctcd_status ctcd_dataset_init_choices(ctcd_dataset *d, const char *name, int K);
/* Appends one multiple-choice example: its K sequences ids[k]/types[k] of length len[k]
 * (already with [CLS]/[SEP]) and the answer's index label (-1 = unlabelled). */
ctcd_status ctcd_dataset_push_choices(ctcd_dataset *d, const int32_t *const *ids,
                                      const int32_t *const *types, const int *len,
                                      int32_t label);
void ctcd_dataset_free(ctcd_dataset *d);
/* Sequences per example: K for a multiple-choice dataset, else 1. */
static inline int ctcd_dataset_seqs(const ctcd_dataset *d) {
    return d->n_choices > 1 ? d->n_choices : 1;
}
/* Length of sequence s (s < n·ctcd_dataset_seqs(d)). */
static inline int ctcd_dataset_seq_len(const ctcd_dataset *d, int64_t s) {
    return (int)(d->offsets[s + 1] - d->offsets[s]);
}
/* Length of example i: its longest sequence (what batching sorts and pads by). */
static inline int ctcd_dataset_len(const ctcd_dataset *d, int64_t i) {
    const int K = ctcd_dataset_seqs(d);
    int len = 0;
    for (int k = 0; k < K; k++) {
        const int l = ctcd_dataset_seq_len(d, i * K + k);
        if (l > len) len = l;
    }
    return len;
}

/* Locates `rel` (e.g. "glue/SST-2", "vocab/bert-base-uncased-vocab.txt") under the data
 * roots: $CTCD_DATA_DIR when set, else the first of ./data, ../shared/data,
 * ../../shared/data, ../../../shared/data that holds it (only ./data when
 * CTCD_NO_SHARED_DATA is set to anything but 0). The error lists where it looked. */
ctcd_status ctcd_data_find(const char *rel, char *out, size_t cap);
/* The data roots in lookup order, whether they exist or not ($CTCD_DATA_DIR alone when
 * set): up to cap pointers to static or environment strings; returns how many. */
int ctcd_data_roots(const char **roots, int cap);
/* 1 when CTCD_NO_SHARED_DATA turns the ../shared/data roots off. */
int ctcd_data_shared_off(void);

/* ---- batching ----
 * Length-bucketed dynamic padding: each epoch the example order is shuffled with the
 * batcher's seeded stream, examples are sorted by length inside windows of
 * `bucket_batches` batches, and the batches of a window are shuffled again, so batches hold
 * similar lengths without a fixed order. T is the longest example of the batch rounded up
 * to a multiple of pad_multiple (and capped at max_len; longer examples are truncated
 * keeping their final [SEP]).
 * A multiple-choice dataset (K choices) gives batches of E examples in B = E·K rows: row
 * e·K + k holds choice k of example e; labels and example stay per example ([E]). */
typedef struct ctcd_batch {
    int B, T;                /* rows, padded length */
    int K;                   /* rows per example: n_choices; 0 or 1 = one row each */
    int32_t *ids;            /* [B,T] */
    int32_t *types;          /* [B,T] */
    int32_t *mask;           /* [B,T] 1 = token, 0 = padding */
    int32_t *labels;         /* [B/K] (classification) or NULL */
    float *targets;          /* [B/K] (regression) or NULL */
    int32_t *cls_idx;        /* [B] row index b*T of each [CLS] token in the flat [B*T] */
    int64_t *example;        /* [B/K] dataset index of each example */
} ctcd_batch;

/* Examples of a batch (B / K). */
static inline int ctcd_batch_examples(const ctcd_batch *b) {
    return b->K > 1 ? b->B / b->K : b->B;
}

typedef struct ctcd_batcher_config {
    int batch;               /* examples per batch (rows, unless multiple choice) */
    int max_len;             /* truncate/pad cap */
    int pad_multiple;        /* round T up to this (8) */
    int shuffle;             /* 0 = dataset order (evaluation) */
    int bucket_batches;      /* window for length bucketing (e.g. 50); 1 = none */
    uint64_t seed;
} ctcd_batcher_config;

/* Resumable position: (epoch, next batch within the epoch). */
typedef struct ctcd_batcher_cursor {
    int64_t epoch;
    int64_t batch;
} ctcd_batcher_cursor;

typedef struct ctcd_batcher {
    const ctcd_dataset *data;
    ctcd_batcher_config cfg;
    ctcd_batcher_cursor cur;
    int64_t n_batches;       /* per epoch (the last one may be short) */
    int64_t *order;          /* [n] example order of the current epoch */
    int64_t n_truncated;     /* rows cut to max_len so far (the caller may warn) */
    void *sort_buf;          /* bucketing scratch, allocated once in init */
    int64_t *block_buf;
    int64_t *copy_buf;
    ctcd_batch batch;        /* storage reused by every call */
} ctcd_batcher;

ctcd_status ctcd_batcher_init(ctcd_batcher *b, const ctcd_dataset *d,
                              const ctcd_batcher_config *cfg);
/* Fills *out (pointing into the batcher's storage) with the next batch. Returns 0 at the
 * end of an epoch (and moves the cursor to the next epoch), 1 when a batch was produced. */
int ctcd_batcher_next(ctcd_batcher *b, const ctcd_batch **out);
/* Repositions to a saved cursor (rebuilds that epoch's order). */
ctcd_status ctcd_batcher_seek(ctcd_batcher *b, ctcd_batcher_cursor cur);
void ctcd_batcher_free(ctcd_batcher *b);

/* ---- builtin:demo ----
 * A generated binary sentiment task with compositional structure: clauses with stacked
 * negations, embedded clauses under verbs that keep or flip polarity ("X believes that",
 * "X doubts that"), and "but"/"and" conjunctions. The label is the polarity after all
 * operators, so deeper nesting needs more layers. Whitespace vocabulary; fully determined
 * by (seed, sizes, max_depth). */
typedef struct ctcd_demo_config {
    int64_t train_examples, dev_examples;
    uint64_t seed;
    int max_depth;
    int max_len;
} ctcd_demo_config;

ctcd_status ctcd_demo_generate(const ctcd_demo_config *cfg, ctcd_dataset *train,
                               ctcd_dataset *dev);
/* The demo vocabulary (for printing examples): word of id, NULL when out of range. */
const char *ctcd_demo_word(int32_t id);
int32_t ctcd_demo_vocab_size(void);

#ifdef __cplusplus
}
#endif
#endif
