/* compare.c — `ctcd compare`: the four arms of the CTCD paper (large alone, small alone,
 * online one-way KD, CTCD) x seeds as ordinary runs, and their summary built back from the
 * runs' eval.jsonl (include/ctcd/experiment.h). Reports are in compare_report.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/experiment.h"
#include "ctcd/fileio.h"
#include "experiment_internal.h"

ctcd_status ctcd_compare_run_dir(const char *dir, ctcd_arm arm, uint64_t seed, char *buf,
                                 size_t cap) {
    const int n = snprintf(buf, cap, "%s/%s/seed%llu", dir, ctcd_arm_names[arm],
                           (unsigned long long)seed);
    if (n < 0 || (size_t)n >= cap)
        return CTCD_ERR(CTCD_E_INVALID, "run directory '%s/%s/seed%llu' is too long", dir,
                        ctcd_arm_names[arm], (unsigned long long)seed);
    return CTCD_OK;
}

/* The series of the summary, in table order; each belongs to an arm and a model role. */
static const struct {
    ctcd_arm arm;
    int role;
    const char *label;
} SERIES[CTCD_COMPARE_MAX_SERIES] = {
    {CTCD_ARM_LARGE_ALONE, CTCD_LARGE, "large-alone"},
    {CTCD_ARM_SMALL_ALONE, CTCD_SMALL, "small-alone"},
    {CTCD_ARM_KD, CTCD_SMALL, "KD-small"},
    {CTCD_ARM_KD, CTCD_LARGE, "KD-large"},
    {CTCD_ARM_CTCD, CTCD_LARGE, "CTCD-large"},
    {CTCD_ARM_CTCD, CTCD_SMALL, "CTCD-small"},
};

/* Deltas: the three the CTCD paper reports, then KD's gain and CTCD's gain over KD, then
 * the gap co-training has to close (how much the large model alone beats the small one:
 * without a gap there is nothing to teach). */
static const char *const DELTAS[CTCD_COMPARE_MAX_DELTAS][2] = {
    {"CTCD-small", "large-alone"}, {"CTCD-large", "large-alone"},
    {"CTCD-small", "small-alone"}, {"KD-small", "small-alone"},
    {"CTCD-small", "KD-small"},    {"large-alone", "small-alone"},
};

static int popcount(unsigned x) {
    int n = 0;
    for (; x; x &= x - 1) n++;
    return n;
}

ctcd_status ctcd_compare_run(const ctcd_recipe *rc, const ctcd_compare_opts *o,
                             ctcd_compare_summary *out) {
    memset(out, 0, sizeof *out);
    const unsigned arms = o->arms ? o->arms : (1u << CTCD_N_ARMS) - 1;
    if (o->n_seeds < 1 || o->n_seeds > CTCD_MAX_SEEDS)
        return CTCD_ERR(CTCD_E_INVALID, "--seeds must be in 1..%d (got %d)", CTCD_MAX_SEEDS,
                        o->n_seeds);
    char dir[CTCD_PATH_MAX];
    ctcd_experiment_dir(rc, o->out_dir, "compare", dir, sizeof dir);
    CTCD_TRY(ctcd_mkdirs(dir));
    const int total = popcount(arms) * o->n_seeds;
    int index = 0;
    for (int a = 0; a < CTCD_N_ARMS; a++) {
        if (!(arms & (1u << a))) continue;
        ctcd_recipe arm_rc;
        CTCD_TRY(ctcd_arm_recipe(rc, (ctcd_arm)a, &arm_rc));
        for (int k = 0; k < o->n_seeds; k++) {
            ctcd_recipe run = arm_rc;
            run.train.seed = rc->train.seed + (uint64_t)k;
            CTCD_TRY(ctcd_compare_run_dir(dir, (ctcd_arm)a, run.train.seed, run.output,
                                          sizeof run.output));
            const ctcd_run_event ev = {.index = ++index, .total = total,
                                       .label = ctcd_arm_names[a], .seed = run.train.seed,
                                       .dir = run.output};
            CTCD_TRY(ctcd_experiment_run_one(&run, &ev, o->keep_finished, o->on_run, o->ctx));
        }
    }
    if (o->runs_only) {
        snprintf(out->dir, sizeof out->dir, "%s", dir);
        return CTCD_OK;
    }
    CTCD_TRY(ctcd_compare_summarize(dir, arms, rc->train.seed, o->n_seeds, out));
    snprintf(out->recipe, sizeof out->recipe, "%s", rc->source);
    return ctcd_compare_write(out);
}

