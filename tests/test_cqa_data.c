/* test_cqa_data.c — task cqa as data: the CommonsenseQA loader on hand-written JSONL
 * (cqa_fixture.h; errors name file:line), the CQA form of the LLM-output parser (the "(d)"
 * prefix, the hallucinated "\nQ:" example, label text → choice index), the multiple-choice
 * batch layout (B examples → B·K rows), and the loader on the shared data (skipped
 * without it). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cqa_fixture.h"
#include "ctcd/rationale_data.h"
#include "testutil.h"

#define OK(expr)                                                                  \
    do {                                                                          \
        ctcd_status st_ = (expr);                                                 \
        cr_assert_null(st_, "%s: %s", #expr, ctcd_status_message(st_));           \
    } while (0)

static ctcd_tokenizer *fx_tok(const char *dir) {
    char vocab[4200];
    snprintf(vocab, sizeof vocab, "%s/vocab.txt", dir);
    ctcd_tokenizer *t = NULL;
    OK(ctcd_tokenizer_load(vocab, &t));
    return t;
}

/* Decodes sequence s of d. */
static const char *seq_text(ctcd_tokenizer *tok, const ctcd_dataset *d, int64_t s, char *buf,
                            size_t cap) {
    ctcd_tokenizer_decode(tok, d->tokens + d->offsets[s], (size_t)ctcd_dataset_seq_len(d, s),
                          buf, cap);
    return buf;
}

Test(cqa_data, loader_builds_k_sequences_per_example_and_llm_choices) {
    char *tmp = ctcd_test_tmpdir();
    cqa_fx_write(tmp, 23, 4);
    ctcd_tokenizer *tok = fx_tok(tmp);
    char dir[4200], buf[512], want[512];
    snprintf(dir, sizeof dir, "%s/cqa", tmp);
    ctcd_dataset d;
    ctcd_rationale_set rats;
    ctcd_cqa_report rep;
    OK(ctcd_cqa_load(dir, "train", CTCD_RATIONALE_LLM, tok, 32, 0, &d, &rats, &rep));
    cr_assert_eq(d.n, 23);
    cr_assert_eq(d.n_choices, CQA_FX_K);
    cr_assert_eq(d.n_classes, CQA_FX_K);
    cr_assert_eq(rats.n, 23);
    cr_assert_str_eq(d.name, "cqa/train");
    int agree = 0, unparsed = 0;
    for (int i = 0; i < 23; i++) {
        cr_assert_eq(d.labels[i], cqa_fx_answer(i), "row %d: label %d, want %d", i, d.labels[i],
                     cqa_fx_answer(i));
        cr_assert_eq(rats.llm_labels[i], cqa_fx_llm_choice(i), "row %d: LLM choice %d, want %d",
                     i, rats.llm_labels[i], cqa_fx_llm_choice(i));
        agree += cqa_fx_llm_choice(i) == cqa_fx_answer(i);
        unparsed += cqa_fx_llm_choice(i) < 0;
        for (int k = 0; k < CQA_FX_K; k++) {
            snprintf(want, sizeof want, "[CLS] where would you find a %s ? [SEP] %s [SEP]",
                     CQA_FX_OBJ[i % CQA_FX_K], cqa_fx_choice(i, k));
            cr_assert_str_eq(seq_text(tok, &d, (int64_t)i * CQA_FX_K + k, buf, sizeof buf), want,
                             "row %d choice %d", i, k);
        }
    }
    cr_assert_eq(rep.llm_agree, agree);
    cr_assert_eq(rep.llm_unparsed, unparsed);
    /* The rationale is the text before "So the answer is"; the next question is cut. */
    ctcd_tokenizer_decode(tok, rats.tokens + rats.offsets[0], (size_t)ctcd_rationale_len(&rats, 0),
                          buf, sizeof buf);
    cr_assert_str_eq(buf, "a swing is found in the park .");
    ctcd_dataset_free(&d);
    ctcd_rationale_set_free(&rats);
    /* Human rationales (CoS-E's abstractive_explanation) and a row limit. */
    OK(ctcd_cqa_load(dir, "train", CTCD_RATIONALE_HUMAN, tok, 32, 3, &d, &rats, &rep));
    cr_assert_eq(d.n, 3);
    ctcd_tokenizer_decode(tok, rats.tokens + rats.offsets[1], (size_t)ctcd_rationale_len(&rats, 1),
                          buf, sizeof buf);
    cr_assert_str_eq(buf, "a stove is in a kitchen .");
    cr_assert_eq(rats.llm_labels[1], -1);
    ctcd_dataset_free(&d);
    ctcd_rationale_set_free(&rats);
    ctcd_tokenizer_free(tok);
    ctcd_test_rmtree(tmp);
    free(tmp);
}

/* Loads a one-file CQA split whose text is `jsonl` and expects an error containing each of
 * want[] (NULL-terminated). */
