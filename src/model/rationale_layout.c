/* rationale_layout.c — the rationale decoder's config, parameter table, parameter set
 * (include/ctcd/param_set.h), activation arena, initialisation and optimizer step
 * (include/ctcd/rationale.h). The graph itself is
 * in rationale_decoder.c, greedy decoding in rationale_generate.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/arena.h"
#include "ctcd/rationale.h"
#include "param_init.h"

void ctcd_rationale_config_default(ctcd_rationale_config *c, const ctcd_bert_config *enc) {
    memset(c, 0, sizeof *c);
    c->n_layers = 2;
    c->hidden = enc->hidden;
    c->n_heads = enc->n_heads;
    c->intermediate = 4 * enc->hidden;
    c->max_len = 64;
    c->tie_embeddings = 1;
    c->dropout = enc->hidden_dropout;
    c->initializer_range = enc->initializer_range;
    c->ln_eps = enc->ln_eps;
    c->enc_hidden = enc->hidden;
    c->vocab_size = enc->vocab_size;
    c->pad_id = enc->pad_id;
    c->bos_id = enc->vocab_size > 102 ? 101 : 1;
    c->eos_id = enc->vocab_size > 102 ? 102 : 2;
}

ctcd_status ctcd_rationale_config_validate(const ctcd_rationale_config *c,
                                           const ctcd_bert_config *enc, const char *who) {
    if (c->n_layers < 1 || c->n_layers > CTCD_RAT_MAX_LAYERS)
        return CTCD_ERR(CTCD_E_INVALID, "%s.layers = %d not in [1, %d]", who, c->n_layers,
                        CTCD_RAT_MAX_LAYERS);
    if (c->hidden < 1 || c->n_heads < 1 || c->hidden % c->n_heads)
        return CTCD_ERR(CTCD_E_INVALID, "%s: hidden %d is not a positive multiple of heads %d",
                        who, c->hidden, c->n_heads);
    if (c->intermediate < 1)
        return CTCD_ERR(CTCD_E_INVALID, "%s.intermediate = %d", who, c->intermediate);
    if (c->max_len < 2)
        return CTCD_ERR(CTCD_E_INVALID, "%s: max_len %d < 2", who, c->max_len);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return CTCD_ERR(CTCD_E_INVALID, "%s.dropout = %g not in [0, 1)", who, (double)c->dropout);
    if (c->enc_hidden != enc->hidden || c->vocab_size != enc->vocab_size)
        return CTCD_ERR(CTCD_E_INVALID,
                        "%s: built for an encoder with hidden %d / vocab %d, not %d / %d", who,
                        c->enc_hidden, c->vocab_size, enc->hidden, enc->vocab_size);
    if (c->tie_embeddings && c->hidden != enc->hidden)
        return CTCD_ERR(CTCD_E_INVALID,
                        "%s: hidden %d differs from the encoder's %d; tied embeddings need them "
                        "equal (set rationale.decoder.tie_embeddings: false for own embeddings)",
                        who, c->hidden, enc->hidden);
    const int ids[3] = {c->pad_id, c->bos_id, c->eos_id};
    for (int i = 0; i < 3; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab_size)
            return CTCD_ERR(CTCD_E_INVALID, "%s: special token id %d outside the vocabulary (%d)",
                            who, ids[i], c->vocab_size);
    if (c->out_vocab < 0 || c->out_vocab > c->vocab_size || (c->out_vocab && !c->out_ids))
        return CTCD_ERR(CTCD_E_INVALID, "%s: output shortlist of %d tokens (vocabulary %d)%s",
                        who, c->out_vocab, c->vocab_size, c->out_ids ? "" : " without its ids");
    int has_eos = c->out_vocab == 0;
    for (int i = 0; i < c->out_vocab; i++) {
        const int32_t v = c->out_ids[i];
        if (v < 0 || v >= c->vocab_size || (i && v <= c->out_ids[i - 1]))
            return CTCD_ERR(CTCD_E_INVALID, "%s: output shortlist entry %d (token %d) is outside "
                            "the vocabulary or out of order", who, i, v);
        has_eos |= v == c->eos_id;
    }
    if (!has_eos)
        return CTCD_ERR(CTCD_E_INVALID, "%s: the output shortlist lacks the end token %d", who,
                        c->eos_id);
    return CTCD_OK;
}

static int cmp_i32(const void *a, const void *b) {
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

ctcd_status ctcd_rationale_shortlist(const int32_t *tokens, int64_t n, int32_t always,
                                     int32_t vocab_size, int32_t **out, int *n_out) {
    *out = NULL;
    *n_out = 0;
    unsigned char *seen = calloc((size_t)vocab_size, 1);
    if (!seen) return CTCD_ERR(CTCD_E_NOMEM, "rationale shortlist: out of memory");
    int k = 0;
    if (always >= 0 && always < vocab_size) seen[always] = 1, k++;
    for (int64_t i = 0; i < n; i++) {
        const int32_t v = tokens[i];
        if (v < 0 || v >= vocab_size) {
            free(seen);
            return CTCD_ERR(CTCD_E_INVALID, "rationale shortlist: token %d outside the "
                            "vocabulary (%d)", v, vocab_size);
        }
        k += !seen[v];
        seen[v] = 1;
    }
    int32_t *ids = malloc((size_t)(k ? k : 1) * sizeof *ids);
    if (!ids) {
        free(seen);
        return CTCD_ERR(CTCD_E_NOMEM, "rationale shortlist: out of memory");
    }
    int j = 0;
    for (int32_t v = 0; v < vocab_size; v++)
        if (seen[v]) ids[j++] = v;
    free(seen);
    *out = ids;
    *n_out = k;
    return CTCD_OK;
}

int64_t ctcd_rationale_map_targets(const ctcd_rationale_decoder *d, int32_t *targets,
                                   int64_t n) {
    const int K = d->cfg.out_vocab;
    if (K == 0) return 0;
    int64_t missing = 0;
    for (int64_t i = 0; i < n; i++) {
        if (targets[i] < 0) continue;
        const int32_t *hit = bsearch(&targets[i], d->out_ids, (size_t)K, sizeof *hit, cmp_i32);
        targets[i] = hit ? (int32_t)(hit - d->out_ids) : -1;
        missing += !hit;
    }
    return missing;
}

/* ---- layout ---- */

