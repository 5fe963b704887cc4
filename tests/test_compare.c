/* test_compare.c — experiments over many runs: `ctcd compare` (four arms x 2 seeds on a tiny
 * builtin:demo recipe: summary.md/json with finite numbers, mean/std equal to those of the
 * runs' eval.jsonl, a PNG that decodes), `ctcd sweep` (one row per grid point),
 * `ctcd glue-table` (GLUE score of hand-written runs), the arms' recipes, and bad input
 * failing with messages that name it. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctcd/experiment.h"
#include "ctcd/plot.h"
#include "ctcd/run.h"
#include "testutil.h"

static const char *TINY = CTCD_TEST_EXTENDS("tiny-pair.yaml")
    "data: {demo: {train_examples: 240, dev_examples: 60}}\n"
    "distill: {temperature: 2.0}\n"
    "train: {epochs: 2, log_every: 5, lr: {large: 3e-3, small: 3e-3}}\n"
    "eval: {every: 10}\n";

static char *write_recipe(const char *dir) {
    char *path = malloc(4096);
    snprintf(path, 4096, "%s/tiny.yaml", dir);
    cr_assert_eq(ctcd_test_write_file(path, TINY), 0, "cannot write %s", path);
    return path;
}

/* Whole file into a malloc'd NUL-terminated buffer (*n its length); fails the test if absent. */
static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "missing %s", path);
    fseek(f, 0, SEEK_END);
    const long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len, "short read of %s", path);
    fclose(f);
    buf[len] = '\0';
    if (n) *n = (size_t)len;
    return buf;
}

static cJSON *read_json(const char *path) {
    char *text = slurp(path, NULL);
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "%s is not JSON: %.200s", path, text);
    free(text);
    return j;
}

/* Value of metric `metric` of model `model` on the last line of run_dir/eval.jsonl, read with
 * cJSON directly (not through the code under test). */
static double last_eval_value(const char *run_dir, const char *model, const char *metric) {
    char path[4096];
    snprintf(path, sizeof path, "%s/eval.jsonl", run_dir);
    char *text = slurp(path, NULL);
    char *last = NULL;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) last = line;
    cr_assert_not_null(last, "%s is empty", path);
    cJSON *j = cJSON_Parse(last);
    cr_assert_not_null(j, "bad line in %s: %s", path, last);
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, model), metric);
    cr_assert(cJSON_IsNumber(v), "%s: no %s.%s on the last line", path, model, metric);
    const double x = v->valuedouble;
    cJSON_Delete(j);
    free(text);
    return x;
}

