/* train.h — the lockstep co-trainer: one batch → forward every model → one fused loss →
 * backward every model → one optimizer step each (DESIGN.md section 1).
 *
 * A trainer holds one or two models (one when the recipe names only models.large or only
 * models.small: that is plain fine-tuning through the same code path, and with the mutual
 * weights at 0 a pair trains exactly like two separate runs). */
#ifndef CTCD_TRAIN_H
#define CTCD_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "ctcd/backend.h"
#include "ctcd/batch_upload.h"
#include "ctcd/corpus.h"
#include "ctcd/data.h"
#include "ctcd/glue.h"
#include "ctcd/metrics.h"
#include "ctcd/model.h"
#include "ctcd/rationale.h"
#include "ctcd/rationale_data.h"
#include "ctcd/recipe.h"
#include "ctcd/run_dir.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Linear warmup then linear decay to 0 (HF get_linear_schedule_with_warmup): the factor
 * applied to the base learning rate for the update with 0-based index `step`. */
double ctcd_lr_factor(int64_t step, int64_t total_steps, int64_t warmup_steps);
/* Mutual-weight ramp: min(1, step / ramp_steps), 1 when ramp_steps == 0. */
double ctcd_ramp_factor(int64_t step, int64_t ramp_steps);

typedef struct ctcd_step_stats {
    float terms[CTCD_LOSS_NTERMS];  /* loss terms of the step (see backend.h) */
    float grad_norm[2];             /* pre-clip global grad norm per model */
    float lr[2];
    float mutual_w[2];              /* mutual weights after the ramp */
    int skipped;                    /* 1 when a non-finite loss/gradient skipped the update
                                       of every model (train.skip_nonfinite) */
    float rat_loss[2];              /* rationale decoder's mean token CE (0 when off) */
    float rat_kl[2];                /* decoders' token-level mutual KL (rationale.mutual_kl) */
    int B, T;
} ctcd_step_stats;

/* One evaluation of every model on every dev split of the task. */
typedef struct ctcd_eval_result {
    const char *task_metric;  /* the task's metric ("acc", "mcc", "acc+f1", ...) */
    char split[CTCD_EVAL_SPLIT_MAX]; /* what was evaluated: "dev", "test" (e-SNLI, CQA),
                                      * "dev_matched+dev_mismatched" (MNLI), "held-out" (MLM) */
    ctcd_metric_set m[2];     /* per model slot: each metric and the task score */
    int64_t examples;         /* over all dev splits */
} ctcd_eval_result;

#define CTCD_MAX_DEV_SPLITS 2

/* The trainer: its struct is private to src/train/ (train_internal.h); everything outside
 * reads it through the functions below. */
typedef struct ctcd_trainer ctcd_trainer;
struct ctcd_comm; /* include/ctcd/dist.h */

/* Builds datasets, backend, models (randomly initialised from train.seed and each role's
 * name) and the run directory (resolved recipe written there) from a validated recipe.
 * The run directory is locked for the trainer's life (include/ctcd/run_dir.h); a previous
 * run in it is overwritten (CTCD_RUN_OVERWRITE: recipe.yaml and the logs rewritten, other
 * files kept), removed first (CTCD_RUN_REPLACE, `ctcd train --force`) or an error
 * (CTCD_RUN_REFUSE, `ctcd train`). ctcd_trainer_create uses CTCD_RUN_OVERWRITE. */
ctcd_status ctcd_trainer_create(const ctcd_recipe *rc, ctcd_trainer **out);
ctcd_status ctcd_trainer_create_ex(const ctcd_recipe *rc, ctcd_run_existing existing,
                                   ctcd_trainer **out);
void ctcd_trainer_destroy(ctcd_trainer *t);
/* Attaches comm (borrowed; it outlives t) for data parallelism (include/ctcd/dist.h). With
 * train.zero: 1 and more than one rank, every model's AdamW moments shrink to this rank's
 * shard (ZeRO-1, include/ctcd/zero.h); call it after any state was loaded, which always
 * holds every moment. */
ctcd_status ctcd_trainer_set_comm(ctcd_trainer *t, struct ctcd_comm *comm);
/* One lockstep step on a host batch (src/train/step.c). A NaN/Inf loss term or gradient
 * is a CTCD_E_NONFINITE error naming the model and the loss term or parameter, raised
 * before any model is updated; with train.skip_nonfinite the step instead updates no model,
 * counts itself in the progress's skipped_steps, sets stats->skipped and returns CTCD_OK. */
ctcd_status ctcd_trainer_step(ctcd_trainer *t, const ctcd_batch *b, ctcd_step_stats *stats);
/* The same step on a masked-LM batch: the loss runs over the masked rows only. */
ctcd_status ctcd_trainer_step_mlm(ctcd_trainer *t, const ctcd_mlm_batch *mb,
                                  ctcd_step_stats *stats);