typedef struct builder {
    ctcd_rat_layout *lay;
    ctcd_param_builder pb;
} builder;

/* Appends a named tensor at the next aligned offset (model.h) and returns that offset. The
 * decoder's fused operands (self_attn.qkv, cross_attn.kv) are single tensors, so nothing
 * here needs ctcd_param_add_next. */
static int64_t add(builder *b, int decay, int64_t rows, int64_t cols, const char *fmt, int l) {
    return ctcd_param_add(&b->pb, decay, rows, cols, fmt, l);
}

#define DP "decoder.layer.%d."

static ctcd_status layout_build(const ctcd_rationale_config *c, ctcd_rat_layout *lay) {
    memset(lay, 0, sizeof *lay);
    builder b = {lay, {.params = &lay->params, .n_params = &lay->n_params,
                       .n_total = &lay->n_total, .n_real = &lay->n_params_real,
                       .what = "the decoder's parameters"}};
    const int64_t H = c->hidden, A = c->hidden, I = c->intermediate, He = c->enc_hidden;
    lay->wte = c->tie_embeddings ? -1 : add(&b, 1, c->vocab_size, H, "decoder.embed_tokens.weight", 0);
    lay->wpe = add(&b, 1, c->max_len, H, "decoder.embed_positions.weight", 0);
    for (int l = 0; l < c->n_layers; l++) {
        ctcd_rat_layer_offsets *o = &lay->layer[l];
        o->qkv_w = add(&b, 1, 3 * A, H, DP "self_attn.qkv.weight", l);
        o->ao_w = add(&b, 1, H, A, DP "self_attn.out.weight", l);
        o->q2_w = add(&b, 1, A, H, DP "cross_attn.q.weight", l);
        o->kv2_w = add(&b, 1, 2 * A, He, DP "cross_attn.kv.weight", l);
        o->ao2_w = add(&b, 1, H, A, DP "cross_attn.out.weight", l);
        o->fc1_w = add(&b, 1, I, H, DP "ffn.fc1.weight", l);
        o->fc2_w = add(&b, 1, H, I, DP "ffn.fc2.weight", l);
    }
    lay->lm_w = c->out_vocab ? add(&b, 1, c->out_vocab, H, "decoder.lm_head.weight", 0) : -1;
    lay->n_decay = lay->n_total;
    lay->wtt = add(&b, 0, 1, H, "decoder.embed_type.weight", 0);
    lay->emb_ln_g = add(&b, 0, H, 0, "decoder.embed_LayerNorm.weight", 0);
    lay->emb_ln_b = add(&b, 0, H, 0, "decoder.embed_LayerNorm.bias", 0);
    for (int l = 0; l < c->n_layers; l++) {
        ctcd_rat_layer_offsets *o = &lay->layer[l];
        o->qkv_b = add(&b, 0, 3 * A, 0, DP "self_attn.qkv.bias", l);
        o->ao_b = add(&b, 0, H, 0, DP "self_attn.out.bias", l);
        o->ln1_g = add(&b, 0, H, 0, DP "self_attn_LayerNorm.weight", l);
        o->ln1_b = add(&b, 0, H, 0, DP "self_attn_LayerNorm.bias", l);
        o->q2_b = add(&b, 0, A, 0, DP "cross_attn.q.bias", l);
        o->kv2_b = add(&b, 0, 2 * A, 0, DP "cross_attn.kv.bias", l);
        o->ao2_b = add(&b, 0, H, 0, DP "cross_attn.out.bias", l);
        o->ln2_g = add(&b, 0, H, 0, DP "cross_attn_LayerNorm.weight", l);
        o->ln2_b = add(&b, 0, H, 0, DP "cross_attn_LayerNorm.bias", l);
        o->fc1_b = add(&b, 0, I, 0, DP "ffn.fc1.bias", l);
        o->fc2_b = add(&b, 0, H, 0, DP "ffn.fc2.bias", l);
        o->ln3_g = add(&b, 0, H, 0, DP "ffn_LayerNorm.weight", l);
        o->ln3_b = add(&b, 0, H, 0, DP "ffn_LayerNorm.bias", l);
    }
    lay->lm_bias = add(&b, 0, c->out_vocab ? c->out_vocab : c->vocab_size, 0,
                       "decoder.lm_head.bias", 0);
    if (b.pb.err) {
        free(lay->params);
        lay->params = NULL;
    }
    return b.pb.err;
}

