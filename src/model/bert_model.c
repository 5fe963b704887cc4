/* bert_model.c — creating a BERT model on a backend: flat parameter/optimizer buffers,
 * activation arena, random initialisation, optimizer step (include/ctcd/model.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/arena.h"
#include "ctcd/model.h"
#include "flat_params.h"

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

static ctcd_flat_refs model_flat(ctcd_model *m) {
    return (ctcd_flat_refs){&m->master, &m->params, &m->grads, &m->adam_m, &m->adam_v,
                            &m->sumsq};
}

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
    const size_t n = (size_t)m->lay.n_total;
    size_t flat_bytes = 0;
    m->opt_lo = 0;
    m->opt_hi = (int64_t)n;
    st = ctcd_flat_alloc(be, (int64_t)n, "", model_flat(m), &flat_bytes);
    if (!st) {
        ctcd_arena a;
        memset(&m->acts, 0, sizeof m->acts);
        ctcd_arena_measure(&a);
        st = layout_acts(m, &a);
        if (!st) {
            m->act_bytes = a.used;
            st = be->alloc(be, a.used, "activations", &m->act_mem);
        }
        if (!st) {
            ctcd_arena_wrap(&a, m->act_mem, m->act_bytes);
            st = layout_acts(m, &a);
        }
    }
    if (!st && be->reserve) {
        /* the backend's op scratch for this model's largest batch, now rather than in a step */
        ctcd_reserve_hint h = {(int64_t)B_max * T_max, 3 * (int64_t)cfg->hidden, cfg->n_heads};
        for (int l = 0; l < cfg->n_layers; l++)
            if (cfg->layer_intermediate[l] > h.cols) h.cols = cfg->layer_intermediate[l];
        if (ctcd_bert_out_classes(cfg) > h.cols) h.cols = ctcd_bert_out_classes(cfg);
        st = be->reserve(be, &h);
    }
    m->mem_bytes = flat_bytes + m->act_bytes;
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
    ctcd_flat_free(be, model_flat(m));
    be->free(be, m->act_mem);
    ctcd_model_layout_free(&m->lay);
    free(m);
}

int64_t ctcd_model_n_params(const ctcd_model *m) { return m->lay.n_params_real; }

/* Copies the fp32 master weights into the compute copy (a no-op when they are one). */
static ctcd_status sync_compute(ctcd_model *m) {
    return ctcd_flat_sync_compute(m->be, m->params, m->master, m->lay.n_total);
}

ctcd_status ctcd_model_init_random(ctcd_model *m, uint64_t seed) {
    const size_t n = (size_t)m->lay.n_total;
    float *host = calloc(n, sizeof *host); /* zero padding between tensors */
    if (!host) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory initialising", m->name);
    ctcd_rng r;
    ctcd_rng_init(&r, seed, 0);
    const float sd = m->cfg.initializer_range;
    for (int i = 0; i < m->lay.n_params; i++) {
        const ctcd_param_info *p = &m->lay.params[i];
        float *w = host + p->offset;
        const int is_ln_weight = strstr(p->name, "LayerNorm.weight") != NULL;
        for (int64_t j = 0; j < p->numel; j++) {
            if (p->decay) {
                w[j] = sd * ctcd_rng_normal(&r);
            } else {
                w[j] = is_ln_weight ? 1.0f : 0.0f;
            }
        }
    }
    /* nn.Embedding(padding_idx=pad) keeps the pad row at zero. */
    memset(host + m->lay.wte + (int64_t)m->cfg.pad_id * m->cfg.hidden, 0,
           (size_t)m->cfg.hidden * sizeof(float));
    ctcd_status st = m->be->upload(m->be, m->master, host, n * sizeof *host);
    free(host);
    if (!st) st = sync_compute(m);
    return st;
}

void ctcd_model_freeze(ctcd_model *m) {
    ctcd_backend *be = m->be;
    be->free(be, m->grads);
    be->free(be, m->adam_m);
    be->free(be, m->adam_v);
    m->grads = m->adam_m = m->adam_v = NULL;
    m->frozen = 1;
    m->mem_bytes -= (size_t)m->lay.n_total * 4 + (size_t)(m->opt_hi - m->opt_lo) * 4 * 2;
}

static ctcd_status frozen_error(const ctcd_model *m, const char *what) {
    return CTCD_ERR(CTCD_E_INVALID, "%s: %s of a frozen (forward-only) model", m->name, what);
}

ctcd_status ctcd_model_zero_grad(ctcd_model *m) {
    if (m->frozen) return frozen_error(m, "zero_grad");
    return m->be->memzero(m->be, m->grads, (size_t)m->lay.n_total * 4);
}

ctcd_status ctcd_model_grad_norm(ctcd_model *m, float *grad_norm_out) {
    return ctcd_flat_grad_norm(m->be, m->sumsq, m->grads, m->lay.n_total, grad_norm_out);
}

