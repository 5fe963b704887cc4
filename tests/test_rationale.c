/* test_rationale.c — the rationale decoder (include/ctcd/rationale.h) on the CPU backend:
 * finite-difference checks of the whole decoder's gradient (its own parameters, the tied
 * word embeddings in the encoder's gradient buffer, and the encoder output), causality,
 * config validation, and a tiny memorisation run that greedy decoding then reproduces. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/backend_cpu.h"
#include "ctcd/backend_create.h"
#include "ctcd/rationale.h"
#include "gradcheck.h"
#include "testutil.h"

#define OK(expr)                                                                  \
    do {                                                                          \
        ctcd_status st_ = (expr);                                                 \
        cr_assert_null(st_, "%s: %s", #expr, ctcd_status_message(st_));           \
    } while (0)

enum { V = 13, HE = 8, B = 2, TE = 5, T = 4 };

typedef struct fixture {
    ctcd_backend *be;
    ctcd_model *enc_model;       /* only its word embeddings are used (tied) */
    ctcd_rationale_decoder *d;
    float *enc;                  /* (B·TE, HE) encoder output */
    float *d_enc;                /* (B·TE, HE) */
    int32_t mask[B * TE], ids[B * T], tgt[B * T];
    ctcd_rat_batch_dev rb;
    int train;
} fixture;

/* A decoder whose LM head scores only `sl` (n_sl sorted ids; NULL = the vocabulary). */
static void fixture_open_sl(fixture *f, int hidden, int tie, float dropout, const int32_t *sl,
                            int n_sl) {
    memset(f, 0, sizeof *f);
    OK(ctcd_backend_cpu_create(&f->be));
    ctcd_bert_config ec;
    OK(ctcd_bert_config_init(&ec, "enc", 1, HE, 2, 16, V, 16, 2, 3));
    OK(ctcd_model_create(f->be, &ec, "enc", B, TE, &f->enc_model));
    OK(ctcd_model_init_random(f->enc_model, 5));
    ctcd_rationale_config rc;
    ctcd_rationale_config_default(&rc, &ec);
    rc.hidden = hidden;
    rc.n_heads = 2;
    rc.intermediate = 12;
    rc.max_len = 6;
    rc.tie_embeddings = tie;
    rc.dropout = dropout;
    rc.initializer_range = 0.3f; /* large enough that every path carries gradient */
    rc.out_vocab = n_sl;
    rc.out_ids = sl;
    OK(ctcd_rationale_create(f->be, &rc, &ec, B, T, TE, &f->d));
    OK(ctcd_rationale_init_random(f->d, 9));
    /* Non-trivial LayerNorm / bias values so their gradients are exercised. */
    float *host = malloc((size_t)f->d->lay.n_total * 4);
    OK(ctcd_rationale_download_params(f->d, host));
    ctcd_test_fill_uniform(host + f->d->lay.n_decay, f->d->lay.n_total - f->d->lay.n_decay,
                           0.5f, 1.5f, 17);
    OK(ctcd_rationale_upload_params(f->d, host));
    free(host);
    f->enc = malloc(B * TE * HE * 4);
    f->d_enc = malloc(B * TE * HE * 4);
    ctcd_test_fill_uniform(f->enc, B * TE * HE, -1.5f, 1.5f, 21);
    for (int i = 0; i < B * TE; i++) f->mask[i] = i < TE + 3; /* row 1: 2 padding tokens */
    /* row 0: bos 3 7 9 → 3 7 9 eos; row 1: bos 4 eos pad → 4 eos -1 -1 */
    const int32_t ids[B * T] = {1, 3, 7, 9, 1, 4, 0, 0};
    const int32_t tgt[B * T] = {3, 7, 9, 2, 4, 2, -1, -1};
    memcpy(f->ids, ids, sizeof ids);
    memcpy(f->tgt, tgt, sizeof tgt);
    cr_assert_eq(ctcd_rationale_map_targets(f->d, f->tgt, B * T), 0, "a target outside the shortlist");
    f->rb = (ctcd_rat_batch_dev){B, T, f->ids, f->tgt};
}

static void fixture_open(fixture *f, int hidden, int tie, float dropout) {
    fixture_open_sl(f, hidden, tie, dropout, NULL, 0);
}

