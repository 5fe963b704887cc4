/* test_rationale_train.c — distilling step-by-step in the trainer (task esnli; the shared
 * data, skipped without it, or the hand-written fixture of esnli_fixture.h): the decoder's
 * loss falls, λ = 0 leaves the encoder's training bitwise unchanged, λ > 0 changes it (the
 * rationale gradient reaches the encoder), a run directory gets the decoders beside the
 * encoder checkpoints, and a pair's decoders train as each alone at rationale.mutual_kl 0
 * and are pulled together above it. */
#include <stdlib.h>
#include <sys/stat.h>

#include "esnli_fixture.h"
#include "testutil.h"
#include "trainer_fixture.h"

#define OK(expr)                                                                  \
    do {                                                                          \
        ctcd_status st_ = (expr);                                                 \
        cr_assert_null(st_, "%s: %s", #expr, ctcd_status_message(st_));           \
    } while (0)

static ctcd_recipe esnli_recipe(const char *source, float lambda) {
    if (!ctcd_test_data_dir())
        cr_skip_test("no shared data dir (../shared/data or $CTCD_DATA_DIR): e-SNLI needed");
    ctcd_recipe r;
    ctcd_recipe_defaults(&r);
    snprintf(r.task, sizeof r.task, "esnli");
    snprintf(r.data.vocab, sizeof r.data.vocab, "%.900s/vocab/bert-base-uncased-vocab.txt",
             ctcd_test_data_dir());
    snprintf(r.rationale.dir, sizeof r.rationale.dir,
             "%.900s/rationales/distilling-step-by-step/esnli", ctcd_test_data_dir());
    r.data.max_len = 48;
    r.data.max_train_examples = 96;
    r.data.max_dev_examples = 32;
    ctcd_model_recipe *L = &r.models[CTCD_LARGE];
    L->present = 1;
    L->layers = 1; L->hidden = 32; L->heads = 2; L->intermediate = 64;
    r.train.batch = 8;
    r.train.max_steps = 12;
    r.train.warmup = 0.0f;
    r.train.lr[CTCD_LARGE] = 3e-3f;
    snprintf(r.rationale.source, sizeof r.rationale.source, "%s", source);
    r.rationale.lambda = lambda;
    r.rationale.max_len = 24;
    r.rationale.decoder.layers = 1;
    snprintf(r.train.backend, sizeof r.train.backend, "cpu");
    r.output[0] = '\0';
    return r;
}

/* Runs `steps` steps; records the label terms and the rationale loss of each. */
static void run(const ctcd_recipe *r, int steps, float terms[][CTCD_LOSS_NTERMS], float *rat) {
    ctcd_trainer *t = NULL;
    OK(ctcd_trainer_create(r, &t));
    for (int s = 0; s < steps; s++) {
        const ctcd_batch *b;
        cr_assert(ctcd_trainer_next_batch(t, &b), "ran out of batches at step %d", s);
        ctcd_step_stats stats;
        OK(ctcd_trainer_step(t, b, &stats));
        memcpy(terms[s], stats.terms, sizeof stats.terms);
        rat[s] = stats.rat_loss[0];
    }
    ctcd_trainer_destroy(t);
}

Test(rationale_train, decoder_loss_falls_with_llm_rationales, .timeout = 300) {
    ctcd_recipe r = esnli_recipe("llm", 0.5f);
    r.train.lr[CTCD_LARGE] = 1e-2f;
    float terms[12][CTCD_LOSS_NTERMS], rat[12];
    run(&r, 12, terms, rat);
    cr_assert(rat[0] > 9.0f && rat[0] < 11.5f, "initial token CE %g, expected ~ln(30522)",
              (double)rat[0]);
    const float last = (rat[9] + rat[10] + rat[11]) / 3.0f;
    cr_assert_lt(last, rat[0] - 1.0f, "rationale CE did not fall: %g -> %g (last 3 steps)",
                 (double)rat[0], (double)last);
}

Test(rationale_train, lambda_zero_leaves_the_encoder_unchanged, .timeout = 300) {
    const ctcd_recipe with = esnli_recipe("human", 0.0f), without = esnli_recipe("none", 0.0f);
    float a[4][CTCD_LOSS_NTERMS], b[4][CTCD_LOSS_NTERMS], ra[4], rb[4];
    run(&with, 4, a, ra);
    run(&without, 4, b, rb);
    for (int s = 0; s < 4; s++) {
        cr_assert(a[s][CTCD_TERM_TOTAL0] == b[s][CTCD_TERM_TOTAL0],
                  "step %d: label loss %.9g with a lambda-0 decoder, %.9g without", s,
                  (double)a[s][CTCD_TERM_TOTAL0], (double)b[s][CTCD_TERM_TOTAL0]);
        cr_assert_gt(ra[s], 0.0f, "the decoder still reports its loss");
    }
}

Test(rationale_train, rationale_gradient_reaches_the_encoder, .timeout = 300) {
    const ctcd_recipe with = esnli_recipe("human", 0.5f), without = esnli_recipe("none", 0.0f);
    float a[4][CTCD_LOSS_NTERMS], b[4][CTCD_LOSS_NTERMS], ra[4], rb[4];
    run(&with, 4, a, ra);
    run(&without, 4, b, rb);
    /* step 0: same encoder, label loss weighted 1 − λ */
    cr_assert_float_eq(a[0][CTCD_TERM_TOTAL0], 0.5f * b[0][CTCD_TERM_TOTAL0], 1e-5f,
                       "step 0: %g vs 0.5 x %g", (double)a[0][CTCD_TERM_TOTAL0],
                       (double)b[0][CTCD_TERM_TOTAL0]);
    cr_assert(a[3][CTCD_TERM_HARD0] != b[3][CTCD_TERM_HARD0],
              "step 3: the label loss is unchanged by the rationale task");
}

Test(rationale_train, run_dir_holds_the_decoders, .timeout = 300) {
    ctcd_recipe r = esnli_recipe("llm", 0.5f);
    r.train.max_steps = 3;
    r.rationale.decoder.shortlist = 1; /* the saved shortlist is what explain decodes within */
    char *tmp = ctcd_test_tmpdir();
    snprintf(r.output, sizeof r.output, "%.900s/run", tmp);
    ctcd_trainer *t = NULL;
    OK(ctcd_trainer_create(&r, &t));
    ctcd_eval_result res;
    OK(ctcd_trainer_run(t, &res));
    char path[4200];
    snprintf(path, sizeof path, "%s/run/rationale/large/last/decoder.safetensors", tmp);
    ctcd_rationale_decoder *d = NULL, *trained = ctcd_trainer_rationale_decoder(t, 0);
    OK(ctcd_rationale_load(ctcd_trainer_backend(t), path, &ctcd_trainer_model(t, 0)->cfg, 2, 24,
                           48, &d));
    cr_assert_eq(d->cfg.n_layers, 1);
    cr_assert_eq(d->lay.n_total, trained->lay.n_total);
    cr_assert(d->cfg.out_vocab > 1 && d->cfg.out_vocab < d->cfg.vocab_size / 4,
              "shortlist of %d tokens", d->cfg.out_vocab);
    cr_assert(memcmp(d->out_ids, trained->out_ids, (size_t)d->cfg.out_vocab * 4) == 0);
    float *x = malloc((size_t)d->lay.n_total * 4), *y = malloc((size_t)d->lay.n_total * 4);
    OK(ctcd_rationale_download_params(d, x));
    OK(ctcd_rationale_download_params(trained, y));
    cr_assert(memcmp(x, y, (size_t)d->lay.n_total * 4) == 0, "saved decoder differs");
    free(x);
    free(y);
    ctcd_rationale_destroy(d);
    snprintf(path, sizeof path, "%s/run/log.jsonl", tmp);
    char *log = ctcd_test_read_file(path);
    cr_assert(log && strstr(log, "\"rationale_loss\""), "log.jsonl lacks rationale_loss");
    free(log);
    ctcd_trainer_destroy(t);
    /* e-SNLI is evaluated on its test split: the result and eval.jsonl say so */
    cr_assert_str_eq(res.split, "test");
    snprintf(path, sizeof path, "%s/run/eval.jsonl", tmp);
    char *ev = ctcd_test_read_file(path);
    cr_assert(ev && strstr(ev, "\"split\":\"test\""), "eval.jsonl: %s", ev ? ev : "(none)");
    free(ev);
    /* `ctcd explain` finds the decoder beside the checkpoint and prints every part. */
    char args[8300], *out = NULL;
    snprintf(args, sizeof args, "explain '%s/run/large/last' --task esnli --n 3 --backend cpu "
             "--data-dir '%s' --max-new 8", tmp, r.rationale.dir);
    const int rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "ctcd %s failed:\n%s", args, out);
    const char *want[] = {"decoder: ", "[0] [CLS] this church choir sings", "gold: neutral",
                          "predicted: ", "reference rationale: not all churches have cracks",
                          "generated rationale: ", "[2] "};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert(strstr(out, want[i]), "explain output lacks '%s':\n%s", want[i], out);
    free(out);
    ctcd_test_rmtree(tmp);
    free(tmp);
}

