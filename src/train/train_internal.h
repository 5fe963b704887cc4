/* train_internal.h — the trainer's private state (struct ctcd_trainer: a core plus one
 * sub-struct per feature) and the pieces its source files share. Only src/train/ includes
 * it; everything else uses the public API of include/ctcd/train.h. */
#ifndef CTCD_TRAIN_INTERNAL_H
#define CTCD_TRAIN_INTERNAL_H

#include "ctcd/run_dir.h"
#include "ctcd/train.h"

/* ---- the trainer's state: its core, then one sub-struct per feature ---- */

/* Masked-LM pre-training (task "mlm", src/train/pretrain.c): the corpus and its batchers.
 * The masked rows' device buffers are part of the trainer's batch buffers (R_cap). */
typedef struct ctcd_mlm_state {
    int head;                 /* ctcd_head of the models: CTCD_HEAD_MLM for task mlm */
    int max_predictions;      /* masked rows per sequence the models are sized for */
    int64_t R_cap;            /* masked rows per batch (B_cap · max_predictions) */
    int32_t *h_pred;          /* host (R_cap): this rank's masked rows, rebased */
    ctcd_shard shard;         /* the corpus (train and dev views below point into it) */
    ctcd_shard train_view, dev_view;
    ctcd_mlm_batcher batcher, dev_batcher;  /* training batches, fixed held-out batches */
} ctcd_mlm_state;

/* rationale.* (distilling step-by-step, src/train/rationale_train.c): one decoder per
 * model slot while rationale.source != none, else NULL, and the current batch's decoder
 * rows. */
typedef struct ctcd_rationale_state {
    ctcd_rationale_decoder *dec[2];
    ctcd_rationale_set train;       /* rationales of t->train, aligned by example index */
    int32_t *h_ids, *h_tgt;         /* host (B_cap, rationale.max_len) decoder rows */
    int32_t *d_ids, *d_tgt;         /* the same on the backend */
    int T;                          /* decoder length of the current batch */
    int B;                          /* decoder rows of the current batch (its examples) */
} ctcd_rationale_state;

/* Multiple choice (task cqa): K choices per example. Each rationale decoder reads the
 * encoder rows of its example's target choice, gathered by the rows below. */
typedef struct ctcd_choice_state {
    int n_choices;                  /* K (0: not a multiple-choice task) */
    void *mem[2];                   /* act (B_cap/K·T_cap, H of slot i): gathered rows */
    void *dmem[2];                  /* act, the same shape: their gradient */
    int32_t *h_rows, *d_rows;       /* (B_cap/K·T_cap) source row (e·K + k)·T + t */
    int32_t *h_mask, *d_mask;       /* (B_cap/K·T_cap) key mask of the gathered rows */
} ctcd_choice_state;

/* models.teacher: frozen, forward only; its logits join the fused loss. */
typedef struct ctcd_teacher_state {
    ctcd_model *model;              /* NULL without a teacher */
} ctcd_teacher_state;

struct ctcd_trainer {
    ctcd_recipe rc;
    ctcd_backend *be;
    int n_models;
    ctcd_model *models[2];    /* model slots in role order (large first when present) */
    int role[2];              /* CTCD_LARGE / CTCD_SMALL of each slot */
    struct ctcd_comm *comm;   /* data parallelism (include/ctcd/dist.h), borrowed; NULL or
                               * world 1: a single process */
    int32_t *h_cls;           /* host (B_cap): this rank's [CLS] rows, rebased */
    /* the task's data */
    const ctcd_glue_task *task;   /* NULL for builtin:demo */
    ctcd_glue_metric metric;      /* how dev predictions are scored */
    ctcd_tokenizer *tok;          /* GLUE tasks: the WordPiece tokenizer */
    char vocab_path[CTCD_PATH_MAX];
    ctcd_dataset train;
    ctcd_dataset dev[CTCD_MAX_DEV_SPLITS];
    const char *dev_names[CTCD_MAX_DEV_SPLITS];  /* "dev", "dev_matched", ... */
    int n_dev;
    ctcd_batcher batcher;
    int B_cap, T_cap;
    ctcd_loss_kind loss_kind;
    int64_t steps_per_epoch, total_steps, warmup_steps;
    int64_t step;             /* optimizer steps done (skipped ones included) */
    int64_t skipped_steps;    /* steps whose update train.skip_nonfinite skipped */
    /* batch buffers on the backend: inputs, labels/targets, masked rows (mlm.R_cap) */
    ctcd_batch_buffers bufs;
    float *d_terms;           /* F32[CTCD_LOSS_NTERMS] */
    FILE *log;                /* <output>/log.jsonl or NULL */
    FILE *evlog;              /* <output>/eval.jsonl or NULL */
    int lock_fd;              /* <output>/.lock held for the trainer's life, -1 without */
    /* run progress (run.c), part of the resumable state (include/ctcd/resume.h) */
    int64_t last_eval_step;   /* step of the latest evaluation, -1 before the first */
    double best[2];           /* best dev task score of each slot so far */
    int stop_signal;          /* SIGINT/SIGTERM when ctcd_trainer_run stopped early, else 0 */
    /* hooks (include/ctcd/train.h: ctcd_trainer_set_on_step / _on_backward) */
    ctcd_step_hook on_step;
    void *on_step_ctx;
    ctcd_backward_hook on_backward;
    void *on_backward_ctx;
    /* the features */
    ctcd_mlm_state mlm;
    ctcd_rationale_state rat;
    ctcd_choice_state mc;
    ctcd_teacher_state teacher;
};

/* A masked-LM pre-training trainer (task mlm): masked-LM batches and head. */
static inline int ctcd_trainer_is_mlm(const ctcd_trainer *t) {
    return t->mlm.head == CTCD_HEAD_MLM;
}

