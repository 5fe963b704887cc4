/* cpu_step.c — examples/s of one lockstep co-training step on the CPU backend, for two
 * stated model pairs on builtin:demo batches. Prints one JSON line per pair.
 *
 * usage: cpu_step [steps]        (default 20 timed steps after 3 warm-up steps)
 * Numbers depend on the machine and OMP_NUM_THREADS; record both with the commit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/log.h"
#include "ctcd/train.h"

typedef struct pair_spec {
    const char *name;
    int layers[2], hidden[2], heads[2], inter[2];
    int batch, max_len;
} pair_spec;

static const pair_spec PAIRS[] = {
    {"demo 4L/128H + 2L/64H", {4, 2}, {128, 64}, {4, 2}, {512, 256}, 32, 64},
    {"6L/256H + 4L/128H", {6, 4}, {256, 128}, {4, 2}, {1024, 512}, 32, 64},
};

static int run_pair(const pair_spec *p, int steps) {
    ctcd_recipe r;
    ctcd_recipe_defaults(&r);
    snprintf(r.train.backend, sizeof r.train.backend, "cpu");
    r.data.max_len = p->max_len;
    r.data.demo.train_examples = (int64_t)p->batch * (steps + 8);
    r.data.demo.dev_examples = 64;
    r.train.batch = p->batch;
    r.train.max_steps = steps + 3;
    for (int i = 0; i < 2; i++) {
        ctcd_model_recipe *m = &r.models[i];
        m->present = 1;
        m->layers = p->layers[i];
        m->hidden = p->hidden[i];
        m->heads = p->heads[i];
        m->intermediate = p->inter[i];
    }
    ctcd_trainer *t = NULL;
    ctcd_status st = ctcd_trainer_create(&r, &t);
    if (st) {
        fprintf(stderr, "cpu_step: %s\n", ctcd_status_message(st));
        ctcd_status_free(st);
        return 1;
    }
    double t0 = 0;
    int64_t examples = 0, tokens = 0;
    for (int s = 0; s < steps + 3; s++) {
        const ctcd_batch *b;
        if (!ctcd_trainer_next_batch(t, &b) && !ctcd_trainer_next_batch(t, &b)) break;
        if (s == 3) t0 = ctcd_now();
        ctcd_step_stats stats;
        st = ctcd_trainer_step(t, b, &stats);
        if (st) {
            fprintf(stderr, "cpu_step: %s\n", ctcd_status_message(st));
            ctcd_status_free(st);
            ctcd_trainer_destroy(t);
            return 1;
        }
        if (s >= 3) {
            examples += b->B;
            tokens += (int64_t)b->B * b->T;
        }
    }
    const double dt = ctcd_now() - t0;
    const char *threads = getenv("OMP_NUM_THREADS");
    printf("{\"bench\":\"cpu_step\",\"pair\":\"%s\",\"params_large\":%lld,\"params_small\":%lld,"
           "\"batch\":%d,\"max_len\":%d,\"steps\":%d,\"seconds\":%.3f,\"examples_per_s\":%.1f,"
           "\"padded_tokens_per_s\":%.0f,\"omp_num_threads\":\"%s\"}\n",
           p->name, (long long)ctcd_model_n_params(ctcd_trainer_model(t, 0)),
           (long long)ctcd_model_n_params(ctcd_trainer_model(t, 1)), p->batch, p->max_len, steps,
           dt,
           (double)examples / dt, (double)tokens / dt, threads ? threads : "default");
    ctcd_trainer_destroy(t);
    return 0;
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 20;
    if (steps < 1) {
        fprintf(stderr, "usage: cpu_step [steps >= 1]\n");
        return 2;
    }
    ctcd_log_set_level(CTCD_LOG_WARN);
    int rc = 0;
    for (size_t i = 0; i < sizeof PAIRS / sizeof PAIRS[0]; i++) rc |= run_pair(&PAIRS[i], steps);
    return rc;
}
