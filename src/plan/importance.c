/* importance.c — head and FFN-neuron importance on task data (include/ctcd/importance.h):
 * Michel et al. 2019, I_u = Σ_batches |∂L/∂gate_u| with gates of one, dropout off and the
 * task's own loss. The raw sums are returned; normalising them is the pruner's choice. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/batch_upload.h"
#include "ctcd/importance.h"
#include "ctcd/surgery.h"

typedef struct imp_bufs {
    ctcd_backend *be;
    ctcd_batch_buffers batch;                    /* device (B, T) inputs, (B) labels/targets */
    float *terms;                                /* device F32[CTCD_LOSS_NTERMS] */
    float *gh, *gf;                              /* host gate gradients of one batch */
    double *acc_h, *acc_f;                       /* host sums of |gradient| */
} imp_bufs;

static void bufs_free(imp_bufs *u) {
    ctcd_backend *be = u->be;
    ctcd_batch_buffers_free(&u->batch);
    be->free(be, u->terms);
    free(u->gh);
    free(u->gf);
    free(u->acc_h);
    free(u->acc_f);
}

static ctcd_status bufs_alloc(imp_bufs *u, const ctcd_model *m, int B, int T) {
    memset(u, 0, sizeof *u);
    ctcd_backend *be = u->be = m->be;
    CTCD_TRY(ctcd_batch_buffers_alloc(&u->batch, be, B, T, 0, CTCD_BATCH_LABELS, "importance"));
    CTCD_TRY(be->alloc(be, CTCD_LOSS_NTERMS * 4, "importance loss", (void **)&u->terms));
    u->gh = malloc((size_t)m->n_head_units * sizeof *u->gh);
    u->gf = malloc((size_t)m->n_ffn_units * sizeof *u->gf);
    u->acc_h = calloc((size_t)m->n_head_units, sizeof *u->acc_h);
    u->acc_f = calloc((size_t)m->n_ffn_units, sizeof *u->acc_f);
    if (!u->gh || !u->gf || !u->acc_h || !u->acc_f)
        return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory for importance scores", m->name);
    return CTCD_OK;
}

/* Forward, task loss and backward of one batch; adds |∂L/∂gate| to the host sums. */
static ctcd_status batch_importance(ctcd_model *m, imp_bufs *u, const ctcd_batch *b) {
    ctcd_backend *be = m->be;
    const int C = m->cfg.n_labels;
    if (C == 1 && !b->targets)
        return CTCD_ERR(CTCD_E_INVALID, "%s: a regression model needs regression targets",
                        m->name);
    if (C > 1 && !b->labels)
        return CTCD_ERR(CTCD_E_INVALID, "%s: a classifier needs class labels", m->name);
    ctcd_batch_dev db;
    CTCD_TRY(ctcd_batch_buffers_upload(&u->batch, b, &db));
    CTCD_TRY(ctcd_model_masks_zero_grad(m));
    CTCD_TRY(ctcd_model_forward(m, &db, 0, 0));
    ctcd_loss_desc d = {.kind = C == 1 ? CTCD_LOSS_MSE : CTCD_LOSS_CE_KL, .n_models = 1,
                        .rows = b->B, .classes = C, .temperature = 1.0f,
                        .hard_w = {1.0f, 0.0f}};
    ctcd_loss_io io = {.logits = {m->acts.logits}, .dlogits = {m->acts.dlogits},
                       .labels = u->batch.labels, .targets = u->batch.targets,
                       .terms = u->terms};
    CTCD_TRY(be->loss(be, &d, &io));
    CTCD_TRY(ctcd_model_backward(m, &db, 0));
    CTCD_TRY(ctcd_model_masks_get_grad(m, u->gh, u->gf));
    for (int64_t i = 0; i < m->n_head_units; i++) u->acc_h[i] += fabs((double)u->gh[i]);
    for (int64_t i = 0; i < m->n_ffn_units; i++) u->acc_f[i] += fabs((double)u->gf[i]);
    return CTCD_OK;
}

static ctcd_status run_batches(ctcd_model *m, const ctcd_dataset *d,
                               const ctcd_importance_opts *o, imp_bufs *u) {
    const int batch = o->batch < 1 || o->batch > m->B_max ? m->B_max : o->batch;
    int max_len = o->max_len < 1 || o->max_len > m->T_max ? m->T_max : o->max_len;
    ctcd_batcher_config bc = {.batch = batch, .max_len = max_len, .pad_multiple = 8,
                              .shuffle = o->seed != 0, .bucket_batches = 1, .seed = o->seed};
    if (max_len % 8 && (max_len + 7) / 8 * 8 > m->T_max) bc.pad_multiple = 1;
    ctcd_batcher bt;
    CTCD_TRY(ctcd_batcher_init(&bt, d, &bc));
    ctcd_status st = bufs_alloc(u, m, batch, m->T_max);
    const ctcd_batch *b;
    int64_t n = 0;
    while (!st && (o->max_batches <= 0 || n < o->max_batches) && ctcd_batcher_next(&bt, &b)) {
        st = batch_importance(m, u, b);
        n++;
    }
    ctcd_batcher_free(&bt);
    if (!st && n == 0) st = CTCD_ERR(CTCD_E_INVALID, "%s has no examples", d->name);
    return st;
}

ctcd_status ctcd_model_importance(ctcd_model *m, const ctcd_dataset *d,
                                  const ctcd_importance_opts *o, float *head, float *ffn) {
    if (m->cfg.head != CTCD_HEAD_CLASSIFY)
        return CTCD_ERR(CTCD_E_INVALID, "%s: importance needs a classification/regression head",
                        m->name);
    if ((d->n_classes == 1) != (m->cfg.n_labels == 1) ||
        (d->n_classes > 1 && d->n_classes != m->cfg.n_labels))
        return CTCD_ERR(CTCD_E_INVALID, "%s: %d output(s) but %s has %d class(es)", m->name,
                        m->cfg.n_labels, d->name, d->n_classes);
    const int had_masks = m->masks != NULL;
    CTCD_TRY(ctcd_model_masks_enable(m));
    if (had_masks) {
        ctcd_model_masks_disable(m); /* fresh gates of one */
        CTCD_TRY(ctcd_model_masks_enable(m));
    }
    /* Dropout off in forward and backward alike (backward reads the config's rates). */
    const float p_hid = m->cfg.hidden_dropout, p_att = m->cfg.attn_dropout;
    m->cfg.hidden_dropout = m->cfg.attn_dropout = 0.0f;
    imp_bufs u;
    memset(&u, 0, sizeof u);
    u.be = m->be;
    ctcd_status st = run_batches(m, d, o, &u);
    m->cfg.hidden_dropout = p_hid;
    m->cfg.attn_dropout = p_att;
    for (int64_t i = 0; !st && i < m->n_head_units; i++) head[i] = (float)u.acc_h[i];
    for (int64_t i = 0; !st && i < m->n_ffn_units; i++) ffn[i] = (float)u.acc_f[i];
    bufs_free(&u);
    if (!had_masks) ctcd_model_masks_disable(m);
    ctcd_status z = ctcd_model_zero_grad(m);
    if (!st) st = z;
    else ctcd_status_free(z);
    return st ? ctcd_error_wrap(st, "importance of %s on %s", m->name, d->name) : CTCD_OK;
}
