/* test_predict.c — the real-data commands end to end, with no downloads: `ctcd tokenize` on a
 * hand-written vocabulary, and train → checkpoints → `ctcd predict` on the MNLI fixture
 * (logits file, GLUE submission file, metrics equal to the trainer's last evaluation). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static const char *VOCAB =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nstation\nshe\nwas\n.\n,\nheading\nto\n##s\nrun\n"
    "water\nboiling\npond\n";

static char *path_in(const char *dir, const char *name) {
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

static char *run_ok(const char *args) {
    char *out = NULL;
    int rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "ctcd %s: exit %d\n%s", args, rc, out);
    return out;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Runs `ctcd tokenize --vocab V <flags>` on input text; returns the output and exit code. */
static int tokenize(const char *dir, const char *vocab, const char *flags, const char *input,
                    char **out) {
    char *in = path_in(dir, "input.txt");
    cr_assert_eq(ctcd_test_write_file(in, input), 0);
    char args[8192];
    snprintf(args, sizeof args, "tokenize --vocab '%s' %s < '%s'", vocab, flags, in);
    free(in);
    return ctcd_test_run_cli(args, out);
}

static void expect_tokens(const char *dir, const char *vocab, const char *flags,
                          const char *input, const char *want) {
    char *out = NULL;
    int rc = tokenize(dir, vocab, flags, input, &out);
    cr_assert_eq(rc, 0, "tokenize %s: exit %d: %s", flags, rc, out);
    cr_assert_str_eq(out, want, "tokenize %s of %s: got\n%s", flags, input, out);
    free(out);
}

Test(tokenize_cmd, ids_pairs_types_and_bad_lines) {
    char *dir = ctcd_test_tmpdir(), *vocab = path_in(dir, "vocab.txt");
    cr_assert_eq(ctcd_test_write_file(vocab, VOCAB), 0);
    /* "She runs, the station." -> she run ##s , the station .  (## continuation, punctuation
     * split, lower-casing); an unknown word is [UNK] = 1. */
    expect_tokens(dir, vocab, "", "She runs, the STATION.\nzebra\n", "2 7 14 13 10 5 6 9 3\n2 1 3\n");
    expect_tokens(dir, vocab, "--pair --types", "She was heading\twater boiling\n",
                  "2 7 8 11 3 15 16 3\t0 0 0 0 0 1 1 1\n");
    expect_tokens(dir, vocab, "--raw", "the ponds\n", "5 17 13\n");
    /* --max-len truncates with [CLS]/[SEP] kept. */
    expect_tokens(dir, vocab, "--max-len 4", "the the the the\n", "2 5 5 3\n");
    /* A pair line without a tab names its line number. */
    char *out = NULL;
    int rc = tokenize(dir, vocab, "--pair", "a\tb\nno tab here\n", &out);
    cr_assert_neq(rc, 0);
    cr_assert_not_null(strstr(out, "stdin:2"), "line not named: %s", out);
    free(out);
    rc = ctcd_test_run_cli("tokenize --vocab /nonexistent/vocab.txt </dev/null", &out);
    cr_assert_neq(rc, 0);
    cr_assert_not_null(strstr(out, "/nonexistent/vocab.txt"), "file not named: %s", out);
    cr_assert_not_null(strstr(out, "No such file or directory"), "no OS reason: %s", out);
    free(out);
    ctcd_test_rmtree(dir);
    free(vocab);
    free(dir);
}

/* The value of "key": in the last line of a JSONL file after `after` (e.g. "\"large\":{"). */
static double last_json_number(const char *text, const char *after, const char *key) {
    const char *line = text, *p;
    while ((p = strchr(line, '\n')) && p[1]) line = p + 1;
    const char *a = strstr(line, after);
    cr_assert_not_null(a, "%s not in %s", after, line);
    const char *k = strstr(a, key);
    cr_assert_not_null(k, "%s not in %s", key, a);
    return strtod(k + strlen(key), NULL);
}

