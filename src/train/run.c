/* run.c — the training loop: epochs (or max_steps) of lockstep steps with a progress line,
 * JSONL logs, periodic dev evaluation, periodic training-state writes, and a clean stop on
 * SIGINT/SIGTERM at a step boundary (include/ctcd/resume.h). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ctcd/dist.h"
#include "ctcd/log.h"
#include "ctcd/resume.h"
#include "ctcd/train.h"
#include "train_internal.h"

static void format_eta(double seconds, char *buf, size_t cap) {
    if (seconds < 0) seconds = 0;
    long s = (long)(seconds + 0.5);
    if (s >= 3600) {
        snprintf(buf, cap, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    } else {
        snprintf(buf, cap, "%ld:%02ld", s / 60, s % 60);
    }
}

/* elapsed: seconds for the steps_done steps of this session (a resumed run starts late). */
static void progress(const ctcd_trainer *t, const ctcd_step_stats *s, double ex_per_s,
                     double elapsed, int64_t steps_done) {
    char line[512], eta[32];
    int n = snprintf(line, sizeof line, "step %lld/%lld", (long long)t->step,
                     (long long)t->total_steps);
    for (int i = 0; i < t->n_models && n > 0 && (size_t)n < sizeof line; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, " | %s loss %.4f", t->models[i]->name,
                      (double)s->terms[CTCD_TERM_TOTAL0 + i]);
    double remaining = steps_done > 0 ? elapsed / (double)steps_done *
                                            (double)(t->total_steps - t->step)
                                      : 0.0;
    format_eta(remaining, eta, sizeof eta);
    ctcd_progress("%s | %.0f ex/s | ETA %s", line, ex_per_s, eta);
}

/* Evaluates, logs, and saves each model whose task score is its best so far. */
static ctcd_status evaluate_and_log(ctcd_trainer *t, int64_t epoch, ctcd_eval_result *res) {
    CTCD_TRY(ctcd_trainer_is_mlm(t) ? ctcd_pretrainer_evaluate(t, res)
                                    : ctcd_trainer_evaluate(t, res));
    t->last_eval_step = t->step;
    for (int i = 0; i < t->n_models; i++)
        if (res->m[i].score > t->best[i]) {
            t->best[i] = res->m[i].score;
            CTCD_TRY(ctcd_trainer_save(t, i, "best"));
        }
    ctcd_progress_end();
    char line[512];
    int n = snprintf(line, sizeof line, "eval step %lld:", (long long)t->step);
    for (int i = 0; i < t->n_models; i++) {
        const ctcd_metric_set *m = &res->m[i];
        n += snprintf(line + n, sizeof line - (size_t)n, "%s %s", i ? " |" : "",
                      t->models[i]->name);
        for (int k = 0; k < m->n && (size_t)n < sizeof line; k++)
            n += snprintf(line + n, sizeof line - (size_t)n, " %s %.4f", m->names[k],
                          m->values[k]);
        if ((size_t)n >= sizeof line) break;
    }
    ctcd_info("%s", line);
    return ctcd_runlog_eval(t, res, epoch);
}

/* A requested stop, at a step boundary: the state first (what --resume needs), then the
 * last checkpoints. Signals arriving meanwhile only set the flag again. */
static ctcd_status stop_on_request(ctcd_trainer *t, int sig, ctcd_run_info *info) {
    ctcd_progress_end();
    t->stop_signal = sig;
    CTCD_TRY(ctcd_train_state_save_run(t));
    for (int i = 0; i < t->n_models; i++) CTCD_TRY(ctcd_trainer_save(t, i, "last"));
    info->stop_signal = sig;
    CTCD_TRY(ctcd_run_summary_write(t, NULL, info));
    ctcd_info("stopped at step %lld of %lld%s", (long long)t->step, (long long)t->total_steps,
              t->rc.output[0] ? "; training state saved" : " (no output directory: not saved)");
    return CTCD_OK;
}

