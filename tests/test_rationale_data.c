/* test_rationale_data.c — rationales as data: LLM-output parsing (the authors' rules),
 * teacher-forced decoder rows, and the e-SNLI loader on the shared data (skipped without
 * it). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/rationale_data.h"
#include "testutil.h"

#define OK(expr)                                                                  \
    do {                                                                          \
        ctcd_status st_ = (expr);                                                 \
        cr_assert_null(st_, "%s: %s", #expr, ctcd_status_message(st_));           \
    } while (0)

static void expect_parse(const char *text, const char *rat, const char *label) {
    ctcd_llm_parse p;
    ctcd_llm_parse_output(text, strlen(text), &p);
    cr_assert(p.rat_len == strlen(rat) && strncmp(text + p.rat_off, rat, p.rat_len) == 0,
              "rationale of \"%s\": got \"%.*s\", want \"%s\"", text, (int)p.rat_len,
              text + p.rat_off, rat);
    cr_assert(p.label_len == strlen(label) && strncmp(text + p.label_off, label, p.label_len) == 0,
              "label of \"%s\": got \"%.*s\", want \"%s\"", text, (int)p.label_len,
              text + p.label_off, label);
}

Test(rationale_data, llm_output_parsing_follows_the_authors) {
    /* e-SNLI format with a hallucinated next example */
    expect_parse("The to go packages are not necessarily from lunch.\nAnswer: neutral\n\n"
                 "Premise: Two women are embracing.\nHypothesis: x\nReasonings: y\nAnswer: z",
                 "The to go packages are not necessarily from lunch.", "neutral");
    /* label glued to the next example without a blank line */
    expect_parse("A man is a person.\nAnswer: contradiction\n\nPremise A dog.",
                 "A man is a person.", "contradiction");
    /* ANLI / CQA format */
    expect_parse("  It says so. So the answer is neutral.\n\nQ: next question",
                 "It says so.", "neutral");
    /* no answer marker: the cut text is the rationale, no label */
    expect_parse("Just a thought\n\nQ: more", "Just a thought", "");
    expect_parse("", "", "");
}

Test(rationale_data, batch_rows_are_teacher_forced_and_truncated) {
    ctcd_rationale_set s;
    memset(&s, 0, sizeof s);
    const int32_t a[3] = {10, 11, 12}, c[7] = {20, 21, 22, 23, 24, 25, 26};
    OK(ctcd_rationale_set_push(&s, a, 3, 0));
    OK(ctcd_rationale_set_push(&s, NULL, 0, -1));
    OK(ctcd_rationale_set_push(&s, c, 7, 2));
    const int64_t ex[4] = {0, 1, 2, 99}; /* 99: beyond the set (an augmented copy) */
    int32_t ids[4 * 5], tg[4 * 5];
    const int T = ctcd_rationale_batch_rows(&s, ex, 4, 5, 101, 102, 0, ids, tg);
    cr_assert_eq(T, 5);
    const int32_t want_ids[20] = {101, 10, 11, 12, 0, 101, 0, 0, 0, 0,
                                  101, 20, 21, 22, 23, 101, 0, 0, 0, 0};
    const int32_t want_tg[20] = {10, 11, 12, 102, -1, -1, -1, -1, -1, -1,
                                 20, 21, 22, 23, 102, -1, -1, -1, -1, -1};
    for (int i = 0; i < 20; i++) {
        cr_assert_eq(ids[i], want_ids[i], "ids[%d] = %d, want %d", i, ids[i], want_ids[i]);
        cr_assert_eq(tg[i], want_tg[i], "targets[%d] = %d, want %d", i, tg[i], want_tg[i]);
    }
    /* No rationale in the batch: one bos column without loss. */
    const int64_t none[2] = {1, 50};
    cr_assert_eq(ctcd_rationale_batch_rows(&s, none, 2, 5, 101, 102, 0, ids, tg), 1);
    cr_assert(ids[0] == 101 && tg[0] == -1 && ids[1] == 101 && tg[1] == -1);
    ctcd_rationale_set_free(&s);
}

static ctcd_tokenizer *vocab_or_skip(char *esnli, size_t cap) {
    const char *dir = ctcd_test_data_dir();
    if (!dir) cr_skip_test("no shared data dir (../shared/data or $CTCD_DATA_DIR): e-SNLI needed");
    snprintf(esnli, cap, "%s/rationales/distilling-step-by-step/esnli", dir);
    char vocab[4096];
    snprintf(vocab, sizeof vocab, "%s/vocab/bert-base-uncased-vocab.txt", dir);
    ctcd_tokenizer *t = NULL;
    OK(ctcd_tokenizer_load(vocab, &t));
    return t;
}

static char *decode(ctcd_tokenizer *t, const ctcd_rationale_set *s, int64_t i) {
    static char buf[1024];
    ctcd_tokenizer_decode(t, s->tokens + s->offsets[i], (size_t)ctcd_rationale_len(s, i), buf,
                          sizeof buf);
    return buf;
}

