/* test_glue.c — GLUE task table, TSV reader and loaders (include/ctcd/glue.h, include/ctcd/tsv.h).
 *
 * Real-data tests load every task available in the shared data directory with the
 * bert-base-uncased vocabulary and check the row counts of its README and the label
 * mapping (they skip without the data). Tasks not available there (QQP, MNLI, QNLI train)
 * and malformed input use hand-written fixtures in tests/fixtures/glue/ and files written
 * by the tests, tokenised with a small character-level vocabulary generated here, so they
 * run anywhere. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctcd/glue.h"
#include "ctcd/tsv.h"
#include "testutil.h"

#define FIXTURES CTCD_SOURCE_DIR "/tests/fixtures/glue"

/* ---- helpers ---- */

static ctcd_tokenizer *real_vocab(void) {
    const char *dir = ctcd_test_data_dir();
    if (!dir) cr_skip_test("no shared data dir (../shared/data or $CTCD_DATA_DIR): GLUE data needed");
    char path[4096];
    snprintf(path, sizeof path, "%s/vocab/bert-base-uncased-vocab.txt", dir);
    ctcd_tokenizer *t = NULL;
    ctcd_status st = ctcd_tokenizer_load(path, &t);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    return t;
}

/* A character-level vocabulary (specials, a-z, digits, ASCII punctuation, and their "##"
 * continuations) in a temp dir: every ASCII word tokenises into its letters, so decoding
 * gives the lower-cased text back. */
