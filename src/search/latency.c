/* latency.c — measured and predicted forward latency of KD-NAS candidates
 * (include/ctcd/search.h).
 *
 * Measurement: a randomly initialised classification model of the candidate on the given
 * backend (CPU here, CUDA through the same op table), one fixed B x T batch of random ids,
 * dropout off; `warmup` untimed forwards, then the median of `reps` timed ones, each ended
 * by be->sync so that asynchronous backends are timed to completion.
 *
 * Cache: one TSV line per (arch, device, B, T) — layers, hidden, heads, intermediate,
 * device, B, T, ms, and for a per-layer arch a ninth field a4.2-i512.256 — rewritten
 * atomically after each new measurement, so a resumed or repeated search never measures the
 * same thing twice on the same device.
 *
 * Predictor: least squares of ms on [1, forward GFLOPs, parameter MB] over the measured
 * candidates: FLOPs carry the compute-bound part, parameter bytes the memory-bound part. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/batch_upload.h"
#include "ctcd/bench.h"
#include "ctcd/fileio.h"
#include "ctcd/log.h"
#include "ctcd/search.h"

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Random ids in [1, vocab), [CLS] (101 when in range) first, every position real, uploaded
 * into d; *db receives its view. */
static ctcd_status lat_batch_make(ctcd_backend *be, const ctcd_latency_opts *o,
                                  ctcd_batch_buffers *d, ctcd_batch_dev *db) {
    const size_t BT = (size_t)o->B * (size_t)o->T;
    int32_t *h = malloc(BT * 3 * sizeof *h + (size_t)o->B * sizeof *h);
    if (!h) return CTCD_ERR(CTCD_E_NOMEM, "latency: out of memory for a %d x %d batch", o->B, o->T);
    ctcd_rng r;
    ctcd_rng_init(&r, o->seed, 11);
    for (size_t k = 0; k < BT; k++) {
        const int t = (int)(k % (size_t)o->T);
        h[k] = t == 0 && o->vocab > 101 ? 101 : 1 + (int32_t)ctcd_rng_below(&r, (uint32_t)(o->vocab - 1));
        h[BT + k] = t >= o->T / 2;
        h[2 * BT + k] = 1;
    }
    for (int b = 0; b < o->B; b++) h[3 * BT + b] = b * o->T;
    const ctcd_batch b = {.B = o->B, .T = o->T, .ids = h, .types = h + BT, .mask = h + 2 * BT,
                          .cls_idx = h + 3 * BT};
    ctcd_status st = ctcd_batch_buffers_alloc(d, be, o->B, o->T, 0, 0, "latency");
    if (!st) st = ctcd_batch_buffers_upload(d, &b, db);
    free(h);
    return st;
}

ctcd_status ctcd_latency_measure(ctcd_backend *be, const ctcd_arch *a,
                                 const ctcd_latency_opts *o, double *ms) {
    if (o->B < 1 || o->T < 1 || o->reps < 1 || o->warmup < 0 || o->vocab < 2)
        return CTCD_ERR(CTCD_E_INVALID, "latency: need batch, seq, reps >= 1, warmup >= 0 and "
                        "vocab >= 2 (got %d, %d, %d, %d, %d)", o->B, o->T, o->reps, o->warmup,
                        o->vocab);
    ctcd_bert_config cfg;
    CTCD_TRY(ctcd_arch_config(a, o->vocab, o->T > 512 ? o->T : 512, o->n_labels, &cfg));
    ctcd_model *m = NULL;
    ctcd_batch_buffers d = {0};
    ctcd_batch_dev db = {0};
    double *t = calloc((size_t)o->reps, sizeof *t);
    if (!t) return CTCD_ERR(CTCD_E_NOMEM, "latency: out of memory");
    ctcd_status st = ctcd_model_create(be, &cfg, "candidate", o->B, o->T, &m);
    if (!st) ctcd_model_freeze(m); /* forward only: no gradient or optimizer memory */
    if (!st) st = ctcd_model_init_random(m, o->seed);
    if (!st) st = lat_batch_make(be, o, &d, &db);
    for (int k = 0; !st && k < o->warmup + o->reps; k++) {
        const double t0 = ctcd_now();
        st = ctcd_model_forward(m, &db, 0, 0);
        if (!st) st = be->sync(be);
        if (k >= o->warmup) t[k - o->warmup] = (ctcd_now() - t0) * 1e3;
    }
    if (!st) {
        qsort(t, (size_t)o->reps, sizeof *t, cmp_double);
        *ms = o->reps % 2 ? t[o->reps / 2] : 0.5 * (t[o->reps / 2 - 1] + t[o->reps / 2]);
    }
    free(t);
    ctcd_batch_buffers_free(&d);
    ctcd_model_destroy(m);
    return st;
}

