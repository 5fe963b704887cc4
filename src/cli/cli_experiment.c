/* cli_experiment.c — common options and progress lines of `ctcd compare` and `ctcd sweep`
 * (cli_experiment.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_experiment.h"
#include "ctcd/log.h"

static int verbose_requested = 0;

int cli_exp_option(int argc, char **argv, int *i, cli_exp_args *a) {
    const char *s = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (strcmp(s, "--set") == 0 || strcmp(s, "--seeds") == 0 || strcmp(s, "--out") == 0) {
        if (!v) {
            fprintf(stderr, "ctcd %s: %s needs a value\n", a->cmd, s);
            return -1;
        }
        (*i)++;
        if (strcmp(s, "--set") == 0) {
            a->sets[a->n_sets++] = v;
        } else if (strcmp(s, "--out") == 0) {
            a->out = v;
        } else {
            char *end;
            const long n = strtol(v, &end, 10);
            if (!*v || *end || n < 1 || n > CTCD_MAX_SEEDS) {
                fprintf(stderr, "ctcd %s: --seeds must be an integer in 1..%d (got '%s')\n",
                        a->cmd, CTCD_MAX_SEEDS, v);
                return -1;
            }
            a->n_seeds = (int)n;
        }
        return 1;
    }
    if (strncmp(s, "--set=", 6) == 0) {
        a->sets[a->n_sets++] = s + 6;
        return 1;
    }
    if (strcmp(s, "--quiet") == 0) {
        a->quiet = 1;
        return 1;
    }
    if (strcmp(s, "--verbose") == 0) {
        verbose_requested = 1;
        return 1;
    }
    return 0;
}

ctcd_status cli_exp_load(const cli_exp_args *a, ctcd_recipe *rc) {
    ctcd_log_set_level(verbose_requested ? CTCD_LOG_INFO : CTCD_LOG_WARN);
    return ctcd_recipe_load(a->recipe, a->sets, a->n_sets, rc);
}

void cli_exp_progress(void *ctx, const ctcd_run_event *ev) {
    const cli_exp_args *a = ctx;
    if (a->quiet) return;
    ctcd_progress_end();
    if (!ev->done) {
        fprintf(stderr, "[%d/%d] %s seed %llu: training -> %s\n", ev->index, ev->total,
                ev->label, (unsigned long long)ev->seed, ev->dir);
    } else {
        char scores[256] = "";
        size_t n = 0;
        for (int i = 0; ev->final && i < ev->final->n_models && n < sizeof scores; i++)
            n += (size_t)snprintf(scores + n, sizeof scores - n, "%s%s %.4f", i ? ", " : "",
                                  ev->final->models[i].name, ev->final->models[i].score);
        fprintf(stderr, "[%d/%d] %s seed %llu: done in %.1f s, dev score (%s): %s\n", ev->index,
                ev->total, ev->label, (unsigned long long)ev->seed, ev->seconds,
                ev->final ? ev->final->task_metric : "", scores);
    }
    fflush(stderr);
}
