/* predictor.c — the reward predictor of KD-NAS (include/ctcd/search.h): ridge regression of
 * the proxy score (or reward) of evaluated candidates on architecture features, used to
 * rank proposals so that only the most promising are distilled. Features are normalised to
 * comparable ranges so that one ridge lambda fits every dimension. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/search.h"

static double norm(const ctcd_search_space *s, int d, double v) {
    const double span = s->dim[d].max - s->dim[d].min;
    return span > 0 ? (v - s->dim[d].min) / span : 0.0;
}

void ctcd_reward_features(const ctcd_search_space *s, const ctcd_arch *a,
                          double f[CTCD_PRED_NFEAT]) {
    const int L = a->v[CTCD_DIM_LAYERS];
    const double H = a->v[CTCD_DIM_HIDDEN], A = a->v[CTCD_DIM_HEADS];
    /* per-layer means and FFN spread; a uniform arch has means v[HEADS], v[INTER], spread 0 */
    double heads = A, inter = a->v[CTCD_DIM_INTER], lo = inter, hi = inter, enc = 0;
    if (ctcd_arch_is_per_layer(a)) {
        heads = inter = 0;
        lo = hi = a->layer_inter[0];
        for (int l = 0; l < L; l++) {
            heads += a->layer_heads[l] / (double)L;
            inter += a->layer_inter[l] / (double)L;
            lo = a->layer_inter[l] < lo ? a->layer_inter[l] : lo;
            hi = a->layer_inter[l] > hi ? a->layer_inter[l] : hi;
        }
    }
    f[0] = 1.0;
    f[1] = norm(s, CTCD_DIM_LAYERS, L);
    f[2] = norm(s, CTCD_DIM_HIDDEN, H);
    f[3] = norm(s, CTCD_DIM_HEADS, heads);
    f[4] = norm(s, CTCD_DIM_INTER, inter);
    /* encoder parameters only: the embeddings depend on the vocabulary, not the choice */
    for (int l = 0; l < L; l++) {
        const double att = ctcd_arch_is_per_layer(a) ? a->layer_heads[l] / A : 1.0;
        const double I = ctcd_arch_is_per_layer(a) ? a->layer_inter[l] : a->v[CTCD_DIM_INTER];
        enc += 4 * H * H * att + 2 * H * I;
    }
    f[5] = log10(enc) - 6.0;
    f[6] = norm(s, CTCD_DIM_HEADS, s->dim[CTCD_DIM_HEADS].min + A - heads);
    f[7] = norm(s, CTCD_DIM_INTER, s->dim[CTCD_DIM_INTER].min + hi - lo);
}

ctcd_status ctcd_reward_fit(ctcd_reward_model *m, const ctcd_search_space *s,
                            const ctcd_arch *a, const double *score, int n, double lambda) {
    m->fitted = 0;
    m->lambda = lambda;
    if (n < 1) return CTCD_ERR(CTCD_E_INVALID, "reward predictor: no evaluated candidates");
    double *X = malloc((size_t)n * CTCD_PRED_NFEAT * sizeof *X);
    if (!X) return CTCD_ERR(CTCD_E_NOMEM, "reward predictor: out of memory");
    /* without per-layer candidates the last two columns are zero: fit the others alone */
    int p = CTCD_PRED_NFEAT - 2;
    for (int i = 0; i < n; i++) p = ctcd_arch_is_per_layer(&a[i]) ? CTCD_PRED_NFEAT : p;
    for (int i = 0; i < n; i++) {
        double f[CTCD_PRED_NFEAT];
        ctcd_reward_features(s, &a[i], f);
        memcpy(X + (size_t)i * p, f, (size_t)p * sizeof *f);
    }
    for (int k = 0; k < CTCD_PRED_NFEAT; k++) m->w[k] = 0;
    ctcd_status st = ctcd_lstsq(X, score, n, p, lambda, 1, m->w);
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