static void expect_load_error(const char *jsonl, const char *const *want) {
    char *tmp = ctcd_test_tmpdir();
    cqa_fx_write(tmp, 1, 1);
    char path[4400], dir[4200];
    snprintf(dir, sizeof dir, "%.4000s/cqa", tmp);
    snprintf(path, sizeof path, "%s/cqa_test.json", dir);
    cr_assert_eq(ctcd_test_write_file(path, jsonl), 0);
    ctcd_tokenizer *tok = fx_tok(tmp);
    ctcd_dataset d;
    ctcd_rationale_set rats;
    ctcd_cqa_report rep;
    ctcd_status st = ctcd_cqa_load(dir, "test", CTCD_RATIONALE_HUMAN, tok, 32, 0, &d, &rats, &rep);
    cr_assert_not_null(st, "loading a bad file succeeded");
    for (int i = 0; want[i]; i++)
        cr_assert(strstr(ctcd_status_message(st), want[i]), "error '%s' lacks '%s'",
                  ctcd_status_message(st), want[i]);
    ctcd_status_free(st);
    ctcd_tokenizer_free(tok);
    ctcd_test_rmtree(tmp);
    free(tmp);
}

#define ROW(q, ch, a) "{\"question\": \"" q "\", \"choices\": " ch ", \"answer\": \"" a "\"}\n"
#define FIVE "[\"park\", \"lake\", \"kitchen\", \"library\", \"garden\"]"

Test(cqa_data, loader_errors_name_file_and_line) {
    const char *no_choices[] = {"cqa_test.json:2:", "\"choices\"", NULL};
    expect_load_error(ROW("where is a fish ?", FIVE, "lake")
                      "{\"question\": \"where ?\", \"answer\": \"park\"}\n", no_choices);
    const char *count[] = {"cqa_test.json:4:", "4 choices", "first row (line 1) has 5", NULL};
    expect_load_error(ROW("where is a fish ?", FIVE, "lake") ROW("a book ?", FIVE, "library")
                      "\n" ROW("a stove ?", "[\"park\", \"lake\", \"kitchen\", \"library\"]",
                               "kitchen"), count);
    const char *answer[] = {"cqa_test.json:2:", "answer \"moon\" is not among the choices", NULL};
    expect_load_error(ROW("where is a fish ?", FIVE, "lake") ROW("a fish ?", FIVE, "moon"),
                      answer);
    const char *not_string[] = {"cqa_test.json:1:", "choice 2 is not a string", NULL};
    expect_load_error(ROW("a fish ?", "[\"park\", \"lake\", 3]", "lake"), not_string);
    const char *not_object[] = {"cqa_test.json:1:", "not a JSON object", NULL};
    expect_load_error("[1, 2]\n", not_object);
    /* A split other than train / test is refused by name, before any file is read. */
    ctcd_dataset d;
    ctcd_rationale_set rats;
    ctcd_cqa_report rep;
    ctcd_status st = ctcd_cqa_load("/nonexistent", "valid", CTCD_RATIONALE_LLM, NULL, 32, 0, &d,
                                   &rats, &rep);
    cr_assert_not_null(st, "split 'valid' was accepted");
    cr_assert(strstr(ctcd_status_message(st), "CommonsenseQA split 'valid' (train or test)"),
              "message: %s", ctcd_status_message(st));
    ctcd_status_free(st);
}

static void expect_choice(const char *out, const char *rat, int want) {
    static const char *const choices[5] = {"bus depot", "beach", "train station", "bridge",
                                           "math problem"};
    ctcd_llm_parse p;
    ctcd_llm_parse_output(out, strlen(out), &p);
    cr_assert(p.rat_len == strlen(rat) && strncmp(out + p.rat_off, rat, p.rat_len) == 0,
              "rationale of \"%s\": got \"%.*s\", want \"%s\"", out, (int)p.rat_len,
              out + p.rat_off, rat);
    const int got = ctcd_cqa_llm_choice(out + p.label_off, p.label_len, choices, 5);
    cr_assert_eq(got, want, "choice of \"%s\": got %d, want %d (label \"%.*s\")", out, got, want,
                 (int)p.label_len, out + p.label_off);
}

Test(cqa_data, llm_output_names_a_choice) {
    expect_choice("The answer must be a place where a bum would live. So the answer is (c) train "
                  "station.\n\nQ: What is the name of the famous painting?\nAnswer Choices:\n(a) "
                  "Mona Lisa\nA: The answer must be beach. So the answer is (b) beach.",
                  "The answer must be a place where a bum would live.", 2);
    /* the "(x)" letter is not trusted: the text decides */
    expect_choice("Only math problem fits. So the answer is (a) math problem.\n\nQ: x",
                  "Only math problem fits.", 4);
    /* no prefix, other case */
    expect_choice("Sand. So the answer is Beach.", "Sand.", 1);
    /* a place that is no choice, and no answer at all */
    expect_choice("It is wet. So the answer is (d) ocean.\n\nQ: y", "It is wet.", -1);
    expect_choice("No idea\n\nQ: z", "No idea", -1);
}

