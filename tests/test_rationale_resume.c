/* test_rationale_resume.c — resuming a run with rationale decoders (CPU backend, the
 * hand-written e-SNLI-like fixture of esnli_fixture.h): the training state holds each
 * decoder's master weights and AdamW moments, so a pair with decoders and their token-level
 * mutual KL, stopped mid-epoch and resumed, takes bitwise the steps of an uninterrupted run
 * and ends with bitwise the same models, decoders and logs; log.jsonl reports the decoders'
 * memory and mutual KL. */
#include <signal.h>

#include "esnli_fixture.h"
#include "resume_fixture.h"

#define STEPS 10 /* 2 epochs of 40 examples in batches of 8 */

static ctcd_recipe fx_run_recipe(const char *fx, const char *out) {
    ctcd_recipe r = rationale_run_recipe(esnli_fx_recipe(fx), out);
    r.rationale.decoder.shortlist = 1; /* both decoders share it in the token-level KL */
    return r;
}

/* Host copy of decoder i's master, adam_m and adam_v (3 · n_total floats, caller frees). */
static float *download_decoder(const ctcd_trainer *t, int i) {
    const ctcd_rationale_decoder *d = ctcd_trainer_rationale_decoder(t, i);
    cr_assert_not_null(d, "slot %d has no decoder", i);
    const size_t n = (size_t)d->lay.n_total;
    float *h = malloc(3 * n * sizeof(float));
    cr_assert_null(ctcd_rationale_download_params(d, h));
    cr_assert_null(d->be->download(d->be, h + n, d->ps.adam_m, n * sizeof(float)));
    cr_assert_null(d->be->download(d->be, h + 2 * n, d->ps.adam_v, n * sizeof(float)));
    return h;
}

static void assert_same_decoder(const ctcd_trainer *t, int i, const float *a, const float *b) {
    const int64_t n = ctcd_trainer_rationale_decoder(t, i)->lay.n_total;
    static const char *const what[3] = {"master", "adam_m", "adam_v"};
    for (int k = 0; k < 3; k++)
        for (int64_t j = 0; j < n; j++)
            cr_assert(memcmp(&a[k * n + j], &b[k * n + j], sizeof(float)) == 0,
                      "decoder of %s: %s[%lld] differs: %.9g uninterrupted vs %.9g resumed",
                      ctcd_trainer_model(t, i)->name, what[k], (long long)j, (double)a[k * n + j],
                      (double)b[k * n + j]);
}

static void check_resume(int64_t K) {
    char *dir = ctcd_test_tmpdir();
    esnli_fx_write(dir, 40, 16);
    char *straight_dir = path_in(dir, "straight"), *split_dir = path_in(dir, "split");
    static step_record a, b, c;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    ctcd_eval_result ra, rc;

    ctcd_recipe r = fx_run_recipe(dir, straight_dir);
    ctcd_trainer *t = NULL;
    ctcd_status st = ctcd_trainer_create(&r, &t);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    const int64_t total = ctcd_trainer_progress(t).total_steps;
    cr_assert_eq(total, STEPS, "fixture gives %lld steps", (long long)total);
    run_recorded(t, &a, &ra);
    float *want[2] = {download_state(t, 0), download_state(t, 1)};
    float *want_dec[2] = {download_decoder(t, 0), download_decoder(t, 1)};
    ctcd_trainer_destroy(t);

    r = fx_run_recipe(dir, split_dir);
    cr_assert_null(ctcd_trainer_create(&r, &t));
    b.stop_at = K;
    run_recorded(t, &b, NULL);
    const int64_t stopped = ctcd_trainer_progress(t).step;
    cr_assert_eq(stopped, K, "stopped at step %lld, not %lld", (long long)stopped, (long long)K);
    ctcd_trainer_destroy(t);
    ctcd_interrupt_clear();

    st = ctcd_trainer_resume(split_dir, NULL, 0, &t);
    cr_assert_null(st, "resume: %s", ctcd_status_message(st));
    cr_assert_eq(ctcd_trainer_progress(t).step, K);
    run_recorded(t, &c, &rc);
    cr_assert_eq(c.first, K + 1);
    cr_assert_eq(c.last, STEPS);
    assert_same_terms(&a, &c, K + 1, STEPS); /* label losses and KL (rationale losses: log.jsonl) */
    for (int i = 0; i < 2; i++) {
        float *got_dec = download_decoder(t, i);
        assert_same_decoder(t, i, want_dec[i], got_dec);
        free(got_dec);
        free(want_dec[i]);
    }
    assert_resumed_like_straight(t, want, &ra, &rc, straight_dir, split_dir);
    char *log_path = path_in(straight_dir, "log.jsonl");
    char *log = ctcd_test_read_file(log_path);
    for (size_t k = 0; k < 2; k++) {
        static const char *const keys[] = {"\"rationale_mutual\":", "\"rationale_mem_mb\":"};
        cr_assert(log && strstr(log, keys[k]), "log.jsonl lacks %s", keys[k]);
    }
    free(log);
    free(log_path);
    ctcd_test_rmtree(dir);
    free(straight_dir);
    free(split_dir);
    free(dir);
}

Test(rationale_resume, mid_epoch_resume_is_bitwise, .timeout = 300) { check_resume(3); }

Test(rationale_resume, epoch_boundary_resume_is_bitwise, .timeout = 300) { check_resume(5); }
