/* experiment_internal.h — pieces shared by the experiment drivers (compare.c, sweep.c,
 * their reports): one run with events, directory names, JSON and markdown helpers. */
#ifndef CTCD_EXPERIMENT_INTERNAL_H
#define CTCD_EXPERIMENT_INTERNAL_H

#include <cjson/cJSON.h>

#include "ctcd/experiment.h"

/* Trains rc (rc->output set to the run directory) with the normal trainer, reporting
 * `start` before and a copy with done = 1, the wall time and the last evaluation after.
 * With keep_finished, a directory that already holds a finished run of exactly rc (its state
 * file: every step trained and the final evaluation made; the recipe check of `ctcd train
 * --resume`) is kept: no training, one event with done = 1 and kept = 1. Errors are wrapped
 * with the run's label, seed and directory. */
ctcd_status ctcd_experiment_run_one(const ctcd_recipe *rc, const ctcd_run_event *start,
                                    int keep_finished, ctcd_run_cb cb, void *ctx);
/* Replaces characters that do not belong in one path component ('/', ' ', '\\') by '_'. */
void ctcd_dir_safe(char *s);
/* snprintf into a CTCD_PATH_MAX buffer; an over-long path is an error naming it. */
ctcd_status ctcd_path_join(char *buf, size_t cap, const char *a, const char *b);
/* Serialises a cJSON tree (takes ownership) to path atomically. */
ctcd_status ctcd_write_json(const char *path, cJSON *root);
/* A stat as "0.8123 ± 0.0040" (with a sign when signed = 1), or "-" for NAN. */
void ctcd_fmt_stat(char *buf, size_t cap, ctcd_stat s, int signed_);
/* The n_seeds scores of grid point p, role r, in s->seed_score. */
static inline double *ctcd_sweep_seed_scores(const ctcd_sweep_summary *s, int p, int r) {
    return s->seed_score + ((size_t)p * CTCD_N_ROLES + (size_t)r) * (size_t)s->n_seeds;
}
/* {"mean": m, "std": s, "n": n} */
cJSON *ctcd_json_stat(ctcd_stat s);
/* A paired difference as "+0.0123 ± 0.0040 [+0.0010, +0.0236] *" ('*': the 95% interval
 * excludes 0; without the interval for a single seed), or "-" for NAN. */
void ctcd_fmt_paired(char *buf, size_t cap, ctcd_paired p);
/* {"mean": m, "std": s, "n": n, "ci95": [lo, hi] (null for n < 2), "excludes_zero": b} */
cJSON *ctcd_json_paired(ctcd_paired p);
/* Counts the build and machine of the run in run_dir (src/experiment/run_build.c). */
void ctcd_builds_add(ctcd_build_tally *t, const char *run_dir);
/* "Made by: <build>: N runs; ..." and a newline, flagging a mix of builds or machines. */
void ctcd_builds_print(FILE *f, const ctcd_build_tally *t);
/* [{"build": "...", "runs": N}, ...] */
cJSON *ctcd_builds_json(const ctcd_build_tally *t);

#endif
