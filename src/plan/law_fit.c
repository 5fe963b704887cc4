/* law_fit.c — the law of capacity gap fitted from a user's own runs (include/ctcd/plan.h):
 * each run gives (student size, partner size, best student score); per student size the
 * best partner is kept and a least-squares line is fitted through those points. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/checkpoint.h"
#include "ctcd/run.h"
#include "ctcd/plan.h"
#include "ctcd/plot.h"
#include "ctcd/recipe.h"

/* Parameters of the model whose config.json is in ckpt_dir. */
static ctcd_status config_params(const char *ckpt_dir, int64_t *params) {
    ctcd_hf_config hf;
    memset(&hf, 0, sizeof hf);
    ctcd_status st = ctcd_hf_config_read(ckpt_dir, &hf);
    ctcd_model_layout lay;
    memset(&lay, 0, sizeof lay);
    if (!st) st = ctcd_model_layout_build(&hf.cfg, &lay);
    if (!st) *params = lay.n_params_real;
    ctcd_model_layout_free(&lay);
    ctcd_hf_config_free(&hf);
    return st;
}

/* A trained role's size: its best checkpoint, else its last one. */
static ctcd_status role_params(const char *dir, const char *role, int64_t *params) {
    char path[1200];
    const char *const which[2] = {"best", "last"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s/%s/config.json", dir, role, which[i]);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        fclose(f);
        return config_params(path, params);
    }
    return CTCD_ERR(CTCD_E_IO, "%s: no %s/best or %s/last checkpoint (did the run finish?)", dir,
                    role, role);
}

ctcd_status ctcd_plan_read_run(const char *dir, ctcd_plan_run *out) {
    memset(out, 0, sizeof *out);
    if (snprintf(out->dir, sizeof out->dir, "%s", dir) >= (int)sizeof out->dir)
        return CTCD_ERR(CTCD_E_INVALID, "run directory name too long: %s", dir);
    char path[1200];
    snprintf(path, sizeof path, "%s/recipe.yaml", dir);
    ctcd_recipe *rc = malloc(sizeof *rc);
    if (!rc) return CTCD_ERR(CTCD_E_NOMEM, "out of memory reading %s", path);
    ctcd_status st = ctcd_recipe_load(path, NULL, 0, rc);
    if (!st && !rc->models[CTCD_SMALL].present)
        st = CTCD_ERR(CTCD_E_INVALID, "%s: the run has no models.small (the student)", path);
    if (!st && !rc->models[CTCD_LARGE].present && !rc->models[CTCD_TEACHER].present)
        st = CTCD_ERR(CTCD_E_INVALID, "%s: the run has no partner (models.large or "
                      "models.teacher)", path);
    if (!st) st = role_params(dir, "small", &out->student_params);
    if (!st && rc->models[CTCD_LARGE].present)
        st = role_params(dir, "large", &out->partner_params);
    else if (!st)
        st = ctcd_error_wrap(config_params(rc->models[CTCD_TEACHER].init, &out->partner_params),
                             "%s: models.teacher.init", path);
    free(rc);
    if (st) return st;
    snprintf(path, sizeof path, "%s/eval.jsonl", dir);
    ctcd_eval_log log;
    CTCD_TRY(ctcd_eval_log_read(path, &log));
    const int b = ctcd_eval_log_best(&log, "small");
    if (b >= 0) out->student_score = ctcd_eval_point_model(&log.points[b], "small")->score;
    else st = CTCD_ERR(CTCD_E_INVALID, "%s: no evaluation of the small model", path);
    ctcd_eval_log_free(&log);
    return st;
}

