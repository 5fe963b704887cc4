/* test_prune.c — model surgery (include/ctcd/surgery.h): the plan removes exactly the
 * lowest-ranked heads / neurons and never empties a layer, the pruned model computes what the
 * gated full model computes, dropped layers take their parameters with them, a pruned model
 * survives save → load bitwise, and importance is Σ |∂L/∂gate| over batches. */
#include <math.h>

#include "ctcd/checkpoint.h"
#include "ctcd/importance.h"
#include "ctcd/surgery.h"
#include "tiny_bert.h"

/* tiny_config: heads 3, 2, 3 (8 units), FFN 10, 10, 7 (27 units). */

Test(prune_plan, raw_scores_remove_exactly_the_lowest_units) {
    const ctcd_bert_config c = tiny_config(0.0f);
    float head[8] = {0.5f, 0.1f, 0.9f, /* layer 1 */ 0.2f, 0.3f, /* layer 2 */ 0.05f, 0.7f, 0.8f};
    float ffn[27];
    for (int i = 0; i < 27; i++) ffn[i] = (float)((i * 7) % 27); /* a permutation of 0..26 */
    ctcd_prune_spec spec = {.sparsity = 0.25f, .norm = CTCD_SCORE_RAW};
    ctcd_prune_plan p;
    ctcd_status st = ctcd_prune_plan_make(&c, head, ffn, &spec, &p);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    /* round(0.25 · 8) = 2 heads: scores 0.05 (unit 5) and 0.1 (unit 1). */
    const unsigned char want_h[8] = {1, 0, 1, 1, 1, 0, 1, 1};
    for (int i = 0; i < 8; i++)
        cr_expect_eq(p.keep_head[i], want_h[i], "head unit %d kept=%d", i, p.keep_head[i]);
    /* round(0.25 · 27) = 7 neurons: exactly those scored 0..6. */
    int removed = 0;
    for (int i = 0; i < 27; i++) {
        cr_expect_eq(p.keep_ffn[i], ffn[i] >= 7.0f, "neuron %d (score %g) kept=%d", i,
                     (double)ffn[i], p.keep_ffn[i]);
        removed += !p.keep_ffn[i];
    }
    cr_expect_eq(removed, 7);
    cr_expect(p.cfg.layer_heads[0] == 2 && p.cfg.layer_heads[1] == 2 && p.cfg.layer_heads[2] == 2,
              "heads per layer %d %d %d", p.cfg.layer_heads[0], p.cfg.layer_heads[1],
              p.cfg.layer_heads[2]);
    cr_expect_eq(p.cfg.layer_intermediate[0] + p.cfg.layer_intermediate[1] +
                     p.cfg.layer_intermediate[2], 20);
    ctcd_prune_plan_free(&p);
}

Test(prune_plan, layer_l2_normalisation_ranks_within_layer_scale) {
    /* Layer 1's heads are tiny in raw terms but not after per-layer L2 normalisation. */
    const ctcd_bert_config c = tiny_config(0.0f);
    float head[8] = {30, 40, 50, /* layer 1 */ 0.03f, 0.04f, /* layer 2 */ 3, 4, 12};
    ctcd_prune_spec spec = {.sparsity = 0.25f, .norm = CTCD_SCORE_LAYER_L2};
    ctcd_prune_plan p;
    cr_assert_null(ctcd_prune_plan_make(&c, head, NULL, &spec, &p));
    /* normalised: l0 {.42,.57,.71}, l1 {.6,.8}, l2 {.23,.31,.92}: drop units 5 and 6. */
    const unsigned char want[8] = {1, 1, 1, 1, 1, 0, 0, 1};
    for (int i = 0; i < 8; i++) cr_expect_eq(p.keep_head[i], want[i], "head unit %d", i);
    ctcd_prune_plan_free(&p);
    spec.norm = CTCD_SCORE_RAW; /* raw: layer 1 goes first, but keeps its best head */
    cr_assert_null(ctcd_prune_plan_make(&c, head, NULL, &spec, &p));
    const unsigned char want_raw[8] = {1, 1, 1, 0, 1, 0, 1, 1};
    for (int i = 0; i < 8; i++) cr_expect_eq(p.keep_head[i], want_raw[i], "raw head unit %d", i);
    ctcd_prune_plan_free(&p);
}

