/* glue_metrics.c — a GLUE task's metrics and score from predicted logits (include/ctcd/glue.h),
 * and the GLUE score over tasks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/glue.h"
#include "ctcd/metrics.h"

double ctcd_metric_get(const ctcd_metric_set *m, const char *name) {
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->names[i], name) == 0) return m->values[i];
    return NAN;
}

static void put(ctcd_metric_set *m, const char *name, double v) {
    m->names[m->n] = name;
    m->values[m->n++] = v;
}

/* Accuracy (and optionally F1 / MCC) of argmax predictions on one split. */
static ctcd_status classify(const float *logits, const ctcd_dataset *d, int C, double *acc,
                            double *f1, double *mcc) {
    if (!d->labels) return CTCD_ERR(CTCD_E_INVALID, "%s has no class labels", d->name);
    int32_t *pred = malloc((size_t)(d->n > 0 ? d->n : 1) * sizeof *pred);
    if (!pred) return CTCD_ERR(CTCD_E_NOMEM, "out of memory scoring %s", d->name);
    ctcd_argmax_rows(logits, d->n, C, pred);
    if (acc) *acc = ctcd_accuracy(pred, d->labels, d->n);
    if (f1) *f1 = ctcd_f1(pred, d->labels, d->n);
    if (mcc) *mcc = ctcd_mcc(pred, d->labels, d->n);
    free(pred);
    return CTCD_OK;
}

ctcd_status ctcd_glue_metrics(ctcd_glue_metric kind, int n_splits, const float *const *logits,
                              const ctcd_dataset *const *gold, int C, ctcd_metric_set *out) {
    memset(out, 0, sizeof *out);
    const int need = kind == CTCD_GLUE_ACC_MM ? 2 : 1;
    if (n_splits < need)
        return CTCD_ERR(CTCD_E_INVALID, "metric needs %d dev split(s), got %d", need, n_splits);
    if ((kind == CTCD_GLUE_PEARSON_SPEARMAN) != (C == 1))
        return CTCD_ERR(CTCD_E_INVALID, "%s: a %s metric with %d output(s) per example",
                        gold[0]->name, kind == CTCD_GLUE_PEARSON_SPEARMAN ? "regression"
                                                                         : "classification",
                        C);
    double a = 0, b = 0;
    switch (kind) {
    case CTCD_GLUE_MCC:
        CTCD_TRY(classify(logits[0], gold[0], C, NULL, NULL, &a));
        put(out, "mcc", a);
        break;
    case CTCD_GLUE_ACC:
        CTCD_TRY(classify(logits[0], gold[0], C, &a, NULL, NULL));
        put(out, "acc", a);
        break;
    case CTCD_GLUE_ACC_F1:
        CTCD_TRY(classify(logits[0], gold[0], C, &a, &b, NULL));
        put(out, "acc", a);
        put(out, "f1", b);
        break;
    case CTCD_GLUE_ACC_MM:
        CTCD_TRY(classify(logits[0], gold[0], C, &a, NULL, NULL));
        CTCD_TRY(classify(logits[1], gold[1], C, &b, NULL, NULL));
        put(out, "acc_m", a);
        put(out, "acc_mm", b);
        break;
    case CTCD_GLUE_PEARSON_SPEARMAN:
        if (!gold[0]->targets)
            return CTCD_ERR(CTCD_E_INVALID, "%s has no regression targets", gold[0]->name);
        put(out, "pearson", ctcd_pearson(logits[0], gold[0]->targets, gold[0]->n));
        put(out, "spearman", ctcd_spearman(logits[0], gold[0]->targets, gold[0]->n));
        break;
    default:
        return CTCD_ERR(CTCD_E_INVALID, "unknown metric kind %d", (int)kind);
    }
    double sum = 0;
    for (int i = 0; i < out->n; i++) sum += out->values[i];
    out->score = sum / out->n;
    return CTCD_OK;
}

double ctcd_glue_score(const double *task_scores, int n_tasks) {
    if (n_tasks <= 0) return NAN;
    double s = 0;
    for (int i = 0; i < n_tasks; i++) s += task_scores[i];
    return s / n_tasks;
}
