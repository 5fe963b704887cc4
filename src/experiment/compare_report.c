/* compare_report.c — the outputs of `ctcd compare` (include/ctcd/experiment.h):
 * summary.md (tables of mean ± std over seeds, deltas with 95% paired-t intervals and their
 * per-seed values, the plot), summary.json (the same numbers, plus each seed's) and curves.png (task score vs step, mean over seeds). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/experiment.h"
#include "ctcd/fileio.h"
#include "ctcd/plot.h"
#include "experiment_internal.h"

static void print_header(FILE *f, const ctcd_compare_summary *s, const char *first) {
    fprintf(f, "| %s |", first);
    for (int c = 0; c < s->n_cols; c++) fprintf(f, " %s |", s->col[c]);
    fputs("\n|---|", f);
    for (int c = 0; c < s->n_cols; c++) fputs("---|", f);
    fputc('\n', f);
}

/* The per-seed differences of the task score (the last column), one row per delta. */
static void print_per_seed(FILE *f, const ctcd_compare_summary *s) {
    const int c = s->n_cols - 1;
    fprintf(f, "\nper-seed differences of %s\n\n| delta |", s->col[c]);
    for (int k = 0; k < s->n_seeds; k++)
        fprintf(f, " seed %llu |", (unsigned long long)(s->seed0 + (uint64_t)k));
    fputs("\n|---|", f);
    for (int k = 0; k < s->n_seeds; k++) fputs("---|", f);
    fputc('\n', f);
    for (int d = 0; d < s->n_deltas; d++) {
        fprintf(f, "| %s |", s->deltas[d].label);
        for (int k = 0; k < s->n_seeds; k++) fprintf(f, " %+.4f |", s->deltas[d].per_seed[k][c]);
        fputc('\n', f);
    }
}

void ctcd_compare_print_table(FILE *f, const ctcd_compare_summary *s) {
    char buf[96];
    fprintf(f, "%s %s, last evaluation of each run, mean ± std over %d seed%s (%llu..%llu)\n\n",
            s->task, ctcd_split_name(s->split), s->n_seeds, s->n_seeds == 1 ? "" : "s", (unsigned long long)s->seed0,
            (unsigned long long)(s->seed0 + (uint64_t)s->n_seeds - 1));
    print_header(f, s, "model");
    for (int i = 0; i < s->n_series; i++) {
        fprintf(f, "| %s |", s->series[i].label);
        for (int c = 0; c < s->n_cols; c++) {
            ctcd_fmt_stat(buf, sizeof buf, s->series[i].col[c], 0);
            fprintf(f, " %s |", buf);
        }
        fputc('\n', f);
    }
    if (s->n_deltas) {
        fputs("\ndeltas, paired by seed: mean ± std of the per-seed differences [95% paired-t "
              "interval]; * = the interval excludes 0\n\n", f);
        print_header(f, s, "delta");
        for (int d = 0; d < s->n_deltas; d++) {
            fprintf(f, "| %s |", s->deltas[d].label);
            for (int c = 0; c < s->n_cols; c++) {
                ctcd_fmt_paired(buf, sizeof buf, s->deltas[d].col[c]);
                fprintf(f, " %s |", buf);
            }
            fputc('\n', f);
        }
        print_per_seed(f, s);
    }
}

static ctcd_status write_md(const ctcd_compare_summary *s, const char *path) {
    ctcd_text_file t;
    CTCD_TRY(ctcd_text_open(&t, path));
    FILE *f = t.f;
    fprintf(f, "# ctcd compare: %s\n\n", s->recipe[0] ? s->recipe : s->dir);
    fprintf(f, "Task %s, task metric %s. Four arms on identical data (same batches in the same "
               "order, same initial weights per model and seed):\n\n"
               "- **large-alone** / **small-alone**: each model trained on the labels only;\n"
               "- **KD**: online one-way KD, large -> small: both models train in lockstep, the "
               "small one also learns from the large one's predictions "
               "(distill.mutual.small_to_large = 0), so the large model (the teacher) is "
               "trained jointly and learns from the labels only;\n"
               "- **CTCD**: co-training with distillation in both directions.\n\n",
            s->task, s->task_metric);
    ctcd_compare_print_table(f, s);
    fprintf(f, "\n![%s task score vs step](curves.png)\n\n", ctcd_split_name(s->split));
    ctcd_builds_print(f, &s->builds);
    fputc('\n', f);
    fputs("Runs: `<arm>/seed<seed>/` (recipe.yaml, log.jsonl, eval.jsonl, checkpoints); "
          "numbers are fractions, std is the sample standard deviation.\n", f);
    return ctcd_text_publish(&t, path);
}

static cJSON *stats_object(const ctcd_compare_summary *s, const ctcd_stat *col) {
    cJSON *o = cJSON_CreateObject();
    for (int c = 0; o && c < s->n_cols; c++) cJSON_AddItemToObject(o, s->col[c], ctcd_json_stat(col[c]));
    return o;
}

