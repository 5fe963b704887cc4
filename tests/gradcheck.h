/* gradcheck.h — finite-difference gradient checking for CPU ops (static helpers).
 *
 * An op under test is wrapped as `double f(void *ctx)` returning L = Σ r ⊙ out for a fixed
 * random r. For every coordinate x_i of an input, the central difference
 * (f(x_i + h) − f(x_i − h)) / 2h is compared with the analytic gradient computed by the op's
 * backward with dout = r. fp32 ops with double accumulation of L keep the FD noise around
 * 1e-5, far below the tolerance; a wrong sign, a missing term or a wrong scale is not. */
#ifndef CTCD_GRADCHECK_H
#define CTCD_GRADCHECK_H

#include <criterion/criterion.h>
#include <math.h>

#include "ctcd/model.h"
#include "ctcd/rng.h"

typedef double (*gc_fn)(void *ctx);

static inline double gc_dot(const float *a, const float *b, int64_t n) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* Checks every coordinate of x[n] (or every `stride`-th) against grad[n]. */
static inline void gc_check(const char *what, float *x, const float *grad, int64_t n,
                            int64_t stride, gc_fn f, void *ctx) {
    int64_t checked = 0;
    double worst = 0.0;
    for (int64_t i = 0; i < n; i += stride) {
        const float x0 = x[i];
        const float h = 1e-3f * fmaxf(1.0f, fabsf(x0));
        x[i] = x0 + h;
        const double lp = f(ctx);
        x[i] = x0 - h;
        const double lm = f(ctx);
        x[i] = x0;
        const double num = (lp - lm) / (2.0 * (double)h), ana = grad[i];
        const double err = fabs(num - ana), tol = 2e-2 * fmax(fabs(num), fabs(ana)) + 2e-3;
        if (err / tol > worst) worst = err / tol;
        cr_assert_leq(err, tol, "%s[%lld]: analytic %.6g vs numeric %.6g (diff %.3g)", what,
                      (long long)i, ana, num, err);
        checked++;
    }
    cr_assert_gt(checked, 0, "%s: nothing checked", what);
}

/* A whole model: central differences (step 1e-2) on `per_tensor` random entries of every
 * parameter tensor of m (CPU backend: master is what the forward reads) against g, the
 * analytic gradient of loss(ctx) (a copy of m->ps.grads after its backward); loss(ctx) reruns
 * forward + loss. The pad row of the word embeddings (never read) is skipped; at least half
 * of the checked gradients must be non-trivial. */
static inline void gc_check_model(ctcd_model *m, const float *g, int per_tensor,
                                  double (*loss)(void *ctx), void *ctx) {
    ctcd_rng r;
    ctcd_rng_init(&r, 5, 5);
    int checked = 0, nonzero = 0;
    for (int p = 0; p < m->lay.n_params; p++) {
        const ctcd_param_info *pi = &m->lay.params[p];
        for (int k = 0; k < per_tensor; k++) {
            int64_t j = pi->offset + (int64_t)ctcd_rng_below(&r, (uint32_t)pi->numel);
            if (j >= m->lay.wte && j < m->lay.wte + 8) continue; /* pad row: never used */
            float *x = &m->ps.master[j];
            const float x0 = *x, h = 1e-2f;
            *x = x0 + h;
            const double lp = loss(ctx);
            *x = x0 - h;
            const double lm = loss(ctx);
            *x = x0;
            const double num = (lp - lm) / (2.0 * h), ana = g[j];
            const double tol = 5e-2 * fmax(fabs(num), fabs(ana)) + 3e-4;
            cr_expect_leq(fabs(num - ana), tol, "%s[%lld]: analytic %.6g vs numeric %.6g",
                          pi->name, (long long)(j - pi->offset), ana, num);
            checked++;
            nonzero += fabs(ana) > 1e-3;
        }
    }
    cr_assert_gt(nonzero, checked / 2, "too few non-trivial gradients (%d of %d)", nonzero,
                 checked);
}

#endif
