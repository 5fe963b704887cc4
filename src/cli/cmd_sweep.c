/* cmd_sweep.c — `ctcd sweep RECIPE --grid key=v1,v2,... [--grid ...] [--seeds N]`: every point
 * of the grid's cartesian product as a CTCD run over N seeds, then DIR/sweep.md and
 * DIR/sweep.json and the table on stdout (src/experiment/sweep.c does the work). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_experiment.h"

static void usage(FILE *f) {
    fputs("usage: ctcd sweep RECIPE --grid KEY=V1,V2,... [--grid ...] [options]\n"
          "\n"
          "Runs the cartesian product of the grids, each point a CTCD run (both models,\n"
          "both mutual weights on; a recipe weight at 0 becomes 1 unless the grid sets it;\n"
          "a recipe with one model trains that model alone)\n"
          "over N seeds (train.seed, train.seed+1, ...) in DIR/<point>/seed<seed>/, then\n"
          "writes DIR/sweep.md and DIR/sweep.json: the task score of each model per point,\n"
          "mean ± std over seeds, the best point per model marked with '*'.\n"
          "\n"
          "options:\n"
          "  --grid KEY=V1,V2  a recipe key and its values, e.g. distill.temperature=1,2,4\n"
          "                    or distill.mutual.small_to_large=0.5,1 (repeatable)\n"
          "  --seeds N         seeds per point (default 1)\n"
          "  --set KEY=VALUE   override a recipe key (repeatable)\n"
          "  --out DIR         experiment directory (default: the recipe's output, else\n"
          "                    runs/sweep-<recipe name>)\n"
          "  --keep-finished   keep runs already finished in DIR (every step trained, the\n"
          "                    final evaluation made, the same recipe) instead of training\n"
          "                    them again: an interrupted experiment goes on where it\n"
          "                    stopped; runs made by other processes (e.g. arms in parallel)\n"
          "                    are summarised\n"
          "  --quiet           no per-run progress lines\n"
          "  --verbose         the runs' own logs too\n"
          "  -h, --help        this help\n",
          f);
}

int ctcd_cmd_sweep(int argc, char **argv) {
    cli_exp_args a = {.cmd = "sweep", .n_seeds = 1};
    cli_list grids = {0};
    const cli_opt opts[] = {CLI_EXP_OPTS(a),
                            {.name = "--grid", .kind = CLI_LIST, .dst = &grids, .required = 1}};
    const cli_spec sp = {"sweep", usage, opts, CLI_N(opts), "RECIPE", &a.recipe, 1};
    const int rc_exit = cli_parse(&sp, argc, argv);
    ctcd_recipe rc;
    ctcd_grid *grid = calloc(1, sizeof *grid);
    ctcd_status st = CTCD_OK;
    if (rc_exit < 0)
        st = grid ? cli_exp_load(&a, &rc) : CTCD_ERR(CTCD_E_NOMEM, "out of memory");
    for (int g = 0; rc_exit < 0 && !st && g < grids.n; g++)
        st = ctcd_grid_add(grid, grids.v[g], &rc);
    ctcd_sweep_summary sum;
    memset(&sum, 0, sizeof sum);
    if (rc_exit < 0 && !st) {
        const ctcd_sweep_opts o = {.n_seeds = a.n_seeds, .out_dir = a.out,
                                   .keep_finished = a.keep_finished,
                                   .on_run = cli_exp_progress, .ctx = &a};
        st = ctcd_sweep_run(&rc, grid, &o, &sum);
    }
    cli_list_free(&a.sets);
    cli_list_free(&grids);
    free(grid);
    if (rc_exit >= 0) return rc_exit;
    if (st) return ctcd_cli_fail(st);
    printf("\n");
    ctcd_sweep_print_table(stdout, &sum);
    printf("\nwrote %s/sweep.md, sweep.json\n", sum.dir);
    ctcd_sweep_summary_free(&sum);
    return 0;
}
