/* test_cqa_train.c — task cqa in the trainer (CPU backend): the decoder of each example
 * reads the encoder rows of its target choice (and an example without one gets no rationale
 * loss); a co-trained pair with decoders on the hand-written fixture (cqa_fixture.h) runs,
 * stops mid-epoch and resumes bitwise, saves BertForMultipleChoice checkpoints that `ctcd
 * predict` and `ctcd explain` read; on the shared CommonsenseQA data (skipped without it)
 * both the label loss and the rationale loss fall. */
#include <signal.h>
#include <stdlib.h>

#include "cqa_fixture.h"
#include "ctcd/checkpoint.h"
#include "resume_fixture.h"

#define OK(expr)                                                                  \
    do {                                                                          \
        ctcd_status st_ = (expr);                                                 \
        cr_assert_null(st_, "%s: %s", #expr, ctcd_status_message(st_));           \
    } while (0)

Test(cqa_train, decoder_reads_the_target_choice_rows) {
    char *dir = ctcd_test_tmpdir();
    cqa_fx_write(dir, 24, 8);
    ctcd_recipe r = cqa_fx_recipe(dir);
    snprintf(r.rationale.labels, sizeof r.rationale.labels, "llm"); /* some targets are -1 */
    ctcd_trainer *t = NULL;
    OK(ctcd_trainer_create(&r, &t));
    cr_assert_eq(ctcd_trainer_n_choices(t), CQA_FX_K);
    const ctcd_bert_config *cfg = &ctcd_trainer_model(t, 0)->cfg;
    cr_assert(cfg->multiple_choice && cfg->n_labels == 1);
    int none_seen = 0;
    for (int s = 0; s < 6; s++) {
        const ctcd_batch *b;
        cr_assert(ctcd_trainer_next_batch(t, &b));
        ctcd_step_stats stats;
        OK(ctcd_trainer_step(t, b, &stats));
        const ctcd_rationale_rows rr = ctcd_trainer_rationale_rows(t);
        cr_assert_eq(rr.B, ctcd_batch_examples(b));
        for (int e = 0; e < rr.B; e++) {
            const int y = b->labels[e];
            cr_assert_eq(y, cqa_fx_llm_choice((int)b->example[e]), "rationale.labels llm");
            for (int j = 0; j < b->T; j++) {
                const int32_t want = ((e * CQA_FX_K + (y >= 0 ? y : 0)) * b->T + j);
                cr_assert_eq(rr.mc_rows[e * b->T + j], want,
                             "example %d position %d reads row %d, want %d", e, j,
                             rr.mc_rows[e * b->T + j], want);
                cr_assert_eq(rr.mc_mask[e * b->T + j], b->mask[want]);
            }
            for (int j = 0; y < 0 && j < rr.T; j++)
                cr_assert_eq(rr.targets[e * rr.T + j], -1,
                             "an example without a target choice has rationale targets");
            none_seen += y < 0;
        }
        cr_assert_gt(stats.rat_loss[0], 0.0f);
    }
    cr_assert_gt(none_seen, 0, "the fixture has LLM outputs naming no choice");
    ctcd_trainer_destroy(t);
    ctcd_test_rmtree(dir);
    free(dir);
}

#define STEPS 12 /* 2 epochs of 24 examples in batches of 4 */

static ctcd_recipe fx_run_recipe(const char *fx, const char *out) {
    return rationale_run_recipe(cqa_fx_recipe(fx), out);
}

/* `ctcd ARGS` succeeds and prints every want[] (NULL-terminated). */
static void expect_cli(const char *args, const char *const *want) {
    char *out = NULL;
    const int rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "ctcd %s failed:\n%s", args, out);
    for (int i = 0; want[i]; i++)
        cr_assert(strstr(out, want[i]), "ctcd %s: output lacks '%s':\n%s", args, want[i], out);
    free(out);
}

