/* resume_fixture.h — helpers for the resume suites (static): a run that records every
 * step's loss terms through ctcd_trainer_run's on_step hook and can stop itself at a given
 * step as SIGINT would, host copies of a trainer's master weights and moments, and
 * comparison of run-directory logs. */
#ifndef CTCD_RESUME_FIXTURE_H
#define CTCD_RESUME_FIXTURE_H

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/resume.h"
#include "testutil.h"
#include "trainer_fixture.h"

#define REC_MAX_STEPS 256

typedef struct step_record {
    float terms[REC_MAX_STEPS][CTCD_LOSS_NTERMS]; /* [step - 1] */
    int64_t stop_at;                              /* request a stop after this step, 0 = no */
    int64_t first, last;                          /* steps recorded (1-based) */
} step_record;

static inline void record_step(ctcd_trainer *t, const ctcd_step_stats *s, void *ctx) {
    step_record *r = ctx;
    const int64_t step = ctcd_trainer_progress(t).step;
    cr_assert_leq(step, REC_MAX_STEPS, "test run longer than REC_MAX_STEPS");
    memcpy(r->terms[step - 1], s->terms, sizeof s->terms);
    if (!r->first) r->first = step;
    r->last = step;
    if (step == r->stop_at) ctcd_interrupt_request(SIGINT);
}

/* Recorded loss terms of steps from..to of two runs are bitwise equal. */
static inline void assert_same_terms(const step_record *a, const step_record *b, int64_t from,
                                     int64_t to) {
    for (int64_t s = from; s <= to; s++)
        for (int k = 0; k < CTCD_LOSS_NTERMS; k++)
            cr_assert(memcmp(&a->terms[s - 1][k], &b->terms[s - 1][k], sizeof(float)) == 0,
                      "step %lld loss term %d differs: %.9g uninterrupted vs %.9g resumed",
                      (long long)s, k, (double)a->terms[s - 1][k], (double)b->terms[s - 1][k]);
}

/* r as a 2-epoch run writing its run directory to out: every step logged, a mutual-weight
 * ramp of ramp_steps. */
static inline ctcd_recipe two_epoch_run(ctcd_recipe r, int ramp_steps, const char *out) {
    r.train.max_steps = 0;
    r.train.epochs = 2;
    r.train.log_every = 1;
    r.distill.ramp_steps = ramp_steps;
    snprintf(r.output, sizeof r.output, "%s", out);
    return r;
}

/* A 2-epoch builtin:demo pair (13 steps per epoch, the last one a short batch of 8), dropout
 * on, a mutual-weight ramp and warmup, writing its run directory to dir. */
static inline ctcd_recipe resume_recipe(const char *dir) {
    ctcd_recipe r = small_demo_recipe();
    r.data.demo.train_examples = 200;
    return two_epoch_run(r, 20, dir);
}

/* Turns a rationale fixture's pair recipe (esnli_fixture.h, cqa_fixture.h) into a 2-epoch
 * run writing to out: every step logged, a 4-step mutual ramp, the decoders' mutual KL 0.5. */
static inline ctcd_recipe rationale_run_recipe(ctcd_recipe r, const char *out) {
    r.rationale.mutual_kl = 0.5f;
    return two_epoch_run(r, 4, out);
}

/* Runs t to its end (or its stop) recording steps into rec. */
static inline void run_recorded(ctcd_trainer *t, step_record *rec, ctcd_eval_result *res) {
    ctcd_trainer_set_on_step(t, record_step, rec);
    ctcd_status st = ctcd_trainer_run(t, res);
    cr_assert_null(st, "run: %s", ctcd_status_message(st));
}

/* Host copy of master, adam_m and adam_v of slot i (3 · n_total floats, caller frees). */
static inline float *download_state(const ctcd_trainer *t, int i) {
    const ctcd_model *m = ctcd_trainer_model(t, i);
    const size_t n = (size_t)m->lay.n_total;
    float *h = malloc(3 * n * sizeof(float));
    cr_assert_not_null(h);
    cr_assert_null(ctcd_model_download_params(m, h));
    cr_assert_null(m->be->download(m->be, h + n, m->ps.adam_m, n * sizeof(float)));
    cr_assert_null(m->be->download(m->be, h + 2 * n, m->ps.adam_v, n * sizeof(float)));
    return h;
}

