/* step.c — the lockstep co-training step, as a straight line (DESIGN.md section 1):
 * upload the batch, forward every model, one fused loss over all logits, backward every
 * model (each model's forward and backward on its own stream: they overlap on CUDA; joined
 * before the loss and before the update), the NaN/Inf check of every loss term and grad norm
 * (before any model is updated, so the pair stays in lockstep), clip + AdamW for each model
 * with its own learning rate.
 * With rationale.* a model's backward also runs its rationale decoder (rationale_train.c)
 * and the label loss is weighted 1 − λ; with rationale.mutual_kl the pair's decoders also
 * distil into each other token by token. In a data-parallel run (include/ctcd/dist.h) each
 * rank does this on its share of the batch's rows, with the loss weights scaled by that
 * share, and the gradients and loss terms are summed across ranks before the check and the
 * update; with ZeRO-1 (train.zero) each rank updates its shard and the weights are then
 * all-gathered. */
#include <math.h>
#include <string.h>

#include "ctcd/dist.h"
#include "ctcd/log.h"
#include "ctcd/zero.h"

#include "train_internal.h"

ctcd_status ctcd_trainer_upload_batch(ctcd_trainer *t, const ctcd_batch *b,
                                      ctcd_batch_dev *db) {
    return ctcd_batch_buffers_upload(&t->bufs, b, db);
}

ctcd_status ctcd_trainer_upload_mlm_batch(ctcd_trainer *t, const ctcd_mlm_batch *mb,
                                          ctcd_batch_dev *db) {
    return ctcd_batch_buffers_upload_mlm(&t->bufs, mb, db);
}

static int data_parallel(const ctcd_trainer *t) { return t->comm && t->comm->world > 1; }

/* ZeRO-1 (include/ctcd/zero.h): model slot i's optimizer holds this rank's shard only. */
static int sharded(const ctcd_trainer *t, int i) {
    return data_parallel(t) && ctcd_zero_is_sharded(t->models[i]);
}

/* The (ramped) mutual weight of model slot i. */
static float mutual_weight(const ctcd_trainer *t, int i, float ramp) {
    /* small_to_large is the weight of the large model's term that pulls it to the small */
    const float w = t->role[i] == CTCD_LARGE ? t->rc.distill.small_to_large
                                             : t->rc.distill.large_to_small;
    return t->n_models == 2 ? w * ramp : 0.0f;
}

/* The loss descriptor of this step: hard, (ramped) mutual and teacher weights per model
 * slot, each times `share` (this rank's share of the global batch's loss rows; 1 in a
 * single process), over `rows` rows of the models' output width. */
static ctcd_loss_desc loss_desc(const ctcd_trainer *t, int64_t rows, float ramp, float share) {
    ctcd_loss_desc d = {0};
    d.kind = t->loss_kind;
    d.n_models = t->n_models;
    d.rows = rows;
    /* multiple choice: the (E·K, 1) scores are the (E, K) logits of E examples */
    d.classes = t->mc.n_choices > 1 ? t->mc.n_choices
                                    : ctcd_bert_out_classes(&t->models[0]->cfg);
    d.temperature = t->rc.distill.temperature;
    for (int i = 0; i < t->n_models; i++) {
        const int r = t->role[i];
        d.hard_w[i] = t->rc.distill.hard[r];
        d.mutual_w[i] = mutual_weight(t, i, ramp);
        d.teacher_w[i] = t->teacher.model ? t->rc.distill.teacher[r] : 0.0f;
        if (t->rat.dec[i]) { /* distilling step-by-step: the label task gets 1 − λ */
            const float keep = 1.0f - t->rc.rationale.lambda;
            d.hard_w[i] *= keep;
            d.mutual_w[i] *= keep;
            d.teacher_w[i] *= keep;
        }
        if (share != 1.0f) {
            d.hard_w[i] *= share;
            d.mutual_w[i] *= share;
            d.teacher_w[i] *= share;
        }
    }
    return d;
}

/* Sums every model's gradients and the loss terms over the ranks (with ZeRO-1 only this
 * rank's shard of the gradients: reduce-scatter). Before the sum the mean terms (hard,
 * mutual, teacher) are weighted by this rank's share; the totals already are (the loss
 * weights were scaled) and the correct counts add up as they are. */
