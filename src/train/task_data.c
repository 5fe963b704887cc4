/* task_data.c — loading a GLUE task for the trainer: where its files and vocabulary are,
 * the tokenizer, the train split and every dev split (MNLI: matched and mismatched).
 * Malformed lines are skipped and reported (or fatal with data.strict). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "ctcd/log.h"
#include "train_internal.h"

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

ctcd_status ctcd_trainer_find_vocab(const ctcd_recipe *rc, char *out, size_t cap) {
    if (rc->data.vocab[0]) {
        struct stat sb;
        if (stat(rc->data.vocab, &sb) != 0)
            return CTCD_ERR(CTCD_E_IO, "data.vocab: cannot open '%s': %s", rc->data.vocab,
                            strerror(errno));
        if (!S_ISREG(sb.st_mode))
            return CTCD_ERR(CTCD_E_IO, "data.vocab: '%s' is not a file", rc->data.vocab);
        snprintf(out, cap, "%s", rc->data.vocab);
        return CTCD_OK;
    }
    for (int r = 0; r < CTCD_N_ROLES; r++) {
        if (!rc->models[r].present || !rc->models[r].init[0]) continue;
        if ((size_t)snprintf(out, cap, "%s/vocab.txt", rc->models[r].init) < cap && is_file(out))
            return CTCD_OK;
    }
    return ctcd_error_wrap(ctcd_data_find("vocab/bert-base-uncased-vocab.txt", out, cap),
                           "data.vocab is empty and no init checkpoint has a vocab.txt");
}

static void report_split(const ctcd_glue_split *s) {
    const ctcd_glue_report *r = &s->report;
    ctcd_info("%s: %lld examples%s", s->data.name, (long long)s->data.n,
              r->truncated ? "" : " (none truncated)");
    if (r->truncated)
        ctcd_info("%s: %lld examples truncated to data.max_len", s->data.name,
                  (long long)r->truncated);
    if (r->skipped)
        ctcd_warn("%s: skipped %lld malformed line(s) (data.strict: true makes them errors); "
                  "first: %s",
                  s->data.name, (long long)r->skipped, r->first_error);
}

/* Loads one split and moves its dataset into *dst, keeping the first `limit` examples.
 * lines (may be NULL) receives the malloc'd file lines of the examples kept. */
static ctcd_status load_split(ctcd_trainer *t, const char *dir, const char *split, int64_t limit,
                              ctcd_dataset *dst, int64_t **lines) {
    ctcd_glue_options opt = {.max_len = t->rc.data.max_len, .strict = t->rc.data.strict};
    ctcd_glue_split s;
    CTCD_TRY(ctcd_glue_load(t->task, dir, split, t->tok, &opt, &s));
    report_split(&s);
    *dst = s.data;
    memset(&s.data, 0, sizeof s.data);
    if (lines) {
        *lines = s.line;
        s.line = NULL;
    }
    ctcd_glue_split_free(&s);
    if (limit > 0 && dst->n > limit) {
        ctcd_info("%s: using the first %lld of %lld examples", dst->name, (long long)limit,
                  (long long)dst->n);
        dst->n = limit;
    }
    if (dst->n == 0) return CTCD_ERR(CTCD_E_INVALID, "%s/%s.tsv has no usable examples", dir, split);
    return CTCD_OK;
}

void ctcd_trainer_keep_fraction(const ctcd_trainer *t, ctcd_dataset *d) {
    const float f = t->rc.data.train_fraction;
    if (!(f > 0.0f && f < 1.0f)) return; /* 1 (the default) keeps all; 0 never validates */
    const int64_t keep = (int64_t)ceil((double)f * (double)d->n);
    if (keep >= d->n) return;
    ctcd_info("%s: data.train_fraction %g: using the first %lld of %lld examples", d->name,
              (double)f, (long long)keep, (long long)d->n);
    d->n = keep > 0 ? keep : 1;
}

ctcd_status ctcd_trainer_load_glue(ctcd_trainer *t) {
    const ctcd_recipe *rc = &t->rc;
    CTCD_TRY(ctcd_glue_task_get(rc->task, &t->task));
    t->metric = t->task->metric;
    char dir[CTCD_PATH_MAX];
    if (rc->data.dir[0]) {
        snprintf(dir, sizeof dir, "%s", rc->data.dir);
    } else {
        char rel[64];
        snprintf(rel, sizeof rel, "glue/%s", t->task->dir);
        CTCD_TRY(ctcd_error_wrap(ctcd_data_find(rel, dir, sizeof dir),
                                 "task %s: data.dir is empty", t->task->name));
    }
    CTCD_TRY(ctcd_trainer_find_vocab(rc, t->vocab_path, sizeof t->vocab_path));
    CTCD_TRY(ctcd_tokenizer_load(t->vocab_path, &t->tok));
    ctcd_info("task %s from %s, vocabulary %s", t->task->name, dir, t->vocab_path);
    int64_t *lines = NULL;
    ctcd_status st = load_split(t, dir, "train", rc->data.max_train_examples, &t->train, &lines);
    if (!st) ctcd_trainer_keep_fraction(t, &t->train);
    if (!st) st = ctcd_trainer_augment(t, dir, lines, t->train.n); /* no-op unless asked */
    free(lines);
    CTCD_TRY(st);
    for (int i = 0; i < t->task->n_dev_splits && i < CTCD_MAX_DEV_SPLITS; i++) {
        t->dev_names[i] = t->task->dev_splits[i];
        CTCD_TRY(load_split(t, dir, t->dev_names[i], rc->data.max_dev_examples, &t->dev[i], NULL));
        t->n_dev++;
    }
    return CTCD_OK;
}
