/* bert_model.c — creating a BERT model on a backend: its parameter set (the flat
 * parameter/optimizer buffers, include/ctcd/param_set.h), activation arena, random
 * initialisation, and the model's names for the parameter set's operations
 * (include/ctcd/model.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/arena.h"
#include "ctcd/model.h"
#include "param_init.h"

static int max_i(int a, int b) { return a > b ? a : b; }

/* Lays out every activation buffer in `a`. Called twice: once measuring, once over the
 * real allocation, so both passes hand out identical offsets. */
static ctcd_status layout_acts(ctcd_model *m, ctcd_arena *a) {
    const ctcd_bert_config *c = &m->cfg;
    ctcd_backend *be = m->be;
    const size_t es = ctcd_dtype_size(be->act_dtype);
    const size_t BT = (size_t)m->B_max * (size_t)m->T_max, B = (size_t)m->B_max;
    const size_t H = (size_t)c->hidden;
    ctcd_model_acts *x = &m->acts;
    int maxA = 0, maxI = 0;
    for (int l = 0; l < c->n_layers; l++) {
        maxA = max_i(maxA, c->layer_heads[l] * c->head_dim);
        maxI = max_i(maxI, c->layer_intermediate[l]);
    }
#define A_(ptr, bytes, what) CTCD_TRY(ctcd_arena_alloc(a, (bytes), (what), (void **)&(ptr)))
    A_(x->emb_sum, BT * H * es, "embedding sum");
    A_(x->emb_mean, BT * 4, "embedding LN mean");
    A_(x->emb_rstd, BT * 4, "embedding LN rstd");
    for (int l = 0; l <= c->n_layers; l++) A_(x->h[l], BT * H * es, "hidden states");
    for (int l = 0; l < c->n_layers; l++) {
        ctcd_layer_acts *y = &x->layer[l];
        const size_t A = (size_t)c->layer_heads[l] * (size_t)c->head_dim;
        const size_t I = (size_t)c->layer_intermediate[l];
        A_(y->qkv, BT * 3 * A * es, "qkv");
        A_(y->att_aux, be->attention_aux_bytes(be, m->B_max, m->T_max, c->layer_heads[l]),
           "attention state");
        A_(y->ctx, BT * A * es, "attention context");
        A_(y->s1, BT * H * es, "residual sum 1");
        A_(y->mean1, BT * 4, "LN1 mean");
        A_(y->rstd1, BT * 4, "LN1 rstd");
        A_(y->h1, BT * H * es, "LN1 output");
        A_(y->fc1_pre, BT * I * es, "FFN pre-activation");
        A_(y->fc1_out, BT * I * es, "FFN activation");
        A_(y->s2, BT * H * es, "residual sum 2");
        A_(y->mean2, BT * 4, "LN2 mean");
        A_(y->rstd2, BT * 4, "LN2 rstd");
    }
    const size_t wide = (size_t)max_i((int)H, maxA), big = (size_t)max_i(maxI, 3 * maxA);
    A_(x->branch, BT * H * es, "branch output");
    if (c->head == CTCD_HEAD_MLM) {
        const size_t R = (size_t)m->R_max, V = (size_t)c->vocab_size;
        A_(x->mlm_rows, R * H * es, "MLM rows");
        A_(x->mlm_pre, R * H * es, "MLM transform pre-activation");
        A_(x->mlm_act, R * H * es, "MLM transform activation");
        A_(x->mlm_mean, R * 4, "MLM LN mean");
        A_(x->mlm_rstd, R * 4, "MLM LN rstd");
        A_(x->mlm_out, R * H * es, "MLM transform output");
        A_(x->logits, R * V * es, "MLM logits");
        A_(x->dlogits, R * V * es, "MLM logit gradients");
        A_(x->d_mlm_a, R * H * es, "MLM gradient");
        A_(x->d_mlm_b, R * H * es, "MLM gradient");
    } else {
        const size_t C = (size_t)c->n_labels;
        A_(x->cls, B * H * es, "[CLS] rows");
        A_(x->pool_pre, B * H * es, "pooler pre-activation");
        A_(x->pooled, B * H * es, "pooler output");
        A_(x->pooled_drop, B * H * es, "pooler dropout");
        A_(x->logits, B * C * es, "logits");
        A_(x->dlogits, B * C * es, "logit gradients");
        A_(x->d_pool_a, B * H * es, "pooler gradient");
        A_(x->d_pool_b, B * H * es, "pooler gradient");
    }
    A_(x->dh, BT * H * es, "hidden gradient");
    A_(x->dres, BT * wide * es, "residual gradient");
    A_(x->dtmp, BT * wide * es, "branch gradient");
    A_(x->dbig, BT * big * es, "wide gradient");
#undef A_
    return CTCD_OK;
}

static ctcd_status layout_acts_cb(void *m, ctcd_arena *a) { return layout_acts(m, a); }

