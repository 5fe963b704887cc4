/* bench_setup.c — a co-trainer over synthetic batches for `ctcd bench step` and the tests
 * (include/ctcd/bench.h): the same models, backend, loss and optimizer as a recipe run, but
 * no dataset, no tokenizer and no run directory, with batch buffers for exactly B x T. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/backend_create.h"
#include "ctcd/bench.h"
#include "train_internal.h"

ctcd_status ctcd_bench_trainer_create(const ctcd_recipe *rc, int mlm, int B, int T, int vocab,
                                      int n_labels, ctcd_trainer **out) {
    *out = NULL;
    if (B < 1 || T < 8 || T > 512 || vocab < 1001 || (!mlm && n_labels < 2))
        return CTCD_ERR(CTCD_E_INVALID,
                        "bench: need batch >= 1, 8 <= seq <= 512, vocab > 1000 and >= 2 "
                        "classes (got batch %d, seq %d, vocab %d, classes %d)",
                        B, T, vocab, n_labels);
    CTCD_TRY(ctcd_recipe_validate(rc));
    ctcd_trainer *t = calloc(1, sizeof *t);
    if (!t) return CTCD_ERR(CTCD_E_NOMEM, "bench: out of memory creating the trainer");
    t->rc = *rc;
    t->rc.output[0] = '\0';
    t->lock_fd = -1; /* no run directory */
    t->mlm.head = mlm ? CTCD_HEAD_MLM : CTCD_HEAD_CLASSIFY;
    t->loss_kind = CTCD_LOSS_CE_KL;
    /* create_models reads the vocabulary and classes from the data it would have loaded */
    t->train.n_classes = mlm ? 1 : n_labels;
    t->train.vocab_size = vocab;
    t->mlm.shard.vocab_size = vocab;
    t->B_cap = B;
    t->T_cap = T;
    if (mlm) {
        t->mlm.max_predictions = (int)ceil(0.15 * T) + 1;
        t->mlm.R_cap = (int64_t)B * t->mlm.max_predictions;
    }
    t->total_steps = 1000000; /* the lr schedule only scales the step size */
    t->warmup_steps = 0;
    ctcd_status st = ctcd_backend_create_precision(rc->train.backend, rc->train.precision, &t->be);
    if (!st) t->be->deterministic = rc->train.deterministic;
    if (!st) st = ctcd_trainer_create_models(t);
    if (!st) st = ctcd_trainer_alloc_batch_buffers(t);
    if (st) {
        ctcd_trainer_destroy(t);
        return st;
    }
    *out = t;
    return CTCD_OK;
}

void ctcd_bench_batch_free(ctcd_mlm_batch *mb) {
    free(mb->b.ids);
    free(mb->b.types);
    free(mb->b.mask);
    free(mb->b.labels);
    free(mb->b.cls_idx);
    free(mb->pred_idx);
    free(mb->pred_labels);
    memset(mb, 0, sizeof *mb);
}

/* Padded lengths of the ragged profile's batches: short and varied like SST-2's sentences
 * (mean 29), bucketed (each batch's rows within 7 tokens of its longest). */
static const int RAGGED[CTCD_BENCH_RAGGED_BATCHES] = {16, 24, 12, 32, 20, 48, 16, 64};

int ctcd_bench_ragged_len(int k, int cap) {
    const int L = RAGGED[k % CTCD_BENCH_RAGGED_BATCHES];
    return L < cap ? L : cap;
}

int ctcd_bench_ragged_row(int T, int r) {
    const int n = T - r % 8;
    return n < 2 ? 2 : n;
}

ctcd_status ctcd_bench_batch_make(int B, int T, const int *row_len, int vocab, int n_labels,
                                  int mlm, uint64_t seed, ctcd_mlm_batch *out) {
    memset(out, 0, sizeof *out);
    const size_t BT = (size_t)B * (size_t)T;
    ctcd_batch *b = &out->b;
    b->B = B;
    b->T = T;
    b->ids = malloc(BT * sizeof *b->ids);
    b->types = malloc(BT * sizeof *b->types);
    b->mask = malloc(BT * sizeof *b->mask);
    b->labels = malloc((size_t)B * sizeof *b->labels);
    b->cls_idx = malloc((size_t)B * sizeof *b->cls_idx);
    if (mlm) {
        const size_t cap = (size_t)B * (size_t)(lround(0.15 * T) + 1);
        out->pred_idx = malloc(cap * sizeof *out->pred_idx);
        out->pred_labels = malloc(cap * sizeof *out->pred_labels);
    }
    uint8_t *picked = calloc((size_t)T, 1);
    if (!b->ids || !b->types || !b->mask || !b->labels || !b->cls_idx || !picked ||
        (mlm && (!out->pred_idx || !out->pred_labels))) {
        free(picked);
        ctcd_bench_batch_free(out);
        return CTCD_ERR(CTCD_E_NOMEM, "bench: out of memory for a %d x %d batch", B, T);
    }
    ctcd_rng r;
    ctcd_rng_init(&r, seed, 7);
    const uint32_t span = (uint32_t)(vocab - 1000);
    for (int i = 0; i < B; i++) {
        const int n = row_len ? row_len[i] : T;
        for (int j = 0; j < T; j++) {
            const size_t k = (size_t)i * T + j;
            b->ids[k] = j >= n ? 0 : j == 0 ? 101 : 1000 + (int32_t)(ctcd_rng_u32(&r) % span);
            b->types[k] = j >= T / 2;
            b->mask[k] = j < n;
        }
        b->cls_idx[i] = i * T;
        b->labels[i] = (int32_t)(ctcd_rng_u32(&r) % (uint32_t)(n_labels > 1 ? n_labels : 2));
        if (!mlm) continue;
        /* per_seq distinct positions in [1, n), in increasing order */
        long per_seq = lround(0.15 * n);
        if (per_seq < 1) per_seq = 1;
        if (per_seq > n - 1) per_seq = n - 1;
        memset(picked, 0, (size_t)T);
        for (int c = 0; c < per_seq;) {
            const int pos = 1 + (int)(ctcd_rng_u32(&r) % (uint32_t)(n - 1));
            if (!picked[pos]) picked[pos] = 1, c++;
        }
        for (int pos = 1; pos < n; pos++) {
            if (!picked[pos]) continue;
            out->pred_idx[out->n_pred] = i * T + pos;
            out->pred_labels[out->n_pred++] = 1000 + (int32_t)(ctcd_rng_u32(&r) % span);
        }
    }
    free(picked);
    if (mlm) {
        free(b->labels);
        b->labels = NULL; /* masked-LM batches carry their labels per masked row */
    }
    return CTCD_OK;
}
