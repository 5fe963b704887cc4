/* experiment.c — what compare and sweep share (include/ctcd/experiment.h): the arms of a
 * comparison as recipe transformations, experiment directories, and running one recipe as
 * a normal training run with start/finish events. */
#include <math.h>
#include <string.h>

#include "ctcd/fileio.h"

#include "ctcd/experiment.h"
#include "ctcd/log.h"
#include "ctcd/resume.h"
#include "experiment_internal.h"

const char *const ctcd_arm_names[CTCD_N_ARMS] = {"large-alone", "small-alone", "kd", "ctcd"};

ctcd_status ctcd_arm_parse_list(const char *list, unsigned *mask) {
    *mask = 0;
    const char *p = list;
    for (;;) {
        const size_t n = strcspn(p, ",");
        int found = -1;
        for (int a = 0; a < CTCD_N_ARMS && found < 0; a++)
            if (strlen(ctcd_arm_names[a]) == n && strncmp(p, ctcd_arm_names[a], n) == 0)
                found = a;
        if (found < 0)
            return CTCD_ERR(CTCD_E_INVALID, "--arms: unknown arm '%.*s' (arms: large-alone, "
                            "small-alone, kd, ctcd)", (int)n, p);
        *mask |= 1u << found;
        if (!p[n]) break;
        p += n + 1;
    }
    return CTCD_OK;
}

ctcd_status ctcd_arm_recipe(const ctcd_recipe *base, ctcd_arm arm, ctcd_recipe *out) {
    const char *src = base->source[0] ? base->source : "recipe";
    if (!base->models[CTCD_LARGE].present || !base->models[CTCD_SMALL].present)
        return CTCD_ERR(CTCD_E_INVALID, "%s: arm '%s' is derived from a recipe with both "
                        "models.large and models.small; this one has only models.%s", src,
                        ctcd_arm_names[arm],
                        base->models[CTCD_LARGE].present ? "large" : "small");
    *out = *base;
    switch (arm) {
    case CTCD_ARM_LARGE_ALONE: out->models[CTCD_SMALL].present = 0; break;
    case CTCD_ARM_SMALL_ALONE: out->models[CTCD_LARGE].present = 0; break;
    case CTCD_ARM_KD:
        out->distill.small_to_large = 0.0f;
        if (out->distill.large_to_small == 0.0f) out->distill.large_to_small = 1.0f;
        break;
    case CTCD_ARM_CTCD:
        if (out->distill.small_to_large == 0.0f) out->distill.small_to_large = 1.0f;
        if (out->distill.large_to_small == 0.0f) out->distill.large_to_small = 1.0f;
        break;
    default: return CTCD_ERR(CTCD_E_INTERNAL, "arm %d out of range", (int)arm);
    }
    return CTCD_OK;
}

void ctcd_experiment_dir(const ctcd_recipe *rc, const char *out, const char *prefix, char *buf,
                         size_t cap) {
    if (out && out[0]) {
        snprintf(buf, cap, "%s", out);
        return;
    }
    if (rc->output[0]) {
        snprintf(buf, cap, "%s", rc->output);
        return;
    }
    const char *base = strrchr(rc->source, '/');
    base = base ? base + 1 : rc->source;
    size_t n = strcspn(base, ".");
    if (n == 0) {
        base = "recipe";
        n = strlen(base);
    }
    snprintf(buf, cap, "runs/%s-%.*s", prefix, (int)n, base);
}

/* 1 when rc->output holds a finished run of rc; a finished run of another recipe is
 * reported (it will be trained over). */
static int finished_run(const ctcd_recipe *rc) {
    int64_t step = 0, total = 0;
    int finished = 0;
    ctcd_status st = ctcd_train_state_progress(rc->output, &step, &total, &finished);
    if (st || !finished) {
        ctcd_status_free(st);
        return 0;
    }
    char path[CTCD_PATH_MAX + 64];
    ctcd_train_state_path(rc->output, path, sizeof path);
    st = ctcd_train_state_check_recipe(path, rc);
    if (st) {
        ctcd_warn("%s holds a finished run of another recipe; training it again: %s",
                  rc->output, ctcd_status_message(st));
        ctcd_status_free(st);
        return 0;
    }
    return 1;
}

