/* experiment.h — experiments made of many ordinary runs (DESIGN.md sections 1 and 7):
 *
 *   compare  the four arms of the CTCD paper on identical data, over several seeds:
 *            large alone, small alone, online one-way KD (large -> small) and CTCD;
 *   sweep    a grid of recipe values (temperature, mutual weights, ...), each a CTCD run;
 *   glue     the GLUE-score table of runs of different tasks.
 *
 * Every run goes through the normal trainer (ctcd_trainer_create + ctcd_trainer_run) into
 * its own run directory; summaries are then built from the runs' eval.jsonl files, so a
 * table can always be traced to the lines it came from. Seeds are train.seed, train.seed+1,
 * ...: train.seed derives the data order, each model's initialisation and its dropout, so
 * every arm sees the same batches in the same order and a model starts from the same
 * weights in every arm of a seed.
 *
 * Numbers are fractions as the task metrics give them (not percent). Means are over seeds;
 * "std" is the sample standard deviation (n - 1 in the denominator; 0 for a single seed). */
#ifndef CTCD_EXPERIMENT_H
#define CTCD_EXPERIMENT_H

#include <stdint.h>
#include <stdio.h>

#include "ctcd/metrics.h"
#include "ctcd/recipe.h"
#include "ctcd/run.h"
#include "ctcd/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- runs of an experiment ---- */

#define CTCD_MAX_SEEDS 256  /* seeds per arm or grid point */

/* Reported to a caller as each run starts (done = 0) and finishes (done = 1). */
typedef struct ctcd_run_event {
    int index, total;         /* 1-based position among the experiment's runs */
    const char *label;        /* arm name or grid point */
    uint64_t seed;            /* the run's train.seed */
    const char *dir;          /* its run directory */
    int done;
    int kept;                 /* done: a finished run found in dir, kept (keep_finished) */
    double seconds;           /* done: wall time of the run (0 when kept) */
    const ctcd_eval_point *final; /* done: its last evaluation */
} ctcd_run_event;

typedef void (*ctcd_run_cb)(void *ctx, const ctcd_run_event *ev);

/* The experiment directory: `out` when given, else the recipe's output, else
 * runs/<prefix>-<recipe file name without extension>. */
void ctcd_experiment_dir(const ctcd_recipe *rc, const char *out, const char *prefix, char *buf,
                         size_t cap);

/* ---- compare: four arms x seeds ---- */

typedef enum ctcd_arm {
    CTCD_ARM_LARGE_ALONE = 0, /* models.large only */
    CTCD_ARM_SMALL_ALONE,     /* models.small only */
    CTCD_ARM_KD,              /* both; small_to_large = 0: online one-way KD large -> small */
    CTCD_ARM_CTCD,            /* both; both mutual weights > 0 */
    CTCD_N_ARMS
} ctcd_arm;

/* "large-alone", "small-alone", "kd", "ctcd": the arms' directory and option names. */
extern const char *const ctcd_arm_names[CTCD_N_ARMS];

/* Parses a comma-separated list of arm names into a bit mask (bit a = arm a). An unknown
 * name is an error naming it and listing the arms. */
ctcd_status ctcd_arm_parse_list(const char *list, unsigned *mask);

/* The recipe of one arm, derived from base (which must have both models):
 *   large-alone  models.small removed;    small-alone  models.large removed;
 *   kd           distill.mutual.small_to_large = 0, large_to_small as in base (1 if 0):
 *                "online one-way KD" — the teacher is trained jointly on the same batches
 *                and, with small_to_large = 0, learns from the labels only;
 *   ctcd         both mutual weights as in base, each one that is 0 set to 1.
 * Everything else (data, seeds, schedules, output) is base's. */
ctcd_status ctcd_arm_recipe(const ctcd_recipe *base, ctcd_arm arm, ctcd_recipe *out);

typedef struct ctcd_compare_opts {
    int n_seeds;          /* 1..CTCD_MAX_SEEDS */
    unsigned arms;        /* mask of arms to run; 0 = all four */
    const char *out_dir;  /* NULL or "" = ctcd_experiment_dir(rc, NULL, "compare") */
    int keep_finished;    /* keep runs already finished in their directories (see
                             src/experiment/experiment_internal.h) instead of retraining */
    int runs_only;        /* train (or keep) the runs and stop: no summary files, and the
                             summary comes back with only dir set (one of several processes
                             running an experiment's runs side by side) */
    ctcd_run_cb on_run;   /* may be NULL */
    void *ctx;
} ctcd_compare_opts;

/* Which builds and machines made an experiment's runs (each run's log.jsonl first record):
 * "git <commit>[, uncommitted changes] on <CPU model> (OpenBLAS core <core>)" and how many runs
 * each; runs beyond CTCD_MAX_BUILDS distinct builds are counted in other_runs. */