const ctcd_param_info *ctcd_rationale_find(const ctcd_rationale_decoder *d, const char *name) {
    for (int i = 0; i < d->lay.n_params; i++)
        if (strcmp(d->lay.params[i].name, name) == 0) return &d->lay.params[i];
    return NULL;
}

/* ---- activations ---- */

static size_t max_z(size_t a, size_t b) { return a > b ? a : b; }

static ctcd_status layout_acts(ctcd_rationale_decoder *d, ctcd_arena *a) {
    const ctcd_rationale_config *c = &d->cfg;
    ctcd_backend *be = d->be;
    const size_t es = ctcd_dtype_size(be->act_dtype);
    const size_t BT = (size_t)d->B_max * (size_t)d->T_max;
    const size_t BE = (size_t)d->B_max * (size_t)d->Te_max;
    const size_t H = (size_t)c->hidden, A = H, I = (size_t)c->intermediate;
    const size_t V = (size_t)ctcd_rationale_classes(d);
    const ctcd_attn_shape self = {d->B_max, d->T_max, d->T_max, c->n_heads,
                                  c->hidden / c->n_heads, 3 * (int64_t)A, 3 * (int64_t)A, 1};
    const ctcd_attn_shape cross = {d->B_max, d->T_max, d->Te_max, c->n_heads,
                                   c->hidden / c->n_heads, (int64_t)A, 2 * (int64_t)A, 0};
    ctcd_rat_acts *x = &d->acts;
#define A_(ptr, bytes, what) CTCD_TRY(ctcd_arena_alloc(a, (bytes), (what), (void **)&(ptr)))
    A_(x->types, BT * 4, "decoder type ids");
    A_(x->emb_sum, BT * H * es, "decoder embedding sum");
    A_(x->emb_mean, BT * 4, "decoder embedding LN mean");
    A_(x->emb_rstd, BT * 4, "decoder embedding LN rstd");
    for (int l = 0; l <= c->n_layers; l++) A_(x->h[l], BT * H * es, "decoder hidden states");
    for (int l = 0; l < c->n_layers; l++) {
        ctcd_rat_layer_acts *y = &x->layer[l];
        A_(y->qkv, BT * 3 * A * es, "decoder qkv");
        A_(y->att_aux, be->attn_aux_bytes(be, &self), "decoder self-attention state");
        A_(y->ctx, BT * A * es, "decoder self-attention context");
        A_(y->s1, BT * H * es, "decoder residual 1");
        A_(y->x1, BT * H * es, "decoder LN1 output");
        A_(y->mean1, BT * 4, "decoder LN1 mean");
        A_(y->rstd1, BT * 4, "decoder LN1 rstd");
        A_(y->q2, BT * A * es, "decoder cross query");
        A_(y->kv2, BE * 2 * A * es, "decoder cross key/value");
        A_(y->att2_aux, be->attn_aux_bytes(be, &cross), "decoder cross-attention state");
        A_(y->ctx2, BT * A * es, "decoder cross-attention context");
        A_(y->s2, BT * H * es, "decoder residual 2");
        A_(y->x2, BT * H * es, "decoder LN2 output");
        A_(y->mean2, BT * 4, "decoder LN2 mean");
        A_(y->rstd2, BT * 4, "decoder LN2 rstd");
        A_(y->fc1_pre, BT * I * es, "decoder FFN pre-activation");
        A_(y->fc1_out, BT * I * es, "decoder FFN activation");
        A_(y->s3, BT * H * es, "decoder residual 3");
        A_(y->mean3, BT * 4, "decoder LN3 mean");
        A_(y->rstd3, BT * 4, "decoder LN3 rstd");
    }
    A_(x->branch, BT * H * es, "decoder branch output");
    A_(x->logits, BT * V * es, "decoder logits");
    A_(x->dlogits, BT * V * es, "decoder logit gradients");
    A_(x->terms, CTCD_LOSS_NTERMS * 4, "decoder loss terms");
    A_(x->ga, BT * H * es, "decoder hidden gradient");
    A_(x->gb, BT * H * es, "decoder hidden gradient");
    A_(x->dtmp, BT * H * es, "decoder branch gradient");
    A_(x->dctx, BT * A * es, "decoder context gradient");
    A_(x->dbig, BT * max_z(I, 3 * A) * es, "decoder wide gradient");
    A_(x->dkv, BE * 2 * A * es, "decoder cross key/value gradient");
#undef A_
    return CTCD_OK;
}

