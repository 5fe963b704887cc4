/* test_recipe_errors.c — what a user sees for a bad recipe: a table of broken recipes and
 * overrides, each with the fragments its error message must contain (file:line:col, the
 * key, the valid alternatives), plus `extends:` chains that work. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctcd/recipe.h"
#include "testutil.h"

typedef struct bad_recipe {
    const char *what;
    const char *text;    /* the recipe file */
    const char *set;     /* one --set override, or NULL */
    const char *needle[3];
} bad_recipe;

#define SMALL "models: {small: {}}\n"

static const bad_recipe cases[] = {
    {"unknown top-level key", SMALL "trian: {epochs: 3}\n", NULL,
     {"bad.yaml:2:1:", "unknown key 'trian'", "did you mean 'train'?"}},
    {"unknown nested key", SMALL "train:\n  epochz: 3\n", NULL,
     {"bad.yaml:3:3:", "valid keys: epochs, max_steps", "did you mean 'epochs'?"}},
    {"unknown model key", "models: {small: {hiden: 64}}\n", NULL,
     {"bad.yaml:1:18:", "unknown key 'hiden' in 'models.small'", "did you mean 'hidden'?"}},
    {"unknown model role", "models: {medium: {}}\n", NULL,
     {"unknown key 'medium' in 'models'", "large, small, teacher", NULL}},
    {"float for an integer", "models: {small: {layers: 1.5}}\n", NULL,
     {"models.small.layers", "expected an integer, got '1.5'", NULL}},
    {"text for a number", SMALL "train: {lr: {small: abc}}\n", NULL,
     {"bad.yaml:2:", "train.lr.small", "expected a number, got 'abc'"}},
    {"negative learning rate", SMALL "train: {lr: {small: -1e-4}}\n", NULL,
     {"bad.yaml:2:", "train.lr.small must be > 0", NULL}},
    {"not a boolean", SMALL "train: {deterministic: maybe}\n", NULL,
     {"train.deterministic", "a boolean (true/false)", NULL}},
    {"unknown backend", SMALL "train: {backend: gpu}\n", NULL,
     {"train.backend", "'gpu' is not one of auto, cpu, cuda", NULL}},
    {"unknown task", SMALL "task: sst3\n", NULL,
     {"bad.yaml:2:1:", "'sst3' is not one of builtin:demo, mlm, cola, sst2", NULL}},
    {"scalar for a section", SMALL "train: 3\n", NULL,
     {"train", "expected a mapping of keys, got '3'", NULL}},
    {"sequence for a scalar", "models: {small: {layers: [1, 2]}}\n", NULL,
     {"models.small.layers", "got a sequence", NULL}},
    {"mapping for a scalar", SMALL "train: {batch: {size: 2}}\n", NULL,
     {"train.batch", "got a mapping", NULL}},
    {"duplicate key", SMALL "train: {batch: 2}\ntrain: {batch: 3}\n", NULL,
     {"duplicate key 'train'", "first at line 2", NULL}},
    {"YAML syntax error", "models: {small: {}\n", NULL, {"bad.yaml:", NULL, NULL}},
    {"not a mapping", "- models\n- train\n", NULL, {"a recipe must be a mapping of keys", NULL, NULL}},
    {"no model", "task: builtin:demo\n", NULL,
     {"at least one of models.large and models.small is required", NULL, NULL}},
    {"heads do not divide hidden", "models: {large: {hidden: 100, heads: 3}}\n", NULL,
     {"models.large: hidden 100 is not divisible by heads 3", NULL, NULL}},
    {"missing data directory", "task: rte\ndata: {dir: /no/such/RTE}\n" SMALL, NULL,
     {"data.dir '/no/such/RTE' is not a directory", NULL, NULL}},
    {"mlm without a corpus", "task: mlm\n" SMALL, NULL,
     {"task mlm needs pretrain.corpus", NULL, NULL}},
    {"missing corpus", "task: mlm\npretrain: {corpus: /no/such/corpus.txt}\n" SMALL, NULL,
     {"pretrain.corpus '/no/such/corpus.txt'", "No such file", NULL}},
    {"sequence too short", SMALL "data: {max_len: 4}\n", NULL, {"data.max_len must be >= 8", NULL, NULL}},
    {"zero temperature", SMALL "distill: {temperature: 0}\n", NULL,
     {"distill.temperature must be > 0", NULL, NULL}},
    {"dropout of 1", "models: {small: {dropout: 1.0}}\n", NULL,
     {"models.small.dropout must be < 1", NULL, NULL}},
    {"batch out of range", SMALL "train: {batch: 99999999999}\n", NULL,
     {"train.batch must be <= 65536", NULL, NULL}},
    {"negative seed", SMALL "train: {seed: -1}\n", NULL,
     {"train.seed", "a non-negative integer", NULL}},
    {"hard weight between 0 and 1 for augmented rows", SMALL "distill: {hard_augmented: 2}\n",
     NULL, {"distill.hard_augmented must be <= 1", NULL, NULL}},
    {"teacher without a checkpoint", SMALL "models: {teacher: {}}\n", NULL,
     {"duplicate key 'models'", NULL, NULL}},
    {"teacher without init", "models: {small: {}, teacher: {}}\n", NULL,
     {"models.teacher needs init", NULL, NULL}},
    {"teacher architecture keys", "models: {small: {}, teacher: {layers: 2}}\n", NULL,
     {"unknown key 'layers' in 'models.teacher'", "valid keys: init", NULL}},
    {"override of an unknown key", SMALL, "train.lr.smal=1e-4",
     {"--set train.lr.smal=1e-4: unknown key 'smal' in 'train.lr'", "did you mean 'small'",
      NULL}},
    {"override of a section", SMALL, "train=3", {"--set train=3", "'train' is a section", NULL}},
    {"override without a value", SMALL, "train.batch", {"--set train.batch: expected KEY=VALUE", NULL, NULL}},
    {"override out of range", SMALL, "train.batch=0", {"--set train.batch=0", "must be >= 1", NULL}},
    {"override of an unknown section", SMALL, "trainer.batch=2",
     {"unknown section 'trainer'", NULL, NULL}},
    {"extends a missing file", "extends: nothere.yaml\n" SMALL, NULL,
     {"bad.yaml:1:1: extends: cannot open recipe", "nothere.yaml", "No such file"}},
    {"extends a cycle", "extends: cycle-a.yaml\n", NULL,
     {"extends: cycle of recipes", "cycle-a.yaml -> ", "cycle-b.yaml -> "}},
    {"extends a mapping", "extends: {file: base.yaml}\n" SMALL, NULL,
     {"bad.yaml:1:1: extends: expected the path of a recipe file", NULL, NULL}},
    {"error inside an extended recipe", "extends: broken-base.yaml\n" SMALL, NULL,
     {"broken-base.yaml:3:3:", "unknown key 'batchsize' in 'train'", "valid keys: epochs"}},
    {"extends a directory", "extends: .\n" SMALL, NULL, {"not a regular file", NULL, NULL}},
    {"misspelt extends", "extnds: base-ok.yaml\n" SMALL, NULL,
     {"unknown key 'extnds'", "did you mean 'extends'?", NULL}},
};