#define CTCD_MAX_BUILDS 4
#define CTCD_BUILD_DESC_MAX 256
typedef struct ctcd_build_tally {
    int n, other_runs;
    struct {
        char what[CTCD_BUILD_DESC_MAX];
        int runs;
    } build[CTCD_MAX_BUILDS];
} ctcd_build_tally;

#define CTCD_COMPARE_MAX_SERIES 6
#define CTCD_COMPARE_MAX_DELTAS 6
#define CTCD_COMPARE_MAX_COLS (CTCD_MAX_METRICS + 1)

/* One model of one arm over the seeds ("CTCD-small"). */
typedef struct ctcd_compare_series {
    ctcd_arm arm;
    int role;                       /* CTCD_LARGE / CTCD_SMALL */
    char label[32];
    ctcd_stat col[CTCD_COMPARE_MAX_COLS];  /* per column of the summary (see n_cols) */
    double *final;                  /* (n_seeds, n_cols) each seed's last evaluation */
    int n_points;                   /* evaluations every seed has */
    double *steps, *curve;          /* (n_points) step, mean task score over seeds */
} ctcd_compare_series;

/* A paired difference (same seed) of two series, per column: mean, std and the 95% paired-t
 * interval of the per-seed differences (ctcd/stats.h), and the differences themselves. */
typedef struct ctcd_compare_delta {
    char label[64];                 /* "CTCD-small - large-alone" */
    int a, b;                       /* series indices: a - b */
    ctcd_paired col[CTCD_COMPARE_MAX_COLS];
    double per_seed[CTCD_MAX_SEEDS][CTCD_COMPARE_MAX_COLS];  /* [seed][column]: a - b */
} ctcd_compare_delta;

typedef struct ctcd_compare_summary {
    char dir[CTCD_PATH_MAX];
    char recipe[CTCD_PATH_MAX];     /* the recipe file compared */
    char task[CTCD_NAME_MAX];
    char task_metric[CTCD_METRIC_NAME_MAX];
    char split[CTCD_EVAL_SPLIT_MAX];  /* what the runs were evaluated on ("dev", "test") */
    int n_seeds;
    uint64_t seed0;                 /* seeds are seed0 .. seed0 + n_seeds - 1 */
    ctcd_build_tally builds;        /* the binaries and machines of the runs */
    int n_cols;                     /* the task's metrics, then "score" when there are 2+ */
    char col[CTCD_COMPARE_MAX_COLS][CTCD_METRIC_NAME_MAX];
    int n_series;
    ctcd_compare_series series[CTCD_COMPARE_MAX_SERIES];
    int n_deltas;
    ctcd_compare_delta deltas[CTCD_COMPARE_MAX_DELTAS];
} ctcd_compare_summary;

/* Run directory of one arm and seed: <dir>/<arm>/seed<seed> (an error when over cap). */
ctcd_status ctcd_compare_run_dir(const char *dir, ctcd_arm arm, uint64_t seed, char *buf,
                                 size_t cap);

/* Runs every chosen arm x seed (arm-major), then summarises and writes the outputs
 * (ctcd_compare_write). The first failing run stops the experiment; its error names the
 * arm and seed. */
ctcd_status ctcd_compare_run(const ctcd_recipe *rc, const ctcd_compare_opts *o,
                             ctcd_compare_summary *out);
/* Builds the summary of arms `arms` x seeds seed0.. from the run directories under dir:
 * the last line of each run's eval.jsonl gives the numbers, all lines the curves. The
 * deltas are those the CTCD paper reports (CTCD-small - large-alone, CTCD-large -
 * large-alone, CTCD-small - small-alone) plus KD-small - small-alone, CTCD-small -
 * KD-small and large-alone - small-alone (the gap to close), each when both series were
 * run. */
ctcd_status ctcd_compare_summarize(const char *dir, unsigned arms, uint64_t seed0, int n_seeds,
                                   ctcd_compare_summary *out);
/* <dir>/summary.md, <dir>/summary.json and <dir>/curves.png (dev task score vs step, mean
 * over seeds, one line per arm and model). */
ctcd_status ctcd_compare_write(const ctcd_compare_summary *s);
/* The markdown tables: means +- std; the deltas with their 95% paired-t intervals, '*' on
 * those that exclude 0; the task score's per-seed differences. */
void ctcd_compare_print_table(FILE *f, const ctcd_compare_summary *s);
void ctcd_compare_summary_free(ctcd_compare_summary *s);

/* ---- sweep: a grid of recipe values, each point a CTCD run over seeds ---- */

#define CTCD_GRID_MAX_AXES 8
#define CTCD_GRID_MAX_VALUES 64

