/* step.c — the lockstep co-training step (DESIGN.md section 1), as named phases that
 * lockstep() runs in order:
 *   schedule             each model's learning rate and (ramped) mutual weight
 *   forward_models       every model on its own stream (lane 1 + slot): they overlap on CUDA
 *   forward_teacher      the frozen teacher (models.teacher), forward only
 *   fused_loss           one kernel over every model's logits rows: hard, mutual, teacher
 *   backward_models      every model on its lane again (with rationale.*: its decoder too)
 *   reduce_across_ranks  data parallelism: gradients and loss terms summed over the ranks
 *   check_step           grad norms and the NaN/Inf check of every term and norm, before
 *                        any model is updated (so the pair stays in lockstep);
 *                        train.skip_nonfinite turns a failure into a skipped step
 *   update_models        clip + AdamW for each model with its own learning rate
 * The features plug into those phases: with rationale.* a model's backward also runs its
 * rationale decoder (rationale_train.c) and the label loss is weighted 1 − λ; with
 * rationale.mutual_kl the pair's decoders also distil into each other token by token. In a
 * data-parallel run (include/ctcd/dist.h) each rank does this on its share of the batch's
 * rows, with the loss weights scaled by that share; with ZeRO-1 (train.zero) each rank
 * reduce-scatters the gradients, updates its shard and all-gathers the weights. */
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
    return data_parallel(t) && ctcd_zero_is_sharded(&t->models[i]->ps);
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
        ctcd_status st = sharded(t, i) ? ctcd_zero_reduce_grads(c, &m->ps)
                                       : ctcd_error_wrap(c->allreduce_sum(c, t->be, m->ps.grads,
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

/* What one step runs on: the uploaded batch and this rank's loss rows in it. */
typedef struct step_input {
    ctcd_batch_dev db;        /* the device view every forward and backward reads */
    int64_t rows;             /* loss rows: examples, or masked rows (mlm); 0 on a rank
                                 without any in this batch */
    const int32_t *labels;    /* device (rows): class labels, or the masked rows' token ids */
    int64_t step;             /* 0-based index of this update */
    float ramp;               /* mutual-weight ramp factor at this step */
    float share;              /* this rank's share of the global batch's loss rows (1 in a
                                 single process) */
} step_input;

/* ---- the phases, in the order lockstep() runs them ---- */

/* The learning rate and the (ramped) mutual weight of every model at this step: what the
 * update uses and the log reports, skipped step or not. */
static void schedule(const ctcd_trainer *t, const step_input *in, ctcd_step_stats *s) {
    const double f = ctcd_lr_factor(in->step, t->total_steps, t->warmup_steps);
    for (int i = 0; i < t->n_models; i++) {
        s->lr[i] = (float)(t->rc.train.lr[t->role[i]] * f);
        s->mutual_w[i] = mutual_weight(t, i, in->ramp);
    }
}

/* Every model's forward (dropout on), each on its own stream; zeroes its gradients first. */
static ctcd_status forward_models(ctcd_trainer *t, const step_input *in) {
    ctcd_backend *be = t->be;
    ctcd_status st = CTCD_OK;
    for (int i = 0; !st && i < t->n_models; i++) {
        ctcd_range_push(be, range_name(t, i, 0));
        st = ctcd_stream_fork(be, 1 + i);
        if (!st) st = ctcd_model_zero_grad(t->models[i]);
        if (!st) st = ctcd_model_forward(t->models[i], &in->db, 1, in->step);
        ctcd_range_pop(be);
    }
    return joined(be, st); /* the loss reads every model's logits */
}

/* The frozen teacher's logits (dropout off) for the loss's teacher terms; a no-op without
 * models.teacher. */
static ctcd_status forward_teacher(ctcd_trainer *t, const step_input *in) {
    if (!t->teacher.model) return CTCD_OK;
    ctcd_range_push(t->be, "fwd/teacher");
    ctcd_status st = ctcd_model_forward(t->teacher.model, &in->db, 0, in->step);
    ctcd_range_pop(t->be);
    return st;
}

/* One fused kernel over every model's logits: the loss terms into t->d_terms and each
 * model's dlogits. */
static ctcd_status fused_loss(ctcd_trainer *t, const step_input *in) {
    const ctcd_loss_desc desc = loss_desc(t, in->rows, in->ramp, in->share);
    ctcd_loss_io io = {0};
    for (int i = 0; i < t->n_models; i++) {
        io.logits[i] = t->models[i]->acts.logits;
        io.dlogits[i] = t->models[i]->acts.dlogits;
    }
    io.teacher = t->teacher.model ? t->teacher.model->acts.logits : NULL;
    io.labels = in->labels;
    io.targets = t->bufs.targets;
    io.terms = t->d_terms;
    ctcd_range_push(t->be, "loss");
    ctcd_status st = t->be->loss(t->be, &desc, &io);
    ctcd_range_pop(t->be);
    return st;
}

/* A pair with rationale decoders: their token loss is one fused kernel (the mutual KL,
 * rationale.mutual_kl, needs both decoders' logits before either backward; at weight 0 each
 * gets its own CE gradient), so both models' backward run on the main stream. */
static ctcd_status backward_rationale_pair(ctcd_trainer *t, const step_input *in,
                                           ctcd_step_stats *s) {
    ctcd_range_push(t->be, "bwd/rationale-pair");
    ctcd_status st = ctcd_trainer_rationale_backward_pair(t, &in->db, in->step, in->ramp,
                                                          s->rat_loss, s->rat_kl);
    ctcd_range_pop(t->be);
    return st;
}

/* Model slot i's backward on its own stream: from its dlogits, through its rationale
 * decoder when it has one (*rat_loss: the decoder's mean token CE). */
static ctcd_status backward_model(ctcd_trainer *t, int i, const step_input *in,
                                  float *rat_loss) {
    ctcd_range_push(t->be, range_name(t, i, 1));
    ctcd_status st = ctcd_stream_fork(t->be, 1 + i);
    if (!st)
        st = t->rat.dec[i] ? ctcd_trainer_rationale_backward(t, i, &in->db, in->step, rat_loss)
                           : ctcd_model_backward(t->models[i], &in->db, in->step);
    ctcd_range_pop(t->be);
    return st;
}

/* Every model's backward, then the test hook on the accumulated gradients. */
static ctcd_status backward_models(ctcd_trainer *t, const step_input *in, ctcd_step_stats *s) {
    memset(s->rat_loss, 0, sizeof s->rat_loss);
    memset(s->rat_kl, 0, sizeof s->rat_kl);
    ctcd_status st = CTCD_OK;
    if (t->n_models == 2 && t->rat.dec[0] && t->rat.dec[1])
        st = backward_rationale_pair(t, in, s);
    else
        for (int i = 0; !st && i < t->n_models; i++)
            st = backward_model(t, i, in, &s->rat_loss[i]);
    CTCD_TRY(joined(t->be, st)); /* the update reads every model's gradients */
    if (t->on_backward) t->on_backward(t, t->on_backward_ctx);
    return CTCD_OK;
}

/* The loss terms of this rank's rows, back on the host. */
static ctcd_status download_terms(ctcd_trainer *t, ctcd_step_stats *s) {
    return t->be->download(t->be, s->terms, t->d_terms, sizeof s->terms);
}

/* A data-parallel rank without rows in this batch: it adds zero gradients and zero terms
 * to the sums over the ranks. */
static ctcd_status contribute_nothing(ctcd_trainer *t, ctcd_step_stats *s) {
    for (int i = 0; i < t->n_models; i++) CTCD_TRY(ctcd_model_zero_grad(t->models[i]));
    memset(s->terms, 0, sizeof s->terms);
    memset(s->rat_loss, 0, sizeof s->rat_loss);
    memset(s->rat_kl, 0, sizeof s->rat_kl);
    return CTCD_OK;
}

/* Model slot i's pre-clip gradient norm (with ZeRO-1 over the shards of every rank). */
static ctcd_status grad_norm(ctcd_trainer *t, int i, float *out) {
    return sharded(t, i) ? ctcd_zero_grad_norm(t->comm, &t->models[i]->ps, out)
                         : ctcd_model_grad_norm(t->models[i], out);
}

/* The loss terms and every grad norm before any update: a non-finite value stops the step
 * for every model (lockstep), so the pair never drifts apart (and, the terms and gradients
 * being summed over ranks, every rank decides the same). With train.skip_nonfinite the step
 * is marked skipped (s->skipped, t->skipped_steps) and CTCD_OK returned instead. */
static ctcd_status check_step(ctcd_trainer *t, int64_t step, ctcd_step_stats *s) {
    ctcd_status st = CTCD_OK;
    for (int i = 0; !st && i < t->n_models; i++) st = grad_norm(t, i, &s->grad_norm[i]);
    if (!st) st = check_finite(t, s, step);
    if (ctcd_status_code(st) != CTCD_E_NONFINITE || !t->rc.train.skip_nonfinite) return st;
    t->skipped_steps++;
    s->skipped = 1;
    ctcd_warn("%s; step skipped for every model (train.skip_nonfinite; %lld skipped so far)",
              ctcd_status_message(st), (long long)t->skipped_steps);
    ctcd_status_free(st);
    return CTCD_OK;
}

/* ZeRO-1: every rank's updated shard of slot i's weights to every rank. */
static ctcd_status gather_params(ctcd_trainer *t, int i) {
    ctcd_range_push(t->be, "allgather");
    ctcd_status st = ctcd_zero_gather_params(t->comm, &t->models[i]->ps);
    ctcd_range_pop(t->be);
    return st;
}

/* Clip + AdamW of every model at the learning rate schedule() chose; a model's rationale
 * decoder follows the same schedule, clipped over its own gradients. */
static ctcd_status update_models(ctcd_trainer *t, int64_t step, const ctcd_step_stats *s) {
    for (int i = 0; i < t->n_models; i++) {
        const ctcd_adamw_hparams h = {
            .lr = s->lr[i],
            .beta1 = t->rc.train.adam_beta1,
            .beta2 = t->rc.train.adam_beta2,
            .eps = t->rc.train.adam_eps,
            .weight_decay = t->rc.train.weight_decay,
            .step = step + 1,
            .max_norm = t->rc.train.clip,
        };
        CTCD_TRY(ctcd_model_apply_update(t->models[i], &h));
        if (sharded(t, i)) CTCD_TRY(gather_params(t, i));
        if (t->rat.dec[i]) CTCD_TRY(ctcd_rationale_optimizer_step(t->rat.dec[i], &h, NULL));
    }
    return CTCD_OK;
}

/* The step of DESIGN.md section 1 on an uploaded batch, every phase in its own profiler
 * range. */
static ctcd_status lockstep(ctcd_trainer *t, const step_input *in, ctcd_step_stats *s) {
    schedule(t, in, s);                          /* each model's lr and mutual weight */
    if (in->rows > 0) {
        CTCD_TRY(forward_models(t, in));         /* large ‖ small, each on its lane */
        CTCD_TRY(forward_teacher(t, in));        /* the frozen teacher, if any */
        CTCD_TRY(fused_loss(t, in));             /* one kernel over every logits row */
        CTCD_TRY(backward_models(t, in, s));     /* large ‖ small (and their decoders) */
        CTCD_TRY(download_terms(t, s));
    } else {
        CTCD_TRY(contribute_nothing(t, s));      /* data parallel: a rank without rows */
    }
    if (data_parallel(t)) CTCD_TRY(reduce_across_ranks(t, s->terms, in->share));
    ctcd_range_push(t->be, "optim");
    ctcd_status st = check_step(t, in->step, s); /* grad norms; NaN/Inf: fail or skip */
    if (!st && !s->skipped) st = update_models(t, in->step, s); /* clip + AdamW each */
    ctcd_range_pop(t->be);
    return st;
}

/* Runs the step on an uploaded batch (skipped or not, it consumed its batch); advances
 * t->step. */
static ctcd_status step_checked(ctcd_trainer *t, const ctcd_batch *b, const ctcd_batch_dev *db,
                                int64_t rows, const int32_t *labels, ctcd_step_stats *stats,
                                float share) {
    const step_input in = {
        .db = *db,
        .rows = rows,
        .labels = labels,
        .step = t->step,
        .ramp = (float)ctcd_ramp_factor(t->step, t->rc.distill.ramp_steps),
        .share = share,
    };
    stats->skipped = 0;
    ctcd_range_push(t->be, "step");
    ctcd_status st = lockstep(t, &in, stats);
    ctcd_range_pop(t->be);
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