/* A reference CRC-32 (bitwise, independent of the table-driven one under test). */
static uint32_t crc32_ref(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- a small inflater for the test: stored and fixed-Huffman deflate blocks ---- */
typedef struct bitr {
    const uint8_t *p;
    size_t n, pos; /* pos in bits */
} bitr;

static uint32_t get_bits(bitr *r, int n) { /* LSB first */
    uint32_t v = 0;
    for (int i = 0; i < n; i++, r->pos++) {
        cr_assert(r->pos / 8 < r->n, "deflate stream truncated");
        v |= (uint32_t)((r->p[r->pos / 8] >> (r->pos % 8)) & 1) << i;
    }
    return v;
}

static int get_code_bit(bitr *r) { return (int)get_bits(r, 1); }

/* The fixed literal/length code (RFC 1951 3.2.6), read one bit at a time, MSB first. */
static int fixed_litlen(bitr *r) {
    int c = 0;
    for (int i = 0; i < 7; i++) c = (c << 1) | get_code_bit(r);
    if (c <= 0x17) return 256 + c;
    c = (c << 1) | get_code_bit(r);
    if (c >= 0x30 && c <= 0xBF) return c - 0x30;
    if (c >= 0xC0 && c <= 0xC7) return 280 + c - 0xC0;
    c = (c << 1) | get_code_bit(r);
    cr_assert(c >= 0x190 && c <= 0x1FF, "bad fixed code %x", c);
    return 144 + c - 0x190;
}

static size_t inflate_ref(const uint8_t *z, size_t zn, uint8_t *out, size_t cap) {
    static const int lb[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                               31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const int le[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                               2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    static const int db[30] = {1,    2,    3,    4,    5,    7,    9,    13,    17,    25,
                               33,   49,   65,   97,   129,  193,  257,  385,   513,   769,
                               1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    static const int de[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                               6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
    bitr r = {z, zn, 0};
    size_t got = 0;
    int final = 0;
    while (!final) {
        final = (int)get_bits(&r, 1);
        const int type = (int)get_bits(&r, 2);
        if (type == 0) {
            r.pos = (r.pos + 7) / 8 * 8;
            const size_t len = get_bits(&r, 16), nlen = get_bits(&r, 16);
            cr_assert_eq(len ^ nlen, 0xffffu, "LEN/NLEN mismatch");
            cr_assert(got + len <= cap && r.pos / 8 + len <= zn, "stored block overruns");
            memcpy(out + got, z + r.pos / 8, len);
            got += len;
            r.pos += 8 * len;
            continue;
        }
        cr_assert_eq(type, 1, "block type %d (want stored or fixed codes)", type);
        for (;;) {
            const int sym = fixed_litlen(&r);
            if (sym < 256) {
                cr_assert(got < cap, "inflated data overruns");
                out[got++] = (uint8_t)sym;
            } else if (sym == 256) {
                break;
            } else {
                cr_assert(sym <= 285, "length symbol %d", sym);
                const int len = lb[sym - 257] + (int)get_bits(&r, le[sym - 257]);
                int d = 0;
                for (int i = 0; i < 5; i++) d = (d << 1) | get_code_bit(&r);
                cr_assert(d < 30, "distance symbol %d", d);
                const size_t dist = (size_t)db[d] + get_bits(&r, de[d]);
                cr_assert(dist <= got && got + (size_t)len <= cap, "bad match");
                for (int i = 0; i < len; i++, got++) out[got] = out[got - dist];
            }
        }
    }
    return (r.pos + 7) / 8; /* bytes of z consumed */
}

/* Checks a PNG produced by ctcd: signature, chunk CRCs, IHDR, that the IDAT zlib stream
 * inflates to height rows of 1 + 3 * width bytes with a matching Adler-32, and undoes the
 * row filters (None or Sub). Returns the pixel rows, each still preceded by its filter
 * byte (malloc'd), for further checks. */
static uint8_t *check_png(const uint8_t *png, size_t n, int *w, int *h) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    cr_assert(n > 8 && memcmp(png, sig, 8) == 0, "bad PNG signature");
    size_t pos = 8;
    const uint8_t *idat = NULL;
    size_t idat_n = 0;
    int saw_iend = 0, n_chunks = 0;
    while (pos + 12 <= n) {
        const uint32_t len = be32(png + pos);
        cr_assert(pos + 12 + len <= n, "chunk %d overruns the file", n_chunks);
        const uint8_t *type = png + pos + 4;
        const uint32_t crc = be32(png + pos + 8 + len);
        cr_assert_eq(crc, crc32_ref(type, len + 4), "CRC of chunk %.4s: file %08x, computed %08x",
                     (const char *)type, crc, crc32_ref(type, len + 4));
        if (n_chunks == 0) {
            cr_assert(memcmp(type, "IHDR", 4) == 0 && len == 13, "first chunk must be IHDR");
            *w = (int)be32(type + 4);
            *h = (int)be32(type + 8);
            cr_assert_eq(type[12], 8, "bit depth %d", type[12]);
            cr_assert_eq(type[13], 2, "colour type %d (want RGB)", type[13]);
        }
        if (memcmp(type, "IDAT", 4) == 0) {
            idat = type + 4;
            idat_n = len;
        }
        if (memcmp(type, "IEND", 4) == 0) saw_iend = 1;
        pos += 12 + len;
        n_chunks++;
    }
    cr_assert(saw_iend && pos == n, "no IEND at the end of the file");
    cr_assert_not_null(idat, "no IDAT");
    cr_assert(idat_n > 6 && idat[0] == 0x78 && ((idat[0] << 8) | idat[1]) % 31 == 0,
              "bad zlib header");
    const size_t row = 1 + 3 * (size_t)*w, raw_n = row * (size_t)*h;
    uint8_t *raw = malloc(raw_n + 258);
    const size_t used = 2 + inflate_ref(idat + 2, idat_n - 2, raw, raw_n + 258);
    cr_assert_eq(used + 4, idat_n, "trailing bytes after the deflate stream");
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < raw_n; i++) {
        a = (a + raw[i]) % 65521;
        b = (b + a) % 65521;
    }
    cr_assert_eq(be32(idat + used), (b << 16) | a, "Adler-32 mismatch");
    for (int y = 0; y < *h; y++) {
        uint8_t *rw = raw + (size_t)y * row;
        cr_assert(rw[0] <= 1, "row %d filter %d", y, rw[0]);
        if (rw[0] == 1)
            for (size_t x = 3; x < row - 1; x++) rw[1 + x] = (uint8_t)(rw[1 + x] + rw[1 + x - 3]);
    }
    return raw;
}

static int count_lines_with(const char *text, const char *needle) {
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

Test(compare, two_seeds_write_summary_with_all_arms, .timeout = 300) {
    char *dir = ctcd_test_tmpdir();
    char *recipe = write_recipe(dir);
    char args[8192], *out = NULL;
    snprintf(args, sizeof args, "compare '%s' --seeds 2 --out '%s/cmp'", recipe, dir);
    int rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_assert_eq(count_lines_with(out, ": training -> "), 8, "start lines: %s", out);
    cr_assert_eq(count_lines_with(out, ": done in "), 8, "finish lines: %s", out);
    static const char *labels[6] = {"large-alone", "small-alone", "KD-small",
                                    "KD-large",    "CTCD-large",  "CTCD-small"};
    char path[4096];
    snprintf(path, sizeof path, "%s/cmp/summary.md", dir);
    char *md = slurp(path, NULL);
    for (int i = 0; i < 6; i++) {
        char row[64];
        snprintf(row, sizeof row, "| %s |", labels[i]);
        cr_assert_not_null(strstr(md, row), "summary.md lacks row %s:\n%s", labels[i], md);
        cr_assert_not_null(strstr(out, row), "printed table lacks row %s:\n%s", labels[i], out);
    }
    cr_assert_not_null(strstr(md, "demo dev, last evaluation"), "split not named:\n%s", md);
    cr_assert_not_null(strstr(md, "CTCD-small - large-alone"), "no paper delta:\n%s", md);
    cr_assert_not_null(strstr(md, "CTCD-large - large-alone"), "no paper delta:\n%s", md);
    cr_assert_not_null(strstr(md, "CTCD-small - small-alone"), "no paper delta:\n%s", md);

    snprintf(path, sizeof path, "%s/cmp/summary.json", dir);
    cJSON *j = read_json(path);
    const cJSON *series = cJSON_GetObjectItem(j, "series");
    cr_assert_eq(cJSON_GetArraySize(series), 6, "series in summary.json");
    cr_assert_str_eq(cJSON_GetObjectItem(j, "split")->valuestring, "dev");
    /* every run made by this binary on this machine: one build, 8 runs */
    const cJSON *builds = cJSON_GetObjectItem(j, "builds");
    cr_assert_eq(cJSON_GetArraySize(builds), 1, "builds: %s", cJSON_PrintUnformatted(builds));
    cr_assert_eq(cJSON_GetObjectItem(builds->child, "runs")->valueint, 8);
    cr_assert(strncmp(cJSON_GetObjectItem(builds->child, "build")->valuestring, "git ", 4) == 0);
    cr_assert_not_null(strstr(md, "Made by: git "), "no build line:\n%s", md);
    cr_assert_null(strstr(md, "more than one build"), "%s", md);
    const cJSON *ctcd_small = NULL, *kd_large = NULL, *large_alone = NULL;
    for (const cJSON *s = series->child; s; s = s->next) {
        const char *label = cJSON_GetObjectItem(s, "label")->valuestring;
        const cJSON *acc = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "stats"), "acc");
        cr_assert_not_null(acc, "%s has no acc", label);
        const double mean = cJSON_GetObjectItem(acc, "mean")->valuedouble;
        const double sd = cJSON_GetObjectItem(acc, "std")->valuedouble;
        cr_assert(isfinite(mean) && isfinite(sd) && mean >= 0 && mean <= 1 && sd >= 0,
                  "%s: acc %g ± %g", label, mean, sd);
        if (strcmp(label, "CTCD-small") == 0) ctcd_small = acc;
        if (strcmp(label, "KD-large") == 0) kd_large = s;
        if (strcmp(label, "large-alone") == 0) large_alone = s;
    }
    /* One cell against the runs themselves: mean and sample std of the two seeds. */
    char run[4096];
    snprintf(run, sizeof run, "%s/cmp/ctcd/seed42", dir);
    const double a = last_eval_value(run, "small", "acc");
    snprintf(run, sizeof run, "%s/cmp/ctcd/seed43", dir);
    const double b = last_eval_value(run, "small", "acc");
    const double mean = cJSON_GetObjectItem(ctcd_small, "mean")->valuedouble;
    const double sd = cJSON_GetObjectItem(ctcd_small, "std")->valuedouble;
    cr_assert_float_eq(mean, (a + b) / 2, 1e-12, "CTCD-small acc mean %g, runs %g %g", mean, a, b);
    cr_assert_float_eq(sd, fabs(a - b) / sqrt(2.0), 1e-12, "CTCD-small acc std %g, runs %g %g",
                       sd, a, b);
    char cell[64];
    snprintf(cell, sizeof cell, "| CTCD-small | %.4f ± %.4f |", (a + b) / 2, fabs(a - b) / sqrt(2.0));
    cr_assert_not_null(strstr(md, cell), "summary.md lacks '%s':\n%s", cell, md);
    /* With small_to_large = 0 the teacher learns from the labels only, on the same batches
     * from the same weights as large-alone: the two must agree exactly. */
    char *kd = cJSON_PrintUnformatted(cJSON_GetObjectItem(kd_large, "per_seed"));
    char *la = cJSON_PrintUnformatted(cJSON_GetObjectItem(large_alone, "per_seed"));
    cr_assert_str_eq(kd, la, "KD-large %s differs from large-alone %s", kd, la);
    free(kd);
    free(la);
    cJSON_Delete(j);

    size_t n;
    snprintf(path, sizeof path, "%s/cmp/curves.png", dir);
    uint8_t *png = (uint8_t *)slurp(path, &n);
    int w = 0, h = 0;
    uint8_t *raw = check_png(png, n, &w, &h);
    cr_assert(w >= 400 && h >= 300, "plot only %d x %d", w, h);
    size_t colored = 0; /* pixels of the series colours, not white/grey/black */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *p = raw + (size_t)y * (1 + 3 * (size_t)w) + 1 + 3 * (size_t)x;
            colored += p[0] != p[1] || p[1] != p[2];
        }
    cr_assert_gt(colored, 500, "the plot has almost no coloured pixels (%zu)", colored);
    free(raw);
    free(png);
    free(md);
    free(out);
    free(recipe);
    ctcd_test_rmtree(dir);
    free(dir);
}

/* The fine-tuning baseline of a data-efficiency sweep: a one-model recipe swept over
 * data.train_fraction trains that model alone on the first share of the training set. */
static struct timespec mtime_of(const char *path) {
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0, "missing %s", path);
    return sb.st_mtim;
}

