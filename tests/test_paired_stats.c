/* test_paired_stats.c — the paired statistics of `ctcd compare` and `ctcd sweep`: Student-t
 * quantiles, the 95% paired-t interval against a hand computation, and a compare summary
 * built from hand-written runs (3 seeds) whose deltas, intervals, per-seed differences and
 * "excludes 0" marks are checked in summary.md and summary.json. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctcd/experiment.h"
#include "ctcd/fileio.h"
#include "ctcd/stats.h"
#include "testutil.h"

Test(paired_stats, t_quantiles_match_the_table_and_the_normal_limit) {
    cr_assert_float_eq(ctcd_t975(1), 12.706, 1e-12);
    cr_assert_float_eq(ctcd_t975(4), 2.776, 1e-12);
    cr_assert_float_eq(ctcd_t975(30), 2.042, 1e-12);
    /* beyond the table: t(0.975, 40) = 2.0211, t(0.975, 120) = 1.9799, t(0.975, inf) = 1.96 */
    cr_assert_float_eq(ctcd_t975(40), 2.0211, 2e-4, "%g", ctcd_t975(40));
    cr_assert_float_eq(ctcd_t975(120), 1.9799, 2e-4, "%g", ctcd_t975(120));
    cr_assert_float_eq(ctcd_t975(1000000), 1.96, 1e-3);
    cr_assert(isnan(ctcd_t975(0)));
}

Test(paired_stats, interval_is_mean_plus_minus_t_times_standard_error) {
    /* differences 0.01, 0.03, 0.02: mean 0.02, std 0.01, t(0.975, 2) = 4.303 */
    const double d[3] = {0.01, 0.03, 0.02};
    const ctcd_paired p = ctcd_paired_of(d, 3);
    const double half = 4.303 * 0.01 / sqrt(3.0);
    cr_assert_float_eq(p.mean, 0.02, 1e-15);
    cr_assert_float_eq(p.std, 0.01, 1e-15);
    cr_assert_float_eq(p.lo, 0.02 - half, 1e-12, "lo %g", p.lo);
    cr_assert_float_eq(p.hi, 0.02 + half, 1e-12, "hi %g", p.hi);
    cr_assert(!ctcd_paired_excludes_zero(p), "[%g, %g] contains 0", p.lo, p.hi);
    const double e[3] = {0.05, 0.06, 0.055};
    const ctcd_paired q = ctcd_paired_of(e, 3);
    cr_assert(ctcd_paired_excludes_zero(q), "[%g, %g] excludes 0", q.lo, q.hi);
    const double f[3] = {-0.05, -0.06, -0.055};
    cr_assert(ctcd_paired_excludes_zero(ctcd_paired_of(f, 3)), "negative side");
    /* one seed has no interval; a missing run (NAN) gives none either */
    const ctcd_paired one = ctcd_paired_of(d, 1);
    cr_assert(isnan(one.lo) && isnan(one.hi) && !ctcd_paired_excludes_zero(one));
    const double g[3] = {0.01, NAN, 0.02};
    cr_assert(isnan(ctcd_paired_of(g, 3).lo));
}

/* <dir>/<arm>/seed<seed>/eval.jsonl with one evaluation line. */
static void write_run(const char *dir, const char *arm, int seed, double large, double small) {
    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/%s/seed%d", dir, arm, seed);
    cr_assert_null(ctcd_mkdirs(path), "mkdirs %s", path);
    strcat(path, "/eval.jsonl");
    int n = snprintf(line, sizeof line,
                     "{\"step\":10,\"epoch\":0,\"task\":\"builtin:demo\",\"examples\":60,"
                     "\"task_metric\":\"acc\"");
    if (!isnan(large)) n += snprintf(line + n, sizeof line - (size_t)n,
                                     ",\"large\":{\"acc\":%.6f,\"score\":%.6f}", large, large);
    if (!isnan(small)) n += snprintf(line + n, sizeof line - (size_t)n,
                                     ",\"small\":{\"acc\":%.6f,\"score\":%.6f}", small, small);
    snprintf(line + n, sizeof line - (size_t)n, "}\n");
    cr_assert_eq(ctcd_test_write_file(path, line), 0, "cannot write %s", path);
}

