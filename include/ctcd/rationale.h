/* rationale.h — the rationale decoder of "Distilling step-by-step" (Hsieh et al. 2023): a
 * small Transformer decoder that reads an encoder's output and is trained, teacher-forced,
 * to generate a rationale (a human explanation or an LLM's chain of thought) for the input.
 * It exists only during training: its loss L_rationale is a second task whose gradient
 * flows into the encoder (L = (1 − λ)·L_label + λ·L_rationale); inference and the HF export
 * use the encoder alone. Greedy generation is for inspection (`ctcd explain`).
 *
 * Architecture (post-LN, like the encoder), per layer:
 *   s1 = x + dropout(Wo·attn_causal(Wqkv·x))           x1 = LN1(s1)
 *   s2 = x1 + dropout(Wo2·attn(Wq2·x1; Wkv2·enc, mask)) x2 = LN2(s2)
 *   s3 = x2 + dropout(W2·gelu(W1·x2))                  x' = LN3(s3)
 * with x0 = dropout(LN(wte[ids] + wpe[t] + wtt[0])) and logits = x_L·wteᵀ + lm_bias.
 *
 * Output shortlist (out_vocab > 0): the LM head scores only out_vocab token ids (sorted
 * out_ids, e.g. every token of the training rationales plus eos) with its own weight
 * lm_head (out_vocab, H): logits = x_L·lm_headᵀ + lm_bias over the shortlist, so the
 * softmax, the loss and greedy decoding run over out_vocab classes instead of V (the
 * 30,522-way softmax per target token is most of a small decoder's work). Targets are given
 * as head rows (ctcd_rationale_map_targets); the input embeddings stay as configured.
 *
 * Hidden sizes: the decoder has its own hidden size H (and heads / FFN width). The
 * cross-attention key/value projection Wkv2 is (2A, H_enc): it reads the encoder output
 * directly, so a decoder narrower than the encoder needs no extra projection. Tying the
 * token embeddings and the LM head to the encoder's word embeddings (the default, as T5 and
 * the paper's shared vocabulary do) requires H == H_enc; with tie_embeddings = 0 the decoder
 * owns a (V, H) table used both ways.
 *
 * Parameters live in one flat buffer per decoder, its parameter set `ps` (params / master /
 * grads / adam_m / adam_v, include/ctcd/param_set.h; decayed tensors first, as ctcd_model).
 * Tied embeddings are read from the encoder's compute copy and their gradient is accumulated
 * into the encoder's gradient buffer, so the encoder's optimizer step updates them. */
#ifndef CTCD_RATIONALE_H
#define CTCD_RATIONALE_H

#include <stdint.h>

#include "ctcd/model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CTCD_RAT_MAX_LAYERS 12

typedef struct ctcd_rationale_config {
    int n_layers;           /* decoder blocks (default 2) */
    int hidden;             /* H (default: the encoder's hidden) */
    int n_heads;            /* NH; H % NH == 0 */
    int intermediate;       /* FFN width (default 4·H) */
    int max_len;            /* target positions the decoder is built for (position table) */
    int tie_embeddings;     /* 1: token embeddings + LM head = the encoder's wte (default) */
    float dropout;          /* hidden and attention-probability dropout (default 0.1) */
    float initializer_range;
    float ln_eps;
    /* Copied from the encoder by ctcd_rationale_config_default: */
    int enc_hidden;         /* H_enc */
    int vocab_size;         /* V, shared with the encoder's tokenizer */
    int pad_id, bos_id, eos_id;  /* [PAD], [CLS] (start), [SEP] (end) in BERT vocabularies */
    /* Output shortlist: 0 = the LM head spans the vocabulary (wte, tied or own); n > 0 = n
     * rows of its own weight for the token ids out_ids[0..n) (strictly increasing, eos
     * among them). out_ids is borrowed by create, which keeps a copy. */
    int out_vocab;
    const int32_t *out_ids;
} ctcd_rationale_config;