/* --keep-finished: a second compare keeps a finished run (its files untouched, a "kept" line)
 * and trains again a run that cannot show it finished (its state file removed, as after a
 * kill before the first save); the summary covers both. The first compare is --runs-only,
 * which trains and writes no summary. */
Test(compare, keep_finished_keeps_finished_runs_and_trains_the_rest, .timeout = 300) {
    char *dir = ctcd_test_tmpdir();
    char *recipe = write_recipe(dir);
    char args[8192], small_log[4300], ctcd_state[4300], *out = NULL;
    /* --runs-only (one of several processes sharing the directory): the runs, no summary */
    snprintf(args, sizeof args, "compare '%s' --arms small-alone,ctcd --out '%s/cmp' --runs-only",
             recipe, dir);
    int rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "compare failed (%d): %s", rc, out);
    cr_expect_not_null(strstr(out, "(no summary: --runs-only)"), "%s", out);
    cr_expect_null(strstr(out, "CTCD-small - small-alone"), "a summary table: %s", out);
    free(out);
    struct stat sb;
    snprintf(small_log, sizeof small_log, "%s/cmp/summary.md", dir);
    cr_expect_neq(stat(small_log, &sb), 0, "--runs-only wrote %s", small_log);
    snprintf(small_log, sizeof small_log, "%s/cmp/small-alone/seed42/log.jsonl", dir);
    snprintf(ctcd_state, sizeof ctcd_state, "%s/cmp/ctcd/seed42/state/train_state.safetensors",
             dir);
    const struct timespec before = mtime_of(small_log);
    cr_assert_eq(remove(ctcd_state), 0, "cannot remove %s", ctcd_state);
    snprintf(args, sizeof args, "compare '%s' --arms small-alone,ctcd --out '%s/cmp' "
             "--keep-finished", recipe, dir);
    rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "compare --keep-finished failed (%d): %s", rc, out);
    cr_expect_not_null(strstr(out, "small-alone seed 42: finished earlier, kept"), "%s", out);
    cr_expect_null(strstr(out, "ctcd seed 42: finished earlier"), "%s", out);
    cr_expect_not_null(strstr(out, "ctcd seed 42: training"), "%s", out);
    cr_expect_not_null(strstr(out, "CTCD-small - small-alone"), "no summary: %s", out);
    free(out);
    const struct timespec after = mtime_of(small_log);
    cr_expect(before.tv_sec == after.tv_sec && before.tv_nsec == after.tv_nsec,
              "the finished run's log.jsonl was rewritten");
    cr_expect_eq(stat(ctcd_state, &sb), 0, "the unfinished run was not trained again");
    /* A run whose log.jsonl was written by another binary: the summary names both builds. */
    char *log = ctcd_test_read_file(small_log);
    cr_assert_not_null(log);
    char *sub = strstr(log, "\"git_commit\":\"");
    cr_assert_not_null(sub, "no git_commit in %s", small_log);
    memcpy(sub + strlen("\"git_commit\":\""), "feedfacecafe", 12);
    cr_assert_eq(ctcd_test_write_file(small_log, log), 0);
    free(log);
    snprintf(args, sizeof args, "compare '%s' --arms small-alone,ctcd --out '%s/cmp' "
             "--keep-finished", recipe, dir);
    rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "compare --keep-finished failed (%d): %s", rc, out);
    free(out);
    char md_path[4300];
    snprintf(md_path, sizeof md_path, "%s/cmp/summary.md", dir);
    char *md = ctcd_test_read_file(md_path);
    cr_assert_not_null(md);
    cr_expect_not_null(strstr(md, "git feedfacecafe"), "%s", md);
    cr_expect_not_null(strstr(md, "): 1 run; "), "%s", md);
    cr_expect_not_null(strstr(md, "more than one build or machine"), "%s", md);
    free(md);
    ctcd_test_rmtree(dir);
    free(recipe);
    free(dir);
}