/* The fixture's target tokens (2 = eos, 3, 4, 7, 9) and two that never occur. */
static const int32_t SHORTLIST[] = {2, 3, 4, 5, 7, 9, 12};
enum { NSL = 7 };

static void fixture_close(fixture *f) {
    ctcd_rationale_destroy(f->d);
    ctcd_model_destroy(f->enc_model);
    ctcd_backend_destroy(f->be);
    free(f->enc);
    free(f->d_enc);
}

static double loss_f(void *p) {
    fixture *f = p;
    OK(ctcd_rationale_forward(f->d, f->enc_model, f->enc, f->mask, TE, &f->rb, f->train, 3));
    float l = 0.0f;
    OK(ctcd_rationale_loss(f->d, &f->rb, 1.0f, &l));
    return l;
}

static void check_decoder_grads_sl(int hidden, int tie, float dropout, const int32_t *sl,
                                   int n_sl) {
    fixture f;
    fixture_open_sl(&f, hidden, tie, dropout, sl, n_sl);
    f.train = dropout > 0.0f;
    const double l0 = loss_f(&f);
    cr_assert(l0 > 0.5 && l0 < 10.0, "initial CE %g is implausible for %d classes", l0,
              ctcd_rationale_classes(f.d));
    OK(ctcd_rationale_zero_grad(f.d));
    OK(ctcd_model_zero_grad(f.enc_model));
    for (int i = 0; i < B * TE * HE; i++) f.d_enc[i] = 0.25f; /* accumulated into */
    OK(ctcd_rationale_backward(f.d, f.enc_model, f.enc, f.d_enc, f.mask, TE, &f.rb, 3));
    for (int i = 0; i < B * TE * HE; i++) f.d_enc[i] -= 0.25f;
    /* Every decoder tensor on its own, so a failure names it. On the CPU backend the
     * compute copy is the master, so perturbing master[i] perturbs the model. */
    for (int i = 0; i < f.d->lay.n_params; i++) {
        const ctcd_param_info *p = &f.d->lay.params[i];
        char what[128];
        snprintf(what, sizeof what, "decoder %s", p->name);
        gc_check(what, f.d->ps.master + p->offset, f.d->ps.grads + p->offset, p->numel, 1,
                 loss_f, &f);
    }
    if (tie) {
        const ctcd_model *m = f.enc_model;
        gc_check("tied word embeddings (encoder grads)", m->ps.master + m->lay.wte,
                 m->ps.grads + m->lay.wte, (int64_t)V * HE, 1, loss_f, &f);
    }
    gc_check("encoder output", f.enc, f.d_enc, B * TE * HE, 1, loss_f, &f);
    /* Padded encoder tokens get no gradient. */
    for (int t = 3; t < TE; t++)
        for (int j = 0; j < HE; j++)
            cr_assert_eq(f.d_enc[(TE + t) * HE + j], 0.0f, "padded encoder token %d got gradient", t);
    fixture_close(&f);
}

static void check_decoder_grads(int hidden, int tie, float dropout) {
    check_decoder_grads_sl(hidden, tie, dropout, NULL, 0);
}

Test(rationale, decoder_grads_match_fd_tied) { check_decoder_grads(HE, 1, 0.0f); }
Test(rationale, decoder_grads_match_fd_shortlist) {
    check_decoder_grads_sl(HE, 1, 0.0f, SHORTLIST, NSL); /* tied input, own shortlist head */
    check_decoder_grads_sl(6, 0, 0.1f, SHORTLIST, NSL);
}
Test(rationale, decoder_grads_match_fd_own_narrow_embeddings) { check_decoder_grads(6, 0, 0.0f); }
Test(rationale, decoder_grads_match_fd_with_dropout) { check_decoder_grads(HE, 1, 0.2f); }

/* ---- token-level mutual KL between two decoders (a co-trained pair) ---- */

typedef struct pair_fixture {
    fixture f[2];        /* two encoders + decoders, differently initialised, same targets */
    float weight, mutual;
} pair_fixture;

static void pair_open(pair_fixture *x, float mutual) {
    for (int m = 0; m < 2; m++) fixture_open(&x->f[m], HE, 1, 0.0f);
    OK(ctcd_rationale_init_random(x->f[1].d, 31));
    ctcd_test_fill_uniform(x->f[1].enc, B * TE * HE, -1.5f, 1.5f, 23);
    x->weight = 0.7f;
    x->mutual = mutual;
}

