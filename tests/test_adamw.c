/* test_adamw.c — AdamW against hand-computed values (PyTorch semantics), weight decay only
 * on the decayed prefix, gradient clipping, and the gradient sum of squares. */
#include <criterion/criterion.h>
#include <math.h>

#include "ctcd/backend.h"
#include "ctcd/backend_cpu.h"
#include "ctcd/backend_create.h"

Test(adamw, three_steps_match_hand_computation_with_decay_prefix_and_clipping) {
    ctcd_backend *be = NULL;
    cr_assert_null(ctcd_backend_cpu_create(&be));
    float p[3] = {0.5f, -1.0f, 2.0f}, m[3] = {0}, v[3] = {0}, sumsq;
    const float grads[3][3] = {{0.3f, -0.2f, 1.5f}, {1.0f, 2.0f, -2.0f}, {-0.5f, 0.1f, 0.4f}};
    double P[3] = {0.5, -1.0, 2.0}, M[3] = {0}, V[3] = {0};
    const double lr = 0.1, b1 = 0.9, b2 = 0.99, eps = 1e-8, wd = 0.05, max_norm = 1.0;
    for (int step = 1; step <= 3; step++) {
        const float *g = grads[step - 1];
        cr_assert_null(be->grad_sumsq(be, &sumsq, g, 3));
        double ss = 0;
        for (int i = 0; i < 3; i++) ss += (double)g[i] * g[i];
        cr_assert_float_eq(sumsq, ss, 1e-6, "sumsq %g vs %g", (double)sumsq, ss);
        ctcd_adamw_hparams h = {.lr = (float)lr, .beta1 = (float)b1, .beta2 = (float)b2,
                                .eps = (float)eps, .weight_decay = (float)wd, .step = step,
                                .max_norm = (float)max_norm};
        cr_assert_null(be->adamw(be, p, NULL, g, m, v, 3, 2, &sumsq, &h));
        const double coef = fmin(1.0, max_norm / (sqrt(ss) + 1e-6));
        for (int i = 0; i < 3; i++) {
            const double gi = g[i] * coef;
            if (i < 2) P[i] *= 1.0 - lr * wd; /* index 2 is past n_decay */
            M[i] = b1 * M[i] + (1 - b1) * gi;
            V[i] = b2 * V[i] + (1 - b2) * gi * gi;
            const double mh = M[i] / (1 - pow(b1, step)), vh = V[i] / (1 - pow(b2, step));
            P[i] -= lr * mh / (sqrt(vh) + eps);
            cr_assert_float_eq(p[i], P[i], 2e-6, "step %d param %d: %.8g vs %.8g", step, i,
                               (double)p[i], P[i]);
        }
    }
    ctcd_backend_destroy(be);
}

Test(adamw, no_clipping_when_norm_is_small_or_disabled) {
    ctcd_backend *be = NULL;
    cr_assert_null(ctcd_backend_cpu_create(&be));
    float p1[1] = {1.0f}, p2[1] = {1.0f}, m1[1] = {0}, v1[1] = {0}, m2[1] = {0}, v2[1] = {0};
    const float g[1] = {0.01f};
    float ss = 1e-4f;
    ctcd_adamw_hparams h = {.lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                            .weight_decay = 0.0f, .step = 1, .max_norm = 1.0f};
    cr_assert_null(be->adamw(be, p1, NULL, g, m1, v1, 1, 1, &ss, &h));
    h.max_norm = 0.0f;
    cr_assert_null(be->adamw(be, p2, NULL, g, m2, v2, 1, 1, NULL, &h));
    cr_assert_eq(m1[0], m2[0], "moment differs: %g vs %g", (double)m1[0], (double)m2[0]);
    cr_assert_eq(p1[0], p2[0], "param differs: %g vs %g", (double)p1[0], (double)p2[0]);
    ctcd_backend_destroy(be);
}
