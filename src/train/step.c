/* step.c — the lockstep co-training step, as a straight line (DESIGN.md section 1):
 * upload the batch, forward every model, one fused loss over all logits, backward every
 * model, clip + AdamW for each model with its own learning rate. With rationale.* a model's
 * backward also runs its rationale decoder (rationale_train.c) and the label loss is
 * weighted 1 − λ. */
#include <math.h>

#include "train_internal.h"

ctcd_status ctcd_upload_batch_inputs(ctcd_backend *be, const ctcd_batch *b, int32_t *ids,
                                     int32_t *types, int32_t *mask, int32_t *cls) {
    const size_t BT = (size_t)b->B * (size_t)b->T * sizeof(int32_t);
    CTCD_TRY(be->upload(be, ids, b->ids, BT));
    CTCD_TRY(be->upload(be, types, b->types, BT));
    CTCD_TRY(be->upload(be, mask, b->mask, BT));
    return be->upload(be, cls, b->cls_idx, (size_t)b->B * sizeof(int32_t));
}

ctcd_status ctcd_trainer_upload_batch(ctcd_trainer *t, const ctcd_batch *b,
                                      ctcd_batch_dev *db) {
    ctcd_backend *be = t->be;
    CTCD_TRY(ctcd_upload_batch_inputs(be, b, t->d_ids, t->d_types, t->d_mask, t->d_cls));
    if (b->labels) CTCD_TRY(be->upload(be, t->d_labels, b->labels, (size_t)b->B * 4));
    if (b->targets) CTCD_TRY(be->upload(be, t->d_targets, b->targets, (size_t)b->B * 4));
    *db = (ctcd_batch_dev){.B = b->B, .T = b->T, .ids = t->d_ids, .types = t->d_types,
                           .mask = t->d_mask, .cls_idx = t->d_cls};
    return CTCD_OK;
}

ctcd_status ctcd_trainer_upload_mlm_batch(ctcd_trainer *t, const ctcd_mlm_batch *mb,
                                          ctcd_batch_dev *db) {
    ctcd_backend *be = t->be;
    if (mb->n_pred > t->R_cap)
        return CTCD_ERR(CTCD_E_INVALID, "%lld masked rows exceed the capacity %lld",
                        (long long)mb->n_pred, (long long)t->R_cap);
    CTCD_TRY(ctcd_trainer_upload_batch(t, &mb->b, db));
    const size_t n = (size_t)mb->n_pred * sizeof(int32_t);
    if (n) CTCD_TRY(be->upload(be, t->d_pred_idx, mb->pred_idx, n));
    if (n) CTCD_TRY(be->upload(be, t->d_pred_labels, mb->pred_labels, n));
    db->n_pred = mb->n_pred;
    db->pred_idx = t->d_pred_idx;
    return CTCD_OK;
}

/* The loss descriptor of this step: hard and (ramped) mutual weights per model slot, over
 * `rows` rows of the models' output width. */
static ctcd_loss_desc loss_desc(const ctcd_trainer *t, int64_t rows, float ramp) {
    ctcd_loss_desc d = {0};
    d.kind = t->loss_kind;
    d.n_models = t->n_models;
    d.rows = rows;
    d.classes = ctcd_bert_out_classes(&t->models[0]->cfg);
    d.temperature = t->rc.distill.temperature;
    for (int i = 0; i < t->n_models; i++) {
        const int r = t->role[i];
        d.hard_w[i] = t->rc.distill.hard[r];
        /* small_to_large is the weight of the large model's term that pulls it to the small */
        const float w = r == CTCD_LARGE ? t->rc.distill.small_to_large
                                        : t->rc.distill.large_to_small;
        d.mutual_w[i] = t->n_models == 2 ? w * ramp : 0.0f;
        d.teacher_w[i] = t->teacher ? t->rc.distill.teacher[r] : 0.0f;
        if (t->rat[i]) { /* distilling step-by-step: the label task gets 1 − λ */
            const float keep = 1.0f - t->rc.rationale.lambda;
            d.hard_w[i] *= keep;
            d.mutual_w[i] *= keep;
            d.teacher_w[i] *= keep;
        }
    }
    return d;
}

/* Names of the profiler ranges of each model slot's phases (NVTX on CUDA). */
static const char *range_name(const ctcd_trainer *t, int i, int bwd) {
    static const char *const names[2][2] = {{"fwd/large", "bwd/large"}, {"fwd/small", "bwd/small"}};
    return names[t->role[i]][bwd];
}

/* The step itself on an uploaded batch: every phase inside its own profiler range. The loss
 * runs over `rows` output rows with class labels `labels` (device memory). */
