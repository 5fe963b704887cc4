/* test_flat_align.c — the flat parameter buffers' alignment contract (include/ctcd/model.h,
 * issue 22 hazard 3): every tensor starts at a multiple of CTCD_PARAM_ALIGN elements except
 * the declared continuations of a fused operand (key/value after query), the padding is zero
 * in every buffer after init, optimizer steps, checkpoint import and uploads, and the
 * parameter count is the sum of numel, never the padded buffer length. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/backend_cpu.h"
#include "ctcd/backend_create.h"
#include "ctcd/checkpoint.h"
#include "ctcd/rationale.h"
#include "tiny_bert.h"

#define OK(x)                                                                   \
    do {                                                                        \
        ctcd_status st_ = (x);                                                  \
        cr_assert_null(st_, "%s: %s", #x, ctcd_status_message(st_));           \
    } while (0)

/* Offsets aligned unless `follows` (then right after the previous tensor), tensors in
 * buffer order without overlap, n_real = sum of numel; returns the padding (elements). */
static int64_t check_table(const char *who, const ctcd_param_info *p, int n, int64_t n_total,
                           int64_t n_real) {
    int64_t end = 0, sum = 0;
    for (int i = 0; i < n; i++) {
        if (p[i].follows) {
            cr_assert_gt(i, 0, "%s: %s follows nothing", who, p[i].name);
            cr_assert_eq(p[i].offset, end, "%s: %s at %lld, not right after %s (%lld)", who,
                         p[i].name, (long long)p[i].offset, p[i - 1].name, (long long)end);
        } else {
            cr_assert_eq(p[i].offset % CTCD_PARAM_ALIGN, 0,
                         "%s: %s starts at element %lld, not a multiple of %d", who, p[i].name,
                         (long long)p[i].offset, CTCD_PARAM_ALIGN);
            cr_assert_geq(p[i].offset, end, "%s: %s overlaps %s", who, p[i].name,
                          i ? p[i - 1].name : "?");
            cr_assert_lt(p[i].offset - end, CTCD_PARAM_ALIGN, "%s: %lld elements of padding "
                         "before %s", who, (long long)(p[i].offset - end), p[i].name);
        }
        end = p[i].offset + p[i].numel;
        sum += p[i].numel;
    }
    cr_assert_eq(end, n_total, "%s: buffer of %lld ends past the last tensor (%lld)", who,
                 (long long)n_total, (long long)end);
    cr_assert_eq(sum, n_real, "%s: parameter count %lld, sum of numel %lld", who,
                 (long long)n_real, (long long)sum);
    return n_total - n_real;
}

/* Every element of buf[n_total] outside the tensors is exactly zero (bit pattern). */
static void check_padding(const char *what, const float *buf, const ctcd_param_info *p, int n,
                          int64_t n_total) {
    int64_t end = 0;
    for (int i = 0; i <= n; i++) {
        const int64_t start = i < n ? p[i].offset : n_total;
        for (int64_t j = end; j < start; j++) {
            uint32_t bits;
            memcpy(&bits, &buf[j], 4);
            cr_assert_eq(bits, 0u, "%s: padding element %lld (before %s) is %g", what,
                         (long long)j, i < n ? p[i].name : "the end", (double)buf[j]);
        }
        if (i < n) end = start + p[i].numel;
    }
}

static void check_model_padding(const char *when, const ctcd_model *m) {
    char what[160];
    const float *bufs[4] = {m->ps.master, m->ps.grads, m->ps.adam_m, m->ps.adam_v};
    const char *names[4] = {"master", "grads", "adam m", "adam v"};
    for (int b = 0; b < 4; b++) {
        snprintf(what, sizeof what, "%s: %s", when, names[b]);
        check_padding(what, bufs[b], m->lay.params, m->lay.n_params, m->lay.n_total);
    }
}

Test(flat_align, tiny_non_uniform_layout_aligns_every_tensor_but_key_and_value) {
    const ctcd_bert_config c = tiny_config(0.0f); /* hidden 12, FFN 10 and 7, vocab 13 */
    ctcd_model_layout lay;
    OK(ctcd_model_layout_build(&c, &lay));
    const int64_t pad = check_table("tiny", lay.params, lay.n_params, lay.n_total,
                                    lay.n_params_real);
    cr_assert_gt(pad, 0, "the tiny model should need padding");
    int follows = 0;
    for (int i = 0; i < lay.n_params; i++) {
        const ctcd_param_info *p = &lay.params[i];
        if (!p->follows) continue;
        follows++;
        cr_assert(strstr(p->name, ".attention.self.key.") || strstr(p->name, ".attention.self.value."),
                  "%s is a continuation but not key/value", p->name);
    }
    cr_assert_eq(follows, 4 * c.n_layers, "key+value weight and bias of each layer");
    for (int l = 0; l < c.n_layers; l++) {
        cr_assert_eq(lay.layer[l].qkv_w % CTCD_PARAM_ALIGN, 0);
        cr_assert_eq(lay.layer[l].qkv_b % CTCD_PARAM_ALIGN, 0);
    }
    ctcd_model_layout_free(&lay);
}

