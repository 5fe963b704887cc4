/* test_cuda_model.c — a whole 2-layer BERT, forward + loss + backward (dropout on), on the CPU
 * and on CUDA from the same initial weights, batch and dropout keys (the Philox masks are
 * identical across backends, so dropout need not be switched off):
 *   fp32 mode: logits and every parameter tensor's gradient within 1e-3 of the CPU, relative
 *              to that tensor's largest CPU value (classification and masked-LM heads);
 *   bf16 mode: logits within a bf16 tolerance (5e-2 of the largest logit); gradients are
 *              reported and loosely bounded (0.25 of each tensor's largest value).
 * One line per tensor is printed on stderr with its error. Also: head / FFN-neuron importance
 * scores (surgery.h) of a tiny non-uniform model agree. Skips without CUDA. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/importance.h"
#include "ctcd/model.h"
#include "ctcd/surgery.h"
#include "cuda_check.h"
#include "tiny_bert.h"

enum { MB = 3, MT = 12 };

typedef struct side {
    ctcd_backend *be;
    ctcd_model *m;
    ctcd_batch_dev b;
    void *bufs[8];
    int n_bufs;
    float *terms; /* backend memory */
} side;

static void *side_upload(side *s, const void *host, size_t bytes) {
    void *d = NULL;
    ck_ok(s->be->alloc(s->be, bytes, "test batch", &d), "alloc");
    ck_ok(s->be->upload(s->be, d, host, bytes), "upload");
    s->bufs[s->n_bufs++] = d;
    return d;
}

#if CTCD_CUDA_EMU
long ctcd_emu_malloc_calls(void); /* cuda/emu/emu_selftest.cu */
#endif

/* Same model (seed), same batch, on backend be. */
static void side_make(side *s, ctcd_backend *be, int head, const int32_t *ids,
                      const int32_t *types, const int32_t *mask, const int32_t *cls,
                      const int32_t *pred, int64_t n_pred, const int32_t *labels, int64_t n_lab) {
    memset(s, 0, sizeof *s);
    s->be = be;
    ctcd_bert_config c;
    ck_ok(ctcd_bert_config_init(&c, "tiny", 2, 64, 2, 128, 50, 32, 2, 3), "config");
    c.hidden_dropout = 0.1f;
    c.attn_dropout = 0.1f;
    c.initializer_range = 0.2f;
    c.head = head;
    ck_ok(ctcd_model_create(be, &c, "tiny", MB, MT, &s->m), "model create");
    ck_ok(ctcd_model_init_random(s->m, 11), "init");
    s->m->dropout_seed = 4242;
    /* Perturb LayerNorm / bias parameters away from (1, 0) on the host, identically. */
    const int64_t n = s->m->lay.n_total;
    float *w = malloc((size_t)n * sizeof(float));
    ck_ok(ctcd_model_download_params(s->m, w), "download params");
    ctcd_test_fill_uniform(w + s->m->lay.n_decay, n - s->m->lay.n_decay, -0.5f, 1.5f, 3);
    ctcd_params_zero_padding(w, s->m->lay.params, s->m->lay.n_params, n);
    ck_ok(be->upload(be, s->m->ps.master, w, (size_t)n * sizeof(float)), "upload params");
    if (s->m->ps.params != s->m->ps.master)
        ck_ok(be->cast(be, s->m->ps.params, be->act_dtype, s->m->ps.master, CTCD_F32, n), "cast");
    free(w);
    const size_t bt = (size_t)MB * MT * 4;
    s->b = (ctcd_batch_dev){.B = MB, .T = MT, .ids = side_upload(s, ids, bt),
                            .types = side_upload(s, types, bt), .mask = side_upload(s, mask, bt),
                            .cls_idx = side_upload(s, cls, MB * 4)};
    if (head == CTCD_HEAD_MLM) {
        s->b.n_pred = n_pred;
        s->b.pred_idx = side_upload(s, pred, (size_t)n_pred * 4);
    }
    void *lab = side_upload(s, labels, (size_t)n_lab * 4);
    ck_ok(be->alloc(be, CTCD_LOSS_NTERMS * 4, "terms", (void **)&s->terms), "alloc");
    ck_ok(ctcd_model_zero_grad(s->m), "zero grad");
#if CTCD_CUDA_EMU
    /* A step allocates no device memory: the model's creation reserved it (the emulated
     * runtime counts cudaMalloc calls). */
    const long mallocs = be->device == CTCD_DEVICE_CUDA ? ctcd_emu_malloc_calls() : 0;
#endif
    ck_ok(ctcd_model_forward(s->m, &s->b, 1, 5), "forward");
    const ctcd_loss_desc d = {.kind = CTCD_LOSS_CE_KL, .n_models = 1, .rows = n_lab,
                              .classes = ctcd_bert_out_classes(&s->m->cfg), .temperature = 1.0f,
                              .hard_w = {1.0f, 0.0f}};
    const ctcd_loss_io io = {.logits = {s->m->acts.logits}, .dlogits = {s->m->acts.dlogits},
                             .labels = lab, .terms = s->terms};
    ck_ok(be->loss(be, &d, &io), "loss");
    ck_ok(ctcd_model_backward(s->m, &s->b, 5), "backward");
    ck_ok(be->sync(be), "sync");
#if CTCD_CUDA_EMU
    if (be->device == CTCD_DEVICE_CUDA)
        cr_assert_eq(ctcd_emu_malloc_calls(), mallocs,
                     "forward + loss + backward allocated device memory %ld times",
                     ctcd_emu_malloc_calls() - mallocs);
#endif
}