/* ---- cache ---- */

static ctcd_status cache_push(ctcd_latency_cache *c, const ctcd_latency_entry *e) {
    if (c->n == c->cap) {
        const int cap = c->cap ? 2 * c->cap : 32;
        ctcd_latency_entry *ne = realloc(c->e, (size_t)cap * sizeof *ne);
        if (!ne) return CTCD_ERR(CTCD_E_NOMEM, "latency cache: out of memory");
        c->e = ne;
        c->cap = cap;
    }
    c->e[c->n++] = *e;
    return CTCD_OK;
}

ctcd_status ctcd_latency_cache_open(ctcd_latency_cache *c, const char *path) {
    memset(c, 0, sizeof *c);
    c->measure = ctcd_latency_measure;
    if (!path || !*path) return CTCD_OK;
    snprintf(c->path, sizeof c->path, "%s", path);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return CTCD_OK;
        return CTCD_ERR(CTCD_E_IO, "%s: cannot open the latency cache: %s", path, strerror(errno));
    }
    char line[1024];
    int lineno = 0;
    ctcd_status st = CTCD_OK;
    while (!st && fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n') continue;
        ctcd_latency_entry e = {0};
        char layers[400] = "";
        const int got = sscanf(line, "%d\t%d\t%d\t%d\t%63[^\t]\t%d\t%d\t%lf\t%399[^\t\n]",
                               &e.arch.v[0], &e.arch.v[1], &e.arch.v[2], &e.arch.v[3], e.device,
                               &e.B, &e.T, &e.ms, layers);
        const int inter = e.arch.v[CTCD_DIM_INTER];
        if (got < 8 || (got == 9 && (ctcd_arch_layers_parse(layers, &e.arch) ||
                                     e.arch.v[CTCD_DIM_INTER] != inter)))
            st = CTCD_ERR(CTCD_E_PARSE, "%s:%d: expected layers, hidden, heads, intermediate, "
                          "device, batch, seq, ms (and for a per-layer arch its layers, "
                          "a4.2-i512.256) separated by tabs", path, lineno);
        else
            st = cache_push(c, &e);
    }
    fclose(f);
    if (st) ctcd_latency_cache_close(c);
    return st;
}

void ctcd_latency_cache_close(ctcd_latency_cache *c) {
    free(c->e);
    c->e = NULL;
    c->n = c->cap = 0;
}

static ctcd_status cache_save(const ctcd_latency_cache *c) {
    if (!c->path[0]) return CTCD_OK;
    ctcd_atomic_file af;
    CTCD_TRY(ctcd_atomic_open(&af, c->path));
    ctcd_status st = CTCD_OK;
    const char *head = "# layers\thidden\theads\tintermediate\tdevice\tbatch\tseq\tms\n";
    st = ctcd_atomic_write(&af, head, strlen(head));
    for (int i = 0; !st && i < c->n; i++) {
        const ctcd_latency_entry *e = &c->e[i];
        char line[768], layers[400];
        ctcd_arch_layers_str(&e->arch, layers, sizeof layers);
        const int n = snprintf(line, sizeof line, "%d\t%d\t%d\t%d\t%s\t%d\t%d\t%.6f%s%s\n",
                               e->arch.v[0], e->arch.v[1], e->arch.v[2], e->arch.v[3],
                               e->device, e->B, e->T, e->ms, layers[0] ? "\t" : "", layers);
        st = ctcd_atomic_write(&af, line, (size_t)n);
    }
    if (st) {
        ctcd_atomic_abort(&af);
        return st;
    }
    return ctcd_atomic_commit(&af);
}

