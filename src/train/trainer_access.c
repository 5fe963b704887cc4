/* trainer_access.c — the trainer seen from outside src/train/ (include/ctcd/train.h):
 * read access to its models, data and progress, its batches and device buffers, and the
 * hooks, so that drivers and tests never depend on the trainer's struct. */
#include "train_internal.h"

ctcd_train_progress ctcd_trainer_progress(const ctcd_trainer *t) {
    return (ctcd_train_progress){
        .step = t->step,
        .total_steps = t->total_steps,
        .steps_per_epoch = t->steps_per_epoch,
        .skipped_steps = t->skipped_steps,
        .last_eval_step = t->last_eval_step,
        .best = {t->best[0], t->best[1]},
        .stop_signal = t->stop_signal,
        .cursor = ctcd_trainer_cursor(t),
    };
}

const ctcd_recipe *ctcd_trainer_recipe(const ctcd_trainer *t) { return &t->rc; }
ctcd_backend *ctcd_trainer_backend(const ctcd_trainer *t) { return t->be; }
int ctcd_trainer_n_models(const ctcd_trainer *t) { return t->n_models; }

ctcd_model *ctcd_trainer_model(const ctcd_trainer *t, int slot) {
    CTCD_ASSERT(slot >= 0 && slot < t->n_models, "model slot %d of %d", slot, t->n_models);
    return t->models[slot];
}

int ctcd_trainer_role(const ctcd_trainer *t, int slot) {
    CTCD_ASSERT(slot >= 0 && slot < t->n_models, "model slot %d of %d", slot, t->n_models);
    return t->role[slot];
}

ctcd_model *ctcd_trainer_teacher(const ctcd_trainer *t) { return t->teacher.model; }

ctcd_rationale_decoder *ctcd_trainer_rationale_decoder(const ctcd_trainer *t, int slot) {
    CTCD_ASSERT(slot >= 0 && slot < t->n_models, "model slot %d of %d", slot, t->n_models);
    return t->rat.dec[slot];
}

const ctcd_rationale_set *ctcd_trainer_rationales(const ctcd_trainer *t) {
    return &t->rat.train;
}

ctcd_rationale_rows ctcd_trainer_rationale_rows(const ctcd_trainer *t) {
    if (!t->rat.dec[0]) return (ctcd_rationale_rows){0};
    return (ctcd_rationale_rows){.B = t->rat.B, .T = t->rat.T, .targets = t->rat.h_tgt,
                                 .mc_rows = t->mc.h_rows, .mc_mask = t->mc.h_mask};
}

const ctcd_dataset *ctcd_trainer_train_set(const ctcd_trainer *t) { return &t->train; }
int ctcd_trainer_n_dev(const ctcd_trainer *t) { return t->n_dev; }

const ctcd_dataset *ctcd_trainer_dev_set(const ctcd_trainer *t, int split, const char **name) {
    CTCD_ASSERT(split >= 0 && split < t->n_dev, "dev split %d of %d", split, t->n_dev);
    if (name) *name = t->dev_names[split];
    return &t->dev[split];
}

ctcd_loss_kind ctcd_trainer_loss_kind(const ctcd_trainer *t) { return t->loss_kind; }
int ctcd_trainer_n_choices(const ctcd_trainer *t) { return t->mc.n_choices; }
const char *ctcd_trainer_vocab_path(const ctcd_trainer *t) { return t->vocab_path; }

int ctcd_trainer_next_batch(ctcd_trainer *t, const ctcd_batch **b) {
    CTCD_ASSERT(!ctcd_trainer_is_mlm(t), "a masked-LM trainer has masked-LM batches "
                "(ctcd_trainer_next_mlm_batch)");
    return ctcd_batcher_next(&t->batcher, b);
}

int ctcd_trainer_next_mlm_batch(ctcd_trainer *t, const ctcd_mlm_batch **mb) {
    CTCD_ASSERT(ctcd_trainer_is_mlm(t), "only a masked-LM trainer (task mlm) has masked-LM "
                "batches (ctcd_trainer_next_batch)");
    return ctcd_mlm_batcher_next(&t->mlm.batcher, mb);
}

const ctcd_batch_buffers *ctcd_trainer_batch_buffers(const ctcd_trainer *t) { return &t->bufs; }

void ctcd_trainer_set_on_step(ctcd_trainer *t, ctcd_step_hook fn, void *ctx) {
    t->on_step = fn;
    t->on_step_ctx = ctx;
}

void ctcd_trainer_set_on_backward(ctcd_trainer *t, ctcd_backward_hook fn, void *ctx) {
    t->on_backward = fn;
    t->on_backward_ctx = ctx;
}