static ctcd_tokenizer *char_vocab(void) {
    char *dir = ctcd_test_tmpdir();
    cr_assert_not_null(dir, "temp dir");
    char path[4096], text[4096];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    free(dir);
    size_t pos = (size_t)snprintf(text, sizeof text, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    for (int c = 33; c < 127; c++) {
        if (c >= 'A' && c <= 'Z') continue;
        int word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        pos += (size_t)snprintf(text + pos, sizeof text - pos, word ? "%c\n##%c\n" : "%c\n", c, c);
    }
    cr_assert_eq(ctcd_test_write_file(path, text), 0, "write %s", path);
    ctcd_tokenizer *t = NULL;
    ctcd_status st = ctcd_tokenizer_load(path, &t);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    unlink(path);
    *strrchr(path, '/') = '\0';
    rmdir(path);
    return t;
}

static const ctcd_glue_task *task(const char *name) {
    const ctcd_glue_task *t = ctcd_glue_task_find(name);
    cr_assert_not_null(t, "task %s not found", name);
    return t;
}

/* Loads <dir>/<split>.tsv, asserting success. */
static void load_ok(const char *name, const char *dir, const char *split, ctcd_tokenizer *tok,
                    int max_len, ctcd_glue_split *out) {
    ctcd_glue_options opt = {.max_len = max_len, .strict = 1};
    ctcd_status st = ctcd_glue_load(task(name), dir, split, tok, &opt, out);
    cr_assert_null(st, "loading %s/%s: %s", dir, split, ctcd_status_message(st));
}

static void decode_example(const ctcd_tokenizer *tok, const ctcd_dataset *d, int64_t i, char *buf,
                           size_t cap) {
    ctcd_tokenizer_decode(tok, d->tokens + d->offsets[i], (size_t)ctcd_dataset_len(d, i), buf, cap);
}

static int64_t count_label(const ctcd_dataset *d, int32_t label) {
    int64_t n = 0;
    for (int64_t i = 0; i < d->n; i++) n += d->labels[i] == label;
    return n;
}

static void check_labels(const ctcd_glue_split *s, const int32_t *want, int n) {
    cr_assert_eq(s->data.n, n, "%s: %lld examples, expected %d", s->data.name, (long long)s->data.n, n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(s->data.labels[i], want[i], "%s example %d: label %d, expected %d",
                     s->data.name, i, s->data.labels[i], want[i]);
}

/* Writes text to a fresh temp dir as <sub>/<file> and returns the file path in buf. */
static void write_tmp(const char *sub, const char *file, const char *text, char *buf, size_t cap) {
    char *dir = ctcd_test_tmpdir();
    cr_assert_not_null(dir, "temp dir");
    snprintf(buf, cap, "%s/%s", dir, sub);
    free(dir);
    cr_assert_eq(mkdir(buf, 0700), 0, "mkdir %s", buf);
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "/%s", file);
    cr_assert_eq(ctcd_test_write_file(buf, text), 0, "write %s", buf);
}

/* Removes a file made by write_tmp and the two directories above it. */
static void remove_tmp(char *path) {
    unlink(path);
    for (int i = 0; i < 2; i++) {
        *strrchr(path, '/') = '\0';
        rmdir(path);
    }
}

/* ---- the task table ---- */

Test(glue_tasks, table_has_the_nine_tasks_with_hf_label_order) {
    cr_assert_eq(ctcd_glue_n_tasks(), 9, "%d tasks", ctcd_glue_n_tasks());
    const ctcd_glue_task *m = task("mnli");
    cr_assert_str_eq(m->dir, "MNLI");
    cr_assert_eq(m->n_classes, 3, "mnli classes %d", m->n_classes);
    cr_assert_str_eq(m->label_names[0], "contradiction");
    cr_assert_str_eq(m->label_names[1], "entailment");
    cr_assert_str_eq(m->label_names[2], "neutral");
    cr_assert_eq(m->metric, CTCD_GLUE_ACC_MM, "mnli metric %d", m->metric);
    cr_assert_eq(m->n_dev_splits, 2, "mnli dev splits %d", m->n_dev_splits);
    cr_assert_str_eq(m->dev_splits[0], "dev_matched");
    cr_assert_str_eq(m->dev_splits[1], "dev_mismatched");
    cr_assert_str_eq(m->test_splits[1], "test_mismatched");
    const ctcd_glue_task *s = task("stsb");
    cr_assert_eq(s->n_classes, 1, "stsb is regression");
    cr_assert_eq(s->metric, CTCD_GLUE_PEARSON_SPEARMAN, "stsb metric %d", s->metric);
    cr_assert_eq(task("cola")->metric, CTCD_GLUE_MCC, "cola metric");
    cr_assert_eq(task("mrpc")->metric, CTCD_GLUE_ACC_F1, "mrpc metric");
    cr_assert_eq(task("qqp")->metric, CTCD_GLUE_ACC_F1, "qqp metric");
    cr_assert_str_eq(task("qnli")->label_names[1], "not_entailment");
    cr_assert_str_eq(task("rte")->label_names[0], "entailment");
    cr_assert_eq(task("sst2")->is_pair, 0, "sst2 is single-sentence");
    cr_assert_eq(task("wnli")->is_pair, 1, "wnli is a pair task");
}

Test(glue_tasks, lookup_by_name_or_directory_and_unknown_names) {
    cr_assert_eq(ctcd_glue_task_find("SST-2"), task("sst2"), "find by directory name");
    cr_assert_eq(ctcd_glue_task_find("MNLI"), task("mnli"), "case-insensitive");
    cr_assert_null(ctcd_glue_task_find("squad"), "unknown task");
    const ctcd_glue_task *t;
    ctcd_status st = ctcd_glue_task_get("squad", &t);
    cr_assert_not_null(st, "unknown task must be an error");
    cr_assert(strstr(ctcd_status_message(st), "'squad'") && strstr(ctcd_status_message(st), "wnli"),
              "message should name the input and the valid tasks: %s", ctcd_status_message(st));
    ctcd_status_free(st);
    cr_assert(ctcd_glue_has_split(task("mnli"), "dev_mismatched"), "mnli has dev_mismatched");
    cr_assert(!ctcd_glue_has_split(task("mnli"), "dev"), "mnli has no plain dev");
    cr_assert(ctcd_glue_has_split(task("cola"), "test"), "cola has test");
}

/* ---- the TSV reader ---- */

Test(glue_tsv, python_newlines_bom_and_literal_quotes) {
    char path[4096];
    static const char text[] = "\xEF\xBB\xBF" "a\t\"b\r\n\r\nc\rd\te\xEF\xBB\xBF\n\"x\tnul\0in\ty";
    write_tmp("t", "f.tsv", "", path, sizeof path);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "open %s", path);
    fwrite(text, 1, sizeof text - 1, f); /* with the NUL byte */
    fclose(f);
    ctcd_tsv r;
    cr_assert_null(ctcd_tsv_open(&r, path), "open");
    struct { int fields; const char *first; size_t first_len; } want[] = {
        {2, "a", 1}, {0, "", 0}, {1, "c", 1}, {2, "d", 1}, {3, "\"x", 2}};
    for (int i = 0; i < 5; i++) {
        int got;
        cr_assert_null(ctcd_tsv_next(&r, &got), "line %d", i + 1);
        cr_assert_eq(got, 1, "line %d missing", i + 1);
        cr_assert_eq(r.line, i + 1, "line number %lld, expected %d", (long long)r.line, i + 1);
        cr_assert_eq(r.n_fields, want[i].fields, "line %d: %d fields, expected %d", i + 1,
                     r.n_fields, want[i].fields);
        if (want[i].fields)
            cr_assert(r.fields[0].len == want[i].first_len &&
                          memcmp(r.fields[0].p, want[i].first, want[i].first_len) == 0,
                      "line %d: first field '%.*s', expected '%s'", i + 1, (int)r.fields[0].len,
                      r.fields[0].p, want[i].first);
        if (i == 0) cr_assert(r.fields[1].len == 2 && memcmp(r.fields[1].p, "\"b", 2) == 0, "quote kept");
        if (i == 3) cr_assert_eq(r.fields[1].len, 4, "BOM after line 1 is data: len %zu", r.fields[1].len);
        if (i == 4) cr_assert(r.fields[1].len == 6 && memcmp(r.fields[1].p, "nul\0in", 6) == 0, "NUL kept");
    }
    int got;
    cr_assert_null(ctcd_tsv_next(&r, &got), "eof");
    cr_assert_eq(got, 0, "no line after the last (unterminated) one");
    ctcd_tsv_close(&r);
    remove_tmp(path);
}

