/* rationale_decoder.c — the rationale decoder's teacher-forced forward, token cross-entropy
 * and backward over the backend op table (include/ctcd/rationale.h has the equations).
 *
 * The backward is the exact reverse of the forward. Each layer has three post-LN
 * sub-blocks, so the residual-stream gradient ends a layer in the other of two buffers
 * (ga, gb): the functions below pass it along as `g` and return where it ended. The
 * cross-attention's key/value projection is the decoder's only reader of the encoder output;
 * its input gradient is accumulated straight into the caller's d_enc. */
#include <string.h>

#include "ctcd/rationale.h"

/* Dropout sites: (step, RAT_LAYER0 + layer, op); RAT_LAYER0 keeps them apart from the
 * encoder's (layer < CTCD_MAX_LAYERS) even when both share a seed. */
enum { RAT_LAYER0 = 1000 };
enum { RS_EMB = 0, RS_SELF_PROBS, RS_SELF_OUT, RS_CROSS_PROBS, RS_CROSS_OUT, RS_FFN_OUT };

static ctcd_dropout_key rkey(const ctcd_rationale_decoder *d, int64_t step, int l, int op) {
    ctcd_dropout_key k = {d->dropout_seed, ctcd_dropout_site((uint64_t)step,
                                                             (uint32_t)(RAT_LAYER0 + l),
                                                             (uint32_t)op)};
    return k;
}

static void *at(const ctcd_rationale_decoder *d, void *base, int64_t off) {
    return (char *)base + (size_t)off * ctcd_dtype_size(d->be->act_dtype);
}
static void *W(const ctcd_rationale_decoder *d, int64_t off) { return at(d, d->ps.params, off); }
static float *G(const ctcd_rationale_decoder *d, int64_t off) { return d->ps.grads + off; }

/* Word embeddings (V, H): the encoder's when tied. */
static const void *wte_w(const ctcd_rationale_decoder *d, const ctcd_model *emb) {
    if (d->lay.wte >= 0) return W(d, d->lay.wte);
    return (const char *)emb->ps.params + (size_t)emb->lay.wte * ctcd_dtype_size(d->be->act_dtype);
}
static float *wte_g(const ctcd_rationale_decoder *d, ctcd_model *emb) {
    return d->lay.wte >= 0 ? G(d, d->lay.wte) : emb->ps.grads + emb->lay.wte;
}

/* LM head weight (classes, H) and its gradient: the shortlist head, else the embeddings. */
static const void *head_w(const ctcd_rationale_decoder *d, const ctcd_model *emb) {
    return d->lay.lm_w >= 0 ? W(d, d->lay.lm_w) : wte_w(d, emb);
}
static float *head_g(const ctcd_rationale_decoder *d, ctcd_model *emb) {
    return d->lay.lm_w >= 0 ? G(d, d->lay.lm_w) : wte_g(d, emb);
}

static ctcd_attn_shape self_shape(const ctcd_rationale_decoder *d, int B, int T) {
    const int NH = d->cfg.n_heads, HD = d->cfg.hidden / NH, A = d->cfg.hidden;
    const ctcd_attn_shape s = {B, T, T, NH, HD, 3 * (int64_t)A, 3 * (int64_t)A, 1};
    return s;
}
static ctcd_attn_shape cross_shape(const ctcd_rationale_decoder *d, int B, int T, int Te) {
    const int NH = d->cfg.n_heads, HD = d->cfg.hidden / NH, A = d->cfg.hidden;
    const ctcd_attn_shape s = {B, T, Te, NH, HD, (int64_t)A, 2 * (int64_t)A, 0};
    return s;
}

