/* sweep.c — `ctcd sweep`: the cartesian product of recipe values (--grid key=v1,v2,...),
 * each point a CTCD run (a one-model recipe: that model alone) over seeds, summarised as
 * sweep.md / sweep.json with the task score per model and the best point per model marked
 * (include/ctcd/experiment.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/experiment.h"
#include "ctcd/fileio.h"
#include "experiment_internal.h"

/* Re-labels an error of ctcd_recipe_set ("--set k=v: reason") as one of the grid spec. */
static ctcd_status grid_error(ctcd_status st, const char *spec, const char *assignment) {
    const char *msg = ctcd_status_message(st);
    char prefix[300];
    snprintf(prefix, sizeof prefix, "--set %s: ", assignment);
    const size_t n = strlen(prefix);
    ctcd_status out = CTCD_ERR(ctcd_status_code(st), "--grid '%s': %s", spec,
                               strncmp(msg, prefix, n) == 0 ? msg + n : msg);
    ctcd_status_free(st);
    return out;
}

ctcd_status ctcd_grid_add(ctcd_grid *g, const char *spec, const ctcd_recipe *rc) {
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1])
        return CTCD_ERR(CTCD_E_INVALID, "--grid '%s': expected KEY=V1,V2,... (e.g. "
                        "distill.temperature=1,2,4)", spec);
    if (g->n_axes == CTCD_GRID_MAX_AXES)
        return CTCD_ERR(CTCD_E_INVALID, "--grid '%s': at most %d grid keys", spec,
                        CTCD_GRID_MAX_AXES);
    ctcd_grid_axis *ax = &g->axes[g->n_axes];
    memset(ax, 0, sizeof *ax);
    const size_t klen = (size_t)(eq - spec);
    if (klen >= sizeof ax->key) return CTCD_ERR(CTCD_E_INVALID, "--grid '%s': key too long", spec);
    memcpy(ax->key, spec, klen);
    if (strcmp(ax->key, "train.seed") == 0 || strcmp(ax->key, "output") == 0)
        return CTCD_ERR(CTCD_E_INVALID, "--grid '%s': %s cannot be swept (seeds come from "
                        "--seeds, run directories from --out)", spec, ax->key);
    for (int i = 0; i < g->n_axes; i++)
        if (strcmp(g->axes[i].key, ax->key) == 0)
            return CTCD_ERR(CTCD_E_INVALID, "--grid '%s': key '%s' given twice", spec, ax->key);
    for (const char *p = eq + 1;;) {
        const size_t n = strcspn(p, ",");
        if (n == 0)
            return CTCD_ERR(CTCD_E_INVALID, "--grid '%s': empty value in the list", spec);
        if (ax->n == CTCD_GRID_MAX_VALUES || n >= sizeof ax->value[0])
            return CTCD_ERR(CTCD_E_INVALID, "--grid '%s': at most %d values of under %zu "
                            "characters each", spec, CTCD_GRID_MAX_VALUES, sizeof ax->value[0]);
        memcpy(ax->value[ax->n], p, n);
        ax->value[ax->n][n] = '\0';
        char assignment[256];
        snprintf(assignment, sizeof assignment, "%s=%s", ax->key, ax->value[ax->n]);
        ctcd_recipe check = *rc;
        ctcd_status st = ctcd_recipe_set(&check, assignment);
        if (st) return grid_error(st, spec, assignment);
        ax->n++;
        if (!p[n]) break;
        p += n + 1;
    }
    g->n_axes++;
    return CTCD_OK;
}

int64_t ctcd_grid_n_points(const ctcd_grid *g) {
    int64_t n = 1;
    for (int i = 0; i < g->n_axes; i++) n *= g->axes[i].n;
    return n;
}

