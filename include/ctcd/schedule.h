/* schedule.h — MiniDisc teacher-assistant scheduling (issue 11; Zhang et al. 2022,
 * "MiniDisc: Minimal Distillation Schedule for Language Model Compression"): choosing the
 * partner of a small model among pruned copies of the fine-tuned large model, without a
 * trial distillation per candidate.
 *
 *  1. the large model's heads and FFN neurons are ranked by importance (surgery.h); each
 *     candidate sparsity s keeps the best (1 - s) share of each kind: a teacher assistant;
 *  2. one *elastic* TA is trained for all candidates at once (weight sharing through the
 *     unit masks): each step samples sparsities by the sandwich rule (the smallest, the
 *     largest and k random others), runs each with its keep flags as gates, and averages
 *     the distillation loss from the large model (T²·KL on the logits, i.e. soft
 *     cross-entropy up to the teacher's constant entropy, plus MSE of the final hidden
 *     states) over them;
 *  3. every TA is scored as dev metric + λ · sparsity (the λ-tradeoff) and the best one is
 *     exported as an ordinary pruned checkpoint;
 *  4. the student is distilled from (kd) or co-trained with (ctcd) the chosen TA. */
#ifndef CTCD_SCHEDULE_H
#define CTCD_SCHEDULE_H

#include <stdint.h>

#include "ctcd/data.h"
#include "ctcd/model.h"
#include "ctcd/rng.h"
#include "ctcd/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CTCD_SCHED_MAX 64  /* candidate sparsities */

/* Parses "0.05,0.1,0.5" (spaces allowed) into out[0..*n), sorted ascending; every value in
 * [0, 1), no duplicates, 1..max values. `key` names the source in errors. */
ctcd_status ctcd_sparsity_list_parse(const char *s, const char *key, float *out, int max,
                                     int *n);

/* ---- the λ-tradeoff (src/plan/tradeoff.c) ---- */

/* One candidate TA of the schedule table. */
typedef struct ctcd_ta_row {
    float sparsity;
    int64_t params;     /* of the pruned model */
    double dev;         /* dev task score of the (elastic) TA at this sparsity */
    double score;       /* dev + λ · sparsity, filled by ctcd_ta_choose */
    int chosen;         /* 1 on the chosen row */
    int sandwich;       /* 1 when the elastic TA was trained at this sparsity */
} ctcd_ta_row;

double ctcd_ta_lambda_score(double dev, double sparsity, double lambda);
/* Scores every row and marks the best (the sparser one on ties: it is the cheaper
 * partner). Rows with a non-finite dev score are never chosen. Returns the chosen index,
 * -1 when no row has a finite score. */
int ctcd_ta_choose(ctcd_ta_row *rows, int n, double lambda);

/* The sandwich rule over n sparsities sorted ascending: index 0, index n-1, then
 * min(k, n-2) distinct random indices in between, written to idx. Returns the count
 * (1 when n == 1). */
int ctcd_sandwich_sample(int n, int k, ctcd_rng *r, int *idx);

/* ---- the elastic TA (src/plan/elastic.c) ---- */

typedef struct ctcd_elastic {
    ctcd_model *ta;              /* trained; masks enabled by init */
    ctcd_model *teacher;         /* frozen large model, same config as ta */
    int n;                       /* sparsities */
    float sparsity[CTCD_SCHED_MAX];
    int64_t params[CTCD_SCHED_MAX];  /* of the pruned model at each sparsity */
    float *gate_head;            /* host (n, n_head_units): 1 kept, 0 pruned */
    float *gate_ffn;             /* host (n, n_ffn_units) */
    float *ones_head, *ones_ffn; /* host all-one gates */
    float temperature;
    float logit_w, hidden_w;     /* weights of T²·KL(p_teacher‖p_ta) and of the hidden MSE */
    /* scratch */
    int64_t BT_max;
    void *dh;                    /* act[BT_max, H] the hidden-state gradient */
    float *f32;                  /* F32[BT_max, H] device staging for casts */
    int32_t *rows;               /* int32[BT_max] 0.. */
    float *terms;                /* F32[CTCD_LOSS_NTERMS] */
    float *h_ta, *h_te;          /* host F32[BT_max, H] */
} ctcd_elastic;

typedef struct ctcd_elastic_opts {
    float temperature;
    float logit_w, hidden_w;
} ctcd_elastic_opts;

/* Builds the keep flags of every sparsity from the importance scores (ctcd_prune_plan_make
 * with per-layer L2 normalisation) and enables ta's masks. ta and teacher must have the
 * same config; neither is owned. */
ctcd_status ctcd_elastic_init(ctcd_elastic *e, ctcd_model *ta, ctcd_model *teacher,
                              const float *head_score, const float *ffn_score,
                              const float *sparsity, int n, const ctcd_elastic_opts *o);
void ctcd_elastic_free(ctcd_elastic *e);
/* Sets ta's gates to sparsity i's keep flags (i < 0: every unit kept). */
ctcd_status ctcd_elastic_select(ctcd_elastic *e, int i);

/* The batch's device labels (classification) or targets (regression): the fused loss reads
 * them although the TA's hard weight is 0. */
typedef struct ctcd_elastic_labels {
    const int32_t *labels;
    const float *targets;
} ctcd_elastic_labels;

/* One sandwich gradient: zeroes ta's gradients, runs the teacher once (dropout off), then
 * for each sampled sparsity idx[0..n_idx): gates, forward ta (train = 1 at `step`), the
 * distillation loss scaled by 1 / n_idx and backward, accumulating. ta's gradients are then
 * those of mean_i loss_i; *loss (may be NULL) receives that mean and per_loss (may be NULL)
 * each loss_i. hb is the host batch (its mask marks the tokens of the hidden MSE), db its
 * device view. The caller then takes the optimizer step. */
ctcd_status ctcd_elastic_loss_grad(ctcd_elastic *e, const ctcd_batch *hb,
                                   const ctcd_batch_dev *db, const ctcd_elastic_labels *y,
                                   const int *idx, int n_idx,
                                   int64_t step, double *loss, double *per_loss);

/* ---- the whole schedule (src/plan/schedule_run.c) ---- */
struct ctcd_recipe;

typedef struct ctcd_schedule_result {
    int n;
    ctcd_ta_row rows[CTCD_SCHED_MAX];
    int chosen;
    double teacher_dev;           /* the large model's dev score */
    double student_dev;           /* the student's best dev score (NAN when not trained) */
    char teacher[1024];           /* the large model's checkpoint */
    char ta_dir[1024];            /* the chosen TA's checkpoint */
} ctcd_schedule_result;

/* Runs the schedule of rc (schedule.* keys) into dir: teacher (trained into dir/teacher
 * when models.large.init is empty), importance, sandwich training, the table
 * (schedule.md, schedule.jsonl), the chosen TA (dir/ta) and, unless train_student is 0,
 * the student's run (dir/student). */
ctcd_status ctcd_schedule_run(const struct ctcd_recipe *rc, const char *dir, int train_student,
                              ctcd_schedule_result *out);

#ifdef __cplusplus
}
#endif
#endif
