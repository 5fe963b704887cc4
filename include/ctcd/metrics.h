/* metrics.h — evaluation metrics of GLUE and the demo task.
 * All take host arrays of n predictions and references. */
#ifndef CTCD_METRICS_H
#define CTCD_METRICS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

double ctcd_accuracy(const int32_t *pred, const int32_t *gold, int64_t n);
/* Binary F1 of class 1. */
double ctcd_f1(const int32_t *pred, const int32_t *gold, int64_t n);
/* Matthews correlation coefficient (binary), 0 when undefined. */
double ctcd_mcc(const int32_t *pred, const int32_t *gold, int64_t n);
double ctcd_pearson(const float *x, const float *y, int64_t n);
/* Spearman rank correlation with average ranks for ties. */
double ctcd_spearman(const float *x, const float *y, int64_t n);
/* Row-wise argmax of logits [n, C]. */
void ctcd_argmax_rows(const float *logits, int64_t n, int C, int32_t *out);

#ifdef __cplusplus
}
#endif
#endif
