/* rationale_fixture.h — what the hand-written rationale-task fixtures (esnli_fixture.h,
 * cqa_fixture.h) share (static helpers): the task directory with its vocabulary, opening
 * its files, and the recipe of a tiny co-trained pair with decoders on the CPU backend. */
#ifndef CTCD_RATIONALE_FIXTURE_H
#define CTCD_RATIONALE_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ctcd/fileio.h"
#include "ctcd/recipe.h"
#include "testutil.h"

/* Writes <dir>/vocab.txt (the BERT specials, then `words`) and creates <dir>/<task>/llm. */
static inline void rat_fx_prepare(const char *dir, const char *task, const char *words) {
    char path[4200];
    snprintf(path, sizeof path, "%.4000s/vocab.txt", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fprintf(f, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n%s", words);
    fclose(f);
    snprintf(path, sizeof path, "%.4000s/%s/llm", dir, task);
    ctcd_status st = ctcd_mkdirs(path);
    cr_assert_null(st, "%s", ctcd_status_message(st));
}

/* Opens <dir>/<task>/<name> for writing (fails the test when it cannot). */
static inline FILE *rat_fx_open(const char *dir, const char *task, const char *name) {
    char path[4200];
    snprintf(path, sizeof path, "%.4000s/%s/%s", dir, task, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    return f;
}

/* Writes the fixture of `task` into dir: vocab.txt of `words`, <task>/<task>_<split>.json
 * with n_train rows (row(f, llm, i), i = 0…) and llm/<split>_CoT_0.json with their LLM
 * outputs, and <task>/<task>_test.json with n_test rows (i = 1000…, no LLM outputs). row
 * writes one JSONL row to f and, when llm is set, its output (a JSON string, comma-separated
 * after the first). */
typedef void (*rat_fx_row_fn)(FILE *f, FILE *llm, int i);
static inline void rat_fx_write(const char *dir, const char *task, const char *words,
                                const char *split, int n_train, int n_test, rat_fx_row_fn row) {
    rat_fx_prepare(dir, task, words);
    char name[128];
    snprintf(name, sizeof name, "%s_%s.json", task, split);
    FILE *f = rat_fx_open(dir, task, name);
    snprintf(name, sizeof name, "llm/%s_CoT_0.json", split);
    FILE *llm = rat_fx_open(dir, task, name);
    fputs("[", llm);
    for (int i = 0; i < n_train; i++) row(f, llm, i);
    fputs("]\n", llm);
    fclose(f);
    fclose(llm);
    snprintf(name, sizeof name, "%s_test.json", task);
    f = rat_fx_open(dir, task, name);
    for (int i = 0; i < n_test; i++) row(f, NULL, 1000 + i);
    fclose(f);
}

/* A recipe for the fixture of `task` in dir: a 1-layer pair (large 32, small 16 hidden),
 * LLM rationales with λ 0.5 and a 1-layer decoder per model, lr 3e-3, no warmup, CPU
 * backend, no output; inputs cut to max_len tokens, rationales to rat_max_len, batches of
 * `batch`. */
static inline ctcd_recipe rat_fx_recipe(const char *dir, const char *task, int max_len,
                                        int batch, int rat_max_len) {
    ctcd_recipe r;
    ctcd_recipe_defaults(&r);
    snprintf(r.task, sizeof r.task, "%s", task);
    snprintf(r.data.vocab, sizeof r.data.vocab, "%.900s/vocab.txt", dir);
    snprintf(r.rationale.dir, sizeof r.rationale.dir, "%.900s/%s", dir, task);
    ctcd_model_recipe *L = &r.models[CTCD_LARGE], *S = &r.models[CTCD_SMALL];
    L->present = S->present = 1;
    L->layers = 1; L->hidden = 32; L->heads = 2; L->intermediate = 64;
    S->layers = 1; S->hidden = 16; S->heads = 2; S->intermediate = 32;
    r.train.warmup = 0.0f;
    r.train.lr[CTCD_LARGE] = r.train.lr[CTCD_SMALL] = 3e-3f;
    snprintf(r.rationale.source, sizeof r.rationale.source, "llm");
    r.rationale.lambda = 0.5f;
    r.rationale.decoder.layers = 1;
    snprintf(r.train.backend, sizeof r.train.backend, "cpu");
    r.output[0] = '\0';
    r.data.max_len = max_len;
    r.train.batch = batch;
    r.rationale.max_len = rat_max_len;
    return r;
}

#endif