/* Columns of the summary from a model entry: its metrics, then "score" when there are two
 * or more (with one metric the score is that metric). */
static void set_columns(ctcd_compare_summary *s, const ctcd_eval_model *m) {
    s->n_cols = 0;
    for (int k = 0; k < m->n; k++) snprintf(s->col[s->n_cols++], CTCD_METRIC_NAME_MAX, "%s", m->metric[k]);
    if (m->n != 1) snprintf(s->col[s->n_cols++], CTCD_METRIC_NAME_MAX, "score");
}

/* The value of column c of a model entry; NAN when the entry lacks it. */
static double column_value(const ctcd_eval_model *m, const char *col) {
    if (strcmp(col, "score") == 0) return m->score;
    for (int k = 0; k < m->n; k++)
        if (strcmp(m->metric[k], col) == 0) return m->value[k];
    return NAN;
}

/* Fills series si from its seeds' logs (logs[k] is seed k's eval.jsonl of the series' arm). */
static ctcd_status fill_series(ctcd_compare_summary *s, int si, const ctcd_eval_log *logs,
                               const char *const *paths) {
    ctcd_compare_series *se = &s->series[si];
    const char *model = ctcd_role_names[se->role];
    const int n = s->n_seeds;
    se->final = calloc((size_t)n * CTCD_COMPARE_MAX_COLS, sizeof *se->final);
    if (!se->final) return CTCD_ERR(CTCD_E_NOMEM, "out of memory summarising %s", s->dir);
    se->n_points = -1;
    for (int k = 0; k < n; k++) {
        const ctcd_eval_log *log = &logs[k];
        const ctcd_eval_model *m = ctcd_eval_point_model(&log->points[log->n - 1], model);
        if (!m)
            return CTCD_ERR(CTCD_E_PARSE, "%s: last evaluation has no model '%s'", paths[k],
                            model);
        if (!s->n_cols) set_columns(s, m);
        for (int c = 0; c < s->n_cols; c++) {
            const double v = column_value(m, s->col[c]);
            if (isnan(v))
                return CTCD_ERR(CTCD_E_PARSE, "%s: model '%s' has no metric '%s' (other runs "
                                "of this comparison have it)", paths[k], model, s->col[c]);
            se->final[(size_t)k * CTCD_COMPARE_MAX_COLS + (size_t)c] = v;
        }
        if (se->n_points < 0 || log->n < se->n_points) se->n_points = log->n;
    }
    double vals[CTCD_MAX_SEEDS];
    for (int c = 0; c < s->n_cols; c++) {
        for (int k = 0; k < n; k++) vals[k] = se->final[(size_t)k * CTCD_COMPARE_MAX_COLS + (size_t)c];
        se->col[c] = ctcd_stat_of(vals, n);
    }
    se->steps = malloc((size_t)se->n_points * sizeof *se->steps);
    se->curve = malloc((size_t)se->n_points * sizeof *se->curve);
    ctcd_status st = CTCD_OK;
    if (!se->steps || !se->curve) st = CTCD_ERR(CTCD_E_NOMEM, "out of memory summarising %s", s->dir);
    for (int i = 0; !st && i < se->n_points; i++) {
        se->steps[i] = (double)logs[0].points[i].step;
        for (int k = 0; k < n; k++) {
            const ctcd_eval_model *m = ctcd_eval_point_model(&logs[k].points[i], model);
            vals[k] = m ? m->score : NAN;
        }
        se->curve[i] = ctcd_stat_of(vals, n).mean;
    }
    return st;
}

static int find_series(const ctcd_compare_summary *s, const char *label) {
    for (int i = 0; i < s->n_series; i++)
        if (strcmp(s->series[i].label, label) == 0) return i;
    return -1;
}

static void fill_deltas(ctcd_compare_summary *s) {
    for (int d = 0; d < CTCD_COMPARE_MAX_DELTAS; d++) {
        const int a = find_series(s, DELTAS[d][0]), b = find_series(s, DELTAS[d][1]);
        if (a < 0 || b < 0) continue;
        ctcd_compare_delta *de = &s->deltas[s->n_deltas++];
        snprintf(de->label, sizeof de->label, "%s - %s", DELTAS[d][0], DELTAS[d][1]);
        de->a = a;
        de->b = b;
        for (int c = 0; c < s->n_cols; c++) {
            double diff[CTCD_MAX_SEEDS];
            const int n = s->n_seeds;
            for (int k = 0; k < n; k++) {
                const size_t i = (size_t)k * CTCD_COMPARE_MAX_COLS + (size_t)c;
                diff[k] = s->series[a].final[i] - s->series[b].final[i];
                de->per_seed[k][c] = diff[k];
            }
            de->col[c] = ctcd_paired_of(diff, n);
        }
    }
}

