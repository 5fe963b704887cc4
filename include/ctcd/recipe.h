/* recipe.h — one experiment, as read from a YAML recipe (DESIGN.md section 6).
 *
 * The loader is schema-driven: every key is declared once (path, type, default, bounds,
 * documentation) in src/train/recipe_schema.c, and the same table validates files, applies
 * `--set a.b.c=value` overrides, writes the resolved recipe and documents the keys.
 * Unknown keys, wrong types and out-of-range values are errors naming file:line:col and
 * the key, with the valid alternatives. */
#ifndef CTCD_RECIPE_H
#define CTCD_RECIPE_H

#include <stdint.h>
#include <stdio.h>

#include "ctcd/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CTCD_PATH_MAX 1024
#define CTCD_NAME_MAX 64

/* Model roles. Index 0 is the large model, 1 the small one; nothing else treats them
 * differently. The optional frozen teacher (models.teacher, three-model "community" mode)
 * is section 2 of ctcd_recipe.models; it is not trained, so loops over the trained models
 * stop at CTCD_N_ROLES. */
enum { CTCD_LARGE = 0, CTCD_SMALL = 1, CTCD_N_ROLES = 2, CTCD_TEACHER = 2,
       CTCD_N_MODEL_SECTIONS = 3 };
extern const char *const ctcd_role_names[CTCD_N_MODEL_SECTIONS]; /* large, small, teacher */

typedef struct ctcd_model_recipe {
    int present;                 /* 1 when models.<role> is in the recipe */
    char init[CTCD_PATH_MAX];    /* checkpoint dir to start from ("" = random init) */
    int layers;                  /* models.<role>.layers */
    int hidden;
    int heads;
    int intermediate;            /* 0 = 4 * hidden */
    float hidden_dropout;        /* models.<role>.dropout */
    float attn_dropout;          /* models.<role>.attention_dropout */
    float initializer_range;
} ctcd_model_recipe;

typedef struct ctcd_demo_recipe {
    int64_t train_examples;      /* data.demo.train_examples */
    int64_t dev_examples;
    uint64_t seed;               /* data.demo.seed: the dataset, independent of train.seed */
    int max_depth;               /* data.demo.max_depth: nesting of embedded clauses */
} ctcd_demo_recipe;

/* data.augment: training-set augmentation (include/ctcd/augment.h). */
typedef struct ctcd_augment_recipe {
    struct {
        int num_aug;             /* data.augment.eda.num_aug: copies per example, 0 = off */
        float alpha;             /* strength of every operation unless overridden */
        float alpha_sr, alpha_ri, alpha_rs, p_rd; /* < 0 = alpha; 0 = operation off */
    } eda;
    struct {
        char checkpoint[CTCD_PATH_MAX]; /* HF masked-LM checkpoint, "" = off */
        float p;                 /* replacement probability per eligible word */
        int top_k;               /* candidates per word */
        int num_aug;             /* copies per example, 0 = off */
    } mlm;
    uint64_t seed;               /* data.augment.seed (independent of train.seed) */
    char cache[CTCD_PATH_MAX];   /* "" = <output>/augment-cache */
} ctcd_augment_recipe;