/* Point p's value indices (the first axis varies slowest), label and directory name. */
static void describe_point(const ctcd_grid *g, int64_t p, ctcd_sweep_point *pt) {
    memset(pt, 0, sizeof *pt);
    for (int i = g->n_axes - 1; i >= 0; i--) {
        pt->value[i] = (int)(p % g->axes[i].n);
        p /= g->axes[i].n;
    }
    size_t lo = 0, dn = 0;
    for (int i = 0; i < g->n_axes; i++) {
        const char *k = g->axes[i].key, *v = g->axes[i].value[pt->value[i]];
        lo += (size_t)snprintf(pt->label + lo, lo < sizeof pt->label ? sizeof pt->label - lo : 0,
                               "%s%s=%s", i ? ", " : "", k, v);
        dn += (size_t)snprintf(pt->dir_name + dn,
                               dn < sizeof pt->dir_name ? sizeof pt->dir_name - dn : 0, "%s%s=%s",
                               i ? "," : "", k, v);
    }
    if (g->n_axes == 0) {
        snprintf(pt->label, sizeof pt->label, "(recipe)");
        snprintf(pt->dir_name, sizeof pt->dir_name, "recipe");
    }
    ctcd_dir_safe(pt->dir_name);
}

static ctcd_status point_recipe(const ctcd_recipe *ctcd_rc, const ctcd_grid *g,
                                const ctcd_sweep_point *pt, ctcd_recipe *out) {
    *out = *ctcd_rc;
    for (int i = 0; i < g->n_axes; i++) {
        char assignment[256];
        snprintf(assignment, sizeof assignment, "%s=%s", g->axes[i].key,
                 g->axes[i].value[pt->value[i]]);
        CTCD_TRY(ctcd_recipe_set(out, assignment));
    }
    return CTCD_OK;
}

/* Reads every seed's last evaluation of point p (run directories under dir); the paired
 * difference to the first point, seed by seed. */
static ctcd_status summarize_point(ctcd_sweep_summary *s, int p) {
    ctcd_sweep_point *pt = &s->points[p];
    for (int k = 0; k < s->n_seeds; k++) {
        char run_dir[CTCD_PATH_MAX * 2], path[CTCD_PATH_MAX * 2 + 16];
        snprintf(run_dir, sizeof run_dir, "%s/%s/seed%llu", s->dir, pt->dir_name,
                 (unsigned long long)(s->seed0 + (uint64_t)k));
        snprintf(path, sizeof path, "%s/eval.jsonl", run_dir);
        ctcd_eval_log log;
        CTCD_TRY(ctcd_eval_log_read(path, &log));
        ctcd_builds_add(&s->builds, run_dir);
        const ctcd_eval_point *last = &log.points[log.n - 1];
        if (!s->task[0]) {
            snprintf(s->task, sizeof s->task, "%s", last->task);
            snprintf(s->task_metric, sizeof s->task_metric, "%s", last->task_metric);
            snprintf(s->split, sizeof s->split, "%s", last->split);
        }
        for (int r = 0; r < CTCD_N_ROLES; r++) {
            const ctcd_eval_model *m = ctcd_eval_point_model(last, ctcd_role_names[r]);
            ctcd_sweep_seed_scores(s, p, r)[k] = m ? m->score : NAN;
        }
        ctcd_eval_log_free(&log);
    }
    for (int r = 0; r < CTCD_N_ROLES; r++) {
        const double *x = ctcd_sweep_seed_scores(s, p, r);
        const double *first = ctcd_sweep_seed_scores(s, 0, r);
        pt->score[r] = ctcd_stat_of(x, s->n_seeds);
        if (p == 0) {
            pt->vs_first[r] = (ctcd_paired){.mean = NAN, .std = NAN, .lo = NAN, .hi = NAN,
                                            .n = s->n_seeds};
            continue;
        }
        double diff[CTCD_MAX_SEEDS];
        for (int k = 0; k < s->n_seeds; k++) diff[k] = x[k] - first[k];
        pt->vs_first[r] = ctcd_paired_of(diff, s->n_seeds);
    }
    return CTCD_OK;
}