Test(paired_stats, compare_summary_reports_intervals_and_per_seed_differences) {
    char *dir = ctcd_test_tmpdir();
    /* seeds 7, 8, 9. CTCD-small - small-alone = +0.05, +0.06, +0.055 (excludes 0);
     * CTCD-small - large-alone = +0.01, -0.02, +0.03 (does not). */
    const double large_alone[3] = {0.70, 0.72, 0.68}, small_alone[3] = {0.66, 0.64, 0.655};
    const double ctcd_large[3] = {0.73, 0.74, 0.70};
    for (int k = 0; k < 3; k++) {
        write_run(dir, "large-alone", 7 + k, large_alone[k], NAN);
        write_run(dir, "small-alone", 7 + k, NAN, small_alone[k]);
        const double ctcd_small = large_alone[k] + (k == 0 ? 0.01 : k == 1 ? -0.02 : 0.03);
        write_run(dir, "ctcd", 7 + k, ctcd_large[k], ctcd_small);
    }
    const unsigned arms = (1u << CTCD_ARM_LARGE_ALONE) | (1u << CTCD_ARM_SMALL_ALONE) |
                          (1u << CTCD_ARM_CTCD);
    ctcd_compare_summary s;
    ctcd_status st = ctcd_compare_summarize(dir, arms, 7, 3, &s);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    int found = 0;
    for (int d = 0; d < s.n_deltas; d++) {
        const ctcd_compare_delta *de = &s.deltas[d];
        const ctcd_paired p = de->col[0];
        if (strcmp(de->label, "CTCD-small - small-alone") == 0) {
            found |= 1;
            cr_assert_float_eq(de->per_seed[1][0], 0.06, 1e-6, "seed 8: %g",
                               de->per_seed[1][0]);
            cr_assert(ctcd_paired_excludes_zero(p), "[%g, %g]", p.lo, p.hi);
        } else if (strcmp(de->label, "CTCD-small - large-alone") == 0) {
            found |= 2;
            cr_assert_float_eq(de->per_seed[0][0], 0.01, 1e-6);
            cr_assert_float_eq(de->per_seed[1][0], -0.02, 1e-6);
            cr_assert_float_eq(de->per_seed[2][0], 0.03, 1e-6);
            const double half = 4.303 * sqrt(((0.01 - 0.02 / 3) * (0.01 - 0.02 / 3) +
                                              (-0.02 - 0.02 / 3) * (-0.02 - 0.02 / 3) +
                                              (0.03 - 0.02 / 3) * (0.03 - 0.02 / 3)) / 2) /
                                sqrt(3.0);
            cr_assert_float_eq(p.lo, 0.02 / 3 - half, 1e-6, "lo %g", p.lo);
            cr_assert_float_eq(p.hi, 0.02 / 3 + half, 1e-6, "hi %g", p.hi);
            cr_assert(!ctcd_paired_excludes_zero(p));
        } else if (strcmp(de->label, "large-alone - small-alone") == 0) {
            found |= 4; /* the gap: +0.04, +0.08, +0.025 */
            for (int k = 0; k < 3; k++)
                cr_assert_float_eq(de->per_seed[k][0], large_alone[k] - small_alone[k], 1e-6);
            cr_assert_float_eq(p.mean, (0.04 + 0.08 + 0.025) / 3, 1e-6, "mean %g", p.mean);
            cr_assert(!ctcd_paired_excludes_zero(p), "3 seeds this spread: [%g, %g]", p.lo, p.hi);
        }
    }
    cr_assert_eq(found, 7, "deltas missing (found mask %d)", found);
    snprintf(s.recipe, sizeof s.recipe, "hand-written");
    st = ctcd_compare_write(&s);
    cr_assert_null(st, "%s", ctcd_status_message(st));

    char path[4096];
    snprintf(path, sizeof path, "%s/summary.md", dir);
    char *md = ctcd_test_read_file(path);
    cr_assert_not_null(md);
    const char *row = strstr(md, "| CTCD-small - small-alone | +0.0550 ± 0.0050 [+");
    cr_assert_not_null(row, "no interval on the delta row:\n%s", md);
    cr_assert(strstr(row, "] * |") && strstr(row, "] * |") < strchr(row, '\n'),
              "an interval that excludes 0 is not marked:\n%s", md);
    row = strstr(md, "| CTCD-small - large-alone | +0.0067 ± 0.0252 [-");
    cr_assert_not_null(row, "CTCD-small - large-alone row:\n%s", md);
    cr_assert(!strstr(row, " *") || strstr(row, " *") > strchr(row, '\n'),
              "an interval containing 0 is marked:\n%s", md);
    cr_assert_not_null(strstr(md, "| delta | seed 7 | seed 8 | seed 9 |"), "%s", md);
    cr_assert_not_null(strstr(md, "| CTCD-small - large-alone | +0.0100 | -0.0200 | +0.0300 |"),
                       "per-seed row:\n%s", md);
    free(md);

    snprintf(path, sizeof path, "%s/summary.json", dir);
    char *text = ctcd_test_read_file(path);
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "%s", text);
    const cJSON *deltas = cJSON_GetObjectItem(j, "deltas");
    int checked = 0;
    for (const cJSON *o = deltas ? deltas->child : NULL; o; o = o->next) {
        if (strcmp(cJSON_GetObjectItem(o, "label")->valuestring, "CTCD-small - small-alone"))
            continue;
        const cJSON *acc = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "stats"), "acc");
        cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(acc, "excludes_zero")), "%s", text);
        const cJSON *ci = cJSON_GetObjectItem(acc, "ci95");
        cr_assert_eq(cJSON_GetArraySize(ci), 2, "%s", text);
        cr_assert_gt(cJSON_GetArrayItem(ci, 0)->valuedouble, 0.0);
        cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "per_seed")), 3);
        checked = 1;
    }
    cr_assert(checked, "summary.json has no CTCD-small - small-alone delta:\n%s", text);
    cJSON_Delete(j);
    free(text);
    ctcd_compare_summary_free(&s);
    ctcd_test_rmtree(dir);
    free(dir);
}
