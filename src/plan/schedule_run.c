/* schedule_run.c — `ctcd schedule`: the MiniDisc teacher-assistant schedule end to end
 * (include/ctcd/schedule.h).
 *
 * The TA lives in an ordinary trainer built from a derived recipe (models.large = the
 * fine-tuned large model, models.teacher = the same checkpoint, frozen), so data loading,
 * batching, evaluation with the task's metrics and checkpoint labels are the trainer's own;
 * only the sandwich step is driven from here. Candidates below
 * schedule.sandwich.min_sparsity are scored on the large model's own weights (light pruning
 * needs no recovery training), the rest on the elastic TA after the sandwich training. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/importance.h"
#include "ctcd/run.h"
#include "ctcd/fileio.h"
#include "ctcd/log.h"
#include "ctcd/schedule.h"
#include "ctcd/surgery.h"
#include "ctcd/train.h"

typedef struct sched_ctx {
    const ctcd_recipe *rc;
    const char *dir;
    ctcd_schedule_result *out;
    ctcd_trainer *t;            /* slot 0: the TA; its teacher: the frozen large model */
    float *head, *ffn;          /* importance scores */
    float *orig;                /* host: the large model's parameters */
    ctcd_elastic e;
    int first_trained;          /* index of the first sparsity >= sandwich.min_sparsity */
} sched_ctx;

static ctcd_status ta_trainer(sched_ctx *s) {
    ctcd_recipe r = *s->rc;
    snprintf(r.models[CTCD_LARGE].init, sizeof r.models[CTCD_LARGE].init, "%s", s->out->teacher);
    r.models[CTCD_SMALL].present = 0;
    r.models[CTCD_TEACHER] = r.models[CTCD_LARGE];
    r.distill.teacher[CTCD_LARGE] = 1.0f;
    r.output[0] = '\0';
    CTCD_TRY(ctcd_recipe_validate(&r));
    return ctcd_trainer_create(&r, &s->t);
}

static ctcd_status evaluate_at(sched_ctx *s, int i) {
    ctcd_eval_result res;
    CTCD_TRY(ctcd_elastic_select(&s->e, i));
    CTCD_TRY(ctcd_trainer_evaluate(s->t, &res));
    s->out->rows[i].dev = res.m[0].score;
    ctcd_info("schedule: sparsity %.2f  %lld params  dev %.4f%s", (double)s->e.sparsity[i],
              (long long)s->e.params[i], res.m[0].score,
              s->out->rows[i].sandwich ? "" : "  (not sandwich-trained)");
    return CTCD_OK;
}

static ctcd_status sandwich_train(sched_ctx *s) {
    const ctcd_recipe *rc = s->rc;
    ctcd_trainer *t = s->t;
    const int64_t steps = rc->schedule.sandwich_steps;
    const int n_tr = s->e.n - s->first_trained;
    if (n_tr <= 0 || steps <= 0) return CTCD_OK;
    ctcd_rng rng;
    ctcd_rng_init(&rng, rc->schedule.seed, 0x5a4d);
    const int64_t warm = (int64_t)llround(rc->train.warmup * (double)steps);
    const float lr = rc->schedule.lr > 0 ? rc->schedule.lr : rc->train.lr[CTCD_LARGE];
    for (int64_t step = 0; step < steps; step++) {
        const ctcd_batch *b;
        if (!ctcd_trainer_next_batch(t, &b) && !ctcd_trainer_next_batch(t, &b))
            return CTCD_ERR(CTCD_E_INVALID, "schedule: the training set has no batches");
        ctcd_batch_dev db;
        CTCD_TRY(ctcd_trainer_upload_batch(t, b, &db));
        int idx[CTCD_SCHED_MAX];
        const int k = ctcd_sandwich_sample(n_tr, rc->schedule.sandwich_k, &rng, idx);
        for (int j = 0; j < k; j++) idx[j] += s->first_trained;
        const ctcd_batch_buffers *bufs = ctcd_trainer_batch_buffers(t);
        const ctcd_elastic_labels y = {bufs->labels, bufs->targets};
        double loss;
        CTCD_TRY(ctcd_elastic_loss_grad(&s->e, b, &db, &y, idx, k, step, &loss, NULL));
        if (!isfinite(loss))
            return CTCD_ERR(CTCD_E_INVALID, "schedule: sandwich step %lld: loss is not finite "
                            "(lower schedule.sandwich.lr)", (long long)step);
        const ctcd_adamw_hparams h = {
            .lr = (float)(lr * ctcd_lr_factor(step, steps, warm)),
            .beta1 = rc->train.adam_beta1, .beta2 = rc->train.adam_beta2,
            .eps = rc->train.adam_eps, .weight_decay = rc->train.weight_decay,
            .step = step + 1, .max_norm = rc->train.clip};
        float gn;
        CTCD_TRY(ctcd_model_optimizer_step(s->e.ta, &h, &gn));
        if (step == 0 || (step + 1) % (steps >= 10 ? steps / 10 : 1) == 0)
            ctcd_info("schedule: sandwich step %lld/%lld  loss %.5f  (%d sparsities)",
                      (long long)step + 1, (long long)steps, loss, k);
    }
    return CTCD_OK;
}