Test(compare, sweep_of_one_model_over_train_fraction, .timeout = 120) {
    char *dir = ctcd_test_tmpdir();
    char path[4096], args[8192], *out = NULL;
    snprintf(path, sizeof path, "%s/one.yaml", dir);
    cr_assert_eq(ctcd_test_write_file(path, CTCD_TEST_EXTENDS("tiny-small.yaml")
                     "data: {demo: {train_examples: 240, dev_examples: 60}}\n"
                     "train: {epochs: 1, lr: {small: 3e-3}}\n"),
                 0, "cannot write %s", path);
    snprintf(args, sizeof args, "sweep '%s' --grid data.train_fraction=0.25,1 --out '%s/sw'",
             path, dir);
    int rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    snprintf(path, sizeof path, "%s/sw/sweep.md", dir);
    char *md = slurp(path, NULL);
    cr_assert_not_null(strstr(md, "\n| 0.25 | - | 0."), "no small-only row for 0.25:\n%s", md);
    cr_assert_not_null(strstr(md, "\n| 1 | - | 0."), "no small-only row for 1:\n%s", md);
    /* 240 x 0.25 = 60 examples = 4 steps of 16; all 240 = 15 steps */
    static const struct { const char *point; int steps; } want[] = {
        {"data.train_fraction=0.25", 4}, {"data.train_fraction=1", 15}};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/sw/%s/seed42/eval.jsonl", dir, want[i].point);
        char *ev = slurp(path, NULL);
        char step[32];
        snprintf(step, sizeof step, "\"step\":%d,", want[i].steps);
        cr_assert_not_null(strstr(ev, step), "%s: want a final evaluation at step %d:\n%s",
                           want[i].point, want[i].steps, ev);
        free(ev);
    }
    free(md);
    free(out);
    ctcd_test_rmtree(dir);
    free(dir);
}