Test(glue_tsv, lines_longer_than_the_buffer_are_read_whole) {
    size_t n = 3u << 20;
    char *text = malloc(n + 16);
    memset(text, 'w', n);
    memcpy(text + n, "\tend\nz\n", 8);
    char path[4096];
    write_tmp("t", "long.tsv", text, path, sizeof path);
    free(text);
    ctcd_tsv r;
    int got;
    cr_assert_null(ctcd_tsv_open(&r, path), "open");
    cr_assert_null(ctcd_tsv_next(&r, &got), "read");
    cr_assert(got && r.n_fields == 2 && r.fields[0].len == n && r.fields[1].len == 3,
              "long line: %d fields, first %zu bytes (expected 2, %zu)", r.n_fields,
              r.n_fields ? r.fields[0].len : 0, n);
    cr_assert_null(ctcd_tsv_next(&r, &got), "read");
    cr_assert(got && r.line == 2 && r.fields[0].len == 1, "second line after a long one");
    ctcd_tsv_close(&r);
    remove_tmp(path);
}

/* ---- real data ---- */

typedef struct real_case {
    const char *task, *split;
    int64_t rows;
} real_case;

static void load_real(const real_case *cases, int n) {
    ctcd_tokenizer *tok = real_vocab();
    const char *data = ctcd_test_data_dir();
    for (int i = 0; i < n; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/glue/%s", data, task(cases[i].task)->dir);
        ctcd_glue_split s;
        load_ok(cases[i].task, dir, cases[i].split, tok, 128, &s);
        cr_assert_eq(s.data.n, cases[i].rows, "%s: %lld rows, README says %lld", s.data.name,
                     (long long)s.data.n, (long long)cases[i].rows);
        cr_assert_eq(s.report.skipped + s.report.empty, 0, "%s: %lld skipped, %lld empty lines",
                     s.data.name, (long long)s.report.skipped, (long long)s.report.empty);
        cr_assert_eq(s.data.vocab_size, 30522, "vocab_size %d", s.data.vocab_size);
        cr_assert_eq(s.data.special.cls, 101, "special ids from the tokenizer");
        cr_assert_leq(s.data.max_len, 128, "%s: example of %d tokens", s.data.name, s.data.max_len);
        ctcd_glue_split_free(&s);
    }
    ctcd_tokenizer_free(tok);
}