static void pair_close(pair_fixture *x) {
    for (int m = 0; m < 2; m++) fixture_close(&x->f[m]);
}

static void pair_forward(pair_fixture *x, float ce[2], float kl[2]) {
    for (int m = 0; m < 2; m++)
        OK(ctcd_rationale_forward(x->f[m].d, x->f[m].enc_model, x->f[m].enc, x->f[m].mask, TE,
                                  &x->f[m].rb, 0, 3));
    ctcd_rationale_decoder *const d[2] = {x->f[0].d, x->f[1].d};
    OK(ctcd_rationale_loss_pair(d, &x->f[0].rb, x->weight, x->mutual, ce, kl));
}

/* Decoder 0's loss: weight·CE_0 + mutual·KL(p_1 ‖ p_0) (decoder 1 a constant). */
static double pair_loss0(void *p) {
    pair_fixture *x = p;
    float ce[2], kl[2];
    pair_forward(x, ce, kl);
    return (double)x->weight * ce[0] + (double)x->mutual * kl[0];
}

Test(rationale, token_mutual_kl_grads_match_fd) {
    pair_fixture x;
    pair_open(&x, 1.3f);
    float ce[2], kl[2];
    pair_forward(&x, ce, kl);
    cr_assert(kl[0] > 1e-3f && kl[1] > 1e-3f, "the two decoders agree already (KL %g, %g)",
              (double)kl[0], (double)kl[1]);
    fixture *f = &x.f[0];
    OK(ctcd_rationale_zero_grad(f->d));
    OK(ctcd_model_zero_grad(f->enc_model));
    memset(f->d_enc, 0, B * TE * HE * 4);
    OK(ctcd_rationale_backward(f->d, f->enc_model, f->enc, f->d_enc, f->mask, TE, &f->rb, 3));
    for (int i = 0; i < f->d->lay.n_params; i++) {
        const ctcd_param_info *p = &f->d->lay.params[i];
        char what[128];
        snprintf(what, sizeof what, "decoder 0 %s (CE + token KL)", p->name);
        gc_check(what, f->d->ps.master + p->offset, f->d->ps.grads + p->offset, p->numel,
                 p->numel > 64 ? 3 : 1, pair_loss0, &x); /* every third weight of a matrix */
    }
    const ctcd_model *m = f->enc_model;
    gc_check("tied word embeddings (CE + token KL)", m->ps.master + m->lay.wte,
             m->ps.grads + m->lay.wte, (int64_t)V * HE, 3, pair_loss0, &x);
    gc_check("encoder output (CE + token KL)", f->enc, f->d_enc, B * TE * HE, 1, pair_loss0, &x);
    /* padding targets (row 1, positions 2 and 3) carry neither CE nor KL */
    for (int t = 2; t < T; t++)
        for (int k = 0; k < V; k++)
            cr_assert_eq(((const float *)f->d->acts.dlogits)[(T + t) * V + k], 0.0f,
                         "padding position %d got a logit gradient", t);
    pair_close(&x);
}

/* Mutual weight 0: each decoder's logit gradient is bit for bit the one of its own loss. */
Test(rationale, token_mutual_kl_weight_zero_is_each_decoder_alone) {
    pair_fixture x;
    pair_open(&x, 0.0f);
    float ce[2], kl[2];
    pair_forward(&x, ce, kl);
    float *pair_dz[2];
    for (int m = 0; m < 2; m++) {
        pair_dz[m] = malloc(B * T * V * 4);
        memcpy(pair_dz[m], x.f[m].d->acts.dlogits, B * T * V * 4);
    }
    for (int m = 0; m < 2; m++) {
        float alone = 0.0f;
        OK(ctcd_rationale_loss(x.f[m].d, &x.f[m].rb, x.weight, &alone));
        cr_assert(alone == ce[m], "decoder %d: CE %.9g alone, %.9g in the pair", m,
                  (double)alone, (double)ce[m]);
        cr_assert(memcmp(pair_dz[m], x.f[m].d->acts.dlogits, B * T * V * 4) == 0,
                  "decoder %d: logit gradients differ with mutual weight 0", m);
        free(pair_dz[m]);
    }
    pair_close(&x);
}