typedef struct ctcd_recipe {
    char source[CTCD_PATH_MAX];  /* recipe file path ("" when built in code) */
    char task[CTCD_NAME_MAX];    /* "builtin:demo", or a GLUE task name */
    struct {
        char dir[CTCD_PATH_MAX];     /* GLUE task directory ("" = found under the data roots) */
        char vocab[CTCD_PATH_MAX];   /* WordPiece vocab ("" = checkpoint's, else data roots) */
        int max_len;
        int strict;                  /* malformed TSV lines are errors (default: skipped) */
        int64_t max_train_examples;  /* 0 = all; else the first N of train.tsv */
        float train_fraction;        /* (0, 1]: keep the first ceil(f x N) training examples */
        int64_t max_dev_examples;    /* 0 = all; else the first N of each dev split */
        ctcd_demo_recipe demo;
        ctcd_augment_recipe augment;
    } data;
    struct {
        char corpus[CTCD_PATH_MAX];  /* task mlm: a text file or a directory of them */
        float dev_fraction;          /* share of the corpus held out for evaluation */
        int doc_per_line;            /* one document per line (else blank-line blocks) */
        float mask_prob;             /* 0.15 */
        int whole_word;
        int sentence_pair;           /* [CLS] A [SEP] B [SEP] sequences with token types */
        int max_predictions;         /* masked rows per sequence; 0 = from mask_prob */
        int64_t eval_batches;        /* held-out batches per evaluation */
        char cache[CTCD_PATH_MAX];   /* directory of tokenised corpus shards */
    } pretrain;
    ctcd_model_recipe models[CTCD_N_MODEL_SECTIONS]; /* large, small, frozen teacher */
    struct {
        float temperature;
        float hard[CTCD_N_ROLES];    /* distill.hard.{large,small} */
        float small_to_large;        /* distill.mutual.small_to_large: weight on large's KL */
        float large_to_small;        /* distill.mutual.large_to_small: weight on small's KL */
        int64_t ramp_steps;          /* mutual weights ramp linearly from 0 over this */
        float hard_augmented;        /* 0: augmented rows have no hard label; 1: keep it */
        float teacher[CTCD_N_ROLES]; /* distill.teacher.{large,small}: weight of each trained
                                      * model's T²·KL(p_teacher ‖ p_model) */
    } distill;
    struct {
        int epochs;
        int64_t max_steps;           /* 0 = as many as epochs give */
        int batch;
        float lr[CTCD_N_ROLES];      /* train.lr.{large,small} */
        float warmup;                /* fraction of total steps */
        float weight_decay;
        float clip;                  /* global grad-norm clip, 0 = off */
        float adam_beta1, adam_beta2, adam_eps;
        uint64_t seed;
        char precision[16];          /* "fp32" | "bf16" */
        char backend[16];            /* "auto" | "cpu" | "cuda" */
        int deterministic;
        int64_t log_every;           /* steps between log lines */
        int64_t checkpoint_every;    /* steps between training-state writes, 0 = end/signal */
        int skip_nonfinite;          /* a NaN/Inf loss or gradient skips the step (else: error) */
        int zero;                    /* 1 = ZeRO-1: AdamW state sharded across ranks */
    } train;
    struct {
        int64_t every;               /* steps between dev evaluations, 0 = end of epoch */
        int batch;
    } eval;
    char output[CTCD_PATH_MAX];      /* run directory ("" = none written) */
    /* search.*: KD-NAS of the small model (`ctcd search`, include/ctcd/search.h); ignored
     * by every other command. */
    struct {
        int min[4], max[4], step[4]; /* per dimension: layers, hidden, heads, intermediate */
        int min_head_dim;
        int per_layer;               /* heads and FFN width chosen per layer */
        int episodes;
        int population;              /* best evaluated candidates that parents come from */
        int proposals;               /* candidates proposed per episode */
        int random;                  /* of which drawn at random (not from parents) */
        int top_k;                   /* proposals distilled and scored per episode */
        int mutate_steps;            /* a mutation moves one dimension by up to this */
        int64_t proxy_examples;      /* training examples of each proxy distillation */
        int latency_batch, latency_seq, latency_reps, latency_warmup;
        float target_ms;             /* latency target of the reward */
        float w;                     /* reward exponent above the target (MnasNet) */
        char mode[8];                /* "kd" (frozen teacher) | "ctcd" (teacher co-trained) */
        float kd_weight;             /* kd mode: distill.teacher.small of the candidate */
        uint64_t seed;
        char latency_backend[8];     /* "train" (train.backend) | "cpu" | "cuda" */
        int final_seeds;             /* final stage: winner + hand-made at this many seeds */
        char final_handmade[256];    /* hand-made comparison archs ("" = models.small) */
    } search;
    /* schedule.*: MiniDisc teacher-assistant scheduling (`ctcd schedule`,
     * include/ctcd/schedule.h); ignored by every other command. */
    struct {
        char sparsities[512];        /* candidate TA sparsities, "0.05,0.1,..." */
        float lambda;                /* λ of the tradeoff dev + λ · sparsity */
        float sandwich_min;          /* the elastic TA is trained at sparsities >= this */
        int64_t sandwich_steps;      /* optimizer steps of the sandwich training */
        int sandwich_k;              /* random sparsities per step besides min and max */
        float lr;                    /* sandwich learning rate; 0 = train.lr.large */
        float logit_w;               /* weight of T²·KL(teacher ‖ TA) on the logits */
        float hidden_w;              /* weight of the final hidden-state MSE */
        int64_t importance_batches;  /* train batches of the head / neuron importance */
        char mode[8];                /* "kd" (student from the frozen TA) | "ctcd" */
        uint64_t seed;               /* sandwich sampling */
    } schedule;
    /* rationale.*: distilling step-by-step (include/ctcd/rationale.h), task esnli */
    struct {
        char source[8];              /* "none" | "human" | "llm" */
        char labels[8];              /* "gold" | "llm": train on the LLM's stated labels */
        float lambda;                /* L = (1 − λ)·L_label + λ·L_rationale */
        float mutual_kl;             /* weight of the decoders' token-level mutual KL (pair) */
        int max_len;                 /* decoder target tokens per example (eos included) */
        char dir[CTCD_PATH_MAX];     /* e-SNLI directory ("" = found under the data roots) */
        struct {
            int layers, hidden, heads, intermediate;  /* 0 = from the encoder */
            int tie_embeddings;
            int shortlist;           /* LM head over the training rationales' tokens only */
            float dropout;
        } decoder;
    } rationale;
} ctcd_recipe;

/* Fills every field with its documented default (models absent). */
void ctcd_recipe_defaults(ctcd_recipe *r);
/* Reads a recipe file, then applies overrides ("a.b.c=value" strings), then validates.
 * On error the message names path:line:col (or the override) and the key. */
ctcd_status ctcd_recipe_load(const char *path, const char *const *overrides, int n_overrides,
                             ctcd_recipe *out);
/* Applies one "a.b.c=value" override to an already loaded recipe. */
ctcd_status ctcd_recipe_set(ctcd_recipe *r, const char *assignment);
/* Cross-field checks (at least one model, hidden divisible by heads, ...). */
ctcd_status ctcd_recipe_validate(const ctcd_recipe *r);
/* Prints the resolved recipe (every key, defaults included) as YAML to f. */
ctcd_status ctcd_recipe_print(const ctcd_recipe *r, FILE *f);
/* Writes the resolved recipe (every key, defaults included) as YAML, atomically
 * (temp file + fsync + rename). */
ctcd_status ctcd_recipe_write(const ctcd_recipe *r, const char *path);

#ifdef __cplusplus
}
#endif
#endif