/* Defaults for an encoder config: 2 layers, the encoder's hidden and heads, FFN 4·H,
 * max_len 64, tied embeddings, dropout = the encoder's hidden dropout. bos/eos default to
 * [CLS] = 101, [SEP] = 102 when the vocabulary is that large, else 1 and 2. */
void ctcd_rationale_config_default(ctcd_rationale_config *c, const ctcd_bert_config *enc);
/* Checks a config against its encoder's; messages name `who` (e.g. "rationale.decoder"). */
ctcd_status ctcd_rationale_config_validate(const ctcd_rationale_config *c,
                                           const ctcd_bert_config *enc, const char *who);

typedef struct ctcd_rat_layer_offsets {
    int64_t qkv_w, qkv_b;   /* (3A, H), (3A) causal self-attention */
    int64_t ao_w, ao_b;     /* (H, A), (H) */
    int64_t ln1_g, ln1_b;   /* (H) */
    int64_t q2_w, q2_b;     /* (A, H), (A) cross-attention query */
    int64_t kv2_w, kv2_b;   /* (2A, H_enc), (2A) cross-attention key | value */
    int64_t ao2_w, ao2_b;   /* (H, A), (H) */
    int64_t ln2_g, ln2_b;   /* (H) */
    int64_t fc1_w, fc1_b;   /* (I, H), (I) */
    int64_t fc2_w, fc2_b;   /* (H, I), (H) */
    int64_t ln3_g, ln3_b;   /* (H) */
} ctcd_rat_layer_offsets;

typedef struct ctcd_rat_layout {
    int64_t wte;            /* (V, H) own token embeddings; -1 when tied to the encoder */
    int64_t wpe, wtt;       /* (max_len, H), (1, H) */
    int64_t emb_ln_g, emb_ln_b;
    ctcd_rat_layer_offsets layer[CTCD_RAT_MAX_LAYERS];
    int64_t lm_w;           /* (out_vocab, H) shortlist head; -1 when the head is wte */
    int64_t lm_bias;        /* (classes): V, or out_vocab with a shortlist */
    ctcd_param_info *params;
    int n_params;
    int64_t n_total, n_decay;  /* buffer length (padding included, model.h), decayed prefix */
    int64_t n_params_real;     /* the parameter count: sum of numel */
} ctcd_rat_layout;

/* Saved activations of one decoder layer, sized for (B_max·T_max) target rows and
 * (B_max·Te_max) encoder rows. */
typedef struct ctcd_rat_layer_acts {
    void *qkv;              /* (B·T, 3A) */
    void *att_aux;          /* self-attention state */
    void *ctx;              /* (B·T, A) */
    void *s1, *x1;          /* (B·T, H) */
    float *mean1, *rstd1;   /* (B·T) */
    void *q2;               /* (B·T, A) */
    void *kv2;              /* (B·Te, 2A) */
    void *att2_aux;         /* cross-attention state */
    void *ctx2;             /* (B·T, A) */
    void *s2, *x2;          /* (B·T, H) */
    float *mean2, *rstd2;
    void *fc1_pre, *fc1_out;/* (B·T, I) */
    void *s3;               /* (B·T, H) */
    float *mean3, *rstd3;
} ctcd_rat_layer_acts;

typedef struct ctcd_rat_acts {
    int32_t *types;         /* I32 (B·T) zeros: the one "type" row */
    void *emb_sum;          /* (B·T, H) */
    float *emb_mean, *emb_rstd;
    void *h[CTCD_RAT_MAX_LAYERS + 1];  /* h[0] embeddings, h[l+1] layer l output (B·T, H) */
    ctcd_rat_layer_acts layer[CTCD_RAT_MAX_LAYERS];
    void *branch;           /* (B·T, H) */
    void *logits;           /* (B·T, classes) */
    void *dlogits;          /* (B·T, classes) */
    float *terms;           /* F32[CTCD_LOSS_NTERMS] of the last loss */
    void *ga, *gb;          /* (B·T, H) residual-stream gradients (they swap roles) */
    void *dtmp;             /* (B·T, H) */
    void *dctx;             /* (B·T, A) */
    void *dbig;             /* (B·T, max(I, 3A)) */
    void *dkv;              /* (B·Te, 2A) */
} ctcd_rat_acts;

