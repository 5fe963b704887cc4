/* cmd_compare.c — `ctcd compare RECIPE [--seeds N] [--arms LIST] [--set k=v]... [--out DIR]`:
 * large alone, small alone, online one-way KD and CTCD on identical data over N seeds, then
 * summary.md / summary.json / curves.png in DIR and the table on stdout
 * (src/experiment/compare.c does the work). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_experiment.h"

static void usage(FILE *f) {
    fputs("usage: ctcd compare RECIPE [options]\n"
          "\n"
          "Runs the four arms of the CTCD comparison on identical data (same batches in the\n"
          "same order, same initial weights per seed), each as a normal training run in\n"
          "DIR/<arm>/seed<seed>/:\n"
          "  large-alone   only models.large, trained on the labels\n"
          "  small-alone   only models.small, trained on the labels\n"
          "  kd            online one-way KD large -> small: both models in lockstep with\n"
          "                distill.mutual.small_to_large = 0 (the large teacher is trained\n"
          "                jointly and learns from the labels only)\n"
          "  ctcd          both mutual weights as in RECIPE (a weight at 0 becomes 1)\n"
          "Seeds are train.seed, train.seed+1, ... Writes DIR/summary.md, DIR/summary.json\n"
          "(mean ± std over seeds of each model's last dev evaluation, and the deltas the\n"
          "CTCD paper reports) and DIR/curves.png (dev score vs step), and prints the table.\n"
          "\n"
          "options:\n"
          "  --seeds N         seeds per arm (default 1)\n"
          "  --arms LIST       comma-separated subset of large-alone,small-alone,kd,ctcd\n"
          "                    (default: all four)\n"
          "  --set KEY=VALUE   override a recipe key before the arms are derived (repeatable)\n"
          "  --out DIR         experiment directory (default: the recipe's output, else\n"
          "                    runs/compare-<recipe name>)\n"
          "  --keep-finished   keep runs already finished in DIR (every step trained, the\n"
          "                    final evaluation made, the same recipe) instead of training\n"
          "                    them again: an interrupted experiment goes on where it\n"
          "                    stopped; runs made by other processes (e.g. arms in parallel)\n"
          "                    are summarised\n"
          "  --runs-only       train (or keep) the runs, write no summary: for one of\n"
          "                    several processes sharing DIR (scripts/compare-parallel.sh);\n"
          "                    a last compare --keep-finished then writes the summary\n"
          "  --quiet           no per-run progress lines\n"
          "  --verbose         the runs' own logs too\n"
          "  -h, --help        this help\n",
          f);
}

int ctcd_cmd_compare(int argc, char **argv) {
    cli_exp_args a = {.cmd = "compare", .n_seeds = 1};
    const char *arms_arg = NULL;
    unsigned arms = 0;
    int runs_only = 0;
    const cli_opt opts[] = {CLI_EXP_OPTS(a), CLI_OPT_STR("--arms", &arms_arg),
                            CLI_OPT_FLAG("--runs-only", &runs_only)};
    const cli_spec sp = {"compare", usage, opts, CLI_N(opts), "RECIPE", &a.recipe, 1};
    int rc_exit = cli_parse(&sp, argc, argv);
    if (rc_exit < 0 && arms_arg) {
        ctcd_status st = ctcd_arm_parse_list(arms_arg, &arms);
        if (st) {
            ctcd_cli_fail(st);
            rc_exit = 2;
        }
    }
    if (rc_exit >= 0) {
        cli_list_free(&a.sets);
        return rc_exit;
    }
    ctcd_recipe rc;
    ctcd_status st = cli_exp_load(&a, &rc);
    const ctcd_compare_opts o = {.n_seeds = a.n_seeds, .arms = arms, .out_dir = a.out,
                                 .keep_finished = a.keep_finished, .runs_only = runs_only,
                                 .on_run = cli_exp_progress, .ctx = &a};
    ctcd_compare_summary sum;
    memset(&sum, 0, sizeof sum);
    if (!st) st = ctcd_compare_run(&rc, &o, &sum);
    cli_list_free(&a.sets);
    if (st) return ctcd_cli_fail(st);
    if (runs_only) {
        printf("runs in %s (no summary: --runs-only)\n", sum.dir);
        return 0;
    }
    printf("\n");
    ctcd_compare_print_table(stdout, &sum);
    printf("\nwrote %s/summary.md, summary.json, curves.png\n", sum.dir);
    ctcd_compare_summary_free(&sum);
    return 0;
}
