/* batcher.c — length-bucketed dynamic padding over a tokenised dataset
 * (include/ctcd/data.h).
 *
 * Epoch order: the examples are shuffled with the stream (seed, epoch); inside windows of
 * bucket_batches·batch examples they are sorted by length and cut into batches, and the
 * full batches of each window are shuffled again. The order therefore depends only on
 * (seed, epoch), which makes seek() exact. A short final batch stays last.
 * A multiple-choice example (K sequences) is sorted by its longest choice and fills K
 * consecutive rows. */
#include <stdlib.h>
#include <string.h>

#include "ctcd/data.h"

typedef struct len_idx {
    int len;
    int64_t idx;
} len_idx;

static int cmp_len(const void *pa, const void *pb) {
    const len_idx *a = pa, *b = pb;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Builds the order of epoch `epoch` into b->order. */
static ctcd_status build_order(ctcd_batcher *b, int64_t epoch) {
    const ctcd_dataset *d = b->data;
    const int64_t n = d->n, bs = b->cfg.batch;
    for (int64_t i = 0; i < n; i++) b->order[i] = i;
    if (!b->cfg.shuffle) return CTCD_OK;
    ctcd_rng r;
    ctcd_rng_init(&r, b->cfg.seed, (uint64_t)epoch);
    for (int64_t i = n - 1; i > 0; i--) {
        const int64_t j = (int64_t)ctcd_rng_below(&r, (uint32_t)(i + 1));
        const int64_t t = b->order[i];
        b->order[i] = b->order[j];
        b->order[j] = t;
    }
    if (b->cfg.bucket_batches <= 1) return CTCD_OK;
    const int64_t win = bs * b->cfg.bucket_batches;
    len_idx *tmp = b->sort_buf;
    int64_t *blocks = b->block_buf, *copy = b->copy_buf;
    for (int64_t w0 = 0; w0 < n; w0 += win) {
        const int64_t wn = w0 + win <= n ? win : n - w0;
        for (int64_t i = 0; i < wn; i++)
            tmp[i] = (len_idx){ctcd_dataset_len(d, b->order[w0 + i]), b->order[w0 + i]};
        qsort(tmp, (size_t)wn, sizeof *tmp, cmp_len);
        /* Shuffle the full batches of the window; a short tail batch keeps its place. */
        const int64_t full = wn / bs;
        for (int64_t k = 0; k < full; k++) blocks[k] = k;
        for (int64_t k = full - 1; k > 0; k--) {
            const int64_t j = (int64_t)ctcd_rng_below(&r, (uint32_t)(k + 1));
            const int64_t t = blocks[k];
            blocks[k] = blocks[j];
            blocks[j] = t;
        }
        for (int64_t k = 0; k < full; k++)
            for (int64_t i = 0; i < bs; i++) copy[k * bs + i] = tmp[blocks[k] * bs + i].idx;
        for (int64_t i = full * bs; i < wn; i++) copy[i] = tmp[i].idx;
        memcpy(b->order + w0, copy, (size_t)wn * sizeof *copy);
    }
    return CTCD_OK;
}

ctcd_status ctcd_batcher_init(ctcd_batcher *b, const ctcd_dataset *d,
                              const ctcd_batcher_config *cfg) {
    memset(b, 0, sizeof *b);
    if (cfg->batch < 1 || cfg->max_len < 2 || cfg->pad_multiple < 1)
        return CTCD_ERR(CTCD_E_INVALID, "%s: batcher needs batch >= 1, max_len >= 2 and "
                        "pad_multiple >= 1 (got %d, %d, %d)", d->name, cfg->batch, cfg->max_len,
                        cfg->pad_multiple);
    if (d->n < 1) return CTCD_ERR(CTCD_E_INVALID, "%s: dataset is empty", d->name);
    b->data = d;
    b->cfg = *cfg;
    b->n_batches = (d->n + cfg->batch - 1) / cfg->batch;
    const size_t E = (size_t)cfg->batch, B = E * (size_t)ctcd_dataset_seqs(d);
    const size_t Tcap = (size_t)((cfg->max_len + cfg->pad_multiple - 1) / cfg->pad_multiple *
                                 cfg->pad_multiple);
    b->order = malloc((size_t)d->n * sizeof *b->order);
    const int64_t win = (int64_t)cfg->batch * (cfg->bucket_batches > 1 ? cfg->bucket_batches : 1);
    b->sort_buf = malloc((size_t)win * sizeof(len_idx));
    b->block_buf = malloc((size_t)(cfg->bucket_batches > 1 ? cfg->bucket_batches : 1) *
                          sizeof(int64_t));
    b->copy_buf = malloc((size_t)win * sizeof(int64_t));
    ctcd_batch *x = &b->batch;
    x->ids = malloc(B * Tcap * sizeof(int32_t));
    x->types = malloc(B * Tcap * sizeof(int32_t));
    x->mask = malloc(B * Tcap * sizeof(int32_t));
    x->labels = malloc(E * sizeof(int32_t));
    x->targets = malloc(E * sizeof(float));
    x->cls_idx = malloc(B * sizeof(int32_t));
    x->example = malloc(E * sizeof(int64_t));
    if (!b->order || !b->sort_buf || !b->block_buf || !b->copy_buf || !x->ids || !x->types || !x->mask || !x->labels || !x->targets ||
        !x->cls_idx || !x->example) {
        ctcd_batcher_free(b);
        return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory for batches", d->name);
    }
    return ctcd_batcher_seek(b, (ctcd_batcher_cursor){0, 0});
}

ctcd_status ctcd_batcher_seek(ctcd_batcher *b, ctcd_batcher_cursor cur) {
    if (cur.epoch < 0 || cur.batch < 0 || cur.batch > b->n_batches)
        return CTCD_ERR(CTCD_E_INVALID, "%s: cursor (epoch %lld, batch %lld) out of range",
                        b->data->name, (long long)cur.epoch, (long long)cur.batch);
    CTCD_TRY(build_order(b, cur.epoch));
    b->cur = cur;
    return CTCD_OK;
}

/* Copies sequence s of the dataset into row r of the batch (padded/truncated to T). */
static void fill_row(ctcd_batcher *b, int64_t s, int r) {
    const ctcd_dataset *d = b->data;
    ctcd_batch *x = &b->batch;
    const int T = x->T;
    const int32_t *ids = d->tokens + d->offsets[s], *ty = d->types + d->offsets[s];
    int len = ctcd_dataset_seq_len(d, s);
    int32_t *ri = x->ids + (size_t)r * T, *rt = x->types + (size_t)r * T;
    int32_t *rm = x->mask + (size_t)r * T;
    if (len > T) {
        /* keep the first T-1 tokens and the final [SEP] */
        memcpy(ri, ids, (size_t)(T - 1) * sizeof(int32_t));
        memcpy(rt, ty, (size_t)(T - 1) * sizeof(int32_t));
        ri[T - 1] = ids[len - 1];
        rt[T - 1] = ty[len - 1];
        len = T;
        b->n_truncated++;
    } else {
        memcpy(ri, ids, (size_t)len * sizeof(int32_t));
        memcpy(rt, ty, (size_t)len * sizeof(int32_t));
    }
    for (int t = 0; t < T; t++) {
        rm[t] = t < len;
        if (t >= len) {
            ri[t] = d->special.pad;
            rt[t] = 0;
        }
    }
    x->cls_idx[r] = r * T;
}

/* Fills the batch with the E examples order[start...] (E·K rows). */
static void fill(ctcd_batcher *b, int64_t start, int E) {
    const ctcd_dataset *d = b->data;
    ctcd_batch *x = &b->batch;
    const int pm = b->cfg.pad_multiple, cap = b->cfg.max_len, K = ctcd_dataset_seqs(d);
    int longest = 0;
    for (int i = 0; i < E; i++) {
        const int len = ctcd_dataset_len(d, b->order[start + i]);
        if (len > longest) longest = len;
    }
    int T = (longest + pm - 1) / pm * pm;
    if (T > cap) T = cap;
    x->B = E * K;
    x->K = K;
    x->T = T;
    for (int i = 0; i < E; i++) {
        const int64_t e = b->order[start + i];
        for (int k = 0; k < K; k++) fill_row(b, e * K + k, i * K + k);
        x->example[i] = e;
        x->labels[i] = d->labels ? d->labels[e] : -1;
        x->targets[i] = d->targets ? d->targets[e] : 0.0f;
    }
}

int ctcd_batcher_next(ctcd_batcher *b, const ctcd_batch **out) {
    if (b->cur.batch >= b->n_batches) {
        /* cannot fail: the cursor is in range and the scratch exists */
        ctcd_status st = ctcd_batcher_seek(b, (ctcd_batcher_cursor){b->cur.epoch + 1, 0});
        CTCD_ASSERT(st == CTCD_OK, "%s", ctcd_status_message(st));
        *out = NULL;
        return 0;
    }
    const int64_t start = b->cur.batch * b->cfg.batch;
    const int64_t left = b->data->n - start;
    fill(b, start, (int)(left < b->cfg.batch ? left : b->cfg.batch));
    b->cur.batch++;
    *out = &b->batch;
    return 1;
}

void ctcd_batcher_free(ctcd_batcher *b) {
    free(b->order);
    free(b->sort_buf);
    free(b->block_buf);
    free(b->copy_buf);
    free(b->batch.ids);
    free(b->batch.types);
    free(b->batch.mask);
    free(b->batch.labels);
    free(b->batch.targets);
    free(b->batch.cls_idx);
    free(b->batch.example);
    memset(b, 0, sizeof *b);
}