/* Asserts two host states of slot i are bitwise equal, naming the first differing element. */
static inline void assert_same_state(const ctcd_trainer *t, int i, const float *a,
                                     const float *b) {
    const ctcd_model *m = ctcd_trainer_model(t, i);
    const int64_t n = m->lay.n_total;
    static const char *const what[3] = {"master", "adam_m", "adam_v"};
    for (int k = 0; k < 3; k++)
        if (memcmp(a + k * n, b + k * n, (size_t)n * sizeof(float)) != 0)
            for (int64_t j = 0; j < n; j++)
                cr_assert(memcmp(&a[k * n + j], &b[k * n + j], sizeof(float)) == 0,
                          "%s.%s[%lld] differs: %.9g vs %.9g", m->name, what[k],
                          (long long)j, (double)a[k * n + j], (double)b[k * n + j]);
}

static inline char *path_in(const char *dir, const char *name) {
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

/* The file's text without the fields that differ from run to run in log.jsonl: timing
 * ("examples_per_s":N, "examples_per_s_per_rank":N,) and the process's memory ("host_peak_rss_mb":N, and the device's). */
static inline char *read_log(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    static const char *const keys[] = {"\"examples_per_s\":", "\"examples_per_s_per_rank\":",
                                       "\"host_peak_rss_mb\":",
                                       "\"device_mem_used_mb\":", "\"device_mem_total_mb\":"};
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap), line[4096];
    while (fgets(line, sizeof line, f)) {
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            char *k = strstr(line, keys[i]);
            char *comma = k ? strchr(k, ',') : NULL;
            if (comma) memmove(k, comma + 1, strlen(comma + 1) + 1);
        }
        const size_t len = strlen(line);
        if (n + len + 1 > cap) out = realloc(out, cap = 2 * (n + len + 1));
        memcpy(out + n, line, len);
        n += len;
    }
    out[n] = '\0';
    fclose(f);
    return out;
}

static inline void assert_same_file(const char *a_dir, const char *b_dir, const char *name) {
    char *pa = path_in(a_dir, name), *pb = path_in(b_dir, name);
    char *a = read_log(pa), *b = read_log(pb);
    size_t i = 0;
    while (a[i] && a[i] == b[i]) i++;
    cr_assert(a[i] == b[i], "%s and %s differ at byte %zu:\n%.200s\nvs\n%.200s", pa, pb, i,
              a + i, b + i);
    free(a);
    free(b);
    free(pa);
    free(pb);
}

/* The end of a resume check on the resumed trainer t: each model's weights and moments equal
 * the uninterrupted run's (want[i], freed here) and so does its final dev score (ra vs rc);
 * then t is destroyed and the run directories' eval.jsonl and log.jsonl must be equal. */
static inline void assert_resumed_like_straight(ctcd_trainer *t, float **want,
                                                const ctcd_eval_result *ra,
                                                const ctcd_eval_result *rc,
                                                const char *straight_dir, const char *split_dir) {
    for (int i = 0; i < ctcd_trainer_n_models(t); i++) {
        float *got = download_state(t, i);
        assert_same_state(t, i, want[i], got);
        free(got);
        free(want[i]);
        cr_assert(memcmp(&ra->m[i].score, &rc->m[i].score, sizeof(double)) == 0,
                  "final dev score of %s: %.9g vs %.9g", ctcd_trainer_model(t, i)->name,
                  ra->m[i].score, rc->m[i].score);
    }
    ctcd_trainer_destroy(t);
    assert_same_file(straight_dir, split_dir, "eval.jsonl");
    assert_same_file(straight_dir, split_dir, "log.jsonl");
}

#endif