static void side_free(side *s) {
    ctcd_model_destroy(s->m);
    for (int i = 0; i < s->n_bufs; i++) s->be->free(s->be, s->bufs[i]);
    s->be->free(s->be, s->terms);
}

static void run_model(const char *prec, int head) {
    ck_env e;
    ck_open(&e, prec);
    int32_t ids[MB * MT], types[MB * MT], mask[MB * MT], cls[MB], pred[MB * MT], labels[MB * MT];
    const int lens[MB] = {12, 7, 1}; /* full, padded, only [CLS] real */
    int64_t n_pred = 0;
    for (int b = 0; b < MB; b++) {
        for (int t = 0; t < MT; t++) {
            const int real = t < lens[b];
            ids[b * MT + t] = real ? 1 + (b * 11 + t * 5) % 49 : 0;
            types[b * MT + t] = real && t >= 4 ? 1 : 0;
            mask[b * MT + t] = real;
        }
        cls[b] = b * MT;
    }
    int64_t n_lab;
    if (head == CTCD_HEAD_MLM) {
        for (int b = 0; b < MB; b++)
            for (int t = 1; t < lens[b]; t += 2) {
                pred[n_pred] = b * MT + t;
                labels[n_pred++] = ids[b * MT + t];
            }
        n_lab = n_pred;
    } else {
        for (int b = 0; b < MB; b++) labels[b] = b % 3;
        n_lab = MB;
    }
    side c, g;
    side_make(&c, e.cpu, head, ids, types, mask, cls, pred, n_pred, labels, n_lab);
    side_make(&g, e.gpu, head, ids, types, mask, cls, pred, n_pred, labels, n_lab);
    const char *hn = head == CTCD_HEAD_MLM ? "mlm" : "classify";
    char what[160];

    const int64_t nl = n_lab * ctcd_bert_out_classes(&c.m->cfg);
    snprintf(what, sizeof what, "model %s logits", hn);
    ck_close_to(&e, what, ck_down_act(&e, g.m->acts.logits, nl), (const float *)c.m->acts.logits,
                nl, e.bf16 ? 5e-2 : 1e-4, e.bf16 ? 2e-2 : 1e-3);
    float tc[CTCD_LOSS_NTERMS];
    memcpy(tc, c.terms, sizeof tc);
    float *tg = ck_down_f32(&e, g.terms, CTCD_LOSS_NTERMS);
    snprintf(what, sizeof what, "model %s loss", hn);
    ck_close_to(&e, what, tg + CTCD_TERM_TOTAL0, tc + CTCD_TERM_TOTAL0, 1, 0,
                e.bf16 ? 2e-2 : 1e-4);

    const int64_t n = c.m->lay.n_total;
    float *gg = ck_down_f32(&e, g.m->ps.grads, n);
    const float *gc = c.m->ps.grads;
    double worst = 0.0;
    const char *worst_name = "";
    for (int p = 0; p < c.m->lay.n_params; p++) {
        const ctcd_param_info *pi = &c.m->lay.params[p];
        double scale = 0.0, err = 0.0;
        for (int64_t j = pi->offset; j < pi->offset + pi->numel; j++) {
            scale = fmax(scale, fabs(gc[j]));
            err = fmax(err, fabs((double)gg[j] - gc[j]));
        }
        /* The key bias adds q·b to every score of a query row, which softmax ignores: its
         * exact gradient is 0 and both backends return the rounding left of Σ_j dK_j. That
         * rounding scales with dK, so it is measured against the key weight's gradient. */
        const size_t len = strlen(pi->name), sl = strlen("self.key.bias");
        if (len > sl && strcmp(pi->name + len - sl, "self.key.bias") == 0) {
            char wname[160];
            snprintf(wname, sizeof wname, "%.*sweight", (int)(len - 4), pi->name);
            const ctcd_param_info *kw = NULL;
            for (int q = 0; q < c.m->lay.n_params && !kw; q++)
                if (strcmp(c.m->lay.params[q].name, wname) == 0) kw = &c.m->lay.params[q];
            cr_assert_not_null(kw, "no %s beside %s", wname, pi->name);
            for (int64_t j = kw->offset; j < kw->offset + kw->numel; j++)
                scale = fmax(scale, fabs(gc[j]));
        }
        const double rel = scale > 0 ? err / scale : err;
        const double tol = e.bf16 ? 0.25 : 1e-3;
        fprintf(stderr, "  [%-4s] grad %-56s max abs err %.3e  rel to max %.3e  (max %.3e)%s\n",
                e.prec, pi->name, err, rel, scale, rel > tol ? "  FAIL" : "");
        cr_expect_leq(rel, tol, "%s (%s): gradient error %.3e of its max %.3e", pi->name, e.prec,
                      err, scale);
        if (rel > worst) {
            worst = rel;
            worst_name = pi->name;
        }
    }
    fprintf(stderr, "  [%-4s] model %s: worst gradient %s at %.3e of its max\n", e.prec, hn,
            worst_name, worst);
    side_free(&c);
    side_free(&g);
    ck_close(&e);
}

