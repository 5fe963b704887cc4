/* metrics.c — GLUE / demo evaluation metrics (include/ctcd/metrics.h), double accumulation. */
#include <math.h>
#include <stdlib.h>

#include "ctcd/metrics.h"

double ctcd_accuracy(const int32_t *pred, const int32_t *gold, int64_t n) {
    if (n <= 0) return 0.0;
    int64_t ok = 0;
    for (int64_t i = 0; i < n; i++) ok += pred[i] == gold[i];
    return (double)ok / (double)n;
}

/* Binary confusion counts with class 1 as positive. */
static void confusion(const int32_t *pred, const int32_t *gold, int64_t n, double *tp,
                      double *fp, double *fn, double *tn) {
    *tp = *fp = *fn = *tn = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const int p = pred[i] == 1, g = gold[i] == 1;
        *tp += p && g;
        *fp += p && !g;
        *fn += !p && g;
        *tn += !p && !g;
    }
}

double ctcd_f1(const int32_t *pred, const int32_t *gold, int64_t n) {
    double tp, fp, fn, tn;
    confusion(pred, gold, n, &tp, &fp, &fn, &tn);
    const double denom = 2.0 * tp + fp + fn;
    return denom > 0.0 ? 2.0 * tp / denom : 0.0;
}

double ctcd_mcc(const int32_t *pred, const int32_t *gold, int64_t n) {
    double tp, fp, fn, tn;
    confusion(pred, gold, n, &tp, &fp, &fn, &tn);
    const double denom = sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
    return denom > 0.0 ? (tp * tn - fp * fn) / denom : 0.0;
}

static double pearson_d(const double *x, const double *y, int64_t n) {
    if (n < 2) return 0.0;
    double mx = 0.0, my = 0.0;
    for (int64_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double a = x[i] - mx, b = y[i] - my;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    return sxx > 0.0 && syy > 0.0 ? sxy / sqrt(sxx * syy) : 0.0;
}

double ctcd_pearson(const float *x, const float *y, int64_t n) {
    double *a = malloc((size_t)(n > 0 ? n : 1) * sizeof *a);
    double *b = malloc((size_t)(n > 0 ? n : 1) * sizeof *b);
    double r = 0.0;
    if (a && b) {
        for (int64_t i = 0; i < n; i++) {
            a[i] = x[i];
            b[i] = y[i];
        }
        r = pearson_d(a, b, n);
    }
    free(a);
    free(b);
    return r;
}

typedef struct ranked {
    float v;
    int64_t i;
} ranked;

static int cmp_ranked(const void *pa, const void *pb) {
    const ranked *a = pa, *b = pb;
    if (a->v < b->v) return -1;
    if (a->v > b->v) return 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* Average ranks (1-based) with ties sharing the mean of their positions. */
static int ranks(const float *x, int64_t n, double *out) {
    ranked *r = malloc((size_t)(n > 0 ? n : 1) * sizeof *r);
    if (!r) return 0;
    for (int64_t i = 0; i < n; i++) r[i] = (ranked){x[i], i};
    qsort(r, (size_t)n, sizeof *r, cmp_ranked);
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j + 1 < n && r[j + 1].v == r[i].v) j++;
        const double avg = 0.5 * (double)(i + j) + 1.0;
        for (int64_t k = i; k <= j; k++) out[r[k].i] = avg;
        i = j + 1;
    }
    free(r);
    return 1;
}

double ctcd_spearman(const float *x, const float *y, int64_t n) {
    double *a = malloc((size_t)(n > 0 ? n : 1) * sizeof *a);
    double *b = malloc((size_t)(n > 0 ? n : 1) * sizeof *b);
    double r = 0.0;
    if (a && b && ranks(x, n, a) && ranks(y, n, b)) r = pearson_d(a, b, n);
    free(a);
    free(b);
    return r;
}

void ctcd_argmax_rows(const float *logits, int64_t n, int C, int32_t *out) {
    for (int64_t i = 0; i < n; i++) {
        const float *z = logits + i * C;
        int best = 0;
        for (int c = 1; c < C; c++)
            if (z[c] > z[best]) best = c;
        out[i] = best;
    }
}