ctcd_status ctcd_sweep_run(const ctcd_recipe *rc, const ctcd_grid *g, const ctcd_sweep_opts *o,
                           ctcd_sweep_summary *out) {
    memset(out, 0, sizeof *out);
    if (o->n_seeds < 1 || o->n_seeds > CTCD_MAX_SEEDS)
        return CTCD_ERR(CTCD_E_INVALID, "--seeds must be in 1..%d (got %d)", CTCD_MAX_SEEDS,
                        o->n_seeds);
    const int64_t n_points = ctcd_grid_n_points(g);
    if (n_points > 4096)
        return CTCD_ERR(CTCD_E_INVALID, "the grid has %lld points (at most 4096)",
                        (long long)n_points);
    /* a pair becomes a CTCD run; a one-model recipe (fine-tuning baselines) runs as it is */
    ctcd_recipe ctcd_rc = *rc;
    if (rc->models[CTCD_LARGE].present && rc->models[CTCD_SMALL].present)
        CTCD_TRY(ctcd_error_wrap(ctcd_arm_recipe(rc, CTCD_ARM_CTCD, &ctcd_rc), "sweep"));
    ctcd_experiment_dir(rc, o->out_dir, "sweep", out->dir, sizeof out->dir);
    CTCD_TRY(ctcd_mkdirs(out->dir));
    out->grid = *g;
    out->n_seeds = o->n_seeds;
    out->seed0 = rc->train.seed;
    out->points = calloc((size_t)n_points, sizeof *out->points);
    out->seed_score = calloc((size_t)n_points * CTCD_N_ROLES * (size_t)o->n_seeds,
                             sizeof *out->seed_score);
    if (!out->points || !out->seed_score) {
        ctcd_sweep_summary_free(out);
        return CTCD_ERR(CTCD_E_NOMEM, "out of memory for %lld grid points",
                        (long long)n_points);
    }
    out->n_points = (int)n_points;
    ctcd_status st = CTCD_OK;
    int index = 0;
    for (int p = 0; !st && p < out->n_points; p++) {
        ctcd_sweep_point *pt = &out->points[p];
        describe_point(g, p, pt);
        ctcd_recipe prc;
        st = point_recipe(&ctcd_rc, g, pt, &prc);
        for (int k = 0; !st && k < o->n_seeds; k++) {
            ctcd_recipe run = prc;
            run.train.seed = rc->train.seed + (uint64_t)k;
            const int n = snprintf(run.output, sizeof run.output, "%s/%s/seed%llu", out->dir,
                                   pt->dir_name, (unsigned long long)run.train.seed);
            if (n < 0 || (size_t)n >= sizeof run.output) {
                st = CTCD_ERR(CTCD_E_INVALID, "run directory of grid point '%s' is too long",
                              pt->label);
                break;
            }
            const ctcd_run_event ev = {.index = ++index, .total = out->n_points * o->n_seeds,
                                       .label = pt->label, .seed = run.train.seed,
                                       .dir = run.output};
            st = ctcd_experiment_run_one(&run, &ev, o->keep_finished, o->on_run, o->ctx);
        }
        if (!st) st = summarize_point(out, p);
    }
    for (int r = 0; r < CTCD_N_ROLES; r++) {
        out->best[r] = -1;
        for (int p = 0; p < out->n_points; p++) {
            const double m = out->points[p].score[r].mean;
            if (!isnan(m) && (out->best[r] < 0 || m > out->points[out->best[r]].score[r].mean))
                out->best[r] = p;
        }
    }
    if (!st) st = ctcd_sweep_write(out);
    if (st) ctcd_sweep_summary_free(out);
    return st;
}

void ctcd_sweep_summary_free(ctcd_sweep_summary *s) {
    free(s->points);
    free(s->seed_score);
    s->points = NULL;
    s->seed_score = NULL;
    s->n_points = 0;
}
