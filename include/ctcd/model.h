/* model.h — the BERT encoder (post-LayerNorm, Hugging Face numerics) over the backend op
 * table, with a sequence-classification / regression head.
 *
 * One struct serves every model of a run: the large and the small model are two instances
 * that differ only in their config. Parameters live in ONE flat buffer per model, the
 * model's parameter set `ps` (include/ctcd/param_set.h: compute copy `params`, fp32
 * `master`, `grads`, AdamW `adam_m`/`adam_v`, all indexed by the same offsets), ordered so
 * that every weight-decayed tensor comes first: [0, n_decay) gets weight decay, [n_decay,
 * n_total) (biases and LayerNorm) does not. AdamW, grad-norm and checkpointing are
 * therefore one call each. Tensors start at multiples of CTCD_PARAM_ALIGN elements; the
 * padding between them is zero in every buffer (param_set.h), so n_total (the buffer
 * length) exceeds n_params_real (the parameter count, the sum of numel).
 *
 * Layer l may have its own head count and FFN width (pruned teacher assistants, searched
 * students); head_dim is the same for every layer (hidden / n_heads), as in HF's pruned
 * BERT. Every layer keeps at least one head and one FFN neuron: HF would turn a layer with all
 * heads pruned into "attention output = dense bias", which ctcd does not model (validate
 * rejects 0); model surgery drops such a layer instead (ctcd_model_prune). */
#ifndef CTCD_MODEL_H
#define CTCD_MODEL_H

#include <stdint.h>

#include "ctcd/backend.h"
#include "ctcd/batch_dev.h" /* ctcd_batch_dev, the batch every forward reads */
#include "ctcd/param_set.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CTCD_MAX_LAYERS 48

/* The head on top of the encoder. CLASSIFY is BertForSequenceClassification (pooler +
 * classifier; n_labels == 1 is regression); MLM is BertForMaskedLM (transform dense + GELU
 * + LayerNorm, decoder tied to the word embeddings, own output bias) applied only to the
 * batch's masked rows. BertForMultipleChoice is CLASSIFY with one output and
 * cfg.multiple_choice set (the graph is the same; only the reading of the logits differs). */
typedef enum ctcd_head { CTCD_HEAD_CLASSIFY = 0, CTCD_HEAD_MLM = 1 } ctcd_head;

typedef struct ctcd_bert_config {
    int n_layers;
    int hidden;                               /* H */
    int n_heads;                              /* num_attention_heads */
    int head_dim;                             /* HD = hidden / n_heads */
    int intermediate;                         /* default FFN width */
    int layer_heads[CTCD_MAX_LAYERS];         /* heads of layer l (<= n_heads after pruning) */
    int layer_intermediate[CTCD_MAX_LAYERS];  /* FFN width of layer l */
    int vocab_size;
    int max_position;
    int type_vocab;
    int pad_id;                               /* word-embedding row initialised to zero */
    float hidden_dropout;
    float attn_dropout;
    float initializer_range;
    float ln_eps;                             /* 1e-12 as in BERT */
    int n_labels;                             /* C classes; 1 = regression (CLASSIFY head) */
    int multiple_choice;                      /* 1: BertForMultipleChoice: the CLASSIFY head
                                                 with n_labels = 1 scores each row; the K rows
                                                 of an example's choices are read as one
                                                 K-way distribution by the loss/metrics */
    int head;                                 /* ctcd_head */
    int max_predictions;                      /* MLM: masked rows per sequence the model is
                                                 sized for (0 = the whole sequence) */
} ctcd_bert_config;

/* Width of the model's output rows: vocab_size for the MLM head, n_labels otherwise. */
static inline int ctcd_bert_out_classes(const ctcd_bert_config *c) {
    return c->head == CTCD_HEAD_MLM ? c->vocab_size : c->n_labels;
}

/* Fills a uniform config and validates it (messages name `who`, e.g. "models.large"). */
ctcd_status ctcd_bert_config_init(ctcd_bert_config *c, const char *who, int layers, int hidden,
                                  int heads, int intermediate, int vocab_size,
                                  int max_position, int type_vocab, int n_labels);
/* Checks invariants of a (possibly non-uniform) config. */
ctcd_status ctcd_bert_config_validate(const ctcd_bert_config *c, const char *who);