Test(cqa_train, pair_with_decoders_resumes_bitwise_and_saves_multiple_choice, .timeout = 300) {
    char *dir = ctcd_test_tmpdir();
    cqa_fx_write(dir, 24, 8);
    char *straight_dir = path_in(dir, "straight"), *split_dir = path_in(dir, "split");
    static step_record a, c;
    memset(&a, 0, sizeof a);
    memset(&c, 0, sizeof c);
    ctcd_eval_result ra, rc;
    ctcd_recipe r = fx_run_recipe(dir, straight_dir);
    ctcd_trainer *t = NULL;
    OK(ctcd_trainer_create(&r, &t));
    const int64_t total = ctcd_trainer_progress(t).total_steps;
    cr_assert_eq(total, STEPS, "fixture gives %lld steps", (long long)total);
    run_recorded(t, &a, &ra);
    float *want[2] = {download_state(t, 0), download_state(t, 1)};
    ctcd_trainer_destroy(t);

    r = fx_run_recipe(dir, split_dir);
    OK(ctcd_trainer_create(&r, &t));
    static step_record b;
    memset(&b, 0, sizeof b);
    b.stop_at = 4;
    run_recorded(t, &b, NULL);
    cr_assert_eq(ctcd_trainer_progress(t).step, 4);
    ctcd_trainer_destroy(t);
    ctcd_interrupt_clear();
    OK(ctcd_trainer_resume(split_dir, NULL, 0, &t));
    run_recorded(t, &c, &rc);
    cr_assert_eq(c.first, 5);
    cr_assert_eq(c.last, STEPS);
    for (int64_t s = 5; s <= STEPS; s++)
        cr_assert(memcmp(a.terms[s - 1], c.terms[s - 1], sizeof a.terms[0]) == 0,
                  "step %lld: loss terms differ after the resume", (long long)s);
    for (int i = 0; i < 2; i++) {
        float *got = download_state(t, i);
        assert_same_state(t, i, want[i], got);
        free(got);
        free(want[i]);
        cr_assert(memcmp(&ra.m[i].score, &rc.m[i].score, sizeof(double)) == 0,
                  "final test accuracy of %s: %.9g vs %.9g", ctcd_trainer_model(t, i)->name,
                  ra.m[i].score, rc.m[i].score);
    }
    ctcd_trainer_destroy(t);
    assert_same_file(straight_dir, split_dir, "log.jsonl");
    assert_same_file(straight_dir, split_dir, "eval.jsonl");

    /* the checkpoint is a BertForMultipleChoice that predict and explain read */
    char path[4300], args[9000];
    snprintf(path, sizeof path, "%s/small/last", straight_dir);
    ctcd_hf_config hc;
    OK(ctcd_hf_config_read(path, &hc));
    cr_assert_str_eq(hc.architecture, "BertForMultipleChoice");
    ctcd_hf_config_free(&hc);
    snprintf(args, sizeof args, "predict '%s' --task cqa --data-dir '%s/cqa' --vocab "
             "'%s/vocab.txt' --max-len 16 --backend cpu", path, dir, dir);
    const char *pred[] = {"cqa/test (8 examples, 5 choices): acc ", NULL};
    expect_cli(args, pred);
    snprintf(args, sizeof args, "explain '%s' --task cqa --n 2 --backend cpu --data-dir '%s/cqa' "
             "--vocab '%s/vocab.txt' --max-len 16 --max-new 6", path, dir, dir);
    const char *expl[] = {"decoder: ", "[0] where would you find a swing ?", "(a) ", "(e) ",
                          "<- gold", "<- predicted", "gold: (", "reference rationale: a swing is "
                          "in a park .", "generated rationale: ", "[1] ", NULL};
    expect_cli(args, expl);
    ctcd_test_rmtree(dir);
    free(straight_dir);
    free(split_dir);
    free(dir);
}

/* One model + decoder on the first 24 CQA train examples for 45 steps (15 epochs of 3
 * batches, dropout off): the training label loss (5-way CE, ln 5 at the start) and the
 * decoder's token CE both fall (first vs last epoch). */
Test(cqa_train, label_and_rationale_losses_fall_on_shared_cqa, .timeout = 300) {
    const char *root = ctcd_test_data_dir();
    if (!root) cr_skip_test("no shared data dir (../shared/data or $CTCD_DATA_DIR): CQA needed");
    ctcd_recipe r;
    ctcd_recipe_defaults(&r);
    snprintf(r.task, sizeof r.task, "cqa");
    snprintf(r.data.vocab, sizeof r.data.vocab, "%.900s/vocab/bert-base-uncased-vocab.txt", root);
    snprintf(r.rationale.dir, sizeof r.rationale.dir,
             "%.900s/rationales/distilling-step-by-step/cqa", root);
    r.data.max_len = 32;
    r.data.max_train_examples = 24;
    r.data.max_dev_examples = 16;
    ctcd_model_recipe *L = &r.models[CTCD_LARGE];
    L->present = 1;
    L->layers = 1; L->hidden = 32; L->heads = 2; L->intermediate = 64;
    L->hidden_dropout = L->attn_dropout = 0.0f;
    r.train.batch = 8;
    r.train.warmup = 0.0f;
    r.train.lr[CTCD_LARGE] = 3e-3f;
    r.train.max_steps = 45; /* the schedule's length: lr decays to 0 at the last step */
    snprintf(r.rationale.source, sizeof r.rationale.source, "llm");
    r.rationale.lambda = 0.5f;
    r.rationale.max_len = 16;
    r.rationale.decoder.layers = 1;
    snprintf(r.train.backend, sizeof r.train.backend, "cpu");
    ctcd_trainer *t = NULL;
    OK(ctcd_trainer_create(&r, &t));
    enum { N = 45 };
    float label[N], rat[N];
    for (int s = 0; s < N; s++) {
        const ctcd_batch *b;
        while (!ctcd_trainer_next_batch(t, &b)) {} /* epoch ends */
        ctcd_step_stats stats;
        OK(ctcd_trainer_step(t, b, &stats));
        label[s] = stats.terms[CTCD_TERM_HARD0];
        rat[s] = stats.rat_loss[0];
    }
    ctcd_trainer_destroy(t);
    float l0 = 0, l1 = 0, r0 = 0, r1 = 0;
    for (int s = 0; s < 3; s++) { /* the first and the last epoch */
        l0 += label[s] / 3;
        l1 += label[N - 3 + s] / 3;
        r0 += rat[s] / 3;
        r1 += rat[N - 3 + s] / 3;
    }
    fprintf(stderr, "cqa, 45 steps: label CE %.4f -> %.4f, rationale token CE %.4f -> %.4f\n",
            (double)l0, (double)l1, (double)r0, (double)r1);
    cr_assert(l0 > 1.45f && l0 < 1.75f, "initial 5-way CE %g, expected ~ln 5", (double)l0);
    cr_assert_lt(l1, l0 - 0.2f, "label loss did not fall: %g -> %g", (double)l0, (double)l1);
    cr_assert_lt(r1, r0 - 1.0f, "rationale CE did not fall: %g -> %g", (double)r0, (double)r1);
}
