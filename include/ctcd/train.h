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
#include "ctcd/data.h"
#include "ctcd/model.h"
#include "ctcd/recipe.h"

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
    int B, T;
} ctcd_step_stats;

typedef struct ctcd_eval_result {
    const char *metric;       /* "accuracy", "pearson", ... */
    double value[2];          /* per model slot */
    int64_t examples;
} ctcd_eval_result;

typedef struct ctcd_trainer {
    ctcd_recipe rc;
    ctcd_backend *be;
    int n_models;
    ctcd_model *models[2];    /* model slots in role order (large first when present) */
    int role[2];              /* CTCD_LARGE / CTCD_SMALL of each slot */
    ctcd_dataset train, dev;
    ctcd_batcher batcher;
    int B_cap, T_cap;
    ctcd_loss_kind loss_kind;
    int64_t steps_per_epoch, total_steps, warmup_steps;
    int64_t step;             /* optimizer steps done */
    /* batch buffers on the backend */
    int32_t *d_ids, *d_types, *d_mask, *d_cls, *d_labels;  /* (B_cap·T_cap) / (B_cap) */
    float *d_targets;         /* (B_cap) */
    float *d_terms;           /* F32[CTCD_LOSS_NTERMS] */
    FILE *log;                /* <output>/log.jsonl or NULL */
    FILE *evlog;              /* <output>/eval.jsonl or NULL */
} ctcd_trainer;

/* Builds datasets, backend, models (randomly initialised from train.seed and each role's
 * name) and the run directory (resolved recipe written there) from a validated recipe. */
ctcd_status ctcd_trainer_create(const ctcd_recipe *rc, ctcd_trainer **out);
void ctcd_trainer_destroy(ctcd_trainer *t);
/* One lockstep step on a host batch (src/train/step.c). */
ctcd_status ctcd_trainer_step(ctcd_trainer *t, const ctcd_batch *b, ctcd_step_stats *stats);
/* Evaluates every model on the dev set (dropout off). */
ctcd_status ctcd_trainer_evaluate(ctcd_trainer *t, ctcd_eval_result *res);
/* The whole run: epochs/max_steps with progress, logs and periodic evaluation; *final
 * receives the last evaluation. */
ctcd_status ctcd_trainer_run(ctcd_trainer *t, ctcd_eval_result *final);

#ifdef __cplusplus
}
#endif
#endif
