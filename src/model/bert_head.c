/* bert_head.c — the two heads on top of the encoder, forward and backward.
 *
 * CLASSIFY (BertForSequenceClassification):
 *   logits = Wc · dropout(tanh(Wp · h_L[CLS] + bp)) + bc
 * MLM (BertForMaskedLM), on the n_pred masked rows only, so that the vocabulary-wide GEMM
 * and loss never touch unmasked tokens:
 *   r = h_L[pred_idx];  t = LN(gelu(Wt · r + bt));  logits = t · wteᵀ + bias
 *
 * Both backward passes start from m->acts.dlogits and leave ∂L/∂h_L in m->acts.dh (zero on
 * the rows the head did not read). */
#include "bert_graph.h"

static ctcd_status classify_fwd(ctcd_model *m, const ctcd_batch_dev *b, float p_hid,
                                int64_t step) {
    ctcd_backend *be = m->be;
    const ctcd_bert_config *c = &m->cfg;
    const ctcd_model_layout *lay = &m->lay;
    ctcd_model_acts *x = &m->acts;
    const int H = c->hidden, C = c->n_labels;
    CTCD_TRY(be->gather_rows(be, x->cls, x->h[c->n_layers], b->cls_idx, b->B, H));
    CTCD_TRY(be->matmul_fwd(be, x->pool_pre, NULL, x->cls, bert_w(m, lay->pool_w),
                            bert_w(m, lay->pool_b), b->B, H, H, CTCD_ACT_NONE));
    CTCD_TRY(be->tanh_fwd(be, x->pooled, x->pool_pre, (int64_t)b->B * H));
    CTCD_TRY(be->dropout_fwd(be, x->pooled_drop, x->pooled, (int64_t)b->B * H, p_hid,
                             bert_key(m, step, c->n_layers, SITE_POOLER)));
    return be->matmul_fwd(be, x->logits, NULL, x->pooled_drop, bert_w(m, lay->cls_w),
                          bert_w(m, lay->cls_b), b->B, H, C, CTCD_ACT_NONE);
}

static ctcd_status classify_bwd(ctcd_model *m, const ctcd_batch_dev *b, float p_hid,
                                int64_t step) {
    ctcd_backend *be = m->be;
    const ctcd_bert_config *c = &m->cfg;
    const ctcd_model_layout *lay = &m->lay;
    ctcd_model_acts *x = &m->acts;
    const int H = c->hidden, C = c->n_labels;
    const int64_t BH = (int64_t)b->B * H;
    CTCD_TRY(be->matmul_bwd(be, x->d_pool_a, bert_g(m, lay->cls_w), bert_g(m, lay->cls_b),
                            x->dlogits, x->pooled_drop, bert_w(m, lay->cls_w), b->B, H, C, 0));
    CTCD_TRY(be->dropout_bwd(be, x->d_pool_a, x->d_pool_a, BH, p_hid,
                             bert_key(m, step, c->n_layers, SITE_POOLER)));
    CTCD_TRY(be->tanh_bwd(be, x->d_pool_a, x->pooled, x->d_pool_a, BH));
    CTCD_TRY(be->matmul_bwd(be, x->d_pool_b, bert_g(m, lay->pool_w), bert_g(m, lay->pool_b),
                            x->d_pool_a, x->cls, bert_w(m, lay->pool_w), b->B, H, H, 0));
    /* Only the [CLS] rows of the last hidden state receive gradient. */
    return be->scatter_add_rows(be, x->dh, x->d_pool_b, b->cls_idx, b->B, H);
}