static ctcd_status reduce_across_ranks(ctcd_trainer *t, float *terms, float share) {
    ctcd_comm *c = t->comm;
    for (int i = 0; i < t->n_models; i++) {
        ctcd_model *m = t->models[i];
        ctcd_range_push(t->be, "allreduce");
        ctcd_status st = sharded(t, i) ? ctcd_zero_reduce_grads(c, m)
                                       : ctcd_error_wrap(c->allreduce_sum(c, t->be, m->grads,
                                                                          m->lay.n_total),
                                                         "all-reduce of the %s model's "
                                                         "gradients", m->name);
        ctcd_range_pop(t->be);
        CTCD_TRY(st);
    }
    for (int m = 0; m < 2; m++) {
        terms[CTCD_TERM_HARD0 + m] *= share;
        terms[CTCD_TERM_MUTUAL0 + m] *= share;
        terms[CTCD_TERM_TEACHER0 + m] *= share;
    }
    return ctcd_error_wrap(c->allreduce_sum(c, NULL, terms, CTCD_LOSS_NTERMS),
                           "all-reduce of the loss terms");
}

/* Names of the profiler ranges of each model slot's phases (NVTX on CUDA). */
static const char *range_name(const ctcd_trainer *t, int i, int bwd) {
    static const char *const names[2][2] = {{"fwd/large", "bwd/large"}, {"fwd/small", "bwd/small"}};
    return names[t->role[i]][bwd];
}

/* "nan", "inf" or "-inf" (printf may spell a NaN "-nan"). */
static const char *nonfinite_name(float v) {
    return isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
}

/* CTCD_OK when every loss term and grad norm of the step is finite; otherwise a
 * CTCD_E_NONFINITE error naming the model and the loss term, or the parameter whose
 * gradient is not finite (found by a scan that only runs on this path). */
static ctcd_status check_finite(const ctcd_trainer *t, const ctcd_step_stats *s, int64_t step) {
    static const struct {
        int term0;
        const char *name;
    } terms[] = {{CTCD_TERM_HARD0, "hard"}, {CTCD_TERM_MUTUAL0, "mutual"},
                 {CTCD_TERM_TOTAL0, "total"}};
    for (int i = 0; i < t->n_models; i++) {
        const char *role = t->models[i]->name;
        for (size_t k = 0; k < sizeof terms / sizeof terms[0]; k++) {
            const float v = s->terms[terms[k].term0 + i];
            if (!isfinite(v))
                return CTCD_ERR(CTCD_E_NONFINITE,
                                "step %lld: model %s: loss term '%s' is %s; lower train.lr.%s, "
                                "check the data, or set train.skip_nonfinite: true",
                                (long long)step, role, terms[k].name, nonfinite_name(v), role);
        }
    }
    for (int i = 0; i < t->n_models; i++) {
        if (isfinite(s->grad_norm[i])) continue;
        const ctcd_model *m = t->models[i];
        ctcd_nonfinite nf;
        CTCD_TRY(ctcd_model_find_nonfinite_grad(m, &nf));
        if (!nf.param)
            return CTCD_ERR(CTCD_E_NONFINITE,
                            "step %lld: model %s: gradient norm overflows (every gradient "
                            "element is finite); lower train.lr.%s or set train.clip",
                            (long long)step, m->name, m->name);
        return CTCD_ERR(CTCD_E_NONFINITE,
                        "step %lld: model %s: gradient of '%s' is not finite (%s at element "
                        "%lld of %lld); lower train.lr.%s, or set train.skip_nonfinite: true",
                        (long long)step, m->name, nf.param->name, nonfinite_name(nf.value),
                        (long long)nf.index, (long long)nf.param->numel, m->name);
    }
    return CTCD_OK;
}

/* Back on the main stream after per-model work on the lanes; returns st, or the join's error
 * when st is CTCD_OK (the join runs either way, so the backend never stays on a lane). */
static ctcd_status joined(ctcd_backend *be, ctcd_status st) {
    ctcd_status js = ctcd_stream_join(be);
    if (st) {
        ctcd_status_free(js);
        return st;
    }
    return js;
}

/* The step itself on an uploaded batch: every phase inside its own profiler range. The loss
 * runs over `rows` output rows with class labels `labels` (device memory). */
