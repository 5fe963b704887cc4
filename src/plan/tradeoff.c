/* tradeoff.c — MiniDisc's λ-tradeoff and sandwich sampling, and the sparsity list of the
 * schedule recipe (include/ctcd/schedule.h). Pure functions: no model, no backend. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctcd/schedule.h"

ctcd_status ctcd_sparsity_list_parse(const char *s, const char *key, float *out, int max,
                                     int *n) {
    *n = 0;
    const char *p = s ? s : "";
    for (;;) {
        while (*p == ' ') p++;
        if (!*p) break;
        char *end;
        const double v = strtod(p, &end);
        while (*end == ' ') end++;
        if (end == p || (*end && *end != ',') || !(v >= 0.0 && v < 1.0))
            return CTCD_ERR(CTCD_E_INVALID, "%s: '%s': expected comma-separated sparsities in "
                            "[0, 1)", key, s);
        if (*n == max)
            return CTCD_ERR(CTCD_E_INVALID, "%s: more than %d sparsities", key, max);
        /* insertion keeps the list sorted */
        int k = (*n)++;
        while (k > 0 && out[k - 1] > (float)v) out[k] = out[k - 1], k--;
        out[k] = (float)v;
        if (k > 0 && out[k - 1] == out[k])
            return CTCD_ERR(CTCD_E_INVALID, "%s: sparsity %g is listed twice", key, v);
        if (k + 1 < *n && out[k + 1] == out[k])
            return CTCD_ERR(CTCD_E_INVALID, "%s: sparsity %g is listed twice", key, v);
        p = *end ? end + 1 : end;
    }
    if (*n == 0) return CTCD_ERR(CTCD_E_INVALID, "%s: no sparsities given", key);
    return CTCD_OK;
}

double ctcd_ta_lambda_score(double dev, double sparsity, double lambda) {
    return dev + lambda * sparsity;
}

int ctcd_ta_choose(ctcd_ta_row *rows, int n, double lambda) {
    int best = -1;
    for (int i = 0; i < n; i++) {
        rows[i].chosen = 0;
        rows[i].score = ctcd_ta_lambda_score(rows[i].dev, rows[i].sparsity, lambda);
        if (!isfinite(rows[i].score)) continue;
        if (best < 0 || rows[i].score > rows[best].score ||
            (rows[i].score == rows[best].score && rows[i].sparsity > rows[best].sparsity))
            best = i;
    }
    if (best >= 0) rows[best].chosen = 1;
    return best;
}

int ctcd_sandwich_sample(int n, int k, ctcd_rng *r, int *idx) {
    if (n <= 0) return 0;
    idx[0] = 0;
    if (n == 1) return 1;
    idx[1] = n - 1;
    CTCD_ASSERT(n <= CTCD_SCHED_MAX, "sandwich over %d sparsities", n);
    const int inner = n - 2, take = k < inner ? (k > 0 ? k : 0) : inner;
    /* partial Fisher-Yates over the inner indices 1..n-2 */
    int pool[CTCD_SCHED_MAX];
    for (int i = 0; i < inner; i++) pool[i] = i + 1;
    for (int i = 0; i < take; i++) {
        const int j = i + (int)ctcd_rng_below(r, (uint32_t)(inner - i));
        const int t = pool[i];
        pool[i] = pool[j];
        pool[j] = t;
        idx[2 + i] = pool[i];
    }
    return 2 + take;
}