ctcd_status ctcd_model_create(ctcd_backend *be, const ctcd_bert_config *cfg, const char *name,
                              int B_max, int T_max, ctcd_model **out) {
    *out = NULL;
    if (B_max < 1 || T_max < 1)
        return CTCD_ERR(CTCD_E_INVALID, "%s: batch capacity %dx%d", name, B_max, T_max);
    if (T_max > cfg->max_position)
        return CTCD_ERR(CTCD_E_INVALID,
                        "%s: sequence length %d exceeds max_position %d", name, T_max,
                        cfg->max_position);
    ctcd_model *m = calloc(1, sizeof *m);
    if (!m) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", name);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->cfg = *cfg;
    m->be = be;
    m->B_max = B_max;
    m->T_max = T_max;
    m->R_max = (int64_t)B_max * (cfg->max_predictions > 0 && cfg->max_predictions < T_max
                                     ? cfg->max_predictions
                                     : T_max);
    ctcd_bert_unit_offsets(cfg, m->head_off, m->ffn_off, &m->n_head_units, &m->n_ffn_units);
    ctcd_status st = ctcd_model_layout_build(cfg, &m->lay);
    if (st) {
        free(m);
        return ctcd_error_wrap(st, "%s", name);
    }
    st = ctcd_param_set_alloc(&m->ps, be, name, "", m->lay.params, m->lay.n_params,
                              m->lay.n_total, m->lay.n_decay);
    if (!st) {
        memset(&m->acts, 0, sizeof m->acts);
        st = ctcd_arena_layout_alloc(be, "activations", layout_acts_cb, m, &m->act_mem,
                                     &m->act_bytes);
    }
    if (!st && be->reserve) {
        /* the backend's op scratch for this model's largest batch, now rather than in a step */
        ctcd_reserve_hint h = {(int64_t)B_max * T_max, 3 * (int64_t)cfg->hidden, cfg->n_heads};
        for (int l = 0; l < cfg->n_layers; l++)
            if (cfg->layer_intermediate[l] > h.cols) h.cols = cfg->layer_intermediate[l];
        if (ctcd_bert_out_classes(cfg) > h.cols) h.cols = ctcd_bert_out_classes(cfg);
        st = be->reserve(be, &h);
    }
    if (st) {
        ctcd_model_destroy(m);
        return ctcd_error_wrap(st, "creating model %s", name);
    }
    *out = m;
    return CTCD_OK;
}

void ctcd_model_destroy(ctcd_model *m) {
    if (!m) return;
    ctcd_backend *be = m->be;
    ctcd_model_masks_disable(m);
    ctcd_param_set_free(&m->ps);
    be->free(be, m->act_mem);
    ctcd_model_layout_free(&m->lay);
    free(m);
}

int64_t ctcd_model_n_params(const ctcd_model *m) { return m->lay.n_params_real; }

size_t ctcd_model_mem_bytes(const ctcd_model *m) { return m->ps.bytes + m->act_bytes; }

ctcd_status ctcd_model_init_random(ctcd_model *m, uint64_t seed) {
    return ctcd_params_init_bert(&m->ps, seed, 0, m->cfg.initializer_range,
                                 m->lay.wte + (int64_t)m->cfg.pad_id * m->cfg.hidden,
                                 m->cfg.hidden);
}

void ctcd_model_freeze(ctcd_model *m) { ctcd_param_set_freeze(&m->ps); }

ctcd_status ctcd_model_zero_grad(ctcd_model *m) { return ctcd_param_set_zero_grad(&m->ps); }

ctcd_status ctcd_model_grad_norm(ctcd_model *m, float *grad_norm_out) {
    return ctcd_param_set_grad_norm(&m->ps, grad_norm_out);
}

ctcd_status ctcd_model_apply_update(ctcd_model *m, const ctcd_adamw_hparams *h) {
    return ctcd_param_set_apply_update(&m->ps, h);
}

ctcd_status ctcd_model_optimizer_step(ctcd_model *m, const ctcd_adamw_hparams *h,
                                      float *grad_norm_out) {
    return ctcd_param_set_optimizer_step(&m->ps, h, grad_norm_out);
}

/* Only called once a non-finite norm was seen: one download of the gradients, then a scan
 * in buffer order, so the cost is paid on the failure path alone. */
ctcd_status ctcd_model_find_nonfinite_grad(const ctcd_model *m, ctcd_nonfinite *out) {
    memset(out, 0, sizeof *out);
    const int64_t n = m->lay.n_total;
    float *host = malloc((size_t)n * sizeof *host);
    if (!host) return CTCD_ERR(CTCD_E_NOMEM, "model %s: out of memory scanning gradients", m->name);
    ctcd_status st = m->be->download(m->be, host, m->ps.grads, (size_t)n * sizeof *host);
    for (int p = 0; !st && !out->param && p < m->lay.n_params; p++) {
        const ctcd_param_info *pi = &m->lay.params[p];
        for (int64_t j = 0; j < pi->numel; j++)
            if (pi->offset + j >= m->ps.opt_lo && pi->offset + j < m->ps.opt_hi &&
                !isfinite(host[pi->offset + j])) {
                out->param = pi;
                out->index = j;
                out->value = host[pi->offset + j];
                break;
            }
    }
    free(host);
    return st;
}

ctcd_status ctcd_model_download_params(const ctcd_model *m, float *host) {
    return ctcd_param_set_download(&m->ps, host);
}

ctcd_status ctcd_model_upload_params(ctcd_model *m, const float *host) {
    return ctcd_param_set_upload(&m->ps, host);
}
