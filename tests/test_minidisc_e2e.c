/* test_minidisc_e2e.c — `ctcd schedule` and `ctcd plan --fit` end to end on builtin:demo
 * with a tiny CPU budget: a teacher trained a few dozen steps, three candidate sparsities,
 * a few sandwich steps, the table, the chosen TA checkpoint and a student trained from it;
 * then the capacity-gap law fitted from three co-training runs. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "testutil.h"

static const char *RECIPE = CTCD_TEST_EXTENDS("tiny-search-pair.yaml")
    "data: {demo: {train_examples: 240}}\n"
    "models:\n"
    "  large: {layers: 2, heads: 4, dropout: 0.0, attention_dropout: 0.0}\n"
    "  small: {dropout: 0.0, attention_dropout: 0.0}\n"
    "train: {max_steps: 30, lr: {large: 1e-3, small: 1e-3}}\n"
    "eval: {every: 0, batch: 64}\n"
    "schedule: {sparsities: \"0.75, 0.25,0.5\", lambda: 0.2, importance_batches: 4,\n"
    "           sandwich: {steps: 4, k: 1}}\n";

static int file_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

Test(minidisc_e2e, schedule_writes_table_ta_and_student, .timeout = 600) {
    char *tmp = ctcd_test_tmpdir();
    char recipe[1024], out[1024], args[4096], path[1200];
    snprintf(recipe, sizeof recipe, "%s/sched.yaml", tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    cr_assert_eq(ctcd_test_write_file(recipe, RECIPE), 0);
    snprintf(args, sizeof args, "schedule '%s' --set output='%s'", recipe, out);
    char *log = NULL;
    const int rc = ctcd_test_run_cli(args, &log);
    cr_assert_eq(rc, 0, "ctcd schedule failed:\n%s", log);
    cr_assert(strstr(log, "chosen TA:"), "%s", log);
    free(log);

    snprintf(path, sizeof path, "%s/schedule.md", out);
    char *md = ctcd_test_read_file(path);
    cr_assert_not_null(md, "%s missing", path);
    cr_assert(strstr(md, "| sparsity | parameters | dev | λ-score | sandwich | chosen |"), "%s", md);
    cr_assert(strstr(md, "| 0.25 |") && strstr(md, "| 0.50 |") && strstr(md, "| 0.75 |"), "%s",
              md);
    cr_assert(strstr(md, "Student (kd from the TA)"), "%s", md);
    free(md);

    snprintf(path, sizeof path, "%s/schedule.jsonl", out);
    char *js = ctcd_test_read_file(path);
    cr_assert_not_null(js);
    int lines = 0, chosen = -1, best = -1;
    double best_score = -INFINITY, prev_params = INFINITY;
    for (char *line = strtok(js, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        cJSON *j = cJSON_Parse(line);
        cr_assert_not_null(j, "bad line %s", line);
        const double sp = cJSON_GetObjectItem(j, "sparsity")->valuedouble;
        const double score = cJSON_GetObjectItem(j, "score")->valuedouble;
        const double dev = cJSON_GetObjectItem(j, "dev")->valuedouble;
        const double params = cJSON_GetObjectItem(j, "params")->valuedouble;
        cr_assert(fabs(score - (dev + 0.2 * sp)) < 1e-5, "score %g != dev %g + 0.2 x %g", score,
                  dev, sp);
        cr_assert(params < prev_params, "parameters do not shrink with sparsity");
        prev_params = params;
        cr_assert_eq(cJSON_IsTrue(cJSON_GetObjectItem(j, "sandwich")), sp >= 0.5,
                     "sandwich flag of sparsity %g", sp);
        if (score >= best_score) best_score = score, best = lines;
        if (cJSON_IsTrue(cJSON_GetObjectItem(j, "chosen"))) {
            cr_assert_eq(chosen, -1, "two chosen rows");
            chosen = lines;
        }
        cJSON_Delete(j);
    }
    free(js);
    cr_assert_eq(lines, 3);
    cr_assert_eq(chosen, best, "chosen row %d, best λ-score row %d", chosen, best);

    snprintf(path, sizeof path, "%s/ta/config.json", out);
    cr_assert(file_exists(path), "%s missing", path);
    snprintf(path, sizeof path, "%s/ta/model.safetensors", out);
    cr_assert(file_exists(path), "%s missing", path);
    snprintf(path, sizeof path, "%s/teacher/large/best/config.json", out);
    cr_assert(file_exists(path), "the teacher was not trained: %s missing", path);
    snprintf(path, sizeof path, "%s/student/eval.jsonl", out);
    cr_assert(file_exists(path), "the student was not trained: %s missing", path);
    snprintf(path, sizeof path, "%s/student/small/last/config.json", out);
    cr_assert(file_exists(path), "%s missing", path);
    ctcd_test_rmtree(tmp);
    free(tmp);
}

Test(minidisc_e2e, plan_fit_reads_runs_and_fits_the_line, .timeout = 600) {
    char *tmp = ctcd_test_tmpdir();
    char recipe[1024], args[8192], path[1200], runs[3][1024];
    snprintf(recipe, sizeof recipe, "%s/r.yaml", tmp);
    cr_assert_eq(ctcd_test_write_file(recipe, RECIPE), 0);
    const int small_h[3] = {16, 16, 24}, large_h[3] = {32, 48, 48};
    for (int i = 0; i < 3; i++) {
        snprintf(runs[i], sizeof runs[i], "%s/run%d", tmp, i);
        snprintf(args, sizeof args,
                 "train '%s' --set output='%s' --set train.max_steps=8 --set models.small.hidden=%d"
                 " --set models.small.heads=2 --set models.large.hidden=%d "
                 "--set models.large.heads=4",
                 recipe, runs[i], small_h[i], large_h[i]);
        char *log = NULL;
        const int rc = ctcd_test_run_cli(args, &log);
        cr_assert_eq(rc, 0, "ctcd train failed:\n%s", log);
        free(log);
    }
    snprintf(args, sizeof args, "plan --fit '%s' '%s' '%s' --out '%s/fit'", runs[0], runs[1],
             runs[2], tmp);
    char *log = NULL;
    const int rc = ctcd_test_run_cli(args, &log);
    cr_assert_eq(rc, 0, "ctcd plan --fit failed:\n%s", log);
    cr_assert(strstr(log, "Least squares: partner ="), "%s", log);
    cr_assert(strstr(log, "R^2 = 1.0000"), "two student sizes: the line is exact\n%s", log);
    free(log);
    snprintf(path, sizeof path, "%s/fit/plan-fit.png", tmp);
    cr_assert(file_exists(path), "%s missing", path);
    snprintf(path, sizeof path, "%s/fit/plan-fit.md", tmp);
    cr_assert(file_exists(path), "%s missing", path);
    /* a directory that is not a run is an error naming it */
    snprintf(args, sizeof args, "plan --fit '%s'", tmp);
    cr_assert_neq(ctcd_test_run_cli(args, &log), 0);
    cr_assert(strstr(log, "recipe.yaml"), "%s", log);
    free(log);
    ctcd_test_rmtree(tmp);
    free(tmp);
}
