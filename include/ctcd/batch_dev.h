/* batch_dev.h — the device-side view of a batch: what every model's forward and backward
 * read (include/ctcd/model.h). Plain backend pointers and dimensions, owned by whoever
 * uploaded the batch (include/ctcd/batch_upload.h fills one from a host batch); it sits in
 * core so that the data layer can fill it without knowing models. */
#ifndef CTCD_BATCH_DEV_H
#define CTCD_BATCH_DEV_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Device-side view of a batch, shared by all models of a step. */
typedef struct ctcd_batch_dev {
    int B, T;
    const int32_t *ids;      /* (B, T) */
    const int32_t *types;    /* (B, T) */
    const int32_t *mask;     /* (B, T) */
    const int32_t *cls_idx;  /* (B) */
    int64_t n_pred;          /* MLM: number of masked rows */
    const int32_t *pred_idx; /* MLM: (n_pred) row indices b·T + t into the (B·T) tokens */
} ctcd_batch_dev;

#ifdef __cplusplus
}
#endif
#endif
