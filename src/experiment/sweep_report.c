/* sweep_report.c — sweep.md and sweep.json of `ctcd sweep` (include/ctcd/experiment.h):
 * one row per grid point with its values and the task score of each model, mean ± std over
 * seeds, the best point of each model marked with '*'; then each point minus the first, paired
 * by seed, with its 95% interval. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/experiment.h"
#include "ctcd/fileio.h"
#include "experiment_internal.h"

/* The roles some point has a score for (a sweep of one model has one column per table). */
static int role_present(const ctcd_sweep_summary *s, int r) {
    for (int p = 0; p < s->n_points; p++)
        if (!isnan(s->points[p].score[r].mean)) return 1;
    return 0;
}

/* Each point minus the first, paired by seed, with the 95% interval. */
static void print_vs_first(FILE *f, const ctcd_sweep_summary *s) {
    if (s->n_points < 2) return;
    fprintf(f, "\neach point - the first, paired by seed: mean ± std of the per-seed "
               "differences [95%% paired-t interval]; * = the interval excludes 0\n\n| point |");
    for (int r = 0; r < CTCD_N_ROLES; r++)
        if (role_present(s, r)) fprintf(f, " %s |", ctcd_role_names[r]);
    fputs("\n|---|", f);
    for (int r = 0; r < CTCD_N_ROLES; r++)
        if (role_present(s, r)) fputs("---|", f);
    fputc('\n', f);
    for (int p = 1; p < s->n_points; p++) {
        fprintf(f, "| %s |", s->points[p].label);
        for (int r = 0; r < CTCD_N_ROLES; r++) {
            if (!role_present(s, r)) continue;
            char buf[96];
            ctcd_fmt_paired(buf, sizeof buf, s->points[p].vs_first[r]);
            fprintf(f, " %s |", buf);
        }
        fputc('\n', f);
    }
}

void ctcd_sweep_print_table(FILE *f, const ctcd_sweep_summary *s) {
    fprintf(f, "%s %s %s score, last evaluation of each run, mean ± std over %d seed%s "
               "(%llu..%llu); * = best mean per model\n\n",
            s->task, ctcd_split_name(s->split), s->task_metric, s->n_seeds,
            s->n_seeds == 1 ? "" : "s",
            (unsigned long long)s->seed0,
            (unsigned long long)(s->seed0 + (uint64_t)s->n_seeds - 1));
    fputs("|", f);
    for (int i = 0; i < s->grid.n_axes; i++) fprintf(f, " %s |", s->grid.axes[i].key);
    if (!s->grid.n_axes) fputs(" point |", f);
    for (int r = 0; r < CTCD_N_ROLES; r++) fprintf(f, " %s |", ctcd_role_names[r]);
    fputs("\n|", f);
    for (int i = 0; i < (s->grid.n_axes ? s->grid.n_axes : 1) + CTCD_N_ROLES; i++) fputs("---|", f);
    fputc('\n', f);
    for (int p = 0; p < s->n_points; p++) {
        const ctcd_sweep_point *pt = &s->points[p];
        fputs("|", f);
        for (int i = 0; i < s->grid.n_axes; i++)
            fprintf(f, " %s |", s->grid.axes[i].value[pt->value[i]]);
        if (!s->grid.n_axes) fprintf(f, " %s |", pt->label);
        for (int r = 0; r < CTCD_N_ROLES; r++) {
            char buf[64];
            ctcd_fmt_stat(buf, sizeof buf, pt->score[r], 0);
            fprintf(f, " %s%s |", buf, s->best[r] == p ? " *" : "");
        }
        fputc('\n', f);
    }
    print_vs_first(f, s);
}

static ctcd_status write_md(const ctcd_sweep_summary *s, const char *path) {
    ctcd_text_file t;
    CTCD_TRY(ctcd_text_open(&t, path));
    fprintf(t.f, "# ctcd sweep\n\n");
    ctcd_sweep_print_table(t.f, s);
    fputc('\n', t.f);
    ctcd_builds_print(t.f, &s->builds);
    fputs("\nRuns: `<point>/seed<seed>/` (recipe.yaml, log.jsonl, eval.jsonl, checkpoints); "
          "scores are fractions, std is the sample standard deviation.\n", t.f);
    return ctcd_text_publish(&t, path);
}

static ctcd_status write_json(const ctcd_sweep_summary *s, const char *path) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return CTCD_ERR(CTCD_E_NOMEM, "out of memory writing '%s'", path);
    cJSON_AddStringToObject(root, "task", s->task);
    cJSON_AddStringToObject(root, "task_metric", s->task_metric);
    cJSON_AddStringToObject(root, "split", ctcd_split_name(s->split));
    cJSON_AddItemToObject(root, "builds", ctcd_builds_json(&s->builds));
    cJSON *seeds = cJSON_AddArrayToObject(root, "seeds");
    for (int k = 0; seeds && k < s->n_seeds; k++)
        cJSON_AddItemToArray(seeds, cJSON_CreateNumber((double)(s->seed0 + (uint64_t)k)));
    cJSON *axes = cJSON_AddArrayToObject(root, "grid");
    for (int i = 0; axes && i < s->grid.n_axes; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "key", s->grid.axes[i].key);
        cJSON *vals = cJSON_AddArrayToObject(a, "values");
        for (int v = 0; vals && v < s->grid.axes[i].n; v++)
            cJSON_AddItemToArray(vals, cJSON_CreateString(s->grid.axes[i].value[v]));
        cJSON_AddItemToArray(axes, a);
    }
    cJSON *points = cJSON_AddArrayToObject(root, "points");
    for (int p = 0; points && p < s->n_points; p++) {
        const ctcd_sweep_point *pt = &s->points[p];
        cJSON *o = cJSON_CreateObject(), *vals = cJSON_CreateObject();
        for (int i = 0; vals && i < s->grid.n_axes; i++)
            cJSON_AddStringToObject(vals, s->grid.axes[i].key, s->grid.axes[i].value[pt->value[i]]);
        cJSON_AddItemToObject(o, "values", vals);
        cJSON_AddStringToObject(o, "dir", pt->dir_name);
        for (int r = 0; r < CTCD_N_ROLES; r++) {
            cJSON_AddItemToObject(o, ctcd_role_names[r], ctcd_json_stat(pt->score[r]));
            char key[64];
            snprintf(key, sizeof key, "%s_per_seed", ctcd_role_names[r]);
            cJSON_AddItemToObject(o, key, cJSON_CreateDoubleArray(
                                              ctcd_sweep_seed_scores(s, p, r), s->n_seeds));
            if (p == 0) continue;
            snprintf(key, sizeof key, "%s_minus_first", ctcd_role_names[r]);
            cJSON_AddItemToObject(o, key, ctcd_json_paired(pt->vs_first[r]));
        }
        cJSON_AddItemToArray(points, o);
    }
    cJSON *best = cJSON_AddObjectToObject(root, "best");
    for (int r = 0; best && r < CTCD_N_ROLES; r++)
        cJSON_AddNumberToObject(best, ctcd_role_names[r], s->best[r]);
    return ctcd_write_json(path, root);
}

ctcd_status ctcd_sweep_write(const ctcd_sweep_summary *s) {
    char path[CTCD_PATH_MAX + 32];
    CTCD_TRY(ctcd_path_join(path, sizeof path, s->dir, "sweep.md"));
    CTCD_TRY(write_md(s, path));
    CTCD_TRY(ctcd_path_join(path, sizeof path, s->dir, "sweep.json"));
    return write_json(s, path);
}