static void run_classify(const char *prec) { run_model(prec, CTCD_HEAD_CLASSIFY); }
static void run_mlm(const char *prec) { run_model(prec, CTCD_HEAD_MLM); }
CK_BOTH(cuda_model, two_layer_bert_classify_matches_cpu, run_classify)
CK_BOTH(cuda_model, two_layer_bert_mlm_matches_cpu, run_mlm)

/* One optimizer step on both backends from the same gradients (fp32): master weights agree. */
static void run_optimizer_step(const char *prec) {
    ck_env e;
    ck_open(&e, prec);
    int32_t ids[MB * MT], types[MB * MT], mask[MB * MT], cls[MB], labels[MB] = {0, 1, 2};
    for (int i = 0; i < MB * MT; i++) {
        ids[i] = 1 + i % 40;
        types[i] = 0;
        mask[i] = 1;
    }
    for (int b = 0; b < MB; b++) cls[b] = b * MT;
    side c, g;
    side_make(&c, e.cpu, CTCD_HEAD_CLASSIFY, ids, types, mask, cls, NULL, 0, labels, MB);
    side_make(&g, e.gpu, CTCD_HEAD_CLASSIFY, ids, types, mask, cls, NULL, 0, labels, MB);
    const ctcd_adamw_hparams h = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                                  .weight_decay = 0.01f, .step = 1, .max_norm = 0.5f};
    float nc = 0, ng = 0;
    ck_ok(ctcd_model_optimizer_step(c.m, &h, &nc), "cpu step");
    ck_ok(ctcd_model_optimizer_step(g.m, &h, &ng), "cuda step");
    ck_close_to(&e, "model grad norm", &ng, &nc, 1, 0, e.bf16 ? 5e-2 : 1e-3);
    const int64_t n = c.m->lay.n_total;
    float *wc = ck_hmalloc(&e, (size_t)n * 4), *wg = ck_hmalloc(&e, (size_t)n * 4);
    ck_ok(ctcd_model_download_params(c.m, wc), "download");
    ck_ok(ctcd_model_download_params(g.m, wg), "download");
    /* Adam's first step moves each weight by about ±lr whatever the gradient's size, so a
     * near-zero gradient whose sign differs moves a weight by up to 2·lr: 2e-3 of the largest
     * weight (~1.5) covers that; the grad norm above is the sharp check. */
    ck_close_to(&e, "model master after one AdamW step", wg, wc, n, 2e-3, 0);
    side_free(&c);
    side_free(&g);
    ck_close(&e);
}
CK_BOTH(cuda_model, optimizer_step_matches_cpu, run_optimizer_step)