/* <dir>/schedule.md and <dir>/schedule.jsonl. */
static ctcd_status write_table(const sched_ctx *s) {
    const ctcd_schedule_result *o = s->out;
    char *md = NULL, *js = NULL;
    size_t md_len = 0, js_len = 0;
    FILE *f = open_memstream(&md, &md_len), *g = open_memstream(&js, &js_len);
    if (!f || !g) {
        if (f) fclose(f);
        if (g) fclose(g);
        free(md);
        free(js);
        return CTCD_ERR(CTCD_E_NOMEM, "schedule: out of memory writing the table");
    }
    fprintf(f, "# MiniDisc teacher-assistant schedule\n\n"
               "- large model: `%s` (dev %.4f)\n- λ = %g: score = dev + λ · sparsity\n"
               "- elastic TA sandwich-trained at sparsities >= %g for %lld steps (k = %d)\n\n",
            o->teacher, o->teacher_dev, (double)s->rc->schedule.lambda,
            (double)s->rc->schedule.sandwich_min, (long long)s->rc->schedule.sandwich_steps,
            s->rc->schedule.sandwich_k);
    fputs("| sparsity | parameters | dev | λ-score | sandwich | chosen |\n"
          "| ---: | ---: | ---: | ---: | :---: | :---: |\n", f);
    for (int i = 0; i < o->n; i++) {
        const ctcd_ta_row *r = &o->rows[i];
        fprintf(f, "| %.2f | %lld | %.4f | %.4f | %s | %s |\n", (double)r->sparsity,
                (long long)r->params, r->dev, r->score, r->sandwich ? "yes" : "no",
                r->chosen ? "**yes**" : "");
        fprintf(g, "{\"sparsity\": %.6g, \"params\": %lld, \"dev\": %.6g, \"score\": %.6g, "
                   "\"sandwich\": %s, \"chosen\": %s}\n",
                (double)r->sparsity, (long long)r->params, r->dev, r->score,
                r->sandwich ? "true" : "false", r->chosen ? "true" : "false");
    }
    fprintf(f, "\nChosen TA: `%s`\n", o->ta_dir);
    if (isfinite(o->student_dev))
        fprintf(f, "\nStudent (%s from the TA): best dev %.4f, run `%s/student`\n",
                s->rc->schedule.mode, o->student_dev, s->dir);
    fclose(f);
    fclose(g);
    char path[CTCD_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/schedule.md", s->dir);
    ctcd_status st = ctcd_atomic_write_file(path, md, md_len);
    snprintf(path, sizeof path, "%s/schedule.jsonl", s->dir);
    if (!st) st = ctcd_atomic_write_file(path, js, js_len);
    free(md);
    free(js);
    return st;
}

/* The chosen TA as a pruned checkpoint in <dir>/ta. */
static ctcd_status export_ta(sched_ctx *s) {
    ctcd_schedule_result *o = s->out;
    const ctcd_ta_row *r = &o->rows[o->chosen];
    ctcd_model *ta = s->e.ta;
    if (!r->sandwich) CTCD_TRY(ctcd_model_upload_params(ta, s->orig));
    ctcd_prune_spec spec = {.sparsity = r->sparsity, .norm = CTCD_SCORE_LAYER_L2};
    ctcd_prune_plan plan;
    memset(&plan, 0, sizeof plan);
    ctcd_model *pm = NULL;
    ctcd_status st = ctcd_prune_plan_make(&ta->cfg, s->head, s->ffn, &spec, &plan);
    if (!st) st = ctcd_model_prune(ta, &plan, "ta", &pm);
    if (!st) st = ctcd_trainer_export(s->t, pm, o->ta_dir); /* as the run's checkpoints */
    ctcd_model_destroy(pm);
    ctcd_prune_plan_free(&plan);
    if (!st) ctcd_info("schedule: chosen TA (sparsity %.2f) written to %s", (double)r->sparsity,
                       o->ta_dir);
    return st;
}

/* Importance, the elastic TA, its training and the scores of every candidate. */
static ctcd_status score_candidates(sched_ctx *s, const float *sp, int n) {
    const ctcd_recipe *rc = s->rc;
    ctcd_trainer *t = s->t;
    ctcd_model *ta = ctcd_trainer_model(t, 0);
    ctcd_metric_set ms;
    CTCD_TRY(ctcd_trainer_evaluate_teacher(t, &ms));
    s->out->teacher_dev = ms.score;
    s->head = malloc((size_t)ta->n_head_units * sizeof *s->head);
    s->ffn = malloc((size_t)ta->n_ffn_units * sizeof *s->ffn);
    s->orig = malloc((size_t)ta->lay.n_total * sizeof *s->orig);
    if (!s->head || !s->ffn || !s->orig)
        return CTCD_ERR(CTCD_E_NOMEM, "schedule: out of memory for the importance scores");
    const ctcd_importance_opts io = {.batch = rc->train.batch, .max_len = rc->data.max_len,
                                     .max_batches = rc->schedule.importance_batches,
                                     .seed = rc->schedule.seed};
    CTCD_TRY(ctcd_model_importance(ta, ctcd_trainer_train_set(t), &io, s->head, s->ffn));
    CTCD_TRY(ctcd_model_download_params(ta, s->orig));
    const ctcd_elastic_opts eo = {.temperature = rc->distill.temperature,
                                  .logit_w = rc->schedule.logit_w,
                                  .hidden_w = rc->schedule.hidden_w};
    CTCD_TRY(ctcd_elastic_init(&s->e, ta, ctcd_trainer_teacher(t), s->head, s->ffn, sp, n,
                               &eo));
    s->first_trained = n;
    for (int i = n - 1; i >= 0 && sp[i] >= rc->schedule.sandwich_min; i--) s->first_trained = i;
    s->out->n = n;
    for (int i = 0; i < n; i++)
        s->out->rows[i] = (ctcd_ta_row){.sparsity = sp[i], .params = s->e.params[i],
                                        .dev = NAN, .score = NAN,
                                        .sandwich = i >= s->first_trained &&
                                                    rc->schedule.sandwich_steps > 0};
    for (int i = 0; i < s->first_trained; i++) CTCD_TRY(evaluate_at(s, i));
    CTCD_TRY(sandwich_train(s));
    for (int i = s->first_trained; i < n; i++) CTCD_TRY(evaluate_at(s, i));
    s->out->chosen = ctcd_ta_choose(s->out->rows, n, rc->schedule.lambda);
    if (s->out->chosen < 0)
        return CTCD_ERR(CTCD_E_INVALID, "schedule: no candidate has a finite dev score");
    return CTCD_OK;
}

/* The student's run from the chosen TA, as schedule.mode says. */
static ctcd_status train_student(sched_ctx *s, const char *vocab) {
    const ctcd_recipe *rc = s->rc;
    if (!rc->models[CTCD_SMALL].present)
        return CTCD_ERR(CTCD_E_INVALID, "%s: schedule needs models.small (the student)",
                        rc->source[0] ? rc->source : "recipe");
    ctcd_recipe r = *rc;
    if (!strcmp(rc->schedule.mode, "kd")) {
        r.models[CTCD_TEACHER] = r.models[CTCD_LARGE];
        snprintf(r.models[CTCD_TEACHER].init, CTCD_PATH_MAX, "%s", s->out->ta_dir);
        r.models[CTCD_LARGE].present = 0;
        r.distill.teacher[CTCD_LARGE] = 0.0f;
    } else {
        snprintf(r.models[CTCD_LARGE].init, CTCD_PATH_MAX, "%s", s->out->ta_dir);
        r.models[CTCD_TEACHER].present = 0;
    }
    if (!r.data.vocab[0] && vocab[0]) snprintf(r.data.vocab, sizeof r.data.vocab, "%s", vocab);
    if (snprintf(r.output, sizeof r.output, "%s/student", s->dir) >= (int)sizeof r.output)
        return CTCD_ERR(CTCD_E_INVALID, "schedule: directory name too long: %s", s->dir);
    ctcd_info("schedule: training the student (%s) into %s", rc->schedule.mode, r.output);
    return ctcd_run_recipe_score(&r, CTCD_SMALL, "schedule", &s->out->student_dev);
}

ctcd_status ctcd_schedule_run(const ctcd_recipe *rc, const char *dir, int train_student_too,
                              ctcd_schedule_result *out) {
    memset(out, 0, sizeof *out);
    out->student_dev = NAN;
    out->chosen = -1;
    float sp[CTCD_SCHED_MAX];
    int n;
    CTCD_TRY(ctcd_sparsity_list_parse(rc->schedule.sparsities, "schedule.sparsities", sp,
                                      CTCD_SCHED_MAX, &n));
    if (!strcmp(rc->task, "mlm"))
        return CTCD_ERR(CTCD_E_INVALID, "schedule: task mlm has no dev metric to score TAs on");
    CTCD_TRY(ctcd_mkdirs(dir));
    if (snprintf(out->ta_dir, sizeof out->ta_dir, "%s/ta", dir) >= (int)sizeof out->ta_dir)
        return CTCD_ERR(CTCD_E_INVALID, "schedule: directory name too long: %s", dir);
    double tdev;
    CTCD_TRY(ctcd_ensure_teacher(rc, dir, "schedule", out->teacher, sizeof out->teacher, &tdev));
    sched_ctx s = {.rc = rc, .dir = dir, .out = out};
    char vocab[CTCD_PATH_MAX] = "";
    ctcd_status st = ta_trainer(&s);
    if (!st) st = score_candidates(&s, sp, n);
    if (!st) st = write_table(&s);
    if (!st) st = export_ta(&s);
    if (s.t) snprintf(vocab, sizeof vocab, "%s", ctcd_trainer_vocab_path(s.t));
    ctcd_elastic_free(&s.e);
    free(s.head);
    free(s.ffn);
    free(s.orig);
    ctcd_trainer_destroy(s.t);
    s.t = NULL;
    if (!st && train_student_too) st = train_student(&s, vocab);
    if (!st && train_student_too) st = write_table(&s);
    return st;
}
