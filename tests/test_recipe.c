/* test_recipe.c — recipe loading: defaults, every key, error messages with file:line:col and
 * the key, overrides, validation, the write/load round trip, and README coverage. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/recipe.h"
#include "testutil.h"
#include "ctcd/recipe_schema.h"

static char *recipe_file(const char *name, const char *text) {
    static char *dir = NULL;
    if (!dir) dir = ctcd_test_tmpdir();
    char *path = malloc(4096);
    snprintf(path, 4096, "%s/%s", dir, name);
    cr_assert_eq(ctcd_test_write_file(path, text), 0);
    return path;
}

/* Loads text expecting failure; asserts every needle is in the message. */
static void expect_error(const char *text, const char *needle1, const char *needle2) {
    char *path = recipe_file("bad.yaml", text);
    ctcd_recipe r;
    ctcd_status st = ctcd_recipe_load(path, NULL, 0, &r);
    cr_assert_not_null(st, "recipe accepted:\n%s", text);
    const char *msg = ctcd_status_message(st);
    cr_assert_not_null(strstr(msg, needle1), "'%s' not in: %s", needle1, msg);
    if (needle2) cr_assert_not_null(strstr(msg, needle2), "'%s' not in: %s", needle2, msg);
    ctcd_status_free(st);
    free(path);
}

Test(recipe, defaults_are_documented_values) {
    ctcd_recipe r;
    ctcd_recipe_defaults(&r);
    cr_assert_str_eq(r.task, "builtin:demo");
    cr_assert_eq(r.train.batch, 32);
    cr_assert_float_eq(r.train.lr[CTCD_SMALL], 1e-4f, 1e-10);
    cr_assert_eq(r.models[CTCD_LARGE].present, 0, "no model unless asked for");
    cr_assert_str_eq(r.train.backend, "auto");
}

Test(recipe, full_recipe_sets_every_field) {
    char *p = recipe_file("full.yaml",
        "task: builtin:demo\n"
        "data: {max_len: 64, demo: {train_examples: 10, dev_examples: 5, seed: 9, max_depth: 2}}\n"
        "models:\n"
        "  large: {layers: 3, hidden: 96, heads: 3, intermediate: 200, dropout: 0.2,\n"
        "          attention_dropout: 0.05, initializer_range: 0.03}\n"
        "  small: {}\n"
        "distill: {temperature: 2.5, hard: {large: 0.5, small: 0.25},\n"
        "          mutual: {small_to_large: 0.0, large_to_small: 2}, ramp_steps: 7}\n"
        "train: {epochs: 2, max_steps: 9, batch: 4, lr: {large: 5E-5, small: .5}, warmup: 0,\n"
        "        weight_decay: 0, clip: 0, adam_beta1: 0.8, adam_beta2: 0.9, adam_eps: 1e-6,\n"
        "        seed: 7, precision: fp32, backend: cpu, deterministic: yes, log_every: 3}\n"
        "eval: {every: 11, batch: 12}\n"
        "output: runs/x\n");
    ctcd_recipe r;
    ctcd_status st = ctcd_recipe_load(p, NULL, 0, &r);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert(r.models[CTCD_LARGE].present && r.models[CTCD_SMALL].present);
    cr_assert_eq(r.models[CTCD_LARGE].hidden, 96);
    cr_assert_float_eq(r.models[CTCD_LARGE].initializer_range, 0.03f, 1e-9);
    cr_assert_eq(r.models[CTCD_SMALL].hidden, 128, "empty mapping takes defaults");
    cr_assert_float_eq(r.distill.large_to_small, 2.0f, 0);
    cr_assert_float_eq(r.train.lr[CTCD_SMALL], 0.5f, 0);
    cr_assert_float_eq(r.train.lr[CTCD_LARGE], 5e-5f, 1e-12);
    cr_assert_eq(r.train.deterministic, 1);
    cr_assert_str_eq(r.train.precision, "fp32");
    cr_assert_eq(r.eval.every, 11);
    cr_assert_str_eq(r.output, "runs/x");
    cr_assert_str_eq(r.source, p);
    free(p);
}

Test(recipe, unknown_key_names_position_and_suggests) {
    expect_error("models: {small: {}}\ntrain:\n  epochz: 3\n", "bad.yaml:3:3:",
                 "did you mean 'epochs'?");
    expect_error("models: {small: {}}\ntrian: {epochs: 3}\n", "unknown key 'trian'",
                 "did you mean 'train'?");
}

Test(recipe, wrong_types_and_ranges_are_errors) {
    expect_error("models: {small: {layers: 1.5}}\n", "models.small.layers", "expected an integer");
    expect_error("models: {small: {}}\ntrain: {lr: {small: abc}}\n", "train.lr.small",
                 "expected a number");
    expect_error("models: {small: {}}\ntrain: {lr: {small: -1e-4}}\n", "bad.yaml:2:",
                 "train.lr.small must be > 0");
    expect_error("models: {small: {}}\ntrain: {deterministic: maybe}\n", "train.deterministic",
                 "boolean");
    expect_error("models: {small: {}}\ntrain: {backend: gpu}\n", "train.backend",
                 "auto, cpu, cuda");
    expect_error("models: {small: {}}\ntrain: 3\n", "train", "expected a mapping");
    expect_error("models: {small: {layers: [1, 2]}}\n", "models.small.layers", "sequence");
}

Test(recipe, syntax_errors_duplicates_and_missing_files) {
    expect_error("models: {small: {}\n", "bad.yaml:", NULL);
    expect_error("models: {small: {}}\ntrain: {batch: 2}\ntrain: {batch: 3}\n", "duplicate key 'train'",
                 "line 2");
    ctcd_recipe r;
    ctcd_status st = ctcd_recipe_load("/nonexistent/r.yaml", NULL, 0, &r);
    cr_assert_not_null(st);
    cr_assert_eq(ctcd_status_code(st), CTCD_E_IO);
    cr_assert_not_null(strstr(ctcd_status_message(st), "/nonexistent/r.yaml"));
    ctcd_status_free(st);
}

