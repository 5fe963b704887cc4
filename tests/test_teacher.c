/* test_teacher.c — three-model mode: a frozen teacher (models.teacher) distilling into the
 * co-trained pair. A teacher of weight 0 changes nothing, a teacher of positive weight pulls
 * the students towards it, it is never trained, and it is reported in the run directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/train.h"
#include "testutil.h"
#include "trainer_fixture.h"

#define STEPS 6

/* Trains a one-model teacher on builtin:demo and returns its last checkpoint directory under
 * a fresh temporary directory (*tmp, removed by the caller). */
static void make_teacher(char **tmp, char *ckpt, size_t cap) {
    *tmp = ctcd_test_tmpdir();
    ctcd_recipe r = small_demo_recipe();
    r.models[CTCD_SMALL].present = 0;
    r.train.max_steps = 12;
    snprintf(r.output, sizeof r.output, "%s/teacher-run", *tmp);
    ctcd_trainer *t = NULL;
    ctcd_status st = ctcd_trainer_create(&r, &t);
    cr_assert_null(st, "teacher trainer: %s", ctcd_status_message(st));
    ctcd_eval_result res;
    st = ctcd_trainer_run(t, &res);
    cr_assert_null(st, "teacher run: %s", ctcd_status_message(st));
    ctcd_trainer_destroy(t);
    snprintf(ckpt, cap, "%s/teacher-run/large/last", *tmp);
}

static ctcd_recipe with_teacher(const char *ckpt, float w_large, float w_small) {
    ctcd_recipe r = small_demo_recipe();
    r.models[CTCD_TEACHER].present = 1;
    cr_assert_lt(strlen(ckpt), sizeof r.models[CTCD_TEACHER].init);
    memcpy(r.models[CTCD_TEACHER].init, ckpt, strlen(ckpt) + 1);
    r.distill.teacher[CTCD_LARGE] = w_large;
    r.distill.teacher[CTCD_SMALL] = w_small;
    return r;
}

Test(teacher, zero_weight_teacher_leaves_training_unchanged) {
    char *tmp, ckpt[CTCD_PATH_MAX];
    make_teacher(&tmp, ckpt, sizeof ckpt);
    float plain[STEPS][CTCD_LOSS_NTERMS], three[STEPS][CTCD_LOSS_NTERMS];
    ctcd_recipe r = small_demo_recipe();
    run_steps(&r, STEPS, plain);
    r = with_teacher(ckpt, 0.0f, 0.0f);
    run_steps(&r, STEPS, three);
    for (int s = 0; s < STEPS; s++) {
        for (int k = CTCD_TERM_HARD0; k <= CTCD_TERM_CORRECT1; k++)
            cr_assert(memcmp(&plain[s][k], &three[s][k], 4) == 0,
                      "step %d term %d: %.9g without a teacher, %.9g with a 0-weight one", s, k,
                      (double)plain[s][k], (double)three[s][k]);
        cr_assert_gt(three[s][CTCD_TERM_TEACHER0], 0.0f, "teacher term measured at step %d", s);
        cr_assert_gt(three[s][CTCD_TERM_TEACHER1], 0.0f);
    }
    ctcd_test_rmtree(tmp);
    free(tmp);
}

Test(teacher, weighted_teacher_changes_training_and_is_learned) {
    char *tmp, ckpt[CTCD_PATH_MAX];
    make_teacher(&tmp, ckpt, sizeof ckpt);
    /* Only the teacher teaches: no labels, no peer. */
    ctcd_recipe r = with_teacher(ckpt, 1.0f, 1.0f);
    r.distill.hard[CTCD_LARGE] = r.distill.hard[CTCD_SMALL] = 0.0f;
    r.distill.small_to_large = r.distill.large_to_small = 0.0f;
    r.distill.temperature = 1.0f;
    r.train.max_steps = 24;
    r.train.warmup = 0.0f;
    float t3[24][CTCD_LOSS_NTERMS];
    run_steps(&r, 24, t3);
    for (int m = 0; m < 2; m++) {
        double first = 0, last = 0;
        for (int s = 0; s < 4; s++) {
            first += t3[s][CTCD_TERM_TEACHER0 + m];
            last += t3[20 + s][CTCD_TERM_TEACHER0 + m];
        }
        cr_assert_lt(last, 0.8 * first, "model %d: KL to the teacher %g -> %g did not fall", m,
                     first / 4, last / 4);
        cr_assert_float_eq(t3[0][CTCD_TERM_TOTAL0 + m], t3[0][CTCD_TERM_TEACHER0 + m], 1e-6,
                           "the total is the teacher term alone");
    }
    /* the same recipe without the teacher has a zero loss: nothing to learn from */
    ctcd_recipe none = small_demo_recipe();
    none.distill = r.distill;
    float t2[STEPS][CTCD_LOSS_NTERMS];
    run_steps(&none, STEPS, t2);
    cr_assert_eq(t2[0][CTCD_TERM_TOTAL0], 0.0f);
    ctcd_test_rmtree(tmp);
    free(tmp);
}

