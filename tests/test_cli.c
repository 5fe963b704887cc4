/* test_cli.c — the ctcd command line: help, a complete small run with its run directory,
 * and bad input (unknown key, negative learning rate, missing files) failing with messages
 * that name the key or file; the run directory names the ctcd that made it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctcd/build_info.h"
#include "testutil.h"

static char *write_recipe(const char *dir, const char *name, const char *text) {
    char *path = malloc(4096);
    snprintf(path, 4096, "%s/%s", dir, name);
    cr_assert_eq(ctcd_test_write_file(path, text), 0, "cannot write %s", path);
    return path;
}

static const char *TINY = CTCD_TEST_EXTENDS("tiny-pair.yaml")
    "train: {epochs: 1, log_every: 2}\n";

Test(cli, help_lists_train_command) {
    char *out = NULL;
    int rc = ctcd_test_run_cli("--help", &out);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_assert_not_null(strstr(out, "train RECIPE"), "help output: %s", out);
    free(out);
    rc = ctcd_test_run_cli("train --help", &out);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_assert_not_null(strstr(out, "--set"), "train help output: %s", out);
    free(out);
}

Test(cli, nvtx_option_is_documented_and_checked) {
    char *out = NULL;
    int rc = ctcd_test_run_cli("train --help", &out);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_assert_not_null(strstr(out, "--nvtx=detail"), "train help output: %s", out);
    free(out);
    rc = ctcd_test_run_cli("train --nvtx=loud recipe.yaml", &out);
    cr_assert_eq(rc, 2, "exit %d: %s", rc, out);
    cr_assert_not_null(strstr(out, "--nvtx=loud: expected 'phases' or 'detail'"), "output: %s",
                       out);
    free(out);
}

Test(cli, unknown_command_fails) {
    char *out = NULL;
    int rc = ctcd_test_run_cli("fly", &out);
    cr_assert_neq(rc, 0);
    cr_assert_not_null(strstr(out, "unknown command 'fly'"), "output: %s", out);
    free(out);
}

Test(cli, small_run_prints_table_and_writes_run_directory, .timeout = 300) {
    char *dir = ctcd_test_tmpdir();
    char *recipe = write_recipe(dir, "tiny.yaml", TINY);
    char args[8192], *out = NULL;
    snprintf(args, sizeof args, "train '%s' --set output='%s/run'", recipe, dir);
    int rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_assert_not_null(strstr(out, "results on builtin:demo dev"), "no table: %s", out);
    cr_assert_not_null(strstr(out, "large"), "no large row: %s", out);
    cr_assert_not_null(strstr(out, "small"), "no small row: %s", out);
    cr_assert_not_null(strstr(out, "ETA"), "no progress line: %s", out);
    const char *files[] = {"recipe.yaml", "log.jsonl", "eval.jsonl"};
    for (int i = 0; i < 3; i++) {
        char p[4096];
        struct stat st;
        snprintf(p, sizeof p, "%s/run/%s", dir, files[i]);
        cr_assert_eq(stat(p, &st), 0, "missing %s", p);
        cr_assert_gt(st.st_size, 0, "empty %s", p);
    }
    /* Both name the ctcd that made the run: recipe.yaml's header and log.jsonl's first
     * record carry the version, the git commit and the build options. */
    const ctcd_build_info *bi = ctcd_build_info_get();
    char p[4096], want[512];
    snprintf(p, sizeof p, "%s/run/recipe.yaml", dir);
    char *text = ctcd_test_read_file(p);
    cr_assert_not_null(text, "%s", p);
    snprintf(want, sizeof want, "\n# made by ctcd %s (git %s, ", bi->version, bi->git_commit);
    cr_assert_not_null(strstr(text, want), "recipe.yaml lacks '%s':\n%.400s", want, text);
    cr_assert_not_null(strstr(text, "NCCL "), "recipe.yaml lacks the build options");
    free(text);
    snprintf(p, sizeof p, "%s/run/log.jsonl", dir);
    text = ctcd_test_read_file(p);
    cr_assert_not_null(text, "%s", p);
    snprintf(want, sizeof want, "{\"ctcd\":{\"version\":\"%s\",\"git_commit\":\"%s\",",
             bi->version, bi->git_commit);
    cr_assert_eq(strncmp(text, want, strlen(want)), 0, "log.jsonl's first record is not %s...:\n%.300s",
                 want, text);
    cr_assert_not_null(strstr(text, bi->cuda ? "\"cuda\":true" : "\"cuda\":false"),
                       "first record: %.300s", text);
    cr_assert_not_null(strstr(strchr(text, '\n'), "{\"step\":"), "no step after the record");
    free(text);
    free(out);
    free(recipe);
    free(dir);
}

Test(cli, unknown_recipe_key_names_key_and_file) {
    char *dir = ctcd_test_tmpdir();
    char *recipe = write_recipe(dir, "typo.yaml",
                                "task: builtin:demo\n"
                                "models: {large: {layers: 1, hidden: 16, heads: 2}}\n"
                                "train:\n  lerning_rate: 0.1\n");
    char args[8192], *out = NULL;
    snprintf(args, sizeof args, "train '%s'", recipe);
    int rc = ctcd_test_run_cli(args, &out);
    cr_assert_neq(rc, 0, "a recipe with an unknown key must fail: %s", out);
    cr_assert_not_null(strstr(out, "lerning_rate"), "key not named: %s", out);
    cr_assert_not_null(strstr(out, "typo.yaml:4"), "file:line not named: %s", out);
    free(out);
    free(recipe);
    free(dir);
}