Test(rationale_train, llm_labels_replace_the_gold_ones) {
    ctcd_recipe r = esnli_recipe("llm", 0.5f);
    r.data.max_train_examples = 400;
    ctcd_trainer *gold = NULL, *llm = NULL;
    OK(ctcd_trainer_create(&r, &gold));
    snprintf(r.rationale.labels, sizeof r.rationale.labels, "llm");
    OK(ctcd_trainer_create(&r, &llm));
    const ctcd_dataset *g = ctcd_trainer_train_set(gold), *l = ctcd_trainer_train_set(llm);
    const ctcd_rationale_set *rats = ctcd_trainer_rationales(llm);
    cr_assert_eq(g->n, l->n);
    int64_t differ = 0, agree = 0;
    for (int64_t i = 0; i < l->n; i++) {
        const int32_t y = rats->llm_labels[i];
        cr_assert_eq(l->labels[i], y >= 0 ? y : -1, "example %lld", (long long)i);
        differ += l->labels[i] != g->labels[i];
        agree += y >= 0 && y == g->labels[i];
    }
    /* PaLM agrees with gold on about 73% of e-SNLI valid (the data README) */
    cr_assert_gt(differ, l->n / 10, "only %lld of %lld labels changed", (long long)differ,
                 (long long)l->n);
    cr_assert_gt(agree, l->n / 2);
    ctcd_step_stats stats;
    const ctcd_batch *b;
    cr_assert(ctcd_trainer_next_batch(llm, &b));
    OK(ctcd_trainer_step(llm, b, &stats));
    ctcd_trainer_destroy(gold);
    ctcd_trainer_destroy(llm);
    /* the LLM's labels need the LLM's outputs */
    r = esnli_recipe("human", 0.5f);
    snprintf(r.rationale.labels, sizeof r.rationale.labels, "llm");
    ctcd_status st = ctcd_recipe_validate(&r);
    cr_assert_not_null(st);
    cr_assert_not_null(strstr(ctcd_status_message(st), "rationale.labels llm needs"), "%s",
                       ctcd_status_message(st));
    ctcd_status_free(st);
}

