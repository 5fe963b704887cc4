/* cmd_glue_table.c — `ctcd glue-table RUN_DIR... [--best]`: the GLUE-score table of runs of
 * different tasks, read from each run's eval.jsonl (src/experiment/glue_table.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctcd/experiment.h"

static void usage(FILE *f) {
    fputs("usage: ctcd glue-table RUN_DIR... [--best]\n"
          "\n"
          "Prints the GLUE-score table of runs of different tasks (one run per task): a row\n"
          "per model, a column per task with its task score (MRPC/QQP: mean of accuracy and\n"
          "F1, STS-B: of Pearson and Spearman, MNLI: of matched and mismatched), and the GLUE\n"
          "score, the unweighted mean of the task scores ('-' when a model lacks a task).\n"
          "RUN_DIR is a run directory with eval.jsonl (or the eval.jsonl file itself).\n"
          "\n"
          "options:\n"
          "  --best            each model's best evaluation of a run (default: the last)\n"
          "  -h, --help        this help\n",
          f);
}

int ctcd_cmd_glue_table(int argc, char **argv) {
    const char **dirs = calloc((size_t)argc, sizeof *dirs);
    if (!dirs) return ctcd_cli_fail(CTCD_ERR(CTCD_E_NOMEM, "out of memory"));
    int n = 0, best = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            usage(stdout);
            free(dirs);
            return 0;
        } else if (strcmp(s, "--best") == 0) {
            best = 1;
        } else if (s[0] == '-') {
            fprintf(stderr, "ctcd glue-table: unknown option '%s'\n\n", s);
            usage(stderr);
            free(dirs);
            return 2;
        } else {
            dirs[n++] = s;
        }
    }
    if (n == 0) {
        fputs("ctcd glue-table: missing RUN_DIR\n\n", stderr);
        usage(stderr);
        free(dirs);
        return 2;
    }
    ctcd_glue_table t;
    ctcd_status st = ctcd_glue_table_read(dirs, n, best, &t);
    free(dirs);
    if (st) return ctcd_cli_fail(st);
    printf("GLUE dev, %s evaluation of each run; task scores as fractions\n\n",
           best ? "best" : "last");
    ctcd_glue_table_print(stdout, &t);
    return 0;
}
