/* test_search_e2e.c — `ctcd search` on builtin:demo with a tiny budget: every output exists
 * and parses, and a search stopped after one episode and resumed proposes the same
 * candidates as an uninterrupted one (latency target huge, so timing noise cannot steer). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "testutil.h"

static const char *RECIPE = CTCD_TEST_EXTENDS("tiny-search-pair.yaml")
    "models:\n"
    "  large: {dropout: 0.0, attention_dropout: 0.0}\n"
    "  small: {dropout: 0.0, attention_dropout: 0.0}\n"
    "train: {max_steps: 6}\n"
    "eval: {every: 0, batch: 64}\n"
    "search:\n"
    "  layers: {min: 1, max: 2, step: 1}\n"
    "  hidden: {min: 16, max: 48, step: 16}\n"
    "  heads: {min: 1, max: 2, step: 1}\n"
    "  intermediate: {min: 32, max: 96, step: 32}\n"
    "  episodes: 2\n"
    "  proposals: 4\n"
    "  random: 1\n"
    "  top_k: 2\n"
    "  proxy_examples: 96\n"
    "  latency: {batch: 1, seq: 16, reps: 2, warmup: 0}\n"
    "  target_ms: 1000000\n";

static char *setup(const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/search.yaml", dir);
    cr_assert_eq(ctcd_test_write_file(path, RECIPE), 0);
    return strdup(path);
}

static cJSON *parse_file(const char *path) {
    char *t = ctcd_test_read_file(path);
    cr_assert_not_null(t, "%s missing", path);
    cJSON *j = cJSON_Parse(t);
    free(t);
    cr_assert_not_null(j, "%s does not parse", path);
    return j;
}

/* The "arch" fields of candidates.jsonl, one per line, concatenated. */
static char *arch_list(const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/candidates.jsonl", dir);
    char *t = ctcd_test_read_file(path);
    cr_assert_not_null(t, "%s missing", path);
    char *out = calloc(1, strlen(t) + 1);
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        cr_assert_not_null(j, "bad line in %s: %s", path, line);
        const cJSON *a = cJSON_GetObjectItem(j, "arch");
        cr_assert(cJSON_IsString(a));
        cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "score")));
        cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "reward")));
        strcat(out, a->valuestring);
        strcat(out, " ");
        cJSON_Delete(j);
    }
    free(t);
    return out;
}

/* Counts lines of path containing needle. */
static int count_lines(const char *path, const char *needle) {
    char *t = ctcd_test_read_file(path);
    cr_assert_not_null(t, "%s missing", path);
    int n = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) n += !!strstr(line, needle);
    free(t);
    return n;
}

/* The "score" of final.jsonl's teacher line in dir (every line must parse). */
static double final_teacher_score(const char *dir) {
    char path[1100];
    snprintf(path, sizeof path, "%s/final.jsonl", dir);
    char *t = ctcd_test_read_file(path);
    cr_assert_not_null(t, "%s missing", path);
    double score = -1;
    int n = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        cr_assert_not_null(j, "%s: line is not JSON: %s", path, line);
        const cJSON *m = cJSON_GetObjectItem(j, "model"), *sc = cJSON_GetObjectItem(j, "score");
        if (cJSON_IsString(m) && !strcmp(m->valuestring, "teacher")) {
            cr_assert(cJSON_IsNumber(sc), "%s: the teacher has no dev score: %s", path, line);
            score = sc->valuedouble, n++;
        }
        cJSON_Delete(j);
    }
    free(t);
    cr_assert_eq(n, 1, "%s: want one teacher line", path);
    cr_assert(score >= 0 && score <= 1, "teacher score %g", score);
    return score;
}

/* A search with the extra --set arguments `sets`: its outputs, then the same search stopped
 * after one episode and resumed evaluates the same candidates. */