typedef struct ctcd_rationale_decoder {
    ctcd_rationale_config cfg;
    ctcd_rat_layout lay;
    ctcd_backend *be;
    ctcd_param_set ps;      /* the flat buffers over lay.params, never sharded or frozen */
    ctcd_rat_acts acts;
    void *act_mem;
    size_t act_bytes;
    int B_max, T_max, Te_max;
    uint64_t dropout_seed;
    int32_t *out_ids;       /* host copy of the shortlist (cfg.out_ids points here), or NULL */
} ctcd_rationale_decoder;

/* Output classes of the LM head: cfg.out_vocab, or V without a shortlist. */
static inline int ctcd_rationale_classes(const ctcd_rationale_decoder *d) {
    return d->cfg.out_vocab > 0 ? d->cfg.out_vocab : d->cfg.vocab_size;
}
/* Rewrites token-id targets (n entries, < 0 = no loss) as LM-head rows in place: the
 * identity without a shortlist; with one, each id's index in out_ids, or -1 (no loss) for
 * an id outside it. Returns how many ids fell outside. */
int64_t ctcd_rationale_map_targets(const ctcd_rationale_decoder *d, int32_t *targets, int64_t n);
/* The sorted distinct token ids of tokens[0..n) plus `always` (e.g. eos), into a malloc'ed
 * array *out of *n_out entries: the shortlist of a set of rationales. */
ctcd_status ctcd_rationale_shortlist(const int32_t *tokens, int64_t n, int32_t always,
                                     int32_t vocab_size, int32_t **out, int *n_out);

/* Teacher-forced targets of one batch (device memory). Row b feeds ids[b, :] (bos, r_1, …)
 * and predicts targets[b, :] (r_1, …, eos) as LM-head rows (token ids without a shortlist,
 * see ctcd_rationale_map_targets); targets < 0 (padding) carry no loss. The
 * encoder side is the encoder's batch: its output h_L (B·Te, H_enc) and mask (B, Te). */
typedef struct ctcd_rat_batch_dev {
    int B, T;                 /* T = padded target length (<= cfg.max_len) */
    const int32_t *ids;       /* (B, T) decoder inputs */
    const int32_t *targets;   /* (B, T) next tokens, -1 = no loss */
} ctcd_rat_batch_dev;

/* Allocates a decoder for up to B_max rows of T_max target tokens over Te_max encoder
 * tokens. Parameters are uninitialised until ctcd_rationale_init_random. */
ctcd_status ctcd_rationale_create(ctcd_backend *be, const ctcd_rationale_config *cfg,
                                  const ctcd_bert_config *enc, int B_max, int T_max,
                                  int Te_max, ctcd_rationale_decoder **out);
void ctcd_rationale_destroy(ctcd_rationale_decoder *d);
/* BERT initialisation (N(0, initializer_range) weights, zero biases, LN (1, 0)). */
ctcd_status ctcd_rationale_init_random(ctcd_rationale_decoder *d, uint64_t seed);
ctcd_status ctcd_rationale_zero_grad(ctcd_rationale_decoder *d);
/* Backend memory the decoder holds: its parameter set and activations. */
size_t ctcd_rationale_mem_bytes(const ctcd_rationale_decoder *d);
const ctcd_param_info *ctcd_rationale_find(const ctcd_rationale_decoder *d, const char *name);

/* Teacher-forced forward from the encoder output enc (B·Te, H_enc) with its key mask
 * (B, Te): logits land in acts.logits (B·T, classes). `emb` is the encoder model whose word
 * embeddings are used when tied (may be NULL when not tied). */
