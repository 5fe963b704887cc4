/* metrics.h — evaluation metrics of GLUE and the demo task.
 * All take host arrays of n predictions and references. */
#ifndef CTCD_METRICS_H
#define CTCD_METRICS_H

#include <math.h>
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

/* The longest name of what an evaluation ran on ("dev", "test", "dev_matched+dev_mismatched"). */
#define CTCD_EVAL_SPLIT_MAX 48
/* How reports and logs name a split: "dev" when it was not recorded (empty). */
static inline const char *ctcd_split_name(const char *split) { return split[0] ? split : "dev"; }

/* A task's metrics for one model: names ("acc", "f1", "mcc", "pearson", "spearman",
 * "acc_m", "acc_mm"), values as fractions (not percent), and the task score, the mean of
 * the values, as the GLUE leaderboard scores a task with several metrics. */
#define CTCD_MAX_METRICS 4
typedef struct ctcd_metric_set {
    int n;
    const char *names[CTCD_MAX_METRICS];
    double values[CTCD_MAX_METRICS];
    double score;
} ctcd_metric_set;

/* Looks a metric up by name; NAN when absent. */
double ctcd_metric_get(const ctcd_metric_set *m, const char *name);

#ifdef __cplusplus
}
#endif
#endif