/* ---- the pair's token-level mutual KL (rationale.mutual_kl), on the fixture ---- */

typedef struct pair_log {
    float terms[12][CTCD_LOSS_NTERMS];
    float rat[12][2], kl[12][2];
} pair_log;

static void run_fx(const ctcd_recipe *r, int steps, pair_log *out) {
    ctcd_trainer *t = NULL;
    OK(ctcd_trainer_create(r, &t));
    for (int s = 0; s < steps; s++) {
        const ctcd_batch *b;
        while (!ctcd_trainer_next_batch(t, &b)) {} /* epoch ends */
        ctcd_step_stats stats;
        OK(ctcd_trainer_step(t, b, &stats));
        memcpy(out->terms[s], stats.terms, sizeof stats.terms);
        memcpy(out->rat[s], stats.rat_loss, sizeof stats.rat_loss);
        memcpy(out->kl[s], stats.rat_kl, sizeof stats.rat_kl);
    }
    ctcd_trainer_destroy(t);
}

static ctcd_recipe fx_pair(const char *dir, float mutual_kl) {
    ctcd_recipe r = esnli_fx_recipe(dir);
    r.distill.small_to_large = r.distill.large_to_small = 0.0f; /* label losses independent */
    r.distill.ramp_steps = 0;
    r.rationale.mutual_kl = mutual_kl;
    return r;
}