typedef struct ctcd_grid_axis {
    char key[128];                  /* a recipe key, "distill.temperature" */
    int n;
    char value[CTCD_GRID_MAX_VALUES][64];
} ctcd_grid_axis;

typedef struct ctcd_grid {
    int n_axes;
    ctcd_grid_axis axes[CTCD_GRID_MAX_AXES];
} ctcd_grid;

/* Adds an axis from "key=v1,v2,...". Every value is checked by applying it to a copy of
 * rc (an unknown key or a bad value is an error naming it); train.seed and output are
 * refused (seeds come from --seeds, directories from the sweep). */
ctcd_status ctcd_grid_add(ctcd_grid *g, const char *spec, const ctcd_recipe *rc);
/* Number of grid points (product of the axes' sizes; 1 for an empty grid). */
int64_t ctcd_grid_n_points(const ctcd_grid *g);

typedef struct ctcd_sweep_opts {
    int n_seeds;
    const char *out_dir;  /* NULL or "" = ctcd_experiment_dir(rc, NULL, "sweep") */
    int keep_finished;    /* as ctcd_compare_opts.keep_finished */
    ctcd_run_cb on_run;
    void *ctx;
} ctcd_sweep_opts;

typedef struct ctcd_sweep_point {
    char label[512];                /* "distill.temperature=2, distill.mutual.small_to_large=0.5" */
    char dir_name[512];             /* the same, usable as a directory name */
    int value[CTCD_GRID_MAX_AXES];  /* index into each axis' values */
    ctcd_stat score[CTCD_N_ROLES];  /* task score per role over seeds (last evaluation) */
    ctcd_paired vs_first[CTCD_N_ROLES]; /* this point - the first point, paired by seed, with
                                         * its 95% interval (NAN for the first point) */
} ctcd_sweep_point;

typedef struct ctcd_sweep_summary {
    char dir[CTCD_PATH_MAX];
    char task[CTCD_NAME_MAX];
    char task_metric[CTCD_METRIC_NAME_MAX];
    char split[CTCD_EVAL_SPLIT_MAX];  /* what the runs were evaluated on ("dev", "test") */
    int n_seeds;
    uint64_t seed0;
    ctcd_build_tally builds;        /* the binaries and machines of the runs */
    ctcd_grid grid;
    int n_points;
    ctcd_sweep_point *points;       /* (n_points), the first axis varying slowest */
    double *seed_score;             /* (n_points, CTCD_N_ROLES, n_seeds): each run's score */
    int best[CTCD_N_ROLES];         /* point with the highest mean score per role */
} ctcd_sweep_summary;

/* Runs every grid point x seed (a CTCD run: ctcd_arm_recipe(rc, CTCD_ARM_CTCD) with the
 * point's values applied after; a recipe with one model runs that model alone), into
 * <dir>/<point dir>/seed<seed>, then writes <dir>/sweep.md and <dir>/sweep.json. */
ctcd_status ctcd_sweep_run(const ctcd_recipe *rc, const ctcd_grid *g, const ctcd_sweep_opts *o,
                           ctcd_sweep_summary *out);
void ctcd_sweep_print_table(FILE *f, const ctcd_sweep_summary *s);
ctcd_status ctcd_sweep_write(const ctcd_sweep_summary *s);
void ctcd_sweep_summary_free(ctcd_sweep_summary *s);

/* ---- GLUE table: runs of different tasks ---- */

#define CTCD_GLUE_TABLE_MAX 16

typedef struct ctcd_glue_table {
    int n_tasks;                                 /* columns, GLUE order */
    char task[CTCD_GLUE_TABLE_MAX][CTCD_NAME_MAX];   /* as eval.jsonl names it ("sst2") */
    char column[CTCD_GLUE_TABLE_MAX][CTCD_NAME_MAX]; /* header ("SST-2") */
    int n_rows;                                  /* model names seen, first-seen order */
    char row[CTCD_N_ROLES * 2][CTCD_NAME_MAX];
    double score[CTCD_N_ROLES * 2][CTCD_GLUE_TABLE_MAX]; /* NAN where a run lacks the model */
    double glue[CTCD_N_ROLES * 2];               /* ctcd_glue_score over the row; NAN when a
                                                    task is missing from it */
} ctcd_glue_table;

/* Reads <dir>/eval.jsonl of every run directory (a path to an eval.jsonl file is accepted
 * too): the last evaluation, or with best = 1 each model's best one. Two runs of the same
 * task are an error naming both. */
ctcd_status ctcd_glue_table_read(const char *const *dirs, int n, int best, ctcd_glue_table *out);
void ctcd_glue_table_print(FILE *f, const ctcd_glue_table *t);

#ifdef __cplusplus
}
#endif
#endif