Test(predict_cmd, train_checkpoint_predict_round_trip_on_mnli_fixture, .timeout = 300) {
    char *dir = ctcd_test_tmpdir(), *vocab = path_in(dir, "vocab.txt");
    char *recipe = path_in(dir, "mnli.yaml"), *out_dir = path_in(dir, "run");
    cr_assert_eq(ctcd_test_write_file(vocab, VOCAB), 0);
    char text[8192];
    snprintf(text, sizeof text,
             "task: mnli\n"
             "data: {dir: %s/tests/fixtures/glue/MNLI, vocab: %s, max_len: 32}\n"
             "models:\n"
             "  large: {layers: 1, hidden: 16, heads: 2, intermediate: 32}\n"
             "  small: {layers: 1, hidden: 8, heads: 2, intermediate: 16}\n"
             "train: {max_steps: 3, batch: 2, backend: cpu, lr: {large: 1e-2, small: 1e-2}}\n"
             "output: %s\n",
             CTCD_SOURCE_DIR, vocab, out_dir);
    cr_assert_eq(ctcd_test_write_file(recipe, text), 0);
    char args[16384];
    snprintf(args, sizeof args, "train '%s' --quiet", recipe);
    free(run_ok(args));
    char *eval_path = path_in(out_dir, "eval.jsonl");
    const double acc_m = last_json_number(slurp(eval_path), "\"large\":{", "\"acc_m\":");

    /* The last checkpoint on dev_matched reproduces the trainer's last evaluation. */
    char *logits = path_in(dir, "logits.tsv");
    snprintf(args, sizeof args,
             "predict '%s/large/last' --task mnli --data-dir '%s/tests/fixtures/glue/MNLI' "
             "--logits '%s' --backend cpu",
             out_dir, CTCD_SOURCE_DIR, logits);
    char *out = run_ok(args);
    char want[64];
    snprintf(want, sizeof want, "acc %.4f", acc_m);
    cr_assert_not_null(strstr(out, want), "predict printed:\n%s\nexpected %s", out, want);
    free(out);
    const char *lg = slurp(logits);
    int rows = 0, tabs = 0;
    for (const char *c = lg; *c; c++) {
        rows += *c == '\n';
        tabs += *c == '\t';
    }
    cr_assert_eq(rows, 3, "dev_matched has 3 examples, logits file has %d rows", rows);
    cr_assert_eq(tabs, 6, "3 classes per row");

    /* A test split writes the leaderboard file with the file's index and label strings,
     * into a --submit directory that does not exist yet (made, parents included); --logits
     * into a new directory likewise. */
    char *logits_new = path_in(dir, "new/logits/test.tsv");
    snprintf(args, sizeof args,
             "predict '%s/small/best' --task mnli --split test_matched --data-dir "
             "'%s/tests/fixtures/glue/MNLI' --submit '%s/sub/mit' --logits '%s' --backend cpu",
             out_dir, CTCD_SOURCE_DIR, dir, logits_new);
    free(run_ok(args));
    cr_assert_not_null(slurp(logits_new));
    free(logits_new);
    char *sub = path_in(dir, "sub/mit/MNLI-m.tsv");
    const char *s = slurp(sub);
    cr_assert_eq(strncmp(s, "index\tprediction\n0\t", 19), 0, "submission:\n%s", s);
    int lines = 0;
    for (const char *c = s; *c; c++) lines += *c == '\n';
    cr_assert_eq(lines, 3, "header + 2 test rows, got %d lines:\n%s", lines, s);
    for (const char *l = strchr(s, '\n') + 1; *l; l = strchr(l, '\n') + 1) {
        const char *lab = strchr(l, '\t') + 1;
        cr_assert(strncmp(lab, "contradiction\n", 14) == 0 || strncmp(lab, "entailment\n", 11) == 0 ||
                      strncmp(lab, "neutral\n", 8) == 0,
                  "bad label in: %s", l);
    }

    /* Bad input: a checkpoint directory that does not exist is named, with the OS reason,
     * whether or not data is reachable (the checkpoint is checked before the vocabulary is
     * looked for). */
    int rc = ctcd_test_run_cli("predict /nonexistent/ckpt --task sst2 --backend cpu", &out);
    cr_assert_neq(rc, 0);
    cr_assert_not_null(strstr(out, "/nonexistent/ckpt"), "dir not named: %s", out);
    cr_assert_not_null(strstr(out, "No such file or directory"), "no OS reason: %s", out);
    free(out);
    cr_assert_eq(setenv("CTCD_DATA_DIR", dir, 1), 0); /* a data root without a vocabulary */
    rc = ctcd_test_run_cli("predict /nonexistent/ckpt --task sst2 --backend cpu", &out);
    cr_assert_neq(rc, 0);
    cr_assert_not_null(strstr(out, "/nonexistent/ckpt"), "dir not named without data: %s", out);
    free(out);
    unsetenv("CTCD_DATA_DIR");
    ctcd_test_rmtree(dir);
    free(sub);
    free(logits);
    free(eval_path);
    free(out_dir);
    free(recipe);
    free(vocab);
    free(dir);
}
