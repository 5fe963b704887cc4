/* cli_experiment.h — what the experiment subcommands (compare, sweep) share: the common
 * options (RECIPE, --set, --seeds, --out, --quiet, --verbose) and the one-line-per-run
 * progress report. */
#ifndef CTCD_CLI_EXPERIMENT_H
#define CTCD_CLI_EXPERIMENT_H

#include "cli_args.h"
#include "ctcd/experiment.h"

typedef struct cli_exp_args {
    const char *cmd;          /* "compare", for messages */
    const char *recipe;
    cli_list sets;            /* --set KEY=VALUE */
    int n_seeds;              /* default 1 */
    const char *out;          /* NULL = default directory */
    int quiet, verbose;
    int keep_finished;        /* --keep-finished */
} cli_exp_args;

/* The common options' entries of a cli_opt table (a: a cli_exp_args lvalue). */
#define CLI_EXP_OPTS(a)                                                \
    CLI_OPT_SET(&(a).sets),                                  \
        CLI_OPT_NUM("--seeds", CLI_INT, &(a).n_seeds, 1, CTCD_MAX_SEEDS), \
        CLI_OPT_STR("--out", &(a).out), CLI_OPT_FLAG("--quiet", &(a).quiet), \
        CLI_OPT_FLAG("--verbose", &(a).verbose), \
        CLI_OPT_FLAG("--keep-finished", &(a).keep_finished)

/* Loads the recipe with the --set overrides; sets the log level (warnings only unless
 * --verbose was given: the runs' own progress lines would drown the per-run lines). */
ctcd_status cli_exp_load(const cli_exp_args *a, ctcd_recipe *rc);
/* ctcd_run_cb printing "[i/n] label seed S ..." lines to stderr (ctx: the cli_exp_args). */
void cli_exp_progress(void *ctx, const ctcd_run_event *ev);

#endif