Test(cli, negative_learning_rate_is_rejected) {
    char *dir = ctcd_test_tmpdir();
    char *recipe = write_recipe(dir, "neg.yaml",
                                "models: {small: {layers: 1, hidden: 16, heads: 2}}\n"
                                "train: {lr: {small: -1e-4}}\n");
    char args[8192], *out = NULL;
    snprintf(args, sizeof args, "train '%s'", recipe);
    int rc = ctcd_test_run_cli(args, &out);
    cr_assert_neq(rc, 0, "negative lr accepted: %s", out);
    cr_assert_not_null(strstr(out, "train.lr.small"), "key not named: %s", out);
    free(out);
    free(recipe);
    recipe = write_recipe(dir, "ok.yaml", "models: {small: {layers: 1, hidden: 16, heads: 2}}\n");
    snprintf(args, sizeof args, "train '%s' --set train.lr.large=-2", recipe);
    rc = ctcd_test_run_cli(args, &out);
    cr_assert_neq(rc, 0, "negative lr override accepted: %s", out);
    cr_assert_not_null(strstr(out, "train.lr.large"), "override key not named: %s", out);
    free(out);
    free(recipe);
    free(dir);
}

Test(cli, missing_recipe_file_is_named) {
    char *out = NULL;
    int rc = ctcd_test_run_cli("train /nonexistent/dir/recipe.yaml", &out);
    cr_assert_neq(rc, 0);
    cr_assert_not_null(strstr(out, "/nonexistent/dir/recipe.yaml"), "path not named: %s", out);
    free(out);
}

Test(cli, missing_data_directory_is_named) {
    char *dir = ctcd_test_tmpdir();
    char *recipe = write_recipe(dir, "glue.yaml",
                                "task: sst2\n"
                                "data: {dir: /nonexistent/glue/SST-2}\n"
                                "models: {small: {layers: 1, hidden: 16, heads: 2}}\n");
    char args[8192], *out = NULL;
    snprintf(args, sizeof args, "train '%s'", recipe);
    int rc = ctcd_test_run_cli(args, &out);
    cr_assert_neq(rc, 0, "missing data dir accepted: %s", out);
    cr_assert_not_null(strstr(out, "/nonexistent/glue/SST-2"), "dir not named: %s", out);
    free(out);
    free(recipe);
    free(dir);
}

/* The option parser every subcommand shares (src/cli/cli_args.c): each kind of bad argument
 * fails with exit status 2 and a message naming the option and the value. */
Test(cli, option_parser_names_the_bad_argument) {
    static const struct {
        const char *args, *needle;
    } cases[] = {
        {"predict ckpt --task sst2 --max-len 12x",
         "--max-len must be an integer in [8, 1048576] (got '12x')"},
        {"predict ckpt --task sst2 --batch=0", "--batch must be an integer in [1, 1048576] (got '0')"},
        {"predict ckpt --task", "--task needs a value"},
        {"predict ckpt", "--task is required"},
        {"predict --task sst2", "CHECKPOINT_DIR is required"},
        {"predict a b --task sst2", "more than one CHECKPOINT_DIR given ('a' and 'b')"},
        {"explain ckpt --task esnli --frobnicate", "unknown option '--frobnicate'"},
        {"prune ckpt --task sst2 --out x --sparsity=-0.5",
         "--sparsity must be a number in [0, 1) (got '-0.5')"},
        {"schedule", "RECIPE is required"},
        {"search x.yaml --episodes-now 0", "--episodes-now must be an integer"},
        {"train a.yaml b.yaml", "more than one RECIPE given ('a.yaml' and 'b.yaml')"},
        {"train a.yaml --resume", "--resume needs RUN_DIR"},
        {"sweep a.yaml", "--grid is required"},
        {"compare a.yaml --seeds 1000", "--seeds must be an integer in [1, "},
        {"compare a.yaml --quiet=1", "unknown option '--quiet=1'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL;
        const int rc = ctcd_test_run_cli(cases[i].args, &out);
        cr_expect_eq(rc, 2, "'%s': exit %d: %s", cases[i].args, rc, out);
        cr_expect_not_null(strstr(out, cases[i].needle), "'%s': '%s' not in: %s", cases[i].args,
                           cases[i].needle, out);
        free(out);
    }
}

/* "--name=value" is the same as "--name value"; the last --set wins like in a recipe. */
Test(cli, option_equals_form_and_repeated_sets, .timeout = 120) {
    char *dir = ctcd_test_tmpdir();
    char *recipe = write_recipe(dir, "tiny.yaml", TINY);
    char args[8192], *out = NULL;
    snprintf(args, sizeof args,
             "train '%s' --print-recipe --set=train.batch=12 --set train.seed=5 "
             "--set=train.seed=6", recipe);
    const int rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_expect_not_null(strstr(out, "batch: 12"), "--set= form ignored: %s", out);
    cr_expect_not_null(strstr(out, "seed: 6"), "last --set must win: %s", out);
    free(out);
    free(recipe);
    free(dir);
}