static ctcd_status layout_acts_cb(void *d, ctcd_arena *a) { return layout_acts(d, a); }

ctcd_status ctcd_rationale_create(ctcd_backend *be, const ctcd_rationale_config *cfg,
                                  const ctcd_bert_config *enc, int B_max, int T_max,
                                  int Te_max, ctcd_rationale_decoder **out) {
    *out = NULL;
    CTCD_TRY(ctcd_rationale_config_validate(cfg, enc, "rationale.decoder"));
    if (B_max < 1 || T_max < 1 || Te_max < 1 || T_max > cfg->max_len)
        return CTCD_ERR(CTCD_E_INVALID,
                        "rationale decoder: capacity B %d, T %d (max_len %d), Te %d", B_max,
                        T_max, cfg->max_len, Te_max);
    ctcd_rationale_decoder *d = calloc(1, sizeof *d);
    if (!d) return CTCD_ERR(CTCD_E_NOMEM, "rationale decoder: out of memory");
    d->cfg = *cfg;
    d->be = be;
    d->B_max = B_max;
    d->T_max = T_max;
    d->Te_max = Te_max;
    d->dropout_seed = 0x7261746eULL; /* "ratn"; the trainer sets its own */
    ctcd_status st = CTCD_OK;
    if (cfg->out_vocab) {
        d->out_ids = malloc((size_t)cfg->out_vocab * sizeof *d->out_ids);
        if (!d->out_ids) st = CTCD_ERR(CTCD_E_NOMEM, "rationale decoder: out of memory");
        else memcpy(d->out_ids, cfg->out_ids, (size_t)cfg->out_vocab * sizeof *d->out_ids);
    }
    d->cfg.out_ids = d->out_ids;
    if (!st) st = layout_build(cfg, &d->lay);
    if (!st)
        st = ctcd_param_set_alloc(&d->ps, be, "rationale decoder", "decoder ", d->lay.params,
                                  d->lay.n_params, d->lay.n_total, d->lay.n_decay);
    if (!st)
        st = ctcd_arena_layout_alloc(be, "decoder activations", layout_acts_cb, d, &d->act_mem,
                                     &d->act_bytes);
    if (!st) st = be->memzero(be, d->acts.types, (size_t)B_max * T_max * 4);
    if (!st && be->reserve) {
        /* the backend's op scratch for the largest batch: target and encoder rows */
        const int64_t rows = (int64_t)B_max * (T_max > Te_max ? T_max : Te_max);
        ctcd_reserve_hint h = {rows, 3 * (int64_t)cfg->hidden, cfg->n_heads};
        const int64_t cols[3] = {cfg->intermediate, cfg->enc_hidden,
                                 cfg->out_vocab > 0 ? cfg->out_vocab : cfg->vocab_size};
        for (int i = 0; i < 3; i++) h.cols = cols[i] > h.cols ? cols[i] : h.cols;
        st = be->reserve(be, &h);
    }
    if (st) {
        ctcd_rationale_destroy(d);
        return ctcd_error_wrap(st, "creating the rationale decoder");
    }
    *out = d;
    return CTCD_OK;
}

