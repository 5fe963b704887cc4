/* elastic.c — the elastic teacher assistant of MiniDisc (include/ctcd/schedule.h): one
 * model whose unit masks select any candidate sparsity, trained by the sandwich rule with
 * distillation from the frozen large model.
 *
 * The loss of one sparsity s on a batch is
 *     L_s = logit_w · T²·KL(softmax(z_teacher/T) ‖ softmax(z_s/T))
 *         + hidden_w · mean over real tokens and H of (h_s - h_teacher)²
 * where h is the final hidden state (same width in both models: masks only zero units).
 * The logit term runs through the backend's fused loss with teacher weight logit_w / n, so
 * the gradient is already scaled for the average; the hidden term is computed on the host
 * (one (B·T, H) download per sparsity) and its gradient enters backward through
 * ctcd_model.dh_extra. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/schedule.h"
#include "ctcd/surgery.h"

void ctcd_elastic_free(ctcd_elastic *e) {
    if (e->ta) {
        ctcd_backend *be = e->ta->be;
        be->free(be, e->dh);
        be->free(be, e->f32);
        be->free(be, e->rows);
        be->free(be, e->terms);
        ctcd_model_masks_disable(e->ta);
        e->ta->dh_extra = NULL;
        e->ta->dh_rows = NULL;
    }
    free(e->gate_head);
    free(e->gate_ffn);
    free(e->ones_head);
    free(e->ones_ffn);
    free(e->h_ta);
    free(e->h_te);
    memset(e, 0, sizeof *e);
}

static ctcd_status pruned_params(const ctcd_bert_config *c, int64_t *n) {
    ctcd_model_layout lay;
    memset(&lay, 0, sizeof lay);
    ctcd_status st = ctcd_model_layout_build(c, &lay);
    if (!st) *n = lay.n_params_real;
    ctcd_model_layout_free(&lay);
    return st;
}

static ctcd_status alloc_scratch(ctcd_elastic *e) {
    ctcd_model *m = e->ta;
    ctcd_backend *be = m->be;
    const int64_t NH = m->n_head_units, NF = m->n_ffn_units, H = m->cfg.hidden;
    e->BT_max = (int64_t)m->B_max * m->T_max;
    const size_t BTH = (size_t)(e->BT_max * H);
    e->gate_head = malloc((size_t)(e->n * NH) * sizeof(float));
    e->gate_ffn = malloc((size_t)(e->n * NF) * sizeof(float));
    e->ones_head = malloc((size_t)NH * sizeof(float));
    e->ones_ffn = malloc((size_t)NF * sizeof(float));
    e->h_ta = malloc(BTH * sizeof(float));
    e->h_te = malloc(BTH * sizeof(float));
    int32_t *rows = malloc((size_t)e->BT_max * sizeof *rows);
    ctcd_status st = CTCD_OK;
    if (!e->gate_head || !e->gate_ffn || !e->ones_head || !e->ones_ffn || !e->h_ta || !e->h_te ||
        !rows)
        st = CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory for the elastic TA", m->name);
    if (!st) st = be->alloc(be, BTH * ctcd_dtype_size(be->act_dtype), "elastic dh", &e->dh);
    if (!st) st = be->alloc(be, BTH * sizeof(float), "elastic f32", (void **)&e->f32);
    if (!st) st = be->alloc(be, (size_t)e->BT_max * 4, "elastic rows", (void **)&e->rows);
    if (!st) st = be->alloc(be, CTCD_LOSS_NTERMS * 4, "elastic loss", (void **)&e->terms);
    for (int64_t i = 0; !st && i < e->BT_max; i++) rows[i] = (int32_t)i;
    if (!st) st = be->upload(be, e->rows, rows, (size_t)e->BT_max * 4);
    free(rows);
    for (int64_t i = 0; !st && i < NH; i++) e->ones_head[i] = 1.0f;
    for (int64_t i = 0; !st && i < NF; i++) e->ones_ffn[i] = 1.0f;
    return st;
}

ctcd_status ctcd_elastic_init(ctcd_elastic *e, ctcd_model *ta, ctcd_model *teacher,
                              const float *head_score, const float *ffn_score,
                              const float *sparsity, int n, const ctcd_elastic_opts *o) {
    memset(e, 0, sizeof *e);
    if (n < 1 || n > CTCD_SCHED_MAX)
        return CTCD_ERR(CTCD_E_INVALID, "elastic TA: 1..%d sparsities (got %d)", CTCD_SCHED_MAX,
                        n);
    if (ta->n_head_units != teacher->n_head_units || ta->n_ffn_units != teacher->n_ffn_units ||
        ta->cfg.hidden != teacher->cfg.hidden || ta->cfg.n_labels != teacher->cfg.n_labels)
        return CTCD_ERR(CTCD_E_INVALID, "elastic TA: %s and %s differ in shape", ta->name,
                        teacher->name);
    if (ta->cfg.head != CTCD_HEAD_CLASSIFY || ta->cfg.multiple_choice)
        return CTCD_ERR(CTCD_E_INVALID, "elastic TA: %s needs a classification/regression head "
                        "(not multiple choice)", ta->name);
    e->ta = ta;
    e->teacher = teacher;
    e->n = n;
    e->temperature = o->temperature;
    e->logit_w = o->logit_w;
    e->hidden_w = o->hidden_w;
    ctcd_status st = alloc_scratch(e);
    const int64_t NH = ta->n_head_units, NF = ta->n_ffn_units;
    for (int i = 0; !st && i < n; i++) {
        e->sparsity[i] = sparsity[i];
        ctcd_prune_spec spec = {.sparsity = sparsity[i], .norm = CTCD_SCORE_LAYER_L2};
        ctcd_prune_plan plan;
        memset(&plan, 0, sizeof plan);
        st = ctcd_prune_plan_make(&ta->cfg, head_score, ffn_score, &spec, &plan);
        for (int64_t u = 0; !st && u < NH; u++) e->gate_head[i * NH + u] = plan.keep_head[u];
        for (int64_t u = 0; !st && u < NF; u++) e->gate_ffn[i * NF + u] = plan.keep_ffn[u];
        if (!st) st = pruned_params(&plan.cfg, &e->params[i]);
        ctcd_prune_plan_free(&plan);
    }
    if (!st) st = ctcd_model_masks_enable(ta);
    if (st) ctcd_elastic_free(e);
    return st;
}

ctcd_status ctcd_elastic_select(ctcd_elastic *e, int i) {
    if (i < 0) return ctcd_model_masks_set(e->ta, e->ones_head, e->ones_ffn);
    CTCD_ASSERT(i < e->n, "sparsity index %d of %d", i, e->n);
    return ctcd_model_masks_set(e->ta, e->gate_head + (size_t)i * e->ta->n_head_units,
                                e->gate_ffn + (size_t)i * e->ta->n_ffn_units);
}

/* (B·T, H) act-dtype device tensor -> host F32. */
static ctcd_status download_f32(ctcd_elastic *e, float *host, const void *src, int64_t n) {
    ctcd_backend *be = e->ta->be;
    if (be->act_dtype == CTCD_F32) return be->download(be, host, src, (size_t)n * 4);
    CTCD_TRY(be->cast(be, e->f32, CTCD_F32, src, be->act_dtype, n));
    return be->download(be, host, e->f32, (size_t)n * 4);
}