/* Device names keep no tabs or newlines (they are TSV fields). */
static void device_key(const ctcd_backend *be, char out[64]) {
    snprintf(out, 64, "%s", be->device_name ? be->device_name : be->name);
    for (char *p = out; *p; p++)
        if (*p == '\t' || *p == '\n' || *p == '\r') *p = ' ';
}

ctcd_status ctcd_latency_get(ctcd_latency_cache *c, ctcd_backend *be, const ctcd_arch *a,
                             const ctcd_latency_opts *o, double *ms, int *measured) {
    char dev[64];
    device_key(be, dev);
    for (int i = 0; i < c->n; i++) {
        const ctcd_latency_entry *e = &c->e[i];
        if (!memcmp(&e->arch, a, sizeof *a) && e->B == o->B && e->T == o->T &&
            !strcmp(e->device, dev)) {
            *ms = e->ms;
            if (measured) *measured = 0;
            return CTCD_OK;
        }
    }
    ctcd_latency_entry e = {.arch = *a, .B = o->B, .T = o->T};
    memcpy(e.device, dev, sizeof e.device);
    c->n_measured++;
    CTCD_TRY(c->measure(be, a, o, &e.ms));
    CTCD_TRY(cache_push(c, &e));
    CTCD_TRY(cache_save(c));
    *ms = e.ms;
    if (measured) *measured = 1;
    return CTCD_OK;
}

/* ---- predictor ---- */

void ctcd_latency_features(const ctcd_arch *a, const ctcd_latency_opts *o,
                           double f[CTCD_LAT_NFEAT]) {
    ctcd_bert_config cfg;
    ctcd_status st = ctcd_arch_config(a, o->vocab, o->T > 512 ? o->T : 512,
                                      o->n_labels, &cfg);
    CTCD_ASSERT(!st, "latency features of an invalid architecture: %s",
                ctcd_status_message(st));
    f[0] = 1.0;
    f[1] = ctcd_bert_forward_flops(&cfg, o->B, o->T, o->B) * 1e-9;
    f[2] = (double)ctcd_arch_n_params(a, o->vocab, o->n_labels) * 4e-6;
}

ctcd_status ctcd_latency_fit(ctcd_latency_model *m, const ctcd_arch *a, const double *ms, int n,
                             const ctcd_latency_opts *o) {
    m->fitted = 0;
    if (n < CTCD_LAT_NFEAT)
        return CTCD_ERR(CTCD_E_INVALID, "latency predictor: need %d measured candidates, have %d",
                        CTCD_LAT_NFEAT, n);
    double *X = malloc((size_t)n * CTCD_LAT_NFEAT * sizeof *X);
    if (!X) return CTCD_ERR(CTCD_E_NOMEM, "latency predictor: out of memory");
    for (int i = 0; i < n; i++) ctcd_latency_features(&a[i], o, X + (size_t)i * CTCD_LAT_NFEAT);
    ctcd_status st = ctcd_lstsq(X, ms, n, CTCD_LAT_NFEAT, 0.0, 1, m->w);
    free(X);
    if (!st) m->fitted = 1;
    return st;
}

double ctcd_latency_predict(const ctcd_latency_model *m, const ctcd_arch *a,
                            const ctcd_latency_opts *o) {
    double f[CTCD_LAT_NFEAT], y = 0;
    ctcd_latency_features(a, o, f);
    for (int k = 0; k < CTCD_LAT_NFEAT; k++) y += m->w[k] * f[k];
    return y;
}
