/* batch_upload.h — device buffers for host batches and their upload: the one place that
 * allocates, uploads and frees what a model's forward (and the loss) read from a batch, for
 * every caller (the trainer's step, prediction, importance, `ctcd explain`, masked-LM
 * augmentation, latency measurement).
 *
 * A ctcd_batch_buffers is sized once for the largest batch (B_cap rows of T_cap tokens,
 * R_cap masked rows); each upload copies one host batch (include/ctcd/data.h,
 * include/ctcd/corpus.h) into it and fills the ctcd_batch_dev view (include/ctcd/batch_dev.h)
 * that points into the buffers. The view stays valid until the next upload or the free.
 * Uploads are synchronous (be->upload): the host batch may change as soon as one returns. */
#ifndef CTCD_BATCH_UPLOAD_H
#define CTCD_BATCH_UPLOAD_H

#include <stdint.h>

#include "ctcd/backend.h"
#include "ctcd/batch_dev.h"
#include "ctcd/corpus.h"
#include "ctcd/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a ctcd_batch_buffers holds beyond the inputs (ids, types, mask, [CLS] rows). */
enum {
    CTCD_BATCH_LABELS = 1, /* what the loss reads: labels and targets (B_cap), and with
                              CTCD_BATCH_MASKED the masked rows' labels (R_cap) */
    CTCD_BATCH_MASKED = 2, /* the masked-LM head's rows pred_idx (R_cap) */
};

typedef struct ctcd_batch_buffers {
    ctcd_backend *be;         /* NULL until allocated; the free is then a no-op */
    int B_cap, T_cap;         /* rows, tokens per row */
    int64_t R_cap;            /* masked rows (0 without CTCD_BATCH_MASKED) */
    int32_t *ids;             /* (B_cap·T_cap) token ids */
    int32_t *types;           /* (B_cap·T_cap) segment ids */
    int32_t *mask;            /* (B_cap·T_cap) 1 = token, 0 = padding */
    int32_t *cls;             /* (B_cap) row index b·T of each [CLS] token */
    int32_t *labels;          /* (B_cap) class labels per example, or NULL */
    float *targets;           /* (B_cap) regression targets per example, or NULL */
    int32_t *pred_idx;        /* (R_cap) masked rows b·T + t, or NULL */
    int32_t *pred_labels;     /* (R_cap) their original token ids, or NULL */
} ctcd_batch_buffers;

/* Allocates the buffers `what` asks for (CTCD_BATCH_* flags; R_cap is used only with
 * CTCD_BATCH_MASKED) on be. `name` prefixes every allocation's label ("batch" gives
 * "batch ids", ...), which out-of-memory errors show. On failure the buffers allocated so
 * far stay in *d for ctcd_batch_buffers_free. */
ctcd_status ctcd_batch_buffers_alloc(ctcd_batch_buffers *d, ctcd_backend *be, int B_cap,
                                     int T_cap, int64_t R_cap, unsigned what,
                                     const char *name);
void ctcd_batch_buffers_free(ctcd_batch_buffers *d);
/* Uploads host batch b (b->B <= B_cap rows of b->T <= T_cap tokens): ids, types, mask and
 * [CLS] rows, and its labels / targets when b has them and d holds them. *view receives
 * the batch's device view (no masked rows). */
ctcd_status ctcd_batch_buffers_upload(ctcd_batch_buffers *d, const ctcd_batch *b,
                                      ctcd_batch_dev *view);
/* The same for a masked-LM batch: also its masked rows and (when d holds them and
 * mb->pred_labels is set) their labels; more than R_cap masked rows is an error. */
ctcd_status ctcd_batch_buffers_upload_mlm(ctcd_batch_buffers *d, const ctcd_mlm_batch *mb,
                                          ctcd_batch_dev *view);

#ifdef __cplusplus
}
#endif
#endif