Test(compare, sweep_over_two_temperatures_writes_two_rows, .timeout = 300) {
    char *dir = ctcd_test_tmpdir();
    char *recipe = write_recipe(dir);
    char args[8192], *out = NULL;
    snprintf(args, sizeof args, "sweep '%s' --grid distill.temperature=1,4 --out '%s/sw'", recipe,
             dir);
    int rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    char path[4096];
    snprintf(path, sizeof path, "%s/sw/sweep.md", dir);
    char *md = slurp(path, NULL);
    /* the second table: each point minus the first, paired by seed (one seed: no interval) */
    char *vs_first = strstr(md, "\neach point - the first, paired by seed");
    cr_assert_not_null(vs_first, "no paired table:\n%s", md);
    cr_assert_not_null(strstr(vs_first, "\n| distill.temperature=4 | "), "%s", md);
    *vs_first = '\0'; /* the checks below read the score table only */
    cr_assert_not_null(strstr(md, "| distill.temperature | large | small |"), "header:\n%s", md);
    cr_assert_not_null(strstr(md, "\n| 1 | "), "no row for T=1:\n%s", md);
    cr_assert_not_null(strstr(md, "\n| 4 | "), "no row for T=4:\n%s", md);
    cr_assert_eq(count_lines_with(md, "\n| "), 3, "want header + 2 rows:\n%s", md);
    cr_assert_eq(count_lines_with(md, " * |"), 2, "want one best mark per model:\n%s", md);
    snprintf(path, sizeof path, "%s/sw/sweep.json", dir);
    cJSON *j = read_json(path);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "points")), 2, "points in sweep.json");
    const cJSON *builds = cJSON_GetObjectItem(j, "builds"); /* both runs: this binary */
    cr_assert_eq(cJSON_GetArraySize(builds), 1, "builds in sweep.json");
    cr_assert_eq(cJSON_GetObjectItem(builds->child, "runs")->valueint, 2);
    cJSON_Delete(j);
    snprintf(path, sizeof path, "%s/sw/distill.temperature=4/seed42/recipe.yaml", dir);
    char *resolved = slurp(path, NULL);
    cr_assert_not_null(strstr(resolved, "temperature: 4"), "T not applied:\n%s", resolved);
    free(resolved);
    free(md);
    free(out);
    free(recipe);
    ctcd_test_rmtree(dir);
    free(dir);
}