Test(flat_align, bert_base_parameter_count_is_the_sum_of_numel) {
    ctcd_bert_config c;
    OK(ctcd_bert_config_init(&c, "bert-base", 12, 768, 12, 3072, 30522, 512, 2, 3));
    c.layer_intermediate[4] = 3071; /* a pruned, odd FFN: padding after its bias and weights */
    ctcd_model_layout lay;
    OK(ctcd_model_layout_build(&c, &lay));
    cr_assert_gt(check_table("bert-base", lay.params, lay.n_params, lay.n_total,
                             lay.n_params_real), 0);
    ctcd_model_layout_free(&lay);
}

Test(flat_align, rationale_decoder_layout_is_aligned) {
    ctcd_backend *be = NULL;
    OK(ctcd_backend_cpu_create(&be));
    ctcd_bert_config ec;
    OK(ctcd_bert_config_init(&ec, "enc", 1, 12, 2, 16, 13, 16, 2, 3));
    ctcd_rationale_config rc;
    ctcd_rationale_config_default(&rc, &ec);
    rc.n_heads = 3;
    rc.intermediate = 7;
    rc.max_len = 5;
    rc.tie_embeddings = 0;
    ctcd_rationale_decoder *d = NULL;
    OK(ctcd_rationale_create(be, &rc, &ec, 2, 5, 6, &d));
    OK(ctcd_rationale_init_random(d, 3));
    cr_assert_gt(check_table("decoder", d->lay.params, d->lay.n_params, d->lay.n_total,
                             d->lay.n_params_real), 0);
    for (int i = 0; i < d->lay.n_params; i++)
        cr_assert(!d->lay.params[i].follows, "%s: the decoder has no continuations",
                  d->lay.params[i].name);
    const float *bufs[4] = {d->ps.master, d->ps.grads, d->ps.adam_m, d->ps.adam_v};
    for (int b = 0; b < 4; b++)
        check_padding("decoder after init", bufs[b], d->lay.params, d->lay.n_params,
                      d->lay.n_total);
    /* an upload of a host buffer with garbage between tensors leaves the padding zero */
    float *host = malloc((size_t)d->lay.n_total * 4);
    for (int64_t i = 0; i < d->lay.n_total; i++) host[i] = 3.0f;
    OK(ctcd_rationale_upload_params(d, host));
    check_padding("decoder after upload", d->ps.master, d->lay.params, d->lay.n_params,
                  d->lay.n_total);
    free(host);
    ctcd_rationale_destroy(d);
    ctcd_backend_destroy(be);
}

/* One training step of the tiny model (forward, CE loss, backward, AdamW with decay). */
static void train_step(tiny *f, int64_t step) {
    ctcd_model *m = f->m;
    OK(ctcd_model_zero_grad(m));
    OK(ctcd_model_forward(m, &f->b, 1, step));
    ctcd_loss_desc d = {.kind = CTCD_LOSS_CE_KL, .n_models = 1, .rows = f->b.B,
                        .classes = m->cfg.n_labels, .temperature = 1.0f,
                        .hard_w = {1.0f, 0.0f}};
    ctcd_loss_io io = {.logits = {m->acts.logits}, .dlogits = {m->acts.dlogits},
                       .labels = f->labels, .terms = f->terms};
    OK(f->be->loss(f->be, &d, &io));
    OK(ctcd_model_backward(m, &f->b, step));
    const ctcd_adamw_hparams h = {.lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                                  .weight_decay = 0.1f, .step = step, .max_norm = 1.0f};
    float norm = 0.0f;
    OK(ctcd_model_optimizer_step(m, &h, &norm));
    cr_assert(isfinite(norm) && norm > 0.0f, "grad norm %g", (double)norm);
}

Test(flat_align, padding_stays_zero_through_init_steps_and_checkpoint_load) {
    tiny f;
    memset(&f, 0, sizeof f);
    OK(ctcd_backend_create("cpu", &f.be));
    const ctcd_bert_config c = tiny_config(0.1f);
    OK(ctcd_model_create(f.be, &c, "tiny", 4, 8, &f.m));
    check_model_padding("after create", f.m); /* every buffer zeroed on allocation */
    OK(ctcd_model_init_random(f.m, 7));
    f.m->dropout_seed = 99;
    tiny_batch(&f);
    check_model_padding("after init", f.m);
    cr_assert_eq(ctcd_model_n_params(f.m), f.m->lay.n_params_real);
    cr_assert_lt(ctcd_model_n_params(f.m), f.m->lay.n_total);
    for (int64_t s = 1; s <= 3; s++) train_step(&f, s);
    check_model_padding("after 3 AdamW steps", f.m);

    /* checkpoint round trip into a model whose master holds garbage everywhere */
    char *tmp = ctcd_test_tmpdir();
    OK(ctcd_model_save_hf(f.m, tmp, NULL));
    ctcd_model *g = NULL;
    OK(ctcd_model_create(f.be, &c, "loaded", 4, 8, &g));
    for (int64_t i = 0; i < g->lay.n_total; i++) g->ps.master[i] = NAN;
    OK(ctcd_model_load_hf(g, tmp, NULL));
    check_padding("after checkpoint load", g->ps.master, g->lay.params, g->lay.n_params,
                  g->lay.n_total);
    cr_assert(memcmp(g->ps.master, f.m->ps.master, (size_t)g->lay.n_total * 4) == 0,
              "the loaded buffer differs from the saved one");
    ctcd_model_destroy(g);
    ctcd_test_rmtree(tmp);
    free(tmp);
    ctcd_model_destroy(f.m);
    ctcd_backend_destroy(f.be);
}
