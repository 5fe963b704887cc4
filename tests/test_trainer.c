/* test_trainer.c — the lockstep trainer: determinism, seeds, and that a pair with both
 * mutual weights at 0 trains each model exactly as if it were trained alone. */
#include "trainer_fixture.h"

#define STEPS 6

Test(trainer, same_seed_gives_identical_losses) {
    ctcd_recipe r = small_demo_recipe();
    float a[STEPS][CTCD_LOSS_NTERMS], b[STEPS][CTCD_LOSS_NTERMS];
    run_steps(&r, STEPS, a);
    run_steps(&r, STEPS, b);
    for (int s = 0; s < STEPS; s++)
        for (int k = 0; k < CTCD_LOSS_NTERMS; k++)
            cr_assert(memcmp(&a[s][k], &b[s][k], sizeof(float)) == 0,
                      "step %d term %d differs: %.9g vs %.9g", s, k, (double)a[s][k],
                      (double)b[s][k]);
}

Test(trainer, different_seeds_give_different_losses) {
    ctcd_recipe r = small_demo_recipe();
    float a[STEPS][CTCD_LOSS_NTERMS], b[STEPS][CTCD_LOSS_NTERMS];
    run_steps(&r, STEPS, a);
    r.train.seed += 1;
    run_steps(&r, STEPS, b);
    int differ = 0;
    for (int s = 0; s < STEPS; s++) differ += a[s][CTCD_TERM_TOTAL0] != b[s][CTCD_TERM_TOTAL0];
    cr_assert_geq(differ, STEPS - 1, "only %d of %d steps differ between seeds", differ, STEPS);
}

Test(trainer, zero_mutual_weights_reproduce_independent_training) {
    ctcd_recipe pair = small_demo_recipe();
    pair.distill.small_to_large = 0.0f;
    pair.distill.large_to_small = 0.0f;
    float both[STEPS][CTCD_LOSS_NTERMS], large[STEPS][CTCD_LOSS_NTERMS],
        small[STEPS][CTCD_LOSS_NTERMS];
    run_steps(&pair, STEPS, both);
    ctcd_recipe only_large = pair, only_small = pair;
    only_large.models[CTCD_SMALL].present = 0;
    only_small.models[CTCD_LARGE].present = 0;
    run_steps(&only_large, STEPS, large);
    run_steps(&only_small, STEPS, small);
    for (int s = 0; s < STEPS; s++) {
        cr_assert(memcmp(&both[s][CTCD_TERM_TOTAL0], &large[s][CTCD_TERM_TOTAL0], 4) == 0,
                  "step %d: large in pair %.9g vs alone %.9g", s,
                  (double)both[s][CTCD_TERM_TOTAL0], (double)large[s][CTCD_TERM_TOTAL0]);
        cr_assert(memcmp(&both[s][CTCD_TERM_TOTAL1], &small[s][CTCD_TERM_TOTAL0], 4) == 0,
                  "step %d: small in pair %.9g vs alone %.9g", s,
                  (double)both[s][CTCD_TERM_TOTAL1], (double)small[s][CTCD_TERM_TOTAL0]);
    }
}

Test(trainer, mutual_weights_change_training) {
    /* The counterpart of the test above: with mutual distillation on, the large model's
     * losses must depart from independent training (else the previous test proves nothing). */
    ctcd_recipe pair = small_demo_recipe();
    pair.distill.ramp_steps = 0;
    float both[STEPS][CTCD_LOSS_NTERMS], large[STEPS][CTCD_LOSS_NTERMS];
    run_steps(&pair, STEPS, both);
    ctcd_recipe only_large = pair;
    only_large.models[CTCD_SMALL].present = 0;
    run_steps(&only_large, STEPS, large);
    cr_assert_gt(both[0][CTCD_TERM_MUTUAL0], 0.0f, "mutual term of step 0 is %g",
                 (double)both[0][CTCD_TERM_MUTUAL0]);
    cr_assert_neq(both[STEPS - 1][CTCD_TERM_HARD0], large[STEPS - 1][CTCD_TERM_HARD0],
                  "hard loss of the large model unchanged by mutual distillation");
}

Test(trainer, ramp_starts_mutual_weight_at_zero) {
    ctcd_recipe r = small_demo_recipe();
    r.distill.ramp_steps = 4;
    ctcd_trainer *t = NULL;
    cr_assert_null(ctcd_trainer_create(&r, &t));
    const float expect[3] = {0.0f, 0.25f, 0.5f};
    for (int s = 0; s < 3; s++) {
        const ctcd_batch *b;
        cr_assert(ctcd_trainer_next_batch(t, &b));
        ctcd_step_stats stats;
        cr_assert_null(ctcd_trainer_step(t, b, &stats));
        cr_assert_float_eq(stats.mutual_w[0], expect[s] * r.distill.small_to_large, 1e-7,
                           "step %d mutual weight %g", s, (double)stats.mutual_w[0]);
    }
    ctcd_trainer_destroy(t);
}