static ctcd_status step_phases(ctcd_trainer *t, const ctcd_batch_dev *pdb, int64_t rows,
                               const int32_t *labels, ctcd_step_stats *stats, int64_t step) {
    ctcd_backend *be = t->be;
    const ctcd_batch_dev db = *pdb;

    for (int i = 0; i < t->n_models; i++) {
        ctcd_range_push(be, range_name(t, i, 0));
        ctcd_status st = ctcd_model_zero_grad(t->models[i]);
        if (!st) st = ctcd_model_forward(t->models[i], &db, 1, step);
        ctcd_range_pop(be);
        CTCD_TRY(st);
    }
    if (t->teacher) {
        ctcd_range_push(be, "fwd/teacher");
        ctcd_status st = ctcd_model_forward(t->teacher, &db, 0, step);
        ctcd_range_pop(be);
        CTCD_TRY(st);
    }

    const float ramp = (float)ctcd_ramp_factor(step, t->rc.distill.ramp_steps);
    const ctcd_loss_desc desc = loss_desc(t, rows, ramp);
    ctcd_loss_io io = {0};
    for (int i = 0; i < t->n_models; i++) {
        io.logits[i] = t->models[i]->acts.logits;
        io.dlogits[i] = t->models[i]->acts.dlogits;
    }
    io.teacher = t->teacher ? t->teacher->acts.logits : NULL;
    io.labels = labels;
    io.targets = t->d_targets;
    io.terms = t->d_terms;
    ctcd_range_push(be, "loss");
    ctcd_status st = be->loss(be, &desc, &io);
    ctcd_range_pop(be);
    CTCD_TRY(st);

    for (int i = 0; i < t->n_models; i++) {
        ctcd_range_push(be, range_name(t, i, 1));
        stats->rat_loss[i] = 0.0f;
        st = t->rat[i] ? ctcd_trainer_rationale_backward(t, i, &db, step, &stats->rat_loss[i])
                       : ctcd_model_backward(t->models[i], &db, step);
        ctcd_range_pop(be);
        CTCD_TRY(st);
    }

    const double f = ctcd_lr_factor(step, t->total_steps, t->warmup_steps);
    ctcd_range_push(be, "optim");
    for (int i = 0; !st && i < t->n_models; i++) {
        ctcd_adamw_hparams h = {
            .lr = (float)(t->rc.train.lr[t->role[i]] * f),
            .beta1 = t->rc.train.adam_beta1,
            .beta2 = t->rc.train.adam_beta2,
            .eps = t->rc.train.adam_eps,
            .weight_decay = t->rc.train.weight_decay,
            .step = step + 1,
            .max_norm = t->rc.train.clip,
        };
        stats->lr[i] = h.lr;
        stats->mutual_w[i] = desc.mutual_w[i];
        st = ctcd_model_optimizer_step(t->models[i], &h, &stats->grad_norm[i]);
        /* The decoder: the same schedule, clipped over its own gradients. */
        if (!st && t->rat[i]) st = ctcd_rationale_optimizer_step(t->rat[i], &h, NULL);
    }
    ctcd_range_pop(be);
    CTCD_TRY(st);
    return be->download(be, stats->terms, t->d_terms, sizeof stats->terms);
}

/* Runs the step on an uploaded batch and checks the losses; advances t->step. */
static ctcd_status step_checked(ctcd_trainer *t, const ctcd_batch *b, const ctcd_batch_dev *db,
                                int64_t rows, const int32_t *labels, ctcd_step_stats *stats) {
    ctcd_backend *be = t->be;
    const int64_t step = t->step;
    ctcd_range_push(be, "step");
    ctcd_status st = step_phases(t, db, rows, labels, stats, step);
    ctcd_range_pop(be);
    CTCD_TRY(st);
    stats->B = b->B;
    stats->T = b->T;
    for (int i = 0; i < t->n_models; i++)
        if (!isfinite(stats->terms[CTCD_TERM_TOTAL0 + i]))
            return CTCD_ERR(CTCD_E_INVALID,
                            "step %lld: the loss of model %s is not finite (%g); lower "
                            "train.lr.%s or check the data",
                            (long long)step, t->models[i]->name,
                            (double)stats->terms[CTCD_TERM_TOTAL0 + i], t->models[i]->name);
    t->step++;
    return CTCD_OK;
}

ctcd_status ctcd_trainer_step(ctcd_trainer *t, const ctcd_batch *b, ctcd_step_stats *stats) {
    ctcd_batch_dev db;
    ctcd_range_push(t->be, "upload");
    ctcd_status st = ctcd_trainer_upload_batch(t, b, &db);
    if (!st) st = ctcd_trainer_upload_rationale(t, b); /* no-op without rationale.* */
    ctcd_range_pop(t->be);
    CTCD_TRY(st);
    return step_checked(t, b, &db, b->B, t->d_labels, stats);
}

ctcd_status ctcd_trainer_step_mlm(ctcd_trainer *t, const ctcd_mlm_batch *mb,
                                  ctcd_step_stats *stats) {
    ctcd_batch_dev db;
    ctcd_range_push(t->be, "upload");
    ctcd_status st = ctcd_trainer_upload_mlm_batch(t, mb, &db);
    ctcd_range_pop(t->be);
    CTCD_TRY(st);
    return step_checked(t, &mb->b, &db, mb->n_pred, t->d_pred_labels, stats);
}
