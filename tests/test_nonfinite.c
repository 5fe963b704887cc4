/* test_nonfinite.c — numerical guards of the lockstep step: a NaN/Inf loss term or
 * gradient stops training with an error naming the model and the loss term or the
 * parameter (HF name), before either model is updated; with train.skip_nonfinite the step
 * updates neither model, is counted and logged, and training continues. Faults are
 * injected through the trainer's on_backward hook (a gradient) or a poisoned parameter
 * (a loss). */
#include <math.h>

#include "ctcd/log.h"
#include "resume_fixture.h"

/* What the on_backward hook poisons: element `index` of parameter `param` of slot `slot`
 * in the gradients, while armed. */
typedef struct poison {
    int armed, slot;
    int64_t at_step;  /* only at this step (the trainer's step before it), -1 = every step */
    const char *param;
    int64_t index;
    float value;
} poison;

static void poison_grad(ctcd_trainer *t, void *ctx) {
    poison *p = ctx;
    if (!p->armed || (p->at_step >= 0 && ctcd_trainer_progress(t).step != p->at_step)) return;
    const ctcd_model *m = ctcd_trainer_model(t, p->slot);
    const ctcd_param_info *pi = ctcd_model_layout_find(&m->lay, p->param);
    cr_assert_not_null(pi, "no parameter %s", p->param);
    cr_assert_null(m->be->upload(m->be, m->ps.grads + pi->offset + p->index, &p->value,
                                 sizeof p->value));
}

static ctcd_trainer *make_trainer(int skip, poison *p) {
    ctcd_log_set_level(CTCD_LOG_ERROR);
    ctcd_recipe r = small_demo_recipe();
    r.train.skip_nonfinite = skip;
    ctcd_trainer *t = NULL;
    ctcd_status st = ctcd_trainer_create(&r, &t);
    cr_assert_null(st, "trainer: %s", ctcd_status_message(st));
    ctcd_trainer_set_on_backward(t, poison_grad, p);
    return t;
}

static ctcd_status one_step(ctcd_trainer *t, ctcd_step_stats *s) {
    const ctcd_batch *b;
    cr_assert(ctcd_trainer_next_batch(t, &b));
    return ctcd_trainer_step(t, b, s);
}

/* Asserts slots 0 and 1 hold what before[] recorded (bitwise). */
static void assert_unchanged(const ctcd_trainer *t, float *before[2]) {
    for (int i = 0; i < ctcd_trainer_n_models(t); i++) {
        float *now = download_state(t, i);
        assert_same_state(t, i, before[i], now);
        free(now);
    }
}

Test(nonfinite, nan_gradient_names_model_and_parameter_and_updates_nothing) {
    poison p = {.armed = 1, .at_step = -1, .slot = 1, .param = "bert.encoder.layer.0.attention.self.query.weight",
                .index = 5, .value = NAN};
    ctcd_trainer *t = make_trainer(0, &p);
    float *before[2] = {download_state(t, 0), download_state(t, 1)};
    ctcd_step_stats s;
    ctcd_status st = one_step(t, &s);
    cr_assert_not_null(st, "a NaN gradient was accepted");
    const char *msg = ctcd_status_message(st);
    cr_expect_eq(ctcd_status_code(st), CTCD_E_NONFINITE, "code %s", ctcd_code_name(ctcd_status_code(st)));
    cr_expect_not_null(strstr(msg, "model small"), "model not named: %s", msg);
    cr_expect_not_null(strstr(msg, "'bert.encoder.layer.0.attention.self.query.weight'"),
                       "parameter not named: %s", msg);
    cr_expect_not_null(strstr(msg, "element 5 "), "element not named: %s", msg);
    cr_expect_not_null(strstr(msg, "train.skip_nonfinite"), "no hint: %s", msg);
    ctcd_status_free(st);
    /* lockstep: the large model (slot 0, whose gradients are finite) was not updated */
    assert_unchanged(t, before);
    cr_expect_eq(ctcd_trainer_progress(t).step, 0);
    free(before[0]);
    free(before[1]);
    ctcd_trainer_destroy(t);
}

Test(nonfinite, inf_gradient_of_large_model_is_named) {
    poison p = {.armed = 1, .at_step = -1, .slot = 0, .param = "classifier.bias", .index = 1, .value = INFINITY};
    ctcd_trainer *t = make_trainer(0, &p);
    ctcd_step_stats s;
    ctcd_status st = one_step(t, &s);
    cr_assert_not_null(st);
    const char *msg = ctcd_status_message(st);
    cr_expect_not_null(strstr(msg, "model large: gradient of 'classifier.bias' is not finite "
                              "(inf at element 1 of 2)"), "message: %s", msg);
    ctcd_status_free(st);
    ctcd_trainer_destroy(t);
}

