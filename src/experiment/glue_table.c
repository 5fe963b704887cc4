/* glue_table.c — the GLUE-score table of runs of different tasks (include/ctcd/experiment.h):
 * rows are models ("large", "small"), columns the tasks in GLUE order with each task's score
 * from the run's eval.jsonl, and the GLUE score (ctcd_glue_score: the unweighted mean of the
 * task scores) of every row that has all tasks. */
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "ctcd/experiment.h"
#include "ctcd/glue.h"

/* GLUE order of a task (the task table's index); tasks outside GLUE sort after. */
static int task_order(const char *task) {
    const ctcd_glue_task *t = ctcd_glue_task_find(task);
    for (int i = 0; t && i < ctcd_glue_n_tasks(); i++)
        if (ctcd_glue_task_at(i) == t) return i;
    return ctcd_glue_n_tasks();
}

static int row_index(ctcd_glue_table *t, const char *name) {
    for (int r = 0; r < t->n_rows; r++)
        if (strcmp(t->row[r], name) == 0) return r;
    if (t->n_rows == CTCD_N_ROLES * 2) return -1;
    snprintf(t->row[t->n_rows], sizeof t->row[0], "%s", name);
    for (int c = 0; c < CTCD_GLUE_TABLE_MAX; c++) t->score[t->n_rows][c] = NAN;
    return t->n_rows++;
}

/* Inserts an empty column for task at its GLUE position; returns its index. */
static int insert_column(ctcd_glue_table *t, const char *task) {
    int c = 0;
    while (c < t->n_tasks && task_order(t->task[c]) <= task_order(task)) c++;
    for (int i = t->n_tasks; i > c; i--) {
        memcpy(t->task[i], t->task[i - 1], sizeof t->task[0]);
        memcpy(t->column[i], t->column[i - 1], sizeof t->column[0]);
        for (int r = 0; r < CTCD_N_ROLES * 2; r++) t->score[r][i] = t->score[r][i - 1];
    }
    snprintf(t->task[c], sizeof t->task[0], "%s", task);
    const ctcd_glue_task *g = ctcd_glue_task_find(task);
    snprintf(t->column[c], sizeof t->column[0], "%s", g ? g->dir : task);
    for (int r = 0; r < CTCD_N_ROLES * 2; r++) t->score[r][c] = NAN;
    t->n_tasks++;
    return c;
}

static ctcd_status add_run(ctcd_glue_table *t, const char *dir, int best, const char **seen) {
    char path[CTCD_PATH_MAX + 32];
    struct stat sb;
    if (stat(dir, &sb) == 0 && S_ISREG(sb.st_mode)) {
        snprintf(path, sizeof path, "%s", dir);
    } else {
        snprintf(path, sizeof path, "%s/eval.jsonl", dir);
    }
    ctcd_eval_log log;
    CTCD_TRY(ctcd_eval_log_read(path, &log));
    const ctcd_eval_point *last = &log.points[log.n - 1];
    ctcd_status st = CTCD_OK;
    for (int c = 0; c < t->n_tasks && !st; c++)
        if (strcmp(t->task[c], last->task) == 0)
            st = CTCD_ERR(CTCD_E_INVALID, "two runs of task %s: '%s' and '%s' (give one run "
                          "per task)", last->task, seen[c], dir);
    if (!st && t->n_tasks == CTCD_GLUE_TABLE_MAX)
        st = CTCD_ERR(CTCD_E_INVALID, "%s: more than %d tasks", dir, CTCD_GLUE_TABLE_MAX);
    if (st) {
        ctcd_eval_log_free(&log);
        return st;
    }
    const int c = insert_column(t, last->task);
    for (int i = t->n_tasks - 1; i > c; i--) seen[i] = seen[i - 1];
    seen[c] = dir;
    for (int m = 0; m < last->n_models; m++) {
        const char *name = last->models[m].name;
        const int r = row_index(t, name);
        if (r < 0) {
            st = CTCD_ERR(CTCD_E_INVALID, "%s: more than %d distinct models", path,
                          CTCD_N_ROLES * 2);
            break;
        }
        const int p = best ? ctcd_eval_log_best(&log, name) : log.n - 1;
        t->score[r][c] = ctcd_eval_point_model(&log.points[p], name)->score;
    }
    ctcd_eval_log_free(&log);
    return st;
}

ctcd_status ctcd_glue_table_read(const char *const *dirs, int n, int best, ctcd_glue_table *out) {
    memset(out, 0, sizeof *out);
    if (n < 1) return CTCD_ERR(CTCD_E_INVALID, "no run directories given");
    const char *seen[CTCD_GLUE_TABLE_MAX] = {0};
    for (int i = 0; i < n; i++) CTCD_TRY(add_run(out, dirs[i], best, seen));
    for (int r = 0; r < out->n_rows; r++) {
        int complete = 1;
        for (int c = 0; c < out->n_tasks; c++) complete &= !isnan(out->score[r][c]);
        out->glue[r] = complete ? ctcd_glue_score(out->score[r], out->n_tasks) : NAN;
    }
    return CTCD_OK;
}

void ctcd_glue_table_print(FILE *f, const ctcd_glue_table *t) {
    fputs("| model |", f);
    for (int c = 0; c < t->n_tasks; c++) fprintf(f, " %s |", t->column[c]);
    fputs(" GLUE |\n|---|", f);
    for (int c = 0; c <= t->n_tasks; c++) fputs("---|", f);
    fputc('\n', f);
    for (int r = 0; r < t->n_rows; r++) {
        fprintf(f, "| %s |", t->row[r]);
        for (int c = 0; c <= t->n_tasks; c++) {
            const double v = c < t->n_tasks ? t->score[r][c] : t->glue[r];
            if (isnan(v)) {
                fputs(" - |", f);
            } else {
                fprintf(f, " %.4f |", v);
            }
        }
        fputc('\n', f);
    }
}
