/* runlog.c — the run directory's JSONL logs: log.jsonl (one line per logged step: every loss
 * term per model, lr, pre-clip grad norm per model, examples/s (of the whole data-parallel
 * job, and per rank) and world size, memory (optim_mb: this rank's AdamW moments, which
 * ZeRO-1 divides by the world size), whether the step was
 * skipped for a non-finite loss/gradient and how many were so far) and eval.jsonl (one line
 * per evaluation). Lines are flushed as written so that a killed run keeps everything up to
 * its last line. The first line of log.jsonl is the build record ({"ctcd":{...}}, see
 * log_header). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "ctcd/build_info.h"
#include "ctcd/dist.h"
#include "ctcd/train.h"
#include "train_internal.h"

#define MIB (1024.0 * 1024.0)

/* Memory of the whole process: the device's bytes in use on CUDA, the host's peak resident
 * set on the CPU backend (where models live in host memory). */
static void log_process_memory(ctcd_trainer *t) {
    size_t used = 0, total = 0;
    if (t->be->mem_info) {
        ctcd_status st = t->be->mem_info(t->be, &used, &total);
        if (!st) {
            fprintf(t->log, ",\"device_mem_used_mb\":%.1f,\"device_mem_total_mb\":%.1f",
                    (double)used / MIB, (double)total / MIB);
            return;
        }
        ctcd_status_free(st);
    }
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) /* ru_maxrss is in KiB on Linux */
        fprintf(t->log, ",\"host_peak_rss_mb\":%.1f", (double)ru.ru_maxrss / 1024.0);
}

/* A full disk shows at the flush at the latest: report it with the file and the reason
 * instead of losing lines silently. */
static ctcd_status flushed(ctcd_trainer *t, FILE *f, const char *name) {
    errno = 0;
    if (fflush(f) == 0 && !ferror(f)) return CTCD_OK;
    const int err = errno ? errno : EIO;
    clearerr(f);
    return CTCD_ERR(CTCD_E_IO, "%s/%s: write failed: %s", t->rc.output, name, strerror(err));
}

/* log.jsonl's first record names the ctcd that made the run: {"ctcd":{build_info.h's
 * JSON}}. Written when the file is still empty, so a resumed run (which appends) keeps the
 * original run's record, and a run resumed from before its first logged step writes it. */
static ctcd_status log_header(ctcd_trainer *t) {
    CTCD_TRY(flushed(t, t->log, "log.jsonl"));
    struct stat sb;
    if (fstat(fileno(t->log), &sb) != 0 || sb.st_size != 0) return CTCD_OK;
    char *build = ctcd_build_info_json();
    if (!build) return CTCD_ERR(CTCD_E_NOMEM, "out of memory writing log.jsonl's header");
    fprintf(t->log, "{\"ctcd\":%s}\n", build);
    free(build);
    return CTCD_OK;
}

ctcd_status ctcd_runlog_step(ctcd_trainer *t, const ctcd_step_stats *s, double examples_per_s,
                             int64_t epoch) {
    if (!t->log) return CTCD_OK;
    CTCD_TRY(log_header(t));
    /* every rank steps through the whole global batch together (the all-reduce keeps them in
     * step), so rank 0's rate over the global batch is the job's */
    const int world = t->comm ? t->comm->world : 1;
    fprintf(t->log, "{\"step\":%lld,\"epoch\":%lld,\"batch\":%d,\"seq\":%d,"
                    "\"examples_per_s\":%.2f,\"world_size\":%d,\"examples_per_s_per_rank\":%.2f",
            (long long)t->step, (long long)epoch, s->B, s->T, examples_per_s, world,
            examples_per_s / world);
    log_process_memory(t);
    fprintf(t->log, ",\"skipped\":%s,\"skipped_steps\":%lld,\"models\":{",
            s->skipped ? "true" : "false", (long long)t->skipped_steps);
    for (int i = 0; i < t->n_models; i++) {
        fprintf(t->log,
                "%s\"%s\":{\"loss\":%.7g,\"hard\":%.7g,\"mutual\":%.7g,\"mutual_weight\":%.7g,",
                i ? "," : "", t->models[i]->name, (double)s->terms[CTCD_TERM_TOTAL0 + i],
                (double)s->terms[CTCD_TERM_HARD0 + i], (double)s->terms[CTCD_TERM_MUTUAL0 + i],
                (double)s->mutual_w[i]);
        if (t->teacher.model)
            fprintf(t->log, "\"teacher\":%.7g,\"teacher_weight\":%.7g,",
                    (double)s->terms[CTCD_TERM_TEACHER0 + i],
                    (double)t->rc.distill.teacher[t->role[i]]);
        if (t->rat.dec[i])
            fprintf(t->log, "\"rationale_loss\":%.7g,\"rationale_lambda\":%.7g,",
                    (double)s->rat_loss[i], (double)t->rc.rationale.lambda);
        const ctcd_model *m = t->models[i];
        if (t->rat.dec[i] && t->rc.rationale.mutual_kl > 0.0f)
            fprintf(t->log, "\"rationale_mutual\":%.7g,", (double)s->rat_kl[i]);
        /* mem_mb: the model's device memory, its rationale decoder's included */
        const size_t dec = t->rat.dec[i] ? ctcd_rationale_mem_bytes(t->rat.dec[i]) : 0;
        if (t->rat.dec[i]) fprintf(t->log, "\"rationale_mem_mb\":%.1f,", (double)dec / MIB);
        fprintf(t->log, "\"lr\":%.7g,\"grad_norm\":%.7g,\"train_correct\":%.0f,"
                        "\"mem_mb\":%.1f,\"optim_mb\":%.3f}",
                (double)s->lr[i], (double)s->grad_norm[i],
                (double)s->terms[CTCD_TERM_CORRECT0 + i],
                (double)(ctcd_model_mem_bytes(m) + dec) / MIB,
                (double)(m->ps.opt_hi - m->ps.opt_lo) * 2 * sizeof(float) / MIB);
    }
    fputc('}', t->log);
    if (t->teacher.model)
        fprintf(t->log, ",\"teacher_mem_mb\":%.1f",
                (double)ctcd_model_mem_bytes(t->teacher.model) / MIB);
    fputs("}\n", t->log);
    return flushed(t, t->log, "log.jsonl");
}

ctcd_status ctcd_runlog_eval(ctcd_trainer *t, const ctcd_eval_result *r, int64_t epoch) {
    if (!t->evlog) return CTCD_OK;
    fprintf(t->evlog,
            "{\"step\":%lld,\"epoch\":%lld,\"task\":\"%s\",\"examples\":%lld,"
            "\"task_metric\":\"%s\",\"split\":\"%s\"",
            (long long)t->step, (long long)epoch, t->rc.task, (long long)r->examples,
            r->task_metric, ctcd_split_name(r->split));
    for (int i = 0; i < t->n_models; i++) {
        const ctcd_metric_set *m = &r->m[i];
        fprintf(t->evlog, ",\"%s\":{", t->models[i]->name);
        for (int k = 0; k < m->n; k++) fprintf(t->evlog, "\"%s\":%.6f,", m->names[k], m->values[k]);
        fprintf(t->evlog, "\"score\":%.6f}", m->score);
    }
    fputs("}\n", t->evlog);
    return flushed(t, t->evlog, "eval.jsonl");
}