Test(rationale, later_tokens_do_not_change_earlier_logits) {
    fixture f;
    fixture_open(&f, HE, 1, 0.0f);
    loss_f(&f);
    float *a = malloc(B * T * V * 4);
    memcpy(a, f.d->acts.logits, B * T * V * 4);
    f.ids[3] = 11; /* last input token of row 0 */
    loss_f(&f);
    const float *b = f.d->acts.logits;
    for (int t = 0; t < T; t++) {
        const int same = memcmp(a + t * V, b + t * V, V * 4) == 0;
        if (t < 3)
            cr_assert(same, "position %d changed when a later token changed", t);
        else
            cr_assert(!same, "position 3 did not change with its own input");
    }
    free(a);
    fixture_close(&f);
}

Test(rationale, config_validation_names_the_problem) {
    ctcd_bert_config ec;
    OK(ctcd_bert_config_init(&ec, "enc", 1, 8, 2, 16, 30, 16, 2, 3));
    ctcd_rationale_config rc;
    ctcd_rationale_config_default(&rc, &ec);
    OK(ctcd_rationale_config_validate(&rc, &ec, "rationale.decoder"));
    rc.hidden = 6;
    ctcd_status st = ctcd_rationale_config_validate(&rc, &ec, "rationale.decoder");
    cr_assert_not_null(st, "tied embeddings with a different hidden size must be rejected");
    cr_assert(strstr(ctcd_status_message(st), "tie_embeddings"), "message: %s",
              ctcd_status_message(st));
    ctcd_status_free(st);
    rc.tie_embeddings = 0;
    OK(ctcd_rationale_config_validate(&rc, &ec, "rationale.decoder"));
    rc.n_heads = 4; /* 6 % 4 */
    st = ctcd_rationale_config_validate(&rc, &ec, "rationale.decoder");
    cr_assert_not_null(st);
    ctcd_status_free(st);
}

/* 300 AdamW steps on the fixture's two rationales (the tied embeddings too); then greedy
 * decoding from each row's encoder output must reproduce them and stop at eos. */
static void memorise_and_decode(fixture *f) {
    ctcd_adamw_hparams h = {.lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                            .weight_decay = 0.0f, .max_norm = 1.0f};
    float l = 0.0f;
    for (int s = 1; s <= 300; s++) {
        OK(ctcd_rationale_forward(f->d, f->enc_model, f->enc, f->mask, TE, &f->rb, 1, s));
        OK(ctcd_rationale_loss(f->d, &f->rb, 1.0f, &l));
        OK(ctcd_rationale_zero_grad(f->d));
        OK(ctcd_model_zero_grad(f->enc_model));
        OK(ctcd_rationale_backward(f->d, f->enc_model, f->enc, f->d_enc, f->mask, TE, &f->rb, s));
        h.step = s;
        OK(ctcd_rationale_optimizer_step(f->d, &h, NULL));
        OK(ctcd_model_optimizer_step(f->enc_model, &h, NULL)); /* the tied embeddings */
    }
    cr_assert_lt(l, 0.05f, "loss after 300 steps: %g", (double)l);
    int32_t out[B * 6];
    int len[B];
    OK(ctcd_rationale_generate(f->d, f->enc_model, f->enc, f->mask, B, TE, 4, out, len));
    cr_assert_eq(len[0], 3, "row 0 generated %d tokens", len[0]);
    cr_assert(out[0] == 3 && out[1] == 7 && out[2] == 9, "row 0: %d %d %d", out[0], out[1],
              out[2]);
    cr_assert_eq(len[1], 1, "row 1 generated %d tokens", len[1]);
    cr_assert_eq(out[4], 4, "row 1: %d", out[4]);
}

/* A few hundred AdamW steps make the decoder memorise the two rationales; greedy decoding
 * from each row's encoder output then reproduces them and stops at eos. */
Test(rationale, memorises_and_greedy_decodes) {
    fixture f;
    fixture_open(&f, HE, 1, 0.0f);
    memorise_and_decode(&f);
    fixture_close(&f);
}

/* ---- output shortlist ---- */