/* Offsets (in elements) of one encoder layer's tensors inside the flat buffers. q, k and v
 * weights are adjacent, so qkv_w is the fused (3·A, H) projection; likewise the biases. */
typedef struct ctcd_layer_offsets {
    int64_t qkv_w;   /* (3A, H): query.weight | key.weight | value.weight, A = heads·HD */
    int64_t qkv_b;   /* (3A) */
    int64_t ao_w;    /* (H, A) attention.output.dense */
    int64_t ao_b;    /* (H) */
    int64_t ln1_g, ln1_b;  /* (H) attention.output.LayerNorm */
    int64_t fc1_w;   /* (I, H) intermediate.dense */
    int64_t fc1_b;   /* (I) */
    int64_t fc2_w;   /* (H, I) output.dense */
    int64_t fc2_b;   /* (H) */
    int64_t ln2_g, ln2_b;  /* (H) output.LayerNorm */
} ctcd_layer_offsets;

typedef struct ctcd_model_layout {
    int64_t wte, wpe, wtt;       /* (V, H), (P, H), (TV, H) */
    int64_t emb_ln_g, emb_ln_b;  /* (H) */
    ctcd_layer_offsets layer[CTCD_MAX_LAYERS];
    int64_t pool_w, pool_b;      /* CLASSIFY: (H, H), (H) */
    int64_t cls_w, cls_b;        /* CLASSIFY: (C, H), (C) */
    int64_t mlm_w, mlm_b;        /* MLM: transform dense (H, H), (H) */
    int64_t mlm_ln_g, mlm_ln_b;  /* MLM: transform LayerNorm (H) */
    int64_t mlm_bias;            /* MLM: decoder bias (V); the decoder weight is wte */
    ctcd_param_info *params;     /* [n_params], in buffer order */
    int n_params;
    int64_t n_total;             /* elements in the flat buffer, padding included */
    int64_t n_params_real;       /* the parameter count: sum of numel (no padding) */
    int64_t n_decay;             /* [0, n_decay) is weight-decayed */
} ctcd_model_layout;

ctcd_status ctcd_model_layout_build(const ctcd_bert_config *c, ctcd_model_layout *lay);
void ctcd_model_layout_free(ctcd_model_layout *lay);
/* Looks a parameter up by its HF name; NULL when absent. */
const ctcd_param_info *ctcd_model_layout_find(const ctcd_model_layout *lay, const char *name);

/* Per-layer saved activations (act dtype unless noted), sized for (B_max, T_max). */
typedef struct ctcd_layer_acts {
    void *qkv;       /* (B·T, 3A) */
    void *att_aux;   /* backend attention state */
    void *ctx;       /* (B·T, A) */
    void *s1;        /* (B·T, H) residual sum before LN1 */
    float *mean1, *rstd1;  /* (B·T) */
    void *h1;        /* (B·T, H) LN1 output */
    void *fc1_pre;   /* (B·T, I) */
    void *fc1_out;   /* (B·T, I) GELU output */
    void *s2;        /* (B·T, H) */
    float *mean2, *rstd2;
} ctcd_layer_acts;

typedef struct ctcd_model_acts {
    void *emb_sum;           /* (B·T, H) embedding sum before LN */
    float *emb_mean, *emb_rstd;
    void *h[CTCD_MAX_LAYERS + 1];  /* h[0] embeddings out, h[l+1] layer l out; (B·T, H) */
    ctcd_layer_acts layer[CTCD_MAX_LAYERS];
    void *branch;            /* (B·T, H) attention-out / FFN-out scratch */
    void *cls;               /* (B, H) [CLS] rows */
    void *pool_pre;          /* (B, H) */
    void *pooled;            /* (B, H) tanh output */
    void *pooled_drop;       /* (B, H) after dropout */
    void *mlm_rows;          /* MLM (R, H): final hidden states of the masked rows */
    void *mlm_pre;           /* MLM (R, H) transform pre-activation */
    void *mlm_act;           /* MLM (R, H) GELU output (LayerNorm input) */
    float *mlm_mean, *mlm_rstd;  /* MLM (R) */
    void *mlm_out;           /* MLM (R, H) transform output */
    void *logits;            /* (B, C), or MLM (R, V) */
    /* backward scratch */
    void *dlogits;           /* like logits, written by the loss op */
    void *d_mlm_a, *d_mlm_b; /* MLM (R, H) */
    void *d_pool_a, *d_pool_b;  /* (B, H) */
    void *dh;                /* (B·T, H) gradient of the residual stream */
    void *dres;              /* (B·T, max(H, A)) */
    void *dtmp;              /* (B·T, max(H, A)) */
    void *dbig;              /* (B·T, max(I, 3A)) */
} ctcd_model_acts;