static ctcd_status check_batch(const ctcd_rationale_decoder *d, const ctcd_model *emb, int B,
                               int T, int Te) {
    if (B < 1 || T < 1 || Te < 1 || B > d->B_max || T > d->T_max || Te > d->Te_max)
        return CTCD_ERR(CTCD_E_INVALID,
                        "rationale decoder: batch B %d, T %d, Te %d exceeds capacity %d, %d, %d",
                        B, T, Te, d->B_max, d->T_max, d->Te_max);
    if (d->lay.wte < 0 && !emb)
        return CTCD_ERR(CTCD_E_INVALID, "rationale decoder: tied embeddings need the encoder");
    return CTCD_OK;
}

static ctcd_status layer_fwd(ctcd_rationale_decoder *d, const void *enc, const int32_t *mask,
                             int B, int T, int Te, int l, float p, int64_t step) {
    ctcd_backend *be = d->be;
    const ctcd_rat_layer_offsets *o = &d->lay.layer[l];
    ctcd_rat_layer_acts *y = &d->acts.layer[l];
    const int64_t BT = (int64_t)B * T, BE = (int64_t)B * Te;
    const int H = d->cfg.hidden, A = H, I = d->cfg.intermediate, He = d->cfg.enc_hidden;
    const size_t es = ctcd_dtype_size(be->act_dtype);
    void *x = d->acts.h[l], *br = d->acts.branch;
    const ctcd_attn_shape ss = self_shape(d, B, T), cs = cross_shape(d, B, T, Te);

    /* causal self-attention */
    CTCD_TRY(be->matmul_fwd(be, y->qkv, NULL, x, W(d, o->qkv_w), W(d, o->qkv_b), BT, H, 3 * A,
                            CTCD_ACT_NONE));
    const char *qkv = y->qkv;
    CTCD_TRY(be->attn_fwd(be, y->ctx, y->att_aux, qkv, qkv + A * es, qkv + 2 * A * es, NULL, &ss,
                          p, rkey(d, step, l, RS_SELF_PROBS)));
    CTCD_TRY(be->matmul_fwd(be, br, NULL, y->ctx, W(d, o->ao_w), W(d, o->ao_b), BT, A, H,
                            CTCD_ACT_NONE));
    CTCD_TRY(be->dropout_layernorm_fwd(be, y->x1, y->s1, y->mean1, y->rstd1, br, x,
                                       W(d, o->ln1_g), W(d, o->ln1_b), BT, H, d->cfg.ln_eps, p,
                                       rkey(d, step, l, RS_SELF_OUT)));
    /* cross-attention to the encoder output */
    CTCD_TRY(be->matmul_fwd(be, y->q2, NULL, y->x1, W(d, o->q2_w), W(d, o->q2_b), BT, H, A,
                            CTCD_ACT_NONE));
    CTCD_TRY(be->matmul_fwd(be, y->kv2, NULL, enc, W(d, o->kv2_w), W(d, o->kv2_b), BE, He,
                            2 * A, CTCD_ACT_NONE));
    const char *kv = y->kv2;
    CTCD_TRY(be->attn_fwd(be, y->ctx2, y->att2_aux, y->q2, kv, kv + A * es, mask, &cs, p,
                          rkey(d, step, l, RS_CROSS_PROBS)));
    CTCD_TRY(be->matmul_fwd(be, br, NULL, y->ctx2, W(d, o->ao2_w), W(d, o->ao2_b), BT, A, H,
                            CTCD_ACT_NONE));
    CTCD_TRY(be->dropout_layernorm_fwd(be, y->x2, y->s2, y->mean2, y->rstd2, br, y->x1,
                                       W(d, o->ln2_g), W(d, o->ln2_b), BT, H, d->cfg.ln_eps, p,
                                       rkey(d, step, l, RS_CROSS_OUT)));
    /* FFN */
    CTCD_TRY(be->matmul_fwd(be, y->fc1_out, y->fc1_pre, y->x2, W(d, o->fc1_w), W(d, o->fc1_b),
                            BT, H, I, CTCD_ACT_GELU));
    CTCD_TRY(be->matmul_fwd(be, br, NULL, y->fc1_out, W(d, o->fc2_w), W(d, o->fc2_b), BT, I, H,
                            CTCD_ACT_NONE));
    CTCD_TRY(be->dropout_layernorm_fwd(be, d->acts.h[l + 1], y->s3, y->mean3, y->rstd3, br,
                                       y->x2, W(d, o->ln3_g), W(d, o->ln3_b), BT, H,
                                       d->cfg.ln_eps, p, rkey(d, step, l, RS_FFN_OUT)));
    return CTCD_OK;
}