ctcd_status ctcd_rationale_forward(ctcd_rationale_decoder *d, const ctcd_model *emb,
                                   const void *enc, const int32_t *enc_mask, int Te,
                                   const ctcd_rat_batch_dev *rb, int train, int64_t step);
/* Mean token cross-entropy over the non-padding targets of the last forward, scaled by
 * `weight` in the gradient (λ of the multi-task loss): acts.dlogits = weight·∂CE/∂logits.
 * loss_out (may be NULL) receives the unweighted mean CE (downloaded: a sync point); it is
 * 0 when no target is labelled. */
ctcd_status ctcd_rationale_loss(ctcd_rationale_decoder *d, const ctcd_rat_batch_dev *rb,
                                float weight, float *loss_out);
/* Both decoders of a co-trained pair on the same targets (each after its forward): for
 * decoder m, dlogits = weight·∂CE_m/∂logits + mutual·∂KL(p_peer ‖ p_m)/∂logits, the
 * token-level mutual KL (T = 1) summed over the vocabulary and averaged over the non-padding
 * target tokens, the peer's distribution a constant. loss_out[m] (may be NULL) receives
 * decoder m's mean CE, kl_out[m] (may be NULL) its mean KL (a sync point); mutual = 0 gives
 * each decoder the gradient of ctcd_rationale_loss. */
ctcd_status ctcd_rationale_loss_pair(ctcd_rationale_decoder *const d[2],
                                     const ctcd_rat_batch_dev *rb, float weight, float mutual,
                                     float loss_out[2], float kl_out[2]);
/* Backward from acts.dlogits: accumulates into d->ps.grads (and, when tied, into
 * emb->ps.grads at the word embeddings) and ACCUMULATES ∂L/∂enc into d_enc (B·Te, H_enc),
 * which may be the encoder's acts.dh between ctcd_model_backward_head and
 * ctcd_model_backward_encoder. */
ctcd_status ctcd_rationale_backward(ctcd_rationale_decoder *d, ctcd_model *emb,
                                    const void *enc, void *d_enc, const int32_t *enc_mask,
                                    int Te, const ctcd_rat_batch_dev *rb, int64_t step);
/* Clip (to h->max_norm over the decoder's own gradients) + AdamW. */
ctcd_status ctcd_rationale_optimizer_step(ctcd_rationale_decoder *d,
                                          const ctcd_adamw_hparams *h, float *grad_norm_out);

/* Greedy decoding for inspection: for each of B rows, starting from bos, appends the argmax
 * token (bos and pad excluded; within the shortlist when there is one) until eos or max_new
 * tokens (<= cfg.max_len). out_ids (host, B·max_new) receives the token ids (eos excluded),
 * padded with -1; out_len[b] their count.
 * Dropout is off. */
ctcd_status ctcd_rationale_generate(ctcd_rationale_decoder *d, const ctcd_model *emb,
                                    const void *enc, const int32_t *enc_mask, int B, int Te,
                                    int max_new, int32_t *out_ids, int *out_len);

/* Host <-> device parameters (fp32 master, n_total floats). */
ctcd_status ctcd_rationale_download_params(const ctcd_rationale_decoder *d, float *host);
ctcd_status ctcd_rationale_upload_params(ctcd_rationale_decoder *d, const float *host);

/* Saves the decoder (fp32 master weights, its config in the safetensors metadata) to path
 * atomically. Tied embeddings are not in the file: they are the encoder checkpoint's. */
ctcd_status ctcd_rationale_save(const ctcd_rationale_decoder *d, const char *path);
/* Opens a decoder saved by ctcd_rationale_save for the encoder config enc (which must be the
 * one it was trained with: hidden and vocabulary are checked), sized like create. */
ctcd_status ctcd_rationale_load(ctcd_backend *be, const char *path, const ctcd_bert_config *enc,
                                int B_max, int T_max, int Te_max, ctcd_rationale_decoder **out);

#ifdef __cplusplus
}
#endif
#endif