static char *tmp;

static char *put(const char *name, const char *text) {
    char *path = malloc(4096);
    snprintf(path, 4096, "%s/%s", tmp, name);
    cr_assert_eq(ctcd_test_write_file(path, text), 0, "cannot write %s", path);
    return path;
}

static void setup(void) {
    tmp = ctcd_test_tmpdir();
    free(put("cycle-a.yaml", "extends: cycle-b.yaml\n" SMALL));
    free(put("cycle-b.yaml", "extends: cycle-a.yaml\n"));
    free(put("broken-base.yaml", SMALL "train:\n  batchsize: 3\n"));
    free(put("base-ok.yaml", SMALL));
}

static void teardown(void) {
    ctcd_test_rmtree(tmp);
    free(tmp);
}

TestSuite(recipe_errors, .init = setup, .fini = teardown);

Test(recipe_errors, every_bad_recipe_names_what_is_wrong) {
    const int n = (int)(sizeof cases / sizeof cases[0]);
    cr_assert_geq(n, 20);
    for (int i = 0; i < n; i++) {
        const bad_recipe *c = &cases[i];
        char *path = put("bad.yaml", c->text);
        ctcd_recipe r;
        const char *sets[1] = {c->set};
        ctcd_status st = ctcd_recipe_load(path, sets, c->set ? 1 : 0, &r);
        cr_assert_not_null(st, "case '%s': recipe accepted:\n%s", c->what, c->text);
        const char *msg = ctcd_status_message(st);
        for (int k = 0; k < 3 && c->needle[k]; k++)
            cr_expect_not_null(strstr(msg, c->needle[k]), "case '%s': '%s' not in: %s", c->what,
                               c->needle[k], msg);
        ctcd_status_free(st);
        free(path);
    }
}