ctcd_status ctcd_rationale_forward(ctcd_rationale_decoder *d, const ctcd_model *emb,
                                   const void *enc, const int32_t *enc_mask, int Te,
                                   const ctcd_rat_batch_dev *rb, int train, int64_t step) {
    ctcd_backend *be = d->be;
    const int B = rb->B, T = rb->T, H = d->cfg.hidden;
    CTCD_TRY(check_batch(d, emb, B, T, Te));
    const int64_t BT = (int64_t)B * T;
    const float p = train ? d->cfg.dropout : 0.0f;
    ctcd_rat_acts *x = &d->acts;
    CTCD_TRY(be->embedding_layernorm_fwd(be, x->h[0], x->emb_sum, x->emb_mean, x->emb_rstd,
                                         rb->ids, x->types, wte_w(d, emb), W(d, d->lay.wpe),
                                         W(d, d->lay.wtt), W(d, d->lay.emb_ln_g),
                                         W(d, d->lay.emb_ln_b), B, T, H, d->cfg.ln_eps, p,
                                         rkey(d, step, 0, RS_EMB)));
    for (int l = 0; l < d->cfg.n_layers; l++)
        CTCD_TRY(layer_fwd(d, enc, enc_mask, B, T, Te, l, p, step));
    /* LM head: logits = h_L · wteᵀ + lm_bias (or the shortlist head's weight) */
    return be->matmul_fwd(be, x->logits, NULL, x->h[d->cfg.n_layers], head_w(d, emb),
                          W(d, d->lay.lm_bias), BT, H, ctcd_rationale_classes(d),
                          CTCD_ACT_NONE);
}

/* The fused loss over the token rows of n (1 or 2) decoders' last forwards: CE with weight
 * `weight` and, for a pair, the token-level KL to the peer with weight `mutual` (padding
 * rows excluded). Terms land in d[0]'s acts.terms. */
static ctcd_status token_loss(ctcd_rationale_decoder *const *d, int n,
                              const ctcd_rat_batch_dev *rb, float weight, float mutual,
                              float *loss_out, float *kl_out) {
    ctcd_backend *be = d[0]->be;
    ctcd_loss_desc desc = {0};
    desc.kind = CTCD_LOSS_CE_KL;
    desc.n_models = n;
    desc.rows = (int64_t)rb->B * rb->T;
    desc.classes = ctcd_rationale_classes(d[0]);
    desc.temperature = 1.0f;
    desc.soft_labelled_only = 1;
    ctcd_loss_io io = {0};
    for (int m = 0; m < n; m++) {
        if (ctcd_rationale_classes(d[m]) != desc.classes ||
            (d[m]->out_ids && memcmp(d[m]->out_ids, d[0]->out_ids,
                                     (size_t)desc.classes * sizeof *d[0]->out_ids)))
            return CTCD_ERR(CTCD_E_INVALID, "rationale decoders: output vocabularies differ "
                            "(%d vs %d classes)", desc.classes, ctcd_rationale_classes(d[m]));
        desc.hard_w[m] = weight;
        desc.mutual_w[m] = n == 2 ? mutual : 0.0f;
        io.logits[m] = d[m]->acts.logits;
        io.dlogits[m] = d[m]->acts.dlogits;
    }
    io.labels = rb->targets;
    io.terms = d[0]->acts.terms;
    CTCD_TRY(be->loss(be, &desc, &io));
    if (loss_out || kl_out) {
        float t[CTCD_LOSS_NTERMS];
        CTCD_TRY(be->download(be, t, d[0]->acts.terms, sizeof t));
        for (int m = 0; m < n; m++) {
            if (loss_out) loss_out[m] = t[CTCD_TERM_HARD0 + m];
            if (kl_out) kl_out[m] = t[CTCD_TERM_MUTUAL0 + m];
        }
    }
    return CTCD_OK;
}