ctcd_status ctcd_trainer_run(ctcd_trainer *t, ctcd_eval_result *final) {
    const int64_t log_every = t->rc.train.log_every, eval_every = t->rc.eval.every;
    const int64_t ckpt_every = t->rc.train.checkpoint_every, step0 = t->step;
    const double t0 = ctcd_now();
    double window_t = t0;
    int64_t window_ex = 0;
    int64_t epoch = ctcd_trainer_cursor(t).epoch;
    t->stop_signal = 0;
    ctcd_info("training %lld steps (%lld per epoch, batch %d) on %s", (long long)t->total_steps,
              (long long)t->steps_per_epoch, t->rc.train.batch, t->be->name);
    if (step0) ctcd_info("resuming at step %lld (epoch %lld, batch %lld)", (long long)step0,
                         (long long)epoch,
                         (long long)ctcd_trainer_cursor(t).batch);
    ctcd_run_info info;
    memset(&info, 0, sizeof info);
    if (t->teacher.model && !ctcd_trainer_is_mlm(t)) {
        CTCD_TRY(ctcd_trainer_evaluate_teacher(t, &info.teacher));
        info.teacher_evaluated = 1;
        ctcd_info("teacher %s: dev score %.4f (frozen)", t->rc.models[CTCD_TEACHER].init,
                  info.teacher.score);
    }
    while (t->step < t->total_steps) {
        info.session_steps = t->step - step0;
        info.session_seconds = ctcd_now() - t0;
        int sig = ctcd_interrupt_pending();
        if (t->comm && t->comm->world > 1) { /* every rank stops at the same step */
            float any = (float)sig;
            CTCD_TRY(t->comm->allreduce_sum(t->comm, NULL, &any, 1));
            if (any > 0.0f && !sig) sig = SIGTERM;
        }
        if (sig) return stop_on_request(t, sig, &info);
        const ctcd_batch *b = NULL;
        const ctcd_mlm_batch *mb = NULL;
        ctcd_range_push(t->be, "data");
        const int got = ctcd_trainer_is_mlm(t) ? ctcd_mlm_batcher_next(&t->mlm.batcher, &mb)
                                               : ctcd_batcher_next(&t->batcher, &b);
        ctcd_range_pop(t->be);
        if (mb) b = &mb->b;
        if (!got) {
            if (eval_every == 0 && t->last_eval_step != t->step)
                CTCD_TRY(evaluate_and_log(t, epoch, final));
            epoch++;
            continue;
        }
        ctcd_step_stats s;
        CTCD_TRY(mb ? ctcd_trainer_step_mlm(t, mb, &s) : ctcd_trainer_step(t, b, &s));
        if (t->on_step) t->on_step(t, &s, t->on_step_ctx);
        window_ex += ctcd_batch_examples(b);
        info.session_examples += ctcd_batch_examples(b);
        if (t->step % log_every == 0 || t->step == t->total_steps) {
            const double now = ctcd_now();
            const double ex_per_s = (double)window_ex / (now - window_t + 1e-9);
            progress(t, &s, ex_per_s, now - t0, t->step - step0);
            CTCD_TRY(ctcd_runlog_step(t, &s, ex_per_s, epoch));
            window_t = now;
            window_ex = 0;
        }
        if (eval_every > 0 && t->step % eval_every == 0) CTCD_TRY(evaluate_and_log(t, epoch, final));
        if (ckpt_every > 0 && t->step % ckpt_every == 0 && t->step < t->total_steps)
            CTCD_TRY(ctcd_train_state_save_run(t));
    }
    if (t->last_eval_step != t->step) CTCD_TRY(evaluate_and_log(t, epoch, final));
    for (int i = 0; i < t->n_models; i++) CTCD_TRY(ctcd_trainer_save(t, i, "last"));
    CTCD_TRY(ctcd_train_state_save_run(t));
    ctcd_progress_end();
    info.session_steps = t->step - step0;
    info.session_seconds = ctcd_now() - t0;
    CTCD_TRY(ctcd_run_summary_write(t, final, &info));
    ctcd_info("done: %lld steps in %.1f s", (long long)(t->step - step0), ctcd_now() - t0);
    return CTCD_OK;
}