static void write_run(const char *dir, const char *name, const char *lines) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s", path);
    snprintf(path, sizeof path, "%s/%s/eval.jsonl", dir, name);
    cr_assert_eq(ctcd_test_write_file(path, lines), 0, "write %s", path);
}

Test(compare, glue_table_averages_task_scores) {
    char *dir = ctcd_test_tmpdir();
    write_run(dir, "sst2",
              "{\"step\":10,\"epoch\":0,\"task\":\"sst2\",\"examples\":872,\"task_metric\":\"acc\","
              "\"large\":{\"acc\":0.900000,\"score\":0.900000},\"small\":{\"acc\":0.700000,\"score\":0.700000}}\n"
              "{\"step\":20,\"epoch\":1,\"task\":\"sst2\",\"examples\":872,\"task_metric\":\"acc\","
              "\"large\":{\"acc\":0.800000,\"score\":0.800000},\"small\":{\"acc\":0.750000,\"score\":0.750000}}\n");
    write_run(dir, "mrpc",
              "{\"step\":20,\"epoch\":1,\"task\":\"mrpc\",\"examples\":408,\"task_metric\":\"acc+f1\","
              "\"large\":{\"acc\":0.600000,\"f1\":0.700000,\"score\":0.650000},"
              "\"small\":{\"acc\":0.500000,\"f1\":0.600000,\"score\":0.550000}}\n");
    char args[8192], *out = NULL;
    snprintf(args, sizeof args, "glue-table '%s/sst2' '%s/mrpc'", dir, dir);
    int rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    /* GLUE order puts MRPC after SST-2; last lines: large (0.8 + 0.65)/2, small (0.75 + 0.55)/2 */
    cr_assert_not_null(strstr(out, "| model | SST-2 | MRPC | GLUE |"), "header:\n%s", out);
    cr_assert_not_null(strstr(out, "| large | 0.8000 | 0.6500 | 0.7250 |"), "large row:\n%s", out);
    cr_assert_not_null(strstr(out, "| small | 0.7500 | 0.5500 | 0.6500 |"), "small row:\n%s", out);
    free(out);
    snprintf(args, sizeof args, "glue-table --best '%s/mrpc' '%s/sst2/eval.jsonl'", dir, dir);
    rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_assert_not_null(strstr(out, "| large | 0.9000 | 0.6500 | 0.7750 |"), "best large:\n%s", out);
    cr_assert_not_null(strstr(out, "| small | 0.7500 | 0.5500 | 0.6500 |"), "best small:\n%s", out);
    free(out);
    snprintf(args, sizeof args, "glue-table '%s/sst2' '%s/sst2'", dir, dir);
    rc = ctcd_test_run_cli(args, &out);
    cr_assert_neq(rc, 0, "two runs of one task accepted: %s", out);
    cr_assert_not_null(strstr(out, "two runs of task sst2"), "message: %s", out);
    free(out);
    ctcd_test_rmtree(dir);
    free(dir);
}

/* eval.jsonl's "split" is read back; a log written before the key existed reads as the split
 * that ctcd evaluated on (test for e-SNLI and CQA, else dev); a split that is not a string is
 * an error naming the line. */
