/* bert_masks.c — head and FFN-neuron gates of a BERT model (include/ctcd/model.h): flat unit
 * indexing, enabling/disabling the gates, host access. The forward and backward passes apply
 * them (bert_forward.c, bert_backward.c) only when m->masks is set. */
#include <stdlib.h>
#include <string.h>

#include "ctcd/model.h"

void ctcd_bert_unit_offsets(const ctcd_bert_config *c, int64_t *head_off, int64_t *ffn_off,
                            int64_t *n_head, int64_t *n_ffn) {
    int64_t h = 0, f = 0;
    for (int l = 0; l < c->n_layers; l++) {
        if (head_off) head_off[l] = h;
        if (ffn_off) ffn_off[l] = f;
        h += c->layer_heads[l];
        f += c->layer_intermediate[l];
    }
    if (n_head) *n_head = h;
    if (n_ffn) *n_ffn = f;
}

void ctcd_model_masks_disable(ctcd_model *m) {
    ctcd_model_masks *k = m->masks;
    if (!k) return;
    ctcd_backend *be = m->be;
    be->free(be, k->head);
    be->free(be, k->head_grad);
    be->free(be, k->ffn);
    be->free(be, k->ffn_grad);
    be->free(be, k->scratch);
    free(k);
    m->masks = NULL;
}

static ctcd_status fill_ones(ctcd_backend *be, float *dev, int64_t n) {
    float *ones = malloc((size_t)n * sizeof *ones);
    if (!ones) return CTCD_ERR(CTCD_E_NOMEM, "out of memory for %lld mask gates", (long long)n);
    for (int64_t i = 0; i < n; i++) ones[i] = 1.0f;
    ctcd_status st = be->upload(be, dev, ones, (size_t)n * sizeof *ones);
    free(ones);
    return st;
}

static ctcd_status masks_alloc(ctcd_model *m, ctcd_model_masks *k) {
    ctcd_backend *be = m->be;
    const ctcd_bert_config *c = &m->cfg;
    int64_t wide = 0;
    for (int l = 0; l < c->n_layers; l++) {
        const int64_t A = (int64_t)c->layer_heads[l] * c->head_dim;
        if (A > wide) wide = A;
        if (c->layer_intermediate[l] > wide) wide = c->layer_intermediate[l];
    }
    const size_t nh = (size_t)m->n_head_units * 4, nf = (size_t)m->n_ffn_units * 4;
    const size_t scratch = (size_t)m->B_max * (size_t)m->T_max * (size_t)wide *
                           ctcd_dtype_size(be->act_dtype);
    CTCD_TRY(be->alloc(be, nh, "head mask", (void **)&k->head));
    CTCD_TRY(be->alloc(be, nh, "head mask gradient", (void **)&k->head_grad));
    CTCD_TRY(be->alloc(be, nf, "FFN mask", (void **)&k->ffn));
    CTCD_TRY(be->alloc(be, nf, "FFN mask gradient", (void **)&k->ffn_grad));
    CTCD_TRY(be->alloc(be, scratch, "masked activation", &k->scratch));
    CTCD_TRY(fill_ones(be, k->head, m->n_head_units));
    CTCD_TRY(fill_ones(be, k->ffn, m->n_ffn_units));
    CTCD_TRY(be->memzero(be, k->head_grad, nh));
    return be->memzero(be, k->ffn_grad, nf);
}

ctcd_status ctcd_model_masks_enable(ctcd_model *m) {
    if (m->masks) return CTCD_OK;
    ctcd_model_masks *k = calloc(1, sizeof *k);
    if (!k) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory for masks", m->name);
    m->masks = k; /* so that disable frees a partial allocation */
    ctcd_status st = masks_alloc(m, k);
    if (st) {
        ctcd_model_masks_disable(m);
        return ctcd_error_wrap(st, "%s: enabling head/FFN masks", m->name);
    }
    return CTCD_OK;
}

static ctcd_status need_masks(const ctcd_model *m) {
    return m->masks ? CTCD_OK
                    : CTCD_ERR(CTCD_E_INVALID, "%s: masks are not enabled "
                               "(ctcd_model_masks_enable)", m->name);
}

ctcd_status ctcd_model_masks_set(ctcd_model *m, const float *head, const float *ffn) {
    CTCD_TRY(need_masks(m));
    ctcd_backend *be = m->be;
    if (head) CTCD_TRY(be->upload(be, m->masks->head, head, (size_t)m->n_head_units * 4));
    if (ffn) CTCD_TRY(be->upload(be, m->masks->ffn, ffn, (size_t)m->n_ffn_units * 4));
    return CTCD_OK;
}

ctcd_status ctcd_model_masks_zero_grad(ctcd_model *m) {
    CTCD_TRY(need_masks(m));
    CTCD_TRY(m->be->memzero(m->be, m->masks->head_grad, (size_t)m->n_head_units * 4));
    return m->be->memzero(m->be, m->masks->ffn_grad, (size_t)m->n_ffn_units * 4);
}

ctcd_status ctcd_model_masks_get_grad(const ctcd_model *m, float *head, float *ffn) {
    CTCD_TRY(need_masks(m));
    ctcd_backend *be = m->be;
    if (head)
        CTCD_TRY(be->download(be, head, m->masks->head_grad, (size_t)m->n_head_units * 4));
    if (ffn) CTCD_TRY(be->download(be, ffn, m->masks->ffn_grad, (size_t)m->n_ffn_units * 4));
    return CTCD_OK;
}
