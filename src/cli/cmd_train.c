/* cmd_train.c — `ctcd train RECIPE [--set key=value]...`: loads and validates the recipe,
 * runs the lockstep co-training, and prints a table of dev results per model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctcd/log.h"
#include "ctcd/train.h"

static void usage(FILE *f) {
    fputs("usage: ctcd train RECIPE [options]\n"
          "\n"
          "Co-trains the models of RECIPE (models.large and/or models.small) in lockstep on\n"
          "the same batches with the fused bidirectional distillation loss, evaluates them on\n"
          "the dev set and prints a results table. See recipes/README.md for every key.\n"
          "\n"
          "options:\n"
          "  --set KEY=VALUE   override a recipe key, e.g. --set train.lr.small=1e-4\n"
          "                    (repeatable; applied after the file, before validation)\n"
          "  --quiet           only errors and the final table\n"
          "  --verbose         debug messages\n"
          "  -h, --help        this help\n",
          f);
}

static void print_table(const ctcd_trainer *t, const ctcd_eval_result *r) {
    const ctcd_metric_set *m0 = &r->m[0];
    printf("\nresults on %s dev (%lld examples; task metric %s)\n", t->rc.task,
           (long long)r->examples, r->task_metric);
    printf("%-8s %7s %7s %6s %10s", "model", "layers", "hidden", "heads", "params");
    for (int k = 0; k < m0->n; k++) printf(" %9s", m0->names[k]);
    if (m0->n > 1) printf(" %9s", "score");
    printf("\n");
    for (int i = 0; i < t->n_models; i++) {
        const ctcd_model *m = t->models[i];
        const ctcd_metric_set *ms = &r->m[i];
        printf("%-8s %7d %7d %6d %9.2fM", m->name, m->cfg.n_layers, m->cfg.hidden,
               m->cfg.n_heads, (double)ctcd_model_n_params(m) / 1e6);
        for (int k = 0; k < ms->n; k++) printf(" %9.4f", ms->values[k]);
        if (ms->n > 1) printf(" %9.4f", ms->score);
        printf("\n");
    }
    fflush(stdout);
}

int ctcd_cmd_train(int argc, char **argv) {
    const char *recipe_path = NULL;
    const char **sets = calloc((size_t)argc, sizeof *sets);
    int n_sets = 0;
    if (!sets) return ctcd_cli_fail(CTCD_ERR(CTCD_E_NOMEM, "out of memory"));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            free(sets);
            return 0;
        } else if (strcmp(a, "--set") == 0 && i + 1 < argc) {
            sets[n_sets++] = argv[++i];
        } else if (strncmp(a, "--set=", 6) == 0) {
            sets[n_sets++] = a + 6;
        } else if (strcmp(a, "--quiet") == 0) {
            ctcd_log_set_level(CTCD_LOG_WARN);
        } else if (strcmp(a, "--verbose") == 0) {
            ctcd_log_set_level(CTCD_LOG_DEBUG);
        } else if (a[0] == '-') {
            fprintf(stderr, "ctcd train: unknown option '%s'%s\n\n", a,
                    strcmp(a, "--set") == 0 ? " (needs KEY=VALUE)" : "");
            usage(stderr);
            free(sets);
            return 2;
        } else if (!recipe_path) {
            recipe_path = a;
        } else {
            fprintf(stderr, "ctcd train: more than one recipe given ('%s' and '%s')\n",
                    recipe_path, a);
            free(sets);
            return 2;
        }
    }
    if (!recipe_path) {
        fputs("ctcd train: missing RECIPE\n\n", stderr);
        usage(stderr);
        free(sets);
        return 2;
    }
    ctcd_recipe rc;
    ctcd_status st = ctcd_recipe_load(recipe_path, sets, n_sets, &rc);
    free(sets);
    if (st) return ctcd_cli_fail(st);
    ctcd_trainer *t = NULL;
    st = strcmp(rc.task, "mlm") == 0 ? ctcd_pretrainer_create(&rc, &t)
                                     : ctcd_trainer_create(&rc, &t);
    if (st) return ctcd_cli_fail(st);
    ctcd_eval_result res;
    st = ctcd_trainer_run(t, &res);
    if (st) {
        ctcd_trainer_destroy(t);
        return ctcd_cli_fail(st);
    }
    print_table(t, &res);
    ctcd_trainer_destroy(t);
    return 0;
}