Test(compare, eval_log_reads_the_split) {
    char *dir = ctcd_test_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/eval.jsonl", dir);
    cr_assert_eq(ctcd_test_write_file(path,
        "{\"step\":5,\"epoch\":0,\"task\":\"esnli\",\"examples\":9,\"task_metric\":\"acc\","
        "\"split\":\"test\",\"large\":{\"acc\":0.5,\"score\":0.5}}\n"
        "{\"step\":9,\"epoch\":1,\"task\":\"esnli\",\"examples\":9,\"task_metric\":\"acc\","
        "\"large\":{\"acc\":0.6,\"score\":0.6}}\n"
        "{\"step\":9,\"epoch\":1,\"task\":\"sst2\",\"examples\":9,\"task_metric\":\"acc\","
        "\"large\":{\"acc\":0.6,\"score\":0.6}}\n"), 0);
    ctcd_eval_log log;
    ctcd_status st = ctcd_eval_log_read(path, &log);
    cr_assert_eq(st, CTCD_OK, "%s", ctcd_status_message(st));
    cr_assert_eq(log.n, 3);
    cr_assert_str_eq(log.points[0].split, "test");
    cr_assert_str_eq(log.points[1].split, "test"); /* no key: e-SNLI was evaluated on test */
    cr_assert_str_eq(log.points[2].split, "dev");  /* no key: a GLUE task on dev */
    ctcd_eval_log_free(&log);
    cr_assert_eq(ctcd_test_write_file(path,
        "{\"step\":5,\"epoch\":0,\"task\":\"esnli\",\"examples\":9,\"task_metric\":\"acc\","
        "\"split\":3,\"large\":{\"acc\":0.5,\"score\":0.5}}\n"), 0);
    st = ctcd_eval_log_read(path, &log);
    cr_assert_neq(st, CTCD_OK, "a numeric split accepted");
    cr_assert_not_null(strstr(ctcd_status_message(st), "eval.jsonl:1: \"split\" must be a string"),
                       "message: %s", ctcd_status_message(st));
    ctcd_status_free(st);
    ctcd_test_rmtree(dir);
    free(dir);
}

Test(compare, glue_table_names_a_bad_eval_line) {
    char *dir = ctcd_test_tmpdir();
    write_run(dir, "rte", "{\"step\":1,\"epoch\":0,\"task\":\"rte\",\"examples\":1,"
                          "\"task_metric\":\"acc\",\"large\":{\"acc\":0.5}}\n");
    char args[8192], *out = NULL;
    snprintf(args, sizeof args, "glue-table '%s/rte'", dir);
    int rc = ctcd_test_run_cli(args, &out);
    cr_assert_neq(rc, 0, "bad line accepted: %s", out);
    cr_assert_not_null(strstr(out, "rte/eval.jsonl:1"), "file:line not named: %s", out);
    cr_assert_not_null(strstr(out, "score"), "missing key not named: %s", out);
    free(out);
    ctcd_test_rmtree(dir);
    free(dir);
}

/* Runs the CLI and expects failure with every needle in the output. */
static void expect_failure(const char *args, const char *n1, const char *n2) {
    char *out = NULL;
    int rc = ctcd_test_run_cli(args, &out);
    cr_assert_neq(rc, 0, "'%s' succeeded: %s", args, out);
    cr_assert_not_null(strstr(out, n1), "'%s': '%s' not named in: %s", args, n1, out);
    if (n2) cr_assert_not_null(strstr(out, n2), "'%s': '%s' not named in: %s", args, n2, out);
    free(out);
}

Test(compare, bad_input_is_named) {
    char *dir = ctcd_test_tmpdir();
    char *recipe = write_recipe(dir);
    char args[8192];
    snprintf(args, sizeof args, "compare '%s' --arms large-alone,teacher --out '%s/x'", recipe, dir);
    expect_failure(args, "unknown arm 'teacher'", "large-alone, small-alone, kd, ctcd");
    snprintf(args, sizeof args, "compare '%s' --seeds 0", recipe);
    expect_failure(args, "--seeds", NULL);
    snprintf(args, sizeof args, "compare '%s' --bogus", recipe);
    expect_failure(args, "unknown option '--bogus'", NULL);
    snprintf(args, sizeof args, "sweep '%s' --grid distill.temperature --out '%s/x'", recipe, dir);
    expect_failure(args, "--grid 'distill.temperature'", "expected KEY=V1,V2");
    snprintf(args, sizeof args, "sweep '%s' --grid distill.temperature=1,,2 --out '%s/x'", recipe,
             dir);
    expect_failure(args, "--grid 'distill.temperature=1,,2'", "empty value");
    snprintf(args, sizeof args, "sweep '%s' --grid distill.temprature=1,2 --out '%s/x'", recipe,
             dir);
    expect_failure(args, "unknown key 'temprature'", "did you mean 'temperature'");
    snprintf(args, sizeof args, "sweep '%s' --grid distill.temperature=1,hot --out '%s/x'",
             recipe, dir);
    expect_failure(args, "distill.temperature", "'hot'");
    snprintf(args, sizeof args, "sweep '%s' --grid train.seed=1,2", recipe);
    expect_failure(args, "train.seed cannot be swept", NULL);
    struct stat st;
    snprintf(args, sizeof args, "%s/x", dir);
    cr_assert_neq(stat(args, &st), 0, "a failed command created %s", args);
    free(recipe);
    ctcd_test_rmtree(dir);
    free(dir);
}