void ctcd_rationale_destroy(ctcd_rationale_decoder *d) {
    if (!d) return;
    ctcd_backend *be = d->be;
    ctcd_param_set_free(&d->ps);
    be->free(be, d->act_mem);
    free(d->lay.params);
    free(d->out_ids);
    free(d);
}

size_t ctcd_rationale_mem_bytes(const ctcd_rationale_decoder *d) {
    return d->ps.bytes + d->act_bytes;
}

ctcd_status ctcd_rationale_init_random(ctcd_rationale_decoder *d, uint64_t seed) {
    const int64_t pad_row =
        d->lay.wte >= 0 ? d->lay.wte + (int64_t)d->cfg.pad_id * d->cfg.hidden : -1;
    return ctcd_params_init_bert(&d->ps, seed, 0x7261, d->cfg.initializer_range, pad_row,
                                 d->cfg.hidden);
}

ctcd_status ctcd_rationale_zero_grad(ctcd_rationale_decoder *d) {
    return ctcd_param_set_zero_grad(&d->ps);
}

ctcd_status ctcd_rationale_optimizer_step(ctcd_rationale_decoder *d,
                                          const ctcd_adamw_hparams *h, float *grad_norm_out) {
    return ctcd_param_set_optimizer_step(&d->ps, h, grad_norm_out);
}

ctcd_status ctcd_rationale_download_params(const ctcd_rationale_decoder *d, float *host) {
    return ctcd_param_set_download(&d->ps, host);
}

ctcd_status ctcd_rationale_upload_params(ctcd_rationale_decoder *d, const float *host) {
    return ctcd_param_set_upload(&d->ps, host);
}