/* Unit masks (Michel et al. 2019, "Are Sixteen Heads Really Better than One?"): one F32
 * gate per attention head and per FFN neuron, multiplying the head's context / the neuron's
 * GELU output in the forward pass; backward accumulates ∂L/∂gate. Gates are stored
 * layer-major in one flat array per kind (layer l's heads at head_off[l], its neurons at
 * ffn_off[l]); host score arrays (importance, pruning) use the same order. */
typedef struct ctcd_model_masks {
    float *head;        /* F32[n_head] backend memory */
    float *head_grad;   /* F32[n_head] accumulated by backward */
    float *ffn;         /* F32[n_ffn] */
    float *ffn_grad;    /* F32[n_ffn] */
    void *scratch;      /* act[B_max·T_max, max_l(A_l, I_l)]: the masked activation */
} ctcd_model_masks;

/* Flat unit indexing of a config: head_off/ffn_off [n_layers] (may be NULL); returns the
 * totals Σ heads and Σ FFN widths through n_head / n_ffn (may be NULL). */
void ctcd_bert_unit_offsets(const ctcd_bert_config *c, int64_t *head_off, int64_t *ffn_off,
                            int64_t *n_head, int64_t *n_ffn);

typedef struct ctcd_model {
    char name[32];               /* role in logs ("large", "small") */
    ctcd_bert_config cfg;
    ctcd_model_layout lay;
    ctcd_backend *be;
    ctcd_param_set ps;           /* the flat buffers over lay.params (ps.name == name);
                                  * ps.frozen: forward only, no gradients or optimizer state */
    ctcd_model_acts acts;
    void *act_mem;               /* the one activation allocation */
    size_t act_bytes;
    int B_max, T_max;
    int64_t R_max;               /* MLM: masked rows per batch the head is sized for */
    uint64_t dropout_seed;
    ctcd_model_masks *masks;     /* NULL (the default): no masks, the graph is unchanged */
    /* Hidden-state distillation (MiniDisc TA training): when dh_extra is set, backward adds
     * it to ∂L/∂h_L (the final hidden states) after the head's backward. dh_extra is
     * act[B·T, H] and dh_rows int32[B·T] = 0, 1, ..., B·T-1, both backend memory of the
     * caller, who sets and clears them around the backward calls. */
    const void *dh_extra;
    const int32_t *dh_rows;
    int64_t head_off[CTCD_MAX_LAYERS], ffn_off[CTCD_MAX_LAYERS];  /* ctcd_bert_unit_offsets */
    int64_t n_head_units, n_ffn_units;
} ctcd_model;

/* Allocates parameters, optimizer state and activations for batches up to
 * (B_max, T_max). Parameters are uninitialised until ctcd_model_init_random or a load. */
ctcd_status ctcd_model_create(ctcd_backend *be, const ctcd_bert_config *cfg, const char *name,
                              int B_max, int T_max, ctcd_model **out);
void ctcd_model_destroy(ctcd_model *m);
/* HF BertPreTrainedModel initialisation: Linear/Embedding ~ N(0, initializer_range),
 * biases 0, LayerNorm (1, 0), the pad row of the word embeddings 0. Deterministic in seed. */
ctcd_status ctcd_model_init_random(ctcd_model *m, uint64_t seed);
/* Zeroes the gradients (the AdamW moments are left alone). */
ctcd_status ctcd_model_zero_grad(ctcd_model *m);
/* Forward pass; logits land in m->acts.logits: (B, C) for the CLASSIFY head, (n_pred, V)
 * for the MLM head (row i predicts token pred_idx[i]). With train == 0 dropout is off.
 * step selects the dropout masks (each step, layer and site has its own). */
ctcd_status ctcd_model_forward(ctcd_model *m, const ctcd_batch_dev *b, int train, int64_t step);
/* Backward pass from m->acts.dlogits; accumulates into m->ps.grads. Must follow the forward of
 * the same batch and step. */
