/* test_e2e.c — end to end: co-training on builtin:demo for a few hundred steps lifts both
 * models clearly above chance (50%) on the dev set. */
#include <stdio.h>

#include "trainer_fixture.h"

/* Chance is 0.5. Measured with this configuration (seed 42, Release, 2 cores):
 * large 0.726, small 0.662; the bound leaves room for BLAS kernels that round differently. */
#define E2E_MIN_ACC 0.60

Test(e2e, demo_cotraining_beats_chance_for_both_models, .timeout = 600) {
    ctcd_recipe r = small_demo_recipe();
    r.data.demo.train_examples = 6000;
    r.data.demo.dev_examples = 500;
    r.data.max_len = 64;
    ctcd_model_recipe *L = &r.models[CTCD_LARGE], *S = &r.models[CTCD_SMALL];
    L->layers = 2; L->hidden = 128; L->heads = 4; L->intermediate = 512;
    S->layers = 1; S->hidden = 64; S->heads = 2; S->intermediate = 256;
    r.train.batch = 32;
    r.train.max_steps = 500;
    r.train.lr[CTCD_LARGE] = 1e-3f;
    r.train.lr[CTCD_SMALL] = 1e-3f;
    r.distill.ramp_steps = 50;
    ctcd_trainer *t = NULL;
    ctcd_status st = ctcd_trainer_create(&r, &t);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    ctcd_eval_result res;
    st = ctcd_trainer_run(t, &res);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    fprintf(stderr, "e2e dev accuracy: large %.4f small %.4f\n", res.m[0].score, res.m[1].score);
    cr_assert_geq(res.m[0].score, E2E_MIN_ACC, "large dev accuracy %.4f < %.2f", res.m[0].score,
                  E2E_MIN_ACC);
    cr_assert_geq(res.m[1].score, E2E_MIN_ACC, "small dev accuracy %.4f < %.2f", res.m[1].score,
                  E2E_MIN_ACC);
    ctcd_trainer_destroy(t);
}