ctcd_status ctcd_model_apply_update(ctcd_model *m, const ctcd_adamw_hparams *h) {
    const int64_t lo = m->opt_lo, n = m->opt_hi - m->opt_lo;
    const int64_t left = m->lay.n_decay - lo, n_decay = left < 0 ? 0 : left > n ? n : left;
    void *params = m->params == (void *)m->master
                       ? (void *)(m->master + lo)
                       : (void *)((char *)m->params + (size_t)lo * ctcd_dtype_size(m->be->act_dtype));
    return ctcd_flat_adamw(m->be, m->master + lo, params, m->grads + lo, m->adam_m, m->adam_v,
                           m->sumsq, n, n_decay, h);
}

/* Replaces moment buffer *buf (of the current shard) by one holding [lo, hi) of it. */
static ctcd_status shrink_moment(ctcd_model *m, float **buf, int64_t lo, int64_t hi,
                                 float *host, const char *what) {
    ctcd_backend *be = m->be;
    const size_t bytes = (size_t)(hi - lo) * sizeof(float);
    float *fresh = NULL;
    if (bytes) CTCD_TRY(be->download(be, host, *buf + (lo - m->opt_lo), bytes));
    CTCD_TRY(be->alloc(be, bytes ? bytes : 4, what, (void **)&fresh));
    ctcd_status st = bytes ? be->upload(be, fresh, host, bytes) : CTCD_OK;
    if (st) {
        be->free(be, fresh);
        return st;
    }
    be->free(be, *buf);
    *buf = fresh;
    return CTCD_OK;
}

ctcd_status ctcd_model_shard_optimizer(ctcd_model *m, int64_t lo, int64_t hi) {
    if (m->frozen) return frozen_error(m, "optimizer sharding");
    if (lo < m->opt_lo || hi > m->opt_hi || lo > hi)
        return CTCD_ERR(CTCD_E_INVALID, "%s: optimizer shard [%lld, %lld) is not inside the "
                        "current one [%lld, %lld)", m->name, (long long)lo, (long long)hi,
                        (long long)m->opt_lo, (long long)m->opt_hi);
    float *host = malloc((size_t)(hi - lo + 1) * sizeof *host);
    if (!host) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory sharding the optimizer", m->name);
    ctcd_status st = shrink_moment(m, &m->adam_m, lo, hi, host, "adam m shard");
    if (!st) st = shrink_moment(m, &m->adam_v, lo, hi, host, "adam v shard");
    free(host);
    if (st) return ctcd_error_wrap(st, "%s: sharding the optimizer", m->name);
    m->mem_bytes -= (size_t)((m->opt_hi - m->opt_lo) - (hi - lo)) * 4 * 2;
    m->opt_lo = lo;
    m->opt_hi = hi;
    return CTCD_OK;
}

ctcd_status ctcd_model_sync_compute(ctcd_model *m) { return sync_compute(m); }

ctcd_status ctcd_model_optimizer_step(ctcd_model *m, const ctcd_adamw_hparams *h,
                                      float *grad_norm_out) {
    if (m->frozen) return frozen_error(m, "optimizer step");
    float norm;
    CTCD_TRY(ctcd_model_grad_norm(m, &norm));
    CTCD_TRY(ctcd_model_apply_update(m, h));
    if (grad_norm_out) *grad_norm_out = norm;
    return CTCD_OK;
}

/* Only called once a non-finite norm was seen: one download of the gradients, then a scan
 * in buffer order, so the cost is paid on the failure path alone. */
ctcd_status ctcd_model_find_nonfinite_grad(const ctcd_model *m, ctcd_nonfinite *out) {
    memset(out, 0, sizeof *out);
    const int64_t n = m->lay.n_total;
    float *host = malloc((size_t)n * sizeof *host);
    if (!host) return CTCD_ERR(CTCD_E_NOMEM, "model %s: out of memory scanning gradients", m->name);
    ctcd_status st = m->be->download(m->be, host, m->grads, (size_t)n * sizeof *host);
    for (int p = 0; !st && !out->param && p < m->lay.n_params; p++) {
        const ctcd_param_info *pi = &m->lay.params[p];
        for (int64_t j = 0; j < pi->numel; j++)
            if (pi->offset + j >= m->opt_lo && pi->offset + j < m->opt_hi &&
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
    return m->be->download(m->be, host, m->master, (size_t)m->lay.n_total * sizeof(float));
}

ctcd_status ctcd_model_upload_params(ctcd_model *m, const float *host) {
    CTCD_TRY(ctcd_flat_upload(m->be, m->master, host, m->lay.params, m->lay.n_params,
                              m->lay.n_total));
    return sync_compute(m);
}