/* Reads the eval.jsonl of every seed of one arm; counts each run's build. */
static ctcd_status read_arm(const char *dir, ctcd_arm arm, uint64_t seed0, int n_seeds,
                            ctcd_eval_log *logs, char (*paths)[CTCD_PATH_MAX + 96],
                            ctcd_build_tally *builds) {
    for (int k = 0; k < n_seeds; k++) {
        char run_dir[CTCD_PATH_MAX];
        CTCD_TRY(ctcd_compare_run_dir(dir, arm, seed0 + (uint64_t)k, run_dir, sizeof run_dir));
        snprintf(paths[k], sizeof paths[k], "%s/eval.jsonl", run_dir);
        CTCD_TRY(ctcd_eval_log_read(paths[k], &logs[k]));
        ctcd_builds_add(builds, run_dir);
    }
    return CTCD_OK;
}

ctcd_status ctcd_compare_summarize(const char *dir, unsigned arms, uint64_t seed0, int n_seeds,
                                   ctcd_compare_summary *out) {
    memset(out, 0, sizeof *out);
    if (n_seeds < 1 || n_seeds > CTCD_MAX_SEEDS)
        return CTCD_ERR(CTCD_E_INVALID, "number of seeds %d out of range (1..%d)", n_seeds,
                        CTCD_MAX_SEEDS);
    snprintf(out->dir, sizeof out->dir, "%s", dir);
    out->n_seeds = n_seeds;
    out->seed0 = seed0;
    ctcd_eval_log *logs = calloc((size_t)n_seeds, sizeof *logs);
    char (*paths)[CTCD_PATH_MAX + 96] = calloc((size_t)n_seeds, sizeof *paths);
    const char **path_ptrs = calloc((size_t)n_seeds, sizeof *path_ptrs);
    ctcd_status st = CTCD_OK;
    if (!logs || !paths || !path_ptrs) st = CTCD_ERR(CTCD_E_NOMEM, "out of memory summarising %s", dir);
    for (int k = 0; !st && k < n_seeds; k++) path_ptrs[k] = paths[k];
    for (int a = 0; !st && a < CTCD_N_ARMS; a++) {
        if (!(arms & (1u << a))) continue;
        st = read_arm(dir, (ctcd_arm)a, seed0, n_seeds, logs, paths, &out->builds);
        if (!st && !out->task[0]) {
            snprintf(out->task, sizeof out->task, "%s", logs[0].points[0].task);
            snprintf(out->task_metric, sizeof out->task_metric, "%s", logs[0].points[0].task_metric);
            snprintf(out->split, sizeof out->split, "%s", logs[0].points[0].split);
        }
        for (int i = 0; !st && i < CTCD_COMPARE_MAX_SERIES; i++) {
            if (SERIES[i].arm != (ctcd_arm)a) continue;
            ctcd_compare_series *se = &out->series[out->n_series++];
            se->arm = SERIES[i].arm;
            se->role = SERIES[i].role;
            snprintf(se->label, sizeof se->label, "%s", SERIES[i].label);
            st = fill_series(out, out->n_series - 1, logs, path_ptrs);
        }
        for (int k = 0; k < n_seeds; k++) ctcd_eval_log_free(&logs[k]);
    }
    free(logs);
    free(paths);
    free(path_ptrs);
    if (!st && out->n_series == 0) st = CTCD_ERR(CTCD_E_INVALID, "no arms to summarise in %s", dir);
    if (st) {
        ctcd_compare_summary_free(out);
        return st;
    }
    /* Table order is SERIES order, independent of the arm loop above. */
    ctcd_compare_series sorted[CTCD_COMPARE_MAX_SERIES];
    int n = 0;
    for (int i = 0; i < CTCD_COMPARE_MAX_SERIES; i++) {
        const int j = find_series(out, SERIES[i].label);
        if (j >= 0) sorted[n++] = out->series[j];
    }
    memcpy(out->series, sorted, (size_t)n * sizeof sorted[0]);
    fill_deltas(out);
    return CTCD_OK;
}

void ctcd_compare_summary_free(ctcd_compare_summary *s) {
    for (int i = 0; i < s->n_series; i++) {
        free(s->series[i].final);
        free(s->series[i].steps);
        free(s->series[i].curve);
    }
    s->n_series = 0;
    s->n_deltas = 0;
}
