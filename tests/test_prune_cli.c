/* test_prune_cli.c — `ctcd prune` on a builtin:demo model trained for a few steps: the
 * per-layer table, the pruned HF checkpoint (pruned_heads, per-layer FFN widths) loading
 * back with the printed shapes, and bad arguments failing with messages that name them. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/backend_create.h"
#include "ctcd/checkpoint.h"
#include "testutil.h"

static const char *RECIPE = CTCD_TEST_EXTENDS("tiny-pair.yaml")
    "models: {large: {layers: 3, heads: 4}}\n" /* layers and heads to prune */
    "train: {max_steps: 4, log_every: 2}\n";

/* Trains the demo model; returns the run directory (malloc'd) inside dir. */
static char *train_demo(const char *dir) {
    char recipe[4096], args[8192], *out = NULL;
    snprintf(recipe, sizeof recipe, "%s/demo.yaml", dir);
    cr_assert_eq(ctcd_test_write_file(recipe, RECIPE), 0);
    char *run = malloc(4096);
    snprintf(run, 4096, "%s/run", dir);
    snprintf(args, sizeof args, "train '%s' --set output='%s' --quiet", recipe, run);
    int rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "training failed (%d): %s", rc, out);
    free(out);
    return run;
}

Test(prune_cli, demo_model_prunes_drops_a_layer_and_reloads, .timeout = 300) {
    char *dir = ctcd_test_tmpdir(), *run = train_demo(dir);
    char args[8192], out_dir[4096], *out = NULL;
    snprintf(out_dir, sizeof out_dir, "%s/pruned", dir);
    snprintf(args, sizeof args,
             "prune '%s/large/last' --task builtin:demo --sparsity 0.5 --drop-layers 1 "
             "--batches 3 --batch 16 --max-len 32 --backend cpu --out '%s'",
             run, out_dir);
    int rc = ctcd_test_run_cli(args, &out);
    cr_assert_eq(rc, 0, "prune failed (%d): %s", rc, out);
    cr_assert_not_null(strstr(out, "layer  source heads"), "no table: %s", out);
    cr_assert_not_null(strstr(out, "dropped"), "dropped layer not listed: %s", out);
    cr_assert_not_null(strstr(out, "encoder: "), "no totals: %s", out);

    /* 2 kept layers x 4 heads, half removed; 2 x 32 neurons, half removed. */
    ctcd_hf_config hf;
    ctcd_status st = ctcd_hf_config_read(out_dir, &hf);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_eq(hf.cfg.n_layers, 2);
    cr_expect_eq(hf.cfg.layer_heads[0] + hf.cfg.layer_heads[1], 4, "heads %d + %d",
                 hf.cfg.layer_heads[0], hf.cfg.layer_heads[1]);
    cr_expect_eq(hf.cfg.layer_intermediate[0] + hf.cfg.layer_intermediate[1], 32,
                 "FFN %d + %d", hf.cfg.layer_intermediate[0], hf.cfg.layer_intermediate[1]);
    for (int l = 0; l < 2; l++) {
        char row[64];
        snprintf(row, sizeof row, "%d/4", hf.cfg.layer_heads[l]);
        cr_expect_not_null(strstr(out, row), "table lacks layer %d's heads %s: %s", l, row, out);
    }
    ctcd_hf_config_free(&hf);
    free(out);

    /* The pruned checkpoint runs: predict needs vocab.txt only for GLUE, so open it directly. */
    ctcd_backend *be = NULL;
    cr_assert_null(ctcd_backend_create("cpu", &be));
    ctcd_model *m = NULL;
    ctcd_hf_open_opts o = {.name = "pruned", .B_max = 2, .T_max = 16,
                           .head = CTCD_HF_HEAD_FROM_FILE};
    ctcd_hf_load_report rep;
    st = ctcd_model_open_hf(be, out_dir, &o, &m, NULL, &rep);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_expect_eq(rep.n_fresh, 0);
    cr_expect_eq(rep.n_unused, 0);
    ctcd_hf_load_report_free(&rep);
    ctcd_model_destroy(m);
    ctcd_backend_destroy(be);
    ctcd_test_rmtree(dir);
    free(run);
    free(dir);
}

Test(prune_cli, bad_arguments_name_what_is_wrong, .timeout = 300) {
    char *out = NULL;
    int rc = ctcd_test_run_cli("prune ckpt --task builtin:demo --out x", &out);
    cr_assert_neq(rc, 0);
    cr_expect_not_null(strstr(out, "--sparsity is required"), "output: %s", out);
    free(out);
    rc = ctcd_test_run_cli("prune ckpt --task builtin:demo --sparsity 1.5 --out x", &out);
    cr_assert_neq(rc, 0);
    cr_expect_not_null(strstr(out, "--sparsity must be a number in [0, 1)"), "output: %s", out);
    free(out);
    rc = ctcd_test_run_cli("prune --help", &out);
    cr_assert_eq(rc, 0);
    cr_expect_not_null(strstr(out, "--drop-layers"), "help: %s", out);
    free(out);

    char *dir = ctcd_test_tmpdir();
    /* A missing checkpoint is named (with the OS reason) before the vocabulary of a GLUE
     * task is looked for: here under a data root that has none. */
    cr_assert_eq(setenv("CTCD_DATA_DIR", dir, 1), 0);
    rc = ctcd_test_run_cli("prune /nonexistent/ckpt --task sst2 --sparsity 0.2 --out x", &out);
    cr_assert_neq(rc, 0);
    cr_expect_not_null(strstr(out, "/nonexistent/ckpt: No such file or directory"),
                       "output: %s", out);
    free(out);
    unsetenv("CTCD_DATA_DIR");
    char *run = train_demo(dir);
    char args[8192];
    snprintf(args, sizeof args,
             "prune '%s/large/last' --task builtin:demo --sparsity 0.2 --drop-layers 1,x "
             "--batches 1 --batch 8 --max-len 32 --backend cpu --out '%s/p'", run, dir);
    rc = ctcd_test_run_cli(args, &out);
    cr_assert_neq(rc, 0);
    cr_expect_not_null(strstr(out, "--drop-layers '1,x'"), "output: %s", out);
    free(out);
    snprintf(args, sizeof args,
             "prune '%s/large/last' --task builtin:demo --sparsity 0.2 --drop-layers 0,1,2 "
             "--batches 1 --batch 8 --max-len 32 --backend cpu --out '%s/p'", run, dir);
    rc = ctcd_test_run_cli(args, &out);
    cr_assert_neq(rc, 0);
    cr_expect_not_null(strstr(out, "leaves no encoder"), "output: %s", out);
    free(out);
    ctcd_test_rmtree(dir);
    free(run);
    free(dir);
}
