/* plan.h — choosing the partner's size (issue 11): the law of capacity gap and its fit to a
 * user's own sweep (`ctcd plan`).
 *
 * The law (Zhang et al. 2023, "Towards the Law of Capacity Gap in Distilling Language
 * Models"): the teacher that gives the best student is about 2.5 times the student's size
 * in parameters, across scales. `ctcd plan --student-params N` applies it and lists the
 * BERT-style configurations (uniform layers, hidden, heads of 64 dims, FFN = 4 x hidden,
 * vocab 30522) nearest the recommended size. `ctcd plan --fit RUN_DIR...` estimates the
 * same relation from runs: for each student size the partner that gave the best student,
 * then a least-squares line teacher = slope x student + intercept with its R². */
#ifndef CTCD_PLAN_H
#define CTCD_PLAN_H

#include <stdint.h>

#include "ctcd/search.h"
#include "ctcd/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Optimal teacher / student parameter ratio of the published law. */
#define CTCD_LAW_RATIO 2.5

/* round(CTCD_LAW_RATIO · student_params). */
int64_t ctcd_law_teacher_params(int64_t student_params);

/* One BERT-style configuration and its size. */
typedef struct ctcd_plan_candidate {
    ctcd_arch arch;     /* heads = hidden / 64, intermediate = 4 · hidden */
    int64_t params;     /* ctcd_arch_n_params(arch, vocab, n_labels) */
    double ratio;       /* params / target */
} ctcd_plan_candidate;

/* The (up to) max configurations of layers 1..24, hidden 64..1024 in steps of 64 nearest
 * target_params in log scale (|log(params / target)|, ties: fewer parameters first),
 * nearest first. Returns how many were written. */
int ctcd_plan_nearest(int64_t target_params, int vocab, int n_labels, ctcd_plan_candidate *out,
                      int max);

/* Ordinary least squares y ≈ slope · x + intercept over n >= 2 points with distinct x;
 * r2 = 1 - SS_res / SS_tot (1 when every y is equal and fitted exactly). */
typedef struct ctcd_line_fit {
    double slope, intercept, r2;
    int n;
} ctcd_line_fit;
ctcd_status ctcd_line_fit_xy(const double *x, const double *y, int n, ctcd_line_fit *out);

/* ---- fitting the law from runs (src/plan/law_fit.c) ---- */

/* One training run: the student (models.small) and its partner (models.large when the
 * run has one, else the frozen models.teacher), each model's size from its checkpoint's
 * config.json (<run>/<role>/best, else <role>/last; the teacher's from its init). */
typedef struct ctcd_plan_run {
    char dir[1024];
    int64_t student_params, partner_params;
    double student_score;   /* best dev task score of the small model in eval.jsonl */
} ctcd_plan_run;

/* Reads one run directory (recipe.yaml, eval.jsonl, checkpoints); errors name the file. */
ctcd_status ctcd_plan_read_run(const char *dir, ctcd_plan_run *out);

/* For one student size, the partner whose run scored best (first on ties). */
typedef struct ctcd_plan_point {
    int64_t student_params, partner_params;
    double score;
    int n_runs;             /* runs with this student size */
} ctcd_plan_point;

typedef struct ctcd_plan_fit {
    int n_runs;
    ctcd_plan_run *runs;      /* (n_runs) in argument order */
    int n_points;
    ctcd_plan_point *points;  /* (n_points) by student size, smallest first */
    int fitted;               /* 1 when n_points >= 2 (line valid) */
    ctcd_line_fit line;       /* partner params ≈ slope · student params + intercept */
} ctcd_plan_fit;

/* Groups runs by student size and fits the line over the best partners. */
ctcd_status ctcd_plan_fit_points(const ctcd_plan_run *runs, int n, ctcd_plan_fit *out);
/* ctcd_plan_read_run on every directory, then ctcd_plan_fit_points. */
ctcd_status ctcd_plan_fit_runs(const char *const *dirs, int n, ctcd_plan_fit *out);
/* Writes a PNG: every run (student vs partner params, in millions), the best partners, the
 * fitted line and the 2.5x law. */
ctcd_status ctcd_plan_fit_plot(const ctcd_plan_fit *f, const char *png_path);
void ctcd_plan_fit_free(ctcd_plan_fit *f);

#ifdef __cplusplus
}
#endif
#endif