/* Hidden MSE of the current ta forward against the teacher's; writes its gradient, scaled
 * by `scale`, to e->dh (act dtype). */
static ctcd_status hidden_mse(ctcd_elastic *e, const ctcd_batch *hb, float scale, double *mse) {
    ctcd_model *m = e->ta;
    ctcd_backend *be = m->be;
    const int L = m->cfg.n_layers, H = m->cfg.hidden;
    const int64_t BT = (int64_t)hb->B * hb->T, n = BT * H;
    CTCD_TRY(download_f32(e, e->h_ta, m->acts.h[L], n));
    CTCD_TRY(download_f32(e, e->h_te, e->teacher->acts.h[e->teacher->cfg.n_layers], n));
    int64_t tokens = 0;
    for (int64_t r = 0; r < BT; r++) tokens += hb->mask[r] != 0;
    const double denom = (double)(tokens > 0 ? tokens : 1) * H;
    double sum = 0;
    for (int64_t r = 0; r < BT; r++) {
        float *g = e->h_ta + r * H;
        const float *t = e->h_te + r * H;
        for (int j = 0; j < H; j++) {
            const double d = hb->mask[r] ? (double)g[j] - t[j] : 0.0;
            sum += d * d;
            g[j] = (float)(2.0 * scale * d / denom);
        }
    }
    *mse = sum / denom;
    if (be->act_dtype == CTCD_F32) return be->upload(be, e->dh, e->h_ta, (size_t)n * 4);
    CTCD_TRY(be->upload(be, e->f32, e->h_ta, (size_t)n * 4));
    return be->cast(be, e->dh, be->act_dtype, e->f32, CTCD_F32, n);
}

