/* stats.c — statistics over seeds (include/ctcd/stats.h). */
#include <math.h>

#include "ctcd/stats.h"

ctcd_stat ctcd_stat_of(const double *x, int n) {
    ctcd_stat s = {.mean = NAN, .std = NAN, .n = n};
    if (n <= 0) return s;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += x[i];
    s.mean = sum / n;
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (x[i] - s.mean) * (x[i] - s.mean);
    s.std = n > 1 ? sqrt(ss / (n - 1)) : 0.0;
    return s;
}

double ctcd_t975(int df) {
    /* t(0.975, df), df = 1..30, to three decimals (any statistics table) */
    static const double table[30] = {
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
    if (df < 1) return NAN;
    if (df <= 30) return table[df - 1];
    /* Cornish-Fisher expansion of t around the normal quantile z = 1.959964 */
    const double z = 1.959963985, z3 = z * z * z, z5 = z3 * z * z, v = df;
    return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v);
}

ctcd_paired ctcd_paired_of(const double *diff, int n) {
    const ctcd_stat s = ctcd_stat_of(diff, n);
    ctcd_paired p = {.mean = s.mean, .std = s.std, .lo = NAN, .hi = NAN, .n = n};
    if (n < 2 || !isfinite(s.mean) || !isfinite(s.std)) return p;
    const double half = ctcd_t975(n - 1) * s.std / sqrt((double)n);
    p.lo = s.mean - half;
    p.hi = s.mean + half;
    return p;
}

int ctcd_paired_excludes_zero(ctcd_paired p) {
    if (isnan(p.lo) || isnan(p.hi)) return 0;
    return p.lo > 0 || p.hi < 0;
}