Test(rationale, shortlist_builder_and_target_map) {
    const int32_t toks[] = {9, 3, 7, 3, 9, 4};
    int32_t *sl = NULL;
    int n = 0;
    OK(ctcd_rationale_shortlist(toks, 6, 2, V, &sl, &n));
    const int32_t want[] = {2, 3, 4, 7, 9};
    cr_assert_eq(n, 5);
    cr_assert(memcmp(sl, want, sizeof want) == 0, "shortlist %d %d %d %d %d", sl[0], sl[1],
              sl[2], sl[3], sl[4]);
    free(sl);
    const int32_t bad[] = {3, 13};
    ctcd_status st = ctcd_rationale_shortlist(bad, 2, 2, V, &sl, &n);
    cr_assert_not_null(st, "a token outside the vocabulary must be rejected");
    ctcd_status_free(st);

    fixture f;
    fixture_open_sl(&f, HE, 1, 0.0f, SHORTLIST, NSL);
    /* the fixture's targets 3 7 9 2 | 4 2 -1 -1 became head rows */
    const int32_t rows[B * T] = {1, 4, 5, 0, 2, 0, -1, -1};
    cr_assert(memcmp(f.tgt, rows, sizeof rows) == 0, "mapped targets %d %d %d %d", f.tgt[0],
              f.tgt[1], f.tgt[2], f.tgt[3]);
    int32_t out[3] = {6, 12, -1};
    cr_assert_eq(ctcd_rationale_map_targets(f.d, out, 3), 1, "token 6 is not shortlisted");
    cr_assert(out[0] == -1 && out[1] == 6 && out[2] == -1, "%d %d %d", out[0], out[1], out[2]);
    cr_assert_eq(ctcd_rationale_classes(f.d), NSL);
    fixture_close(&f);

    ctcd_bert_config ec;
    OK(ctcd_bert_config_init(&ec, "enc", 1, HE, 2, 16, V, 16, 2, 3));
    ctcd_rationale_config rc;
    ctcd_rationale_config_default(&rc, &ec);
    const int32_t unsorted[] = {2, 7, 3}, no_eos[] = {3, 4};
    rc.out_vocab = 3, rc.out_ids = unsorted;
    st = ctcd_rationale_config_validate(&rc, &ec, "rationale.decoder");
    cr_assert_not_null(st, "an unsorted shortlist must be rejected");
    ctcd_status_free(st);
    rc.out_vocab = 2, rc.out_ids = no_eos;
    st = ctcd_rationale_config_validate(&rc, &ec, "rationale.decoder");
    cr_assert(st && strstr(ctcd_status_message(st), "end token"), "shortlist without eos");
    ctcd_status_free(st);
}

/* Copies every tensor of `from` into the same-named tensor of `to` when the sizes agree. */
static void copy_common(const ctcd_rationale_decoder *from, float *hf, float *ht,
                        const ctcd_rationale_decoder *to) {
    for (int i = 0; i < to->lay.n_params; i++) {
        const ctcd_param_info *p = &to->lay.params[i];
        const ctcd_param_info *q = ctcd_rationale_find(from, p->name);
        if (q && q->numel == p->numel)
            memcpy(ht + p->offset, hf + q->offset, (size_t)p->numel * 4);
    }
}

/* A shortlist head whose rows are the full head's rows at the shortlisted ids gives exactly
 * those columns of the full logits, and its CE is the softmax over the shortlist alone. */