Test(rationale_data, esnli_human_and_llm_rationales) {
    char dir[4096];
    ctcd_tokenizer *tok = vocab_or_skip(dir, sizeof dir);
    ctcd_dataset d;
    ctcd_rationale_set r;
    ctcd_esnli_report rep;
    OK(ctcd_esnli_load(dir, "valid", CTCD_RATIONALE_HUMAN, tok, 64, 40, &d, &r, &rep));
    cr_assert_eq(d.n, 40);
    cr_assert_eq(r.n, 40);
    cr_assert_eq(d.n_classes, 3);
    cr_assert_eq(d.labels[0], 1, "first example is neutral");
    cr_assert_str_eq(decode(tok, &r, 0), "the to go packages may not be from lunch .");
    cr_assert_eq(rep.no_rationale, 0);
    ctcd_dataset_free(&d);
    ctcd_rationale_set_free(&r);

    OK(ctcd_esnli_load(dir, "valid", CTCD_RATIONALE_LLM, tok, 64, 40, &d, &r, &rep));
    cr_assert_eq(r.n, 40);
    cr_assert_str_eq(decode(tok, &r, 0), "the to go packages are not necessarily from lunch .");
    cr_assert_eq(r.llm_labels[0], 1);
    cr_assert_eq(r.llm_labels[1], 0);
    cr_assert_eq(r.llm_labels[2], 2);
    cr_assert_gt(rep.llm_agree, 20, "PaLM agrees with gold on ~73%%, got %lld of 40",
                 (long long)rep.llm_agree);
    ctcd_dataset_free(&d);
    ctcd_rationale_set_free(&r);
    ctcd_tokenizer_free(tok);
}

/* The whole valid split with PaLM rationales lines up (5,500 + 4,342 outputs for 9,842
 * rows) and matches the README's agreement figure (73.2 %). */
Test(rationale_data, esnli_llm_full_valid_split_lines_up, .timeout = 120) {
    char dir[4096];
    ctcd_tokenizer *tok = vocab_or_skip(dir, sizeof dir);
    ctcd_dataset d;
    ctcd_rationale_set r;
    ctcd_esnli_report rep;
    OK(ctcd_esnli_load(dir, "valid", CTCD_RATIONALE_LLM, tok, 128, 0, &d, &r, &rep));
    cr_assert_eq(d.n, 9842);
    const double agree = (double)rep.llm_agree / (double)d.n;
    cr_assert(agree > 0.725 && agree < 0.74, "PaLM label agreement %.4f", agree);
    cr_assert_leq(rep.llm_unparsed, 10, "unparsed LLM labels: %lld", (long long)rep.llm_unparsed);
    ctcd_dataset_free(&d);
    ctcd_rationale_set_free(&r);
    ctcd_tokenizer_free(tok);
}

Test(rationale_data, esnli_errors_name_the_file) {
    ctcd_dataset d;
    ctcd_rationale_set r;
    ctcd_esnli_report rep;
    char *tmp = ctcd_test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/esnli_valid.json", tmp);
    cr_assert_eq(ctcd_test_write_file(path, "{\"premise\": \"a\", \"label\": 0}\n"), 0);
    char vocab[4096];
    snprintf(vocab, sizeof vocab, "%s/vocab.txt", tmp);
    cr_assert_eq(ctcd_test_write_file(vocab, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n"), 0);
    ctcd_tokenizer *tok = NULL;
    OK(ctcd_tokenizer_load(vocab, &tok));
    ctcd_status st = ctcd_esnli_load(tmp, "valid", CTCD_RATIONALE_HUMAN, tok, 16, 0, &d, &r, &rep);
    cr_assert_not_null(st);
    cr_assert(strstr(ctcd_status_message(st), "esnli_valid.json:1"), "message: %s",
              ctcd_status_message(st));
    ctcd_status_free(st);
    st = ctcd_esnli_load(tmp, "valid", CTCD_RATIONALE_LLM, tok, 16, 0, &d, &r, &rep);
    cr_assert_not_null(st);
    cr_assert(strstr(ctcd_status_message(st), "valid_CoT_0.json"), "message: %s",
              ctcd_status_message(st));
    ctcd_status_free(st);
    /* e-SNLI's train split is not released with the rationales: asking for it names the two
     * there are, before any file is opened. */
    st = ctcd_esnli_load(tmp, "train", CTCD_RATIONALE_HUMAN, tok, 16, 0, &d, &r, &rep);
    cr_assert_not_null(st);
    cr_assert(strstr(ctcd_status_message(st), "e-SNLI split 'train' (valid or test)"),
              "message: %s", ctcd_status_message(st));
    ctcd_status_free(st);
    ctcd_tokenizer_free(tok);
    ctcd_test_rmtree(tmp);
    free(tmp);
}
