/* importance.h — head and FFN-neuron importance of a model on labelled task data
 * (src/plan/importance.c): the scores the pruner of ctcd/surgery.h ranks units by. */
#ifndef CTCD_IMPORTANCE_H
#define CTCD_IMPORTANCE_H

#include "ctcd/data.h"
#include "ctcd/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ctcd_importance_opts {
    int batch;            /* examples per batch (capped at the model's B_max) */
    int max_len;          /* tokens per example (capped at the model's T_max) */
    int64_t max_batches;  /* batches to use; 0 = one pass over the whole dataset */
    uint64_t seed;        /* 0: dataset order; else a shuffled order from this seed */
} ctcd_importance_opts;

/* Head and FFN-neuron importance of a classification / regression model on labelled data
 * (Michel et al. 2019): gates of one on every unit, dropout off, the task loss (cross-entropy
 * or MSE to the labels) per batch, and I_u = Σ_batches |∂L/∂gate_u|. head[n_head_units] and
 * ffn[n_ffn_units] receive the raw sums (normalisation is the pruner's choice). The model's
 * parameters are unchanged; its parameter gradients are zero afterwards; masks are enabled
 * only for the call (if they already were, their gates are reset to one and stay enabled). */
ctcd_status ctcd_model_importance(ctcd_model *m, const ctcd_dataset *d,
                                  const ctcd_importance_opts *o, float *head, float *ffn);

#ifdef __cplusplus
}
#endif
#endif