Test(recipe, validation_requires_a_model_and_divisible_heads) {
    expect_error("task: builtin:demo\n", "at least one of models.large and models.small", NULL);
    expect_error("models: {large: {hidden: 100, heads: 3}}\n", "models.large", "not divisible");
    expect_error("task: rte\ndata: {dir: /no/such/RTE}\nmodels: {small: {}}\n", "/no/such/RTE", NULL);
}

Test(recipe, overrides_parse_check_and_add_models) {
    char *p = recipe_file("base.yaml", "models: {large: {layers: 2}}\n");
    const char *sets[] = {"train.lr.small=2e-4", "models.small.layers=1", "output=\"runs/a b\""};
    ctcd_recipe r;
    ctcd_status st = ctcd_recipe_load(p, sets, 3, &r);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_float_eq(r.train.lr[CTCD_SMALL], 2e-4f, 1e-12);
    cr_assert(r.models[CTCD_SMALL].present, "override must add the small model");
    cr_assert_eq(r.models[CTCD_SMALL].layers, 1);
    cr_assert_str_eq(r.output, "runs/a b");
    st = ctcd_recipe_set(&r, "train.lr.smal=1e-4");
    cr_assert_not_null(st);
    cr_assert_not_null(strstr(ctcd_status_message(st), "--set train.lr.smal=1e-4: unknown key 'smal' in 'train.lr'"),
                       "%s", ctcd_status_message(st));
    cr_assert_not_null(strstr(ctcd_status_message(st), "did you mean 'small'"));
    ctcd_status_free(st);
    st = ctcd_recipe_set(&r, "train.batch=0");
    cr_assert_not_null(st);
    cr_assert_not_null(strstr(ctcd_status_message(st), "train.batch must be >= 1"), "%s",
                       ctcd_status_message(st));
    ctcd_status_free(st);
    st = ctcd_recipe_set(&r, "train.batch");
    cr_assert_not_null(st, "missing '=' accepted");
    ctcd_status_free(st);
    free(p);
}

Test(recipe, written_recipe_loads_back_identically) {
    char *p = recipe_file("rt.yaml",
        "models: {large: {layers: 3, hidden: 96, heads: 3}, small: {dropout: 0.15}}\n"
        "distill: {temperature: 1.7}\ntrain: {lr: {large: 3.3e-5}, seed: 123456789012}\n"
        "output: \"runs/q\\\"x\"\n");
    ctcd_recipe a, b;
    ctcd_status st = ctcd_recipe_load(p, NULL, 0, &a);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    char out[4200];
    snprintf(out, sizeof out, "%s.resolved.yaml", p);
    st = ctcd_recipe_write(&a, out);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    st = ctcd_recipe_load(out, NULL, 0, &b);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    memset(a.source, 0, sizeof a.source);
    memset(b.source, 0, sizeof b.source);
    cr_assert(memcmp(&a, &b, sizeof a) == 0, "round trip changed the recipe");
    free(p);
}

Test(recipe, readme_documents_every_key) {
    FILE *f = fopen(CTCD_SOURCE_DIR "/recipes/README.md", "rb");
    cr_assert_not_null(f, "recipes/README.md missing");
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    for (int i = 0; i < ctcd_recipe_n_keys; i++) {
        const key_def *k = &ctcd_recipe_keys[i];
        char want[160];
        if (k->role >= 0 && k->role < CTCD_N_ROLES && strncmp(k->path, "models.", 7) == 0) {
            snprintf(want, sizeof want, "`models.<role>.%s`",
                     k->path + strlen("models.") + strlen(ctcd_role_names[k->role]) + 1);
        } else {
            snprintf(want, sizeof want, "`%s`", k->path);
        }
        cr_expect_not_null(strstr(text, want), "recipes/README.md does not document %s", want);
    }
}

Test(recipe, shipped_recipes_load_and_validate) {
    /* Every recipe in recipes/ must load with the current schema (the pre-training ones with
     * a corpus that exists here, since validation checks it). */
    static const char *const files[] = {
        "demo.yaml", "glue/cola-ctcd.yaml", "glue/sst2-ctcd.yaml", "glue/mrpc-ctcd.yaml",
        "glue/stsb-ctcd.yaml", "glue/qqp-ctcd.yaml", "glue/mnli-ctcd.yaml",
        "glue/qnli-ctcd.yaml", "glue/rte-ctcd.yaml", "glue/wnli-ctcd.yaml",
        "pretrain/quick-pair.yaml", "pretrain/ctcd-6l768-4l768.yaml",
        "pretrain/bert-base-small.yaml", "rationales/esnli-finetune.yaml",
        "rationales/esnli-sbs.yaml", "rationales/esnli-ctcd.yaml", "rationales/esnli-ctcd-sbs.yaml",
        "rationales/cqa-finetune.yaml", "rationales/cqa-sbs.yaml", "rationales/cqa-ctcd.yaml",
        "rationales/cqa-ctcd-sbs.yaml"};
    const char *sets[1] = {"pretrain.corpus=" CTCD_SOURCE_DIR "/recipes"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/recipes/%s", CTCD_SOURCE_DIR, files[i]);
        ctcd_recipe r;
        const int pre = strncmp(files[i], "pretrain/", 9) == 0;
        ctcd_status st = ctcd_recipe_load(path, pre ? sets : NULL, pre, &r);
        cr_expect_null(st, "%s: %s", files[i], ctcd_status_message(st));
        ctcd_status_free(st);
    }
}