/* B examples of K choices → B·K rows: row b·K + k is choice k of example b. */
static void check_layout(const ctcd_dataset *d, const ctcd_batch *b, int64_t *seen) {
    const int K = d->n_choices, E = ctcd_batch_examples(b);
    cr_assert_eq(b->K, K);
    cr_assert_eq(b->B, E * K);
    for (int e = 0; e < E; e++) {
        const int64_t ex = b->example[e];
        seen[ex]++;
        cr_assert_eq(b->labels[e], d->labels[ex], "batch label %d", e);
        for (int k = 0; k < K; k++) {
            const int r = e * K + k;
            const int64_t s = ex * K + k;
            const int len = ctcd_dataset_seq_len(d, s);
            cr_assert_eq(b->cls_idx[r], r * b->T);
            for (int t = 0; t < b->T; t++) {
                const int32_t want = t < len ? d->tokens[d->offsets[s] + t] : d->special.pad;
                cr_assert_eq(b->ids[(size_t)r * b->T + t], want,
                             "row %d (example %lld choice %d) token %d: %d, want %d", r,
                             (long long)ex, k, t, b->ids[(size_t)r * b->T + t], want);
                cr_assert_eq(b->mask[(size_t)r * b->T + t], t < len);
            }
        }
    }
}

Test(cqa_data, batch_holds_k_rows_per_example) {
    ctcd_dataset d;
    OK(ctcd_dataset_init_choices(&d, "mc", 3));
    for (int i = 0; i < 11; i++) {
        int32_t ids[3][12], types[3][12];
        int len[3];
        for (int k = 0; k < 3; k++) {
            len[k] = 3 + (i * 5 + k * 3) % 9; /* the longest choice varies per example */
            for (int t = 0; t < len[k]; t++) {
                ids[k][t] = 1000 + i * 100 + k * 10 + t;
                types[k][t] = t > 1;
            }
        }
        const int32_t *pi[3] = {ids[0], ids[1], ids[2]}, *pt[3] = {types[0], types[1], types[2]};
        OK(ctcd_dataset_push_choices(&d, pi, pt, len, i % 3));
    }
    cr_assert_eq(d.n, 11);
    cr_assert_eq(ctcd_dataset_len(&d, 0), 9, "example length = its longest choice");
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        ctcd_batcher_config bc = {.batch = 4, .max_len = 16, .pad_multiple = 8,
                                  .shuffle = shuffle, .bucket_batches = shuffle ? 2 : 1,
                                  .seed = 3};
        ctcd_batcher bt;
        OK(ctcd_batcher_init(&bt, &d, &bc));
        int64_t seen[11] = {0};
        const ctcd_batch *b;
        int n = 0;
        while (ctcd_batcher_next(&bt, &b)) {
            check_layout(&d, b, seen);
            n++;
        }
        cr_assert_eq(n, 3, "11 examples in batches of 4");
        for (int i = 0; i < 11; i++) cr_assert_eq(seen[i], 1, "example %d seen %lld times", i,
                                                  (long long)seen[i]);
        ctcd_batcher_free(&bt);
    }
    /* A multiple-choice dataset takes whole examples only. */
    const int32_t one[3] = {1, 2, 3};
    ctcd_status st = ctcd_dataset_push(&d, one, NULL, 3, 0, 0.0f);
    cr_assert_not_null(st);
    ctcd_status_free(st);
    ctcd_dataset_free(&d);
}

Test(cqa_data, shared_cqa_test_split_loads_with_palm_labels, .timeout = 120) {
    const char *root = ctcd_test_data_dir();
    if (!root) cr_skip_test("no shared data dir (../shared/data or $CTCD_DATA_DIR): CQA needed");
    char dir[4200], vocab[4200];
    snprintf(dir, sizeof dir, "%s/rationales/distilling-step-by-step/cqa", root);
    snprintf(vocab, sizeof vocab, "%s/vocab/bert-base-uncased-vocab.txt", root);
    ctcd_tokenizer *tok = NULL;
    OK(ctcd_tokenizer_load(vocab, &tok));
    ctcd_dataset d;
    ctcd_rationale_set rats;
    ctcd_cqa_report rep;
    OK(ctcd_cqa_load(dir, "test", CTCD_RATIONALE_LLM, tok, 64, 0, &d, &rats, &rep));
    cr_assert_eq(d.n, 1221);
    cr_assert_eq(d.n_choices, 5);
    /* the data README: PaLM label = gold for 77.2 % of CQA test with the authors' exact
     * string match (943); matching a choice ignoring case also counts 12 answers like
     * "(b) Beach" for "beach": 955 = 78.2 % (measured with a Python re-implementation) */
    cr_assert_eq(rep.llm_agree, 955, "PaLM agrees with gold on %lld of 1221 (want 955)",
                 (long long)rep.llm_agree);
    cr_assert_eq(rep.llm_unparsed, 31, "%lld PaLM outputs name no choice (want 31)",
                 (long long)rep.llm_unparsed);
    ctcd_dataset_free(&d);
    ctcd_rationale_set_free(&rats);
    ctcd_tokenizer_free(tok);
}
