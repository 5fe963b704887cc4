/* train_internal.h — pieces of the trainer shared between its source files. */
#ifndef CTCD_TRAIN_INTERNAL_H
#define CTCD_TRAIN_INTERNAL_H

#include "ctcd/run_dir.h"
#include "ctcd/train.h"

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
