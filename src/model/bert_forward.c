/* bert_forward.c — the BERT forward pass over the backend op table (post-LN, as HF
 * BertForSequenceClassification):
 *
 *   h0 = dropout(LN(wte[ids] + wpe[t] + wtt[types]))              (one embedding_layernorm op)
 *   per layer:  s1 = h + dropout(Wo·(g_head ⊙ attn(Wqkv·h)))     h1 = LN1(s1)
 *               s2 = h1 + dropout(W2·(g_ffn ⊙ gelu(W1·h1)))     h' = LN2(s2)
 *   (each dropout + residual + LN is one dropout_layernorm op)
 *   (the gates g exist only with m->masks; y->ctx and y->fc1_out keep the ungated values
 *   and the gated ones live in the masks' scratch, recomputed by backward)
 *   then the head (bert_head.c): classifier on [CLS] or masked-LM on the masked rows
 *
 * Everything backward needs is kept in m->acts; dropout masks are recomputed from keys. */
#include "bert_graph.h"

static ctcd_status encoder_layer_fwd(ctcd_model *m, const ctcd_batch_dev *b, int l, float p_hid,
                                     float p_att, int64_t step) {
    ctcd_backend *be = m->be;
    const ctcd_bert_config *c = &m->cfg;
    const ctcd_layer_offsets *o = &m->lay.layer[l];
    ctcd_layer_acts *y = &m->acts.layer[l];
    const int64_t BT = (int64_t)b->B * b->T;
    const int H = c->hidden, NH = c->layer_heads[l], HD = c->head_dim, A = NH * HD;
    const int I = c->layer_intermediate[l];
    void *x = m->acts.h[l], *branch = m->acts.branch;

    CTCD_TRY(be->matmul_fwd(be, y->qkv, NULL, x, bert_w(m, o->qkv_w), bert_w(m, o->qkv_b), BT,
                            H, 3 * A, CTCD_ACT_NONE));
    CTCD_TRY(be->attention_fwd(be, y->ctx, y->att_aux, y->qkv, b->mask, b->B, b->T, NH, HD,
                               p_att, bert_key(m, step, l, SITE_ATTN_PROBS)));
    const ctcd_model_masks *mk = m->masks;
    const void *ctx = y->ctx, *act = y->fc1_out; /* what the output projections read */
    if (mk) {
        CTCD_TRY(be->unit_mask_fwd(be, mk->scratch, y->ctx, mk->head + m->head_off[l], BT, NH,
                                   HD));
        ctx = mk->scratch;
    }
    CTCD_TRY(be->matmul_fwd(be, branch, NULL, ctx, bert_w(m, o->ao_w), bert_w(m, o->ao_b), BT,
                            A, H, CTCD_ACT_NONE));
    CTCD_TRY(be->dropout_layernorm_fwd(be, y->h1, y->s1, y->mean1, y->rstd1, branch, x,
                                       bert_w(m, o->ln1_g), bert_w(m, o->ln1_b), BT, H,
                                       c->ln_eps, p_hid, bert_key(m, step, l, SITE_ATTN_OUT)));
    CTCD_TRY(be->matmul_fwd(be, y->fc1_out, y->fc1_pre, y->h1, bert_w(m, o->fc1_w),
                            bert_w(m, o->fc1_b), BT, H, I, CTCD_ACT_GELU));
    if (mk) {
        CTCD_TRY(be->unit_mask_fwd(be, mk->scratch, y->fc1_out, mk->ffn + m->ffn_off[l], BT, I,
                                   1));
        act = mk->scratch;
    }
    CTCD_TRY(be->matmul_fwd(be, branch, NULL, act, bert_w(m, o->fc2_w), bert_w(m, o->fc2_b), BT,
                            I, H, CTCD_ACT_NONE));
    CTCD_TRY(be->dropout_layernorm_fwd(be, m->acts.h[l + 1], y->s2, y->mean2, y->rstd2, branch,
                                       y->h1, bert_w(m, o->ln2_g), bert_w(m, o->ln2_b), BT, H,
                                       c->ln_eps, p_hid, bert_key(m, step, l, SITE_FFN_OUT)));
    return CTCD_OK;
}

ctcd_status ctcd_model_forward(ctcd_model *m, const ctcd_batch_dev *b, int train, int64_t step) {
    ctcd_backend *be = m->be;
    const ctcd_bert_config *c = &m->cfg;
    const ctcd_model_layout *lay = &m->lay;
    ctcd_model_acts *x = &m->acts;
    if (b->B > m->B_max || b->T > m->T_max)
        return CTCD_ERR(CTCD_E_INVALID, "%s: batch %dx%d exceeds the model's capacity %dx%d",
                        m->name, b->B, b->T, m->B_max, m->T_max);
    CTCD_TRY(bert_head_check(m, b));
    const int H = c->hidden;
    const float p_hid = train ? c->hidden_dropout : 0.0f;
    const float p_att = train ? c->attn_dropout : 0.0f;

    CTCD_TRY(be->embedding_layernorm_fwd(be, x->h[0], x->emb_sum, x->emb_mean, x->emb_rstd,
                                         b->ids, b->types, bert_w(m, lay->wte),
                                         bert_w(m, lay->wpe), bert_w(m, lay->wtt),
                                         bert_w(m, lay->emb_ln_g), bert_w(m, lay->emb_ln_b),
                                         b->B, b->T, H, c->ln_eps, p_hid,
                                         bert_key(m, step, 0, SITE_EMB)));
    for (int l = 0; l < c->n_layers; l++)
        CTCD_TRY(encoder_layer_fwd(m, b, l, p_hid, p_att, step));

    return bert_head_fwd(m, b, p_hid, step);
}