ctcd_status ctcd_plan_fit_points(const ctcd_plan_run *runs, int n, ctcd_plan_fit *out) {
    memset(out, 0, sizeof *out);
    if (n < 1) return CTCD_ERR(CTCD_E_INVALID, "plan --fit: no runs");
    out->runs = malloc((size_t)n * sizeof *out->runs);
    out->points = malloc((size_t)n * sizeof *out->points);
    if (!out->runs || !out->points) {
        ctcd_plan_fit_free(out);
        return CTCD_ERR(CTCD_E_NOMEM, "plan --fit: out of memory");
    }
    memcpy(out->runs, runs, (size_t)n * sizeof *runs);
    out->n_runs = n;
    for (int i = 0; i < n; i++) {
        const ctcd_plan_run *r = &runs[i];
        int k = 0;
        while (k < out->n_points && out->points[k].student_params < r->student_params) k++;
        ctcd_plan_point *p = &out->points[k];
        if (k < out->n_points && p->student_params == r->student_params) {
            p->n_runs++;
            if (r->student_score > p->score)
                p->partner_params = r->partner_params, p->score = r->student_score;
            continue;
        }
        memmove(p + 1, p, (size_t)(out->n_points - k) * sizeof *p);
        *p = (ctcd_plan_point){r->student_params, r->partner_params, r->student_score, 1};
        out->n_points++;
    }
    if (out->n_points < 2) return CTCD_OK; /* one student size: nothing to fit */
    double *x = malloc((size_t)out->n_points * 2 * sizeof *x);
    if (!x) return CTCD_ERR(CTCD_E_NOMEM, "plan --fit: out of memory");
    double *y = x + out->n_points;
    for (int i = 0; i < out->n_points; i++)
        x[i] = (double)out->points[i].student_params, y[i] = (double)out->points[i].partner_params;
    ctcd_status st = ctcd_line_fit_xy(x, y, out->n_points, &out->line);
    free(x);
    if (!st) out->fitted = 1;
    return st;
}

ctcd_status ctcd_plan_fit_runs(const char *const *dirs, int n, ctcd_plan_fit *out) {
    memset(out, 0, sizeof *out);
    ctcd_plan_run *runs = malloc((size_t)(n > 0 ? n : 1) * sizeof *runs);
    if (!runs) return CTCD_ERR(CTCD_E_NOMEM, "plan --fit: out of memory");
    ctcd_status st = CTCD_OK;
    for (int i = 0; !st && i < n; i++) st = ctcd_plan_read_run(dirs[i], &runs[i]);
    if (!st) st = ctcd_plan_fit_points(runs, n, out);
    free(runs);
    return st;
}

ctcd_status ctcd_plan_fit_plot(const ctcd_plan_fit *f, const char *png_path) {
    const int n = f->n_runs, np = f->n_points;
    double *buf = malloc((size_t)(2 * n + 2 * np + 8) * sizeof *buf);
    if (!buf) return CTCD_ERR(CTCD_E_NOMEM, "plan: out of memory plotting");
    double *rx = buf, *ry = rx + n, *px = ry + n, *py = px + np, *lx = py + np, *ly = lx + 2,
           *gx = ly + 2, *gy = gx + 2;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        /* insertion by (student, partner) so the light polyline through the runs is tidy */
        const double x = (double)f->runs[i].student_params / 1e6,
                     y = (double)f->runs[i].partner_params / 1e6;
        int k = i;
        while (k > 0 && (rx[k - 1] > x || (rx[k - 1] == x && ry[k - 1] > y)))
            rx[k] = rx[k - 1], ry[k] = ry[k - 1], k--;
        rx[k] = x, ry[k] = y;
        lo = fmin(lo, x);
        hi = fmax(hi, x);
    }
    for (int i = 0; i < np; i++)
        px[i] = (double)f->points[i].student_params / 1e6,
        py[i] = (double)f->points[i].partner_params / 1e6;
    lx[0] = gx[0] = lo;
    lx[1] = gx[1] = hi;
    for (int i = 0; i < 2; i++) {
        ly[i] = f->fitted ? (f->line.slope * lx[i] * 1e6 + f->line.intercept) / 1e6 : NAN;
        gy[i] = CTCD_LAW_RATIO * gx[i];
    }
    ctcd_plot_series ser[4] = {
        {.label = "runs", .n = n, .x = rx, .y = ry, .rgb = 0x9aa5b1, .markers_only = 1},
        {.label = "best partner", .n = np, .x = px, .y = py, .rgb = 0xd62728},
        {.label = "least squares", .n = f->fitted ? 2 : 0, .x = lx, .y = ly, .rgb = 0x1f77b4},
        {.label = "law: 2.5x", .n = 2, .x = gx, .y = gy, .rgb = 0x7f7f7f, .dashed = 1},
    };
    const ctcd_plot plot = {.title = "Capacity gap: best partner size vs student size",
                            .xlabel = "student parameters (M)",
                            .ylabel = "partner parameters (M)", .n_series = 4, .series = ser};
    ctcd_status st = ctcd_plot_write_png(&plot, png_path);
    free(buf);
    return st;
}

void ctcd_plan_fit_free(ctcd_plan_fit *f) {
    free(f->runs);
    free(f->points);
    memset(f, 0, sizeof *f);
}