static ctcd_status write_json(const ctcd_compare_summary *s, const char *path) {
    cJSON *root = cJSON_CreateObject(), *series = cJSON_CreateArray(), *deltas = cJSON_CreateArray();
    cJSON *cols = cJSON_CreateArray();
    if (!root || !series || !deltas || !cols) {
        cJSON_Delete(root);
        cJSON_Delete(series);
        cJSON_Delete(deltas);
        cJSON_Delete(cols);
        return CTCD_ERR(CTCD_E_NOMEM, "out of memory writing '%s'", path);
    }
    cJSON_AddStringToObject(root, "recipe", s->recipe);
    cJSON_AddStringToObject(root, "task", s->task);
    cJSON_AddStringToObject(root, "task_metric", s->task_metric);
    cJSON_AddStringToObject(root, "split", ctcd_split_name(s->split));
    cJSON_AddItemToObject(root, "builds", ctcd_builds_json(&s->builds));
    cJSON *seeds = cJSON_AddArrayToObject(root, "seeds");
    for (int k = 0; seeds && k < s->n_seeds; k++)
        cJSON_AddItemToArray(seeds, cJSON_CreateNumber((double)(s->seed0 + (uint64_t)k)));
    for (int c = 0; c < s->n_cols; c++) cJSON_AddItemToArray(cols, cJSON_CreateString(s->col[c]));
    cJSON_AddItemToObject(root, "columns", cols);
    for (int i = 0; i < s->n_series; i++) {
        const ctcd_compare_series *se = &s->series[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "label", se->label);
        cJSON_AddStringToObject(o, "arm", ctcd_arm_names[se->arm]);
        cJSON_AddStringToObject(o, "model", ctcd_role_names[se->role]);
        cJSON_AddItemToObject(o, "stats", stats_object(s, se->col));
        cJSON *per_seed = cJSON_AddArrayToObject(o, "per_seed");
        for (int k = 0; per_seed && k < s->n_seeds; k++)
            cJSON_AddItemToArray(per_seed, cJSON_CreateDoubleArray(
                                               se->final + (size_t)k * CTCD_COMPARE_MAX_COLS,
                                               s->n_cols));
        cJSON_AddItemToObject(o, "curve_steps", cJSON_CreateDoubleArray(se->steps, se->n_points));
        cJSON_AddItemToObject(o, "curve_score", cJSON_CreateDoubleArray(se->curve, se->n_points));
        cJSON_AddItemToArray(series, o);
    }
    cJSON_AddItemToObject(root, "series", series);
    for (int d = 0; d < s->n_deltas; d++) {
        cJSON *o = cJSON_CreateObject();
        const ctcd_compare_delta *de = &s->deltas[d];
        cJSON_AddStringToObject(o, "label", de->label);
        cJSON *stats = cJSON_AddObjectToObject(o, "stats");
        for (int c = 0; stats && c < s->n_cols; c++)
            cJSON_AddItemToObject(stats, s->col[c], ctcd_json_paired(de->col[c]));
        cJSON *per_seed = cJSON_AddArrayToObject(o, "per_seed");
        for (int k = 0; per_seed && k < s->n_seeds; k++)
            cJSON_AddItemToArray(per_seed, cJSON_CreateDoubleArray(de->per_seed[k], s->n_cols));
        cJSON_AddItemToArray(deltas, o);
    }
    cJSON_AddItemToObject(root, "deltas", deltas);
    return ctcd_write_json(path, root);
}

static uint32_t arm_colour(ctcd_arm a) {
    static const uint32_t c[CTCD_N_ARMS] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728};
    return c[a];
}

static ctcd_status write_png(const ctcd_compare_summary *s, const char *path) {
    ctcd_plot_series ps[CTCD_COMPARE_MAX_SERIES];
    for (int i = 0; i < s->n_series; i++) {
        const ctcd_compare_series *se = &s->series[i];
        ps[i] = (ctcd_plot_series){.label = se->label, .n = se->n_points, .x = se->steps,
                                   .y = se->curve, .rgb = arm_colour(se->arm),
                                   .dashed = se->role == CTCD_SMALL};
    }
    char title[160], ylabel[96];
    snprintf(title, sizeof title, "%s %s score vs step (mean of %d seed%s)", s->task,
             ctcd_split_name(s->split), s->n_seeds, s->n_seeds == 1 ? "" : "s");
    snprintf(ylabel, sizeof ylabel, "%s score (%s)", ctcd_split_name(s->split), s->task_metric);
    const ctcd_plot p = {.title = title, .xlabel = "step", .ylabel = ylabel,
                         .n_series = s->n_series, .series = ps};
    return ctcd_plot_write_png(&p, path);
}

ctcd_status ctcd_compare_write(const ctcd_compare_summary *s) {
    char path[CTCD_PATH_MAX + 32];
    CTCD_TRY(ctcd_path_join(path, sizeof path, s->dir, "summary.md"));
    CTCD_TRY(write_md(s, path));
    CTCD_TRY(ctcd_path_join(path, sizeof path, s->dir, "summary.json"));
    CTCD_TRY(write_json(s, path));
    CTCD_TRY(ctcd_path_join(path, sizeof path, s->dir, "curves.png"));
    return write_png(s, path);
}
