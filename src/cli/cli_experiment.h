/* cli_experiment.h — what the experiment subcommands (compare, sweep) share: the common
 * options (RECIPE, --set, --seeds, --out, --quiet, --verbose) and the one-line-per-run
 * progress report. */
#ifndef CTCD_CLI_EXPERIMENT_H
#define CTCD_CLI_EXPERIMENT_H

#include "ctcd/experiment.h"

typedef struct cli_exp_args {
    const char *cmd;          /* "compare", for messages */
    const char *recipe;
    const char **sets;        /* (n_sets) KEY=VALUE */
    int n_sets;
    int n_seeds;              /* default 1 */
    const char *out;          /* NULL = default directory */
    int quiet;
} cli_exp_args;

/* Consumes argv[*i] (and its value) when it is a common option. Returns 1 when consumed,
 * 0 when not an option of this set, -1 after printing an error (bad value). */
int cli_exp_option(int argc, char **argv, int *i, cli_exp_args *a);
/* Loads the recipe with the --set overrides; sets the log level (warnings only unless
 * --verbose was given: the runs' own progress lines would drown the per-run lines). */
ctcd_status cli_exp_load(const cli_exp_args *a, ctcd_recipe *rc);
/* ctcd_run_cb printing "[i/n] label seed S ..." lines to stderr (ctx: the cli_exp_args). */
void cli_exp_progress(void *ctx, const ctcd_run_event *ev);

#endif
