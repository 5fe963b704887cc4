/* bert_backward.c — the BERT backward pass, the exact reverse of bert_forward.c.
 *
 * Gradient buffers (m->acts): dh carries ∂L/∂h of the residual stream between layers;
 * dres/dtmp/dbig are per-layer scratch. The input-gradient of each residual branch is
 * accumulated straight into the residual gradient by the matmul (accumulate flag), so no
 * separate add is needed. Parameter gradients accumulate into m->ps.grads. */
#include "bert_graph.h"

static ctcd_status encoder_layer_bwd(ctcd_model *m, const ctcd_batch_dev *b, int l, float p_hid,
                                     float p_att, int64_t step) {
    ctcd_backend *be = m->be;
    const ctcd_bert_config *c = &m->cfg;
    const ctcd_layer_offsets *o = &m->lay.layer[l];
    ctcd_layer_acts *y = &m->acts.layer[l];
    ctcd_model_acts *x = &m->acts;
    const int64_t BT = (int64_t)b->B * b->T;
    const int H = c->hidden, NH = c->layer_heads[l], HD = c->head_dim, A = NH * HD;
    const int I = c->layer_intermediate[l];

    /* dh = ∂L/∂h_{l+1} → ds2 (in dres), which feeds h1; its dropout (in dtmp) feeds the FFN. */
    CTCD_TRY(be->dropout_layernorm_bwd(be, x->dtmp, x->dres, bert_g(m, o->ln2_g),
                                       bert_g(m, o->ln2_b), x->dh, y->s2, y->mean2, y->rstd2,
                                       bert_w(m, o->ln2_g), BT, H, p_hid,
                                       bert_key(m, step, l, SITE_FFN_OUT)));
    const ctcd_model_masks *mk = m->masks;
    const void *act = y->fc1_out, *ctx = y->ctx; /* what the output projections read */
    if (mk) {
        CTCD_TRY(be->unit_mask_fwd(be, mk->scratch, y->fc1_out, mk->ffn + m->ffn_off[l], BT, I,
                                   1));
        act = mk->scratch;
    }
    CTCD_TRY(be->matmul_bwd(be, x->dbig, bert_g(m, o->fc2_w), bert_g(m, o->fc2_b), x->dtmp, act,
                            bert_w(m, o->fc2_w), BT, I, H, 0));
    if (mk)
        CTCD_TRY(be->unit_mask_bwd(be, x->dbig, mk->ffn_grad + m->ffn_off[l], x->dbig,
                                   y->fc1_out, mk->ffn + m->ffn_off[l], BT, I, 1));
    CTCD_TRY(be->gelu_bwd(be, x->dbig, y->fc1_pre, x->dbig, BT * I));
    /* dres += ∂L/∂h1 through the FFN: dres is now the full gradient of h1. */
    CTCD_TRY(be->matmul_bwd(be, x->dres, bert_g(m, o->fc1_w), bert_g(m, o->fc1_b), x->dbig,
                            y->h1, bert_w(m, o->fc1_w), BT, H, I, 1));
    /* ds1 (in dh), which feeds h_l; its dropout (in dtmp) feeds the attention branch. */
    CTCD_TRY(be->dropout_layernorm_bwd(be, x->dtmp, x->dh, bert_g(m, o->ln1_g),
                                       bert_g(m, o->ln1_b), x->dres, y->s1, y->mean1, y->rstd1,
                                       bert_w(m, o->ln1_g), BT, H, p_hid,
                                       bert_key(m, step, l, SITE_ATTN_OUT)));
    if (mk) {
        CTCD_TRY(be->unit_mask_fwd(be, mk->scratch, y->ctx, mk->head + m->head_off[l], BT, NH,
                                   HD));
        ctx = mk->scratch;
    }
    CTCD_TRY(be->matmul_bwd(be, x->dres, bert_g(m, o->ao_w), bert_g(m, o->ao_b), x->dtmp, ctx,
                            bert_w(m, o->ao_w), BT, A, H, 0));
    if (mk)
        CTCD_TRY(be->unit_mask_bwd(be, x->dres, mk->head_grad + m->head_off[l], x->dres, y->ctx,
                                   mk->head + m->head_off[l], BT, NH, HD));
    CTCD_TRY(be->attention_bwd(be, x->dbig, x->dres, y->qkv, y->att_aux, b->mask, b->B, b->T,
                               NH, HD, p_att, bert_key(m, step, l, SITE_ATTN_PROBS)));
    /* dh += ∂L/∂h_l through attention: dh is now the full gradient of h_l. */
    CTCD_TRY(be->matmul_bwd(be, x->dh, bert_g(m, o->qkv_w), bert_g(m, o->qkv_b), x->dbig,
                            x->h[l], bert_w(m, o->qkv_w), BT, H, 3 * A, 1));
    return CTCD_OK;
}

static ctcd_status check_trainable(const ctcd_model *m) {
    return m->ps.frozen ? ctcd_param_set_frozen_error(&m->ps, "backward") : CTCD_OK;
}

ctcd_status ctcd_model_backward_head(ctcd_model *m, const ctcd_batch_dev *b, int64_t step) {
    CTCD_TRY(check_trainable(m));
    CTCD_TRY(bert_head_bwd(m, b, m->cfg.hidden_dropout, step));
    /* an extra gradient on the final hidden states (MiniDisc's hidden-state MSE) */
    if (m->dh_extra)
        CTCD_TRY(m->be->scatter_add_rows(m->be, m->acts.dh, m->dh_extra, m->dh_rows,
                                         (int64_t)b->B * b->T, m->cfg.hidden));
    return CTCD_OK;
}

ctcd_status ctcd_model_backward_encoder(ctcd_model *m, const ctcd_batch_dev *b, int64_t step) {
    CTCD_TRY(check_trainable(m));
    ctcd_backend *be = m->be;
    const ctcd_bert_config *c = &m->cfg;
    const ctcd_model_layout *lay = &m->lay;
    ctcd_model_acts *x = &m->acts;
    const int H = c->hidden;
    const float p_hid = c->hidden_dropout, p_att = c->attn_dropout;

    for (int l = c->n_layers - 1; l >= 0; l--)
        CTCD_TRY(encoder_layer_bwd(m, b, l, p_hid, p_att, step));

    /* Embeddings: dropout, LayerNorm (its input was the embedding sum), lookup tables; dh is
     * scratch afterwards. */
    CTCD_TRY(be->embedding_layernorm_bwd(be, bert_g(m, lay->wte), bert_g(m, lay->wpe),
                                         bert_g(m, lay->wtt), bert_g(m, lay->emb_ln_g),
                                         bert_g(m, lay->emb_ln_b), x->dh, x->dres, x->emb_sum,
                                         x->emb_mean, x->emb_rstd, bert_w(m, lay->emb_ln_g),
                                         b->ids, b->types, b->B, b->T, H, p_hid,
                                         bert_key(m, step, 0, SITE_EMB)));
    return CTCD_OK;
}

ctcd_status ctcd_model_backward(ctcd_model *m, const ctcd_batch_dev *b, int64_t step) {
    CTCD_TRY(ctcd_model_backward_head(m, b, step));
    return ctcd_model_backward_encoder(m, b, step);
}
