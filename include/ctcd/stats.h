/* stats.h — statistics over seeds (src/core/stats.c): mean and sample standard deviation,
 * and the paired comparison of two arms run on the same seeds, with its 95% interval. */
#ifndef CTCD_STATS_H
#define CTCD_STATS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ctcd_stat {
    double mean, std;
    int n;
} ctcd_stat;

/* Mean and sample standard deviation of x[0..n); NAN mean for n == 0. */
ctcd_stat ctcd_stat_of(const double *x, int n);

/* A paired difference over seeds (arm A minus arm B, seed by seed): the mean and sample std
 * of the n differences and the two-sided 95% Student-t interval
 *     mean ± t(0.975, n - 1) · std / sqrt(n)
 * (a paired t interval: the per-seed differences are taken as independent draws of one
 * normal difference). lo = hi = NAN when n < 2 or a difference is not finite. */
typedef struct ctcd_paired {
    double mean, std, lo, hi;
    int n;
} ctcd_paired;

ctcd_paired ctcd_paired_of(const double *diff, int n);
/* 1 when the interval lies entirely above or below 0 (0 for NAN bounds). */
int ctcd_paired_excludes_zero(ctcd_paired p);
/* The 0.975 quantile of Student's t with df degrees of freedom (df >= 1): the table for
 * df <= 30, then the Cornish-Fisher expansion (error below 1e-4 there); NAN for df < 1. */
double ctcd_t975(int df);

#ifdef __cplusplus
}
#endif
#endif