ctcd_status ctcd_rationale_loss(ctcd_rationale_decoder *d, const ctcd_rat_batch_dev *rb,
                                float weight, float *loss_out) {
    return token_loss(&d, 1, rb, weight, 0.0f, loss_out, NULL);
}

ctcd_status ctcd_rationale_loss_pair(ctcd_rationale_decoder *const d[2],
                                     const ctcd_rat_batch_dev *rb, float weight, float mutual,
                                     float loss_out[2], float kl_out[2]) {
    return token_loss(d, 2, rb, weight, mutual, loss_out, kl_out);
}

/* One layer backward. On entry *g holds ∂L/∂(layer output); on return *g holds ∂L/∂(layer
 * input) (ga and gb swap). ∂L/∂enc is accumulated into d_enc. */
static ctcd_status layer_bwd(ctcd_rationale_decoder *d, const void *enc, void *d_enc,
                             const int32_t *mask, int B, int T, int Te, int l, float p,
                             int64_t step, void **g, void **r) {
    ctcd_backend *be = d->be;
    const ctcd_rat_layer_offsets *o = &d->lay.layer[l];
    ctcd_rat_layer_acts *y = &d->acts.layer[l];
    ctcd_rat_acts *x = &d->acts;
    const int64_t BT = (int64_t)B * T, BE = (int64_t)B * Te;
    const int H = d->cfg.hidden, A = H, I = d->cfg.intermediate, He = d->cfg.enc_hidden;
    const size_t es = ctcd_dtype_size(be->act_dtype);
    const ctcd_attn_shape ss = self_shape(d, B, T), cs = cross_shape(d, B, T, Te);
    void *gh = *g, *gr = *r;

    /* FFN: gh = ∂L/∂out → gr = ds3 (feeds the FFN branch and x2) */
    CTCD_TRY(be->dropout_layernorm_bwd(be, x->dtmp, gr, G(d, o->ln3_g), G(d, o->ln3_b), gh,
                                       y->s3, y->mean3, y->rstd3, W(d, o->ln3_g), BT, H,
                                       p, rkey(d, step, l, RS_FFN_OUT)));
    CTCD_TRY(be->matmul_bwd(be, x->dbig, G(d, o->fc2_w), G(d, o->fc2_b), x->dtmp, y->fc1_out,
                            W(d, o->fc2_w), BT, I, H, 0));
    CTCD_TRY(be->gelu_bwd(be, x->dbig, y->fc1_pre, x->dbig, BT * I));
    CTCD_TRY(be->matmul_bwd(be, gr, G(d, o->fc1_w), G(d, o->fc1_b), x->dbig, y->x2,
                            W(d, o->fc1_w), BT, H, I, 1)); /* gr = ∂L/∂x2 */
    /* cross-attention: gh = ds2 */
    CTCD_TRY(be->dropout_layernorm_bwd(be, x->dtmp, gh, G(d, o->ln2_g), G(d, o->ln2_b), gr,
                                       y->s2, y->mean2, y->rstd2, W(d, o->ln2_g), BT, H,
                                       p, rkey(d, step, l, RS_CROSS_OUT)));
    CTCD_TRY(be->matmul_bwd(be, x->dctx, G(d, o->ao2_w), G(d, o->ao2_b), x->dtmp, y->ctx2,
                            W(d, o->ao2_w), BT, A, H, 0));
    const char *kv = y->kv2;
    char *dkv = x->dkv;
    CTCD_TRY(be->attn_bwd(be, x->dbig, dkv, dkv + A * es, x->dctx, y->q2, kv, kv + A * es,
                          y->att2_aux, mask, &cs, p, rkey(d, step, l, RS_CROSS_PROBS)));
    CTCD_TRY(be->matmul_bwd(be, d_enc, G(d, o->kv2_w), G(d, o->kv2_b), x->dkv, enc,
                            W(d, o->kv2_w), BE, He, 2 * A, 1));
    CTCD_TRY(be->matmul_bwd(be, gh, G(d, o->q2_w), G(d, o->q2_b), x->dbig, y->x1,
                            W(d, o->q2_w), BT, H, A, 1)); /* gh = ∂L/∂x1 */
    /* causal self-attention: gr = ds1 */
    CTCD_TRY(be->dropout_layernorm_bwd(be, x->dtmp, gr, G(d, o->ln1_g), G(d, o->ln1_b), gh,
                                       y->s1, y->mean1, y->rstd1, W(d, o->ln1_g), BT, H,
                                       p, rkey(d, step, l, RS_SELF_OUT)));
    CTCD_TRY(be->matmul_bwd(be, x->dctx, G(d, o->ao_w), G(d, o->ao_b), x->dtmp, y->ctx,
                            W(d, o->ao_w), BT, A, H, 0));
    const char *qkv = y->qkv;
    char *dqkv = x->dbig;
    CTCD_TRY(be->attn_bwd(be, dqkv, dqkv + A * es, dqkv + 2 * A * es, x->dctx, qkv, qkv + A * es,
                          qkv + 2 * A * es, y->att_aux, NULL, &ss, p,
                          rkey(d, step, l, RS_SELF_PROBS)));
    CTCD_TRY(be->matmul_bwd(be, gr, G(d, o->qkv_w), G(d, o->qkv_b), x->dbig, d->acts.h[l],
                            W(d, o->qkv_w), BT, H, 3 * A, 1)); /* gr = ∂L/∂x */
    *g = gr;
    *r = gh;
    return CTCD_OK;
}

