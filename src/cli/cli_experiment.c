/* cli_experiment.c — progress lines and recipe loading of `ctcd compare` and `ctcd sweep`
 * (cli_experiment.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_experiment.h"
#include "ctcd/log.h"

ctcd_status cli_exp_load(const cli_exp_args *a, ctcd_recipe *rc) {
    ctcd_log_set_level(a->verbose ? CTCD_LOG_INFO : CTCD_LOG_WARN);
    return ctcd_recipe_load(a->recipe, a->sets.v, a->sets.n, rc);
}

void cli_exp_progress(void *ctx, const ctcd_run_event *ev) {
    const cli_exp_args *a = ctx;
    if (a->quiet) return;
    ctcd_progress_end();
    if (ev->kept) {
        fprintf(stderr, "[%d/%d] %s seed %llu: finished earlier, kept (%s)\n", ev->index,
                ev->total, ev->label, (unsigned long long)ev->seed, ev->dir);
    } else if (!ev->done) {
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