static ctcd_status step_phases(ctcd_trainer *t, const ctcd_batch_dev *pdb, int64_t rows,
                               const int32_t *labels, ctcd_step_stats *stats, int64_t step,
                               float share) {
    ctcd_backend *be = t->be;
    const ctcd_batch_dev db = *pdb;
    const float ramp = (float)ctcd_ramp_factor(step, t->rc.distill.ramp_steps);
    ctcd_status st = CTCD_OK;
    if (rows == 0) { /* a rank without rows in this batch: it adds zero gradients */
        for (int i = 0; i < t->n_models; i++) CTCD_TRY(ctcd_model_zero_grad(t->models[i]));
        memset(stats->terms, 0, sizeof stats->terms);
        goto reduced;
    }

    /* Each model on its own stream (lane 1 + slot): the two forwards overlap on CUDA. */
    for (int i = 0; !st && i < t->n_models; i++) {
        ctcd_range_push(be, range_name(t, i, 0));
        st = ctcd_stream_fork(be, 1 + i);
        if (!st) st = ctcd_model_zero_grad(t->models[i]);
        if (!st) st = ctcd_model_forward(t->models[i], &db, 1, step);
        ctcd_range_pop(be);
    }
    CTCD_TRY(joined(be, st)); /* the loss reads every model's logits */
    if (t->teacher.model) {
        ctcd_range_push(be, "fwd/teacher");
        st = ctcd_model_forward(t->teacher.model, &db, 0, step);
        ctcd_range_pop(be);
        CTCD_TRY(st);
    }

    const ctcd_loss_desc desc = loss_desc(t, rows, ramp, share);
    ctcd_loss_io io = {0};
    for (int i = 0; i < t->n_models; i++) {
        io.logits[i] = t->models[i]->acts.logits;
        io.dlogits[i] = t->models[i]->acts.dlogits;
    }
    io.teacher = t->teacher.model ? t->teacher.model->acts.logits : NULL;
    io.labels = labels;
    io.targets = t->bufs.targets;
    io.terms = t->d_terms;
    ctcd_range_push(be, "loss");
    st = be->loss(be, &desc, &io);
    ctcd_range_pop(be);
    CTCD_TRY(st);

    memset(stats->rat_loss, 0, sizeof stats->rat_loss);
    memset(stats->rat_kl, 0, sizeof stats->rat_kl);
    if (t->n_models == 2 && t->rat.dec[0] && t->rat.dec[1]) {
        /* a pair's decoders share one fused token loss (their mutual KL, rationale.mutual_kl,
         * needs both before either backward); at weight 0 each gets its own CE gradient.
         * Both models' backward run on the main stream here. */
        ctcd_range_push(be, "bwd/rationale-pair");
        st = ctcd_trainer_rationale_backward_pair(t, &db, step, ramp, stats->rat_loss,
                                                  stats->rat_kl);
        ctcd_range_pop(be);
    } else {
        for (int i = 0; !st && i < t->n_models; i++) {
            ctcd_range_push(be, range_name(t, i, 1));
            st = ctcd_stream_fork(be, 1 + i);
            if (!st)
                st = t->rat.dec[i] ? ctcd_trainer_rationale_backward(t, i, &db, step,
                                                                     &stats->rat_loss[i])
                                   : ctcd_model_backward(t->models[i], &db, step);
            ctcd_range_pop(be);
        }
    }
    CTCD_TRY(joined(be, st)); /* the update reads every model's gradients */

    if (t->on_backward) t->on_backward(t, t->on_backward_ctx);
    CTCD_TRY(be->download(be, stats->terms, t->d_terms, sizeof stats->terms));
reduced:
    if (data_parallel(t)) CTCD_TRY(reduce_across_ranks(t, stats->terms, share));
    /* The loss terms and both grad norms before any update: a non-finite value stops the
     * step for every model (lockstep), so the pair never drifts apart (and, the terms and
     * gradients being summed over ranks, every rank decides the same). */
    ctcd_range_push(be, "optim");
    for (int i = 0; !st && i < t->n_models; i++)
        st = sharded(t, i) ? ctcd_zero_grad_norm(t->comm, t->models[i], &stats->grad_norm[i])
                           : ctcd_model_grad_norm(t->models[i], &stats->grad_norm[i]);
    if (!st) st = check_finite(t, stats, step);
    if (ctcd_status_code(st) == CTCD_E_NONFINITE && t->rc.train.skip_nonfinite) {
        t->skipped_steps++;
        stats->skipped = 1;
        ctcd_warn("%s; step skipped for every model (train.skip_nonfinite; %lld skipped so far)",
                  ctcd_status_message(st), (long long)t->skipped_steps);
        ctcd_status_free(st);
        st = CTCD_OK;
    }
    const double f = ctcd_lr_factor(step, t->total_steps, t->warmup_steps);
    for (int i = 0; i < t->n_models; i++) {
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
        stats->mutual_w[i] = mutual_weight(t, i, ramp);
        if (!st && !stats->skipped) st = ctcd_model_apply_update(t->models[i], &h);
        if (!st && !stats->skipped && sharded(t, i)) {
            ctcd_range_push(be, "allgather");
            st = ctcd_zero_gather_params(t->comm, t->models[i]);
            ctcd_range_pop(be);
        }
        /* The decoder: the same schedule, clipped over its own gradients. */
        if (!st && !stats->skipped && t->rat.dec[i])
            st = ctcd_rationale_optimizer_step(t->rat.dec[i], &h, NULL);
    }
    ctcd_range_pop(be);
    return st;
}