/* Head / FFN-neuron importance (surgery.h) of a tiny non-uniform model on both backends from
 * the same weights and data: fp32 within 1e-3 of each kind's largest CPU score; bf16 reported
 * and loosely bounded (0.25). */
static void run_importance(const char *prec) {
    ck_env e;
    ck_open(&e, prec);
    tiny f;
    memset(&f, 0, sizeof f);
    tiny_batch(&f);
    const ctcd_bert_config cfg = tiny_config(0.1f);
    ctcd_model *mc = tiny_model(e.cpu, &cfg, 7), *mg = NULL;
    ck_ok(ctcd_model_create(e.gpu, &cfg, "tiny", 4, 8, &mg), "cuda model");
    ck_ok(ctcd_model_upload_params(mg, mc->ps.master), "upload params");
    ctcd_dataset d;
    ck_ok(ctcd_dataset_init(&d, "tiny", 3), "dataset");
    for (int b = 0; b < f.b.B; b++) {
        int len = 0;
        while (len < f.b.T && f.mask[b * f.b.T + len]) len++;
        ck_ok(ctcd_dataset_push(&d, f.ids + b * f.b.T, f.types + b * f.b.T, len, f.labels[b],
                                0.0f), "push");
    }
    const int64_t nh = mc->n_head_units, nf = mc->n_ffn_units;
    float *hc = ck_hmalloc(&e, (size_t)nh * 4), *fc = ck_hmalloc(&e, (size_t)nf * 4);
    float *hg = ck_hmalloc(&e, (size_t)nh * 4), *fg = ck_hmalloc(&e, (size_t)nf * 4);
    const ctcd_importance_opts o = {.batch = 2, .max_len = 8};
    ck_ok(ctcd_model_importance(mc, &d, &o, hc, fc), "cpu importance");
    ck_ok(ctcd_model_importance(mg, &d, &o, hg, fg), "cuda importance");
    double mh = 0, mf = 0;
    for (int64_t i = 0; i < nh; i++) mh = fmax(mh, hc[i]);
    for (int64_t i = 0; i < nf; i++) mf = fmax(mf, fc[i]);
    cr_assert_gt(mh, 0.0, "no head importance");
    const double atol = e.bf16 ? 0.25 : 1e-3;
    ck_close_to(&e, "importance heads", hg, hc, nh, atol, 0);
    ck_close_to(&e, "importance FFN neurons", fg, fc, nf, atol, 0);
    ctcd_dataset_free(&d);
    ctcd_model_destroy(mc);
    ctcd_model_destroy(mg);
    ck_close(&e);
}
CK_BOTH(cuda_model, importance_scores_match_cpu, run_importance)
