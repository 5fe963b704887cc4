/* run.h — one finished or derived run, seen from outside the trainer: its eval.jsonl read
 * back (src/train/eval_log.c), statistics over runs (ctcd/stats.h), and single runs other
 * commands derive from a recipe (src/train/run_recipe.c). The experiment drivers
 * (include/ctcd/experiment.h) and the partner-choosing commands (plan, search) build on
 * these. */
#ifndef CTCD_RUN_H
#define CTCD_RUN_H

#include <stdint.h>

#include "ctcd/metrics.h"
#include "ctcd/recipe.h"
#include "ctcd/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- eval.jsonl, read back (the format src/train/run_log.c writes) ---- */

#define CTCD_METRIC_NAME_MAX 32

/* One model's entry of an evaluation line: {"acc": 0.81, ..., "score": 0.81}. */
typedef struct ctcd_eval_model {
    char name[CTCD_NAME_MAX];                      /* "large", "small" */
    int n;                                         /* metrics besides the score */
    char metric[CTCD_MAX_METRICS][CTCD_METRIC_NAME_MAX];
    double value[CTCD_MAX_METRICS];
    double score;                                  /* the task score */
} ctcd_eval_model;

/* One line of eval.jsonl. */
typedef struct ctcd_eval_point {
    int64_t step, epoch, examples;
    char task[CTCD_NAME_MAX];
    char task_metric[CTCD_METRIC_NAME_MAX];
    char split[CTCD_EVAL_SPLIT_MAX];  /* "dev", "test", ...; in logs older than the key, "test"
                                       * for esnli and cqa (their evaluation split), else "dev" */
    int n_models;
    ctcd_eval_model models[CTCD_N_ROLES];
} ctcd_eval_point;

typedef struct ctcd_eval_log {
    int n;
    ctcd_eval_point *points;  /* (n), file order */
} ctcd_eval_log;

/* Reads a run's eval.jsonl. Empty lines are skipped; any other line that is not an
 * evaluation record is an error naming path:line and what is wrong. An empty log is an
 * error too (the run never evaluated). */
ctcd_status ctcd_eval_log_read(const char *path, ctcd_eval_log *out);
void ctcd_eval_log_free(ctcd_eval_log *log);
/* The entry of model `name` in p, NULL when p has none. */
const ctcd_eval_model *ctcd_eval_point_model(const ctcd_eval_point *p, const char *name);
/* Index of the point where model `name` has its highest score (the first on ties); -1 when
 * no point has the model. */
int ctcd_eval_log_best(const ctcd_eval_log *log, const char *name);

/* ---- single derived runs (src/train/run_recipe.c) ---- */

/* Validates r, runs it through the trainer and returns the dev task score of the model of
 * `role` (its best evaluation, else its final one). An interrupted run is an error naming
 * `who` (the command driving the run). */
ctcd_status ctcd_run_recipe_score(const ctcd_recipe *r, int role, const char *who,
                                  double *score);
/* The fine-tuned large model a partner-choosing command starts from: models.large.init when
 * set, else rc trained with models.large alone into <dir>/teacher, whose best checkpoint
 * (<dir>/teacher/large/best) is returned. *score (may be NULL) is that run's dev score, or
 * the checkpoint's dev score evaluated here when models.large.init was given. */
ctcd_status ctcd_ensure_teacher(const ctcd_recipe *rc, const char *dir, const char *who,
                                char *teacher, size_t cap, double *score);

#ifdef __cplusplus
}
#endif
#endif