ctcd_status ctcd_model_backward(ctcd_model *m, const ctcd_batch_dev *b, int64_t step);
/* ctcd_model_backward in two halves, for a second task reading the encoder output h_L (the
 * rationale decoder, include/ctcd/rationale.h): backward_head writes acts.dh = ∂L/∂h_L from
 * the head; the caller may then accumulate more into acts.dh; backward_encoder runs the
 * layers and embeddings from acts.dh. The final hidden states h_L are
 * acts.h[cfg.n_layers]. */
ctcd_status ctcd_model_backward_head(ctcd_model *m, const ctcd_batch_dev *b, int64_t step);
ctcd_status ctcd_model_backward_encoder(ctcd_model *m, const ctcd_batch_dev *b, int64_t step);
/* The optimizer step of the model's parameter set (param_set.h; ZeRO-1 shards it through
 * include/ctcd/zero.h). Clip + AdamW over the flat buffer; grad_norm_out (may be NULL)
 * receives the pre-clip global gradient norm. The same as ctcd_model_grad_norm then
 * ctcd_model_apply_update. */
ctcd_status ctcd_model_optimizer_step(ctcd_model *m, const ctcd_adamw_hparams *h,
                                      float *grad_norm_out);
/* The first half: ctcd_param_set_grad_norm. A non-finite result is the cheap detector of a
 * NaN/Inf gradient (ctcd_model_find_nonfinite_grad says where). */
ctcd_status ctcd_model_grad_norm(ctcd_model *m, float *grad_norm_out);
/* The second half: ctcd_param_set_apply_update (the optimizer shard [opt_lo, opt_hi)). */
ctcd_status ctcd_model_apply_update(ctcd_model *m, const ctcd_adamw_hparams *h);

/* Where a gradient is not finite: the parameter (HF name), the element and its value;
 * param == NULL when every element is finite (the norm itself overflowed). */
typedef struct ctcd_nonfinite {
    const ctcd_param_info *param;
    int64_t index;
    float value;
} ctcd_nonfinite;
/* Downloads the gradients and finds the first non-finite element in buffer order within the
 * optimizer shard (a slow path: called only after a non-finite grad norm). */
ctcd_status ctcd_model_find_nonfinite_grad(const ctcd_model *m, ctcd_nonfinite *out);
/* Copies all parameters (fp32 master) to a host buffer of n_total floats. */
ctcd_status ctcd_model_download_params(const ctcd_model *m, float *host);
/* Replaces all parameters from a host buffer of n_total floats: uploads the fp32 master
 * (its padding zeroed whatever host holds there) and re-casts the compute copy (checkpoint
 * import, model surgery). */
ctcd_status ctcd_model_upload_params(ctcd_model *m, const float *host);
/* The number of parameters (lay.n_params_real), not the buffer length (lay.n_total). */
int64_t ctcd_model_n_params(const ctcd_model *m);
/* Backend memory the model holds: its parameter set (weights, gradients, optimizer moments
 * of its shard) and activations. */
size_t ctcd_model_mem_bytes(const ctcd_model *m);
/* Makes m forward-only (a frozen teacher): releases its gradient and optimizer buffers;
 * zero_grad, backward and optimizer_step then return an error. */
void ctcd_model_freeze(ctcd_model *m);

/* ---- unit masks (bert_masks.c) ----
 * Enabling allocates the gates (all 1), their gradients (0) and a scratch activation; with
 * all-one gates the forward output is bitwise that of the model without masks. Backward
 * then also accumulates the gate gradients (zeroed only by ctcd_model_masks_zero_grad). */
ctcd_status ctcd_model_masks_enable(ctcd_model *m);
/* Frees the masks; the graph is the plain one again. No-op when none are enabled. */
void ctcd_model_masks_disable(ctcd_model *m);
/* Host gates in the flat order: head[n_head_units], ffn[n_ffn_units]; NULL leaves a kind
 * as it is. Masks must be enabled. */
ctcd_status ctcd_model_masks_set(ctcd_model *m, const float *head, const float *ffn);
ctcd_status ctcd_model_masks_zero_grad(ctcd_model *m);
/* Downloads the accumulated gate gradients (either pointer may be NULL). */
ctcd_status ctcd_model_masks_get_grad(const ctcd_model *m, float *head, float *ffn);

#ifdef __cplusplus
}
#endif
#endif
