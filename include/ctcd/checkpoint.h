/* checkpoint.h — Hugging Face checkpoints: a directory holding config.json and
 * model.safetensors, as written by `save_pretrained` and read by `from_pretrained`.
 *
 * Typical import (what ctcd_model_open_hf does in one call):
 *     ctcd_hf_config hf;  ctcd_hf_config_read(dir, &hf);          // config + head + labels
 *     hf.cfg.head = ...;  hf.cfg.n_labels = ...;                   // if the task decides
 *     ctcd_model_create(be, &hf.cfg, "large", B, T, &m);
 *     ctcd_model_init_random(m, seed);                             // heads absent from the file
 *     ctcd_model_load_hf(m, dir, &report);
 * Export: ctcd_model_save_hf(m, dir, &opts).
 *
 * Conventions on export (documented here because HF readers depend on them):
 *  - Names are the layout's names (model.h): "bert.…" + "classifier.…" for the
 *    classification head, "bert.…" (no pooler) + "cls.predictions.…" for masked LM.
 *  - Masked LM: the decoder is tied. Like save_pretrained we store only
 *    bert.embeddings.word_embeddings.weight and cls.predictions.bias; neither
 *    cls.predictions.decoder.weight nor cls.predictions.decoder.bias is written. Both are in
 *    BertForMaskedLM._tied_weights_keys, so transformers loads the file without a
 *    missing-key warning and re-ties them (decoder.bias *is* cls.predictions.bias).
 *  - Pruned heads: ctcd keeps heads 0..k-1 of a layer with k < num_attention_heads heads,
 *    so config.json records the LAST heads as pruned: "pruned_heads": {"l": [k, .., n-1]}.
 *    transformers prunes a fresh model by that list, which gives the stored shapes; on
 *    import any index set is accepted (only its size matters: the file holds the kept heads
 *    in order).
 *  - Pruned FFNs: "ctcd_layer_intermediate": [per-layer widths], written only when the
 *    widths differ. transformers ignores the key, so such a model loads in ctcd only.
 *  - Each file is replaced atomically; the pair is not (weights are written first, after
 *    everything has been validated).
 *
 * Import accepts: names with or without the "bert." prefix (BertModel checkpoints have
 * none), legacy LayerNorm names gamma/beta, cls.predictions.decoder.bias for
 * cls.predictions.bias, and ignores cls.predictions.decoder.weight (the tied decoder; a
 * warning when it differs from the word embeddings). Head tensors (pooler, classifier,
 * masked-LM head) that the file lacks keep the model's current values ("fresh init");
 * file tensors the model does not use are reported, not an error. */
#ifndef CTCD_CHECKPOINT_H
#define CTCD_CHECKPOINT_H

#include "ctcd/model.h"
#include "ctcd/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* config.json as ctcd understands it. */
typedef struct ctcd_hf_config {
    ctcd_bert_config cfg;    /* head, n_labels and max_predictions are defaults unless set
                                by the file (see has_head); the caller may override them */
    int has_head;            /* 1: "architectures" names a head ctcd has (cfg.head);
                                0: encoder only (BertModel, BertForPreTraining, other Bert*,
                                or absent): the caller picks the head */
    char architecture[64];   /* "architectures"[0], "" when absent */
    char **labels;           /* [cfg.n_labels] names in id order ("LABEL_i" by default) */
    float classifier_dropout;/* < 0 when null/absent (HF then uses hidden_dropout_prob) */
} ctcd_hf_config;

/* Reads path (a config.json, or a directory holding one). Missing required keys
 * (hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, vocab_size,
 * max_position_embeddings, type_vocab_size), wrong types and unsupported settings
 * (hidden_act other than "gelu", non-absolute positions) are errors naming the file and
 * the key. Free with ctcd_hf_config_free (also after an error). */
ctcd_status ctcd_hf_config_read(const char *path, ctcd_hf_config *out);
void ctcd_hf_config_free(ctcd_hf_config *c);
/* Checks that dir exists and its config.json reads, naming the directory (with the OS
 * reason) or the file. Commands that take a checkpoint call it before they look for data,
 * so a mistyped checkpoint is what they report, with or without a data root. */
ctcd_status ctcd_hf_checkpoint_check(const char *dir);

/* Renders the config.json text for c (labels may be NULL: "LABEL_i"); *out is malloc'd.
 * dtype (CTCD_F32 or CTCD_BF16) is recorded as "torch_dtype". */
ctcd_status ctcd_hf_config_to_json(const ctcd_bert_config *c, const char *const *labels,
                                   ctcd_dtype dtype, char **out);
/* Writes that text to path atomically. */
ctcd_status ctcd_hf_config_write(const char *path, const ctcd_bert_config *c,
                                 const char *const *labels, ctcd_dtype dtype);

/* What a load did. Lists are malloc'd names (free with ctcd_hf_load_report_free). */
typedef struct ctcd_hf_load_report {
    int n_loaded;            /* model tensors read from the file */
    int n_fresh;             /* model head tensors absent from the file (kept as they were) */
    char **fresh;
    int n_unused;            /* file tensors the model does not use */
    char **unused;
    int decoder_untied;      /* cls.predictions.decoder.weight present and != word embeddings */
} ctcd_hf_load_report;
void ctcd_hf_load_report_free(ctcd_hf_load_report *r);

/* Loads dir/model.safetensors into m (whose config the caller built, typically from the
 * same config.json). m's parameters must already be initialised: head tensors the file
 * lacks keep their values. Encoder tensors missing from the file, shape mismatches and
 * non-float dtypes are errors naming the file and the tensor; on error m is unchanged.
 * Values are converted to fp32 master weights and re-cast into the compute copy.
 * rep may be NULL (the summary is then only logged). */
ctcd_status ctcd_model_load_hf(ctcd_model *m, const char *dir, ctcd_hf_load_report *rep);

typedef struct ctcd_hf_save_opts {
    ctcd_dtype dtype;               /* CTCD_F32 (default) or CTCD_BF16 */
    const char *const *labels;      /* [n_labels] or NULL for "LABEL_i" */
} ctcd_hf_save_opts;

/* Creates dir (and parents) if needed and writes model.safetensors and config.json.
 * opts may be NULL (F32, default labels). */
ctcd_status ctcd_model_save_hf(const ctcd_model *m, const char *dir,
                               const ctcd_hf_save_opts *opts);

#define CTCD_HF_HEAD_FROM_FILE (-1)

typedef struct ctcd_hf_open_opts {
    const char *name;        /* model name in logs ("large") */
    int B_max, T_max;        /* batch capacity (ctcd_model_create) */
    uint64_t seed;           /* random init of what the file lacks */
    int head;                /* CTCD_HF_HEAD_FROM_FILE or a ctcd_head */
    int n_labels;            /* 0: from config.json */
    int max_predictions;     /* masked LM: rows per sequence (model.h) */
    int multiple_choice;     /* with an explicit head: 1 = BertForMultipleChoice (n_labels
                                becomes 1; a file's classifier of another shape is
                                re-initialised, with a log line) */
} ctcd_hf_open_opts;

/* config.json -> create -> init_random(seed) -> load. hf_out (may be NULL) receives the
 * file's config as read (labels included; the caller frees it). rep may be NULL. An
 * encoder-only checkpoint with head CTCD_HF_HEAD_FROM_FILE is an error asking for a head. */
ctcd_status ctcd_model_open_hf(ctcd_backend *be, const char *dir, const ctcd_hf_open_opts *o,
                               ctcd_model **out, ctcd_hf_config *hf_out,
                               ctcd_hf_load_report *rep);

#ifdef __cplusplus
}
#endif
#endif