Test(teacher, stays_frozen_and_is_reported_in_the_run_directory) {
    char *tmp, ckpt[CTCD_PATH_MAX];
    make_teacher(&tmp, ckpt, sizeof ckpt);
    ctcd_recipe r = with_teacher(ckpt, 0.5f, 1.0f);
    r.train.log_every = 2;
    snprintf(r.output, sizeof r.output, "%s/three", tmp);
    ctcd_trainer *t = NULL;
    ctcd_status st = ctcd_trainer_create(&r, &t);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    ctcd_model *teacher = ctcd_trainer_teacher(t);
    cr_assert_not_null(teacher);
    cr_assert_eq(ctcd_trainer_n_models(t), 2, "the teacher is not a trained slot");
    const int64_t n = teacher->lay.n_total; /* buffer length */
    float *before = malloc((size_t)n * 4), *after = malloc((size_t)n * 4);
    cr_assert_null(ctcd_model_download_params(teacher, before));
    ctcd_eval_result res;
    st = ctcd_trainer_run(t, &res);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_null(ctcd_model_download_params(teacher, after));
    cr_assert(memcmp(before, after, (size_t)n * 4) == 0, "the teacher's weights changed");
    st = ctcd_model_backward(teacher, NULL, 0);
    cr_assert_not_null(st, "backward of a frozen model must fail");
    cr_assert_not_null(strstr(ctcd_status_message(st), "frozen"), "%s", ctcd_status_message(st));
    ctcd_status_free(st);
    ctcd_trainer_destroy(t);
    free(before);
    free(after);

    char path[4200], *text = NULL;
    snprintf(path, sizeof path, "%s/three/log.jsonl", tmp);
    text = ctcd_test_read_file(path);
    cr_assert_not_null(text, "no %s", path);
    cr_assert_not_null(strstr(text, "\"teacher\":"), "log.jsonl has no teacher term: %s", text);
    cr_assert_not_null(strstr(text, "\"teacher_weight\":0.5"), "%s", text);
    cr_assert_not_null(strstr(text, "\"mem_mb\":"), "log.jsonl has no memory: %s", text);
    cr_assert_not_null(strstr(text, "\"teacher_mem_mb\":"), "%s", text);
    free(text);
    snprintf(path, sizeof path, "%s/three/summary.md", tmp);
    text = ctcd_test_read_file(path);
    cr_assert_not_null(text, "no %s", path);
    cr_assert_not_null(strstr(text, "| teacher (frozen) |"), "%s", text);
    cr_assert_not_null(strstr(text, "teacher (before training, frozen): acc "), "%s", text);
    free(text);
    snprintf(path, sizeof path, "%s/three/recipe.yaml", tmp);
    text = ctcd_test_read_file(path);
    cr_assert_not_null(strstr(text, "teacher:"), "resolved recipe lacks the teacher: %s", text);
    free(text);
    ctcd_test_rmtree(tmp);
    free(tmp);
}

Test(teacher, recipe_errors_name_the_key) {
    ctcd_recipe r = small_demo_recipe();
    r.models[CTCD_TEACHER].present = 1;
    ctcd_status st = ctcd_recipe_validate(&r);
    cr_assert_not_null(st);
    cr_assert_not_null(strstr(ctcd_status_message(st), "models.teacher needs init"), "%s",
                       ctcd_status_message(st));
    ctcd_status_free(st);
    r = with_teacher("/nonexistent/teacher", 1.0f, 1.0f);
    ctcd_trainer *t = NULL;
    st = ctcd_trainer_create(&r, &t);
    cr_assert_not_null(st);
    cr_assert_not_null(strstr(ctcd_status_message(st), "models.teacher.init"), "%s",
                       ctcd_status_message(st));
    ctcd_status_free(st);
}