Test(glue_real, single_sentence_tasks_have_readme_row_counts) {
    /* CoLA dev has no trailing newline: its last row still counts. */
    const real_case c[] = {{"cola", "train", 8551}, {"cola", "dev", 1043},
                           {"sst2", "train", 67349}, {"sst2", "dev", 872}};
    load_real(c, 4);
}

Test(glue_real, pair_tasks_have_readme_row_counts) {
    const real_case c[] = {{"mrpc", "train", 3668}, {"mrpc", "dev", 408}, {"stsb", "train", 5749},
                           {"stsb", "dev", 1500},   {"rte", "train", 2490}, {"rte", "dev", 277},
                           {"wnli", "train", 635},  {"wnli", "dev", 71},    {"qnli", "dev", 5463}};
    load_real(c, 9);
}

/* Loads one real split with the real vocabulary. */
static void real_split(ctcd_tokenizer *tok, const char *name, const char *split, ctcd_glue_split *s) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/glue/%s", ctcd_test_data_dir(), task(name)->dir);
    load_ok(name, dir, split, tok, 128, s);
}

Test(glue_real, labels_map_to_hf_ids) {
    ctcd_tokenizer *tok = real_vocab();
    struct { const char *task, *split; int32_t label; int64_t count; } c[] = {
        {"cola", "dev", 1, 721},      {"sst2", "dev", 1, 444},
        {"mrpc", "dev", 1, 279},      {"rte", "train", 0, 1249}, /* entailment = 0 */
        {"qnli", "dev", 1, 2761},     /* not_entailment = 1 */
        {"wnli", "train", 1, 312}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        ctcd_glue_split s;
        real_split(tok, c[i].task, c[i].split, &s);
        int64_t n = count_label(&s.data, c[i].label);
        cr_assert_eq(n, c[i].count, "%s: %lld examples with label %d, expected %lld", s.data.name,
                     (long long)n, c[i].label, (long long)c[i].count);
        ctcd_glue_split_free(&s);
    }
    ctcd_tokenizer_free(tok);
}

Test(glue_real, stsb_scores_are_float_targets) {
    ctcd_tokenizer *tok = real_vocab();
    ctcd_glue_split s;
    real_split(tok, "stsb", "dev", &s);
    cr_assert_null(s.data.labels, "regression has no labels");
    cr_assert_not_null(s.data.targets, "regression has targets");
    cr_assert_eq(s.data.n_classes, 1, "n_classes %d", s.data.n_classes);
    cr_assert_float_eq(s.data.targets[0], 5.0f, 1e-6, "first score %g", s.data.targets[0]);
    cr_assert_float_eq(s.data.targets[1], 4.75f, 1e-6, "second score %g", s.data.targets[1]);
    ctcd_glue_split_free(&s);
    ctcd_tokenizer_free(tok);
}

Test(glue_real, index_column_and_line_numbers_are_kept) {
    ctcd_tokenizer *tok = real_vocab();
    ctcd_glue_split s;
    real_split(tok, "rte", "dev", &s);
    cr_assert_eq(s.index[276], 276, "RTE dev last index %lld", (long long)s.index[276]);
    cr_assert_eq(s.line[0], 2, "first data line %lld (after the header)", (long long)s.line[0]);
    cr_assert_str_eq(s.data.name, "RTE/dev");
    ctcd_glue_split_free(&s);
    real_split(tok, "cola", "dev", &s);
    cr_assert(s.line[0] == 1 && s.line[1042] == 1043, "CoLA dev lines %lld..%lld, expected 1..1043",
              (long long)s.line[0], (long long)s.line[1042]);
    cr_assert_eq(s.index[1042], 1042, "CoLA has no index column: row number %lld", (long long)s.index[1042]);
    ctcd_glue_split_free(&s);
    ctcd_tokenizer_free(tok);
}

