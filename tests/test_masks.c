/* test_masks.c — head and FFN-neuron gates in the BERT graph (Michel et al. 2019): gates of
 * one leave the model bitwise unchanged, the gate gradients match finite differences, and a
 * gate of zero removes exactly that unit's contribution. */
#include <math.h>

#include "tiny_bert.h"

static float *logits_copy(const ctcd_model *m, int B) {
    const size_t n = (size_t)B * (size_t)m->cfg.n_labels;
    float *out = malloc(n * sizeof *out);
    memcpy(out, m->acts.logits, n * sizeof *out);
    return out;
}

Test(masks, all_one_gates_are_bitwise_the_unmasked_model) {
    tiny f;
    tiny_make(&f, 0.1f);
    ctcd_model *m = f.m;
    const size_t n = (size_t)m->lay.n_total;
    cr_assert_null(ctcd_model_zero_grad(m));
    const float l0 = tiny_loss(&f, m);
    float *lg0 = logits_copy(m, f.b.B);
    cr_assert_null(ctcd_model_backward(m, &f.b, 5));
    float *g0 = malloc(n * 4);
    memcpy(g0, m->ps.grads, n * 4);

    ctcd_status st = ctcd_model_masks_enable(m);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_null(ctcd_model_zero_grad(m));
    const float l1 = tiny_loss(&f, m);
    cr_assert(memcmp(lg0, m->acts.logits, (size_t)f.b.B * 3 * 4) == 0,
              "logits with all-one gates differ from the unmasked model");
    cr_assert(l0 == l1, "loss %.9g vs %.9g", (double)l0, (double)l1);
    cr_assert_null(ctcd_model_backward(m, &f.b, 5));
    for (size_t i = 0; i < n; i++)
        cr_assert(g0[i] == m->ps.grads[i], "gradient %zu: %.9g unmasked vs %.9g gated", i,
                  (double)g0[i], (double)m->ps.grads[i]);
    free(lg0);
    free(g0);
    tiny_free(&f);
}

typedef struct fd_probe {
    tiny *f;
    float *host;   /* gates being perturbed (host copy) */
    int is_head;
} fd_probe;

static double gated_loss(fd_probe *p) {
    ctcd_model *m = p->f->m;
    cr_assert_null(ctcd_model_masks_set(m, p->is_head ? p->host : NULL,
                                        p->is_head ? NULL : p->host));
    return tiny_loss(p->f, m);
}

static void check_gate_gradients(int is_head) {
    tiny f;
    tiny_make(&f, 0.1f);
    ctcd_model *m = f.m;
    cr_assert_null(ctcd_model_masks_enable(m));
    const int64_t n = is_head ? m->n_head_units : m->n_ffn_units;
    float *gates = malloc((size_t)n * 4), *grad = malloc((size_t)n * 4);
    ctcd_test_fill_uniform(gates, n, 0.3f, 1.3f, is_head ? 3 : 4);
    gates[1] = 0.0f; /* a pruned unit still gets its importance gradient */
    fd_probe p = {&f, gates, is_head};
    (void)gated_loss(&p);
    cr_assert_null(ctcd_model_zero_grad(m));
    cr_assert_null(ctcd_model_masks_zero_grad(m));
    cr_assert_null(ctcd_model_backward(m, &f.b, 5));
    cr_assert_null(ctcd_model_masks_get_grad(m, is_head ? grad : NULL, is_head ? NULL : grad));
    int nonzero = 0;
    for (int64_t i = 0; i < n; i++) {
        const float x0 = gates[i], h = 1e-2f;
        gates[i] = x0 + h;
        const double lp = gated_loss(&p);
        gates[i] = x0 - h;
        const double lm = gated_loss(&p);
        gates[i] = x0;
        const double num = (lp - lm) / (2.0 * h), ana = grad[i];
        const double tol = 3e-2 * fmax(fabs(num), fabs(ana)) + 3e-4;
        cr_expect_leq(fabs(num - ana), tol, "%s gate %lld: analytic %.6g vs numeric %.6g",
                      is_head ? "head" : "FFN", (long long)i, ana, num);
        nonzero += fabs(ana) > 1e-3;
    }
    cr_assert_gt(nonzero, n / 2, "too few non-trivial gate gradients (%d of %lld)", nonzero,
                 (long long)n);
    free(gates);
    free(grad);
    tiny_free(&f);
}

Test(masks, head_gate_gradients_match_finite_differences) { check_gate_gradients(1); }
Test(masks, ffn_gate_gradients_match_finite_differences) { check_gate_gradients(0); }

Test(masks, parameter_gradients_with_gates_match_finite_differences) {
    tiny f;
    tiny_make(&f, 0.1f);
    ctcd_model *m = f.m;
    cr_assert_null(ctcd_model_masks_enable(m));
    float *hg = malloc((size_t)m->n_head_units * 4), *fg = malloc((size_t)m->n_ffn_units * 4);
    ctcd_test_fill_uniform(hg, m->n_head_units, 0.3f, 1.3f, 5);
    ctcd_test_fill_uniform(fg, m->n_ffn_units, 0.3f, 1.3f, 6);
    hg[0] = fg[2] = 0.0f;
    cr_assert_null(ctcd_model_masks_set(m, hg, fg));
    cr_assert_null(ctcd_model_zero_grad(m));
    (void)tiny_loss(&f, m);
    cr_assert_null(ctcd_model_backward(m, &f.b, 5));
    float *g = malloc((size_t)m->lay.n_total * 4);
    memcpy(g, m->ps.grads, (size_t)m->lay.n_total * 4);
    ctcd_rng r;
    ctcd_rng_init(&r, 8, 8);
    for (int p = 0; p < m->lay.n_params; p++) {
        const ctcd_param_info *pi = &m->lay.params[p];
        for (int k = 0; k < 2; k++) {
            const int64_t j = pi->offset + (int64_t)ctcd_rng_below(&r, (uint32_t)pi->numel);
            if (j >= m->lay.wte && j < m->lay.wte + m->cfg.hidden) continue; /* pad row */
            float *x = &m->ps.master[j];
            const float x0 = *x, h = 1e-2f;
            *x = x0 + h;
            const double lp = tiny_loss(&f, m);
            *x = x0 - h;
            const double lm = tiny_loss(&f, m);
            *x = x0;
            const double num = (lp - lm) / (2.0 * h), ana = g[j];
            cr_expect_leq(fabs(num - ana), 5e-2 * fmax(fabs(num), fabs(ana)) + 3e-4,
                          "%s[%lld]: analytic %.6g vs numeric %.6g", pi->name,
                          (long long)(j - pi->offset), ana, num);
        }
    }
    free(g);
    free(hg);
    free(fg);
    tiny_free(&f);
}

Test(masks, set_without_enable_is_an_error_and_disable_restores_the_plain_graph) {
    tiny f;
    tiny_make(&f, 0.0f);
    float one = 1.0f;
    ctcd_status st = ctcd_model_masks_set(f.m, &one, NULL);
    cr_assert_not_null(st, "setting gates without enabling masks succeeded");
    cr_assert(strstr(ctcd_status_message(st), "not enabled"), "%s", ctcd_status_message(st));
    ctcd_status_free(st);
    cr_assert_null(ctcd_model_masks_enable(f.m));
    cr_assert_eq(f.m->n_head_units, 3 + 2 + 3);
    cr_assert_eq(f.m->n_ffn_units, 10 + 10 + 7);
    ctcd_model_masks_disable(f.m);
    cr_assert_null(f.m->masks);
    (void)tiny_loss(&f, f.m);
    tiny_free(&f);
}
