/* cmd_schedule.c — `ctcd schedule RECIPE [--set k=v]... [--no-student]`: MiniDisc
 * teacher-assistant scheduling (include/ctcd/schedule.h). The resolved recipe is written to
 * <output>/schedule.yaml beside the table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "ctcd/fileio.h"
#include "ctcd/recipe.h"
#include "ctcd/schedule.h"

static void usage(FILE *f) {
    fputs("usage: ctcd schedule RECIPE [--set KEY=VALUE]... [--no-student]\n"
          "\n"
          "MiniDisc (schedule.* keys, recipes/README.md): prunes the fine-tuned large model\n"
          "(models.large.init, or trained first into <output>/teacher) into teacher assistants\n"
          "at schedule.sparsities, trains one elastic TA for all sparsities >=\n"
          "schedule.sandwich.min_sparsity at once by the sandwich rule (distillation from the\n"
          "large model: logits + final hidden states), scores each TA as dev + lambda x\n"
          "sparsity without any trial distillation, exports the best as <output>/ta and trains\n"
          "the student (models.small) from it: kd (frozen TA) or ctcd (co-trained), per\n"
          "schedule.mode, into <output>/student. Writes schedule.md and schedule.jsonl.\n"
          "\n"
          "  --set KEY=VALUE   override a recipe key (repeatable)\n"
          "  --no-student      stop after choosing and exporting the TA\n",
          f);
}

int ctcd_cmd_schedule(int argc, char **argv) {
    const char *recipe = NULL;
    cli_list sets = {0};
    int no_student = 0;
    const cli_opt opts[] = {
        CLI_OPT_SET(&sets),
        CLI_OPT_FLAG("--no-student", &no_student),
    };
    const cli_spec sp = {"schedule", usage, opts, CLI_N(opts), "RECIPE", &recipe, 1};
    const int parsed = cli_parse(&sp, argc, argv);
    if (parsed >= 0) {
        cli_list_free(&sets);
        return parsed;
    }
    const int student = !no_student;
    ctcd_recipe *rc = malloc(sizeof *rc);
    ctcd_schedule_result *res = malloc(sizeof *res);
    ctcd_status st = rc && res ? ctcd_recipe_load(recipe, sets.v, sets.n, rc)
                               : CTCD_ERR(CTCD_E_NOMEM, "out of memory");
    cli_list_free(&sets);
    if (!st && !rc->output[0])
        st = CTCD_ERR(CTCD_E_INVALID, "%s: schedule needs output (the schedule directory)",
                      recipe);
    char path[CTCD_PATH_MAX + 32];
    if (!st) {
        snprintf(path, sizeof path, "%s/schedule.yaml", rc->output);
        st = ctcd_mkdirs(rc->output);
        if (!st) st = ctcd_recipe_write(rc, path);
    }
    if (!st) st = ctcd_schedule_run(rc, rc->output, student, res);
    if (!st) {
        printf("%-9s %12s %8s %8s %8s %s\n", "sparsity", "params", "dev", "score", "sandwich",
               "chosen");
        for (int i = 0; i < res->n; i++) {
            const ctcd_ta_row *r = &res->rows[i];
            printf("%-9.2f %12lld %8.4f %8.4f %8s %s\n", (double)r->sparsity,
                   (long long)r->params, r->dev, r->score, r->sandwich ? "yes" : "no",
                   r->chosen ? "*" : "");
        }
        printf("chosen TA: %s\n", res->ta_dir);
        if (student) printf("student: best dev %.4f (%s/student)\n", res->student_dev, rc->output);
        printf("table: %s/schedule.md\n", rc->output);
    }
    free(rc);
    free(res);
    return st ? ctcd_cli_fail(st) : 0;
}