Test(recipe_errors, extends_layers_base_then_file_then_overrides) {
    free(put("glue-base.yaml",
             "models:\n  large: {layers: 3, hidden: 64, heads: 2}\n  small: {hidden: 32}\n"
             "train: {batch: 16, lr: {large: 1e-3}}\ndistill: {temperature: 3}\n"));
    free(put("mid.yaml", "extends: glue-base.yaml\ntrain: {batch: 8}\n"));
    char *top = put("top.yaml", "extends: mid.yaml\nmodels: {small: {layers: 1}}\n");
    const char *sets[] = {"train.lr.small=5e-3"};
    ctcd_recipe r;
    ctcd_status st = ctcd_recipe_load(top, sets, 1, &r);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_eq(r.models[CTCD_LARGE].layers, 3, "from the base");
    cr_assert_eq(r.models[CTCD_SMALL].hidden, 32, "a section merged across files");
    cr_assert_eq(r.models[CTCD_SMALL].layers, 1, "from the top file");
    cr_assert_eq(r.train.batch, 8, "the middle file overrides the base");
    cr_assert_float_eq(r.train.lr[CTCD_LARGE], 1e-3f, 1e-12);
    cr_assert_float_eq(r.train.lr[CTCD_SMALL], 5e-3f, 1e-12, "--set overrides every file");
    cr_assert_float_eq(r.distill.temperature, 3.0f, 0);
    cr_assert_str_eq(r.source, top, "the recipe is the file the user named");
    /* the resolved copy has no extends and loads alone to the same recipe */
    char out[4200];
    snprintf(out, sizeof out, "%s/resolved.yaml", tmp);
    cr_assert_null(ctcd_recipe_write(&r, out));
    char *text = ctcd_test_read_file(out);
    cr_assert_null(strstr(text, "extends"), "%s", text);
    free(text);
    ctcd_recipe back;
    st = ctcd_recipe_load(out, NULL, 0, &back);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    memset(r.source, 0, sizeof r.source);
    memset(back.source, 0, sizeof back.source);
    cr_assert(memcmp(&r, &back, sizeof r) == 0, "resolved recipe differs");
    free(top);
}

Test(recipe_errors, extends_is_relative_to_the_extending_file) {
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/nested", tmp);
    cr_assert_eq(mkdir(sub, 0755), 0, "mkdir %s", sub);
    free(put("nested/child.yaml", "extends: ../base-ok.yaml\ntrain: {batch: 4}\n"));
    char child[4300];
    snprintf(child, sizeof child, "%s/child.yaml", sub);
    ctcd_recipe r;
    ctcd_status st = ctcd_recipe_load(child, NULL, 0, &r);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert(r.models[CTCD_SMALL].present, "the base's model");
    cr_assert_eq(r.train.batch, 4);
}

Test(recipe_errors, shipped_glue_recipes_extend_their_base) {
    char path[4096];
    snprintf(path, sizeof path, "%s/recipes/glue/rte-ctcd.yaml", CTCD_SOURCE_DIR);
    ctcd_recipe r;
    ctcd_status st = ctcd_recipe_load(path, NULL, 0, &r);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_str_eq(r.task, "rte");
    cr_assert_eq(r.models[CTCD_LARGE].layers, 4, "from recipes/glue/base.yaml");
    cr_assert_eq(r.models[CTCD_SMALL].hidden, 128);
    cr_assert_eq(r.data.max_len, 128);
    cr_assert_eq(r.train.epochs, 5);
}