static ctcd_status mlm_fwd(ctcd_model *m, const ctcd_batch_dev *b) {
    ctcd_backend *be = m->be;
    const ctcd_bert_config *c = &m->cfg;
    const ctcd_model_layout *lay = &m->lay;
    ctcd_model_acts *x = &m->acts;
    const int H = c->hidden;
    const int64_t R = b->n_pred;
    if (R == 0) return CTCD_OK;
    CTCD_TRY(be->gather_rows(be, x->mlm_rows, x->h[c->n_layers], b->pred_idx, R, H));
    CTCD_TRY(be->matmul_fwd(be, x->mlm_act, x->mlm_pre, x->mlm_rows, bert_w(m, lay->mlm_w),
                            bert_w(m, lay->mlm_b), R, H, H, CTCD_ACT_GELU));
    CTCD_TRY(be->layernorm_fwd(be, x->mlm_out, NULL, x->mlm_mean, x->mlm_rstd, x->mlm_act,
                               NULL, bert_w(m, lay->mlm_ln_g), bert_w(m, lay->mlm_ln_b), R, H,
                               c->ln_eps));
    /* Tied decoder: the word-embedding table is the (V, H) weight. */
    return be->matmul_fwd(be, x->logits, NULL, x->mlm_out, bert_w(m, lay->wte),
                          bert_w(m, lay->mlm_bias), R, H, c->vocab_size, CTCD_ACT_NONE);
}

static ctcd_status mlm_bwd(ctcd_model *m, const ctcd_batch_dev *b) {
    ctcd_backend *be = m->be;
    const ctcd_bert_config *c = &m->cfg;
    const ctcd_model_layout *lay = &m->lay;
    ctcd_model_acts *x = &m->acts;
    const int H = c->hidden;
    const int64_t R = b->n_pred;
    if (R == 0) return CTCD_OK;
    /* The decoder's weight gradient lands in the word-embedding gradient (tied). */
    CTCD_TRY(be->matmul_bwd(be, x->d_mlm_a, bert_g(m, lay->wte), bert_g(m, lay->mlm_bias),
                            x->dlogits, x->mlm_out, bert_w(m, lay->wte), R, H, c->vocab_size,
                            0));
    CTCD_TRY(be->layernorm_bwd(be, x->d_mlm_b, bert_g(m, lay->mlm_ln_g),
                               bert_g(m, lay->mlm_ln_b), x->d_mlm_a, x->mlm_act, x->mlm_mean,
                               x->mlm_rstd, bert_w(m, lay->mlm_ln_g), R, H));
    CTCD_TRY(be->gelu_bwd(be, x->d_mlm_b, x->mlm_pre, x->d_mlm_b, R * H));
    CTCD_TRY(be->matmul_bwd(be, x->d_mlm_a, bert_g(m, lay->mlm_w), bert_g(m, lay->mlm_b),
                            x->d_mlm_b, x->mlm_rows, bert_w(m, lay->mlm_w), R, H, H, 0));
    return be->scatter_add_rows(be, x->dh, x->d_mlm_a, b->pred_idx, R, H);
}

ctcd_status bert_head_check(const ctcd_model *m, const ctcd_batch_dev *b) {
    if (m->cfg.head != CTCD_HEAD_MLM) return CTCD_OK;
    if (b->n_pred < 0 || b->n_pred > m->R_max)
        return CTCD_ERR(CTCD_E_INVALID,
                        "%s: %lld masked rows exceed the MLM head's capacity %lld (raise "
                        "max_predictions)",
                        m->name, (long long)b->n_pred, (long long)m->R_max);
    if (b->n_pred > 0 && !b->pred_idx)
        return CTCD_ERR(CTCD_E_INVALID, "%s: MLM batch without masked-row indices", m->name);
    return CTCD_OK;
}

ctcd_status bert_head_fwd(ctcd_model *m, const ctcd_batch_dev *b, float p_hid, int64_t step) {
    if (m->cfg.head == CTCD_HEAD_MLM) return mlm_fwd(m, b);
    return classify_fwd(m, b, p_hid, step);
}

ctcd_status bert_head_bwd(ctcd_model *m, const ctcd_batch_dev *b, float p_hid, int64_t step) {
    ctcd_backend *be = m->be;
    const size_t BTH = (size_t)b->B * (size_t)b->T * (size_t)m->cfg.hidden;
    CTCD_TRY(be->memzero(be, m->acts.dh, BTH * ctcd_dtype_size(be->act_dtype)));
    if (m->cfg.head == CTCD_HEAD_MLM) return mlm_bwd(m, b);
    return classify_bwd(m, b, p_hid, step);
}