Test(glue_real, mrpc_pairs_are_tokenised_like_hf) {
    /* The first MRPC train pair, as HF's BertTokenizer encodes it (the well-known
     * "Amrozi accused his brother" example). */
    static const int32_t want[] = {
        101,  2572, 3217, 5831, 5496, 2010, 2567, 1010, 3183, 2002, 2170, 1000, 1996,
        7409, 1000, 1010, 1997, 9969, 4487, 23809, 3436, 2010, 3350, 1012, 102, 7727,
        2000, 2032, 2004, 2069, 1000, 1996, 7409, 1000, 1010, 2572, 3217, 5831, 5496,
        2010, 2567, 1997, 9969, 4487, 23809, 3436, 2010, 3350, 1012, 102};
    ctcd_tokenizer *tok = real_vocab();
    ctcd_glue_split s;
    real_split(tok, "mrpc", "train", &s);
    int n = ctcd_dataset_len(&s.data, 0);
    cr_assert_eq(n, 50, "first MRPC pair has %d tokens, expected 50", n);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(s.data.tokens[i], want[i], "token %d: %d, expected %d", i, s.data.tokens[i], want[i]);
        cr_assert_eq(s.data.types[i], i < 25 ? 0 : 1, "type %d: %d", i, s.data.types[i]);
    }
    ctcd_glue_split_free(&s);
    ctcd_tokenizer_free(tok);
}

/* ---- fixtures: tasks whose real data is not available here ---- */

Test(glue_fixtures, qqp_train_dev_test) {
    ctcd_tokenizer *tok = char_vocab();
    ctcd_glue_split s;
    load_ok("qqp", FIXTURES "/QQP", "train", tok, 128, &s);
    check_labels(&s, (const int32_t[]){1, 0, 1, 0, 1}, 5);
    cr_assert(s.index[0] == 500 && s.index[4] == 504, "id column %lld..%lld", (long long)s.index[0],
              (long long)s.index[4]);
    char buf[512];
    decode_example(tok, &s.data, 0, buf, sizeof buf);
    cr_assert_str_eq(buf, "[CLS] how do i bake bread at home ? [SEP] what is the easiest way to "
                          "bake bread at home ? [SEP]");
    ctcd_glue_split_free(&s);
    load_ok("qqp", FIXTURES "/QQP", "dev", tok, 128, &s);
    check_labels(&s, (const int32_t[]){1, 0}, 2);
    ctcd_glue_split_free(&s);
    load_ok("qqp", FIXTURES "/QQP", "test", tok, 128, &s);
    check_labels(&s, (const int32_t[]){-1, -1, -1}, 3);
    cr_assert(!s.labelled && s.index[2] == 2, "test: labelled %d, index %lld", s.labelled, (long long)s.index[2]);
    decode_example(tok, &s.data, 1, buf, sizeof buf);
    cr_assert_str_eq(buf, "[CLS] why do leaves fall ? [SEP] when is the best time to plant tulips ? [SEP]");
    ctcd_glue_split_free(&s);
    ctcd_tokenizer_free(tok);
}

Test(glue_fixtures, mnli_train_and_both_dev_sets) {
    ctcd_tokenizer *tok = char_vocab();
    ctcd_glue_split s;
    /* contradiction 0, entailment 1, neutral 2 */
    load_ok("mnli", FIXTURES "/MNLI", "train", tok, 128, &s);
    check_labels(&s, (const int32_t[]){1, 0, 2, 0}, 4);
    char buf[512];
    decode_example(tok, &s.data, 1, buf, sizeof buf);
    cr_assert_str_eq(buf, "[CLS] the council postponed the vote on the new bridge . [SEP] the "
                          "bridge vote happened as planned . [SEP]");
    ctcd_glue_split_free(&s);
    load_ok("mnli", FIXTURES "/MNLI", "dev_matched", tok, 128, &s);
    check_labels(&s, (const int32_t[]){1, 1, 0}, 3);
    cr_assert_str_eq(s.data.name, "MNLI/dev_matched");
    ctcd_glue_split_free(&s);
    load_ok("mnli", FIXTURES "/MNLI", "dev_mismatched", tok, 128, &s);
    check_labels(&s, (const int32_t[]){1, 0, 2, 1}, 4);
    ctcd_glue_split_free(&s);
    load_ok("mnli", FIXTURES "/MNLI", "test_matched", tok, 128, &s);
    check_labels(&s, (const int32_t[]){-1, -1}, 2);
    ctcd_glue_split_free(&s);
    ctcd_tokenizer_free(tok);
}