Test(nonfinite, skip_nonfinite_skips_both_updates_counts_and_continues) {
    poison p = {.armed = 1, .at_step = -1, .slot = 1, .param = "bert.embeddings.LayerNorm.weight", .index = 0,
                .value = NAN};
    ctcd_trainer *t = make_trainer(1, &p);
    float *before[2] = {download_state(t, 0), download_state(t, 1)};
    ctcd_step_stats s;
    ctcd_status st = one_step(t, &s);
    cr_assert_null(st, "skip_nonfinite still failed: %s", ctcd_status_message(st));
    cr_expect_eq(s.skipped, 1);
    const ctcd_train_progress pr = ctcd_trainer_progress(t);
    cr_expect_eq(pr.skipped_steps, 1);
    cr_expect_eq(pr.step, 1, "a skipped step still consumes its batch and counts as a step");
    cr_expect(!isfinite(s.grad_norm[1]) && isfinite(s.grad_norm[0]), "grad norms %g %g",
              (double)s.grad_norm[0], (double)s.grad_norm[1]);
    assert_unchanged(t, before);
    /* the next clean step updates both models again */
    p.armed = 0;
    st = one_step(t, &s);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_expect_eq(s.skipped, 0);
    cr_expect_eq(ctcd_trainer_progress(t).skipped_steps, 1);
    for (int i = 0; i < 2; i++) {
        float *now = download_state(t, i);
        const size_t n = (size_t)ctcd_trainer_model(t, i)->lay.n_total;
        cr_expect(memcmp(now, before[i], n * sizeof(float)) != 0,
                  "model %d not updated after the skipped step", i);
        free(now);
    }
    free(before[0]);
    free(before[1]);
    ctcd_trainer_destroy(t);
}

Test(nonfinite, poisoned_parameter_stops_on_the_loss_term) {
    poison p = {0};
    ctcd_trainer *t = make_trainer(0, &p);
    ctcd_model *m = ctcd_trainer_model(t, 0);
    const ctcd_param_info *pi = ctcd_model_layout_find(&m->lay, "classifier.bias");
    cr_assert_not_null(pi);
    float *host = malloc((size_t)m->lay.n_total * sizeof(float));
    cr_assert_null(ctcd_model_download_params(m, host));
    host[pi->offset] = NAN;
    cr_assert_null(ctcd_model_upload_params(m, host));
    free(host);
    ctcd_step_stats s;
    ctcd_status st = one_step(t, &s);
    cr_assert_not_null(st);
    const char *msg = ctcd_status_message(st);
    cr_expect_not_null(strstr(msg, "step 0: model large: loss term 'hard' is nan"),
                       "message: %s", msg);
    cr_expect_not_null(strstr(msg, "train.lr.large"), "no hint: %s", msg);
    ctcd_status_free(st);
    ctcd_trainer_destroy(t);
}

/* A run with a skipped step: log.jsonl says so and the count survives a resume. */
Test(nonfinite, skipped_steps_are_logged_and_saved, .timeout = 120) {
    char *dir = ctcd_test_tmpdir();
    poison p = {.armed = 1, .at_step = 1, .slot = 0, .param = "classifier.weight", .index = 3,
                .value = NAN};
    ctcd_log_set_level(CTCD_LOG_ERROR);
    ctcd_recipe r = small_demo_recipe();
    r.train.skip_nonfinite = 1;
    r.train.log_every = 1;
    snprintf(r.output, sizeof r.output, "%s", dir);
    ctcd_trainer *t = NULL;
    cr_assert_null(ctcd_trainer_create(&r, &t));
    ctcd_trainer_set_on_backward(t, poison_grad, &p);
    ctcd_eval_result res;
    ctcd_status st = ctcd_trainer_run(t, &res);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_expect_eq(ctcd_trainer_progress(t).skipped_steps, 1);
    ctcd_trainer_destroy(t);
    char *log = path_in(dir, "log.jsonl");
    char *text = read_log(log);
    cr_expect_not_null(strstr(text, "{\"step\":2,\"epoch\":0,\"batch\":16,\"seq\":"),
                       "log: %s", text);
    cr_expect_not_null(strstr(text, "\"skipped\":true,\"skipped_steps\":1,"), "log: %s", text);
    cr_expect_not_null(strstr(text, "\"grad_norm\":nan"), "the non-finite norm is logged: %s",
                       text);
    free(text);
    free(log);
    ctcd_trainer *u = NULL;
    const char *more[] = {"train.max_steps=8"};
    st = ctcd_trainer_resume(dir, more, 1, &u);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    const int64_t skipped = ctcd_trainer_progress(u).skipped_steps;
    cr_expect_eq(skipped, 1, "skipped_steps after resume: %lld", (long long)skipped);
    ctcd_trainer_destroy(u);
    ctcd_test_rmtree(dir);
    free(dir);
}

/* The CLI: a learning rate far too large without clipping blows the models up; the run
 * stops with exit status 1 and a message naming the model and what went non-finite. */
Test(nonfinite, cli_huge_learning_rate_fails_with_named_model, .timeout = 120) {
    char *dir = ctcd_test_tmpdir();
    char recipe[4200], args[9000];
    snprintf(recipe, sizeof recipe, "%s/r.yaml", dir);
    cr_assert_eq(ctcd_test_write_file(recipe,
        CTCD_TEST_EXTENDS("tiny-pair.yaml")
        "train: {max_steps: 20, clip: 0, warmup: 0, lr: {large: 1e30, small: 1e-3}}\n"), 0);
    snprintf(args, sizeof args, "train '%s'", recipe);
    char *out = NULL;
    int rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 1, "exit %d: %s", rc, out);
    cr_expect_not_null(strstr(out, "ctcd: error: step "), "output: %s", out);
    cr_expect_not_null(strstr(out, "model large"), "model not named: %s", out);
    free(out);
    snprintf(args, sizeof args, "train '%s' --set train.skip_nonfinite=true", recipe);
    rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "with skip_nonfinite: exit %d: %s", rc, out);
    cr_expect_not_null(strstr(out, "step skipped for every model"), "no skip warning: %s", out);
    free(out);
    ctcd_test_rmtree(dir);
    free(dir);
}