Test(compare, arm_recipes_follow_the_paper) {
    ctcd_recipe base, r;
    ctcd_recipe_defaults(&base);
    base.models[CTCD_LARGE].present = base.models[CTCD_SMALL].present = 1;
    base.distill.small_to_large = 0.0f;
    base.distill.large_to_small = 0.5f;
    cr_assert_null(ctcd_arm_recipe(&base, CTCD_ARM_LARGE_ALONE, &r));
    cr_assert(r.models[CTCD_LARGE].present && !r.models[CTCD_SMALL].present);
    cr_assert_null(ctcd_arm_recipe(&base, CTCD_ARM_SMALL_ALONE, &r));
    cr_assert(!r.models[CTCD_LARGE].present && r.models[CTCD_SMALL].present);
    cr_assert_null(ctcd_arm_recipe(&base, CTCD_ARM_KD, &r));
    cr_assert(r.distill.small_to_large == 0.0f && r.distill.large_to_small == 0.5f,
              "kd: %g %g", r.distill.small_to_large, r.distill.large_to_small);
    cr_assert_null(ctcd_arm_recipe(&base, CTCD_ARM_CTCD, &r));
    cr_assert(r.distill.small_to_large == 1.0f && r.distill.large_to_small == 0.5f,
              "ctcd: a weight at 0 must become 1, the other stay (%g %g)",
              r.distill.small_to_large, r.distill.large_to_small);
    base.models[CTCD_SMALL].present = 0;
    ctcd_status st = ctcd_arm_recipe(&base, CTCD_ARM_KD, &r);
    cr_assert_not_null(st, "kd from a one-model recipe accepted");
    cr_assert_not_null(strstr(ctcd_status_message(st), "models.small"), "%s",
                       ctcd_status_message(st));
    ctcd_status_free(st);
}

Test(compare, stat_is_mean_and_sample_std) {
    const double x[4] = {1, 2, 3, 4};
    ctcd_stat s = ctcd_stat_of(x, 4);
    cr_assert_float_eq(s.mean, 2.5, 1e-15);
    cr_assert_float_eq(s.std, sqrt(5.0 / 3.0), 1e-15, "std %g", s.std);
    s = ctcd_stat_of(x, 1);
    cr_assert(s.mean == 1 && s.std == 0, "one seed: %g ± %g", s.mean, s.std);
}

Test(compare, png_encoder_round_trips_pixels) {
    enum { W = 300, H = 250 }; /* > 64 KiB of pixel rows */
    uint8_t *rgb = malloc(W * H * 3);
    /* noise (literals) in the top half, flat areas and repeated rows (matches) below */
    for (int i = 0; i < W * H * 3; i++)
        rgb[i] = i < W * H * 3 / 2 ? (uint8_t)(i * 7 + i / 13 + (int)(((uint32_t)i * (uint32_t)i) % 251u))
                                   : (uint8_t)((i / (3 * W)) % 5 == 0 ? 40 : 250 - i % 3);
    uint8_t *png;
    size_t n;
    cr_assert_null(ctcd_png_encode_rgb(rgb, W, H, &png, &n));
    int w, h;
    uint8_t *raw = check_png(png, n, &w, &h);
    cr_assert(w == W && h == H, "IHDR says %d x %d", w, h);
    cr_assert_lt(n, (size_t)W * H * 3 * 3 / 4, "no compression: %zu bytes", n);
    for (int y = 0; y < H; y++)
        cr_assert(memcmp(raw + (size_t)y * (1 + 3 * W) + 1, rgb + (size_t)y * 3 * W, 3 * W) == 0,
                  "row %d differs after decoding", y);
    cr_assert_eq(ctcd_crc32(0, "123456789", 9), 0xCBF43926u, "CRC-32 check value");
    cr_assert_eq(ctcd_adler32(1, "Wikipedia", 9), 0x11E60398u, "Adler-32 check value");
    free(raw);
    free(png);
    free(rgb);
}

Test(compare, help_lists_experiment_commands) {
    char *out = NULL;
    int rc = ctcd_test_run_cli("--help", &out);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_assert_not_null(strstr(out, "compare RECIPE"), "help: %s", out);
    cr_assert_not_null(strstr(out, "sweep RECIPE"), "help: %s", out);
    cr_assert_not_null(strstr(out, "glue-table"), "help: %s", out);
    free(out);
    static const char *cmds[3][2] = {{"compare --help", "--arms"}, {"sweep --help", "--grid"},
                                     {"glue-table --help", "--best"}};
    for (int i = 0; i < 3; i++) {
        rc = ctcd_test_run_cli(cmds[i][0], &out);
        cr_assert_eq(rc, 0, "%s: exit %d: %s", cmds[i][0], rc, out);
        cr_assert_not_null(strstr(out, cmds[i][1]), "%s: %s", cmds[i][0], out);
        free(out);
    }
}
