/* surgery.h — model surgery: head / FFN-neuron importance, structured pruning and layer
 * dropping as operations on a model in memory (DESIGN.md §2; the foundation of MiniDisc
 * teacher-assistant scheduling).
 *
 * Typical use (what `ctcd prune` does):
 *     ctcd_model_importance(m, &train, &io, head, ffn);          // ctcd/importance.h
 *     ctcd_prune_plan_make(&m->cfg, head, ffn, &spec, &plan);    // which units survive
 *     ctcd_model_prune(m, &plan, "pruned", &p);                  // a new, smaller model
 *     ctcd_model_save_hf(p, dir, NULL);                          // pruned_heads + widths
 *
 * Units are indexed layer-major as in model.h (ctcd_bert_unit_offsets): head h of layer l
 * is unit head_off[l] + h, neuron i of layer l's FFN is ffn_off[l] + i. */
#ifndef CTCD_SURGERY_H
#define CTCD_SURGERY_H

#include "ctcd/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How scores are made comparable across layers before the global ranking. */
typedef enum ctcd_score_norm {
    CTCD_SCORE_LAYER_L2 = 0, /* divide by the L2 norm of the layer's scores of that kind
                                (Michel et al. 2019; Molchanov et al. 2019) — the default */
    CTCD_SCORE_RAW = 1       /* raw accumulated |∂L/∂gate| */
} ctcd_score_norm;

typedef struct ctcd_prune_spec {
    float sparsity;          /* in [0, 1): share of the prunable parameters of the kept
                                layers to remove (applied to heads and FFN neurons alike) */
    ctcd_score_norm norm;
    int n_drop;              /* layers to drop entirely */
    int drop[CTCD_MAX_LAYERS];
} ctcd_prune_spec;

/* Which units of a source model survive. */
typedef struct ctcd_prune_plan {
    ctcd_bert_config cfg;            /* the pruned model's config */
    int src_layer[CTCD_MAX_LAYERS];  /* pruned layer l copies source layer src_layer[l] */
    unsigned char *keep_head;        /* [source n_head] 1 = kept (dropped layers: 0) */
    unsigned char *keep_ffn;         /* [source n_ffn] */
    int64_t n_head_src, n_ffn_src;
} ctcd_prune_plan;

/* Builds the plan for src with the given scores (layer-major, as ctcd_model_importance
 * writes them; NULL scores rank by index, i.e. prune the last units). Rules:
 *  - the listed layers are dropped first (at least one layer must remain);
 *  - in the remaining layers, heads and FFN neurons are ranked separately, each globally
 *    across layers by normalised score (ties: lower flat index ranks lower), and the
 *    round(sparsity · count) lowest of each kind are removed. Every head costs the same
 *    (HD·(4H + 3) parameters) and every neuron too (2H + 1), so this removes that share of
 *    the prunable parameters of each kind and overall;
 *  - a layer always keeps its best head and best neuron: a unit whose removal would empty
 *    its layer is skipped and the next-lowest is taken (drop the layer to remove it all). */
ctcd_status ctcd_prune_plan_make(const ctcd_bert_config *src, const float *head_score,
                                 const float *ffn_score, const ctcd_prune_spec *spec,
                                 ctcd_prune_plan *plan);
void ctcd_prune_plan_free(ctcd_prune_plan *plan);

/* A new model (same backend and batch capacity as src, optimizer state zero, same dropout
 * seed) holding src's parameters restricted to the plan: kept layers in order, kept heads'
 * rows of query/key/value and columns of attention.output.dense, kept neurons' rows of
 * intermediate.dense and columns of output.dense, everything else copied. Its output equals
 * src's with gates 0 on the removed units (up to fp32 summation order). */
ctcd_status ctcd_model_prune(const ctcd_model *src, const ctcd_prune_plan *plan,
                             const char *name, ctcd_model **out);

/* Encoder parameters of layer l of config c (attention + FFN + the two LayerNorms). */
int64_t ctcd_bert_layer_params(const ctcd_bert_config *c, int l);

#ifdef __cplusplus
}
#endif
#endif
