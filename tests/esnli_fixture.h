/* esnli_fixture.h — a tiny e-SNLI-like directory for trainer tests that must not depend on
 * the shared data (static helpers): hand-written template sentences (no e-SNLI rows), a
 * vocabulary of their words, esnli_valid.json / esnli_test.json (JSONL with premise,
 * hypothesis, label, explanation_1..3) and llm/valid_CoT_0.json (PaLM-style outputs: the
 * rationale, "Answer: <label>", then a hallucinated next example the parser must cut). */
#ifndef CTCD_ESNLI_FIXTURE_H
#define CTCD_ESNLI_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "rationale_fixture.h"

/* subject, action, an action it implies, an action it excludes */
static const char *const ESNLI_FX_SUBJ[] = {"a man", "a woman", "the dog", "two kids",
                                            "a girl", "an old man", "the boy"};
static const char *const ESNLI_FX_ACT[][3] = {
    {"runs in the park", "is outside", "sleeps in bed"},
    {"plays a guitar", "makes music", "is silent"},
    {"eats a red apple", "eats fruit", "is not eating"},
    {"swims in the lake", "is wet", "is dry at home"},
    {"reads a book", "is reading", "watches a movie"},
};
static const char *const ESNLI_FX_LABELS[3] = {"entailment", "neutral", "contradiction"};
static const char *const ESNLI_FX_WORDS =
    "a\nman\nwoman\nthe\ndog\ntwo\nkids\ngirl\nan\nold\nboy\nruns\nin\npark\nis\noutside\n"
    "sleeps\nbed\nplays\nguitar\nmakes\nmusic\nsilent\neats\nred\napple\nfruit\nnot\neating\n"
    "swims\nlake\nwet\ndry\nat\nhome\nreads\nbook\nreading\nwatches\nmovie\nfor\nprize\nif\n"
    "then\none\ncannot\nand\nonce\ndoing\nsomething\ndoes\nmean\nit\n.\n,\n";

/* Example i: label i % 3 over subject/action templates. Writes one JSONL row to f and, when
 * llm is set, the matching PaLM-style output (a JSON string, comma-separated) to llm. */
static inline void esnli_fx_row(FILE *f, FILE *llm, int i) {
    const int nS = (int)(sizeof ESNLI_FX_SUBJ / sizeof ESNLI_FX_SUBJ[0]);
    const int nA = (int)(sizeof ESNLI_FX_ACT / sizeof ESNLI_FX_ACT[0]);
    const char *s = ESNLI_FX_SUBJ[(i / 3) % nS], *const *a = ESNLI_FX_ACT[(i / 3 / nS + i) % nA];
    const int y = i % 3;
    char hyp[160], why[200];
    if (y == 0) {
        snprintf(hyp, sizeof hyp, "%s %s.", s, a[1]);
        snprintf(why, sizeof why, "if %s %s then %s %s.", s, a[0], s, a[1]);
    } else if (y == 1) {
        snprintf(hyp, sizeof hyp, "%s %s for a prize.", s, a[0]);
        snprintf(why, sizeof why, "doing something does not mean it is for a prize.");
    } else {
        snprintf(hyp, sizeof hyp, "%s %s.", s, a[2]);
        snprintf(why, sizeof why, "one cannot be %s and %s at once.", a[0], a[2]);
    }
    fprintf(f, "{\"premise\": \"%s %s.\", \"hypothesis\": \"%s\", \"label\": %d, "
               "\"explanation_1\": \"%s\", \"explanation_2\": \"%s\", \"explanation_3\": \"%s\"}\n",
            s, a[0], hyp, y, why, why, why);
    if (llm)
        fprintf(llm, "%s\"%s\\nAnswer: %s\\n\\nPremise: %s %s.\\nHypothesis: made up\"",
                i ? ",\n" : "", why, ESNLI_FX_LABELS[y], ESNLI_FX_SUBJ[0], ESNLI_FX_ACT[0][0]);
}

/* Writes <dir>/vocab.txt and <dir>/esnli/{esnli_valid.json, esnli_test.json,
 * llm/valid_CoT_0.json} with n_valid and n_test examples; returns nothing (fails the test
 * on error). */
static inline void esnli_fx_write(const char *dir, int n_valid, int n_test) {
    rat_fx_write(dir, "esnli", ESNLI_FX_WORDS, "valid", n_valid, n_test, esnli_fx_row);
}

/* A recipe for the fixture in dir: task esnli, a 1-layer pair (large 32, small 16 hidden),
 * LLM rationales with λ 0.5 and a 1-layer decoder per model, CPU backend, no output. */
static inline ctcd_recipe esnli_fx_recipe(const char *dir) {
    return rat_fx_recipe(dir, "esnli", 32, 8, 24);
}

#endif
