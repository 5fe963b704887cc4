/* law.c — the law of capacity gap (include/ctcd/plan.h): the recommended partner size, the
 * BERT-style configurations nearest it, and the least-squares line the fit uses. */
#include <math.h>

#include "ctcd/plan.h"

int64_t ctcd_law_teacher_params(int64_t student_params) {
    return (int64_t)llround(CTCD_LAW_RATIO * (double)student_params);
}

static double log_gap(int64_t params, int64_t target) {
    return fabs(log((double)params / (double)target));
}

int ctcd_plan_nearest(int64_t target_params, int vocab, int n_labels, ctcd_plan_candidate *out,
                      int max) {
    if (target_params < 1 || max < 1) return 0;
    int n = 0;
    for (int L = 1; L <= 24; L++)
        for (int H = 64; H <= 1024; H += 64) {
            ctcd_plan_candidate c = {.arch = {.v = {L, H, H / 64, 4 * H}}};
            c.params = ctcd_arch_n_params(&c.arch, vocab, n_labels);
            c.ratio = (double)c.params / (double)target_params;
            /* insertion into the sorted top-max list */
            int pos = n < max ? n : max;
            while (pos > 0) {
                const ctcd_plan_candidate *p = &out[pos - 1];
                const double a = log_gap(c.params, target_params),
                             b = log_gap(p->params, target_params);
                if (a < b || (a == b && c.params < p->params)) pos--;
                else break;
            }
            if (pos >= max) continue;
            for (int k = (n < max ? n : max - 1); k > pos; k--) out[k] = out[k - 1];
            out[pos] = c;
            if (n < max) n++;
        }
    return n;
}

/* Closed form over centred sums: exact enough for parameter counts of 1e9 (the normal
 * equations in raw x would square their condition number). */
ctcd_status ctcd_line_fit_xy(const double *x, const double *y, int n, ctcd_line_fit *out) {
    if (n < 2) return CTCD_ERR(CTCD_E_INVALID, "line fit: need at least 2 points (got %d)", n);
    double mx = 0, my = 0;
    for (int i = 0; i < n; i++) mx += x[i], my += y[i];
    mx /= n;
    my /= n;
    double sxx = 0, sxy = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (!(sxx > 0))
        return CTCD_ERR(CTCD_E_INVALID, "line fit: the %d points need at least two distinct x", n);
    out->slope = sxy / sxx;
    out->intercept = my - out->slope * mx;
    out->n = n;
    double ss_res = 0;
    for (int i = 0; i < n; i++) {
        const double r = y[i] - (out->intercept + out->slope * x[i]);
        ss_res += r * r;
    }
    /* an exact fit leaves rounding-level residuals: call it exact relative to the spread */
    const double scale = syy > 0 ? syy : my * my > 0 ? my * my : 1.0;
    out->r2 = ss_res <= 1e-20 * scale ? 1.0 : syy > 0 ? 1.0 - ss_res / syy : 0.0;
    return CTCD_OK;
}