ctcd_status ctcd_rationale_backward(ctcd_rationale_decoder *d, ctcd_model *emb,
                                    const void *enc, void *d_enc, const int32_t *enc_mask,
                                    int Te, const ctcd_rat_batch_dev *rb, int64_t step) {
    ctcd_backend *be = d->be;
    const int B = rb->B, T = rb->T, H = d->cfg.hidden;
    CTCD_TRY(check_batch(d, emb, B, T, Te));
    if (d->lay.wte < 0 && !emb->ps.grads)
        return CTCD_ERR(CTCD_E_INVALID, "rationale decoder: tied to a frozen encoder");
    const int64_t BT = (int64_t)B * T;
    const float p = d->cfg.dropout;
    ctcd_rat_acts *x = &d->acts;
    void *g = x->ga, *r = x->gb;
    /* LM head: g = ∂L/∂h_L; the tied weight's gradient goes to the encoder's wte. */
    CTCD_TRY(be->matmul_bwd(be, g, head_g(d, emb), G(d, d->lay.lm_bias), x->dlogits,
                            x->h[d->cfg.n_layers], head_w(d, emb), BT, H,
                            ctcd_rationale_classes(d), 0));
    for (int l = d->cfg.n_layers - 1; l >= 0; l--)
        CTCD_TRY(layer_bwd(d, enc, d_enc, enc_mask, B, T, Te, l, p, step, &g, &r));
    return be->embedding_layernorm_bwd(be, wte_g(d, emb), G(d, d->lay.wpe), G(d, d->lay.wtt),
                                       G(d, d->lay.emb_ln_g), G(d, d->lay.emb_ln_b), g, r,
                                       x->emb_sum, x->emb_mean, x->emb_rstd,
                                       W(d, d->lay.emb_ln_g), rb->ids, x->types, B, T, H, p,
                                       rkey(d, step, 0, RS_EMB));
}
