/* cqa_fixture.h — a tiny CommonsenseQA-like directory for tests that must not depend on the
 * shared data (static helpers): hand-written template questions (no CQA rows), a vocabulary
 * of their words, cqa_train.json / cqa_test.json (JSONL with id, question, choices,
 * answer, abstractive_explanation) and llm/train_CoT_0.json (PaLM-style outputs: the
 * rationale, "So the answer is (x) <choice>.", then a hallucinated next question the
 * parser must cut). Row i asks where object i % 5 is found; the choices are the five
 * places rotated by 2·i + 1, so the answer's index varies (cqa_fx_answer). Every
 * seventh LLM output names a wrong choice and every eleventh one a place that is no
 * choice ("moon"). */
#ifndef CTCD_CQA_FIXTURE_H
#define CTCD_CQA_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "rationale_fixture.h"

#define CQA_FX_K 5
static const char *const CQA_FX_OBJ[CQA_FX_K] = {"swing", "stove", "book", "fish", "flower"};
static const char *const CQA_FX_PLACE[CQA_FX_K] = {"park", "kitchen", "library", "lake",
                                                   "garden"};
static const char *const CQA_FX_WORDS =
    "where\nwould\nyou\nfind\na\nswing\nstove\nbook\nfish\nflower\npark\nkitchen\nlibrary\n"
    "lake\ngarden\nis\nin\nfound\nso\nthe\nanswer\nmoon\nthing\n?\n.\n(\n)\n";

/* Choice k of row i, and the index of row i's answer. */
static inline const char *cqa_fx_choice(int i, int k) {
    return CQA_FX_PLACE[(k + 2 * i + 1) % CQA_FX_K];
}
static inline int cqa_fx_answer(int i) { return (4 * (i % CQA_FX_K) + 4) % CQA_FX_K; }

/* The LLM's stated choice for row i: -1 = "moon" (no choice), else an index. */
static inline int cqa_fx_llm_choice(int i) {
    if (i % 11 == 10) return -1;
    if (i % 7 == 6) return (cqa_fx_answer(i) + 1) % CQA_FX_K;
    return cqa_fx_answer(i);
}

/* Writes row i to f (JSONL) and, when llm is set, its PaLM-style output (a JSON string,
 * comma-separated) to llm. */
static inline void cqa_fx_row(FILE *f, FILE *llm, int i) {
    const char *obj = CQA_FX_OBJ[i % CQA_FX_K];
    const int y = cqa_fx_answer(i);
    cr_assert_str_eq(cqa_fx_choice(i, y), CQA_FX_PLACE[i % CQA_FX_K], "fixture answer index");
    fprintf(f, "{\"id\": \"fx%d\", \"question\": \"where would you find a %s ?\", \"choices\": [",
            i, obj);
    for (int k = 0; k < CQA_FX_K; k++) fprintf(f, "%s\"%s\"", k ? ", " : "", cqa_fx_choice(i, k));
    fprintf(f, "], \"answer\": \"%s\", \"abstractive_explanation\": \"a %s is in a %s .\"}\n",
            cqa_fx_choice(i, y), obj, cqa_fx_choice(i, y));
    if (llm) {
        const int c = cqa_fx_llm_choice(i);
        fprintf(llm, "%s\"a %s is found in the %s . So the answer is (%c) %s.\\n\\nQ: where "
                     "is a thing ?\\nAnswer Choices:\\n(a) park\"",
                i ? ",\n" : "", obj, c < 0 ? "moon" : cqa_fx_choice(i, c), 'a' + (c < 0 ? 1 : c),
                c < 0 ? "moon" : cqa_fx_choice(i, c));
    }
}

/* Writes <dir>/vocab.txt and <dir>/cqa/{cqa_train.json, cqa_test.json, llm/train_CoT_0.json}
 * (fails the test on error). */
static inline void cqa_fx_write(const char *dir, int n_train, int n_test) {
    rat_fx_write(dir, "cqa", CQA_FX_WORDS, "train", n_train, n_test, cqa_fx_row);
}

/* A recipe for the fixture in dir: task cqa, a 1-layer pair (large 32, small 16 hidden),
 * LLM rationales with λ 0.5 and a 1-layer decoder per model, CPU backend, no output. */
static inline ctcd_recipe cqa_fx_recipe(const char *dir) {
    return rat_fx_recipe(dir, "cqa", 16, 4, 16);
}

#endif