/* Runs a classification/regression model over every example of d (dropout off) in
 * batches of up to `batch` examples padded to at most max_len, writing logits (d->n, C) in
 * dataset order, C = ctcd_model_predict_width: n_labels, or K for a multiple-choice model
 * on a K-choice dataset (its K one-output rows per example; both must be multiple choice
 * or neither) (src/train/predict.c). */
ctcd_status ctcd_model_predict(ctcd_model *m, const ctcd_dataset *d, int batch, int max_len,
                               float *logits);
int ctcd_model_predict_width(const ctcd_model *m, const ctcd_dataset *d);
/* Evaluates every model on every dev split (dropout off) with the task's metrics. */
ctcd_status ctcd_trainer_evaluate(ctcd_trainer *t, ctcd_eval_result *res);
/* The frozen teacher (ctcd_trainer_teacher(t) != NULL) on every dev split, with the task's
 * metrics. */
ctcd_status ctcd_trainer_evaluate_teacher(ctcd_trainer *t, ctcd_metric_set *out);
/* Masked-LM pre-training (task "mlm", src/train/pretrain.c): corpus shard, held-out split,
 * both models with the masked-LM head; ctcd_trainer_run then pre-trains them. */
ctcd_status ctcd_pretrainer_create(const ctcd_recipe *rc, ctcd_trainer **out);
/* Masked-LM loss and accuracy of every model on the fixed held-out batches. */
ctcd_status ctcd_pretrainer_evaluate(ctcd_trainer *t, ctcd_eval_result *res);
/* The whole run: epochs/max_steps with progress, logs and periodic evaluation; *final
 * receives the last evaluation. The training state is written every
 * train.checkpoint_every steps and at the end (include/ctcd/resume.h). When a stop is
 * requested (SIGINT/SIGTERM, ctcd_interrupt_request) it writes the state and the last
 * checkpoints at the next step boundary, sets the progress's stop_signal and returns
 * CTCD_OK without a final evaluation (*final is then unset). */
ctcd_status ctcd_trainer_run(ctcd_trainer *t, ctcd_eval_result *final);
/* Writes model slot's checkpoint to <output>/<role>/<which> in Hugging Face layout (with
 * its rationale decoder, if any, under <output>/rationale/); a no-op without an output
 * directory. */
ctcd_status ctcd_trainer_save(ctcd_trainer *t, int slot, const char *which);
/* Writes m (a slot's model, or one derived from it, e.g. pruned) to dir as the run's
 * checkpoints are written: F32 model.safetensors, config.json with the task's label names,
 * and the vocab.txt the trainer tokenised with (when it has one). */
ctcd_status ctcd_trainer_export(const ctcd_trainer *t, const ctcd_model *m, const char *dir);

/* ---- the trainer seen from outside src/train/ ----
 * Drivers (cli, experiment, plan, search), tests and benchmarks read a trainer through
 * these; its struct is the trainer's own. */

/* Where a trainer stands: a copy (take it again after a step). */
typedef struct ctcd_train_progress {
    int64_t step;             /* optimizer steps done (skipped ones included) */
    int64_t total_steps;      /* of the whole run (train.max_steps or epochs) */
    int64_t steps_per_epoch;
    int64_t skipped_steps;    /* steps whose update train.skip_nonfinite skipped */
    int64_t last_eval_step;   /* step of the latest evaluation, -1 before the first */
    double best[2];           /* best dev task score of each slot so far (-1e300 before) */
    int stop_signal;          /* SIGINT/SIGTERM when ctcd_trainer_run stopped early, else 0 */
    ctcd_batcher_cursor cursor;  /* the data position: epoch and batch within it */
} ctcd_train_progress;
ctcd_train_progress ctcd_trainer_progress(const ctcd_trainer *t);

/* The recipe it runs (validated; output empty without a run directory). */
const ctcd_recipe *ctcd_trainer_recipe(const ctcd_trainer *t);
ctcd_backend *ctcd_trainer_backend(const ctcd_trainer *t);
/* Trained model slots, in role order (large first when present): 1 or 2. */
int ctcd_trainer_n_models(const ctcd_trainer *t);
ctcd_model *ctcd_trainer_model(const ctcd_trainer *t, int slot);
/* CTCD_LARGE or CTCD_SMALL: the recipe section (models.<role>) of a slot. */
int ctcd_trainer_role(const ctcd_trainer *t, int slot);
/* models.teacher: frozen, forward only; NULL without one. */
ctcd_model *ctcd_trainer_teacher(const ctcd_trainer *t);
/* Slot's rationale decoder (rationale.source != none), else NULL. */
ctcd_rationale_decoder *ctcd_trainer_rationale_decoder(const ctcd_trainer *t, int slot);
/* The training rationales, aligned with ctcd_trainer_train_set by example index (empty
 * without rationale.source). */