/* ctcd_trainer_create_ex, or with append_logs (a resumed run, src/train/resume.c): log.jsonl
 * and eval.jsonl opened for appending and recipe.yaml left for the caller to rewrite.
 * *lock_fd: the run directory's lock when the caller already holds it (rundir.h), else -1
 * and it is taken here; the trainer owns it from the start (*lock_fd is set to -1). */
ctcd_status ctcd_trainer_create_mode(const ctcd_recipe *rc, int append_logs,
                                     ctcd_run_existing existing, int *lock_fd,
                                     ctcd_trainer **out);
/* Loads the train and dev splits of a GLUE task (t->rc.task) into t->train / t->dev. */
ctcd_status ctcd_trainer_load_glue(ctcd_trainer *t);
/* Keeps the first ceil(data.train_fraction x n) examples of d (all when the fraction is 1). */
void ctcd_trainer_keep_fraction(const ctcd_trainer *t, ctcd_dataset *d);
/* Appends the augmented copies the recipe asks for (data.augment.*) of the train examples
 * at the given 1-based lines of <dir>/train.tsv to t->train (src/train/augment_data.c).
 * A no-op when augmentation is off. */
ctcd_status ctcd_trainer_augment(ctcd_trainer *t, const char *dir, const int64_t *lines,
                                 int64_t n_lines);
/* trainer.c pieces the masked-LM pre-training setup (pretrain.c) shares. */
ctcd_status ctcd_trainer_create_models(ctcd_trainer *t);
ctcd_status ctcd_trainer_alloc_batch_buffers(ctcd_trainer *t);
ctcd_status ctcd_trainer_open_run_dir(ctcd_trainer *t, int append);
/* Everything a masked-LM (task mlm) trainer needs, in place of the task data (pretrain.c). */
ctcd_status ctcd_pretrain_setup(ctcd_trainer *t, int append);
/* The data position of either kind of trainer, and repositioning it. */
ctcd_batcher_cursor ctcd_trainer_cursor(const ctcd_trainer *t);
ctcd_status ctcd_trainer_seek(ctcd_trainer *t, ctcd_batcher_cursor cur);
/* The vocabulary: data.vocab, an init checkpoint's vocab.txt, or the data roots. */
ctcd_status ctcd_trainer_find_vocab(const ctcd_recipe *rc, char *out, size_t cap);
/* Copies a vocabulary file to <dir>/vocab.txt (atomically). */
ctcd_status ctcd_copy_vocab(const char *src, const char *dir);
/* Appends one JSON line for a training step to t->log (no-op without a run directory);
 * a failed write or flush is an error naming the file and the reason. */
ctcd_status ctcd_runlog_step(ctcd_trainer *t, const ctcd_step_stats *s,
                             double examples_per_s, int64_t epoch);
/* Appends one JSON line for an evaluation to t->evlog. */
ctcd_status ctcd_runlog_eval(ctcd_trainer *t, const ctcd_eval_result *r, int64_t epoch);

/* ---- rationale.* (src/train/rationale_train.c) ----
 * Tasks esnli and cqa: loads the train (e-SNLI valid / CQA train) and dev (e-SNLI test /
 * CQA test) splits, and the train rationales when rationale.source != none. */
ctcd_status ctcd_trainer_load_rationale_task(ctcd_trainer *t);
/* The split a rationale task is evaluated on ("test" for esnli and cqa); NULL for any other
 * task. */
const char *ctcd_rationale_task_eval_split(const char *task);
/* Creates one rationale decoder per model slot and its batch buffers (no-op when off). */
ctcd_status ctcd_trainer_create_rationale(ctcd_trainer *t);
void ctcd_trainer_destroy_rationale(ctcd_trainer *t);
/* Builds and uploads the decoder rows of a host batch (no-op when off). */
ctcd_status ctcd_trainer_upload_rationale(ctcd_trainer *t, const ctcd_batch *b);
/* Backward of slot i with the rationale task: head backward, decoder forward + λ-weighted
 * loss + backward (accumulating into the encoder's ∂L/∂h_L), encoder backward. *loss
 * receives the decoder's mean token CE. */
ctcd_status ctcd_trainer_rationale_backward(ctcd_trainer *t, int i, const ctcd_batch_dev *db,
                                            int64_t step, float *loss);
/* A pair with decoders: both decoders forward, one fused loss over their
 * token rows (λ·CE + λ·mutual_kl·ramp·KL to the peer, padding excluded), then each slot's
 * head, decoder and encoder backward. loss[i] / kl[i] receive each decoder's mean token CE
 * and KL. */
ctcd_status ctcd_trainer_rationale_backward_pair(ctcd_trainer *t, const ctcd_batch_dev *db,
                                                 int64_t step, float ramp, float loss[2],
                                                 float kl[2]);
/* Saves slot i's decoder to <output>/rationale/<role>/<which>/decoder.safetensors, beside
 * the encoder's <output>/<role>/<which>/ (no-op without output or decoder). */
ctcd_status ctcd_trainer_save_rationale(ctcd_trainer *t, int i, const char *which);

/* What one ctcd_trainer_run session did, for <output>/summary.md (run_summary.c). */
typedef struct ctcd_run_info {
    int64_t session_steps, session_examples;
    double session_seconds;
    int stop_signal;
    int teacher_evaluated;       /* teacher holds the frozen teacher's dev metrics */
    ctcd_metric_set teacher;
} ctcd_run_info;
/* Writes <output>/summary.md atomically (no-op without output). final may be NULL (a run
 * stopped before its final evaluation). */
ctcd_status ctcd_run_summary_write(const ctcd_trainer *t, const ctcd_eval_result *final,
                                   const ctcd_run_info *info);

#endif