Test(prune_plan, high_sparsity_keeps_one_unit_per_layer_and_bad_specs_are_errors) {
    const ctcd_bert_config c = tiny_config(0.0f);
    ctcd_prune_spec spec = {.sparsity = 0.99f};
    ctcd_prune_plan p;
    cr_assert_null(ctcd_prune_plan_make(&c, NULL, NULL, &spec, &p));
    for (int l = 0; l < 3; l++)
        cr_expect(p.cfg.layer_heads[l] == 1 && p.cfg.layer_intermediate[l] == 1,
                  "layer %d keeps %d heads, %d neurons", l, p.cfg.layer_heads[l],
                  p.cfg.layer_intermediate[l]);
    cr_expect(p.keep_head[0] && !p.keep_head[2], "without scores the last units go first");
    ctcd_prune_plan_free(&p);
    const struct { ctcd_prune_spec s; const char *msg; } bad[] = {
        {{.sparsity = 1.0f}, "sparsity"},
        {{.n_drop = 1, .drop = {3}}, "cannot drop layer 3"},
        {{.n_drop = 2, .drop = {1, 1}}, "listed twice"},
        {{.n_drop = 3, .drop = {0, 1, 2}}, "no encoder"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ctcd_status st = ctcd_prune_plan_make(&c, NULL, NULL, &bad[i].s, &p);
        cr_assert_not_null(st, "bad spec %zu accepted", i);
        cr_expect(strstr(ctcd_status_message(st), bad[i].msg), "message: %s",
                  ctcd_status_message(st));
        ctcd_status_free(st);
    }
}

/* Gates of 0/1 from a plan's keep flags. */
static float *gates_of(const unsigned char *keep, int64_t n) {
    float *g = malloc((size_t)n * sizeof *g);
    for (int64_t i = 0; i < n; i++) g[i] = keep[i] ? 1.0f : 0.0f;
    return g;
}

static float *forward_logits(tiny *f, ctcd_model *m) {
    ctcd_status st = ctcd_model_forward(m, &f->b, 0, 0);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    float *out = malloc((size_t)f->b.B * 3 * sizeof *out);
    memcpy(out, m->acts.logits, (size_t)f->b.B * 3 * sizeof *out);
    return out;
}

static void random_plan(const ctcd_model *m, float s, ctcd_prune_plan *p) {
    float *hs = malloc((size_t)m->n_head_units * 4), *fs = malloc((size_t)m->n_ffn_units * 4);
    ctcd_test_fill_uniform(hs, m->n_head_units, 0, 1, 21);
    ctcd_test_fill_uniform(fs, m->n_ffn_units, 0, 1, 22);
    ctcd_prune_spec spec = {.sparsity = s};
    ctcd_status st = ctcd_prune_plan_make(&m->cfg, hs, fs, &spec, p);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    free(hs);
    free(fs);
}

Test(prune_model, pruned_output_equals_the_gated_full_model) {
    tiny f;
    tiny_make(&f, 0.1f);
    ctcd_prune_plan p;
    random_plan(f.m, 0.4f, &p);
    ctcd_model *pm = NULL;
    ctcd_status st = ctcd_model_prune(f.m, &p, "pruned", &pm);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_lt(pm->lay.n_params_real, f.m->lay.n_params_real);
    float *gh = gates_of(p.keep_head, p.n_head_src), *gf = gates_of(p.keep_ffn, p.n_ffn_src);
    cr_assert_null(ctcd_model_masks_enable(f.m));
    cr_assert_null(ctcd_model_masks_set(f.m, gh, gf));
    float *want = forward_logits(&f, f.m), *got = forward_logits(&f, pm);
    double worst = 0.0;
    for (int i = 0; i < f.b.B * 3; i++) {
        const double d = fabs((double)want[i] - got[i]);
        if (d > worst) worst = d;
        cr_expect_leq(d, 1e-5 * fmax(1.0, fabs(want[i])), "logit %d: gated %.8g vs pruned %.8g",
                      i, (double)want[i], (double)got[i]);
    }
    /* and it is not trivially equal to the unpruned model */
    ctcd_model_masks_disable(f.m);
    float *full = forward_logits(&f, f.m);
    double moved = 0.0;
    for (int i = 0; i < f.b.B * 3; i++) moved = fmax(moved, fabs((double)full[i] - got[i]));
    cr_expect_gt(moved, 1e-3, "pruning 40%% changed no logit (max change %.3g)", moved);
    /* training mode works on the pruned model too (dropout masks per its own shapes) */
    cr_assert_null(ctcd_model_zero_grad(pm));
    (void)tiny_loss(&f, pm);
    cr_assert_null(ctcd_model_backward(pm, &f.b, 5));
    free(want); free(got); free(full); free(gh); free(gf);
    ctcd_model_destroy(pm);
    ctcd_prune_plan_free(&p);
    tiny_free(&f);
}

Test(prune_model, dropped_layers_take_their_parameters_with_them) {
    tiny f;
    tiny_make(&f, 0.0f);
    ctcd_prune_spec spec = {.sparsity = 0.0f, .n_drop = 1, .drop = {1}};
    ctcd_prune_plan p;
    cr_assert_null(ctcd_prune_plan_make(&f.m->cfg, NULL, NULL, &spec, &p));
    cr_assert(p.cfg.n_layers == 2 && p.src_layer[0] == 0 && p.src_layer[1] == 2);
    ctcd_model *pm = NULL;
    ctcd_status st = ctcd_model_prune(f.m, &p, "dropped", &pm);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_eq(pm->cfg.layer_intermediate[1], 7, "layer 2 became layer 1");
    cr_assert_eq(pm->lay.n_params_real,
                 f.m->lay.n_params_real - ctcd_bert_layer_params(&f.m->cfg, 1));
    for (int i = 0; i < pm->lay.n_params; i++) {
        const ctcd_param_info *d = &pm->lay.params[i];
        char name[CTCD_PARAM_NAME_MAX];
        int l = -1, at = 0;
        if (sscanf(d->name, "bert.encoder.layer.%d.%n", &l, &at) == 1 && at > 0)
            snprintf(name, sizeof name, "bert.encoder.layer.%d.%s", p.src_layer[l], d->name + at);
        else
            snprintf(name, sizeof name, "%s", d->name);
        const ctcd_param_info *s = ctcd_model_layout_find(&f.m->lay, name);
        cr_assert(s && s->numel == d->numel, "%s has no source %s", d->name, name);
        cr_assert(memcmp(pm->ps.master + d->offset, f.m->ps.master + s->offset,
                         (size_t)d->numel * 4) == 0, "%s differs from source %s", d->name, name);
    }
    ctcd_model_destroy(pm);
    ctcd_prune_plan_free(&p);
    tiny_free(&f);
}

Test(prune_model, pruned_checkpoint_reloads_with_identical_outputs) {
    tiny f;
    tiny_make(&f, 0.0f);
    ctcd_prune_plan p;
    random_plan(f.m, 0.5f, &p);
    ctcd_model *pm = NULL, *back = NULL;
    cr_assert_null(ctcd_model_prune(f.m, &p, "pruned", &pm));
    char *dir = ctcd_test_tmpdir();
    ctcd_status st = ctcd_model_save_hf(pm, dir, NULL);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    ctcd_hf_open_opts o = {.name = "back", .B_max = 4, .T_max = 8, .seed = 3,
                           .head = CTCD_HF_HEAD_FROM_FILE};
    ctcd_hf_load_report rep;
    st = ctcd_model_open_hf(f.be, dir, &o, &back, NULL, &rep);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_expect_eq(rep.n_fresh, 0, "head tensors missing from the pruned checkpoint");
    for (int l = 0; l < 3; l++)
        cr_expect(back->cfg.layer_heads[l] == pm->cfg.layer_heads[l] &&
                      back->cfg.layer_intermediate[l] == pm->cfg.layer_intermediate[l],
                  "layer %d: %d heads / %d neurons read back as %d / %d", l,
                  pm->cfg.layer_heads[l], pm->cfg.layer_intermediate[l],
                  back->cfg.layer_heads[l], back->cfg.layer_intermediate[l]);
    float *a = forward_logits(&f, pm), *b = forward_logits(&f, back);
    cr_assert(memcmp(a, b, (size_t)f.b.B * 3 * 4) == 0, "reloaded pruned model differs");
    free(a);
    free(b);
    ctcd_hf_load_report_free(&rep);
    ctcd_model_destroy(back);
    ctcd_model_destroy(pm);
    ctcd_prune_plan_free(&p);
    ctcd_test_rmtree(dir);
    free(dir);
    tiny_free(&f);
}

/* The tiny batch's rows as a dataset (same tokens, lengths and labels). */
static void tiny_dataset(const tiny *f, ctcd_dataset *d) {
    cr_assert_null(ctcd_dataset_init(d, "tiny", 3));
    for (int b = 0; b < f->b.B; b++) {
        int len = 0;
        while (len < f->b.T && f->mask[b * f->b.T + len]) len++;
        cr_assert_null(ctcd_dataset_push(d, f->ids + b * f->b.T, f->types + b * f->b.T, len,
                                         f->labels[b], 0.0f));
    }
}

Test(importance, sums_absolute_gate_gradients_over_batches) {
    tiny f;
    tiny_make(&f, 0.1f); /* dropout configured: importance must switch it off */
    ctcd_model *m = f.m;
    ctcd_dataset d;
    tiny_dataset(&f, &d);
    const int64_t nh = m->n_head_units, nf = m->n_ffn_units;
    float *h = malloc((size_t)nh * 4), *fi = malloc((size_t)nf * 4);
    float *before = malloc((size_t)m->lay.n_total * 4);
    memcpy(before, m->ps.master, (size_t)m->lay.n_total * 4);
    ctcd_importance_opts o = {.batch = 2, .max_len = 8};
    ctcd_status st = ctcd_model_importance(m, &d, &o, h, fi);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_null(m->masks, "masks left enabled");
    cr_assert(memcmp(before, m->ps.master, (size_t)m->lay.n_total * 4) == 0, "parameters changed");
    cr_assert(m->cfg.hidden_dropout == 0.1f, "dropout not restored");

    /* By hand: two batches of two rows each (dataset order), dropout off. */
    m->cfg.hidden_dropout = m->cfg.attn_dropout = 0.0f;
    cr_assert_null(ctcd_model_masks_enable(m));
    double *acc_h = calloc((size_t)nh, sizeof *acc_h), *acc_f = calloc((size_t)nf, sizeof *acc_f);
    float *gh = malloc((size_t)nh * 4), *gf = malloc((size_t)nf * 4);
    const tiny whole = f;
    for (int half = 0; half < 2; half++) {
        tiny g = whole;
        memcpy(g.ids, whole.ids + half * 12, 12 * 4);
        memcpy(g.types, whole.types + half * 12, 12 * 4);
        memcpy(g.mask, whole.mask + half * 12, 12 * 4);
        g.labels[0] = whole.labels[2 * half];
        g.labels[1] = whole.labels[2 * half + 1];
        g.b.B = 2;
        g.b.ids = g.ids; g.b.types = g.types; g.b.mask = g.mask; g.b.cls_idx = g.cls;
        cr_assert_null(ctcd_model_masks_zero_grad(m));
        (void)tiny_loss(&g, m);
        cr_assert_null(ctcd_model_backward(m, &g.b, 5));
        cr_assert_null(ctcd_model_masks_get_grad(m, gh, gf));
        for (int64_t i = 0; i < nh; i++) acc_h[i] += fabs(gh[i]);
        for (int64_t i = 0; i < nf; i++) acc_f[i] += fabs(gf[i]);
    }
    int nonzero = 0;
    for (int64_t i = 0; i < nh; i++) {
        cr_expect_leq(fabs(h[i] - acc_h[i]), 1e-4 * acc_h[i] + 1e-6,
                      "head %lld: importance %.7g vs by hand %.7g", (long long)i, (double)h[i],
                      acc_h[i]);
        nonzero += h[i] > 0;
    }
    for (int64_t i = 0; i < nf; i++)
        cr_expect_leq(fabs(fi[i] - acc_f[i]), 1e-4 * acc_f[i] + 1e-6,
                      "neuron %lld: importance %.7g vs by hand %.7g", (long long)i,
                      (double)fi[i], acc_f[i]);
    cr_expect_eq(nonzero, nh, "some head has zero importance");
    free(acc_h); free(acc_f); free(gh); free(gf); free(h); free(fi); free(before);
    ctcd_dataset_free(&d);
    tiny_free(&f);
}