Test(glue_fixtures, qnli_train) {
    ctcd_tokenizer *tok = char_vocab();
    ctcd_glue_split s;
    load_ok("qnli", FIXTURES "/QNLI", "train", tok, 128, &s);
    check_labels(&s, (const int32_t[]){0, 1, 0}, 3);
    char buf[512];
    decode_example(tok, &s.data, 2, buf, sizeof buf);
    cr_assert_str_eq(buf, "[CLS] what do beavers eat ? [SEP] beavers eat bark , leaves and water plants . [SEP]");
    ctcd_glue_split_free(&s);
    ctcd_tokenizer_free(tok);
}

Test(glue_fixtures, long_pairs_are_truncated_and_counted) {
    ctcd_tokenizer *tok = char_vocab();
    ctcd_glue_split s;
    load_ok("qqp", FIXTURES "/QQP", "train", tok, 9, &s);
    cr_assert_eq(s.report.truncated, 5, "%lld truncated, expected all 5", (long long)s.report.truncated);
    for (int64_t i = 0; i < s.data.n; i++)
        cr_assert_eq(ctcd_dataset_len(&s.data, i), 9, "example %lld has %d tokens, expected 9",
                     (long long)i, ctcd_dataset_len(&s.data, i));
    char buf[128];
    decode_example(tok, &s.data, 0, buf, sizeof buf); /* letters of "how" / "what": 3 each */
    cr_assert_str_eq(buf, "[CLS] how [SEP] wha [SEP]");
    ctcd_glue_split_free(&s);
    ctcd_tokenizer_free(tok);
}

/* ---- malformed input ---- */

/* Loads a file and checks strict mode fails with "<path><suffix>". */
static void expect_strict_error(const char *name, const char *path, const char *suffix) {
    ctcd_tokenizer *tok = char_vocab();
    ctcd_glue_options opt = {.max_len = 64, .strict = 1};
    ctcd_glue_split s;
    ctcd_status st = ctcd_glue_load_file(task(name), path, 1, tok, &opt, &s);
    cr_assert_not_null(st, "%s: strict load should fail", path);
    char want[4200];
    snprintf(want, sizeof want, "%s%s", path, suffix);
    cr_assert(strstr(ctcd_status_message(st), want), "message '%s' should contain '%s'",
              ctcd_status_message(st), want);
    cr_assert_eq(s.data.n, 0, "nothing is returned on error");
    ctcd_status_free(st);
    ctcd_tokenizer_free(tok);
}

Test(glue_malformed, strict_mode_names_file_line_and_reason) {
    expect_strict_error("mnli", FIXTURES "/malformed/MNLI/dev_matched.tsv",
                        ":3: expected 16 tab-separated columns, found 15");
    expect_strict_error("stsb", FIXTURES "/malformed/STS-B/train.tsv",
                        ":3: cannot parse score 'n/a' in column 10");
    expect_strict_error("qnli", FIXTURES "/malformed/QNLI/dev.tsv",
                        ":4: index 'x7' in column 1 is not an integer");
    char path[4096];
    write_tmp("SST-2", "dev.tsv", "sentence\tlabel\nfine\t1\nbad\t2\n", path, sizeof path);
    expect_strict_error("sst2", path, ":3: unknown label '2' in column 2 (expected one of: 0, 1)");
    remove_tmp(path);
    write_tmp("CoLA", "dev.tsv", "s\t1\t\tok\ns\t0\t*\tbad \xFF text\n", path, sizeof path);
    expect_strict_error("cola", path, ":2: text column 4: invalid UTF-8 at byte 4");
    remove_tmp(path);
}

Test(glue_malformed, lenient_mode_skips_counts_and_reports_lines) {
    ctcd_tokenizer *tok = char_vocab();
    ctcd_glue_options opt = {.max_len = 64, .strict = 0};
    ctcd_glue_split s;
    const char *path = FIXTURES "/malformed/MNLI/dev_matched.tsv";
    ctcd_status st = ctcd_glue_load_file(task("mnli"), path, 1, tok, &opt, &s);
    cr_assert_null(st, "lenient load: %s", ctcd_status_message(st));
    cr_assert_eq(s.data.n, 3, "%lld examples kept, expected 3", (long long)s.data.n);
    cr_assert_eq(s.report.skipped, 2, "%lld skipped, expected 2", (long long)s.report.skipped);
    cr_assert(s.report.n_bad_lines == 2 && s.report.bad_lines[0] == 3 && s.report.bad_lines[1] == 5,
              "bad lines: %d entries (%lld, %lld), expected 3 and 5", s.report.n_bad_lines,
              (long long)s.report.bad_lines[0], (long long)s.report.bad_lines[1]);
    char want[4200];
    snprintf(want, sizeof want, "%s:3: expected 16", path);
    cr_assert(strstr(s.report.first_error, want), "first error '%s'", s.report.first_error);
    cr_assert(s.line[0] == 2 && s.line[1] == 4 && s.line[2] == 6, "kept lines %lld %lld %lld",
              (long long)s.line[0], (long long)s.line[1], (long long)s.line[2]);
    ctcd_glue_split_free(&s);
    ctcd_tokenizer_free(tok);
}