ctcd_status ctcd_experiment_run_one(const ctcd_recipe *rc, const ctcd_run_event *start,
                                    int keep_finished, ctcd_run_cb cb, void *ctx) {
    ctcd_run_event done = *start;
    done.done = 1;
    if (keep_finished && finished_run(rc)) {
        done.kept = 1;
    } else {
        if (cb) cb(ctx, start);
        const double t0 = ctcd_now();
        ctcd_trainer *t = NULL;
        ctcd_status st = ctcd_trainer_create(rc, &t);
        ctcd_eval_result res;
        if (!st) st = ctcd_trainer_run(t, &res);
        ctcd_trainer_destroy(t);
        if (st) return ctcd_error_wrap(st, "%s seed %llu (%s)", start->label,
                                       (unsigned long long)start->seed, start->dir);
        done.seconds = ctcd_now() - t0;
    }
    if (cb) {
        char path[CTCD_PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/eval.jsonl", rc->output);
        ctcd_eval_log log;
        CTCD_TRY(ctcd_eval_log_read(path, &log));
        done.final = &log.points[log.n - 1];
        cb(ctx, &done);
        ctcd_eval_log_free(&log);
    }
    return CTCD_OK;
}

void ctcd_dir_safe(char *s) {
    for (; *s; s++)
        if (*s == '/' || *s == ' ' || *s == '\\') *s = '_';
}

ctcd_status ctcd_path_join(char *buf, size_t cap, const char *a, const char *b) {
    const int n = snprintf(buf, cap, "%s/%s", a, b);
    if (n < 0 || (size_t)n >= cap)
        return CTCD_ERR(CTCD_E_INVALID, "path '%s/%s' is longer than %zu characters", a, b,
                        cap - 1);
    return CTCD_OK;
}

ctcd_status ctcd_write_json(const char *path, cJSON *root) {
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) return CTCD_ERR(CTCD_E_NOMEM, "out of memory writing '%s'", path);
    ctcd_atomic_file af;
    ctcd_status st = ctcd_atomic_open(&af, path);
    if (!st) st = ctcd_atomic_write(&af, text, strlen(text));
    if (!st) st = ctcd_atomic_write(&af, "\n", 1);
    if (!st) {
        st = ctcd_atomic_commit(&af);
    } else {
        ctcd_atomic_abort(&af);
    }
    cJSON_free(text);
    return st;
}

void ctcd_fmt_stat(char *buf, size_t cap, ctcd_stat s, int signed_) {
    if (isnan(s.mean)) {
        snprintf(buf, cap, "-");
    } else {
        snprintf(buf, cap, signed_ ? "%+.4f ± %.4f" : "%.4f ± %.4f", s.mean, s.std);
    }
}

cJSON *ctcd_json_stat(ctcd_stat s) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "mean", s.mean);
    cJSON_AddNumberToObject(o, "std", s.std);
    cJSON_AddNumberToObject(o, "n", s.n);
    return o;
}

void ctcd_fmt_paired(char *buf, size_t cap, ctcd_paired p) {
    if (isnan(p.mean)) {
        snprintf(buf, cap, "-");
    } else if (isnan(p.lo)) {
        snprintf(buf, cap, "%+.4f ± %.4f", p.mean, p.std);
    } else {
        snprintf(buf, cap, "%+.4f ± %.4f [%+.4f, %+.4f]%s", p.mean, p.std, p.lo, p.hi,
                 ctcd_paired_excludes_zero(p) ? " *" : "");
    }
}

cJSON *ctcd_json_paired(ctcd_paired p) {
    cJSON *o = ctcd_json_stat((ctcd_stat){.mean = p.mean, .std = p.std, .n = p.n});
    if (!o) return NULL;
    if (isnan(p.lo)) {
        cJSON_AddNullToObject(o, "ci95");
    } else {
        const double ci[2] = {p.lo, p.hi};
        cJSON_AddItemToObject(o, "ci95", cJSON_CreateDoubleArray(ci, 2));
    }
    cJSON_AddBoolToObject(o, "excludes_zero", ctcd_paired_excludes_zero(p));
    return o;
}
