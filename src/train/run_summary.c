/* run_summary.c — <output>/summary.md: what a run was and how it ended, readable without any
 * tool (DESIGN.md section 7). Written atomically at the end of ctcd_trainer_run and when a
 * run stops on a signal, so it always describes the latest state of the run directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctcd/build_info.h"
#include "ctcd/fileio.h"
#include "train_internal.h"

#define MIB (1024.0 * 1024.0)

static void put_metrics(FILE *f, const ctcd_metric_set *m) {
    for (int k = 0; k < m->n; k++) fprintf(f, "%s%s %.4f", k ? ", " : "", m->names[k], m->values[k]);
    if (m->n > 1) fprintf(f, " (score %.4f)", m->score);
}

static void model_row(FILE *f, const char *role, const ctcd_model *m) {
    const ctcd_bert_config *c = &m->cfg;
    fprintf(f, "| %s | %d | %d | %d | %d | %.2fM | %.1f |", role, c->n_layers, c->hidden,
            c->n_heads, c->intermediate, (double)ctcd_model_n_params(m) / 1e6,
            (double)ctcd_model_mem_bytes(m) / MIB);
}

static void write_summary(FILE *f, const ctcd_trainer *t, const ctcd_eval_result *final,
                          const ctcd_run_info *info) {
    const ctcd_recipe *rc = &t->rc;
    char when[64] = "";
    const time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    fprintf(f, "# ctcd run: %s\n\n", rc->output);
    fprintf(f, "- written: %s (%s)\n", when,
            info->stop_signal ? "stopped by a signal; resume with `ctcd train --resume`"
                              : "finished");
    fprintf(f, "- recipe: `%s` (resolved copy: `recipe.yaml`)\n",
            rc->source[0] ? rc->source : "(built in code)");
    fprintf(f, "- task: %s; backend %s (%s), precision %s, seed %llu%s\n", rc->task,
            t->be->name, t->be->device_name ? t->be->device_name : "-", rc->train.precision,
            (unsigned long long)rc->train.seed, rc->train.deterministic ? ", deterministic" : "");
    char build[512];
    ctcd_build_info_line(build, sizeof build);
    fprintf(f, "- build and machine: %s\n", build);
    fprintf(f, "- steps: %lld of %lld (%lld per epoch, batch %d); this session %lld steps in "
               "%.1f s",
            (long long)t->step, (long long)t->total_steps, (long long)t->steps_per_epoch,
            rc->train.batch, (long long)info->session_steps, info->session_seconds);
    if (info->session_seconds > 0 && info->session_examples > 0)
        fprintf(f, ", %.1f examples/s", (double)info->session_examples / info->session_seconds);
    fputs("\n", f);
    fprintf(f, "- distillation: T %g, hard large %g / small %g, mutual small->large %g / "
               "large->small %g, ramp %lld steps",
            (double)rc->distill.temperature, (double)rc->distill.hard[CTCD_LARGE],
            (double)rc->distill.hard[CTCD_SMALL], (double)rc->distill.small_to_large,
            (double)rc->distill.large_to_small, (long long)rc->distill.ramp_steps);
    if (t->teacher.model)
        fprintf(f, "; teacher `%s` -> large %g / small %g", rc->models[CTCD_TEACHER].init,
                (double)rc->distill.teacher[CTCD_LARGE], (double)rc->distill.teacher[CTCD_SMALL]);
    fputs("\n\n## Models\n\n| model | layers | hidden | heads | FFN | parameters | memory MiB |"
          " best dev score |\n|---|---|---|---|---|---|---|---|\n", f);
    for (int i = 0; i < t->n_models; i++) {
        model_row(f, t->models[i]->name, t->models[i]);
        if (t->best[i] > -1e299)
            fprintf(f, " %.4f |\n", t->best[i]);
        else
            fputs(" - |\n", f);
    }
    if (t->teacher.model) {
        model_row(f, "teacher (frozen)", t->teacher.model);
        if (info->teacher_evaluated)
            fprintf(f, " %.4f |\n", info->teacher.score);
        else
            fputs(" - |\n", f);
    }
    if (final) {
        fprintf(f, "\n## Final evaluation (step %lld, %lld examples, task metric %s)\n\n",
                (long long)t->step, (long long)final->examples,
                final->task_metric ? final->task_metric : "-");
        for (int i = 0; i < t->n_models; i++) {
            fprintf(f, "- %s: ", t->models[i]->name);
            put_metrics(f, &final->m[i]);
            fputs("\n", f);
        }
        if (info->teacher_evaluated) {
            fputs("- teacher (before training, frozen): ", f);
            put_metrics(f, &info->teacher);
            fputs("\n", f);
        }
    }
    fputs("\n## Files\n\n"
          "- `log.jsonl`: one line per logged step (loss terms per model, lr, grad norm, "
          "examples/s, memory)\n"
          "- `eval.jsonl`: one line per dev evaluation\n"
          "- `<model>/best`, `<model>/last`: checkpoints in Hugging Face layout\n"
          "- `state/`: training state for `ctcd train --resume`\n",
          f);
}

ctcd_status ctcd_run_summary_write(const ctcd_trainer *t, const ctcd_eval_result *final,
                                   const ctcd_run_info *info) {
    if (!t->rc.output[0]) return CTCD_OK;
    char path[CTCD_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/summary.md", t->rc.output);
    ctcd_text_file tf;
    CTCD_TRY(ctcd_text_open(&tf, path));
    write_summary(tf.f, t, final, info);
    return ctcd_text_publish(&tf, path);
}
