/* trainer_fixture.h — a small builtin:demo recipe for trainer tests (static helpers). */
#ifndef CTCD_TRAINER_FIXTURE_H
#define CTCD_TRAINER_FIXTURE_H

#include <criterion/criterion.h>
#include <string.h>

#include "ctcd/train.h"

/* Both models present, tiny sizes, a few steps, no run directory, CPU backend. */
static inline ctcd_recipe small_demo_recipe(void) {
    ctcd_recipe r;
    ctcd_recipe_defaults(&r);
    snprintf(r.task, sizeof r.task, "builtin:demo");
    r.data.max_len = 48;
    r.data.demo.train_examples = 400;
    r.data.demo.dev_examples = 100;
    ctcd_model_recipe *L = &r.models[CTCD_LARGE], *S = &r.models[CTCD_SMALL];
    L->present = S->present = 1;
    L->layers = 2; L->hidden = 32; L->heads = 2; L->intermediate = 64;
    S->layers = 1; S->hidden = 16; S->heads = 2; S->intermediate = 32;
    r.train.batch = 16;
    r.train.epochs = 1;
    r.train.max_steps = 6;
    r.train.lr[CTCD_LARGE] = 1e-3f;
    r.train.lr[CTCD_SMALL] = 2e-3f;
    r.distill.temperature = 2.0f;
    snprintf(r.train.backend, sizeof r.train.backend, "cpu");
    r.output[0] = '\0';
    return r;
}

/* Runs `steps` lockstep steps and records every loss term of each step. */
static inline void run_steps(const ctcd_recipe *r, int steps, float terms[][CTCD_LOSS_NTERMS]) {
    ctcd_trainer *t = NULL;
    ctcd_status st = ctcd_trainer_create(r, &t);
    cr_assert_null(st, "trainer: %s", ctcd_status_message(st));
    for (int s = 0; s < steps; s++) {
        const ctcd_batch *b;
        cr_assert(ctcd_trainer_next_batch(t, &b), "ran out of batches at step %d", s);
        ctcd_step_stats stats;
        st = ctcd_trainer_step(t, b, &stats);
        cr_assert_null(st, "step %d: %s", s, ctcd_status_message(st));
        memcpy(terms[s], stats.terms, sizeof stats.terms);
    }
    ctcd_trainer_destroy(t);
}

#endif