static ctcd_status one_sparsity(ctcd_elastic *e, const ctcd_batch *hb, const ctcd_batch_dev *db,
                                const ctcd_elastic_labels *y, int i, float inv_n, int64_t step,
                                double *loss) {
    ctcd_model *m = e->ta;
    ctcd_backend *be = m->be;
    CTCD_TRY(ctcd_elastic_select(e, i));
    CTCD_TRY(ctcd_model_forward(m, db, 1, step));
    const int C = m->cfg.n_labels;
    ctcd_loss_desc d = {.kind = C == 1 ? CTCD_LOSS_MSE : CTCD_LOSS_CE_KL, .n_models = 1,
                        .rows = db->B, .classes = C, .temperature = e->temperature,
                        .teacher_w = {e->logit_w * inv_n, 0.0f}};
    ctcd_loss_io io = {.logits = {m->acts.logits}, .dlogits = {m->acts.dlogits},
                       .teacher = e->teacher->acts.logits, .labels = y->labels,
                       .targets = y->targets, .terms = e->terms};
    CTCD_TRY(be->loss(be, &d, &io));
    float terms[CTCD_LOSS_NTERMS];
    CTCD_TRY(be->download(be, terms, e->terms, sizeof terms));
    double mse = 0;
    if (e->hidden_w != 0.0f) {
        CTCD_TRY(hidden_mse(e, hb, e->hidden_w * inv_n, &mse));
        m->dh_extra = e->dh;
        m->dh_rows = e->rows;
    }
    ctcd_status st = ctcd_model_backward(m, db, step);
    m->dh_extra = NULL;
    m->dh_rows = NULL;
    *loss = (double)e->logit_w * terms[CTCD_TERM_TEACHER0] + (double)e->hidden_w * mse;
    return st;
}

ctcd_status ctcd_elastic_loss_grad(ctcd_elastic *e, const ctcd_batch *hb,
                                   const ctcd_batch_dev *db, const ctcd_elastic_labels *y,
                                   const int *idx, int n_idx,
                                   int64_t step, double *loss, double *per_loss) {
    if (n_idx < 1) return CTCD_ERR(CTCD_E_INVALID, "elastic TA: no sparsity sampled");
    if ((int64_t)hb->B * hb->T > e->BT_max)
        return CTCD_ERR(CTCD_E_INVALID, "elastic TA: batch %dx%d over the capacity", hb->B,
                        hb->T);
    CTCD_TRY(ctcd_model_zero_grad(e->ta));
    CTCD_TRY(ctcd_model_forward(e->teacher, db, 0, step));
    const float inv_n = 1.0f / (float)n_idx;
    double sum = 0;
    for (int k = 0; k < n_idx; k++) {
        double l;
        CTCD_TRY(one_sparsity(e, hb, db, y, idx[k], inv_n, step, &l));
        if (per_loss) per_loss[k] = l;
        sum += l;
    }
    if (loss) *loss = sum / n_idx;
    return CTCD_OK;
}
