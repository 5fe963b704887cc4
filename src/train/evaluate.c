/* evaluate.c — dev-set evaluation of every model of a trainer (dropout off, dataset order).
 * Logits come back to the host and the task metric is computed there. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/metrics.h"
#include "train_internal.h"

typedef struct eval_buffers {
    float *logits;     /* (n, C) host, one model at a time */
    float *batch;      /* (B_cap, C) */
    int32_t *pred;     /* (n) */
    int32_t *gold;     /* (n) */
    float *pred_f;     /* (n) regression predictions */
} eval_buffers;

static void free_buffers(eval_buffers *e) {
    free(e->logits);
    free(e->batch);
    free(e->pred);
    free(e->gold);
    free(e->pred_f);
}

/* Runs one model over the whole dev set, writing logits (n, C) on the host. */
static ctcd_status predict(ctcd_trainer *t, ctcd_model *m, ctcd_batcher *bt, eval_buffers *e) {
    ctcd_backend *be = t->be;
    const int C = m->cfg.n_labels;
    const ctcd_batch *b;
    CTCD_TRY(ctcd_batcher_seek(bt, (ctcd_batcher_cursor){0, 0}));
    while (ctcd_batcher_next(bt, &b)) {
        ctcd_batch_dev db;
        CTCD_TRY(ctcd_trainer_upload_batch(t, b, &db));
        CTCD_TRY(ctcd_model_forward(m, &db, 0, 0));
        const size_t es = ctcd_dtype_size(be->act_dtype);
        if (be->act_dtype == CTCD_F32) {
            CTCD_TRY(be->download(be, e->batch, m->acts.logits, (size_t)b->B * C * es));
        } else {
            /* Cast on the device into the dlogits scratch, then copy fp32 values back. */
            CTCD_TRY(be->cast(be, m->acts.dlogits, CTCD_F32, m->acts.logits, be->act_dtype,
                              (int64_t)b->B * C));
            CTCD_TRY(be->download(be, e->batch, m->acts.dlogits, (size_t)b->B * C * 4));
        }
        for (int i = 0; i < b->B; i++)
            memcpy(e->logits + b->example[i] * C, e->batch + (size_t)i * C, (size_t)C * 4);
    }
    return CTCD_OK;
}

static double score(const ctcd_dataset *dev, const eval_buffers *e, int C, const char **metric) {
    if (C == 1) {
        *metric = "pearson";
        for (int64_t i = 0; i < dev->n; i++) e->pred_f[i] = e->logits[i];
        return ctcd_pearson(e->pred_f, dev->targets, dev->n);
    }
    *metric = "accuracy";
    ctcd_argmax_rows(e->logits, dev->n, C, e->pred);
    return ctcd_accuracy(e->pred, dev->labels, dev->n);
}

ctcd_status ctcd_trainer_evaluate(ctcd_trainer *t, ctcd_eval_result *res) {
    memset(res, 0, sizeof *res);
    const ctcd_dataset *dev = &t->dev;
    const int C = t->models[0]->cfg.n_labels;
    ctcd_batcher_config bc = {.batch = t->rc.eval.batch, .max_len = t->rc.data.max_len,
                              .pad_multiple = 8, .shuffle = 0, .bucket_batches = 1, .seed = 0};
    ctcd_batcher bt;
    CTCD_TRY(ctcd_batcher_init(&bt, dev, &bc));
    eval_buffers e = {0};
    e.logits = malloc((size_t)dev->n * C * sizeof(float));
    e.batch = malloc((size_t)t->B_cap * C * sizeof(float));
    e.pred = malloc((size_t)dev->n * sizeof(int32_t));
    e.pred_f = malloc((size_t)dev->n * sizeof(float));
    ctcd_status st = CTCD_OK;
    if (!e.logits || !e.batch || !e.pred || !e.pred_f)
        st = CTCD_ERR(CTCD_E_NOMEM, "out of memory evaluating %lld examples", (long long)dev->n);
    for (int i = 0; !st && i < t->n_models; i++) {
        st = predict(t, t->models[i], &bt, &e);
        if (!st) res->value[i] = score(dev, &e, C, &res->metric);
    }
    res->examples = dev->n;
    free_buffers(&e);
    ctcd_batcher_free(&bt);
    return st;
}