static void search_and_resume(const char *sets) {
    char *tmp = ctcd_test_tmpdir();
    char a[1024], b[1024], args[4096], path[1100];
    snprintf(a, sizeof a, "%s/a", tmp);
    snprintf(b, sizeof b, "%s/b", tmp);
    char *out = NULL;
    char *ra = setup(tmp);
    snprintf(args, sizeof args, "search '%s' --set output='%s' %s", ra, a, sets);
    int rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "ctcd %s failed:\n%s", args, out);
    free(out);
    const char *files[] = {"candidates.jsonl", "state.json", "latency.tsv", "pareto.png",
                           "best/config.json", "best/recipe.yaml"};
    for (int i = 0; i < 6; i++) {
        snprintf(path, sizeof path, "%s/%s", a, files[i]);
        char *t = ctcd_test_read_file(path);
        cr_assert(t && *t, "%s missing or empty", path);
        if (i == 3) cr_assert(!memcmp(t + 1, "PNG", 3), "pareto.png is not a PNG");
        free(t);
    }
    snprintf(path, sizeof path, "%s/best/config.json", a);
    cJSON *cfg = parse_file(path);
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(cfg, "num_hidden_layers")));
    cJSON_Delete(cfg);
    snprintf(path, sizeof path, "%s/state.json", a);
    cJSON_Delete(parse_file(path));
    /* the winner's recipe is a valid recipe */
    snprintf(args, sizeof args, "train '%s/best/recipe.yaml' --print-recipe", a);
    rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "best/recipe.yaml does not load:\n%s", out);
    free(out);
    char *la = arch_list(a);
    cr_assert(strlen(la) > 0);

    /* one episode, then resume */
    snprintf(args, sizeof args, "search '%s' --set output='%s' --episodes-now 1 %s", ra, b, sets);
    rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "first half failed:\n%s", out);
    free(out);
    snprintf(path, sizeof path, "%s/pareto.png", b);
    char *none = ctcd_test_read_file(path);
    cr_assert_null(none, "pareto.png written before the last episode");
    snprintf(args, sizeof args, "search --resume '%s'", b);
    rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "resume failed:\n%s", out);
    free(out);
    char *lb = arch_list(b);
    cr_assert_str_eq(la, lb, "resumed search evaluated different candidates");
    if (strstr(sets, "per_layer=true")) {
        snprintf(path, sizeof path, "%s/candidates.jsonl", a);
        cr_assert_gt(count_lines(path, "\"layer_intermediate\""), 0, "no per-layer candidate");
        snprintf(path, sizeof path, "%s/final.jsonl", a);
        cr_assert_eq(count_lines(path, "\"seed\""), 4, "final stage: want 2 models x 2 seeds");
        cr_assert_eq(count_lines(path, "\"teacher\""), 1);
        /* which hand-made arch is nearest in latency depends on timing: one of the two */
        const int h1 = count_lines(path, "L1-H16-A1-I32"), h2 = count_lines(path, "L2-H48-A2-I96");
        cr_assert(count_lines(path, "\"hand-made\"") == 2 && h1 + h2 >= 2,
                  "hand-made student not trained at 2 seeds");
        snprintf(path, sizeof path, "%s/final.md", a);
        cr_assert_eq(count_lines(path, "| hand-made | L"), 1);
        cr_assert_eq(count_lines(path, "| searched | L"), 1);
        cr_assert_eq(count_lines(path, "dev nan"), 0, "final.md: teacher dev score missing");
        /* resumed: the teacher's score comes from the state */
        const double ta = final_teacher_score(a);
        cr_assert_float_eq(final_teacher_score(b), ta, 1e-9);
        /* a teacher given as models.large.init is scored on dev (same checkpoint, same dev
         * set: the same score as when the search trained it) */
        char c[1024];
        snprintf(c, sizeof c, "%s/c", tmp);
        snprintf(args, sizeof args, "search '%s' --set output='%s' %s --set search.episodes=1 "
                 "--set search.final.seeds=1 --set models.large.init='%s/teacher/large/best'",
                 ra, c, sets, a);
        rc = ctcd_test_run_cli(args, &out);
        cr_assert_eq(rc, 0, "search from a teacher checkpoint failed:\n%s", out);
        free(out);
        cr_assert_float_eq(final_teacher_score(c), ta, 1e-6);
    }
    free(la);
    free(lb);
    free(ra);
    ctcd_test_rmtree(tmp);
    free(tmp);
}

Test(search_e2e, demo_search_writes_outputs_and_resumes_identically, .timeout = 900) {
    search_and_resume("");
}

Test(search_e2e, per_layer_search_with_final_stage_resumes_identically, .timeout = 900) {
    search_and_resume("--set search.per_layer=true --set search.final.seeds=2 "
                      "--set search.final.handmade=L1-H16-A1-I32,L2-H48-A2-I96");
}