Test(glue_malformed, crlf_bom_empty_lines_lone_cr_and_missing_final_newline) {
    ctcd_tokenizer *tok = char_vocab();
    char path[4096];
    /* line 1 header (BOM), 2 quoted text, 3 empty, 4 "c" ended by a lone CR (one column:
     * malformed, as in Python), 5 "d", 6 empty, 7 "e" without a final newline */
    write_tmp("SST-2", "train.tsv",
              "\xEF\xBB\xBFsentence\tlabel\r\n\"a\" b\t1\r\n\r\nc\rd\t0\n\ne\t1", path, sizeof path);
    ctcd_glue_options opt = {.max_len = 64, .strict = 0};
    ctcd_glue_split s;
    ctcd_status st = ctcd_glue_load_file(task("sst2"), path, 1, tok, &opt, &s);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    check_labels(&s, (const int32_t[]){1, 0, 1}, 3);
    cr_assert(s.report.lines == 7 && s.report.empty == 2 && s.report.skipped == 1,
              "lines %lld empty %lld skipped %lld, expected 7 2 1", (long long)s.report.lines,
              (long long)s.report.empty, (long long)s.report.skipped);
    cr_assert(s.line[0] == 2 && s.line[1] == 5 && s.line[2] == 7, "lines %lld %lld %lld",
              (long long)s.line[0], (long long)s.line[1], (long long)s.line[2]);
    char buf[128];
    decode_example(tok, &s.data, 0, buf, sizeof buf);
    cr_assert_str_eq(buf, "[CLS] \" a \" b [SEP]", "quotes are literal characters");
    ctcd_glue_split_free(&s);
    remove_tmp(path);
    ctcd_tokenizer_free(tok);
}

Test(glue_malformed, bad_header_split_and_missing_file_are_errors) {
    ctcd_tokenizer *tok = char_vocab();
    ctcd_glue_options opt = {.max_len = 64, .strict = 0};
    ctcd_glue_split s;
    char path[4096];
    write_tmp("MNLI", "train.tsv", "index\tgenre\tsentence1\tsentence2\n0\tx\ta\tb\n", path, sizeof path);
    ctcd_status st = ctcd_glue_load_file(task("mnli"), path, 1, tok, &opt, &s);
    cr_assert_not_null(st, "a short header is fatal even in lenient mode");
    cr_assert(strstr(ctcd_status_message(st), ":1: header has 4 columns, the mnli layout needs 11"),
              "message: %s", ctcd_status_message(st));
    ctcd_status_free(st);
    remove_tmp(path);
    st = ctcd_glue_load(task("mnli"), FIXTURES "/MNLI", "dev", tok, &opt, &s);
    cr_assert_not_null(st, "mnli has no 'dev' split");
    cr_assert(strstr(ctcd_status_message(st), "'dev'") && strstr(ctcd_status_message(st), "dev_matched"),
              "message: %s", ctcd_status_message(st));
    ctcd_status_free(st);
    st = ctcd_glue_load(task("qqp"), "/nonexistent/QQP", "train", tok, &opt, &s);
    cr_assert_not_null(st, "missing file");
    cr_assert_eq(ctcd_status_code(st), CTCD_E_IO, "code %s", ctcd_code_name(ctcd_status_code(st)));
    cr_assert(strstr(ctcd_status_message(st), "/nonexistent/QQP/train.tsv"), "message: %s",
              ctcd_status_message(st));
    ctcd_status_free(st);
    ctcd_tokenizer_free(tok);
}
