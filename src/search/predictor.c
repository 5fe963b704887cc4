/* predictor.c — the reward predictor of KD-NAS (include/ctcd/search.h): ridge regression of
 * the proxy score (or reward) of evaluated candidates on architecture features, used to
 * rank proposals so that only the most promising are distilled. Features are normalised to
 * comparable ranges so that one ridge lambda fits every dimension. */
#include <math.h>
#include <stdlib.h>

#include "ctcd/search.h"

void ctcd_reward_features(const ctcd_search_space *s, const ctcd_arch *a,
                          double f[CTCD_PRED_NFEAT]) {
    f[0] = 1.0;
    for (int d = 0; d < CTCD_N_DIMS; d++) {
        const double span = s->dim[d].max - s->dim[d].min;
        f[1 + d] = span > 0 ? (a->v[d] - s->dim[d].min) / span : 0.0;
    }
    /* encoder parameters only: the embeddings depend on the vocabulary, not the choice */
    const double H = a->v[CTCD_DIM_HIDDEN], I = a->v[CTCD_DIM_INTER];
    f[5] = log10(a->v[CTCD_DIM_LAYERS] * (4 * H * H + 2 * H * I)) - 6.0;
}

ctcd_status ctcd_reward_fit(ctcd_reward_model *m, const ctcd_search_space *s,
                            const ctcd_arch *a, const double *score, int n, double lambda) {
    m->fitted = 0;
    m->lambda = lambda;
    if (n < 1) return CTCD_ERR(CTCD_E_INVALID, "reward predictor: no evaluated candidates");
    double *X = malloc((size_t)n * CTCD_PRED_NFEAT * sizeof *X);
    if (!X) return CTCD_ERR(CTCD_E_NOMEM, "reward predictor: out of memory");
    for (int i = 0; i < n; i++) ctcd_reward_features(s, &a[i], X + (size_t)i * CTCD_PRED_NFEAT);
    ctcd_status st = ctcd_lstsq(X, score, n, CTCD_PRED_NFEAT, lambda, 1, m->w);
    free(X);
    if (!st) m->fitted = 1;
    return st;
}

double ctcd_reward_predict(const ctcd_reward_model *m, const ctcd_search_space *s,
                           const ctcd_arch *a) {
    double f[CTCD_PRED_NFEAT], y = 0;
    ctcd_reward_features(s, a, f);
    for (int k = 0; k < CTCD_PRED_NFEAT; k++) y += m->w[k] * f[k];
    return y;
}

void ctcd_reward_rank(const ctcd_reward_model *m, const ctcd_search_space *s,
                      const ctcd_arch *a, int n, int *order) {
    double *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    CTCD_ASSERT(p, "out of memory ranking %d proposals", n);
    for (int i = 0; i < n; i++) p[i] = ctcd_reward_predict(m, s, &a[i]), order[i] = i;
    for (int i = 1; i < n; i++) { /* insertion sort: stable, n is a few dozen */
        const int k = order[i];
        int j = i - 1;
        while (j >= 0 && p[order[j]] < p[k]) order[j + 1] = order[j], j--;
        order[j + 1] = k;
    }
    free(p);
}
