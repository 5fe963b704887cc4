/* test_cuda_cqa.c — task cqa on the CUDA backend against the CPU backend (skipped without a
 * device): the multiple-choice path (B·K rows, (E, K) loss, the decoders' gathered
 * target-choice rows and their scattered gradient) is host-side layout plus existing ops,
 * so a co-trained pair with decoders on the hand-written fixture (cqa_fixture.h, dropout
 * off) must take the same steps on both: every loss term and each decoder's token CE of
 * 4 steps, and the final test accuracy, agree (fp32 tightly, bf16 loosely). */
#include "cqa_fixture.h"
#include "cuda_check.h"
#include "trainer_fixture.h"

#define STEPS 4

typedef struct cqa_run {
    float terms[STEPS][CTCD_LOSS_NTERMS];
    float rat[STEPS][2];
    ctcd_eval_result res;
} cqa_run;

static void run_on(const char *fx, const char *backend, const char *prec, cqa_run *out) {
    ctcd_recipe r = cqa_fx_recipe(fx);
    snprintf(r.train.backend, sizeof r.train.backend, "%s", backend);
    snprintf(r.train.precision, sizeof r.train.precision, "%s", prec);
    for (int i = 0; i < 2; i++) r.models[i].hidden_dropout = r.models[i].attn_dropout = 0.0f;
    r.rationale.decoder.dropout = 0.0f;
    r.rationale.mutual_kl = 0.5f;
    r.distill.ramp_steps = 0;
    ctcd_trainer *t = NULL;
    ck_ok(ctcd_trainer_create(&r, &t), backend);
    for (int s = 0; s < STEPS; s++) {
        const ctcd_batch *b;
        while (!ctcd_trainer_next_batch(t, &b)) {}
        ctcd_step_stats st;
        ck_ok(ctcd_trainer_step(t, b, &st), "step");
        memcpy(out->terms[s], st.terms, sizeof st.terms);
        memcpy(out->rat[s], st.rat_loss, sizeof st.rat_loss);
    }
    ck_ok(ctcd_trainer_evaluate(t, &out->res), "evaluate");
    ctcd_trainer_destroy(t);
}

static void run_pair(const char *prec) {
    ck_env e;
    ck_open(&e, prec); /* skips without a device */
    char *dir = ctcd_test_tmpdir();
    cqa_fx_write(dir, 24, 12);
    static cqa_run c, g;
    run_on(dir, "cpu", "fp32", &c);
    run_on(dir, "cuda", prec, &g);
    const double rtol = e.bf16 ? 5e-2 : 1e-3;
    for (int s = 0; s < STEPS; s++) {
        char what[64];
        snprintf(what, sizeof what, "step %d loss terms", s);
        ck_close_to(&e, what, g.terms[s], c.terms[s], CTCD_TERM_TOTAL1 + 1, e.bf16 ? 1e-2 : 1e-4,
                    rtol);
        snprintf(what, sizeof what, "step %d decoder token CE", s);
        ck_close_to(&e, what, g.rat[s], c.rat[s], 2, 0, rtol);
    }
    for (int i = 0; i < 2; i++)
        cr_assert(fabs(g.res.m[i].score - c.res.m[i].score) <= (e.bf16 ? 0.25 : 0.09),
                  "model %d test accuracy %.4f on CUDA, %.4f on the CPU", i, g.res.m[i].score,
                  c.res.m[i].score);
    ctcd_test_rmtree(dir);
    free(dir);
    ck_close(&e);
}
CK_BOTH(cuda_cqa, pair_with_decoders_matches_cpu, run_pair)
