/* batch_upload.c — device buffers for host batches and their upload
 * (include/ctcd/batch_upload.h). */
#include <stdio.h>
#include <string.h>

#include "ctcd/batch_upload.h"

/* One buffer of n int32/float elements labelled "<name> <what>". */
static ctcd_status alloc_one(ctcd_backend *be, size_t n, const char *name, const char *what,
                             void **out) {
    char label[128];
    snprintf(label, sizeof label, "%s %s", name, what);
    return be->alloc(be, n * sizeof(int32_t), label, out);
}

ctcd_status ctcd_batch_buffers_alloc(ctcd_batch_buffers *d, ctcd_backend *be, int B_cap,
                                     int T_cap, int64_t R_cap, unsigned what,
                                     const char *name) {
    memset(d, 0, sizeof *d);
    d->be = be;
    d->B_cap = B_cap;
    d->T_cap = T_cap;
    d->R_cap = what & CTCD_BATCH_MASKED ? R_cap : 0;
    const size_t BT = (size_t)B_cap * (size_t)T_cap, B = (size_t)B_cap, R = (size_t)d->R_cap;
    CTCD_TRY(alloc_one(be, BT, name, "ids", (void **)&d->ids));
    CTCD_TRY(alloc_one(be, BT, name, "types", (void **)&d->types));
    CTCD_TRY(alloc_one(be, BT, name, "mask", (void **)&d->mask));
    CTCD_TRY(alloc_one(be, B, name, "cls index", (void **)&d->cls));
    if (what & CTCD_BATCH_LABELS) {
        CTCD_TRY(alloc_one(be, B, name, "labels", (void **)&d->labels));
        CTCD_TRY(alloc_one(be, B, name, "targets", (void **)&d->targets));
    }
    if (R > 0) {
        CTCD_TRY(alloc_one(be, R, name, "masked rows", (void **)&d->pred_idx));
        if (what & CTCD_BATCH_LABELS)
            CTCD_TRY(alloc_one(be, R, name, "masked labels", (void **)&d->pred_labels));
    }
    return CTCD_OK;
}

void ctcd_batch_buffers_free(ctcd_batch_buffers *d) {
    ctcd_backend *be = d->be;
    if (!be) return;
    be->free(be, d->ids);
    be->free(be, d->types);
    be->free(be, d->mask);
    be->free(be, d->cls);
    be->free(be, d->labels);
    be->free(be, d->targets);
    be->free(be, d->pred_idx);
    be->free(be, d->pred_labels);
    memset(d, 0, sizeof *d);
}

ctcd_status ctcd_batch_buffers_upload(ctcd_batch_buffers *d, const ctcd_batch *b,
                                      ctcd_batch_dev *view) {
    ctcd_backend *be = d->be;
    CTCD_ASSERT(b->B <= d->B_cap && b->T <= d->T_cap,
                "a %d x %d batch in buffers for %d x %d", b->B, b->T, d->B_cap, d->T_cap);
    const size_t BT = (size_t)b->B * (size_t)b->T * sizeof(int32_t);
    CTCD_TRY(be->upload(be, d->ids, b->ids, BT));
    CTCD_TRY(be->upload(be, d->types, b->types, BT));
    CTCD_TRY(be->upload(be, d->mask, b->mask, BT));
    CTCD_TRY(be->upload(be, d->cls, b->cls_idx, (size_t)b->B * sizeof(int32_t)));
    /* labels and targets are per example: B / K of them */
    const size_t E = (size_t)ctcd_batch_examples(b) * sizeof(int32_t);
    if (b->labels && d->labels) CTCD_TRY(be->upload(be, d->labels, b->labels, E));
    if (b->targets && d->targets) CTCD_TRY(be->upload(be, d->targets, b->targets, E));
    *view = (ctcd_batch_dev){.B = b->B, .T = b->T, .ids = d->ids, .types = d->types,
                             .mask = d->mask, .cls_idx = d->cls};
    return CTCD_OK;
}

ctcd_status ctcd_batch_buffers_upload_mlm(ctcd_batch_buffers *d, const ctcd_mlm_batch *mb,
                                          ctcd_batch_dev *view) {
    ctcd_backend *be = d->be;
    if (mb->n_pred > d->R_cap)
        return CTCD_ERR(CTCD_E_INVALID, "%lld masked rows exceed the capacity %lld",
                        (long long)mb->n_pred, (long long)d->R_cap);
    CTCD_TRY(ctcd_batch_buffers_upload(d, &mb->b, view));
    const size_t n = (size_t)mb->n_pred * sizeof(int32_t);
    if (n) CTCD_TRY(be->upload(be, d->pred_idx, mb->pred_idx, n));
    if (n && mb->pred_labels && d->pred_labels)
        CTCD_TRY(be->upload(be, d->pred_labels, mb->pred_labels, n));
    view->n_pred = mb->n_pred;
    view->pred_idx = d->pred_idx;
    return CTCD_OK;
}