Test(rationale, shortlist_logits_are_the_full_heads_columns) {
    fixture a, s;
    fixture_open(&a, 6, 0, 0.0f);                   /* own (V, H) embeddings = LM head */
    fixture_open_sl(&s, 6, 0, 0.0f, SHORTLIST, NSL);
    float *ha = malloc((size_t)a.d->lay.n_total * 4), *hs = malloc((size_t)s.d->lay.n_total * 4);
    OK(ctcd_rationale_download_params(a.d, ha));
    OK(ctcd_rationale_download_params(s.d, hs));
    copy_common(a.d, ha, hs, s.d);
    const int H = 6;
    const ctcd_param_info *wte = ctcd_rationale_find(a.d, "decoder.embed_tokens.weight");
    const ctcd_param_info *ab = ctcd_rationale_find(a.d, "decoder.lm_head.bias");
    const ctcd_param_info *sw = ctcd_rationale_find(s.d, "decoder.lm_head.weight");
    const ctcd_param_info *sb = ctcd_rationale_find(s.d, "decoder.lm_head.bias");
    cr_assert(wte && ab && sw && sb && sw->numel == NSL * H && sb->numel == NSL);
    for (int j = 0; j < NSL; j++) {
        memcpy(hs + sw->offset + j * H, ha + wte->offset + SHORTLIST[j] * H, H * 4);
        hs[sb->offset + j] = ha[ab->offset + SHORTLIST[j]];
    }
    OK(ctcd_rationale_upload_params(s.d, hs));
    memcpy(s.enc, a.enc, B * TE * HE * 4);
    loss_f(&a);
    const double ls = loss_f(&s);
    const float *za = a.d->acts.logits, *zs = s.d->acts.logits;
    double ce = 0.0;
    int n = 0;
    for (int r = 0; r < B * T; r++) {
        for (int j = 0; j < NSL; j++)
            cr_assert_float_eq(zs[r * NSL + j], za[r * V + SHORTLIST[j]], 1e-6f,
                               "row %d, shortlist column %d", r, j);
        if (s.tgt[r] < 0) continue;
        double mx = -1e30, sum = 0.0;
        for (int j = 0; j < NSL; j++) mx = fmax(mx, za[r * V + SHORTLIST[j]]);
        for (int j = 0; j < NSL; j++) sum += exp(za[r * V + SHORTLIST[j]] - mx);
        ce += mx + log(sum) - za[r * V + SHORTLIST[s.tgt[r]]];
        n++;
    }
    cr_assert_float_eq(ls, ce / n, 1e-5, "shortlist CE %g, by hand %g", ls, ce / n);
    free(ha);
    free(hs);
    fixture_close(&a);
    fixture_close(&s);
}

/* Memorisation with a shortlist head: greedy decoding returns token ids, not head rows;
 * the decoder saved and loaded back keeps its shortlist and logits. */
Test(rationale, shortlist_memorises_decodes_and_round_trips) {
    fixture f;
    fixture_open_sl(&f, HE, 1, 0.0f, SHORTLIST, NSL);
    memorise_and_decode(&f); /* decoded ids are token ids, not head rows */
    char *tmp = ctcd_test_tmpdir(), path[1024];
    snprintf(path, sizeof path, "%s/decoder.safetensors", tmp);
    OK(ctcd_rationale_save(f.d, path));
    ctcd_rationale_decoder *g = NULL;
    OK(ctcd_rationale_load(f.be, path, &f.enc_model->cfg, B, T, TE, &g));
    cr_assert_eq(g->cfg.out_vocab, NSL);
    cr_assert(memcmp(g->out_ids, SHORTLIST, sizeof SHORTLIST) == 0, "shortlist not restored");
    OK(ctcd_rationale_forward(f.d, f.enc_model, f.enc, f.mask, TE, &f.rb, 0, 1));
    OK(ctcd_rationale_forward(g, f.enc_model, f.enc, f.mask, TE, &f.rb, 0, 1));
    cr_assert(memcmp(f.d->acts.logits, g->acts.logits, B * T * NSL * 4) == 0,
              "logits differ after the round trip");
    ctcd_rationale_destroy(g);
    /* a file whose metadata promises a different shortlist length is refused, by name */
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp);
    char buf[1 << 16];
    const size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    cr_assert(n > 0 && n < sizeof buf, "decoder file of %zu bytes", n);
    char *at = memmem(buf, n, "\"out_vocab\":\"7\"", 15);
    cr_assert_not_null(at, "out_vocab metadata not found in the file header");
    at[13] = '9';
    fp = fopen(path, "wb");
    cr_assert(fp && fwrite(buf, 1, n, fp) == n);
    fclose(fp);
    ctcd_status st = ctcd_rationale_load(f.be, path, &f.enc_model->cfg, B, T, TE, &g);
    cr_assert(st && strstr(ctcd_status_message(st), "decoder.lm_head.token_ids"),
              "malformed shortlist: %s", st ? ctcd_status_message(st) : "loaded");
    ctcd_status_free(st);
    ctcd_test_rmtree(tmp);
    free(tmp);
    fixture_close(&f);
}