/* Runs the step on an uploaded batch (skipped or not, it consumed its batch); advances
 * t->step. */
static ctcd_status step_checked(ctcd_trainer *t, const ctcd_batch *b, const ctcd_batch_dev *db,
                                int64_t rows, const int32_t *labels, ctcd_step_stats *stats,
                                float share) {
    ctcd_backend *be = t->be;
    const int64_t step = t->step;
    stats->skipped = 0;
    ctcd_range_push(be, "step");
    ctcd_status st = step_phases(t, db, rows, labels, stats, step, share);
    ctcd_range_pop(be);
    CTCD_TRY(st);
    stats->B = b->B;
    stats->T = b->T;
    t->step++;
    return CTCD_OK;
}

/* This rank's examples [lo, hi) of global batch g as a batch of its own (pointers into g;
 * the [CLS] indices rebased into t->h_cls). A multiple-choice example's K rows stay
 * together. */
static void rows_of(ctcd_trainer *t, const ctcd_batch *g, int64_t lo, int64_t hi,
                    ctcd_batch *out) {
    const int64_t K = g->K > 1 ? g->K : 1;
    const size_t off = (size_t)(lo * K) * (size_t)g->T;
    *out = *g;
    out->B = (int)((hi - lo) * K);
    out->ids = g->ids + off;
    out->types = g->types + off;
    out->mask = g->mask + off;
    if (g->labels) out->labels = g->labels + lo;
    if (g->targets) out->targets = g->targets + lo;
    if (g->example) out->example = g->example + lo;
    for (int64_t r = lo * K; r < hi * K; r++) t->h_cls[r - lo * K] = g->cls_idx[r] - (int32_t)off;
    out->cls_idx = t->h_cls;
}

ctcd_status ctcd_trainer_step(ctcd_trainer *t, const ctcd_batch *b, ctcd_step_stats *stats) {
    ctcd_batch local;
    const ctcd_batch *mine = b;
    float share = 1.0f;
    if (data_parallel(t)) {
        int64_t lo, hi;
        const int E = ctcd_batch_examples(b);
        ctcd_shard_rows(E, t->comm->rank, t->comm->world, &lo, &hi);
        rows_of(t, b, lo, hi, &local);
        mine = &local;
        share = (float)((double)(hi - lo) / (double)E);
    }
    ctcd_batch_dev db;
    ctcd_range_push(t->be, "upload");
    ctcd_status st = ctcd_trainer_upload_batch(t, mine, &db);
    if (!st) st = ctcd_trainer_upload_rationale(t, mine); /* no-op without rationale.* */
    ctcd_range_pop(t->be);
    CTCD_TRY(st);
    return step_checked(t, b, &db, ctcd_batch_examples(mine), t->bufs.labels, stats,
                        share);
}

ctcd_status ctcd_trainer_step_mlm(ctcd_trainer *t, const ctcd_mlm_batch *mb,
                                  ctcd_step_stats *stats) {
    ctcd_mlm_batch local;
    const ctcd_mlm_batch *mine = mb;
    float share = 1.0f;
    if (data_parallel(t)) {
        /* the rows' masked positions: pred_idx ascends with the row */
        int64_t lo, hi, k0 = 0, k1;
        ctcd_shard_rows(mb->b.B, t->comm->rank, t->comm->world, &lo, &hi);
        const int64_t first = lo * mb->b.T, end = hi * mb->b.T;
        while (k0 < mb->n_pred && mb->pred_idx[k0] < first) k0++;
        for (k1 = k0; k1 < mb->n_pred && mb->pred_idx[k1] < end; k1++)
            t->mlm.h_pred[k1 - k0] = mb->pred_idx[k1] - (int32_t)first;
        local = *mb;
        rows_of(t, &mb->b, lo, hi, &local.b);
        local.n_pred = k1 - k0;
        local.pred_idx = t->mlm.h_pred;
        local.pred_labels = mb->pred_labels + k0;
        mine = &local;
        share = mb->n_pred ? (float)((double)local.n_pred / (double)mb->n_pred) : 0.0f;
    }
    ctcd_batch_dev db;
    ctcd_range_push(t->be, "upload");
    ctcd_status st = ctcd_trainer_upload_mlm_batch(t, mine, &db);
    ctcd_range_pop(t->be);
    CTCD_TRY(st);
    return step_checked(t, &mb->b, &db, mine->n_pred, t->bufs.pred_labels, stats, share);
}
