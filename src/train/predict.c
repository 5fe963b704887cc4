/* predict.c — running one model over a whole dataset (dropout off, dataset order) and
 * bringing its logits back to the host: dev evaluation, `ctcd predict`, test submissions. */
#include <stdlib.h>
#include <string.h>

#include "ctcd/batch_upload.h"
#include "ctcd/train.h"

/* Forward of one host batch; its logits (B, C) land in host (F32). */
static ctcd_status forward_batch(ctcd_model *m, ctcd_batch_buffers *d, const ctcd_batch *b,
                                 float *host) {
    ctcd_backend *be = m->be;
    ctcd_batch_dev db;
    CTCD_TRY(ctcd_batch_buffers_upload(d, b, &db));
    CTCD_TRY(ctcd_model_forward(m, &db, 0, 0));
    const int64_t n = (int64_t)b->B * m->cfg.n_labels;
    if (be->act_dtype == CTCD_F32)
        return be->download(be, host, m->acts.logits, (size_t)n * sizeof(float));
    if (be->act_dtype != CTCD_BF16)
        return CTCD_ERR(CTCD_E_UNSUPPORTED, "%s: logits of dtype %s", m->name,
                        ctcd_dtype_name(be->act_dtype));
    /* bf16 logits come back as they are (the device has no F32 scratch of this size) and
     * widen here, in place from the back so no value is overwritten before it is read. */
    uint16_t *h16 = (uint16_t *)host;
    CTCD_TRY(be->download(be, h16, m->acts.logits, (size_t)n * sizeof(uint16_t)));
    for (int64_t i = n - 1; i >= 0; i--) host[i] = ctcd_bf16_to_f32(h16[i]);
    return CTCD_OK;
}

int ctcd_model_predict_width(const ctcd_model *m, const ctcd_dataset *d) {
    return m->cfg.multiple_choice ? ctcd_dataset_seqs(d) : m->cfg.n_labels;
}

ctcd_status ctcd_model_predict(ctcd_model *m, const ctcd_dataset *d, int batch, int max_len,
                               float *logits) {
    if (m->cfg.head != CTCD_HEAD_CLASSIFY)
        return CTCD_ERR(CTCD_E_INVALID, "%s: prediction needs a classification/regression head",
                        m->name);
    const int K = ctcd_dataset_seqs(d);
    if ((K > 1) != (m->cfg.multiple_choice != 0))
        return CTCD_ERR(CTCD_E_INVALID, "%s: %s: a multiple-choice %s needs a multiple-choice "
                        "%s", m->name, d->name, K > 1 ? "dataset" : "model",
                        K > 1 ? "model (BertForMultipleChoice)" : "dataset");
    if (batch * K > m->B_max) batch = m->B_max / K; /* rows: K per example */
    if (max_len > m->T_max) max_len = m->T_max / 8 * 8;
    /* multiple choice: the K one-output rows of an example are its K logits */
    const int C = ctcd_model_predict_width(m, d);
    ctcd_batcher_config bc = {.batch = batch, .max_len = max_len, .pad_multiple = 8,
                              .shuffle = 0, .bucket_batches = 1, .seed = 0};
    ctcd_batcher bt;
    CTCD_TRY(ctcd_batcher_init(&bt, d, &bc));
    ctcd_batch_buffers db = {0};
    float *host = malloc((size_t)batch * (size_t)C * sizeof *host);
    ctcd_status st = host ? ctcd_batch_buffers_alloc(&db, m->be, batch * K, (max_len + 7) / 8 * 8,
                                                     0, 0, "predict")
                          : CTCD_ERR(CTCD_E_NOMEM, "out of memory predicting %s", d->name);
    const ctcd_batch *b;
    while (!st && ctcd_batcher_next(&bt, &b)) {
        st = forward_batch(m, &db, b, host);
        for (int i = 0; !st && i < ctcd_batch_examples(b); i++)
            memcpy(logits + b->example[i] * C, host + (size_t)i * C, (size_t)C * sizeof *host);
    }
    ctcd_batch_buffers_free(&db);
    free(host);
    ctcd_batcher_free(&bt);
    return st;
}