/* Weight 0: the pair's shared token loss gives each decoder exactly its own CE gradient, so
 * each model (encoder + decoder) trains bit for bit as it does alone. */
Test(rationale_train, pair_with_mutual_kl_zero_trains_each_model_as_alone, .timeout = 300) {
    char *dir = ctcd_test_tmpdir();
    esnli_fx_write(dir, 48, 16);
    static pair_log pair, alone[2];
    const ctcd_recipe r = fx_pair(dir, 0.0f);
    run_fx(&r, 8, &pair);
    for (int role = 0; role < 2; role++) {
        ctcd_recipe one = r;
        one.models[1 - role].present = 0;
        run_fx(&one, 8, &alone[role]);
    }
    for (int s = 0; s < 8; s++)
        for (int role = 0; role < 2; role++) {
            const float got = pair.terms[s][CTCD_TERM_TOTAL0 + role];
            cr_assert(got == alone[role].terms[s][CTCD_TERM_TOTAL0],
                      "step %d, %s model: label loss %.9g in the pair, %.9g alone", s,
                      ctcd_role_names[role], (double)got,
                      (double)alone[role].terms[s][CTCD_TERM_TOTAL0]);
            cr_assert(pair.rat[s][role] == alone[role].rat[s][0],
                      "step %d, %s decoder: token CE %.9g in the pair, %.9g alone", s,
                      ctcd_role_names[role], (double)pair.rat[s][role],
                      (double)alone[role].rat[s][0]);
        }
    cr_assert_gt(pair.kl[0][0], 0.0f, "the pair reports its decoders' KL even at weight 0");
    ctcd_test_rmtree(dir);
    free(dir);
}

/* Weight > 0: the decoders' token distributions move towards each other (lower KL than at
 * weight 0 after the same steps) and the training differs from step 1 on. */
Test(rationale_train, mutual_kl_pulls_the_decoders_together, .timeout = 300) {
    char *dir = ctcd_test_tmpdir();
    esnli_fx_write(dir, 48, 16);
    static pair_log off, on;
    const ctcd_recipe r0 = fx_pair(dir, 0.0f), r1 = fx_pair(dir, 4.0f);
    run_fx(&r0, 10, &off);
    run_fx(&r1, 10, &on);
    cr_assert(off.rat[0][1] == on.rat[0][1] && off.kl[0][1] == on.kl[0][1],
              "step 0 starts from the same decoders");
    cr_assert(off.rat[1][1] != on.rat[1][1], "step 1: the mutual KL changed nothing");
    double kl_off = 0.0, kl_on = 0.0;
    for (int s = 7; s < 10; s++) {
        kl_off += off.kl[s][0] + off.kl[s][1];
        kl_on += on.kl[s][0] + on.kl[s][1];
    }
    cr_assert_lt(kl_on, 0.8 * kl_off, "token KL over steps 7-9: %g with weight 4, %g with 0",
                 kl_on, kl_off);
    ctcd_test_rmtree(dir);
    free(dir);
}

Test(rationale_train, mutual_kl_needs_a_pair_with_decoders) {
    char *dir = ctcd_test_tmpdir();
    esnli_fx_write(dir, 16, 8);
    ctcd_recipe r = fx_pair(dir, 1.0f);
    r.models[CTCD_LARGE].present = 0;
    ctcd_trainer *t = NULL;
    ctcd_status st = ctcd_trainer_create(&r, &t);
    cr_assert_not_null(st, "rationale.mutual_kl with one model was accepted");
    cr_assert_not_null(strstr(ctcd_status_message(st), "rationale.mutual_kl"), "%s",
                       ctcd_status_message(st));
    ctcd_status_free(st);
    ctcd_trainer_destroy(t);
    ctcd_test_rmtree(dir);
    free(dir);
}