const ctcd_rationale_set *ctcd_trainer_rationales(const ctcd_trainer *t);
/* Test view of the decoder rows the latest step built on the host (rationale_train.c): B
 * rows (the batch's examples) of T target tokens (-1: no loss), and for multiple choice the
 * encoder row (e·K + k)·T_enc + j and the key mask that decoder row e reads at position j
 * (B·T_enc of each; NULL otherwise). All NULL / 0 without decoders. */
typedef struct ctcd_rationale_rows {
    int B, T;
    const int32_t *targets;   /* host (B, T) */
    const int32_t *mc_rows;   /* host (B, T_enc) or NULL */
    const int32_t *mc_mask;   /* host (B, T_enc) or NULL */
} ctcd_rationale_rows;
ctcd_rationale_rows ctcd_trainer_rationale_rows(const ctcd_trainer *t);

/* The task's data: the training split (augmented rows included), the dev splits ("dev",
 * "dev_matched", ...; *name may be NULL), the loss the task trains with, its choices per
 * example (K >= 2: multiple choice, else 0) and the vocabulary file ("" without one). */
const ctcd_dataset *ctcd_trainer_train_set(const ctcd_trainer *t);
int ctcd_trainer_n_dev(const ctcd_trainer *t);
const ctcd_dataset *ctcd_trainer_dev_set(const ctcd_trainer *t, int split, const char **name);
ctcd_loss_kind ctcd_trainer_loss_kind(const ctcd_trainer *t);
int ctcd_trainer_n_choices(const ctcd_trainer *t);
const char *ctcd_trainer_vocab_path(const ctcd_trainer *t);

/* The next training batch from the trainer's own batcher (ctcd_batcher_next: 0 at an epoch
 * end, the next call starts the next epoch); a masked-LM trainer (task mlm) has masked-LM
 * batches instead (ctcd_mlm_batcher_next). The batch is valid until the next call. */
int ctcd_trainer_next_batch(ctcd_trainer *t, const ctcd_batch **b);
int ctcd_trainer_next_mlm_batch(ctcd_trainer *t, const ctcd_mlm_batch **mb);
/* Uploads a host batch into the trainer's device buffers (labels and targets when present)
 * and fills the view every model's forward reads; the masked-LM form also uploads the
 * masked rows and their labels. ctcd_trainer_batch_buffers gives the buffers (labels,
 * targets, pred_labels: what a loss reads); the next upload or step overwrites them. */
ctcd_status ctcd_trainer_upload_batch(ctcd_trainer *t, const ctcd_batch *b,
                                      ctcd_batch_dev *db);
ctcd_status ctcd_trainer_upload_mlm_batch(ctcd_trainer *t, const ctcd_mlm_batch *mb,
                                          ctcd_batch_dev *db);
const ctcd_batch_buffers *ctcd_trainer_batch_buffers(const ctcd_trainer *t);

/* Observer called by ctcd_trainer_run after every step (tests, experiment drivers); it may
 * call ctcd_interrupt_request() to stop the run as a signal would. NULL removes it. */
typedef void (*ctcd_step_hook)(ctcd_trainer *t, const ctcd_step_stats *s, void *ctx);
void ctcd_trainer_set_on_step(ctcd_trainer *t, ctcd_step_hook fn, void *ctx);
/* Test hook: called inside every step after the backward of all models and before the
 * finiteness check and the updates (fault injection into gradients). */
typedef void (*ctcd_backward_hook)(ctcd_trainer *t, void *ctx);
void ctcd_trainer_set_on_backward(ctcd_trainer *t, ctcd_backward_hook fn, void *ctx);

/* ---- `ctcd explain` (src/train/explain.c) ----
 * Runs an encoder checkpoint trained with rationale.* on the first n examples of an e-SNLI
 * or CQA split and prints, per example, the input (CQA: the question and its choices), the
 * gold label, the prediction, the reference rationale and the decoder's greedy rationale
 * (CQA: the decoder reads the encoder rows of the predicted choice). The decoder is decoder_path, or by default
 * the one the trainer saved beside the checkpoint: <run>/<role>/<which> pairs with
 * <run>/rationale/<role>/<which>/decoder.safetensors; without one only labels are shown. */
typedef struct ctcd_explain_opts {
    const char *ckpt;          /* encoder checkpoint directory (HF layout) */
    const char *decoder_path;  /* NULL = derived from ckpt */
    const char *task;          /* "esnli" (default, NULL) or "cqa" */
    const char *data_dir;      /* NULL = rationales/distilling-step-by-step/<task>, data roots */
    const char *vocab;         /* NULL = ckpt/vocab.txt, else the data roots' */
    const char *split;         /* "test" (default), "valid" (esnli) or "train" (cqa) */
    const char *source;        /* reference rationale shown: "human" (default) or "llm" */
    const char *backend;       /* "auto" (default), "cpu", "cuda" */
    int n;                     /* examples (default 5) */
    int max_len;               /* input tokens (default 128) */
    int max_new;               /* generated tokens (0 = the decoder's max_len) */
} ctcd_explain_opts;
ctcd_status ctcd_explain(const ctcd_explain_opts *o, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
