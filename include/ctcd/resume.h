/* resume.h — resumable runs: the training-state file, `ctcd train --resume RUN_DIR`, and
 * the stop flag that SIGINT/SIGTERM raise (DESIGN.md section 2, "Checkpoints").
 *
 * The state file <output>/state/train_state.safetensors is one of our safetensors files:
 *   tensors  "<role>.master", "<role>.adam_m", "<role>.adam_v"   F32 (n_total) per model slot
 *   __metadata__ (all strings)
 *     format "ctcd-train-state", version "1"
 *     step, total_steps, steps_per_epoch, train_examples
 *     epoch, cursor_epoch, cursor_batch          the batcher's position (data.h)
 *     last_eval_step, final_eval                 evaluation bookkeeping of run.c
 *     skipped_steps                              steps train.skip_nonfinite skipped (optional)
 *     best.<role>                                best dev task score so far ("%.17g")
 *     seed, models ("large,small"), recipe_fingerprint (FNV-1a 64 of the keys below)
 *     recipe.<key>                               every recipe key that fixes the trajectory
 *     log_bytes, eval_bytes                      sizes of log.jsonl / eval.jsonl at the save
 * There is no RNG state to save: dropout masks are keyed by (seed, step) and the data order
 * by (seed, epoch), so step + cursor reproduce both; the LR schedule and the mutual-weight
 * ramp depend on step only. Gradients are zeroed at the start of every step. On the CPU
 * backend a resumed run is therefore bitwise identical to an uninterrupted one (tests check
 * it). On CUDA with train.deterministic the same should hold on the same GPU: the compute
 * copy is re-cast from the master with the rounding AdamW uses (not yet checked on a GPU).
 * The state holds fp32 values only, so a run may also continue on another backend
 * (train.backend: auto), just not bitwise.
 *
 * Keys that may differ between the saved run and the resumed one (they do not change the
 * steps already taken): output (the run directory may have moved), train.max_steps and
 * train.epochs (to extend a run), train.checkpoint_every, train.log_every and train.zero
 * (the state holds every moment whatever the sharding and number of ranks). Any other
 * difference is an error naming each differing key with both values. */
#ifndef CTCD_RESUME_H
#define CTCD_RESUME_H

#include <stddef.h>

#include "ctcd/train.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CTCD_STATE_FORMAT "ctcd-train-state"
#define CTCD_STATE_VERSION 1

/* "<run_dir>/state/train_state.safetensors" into out[cap]. */
void ctcd_train_state_path(const char *run_dir, char *out, size_t cap);

/* Writes t's state to path atomically (temp file, fsync, rename; the parent directory is
 * created): on any error the previous file at path is untouched. With ZeRO-1 sharded
 * moments it is collective (every rank calls it; include/ctcd/zero.h), and a rank that
 * writes nothing passes path NULL. */
ctcd_status ctcd_train_state_save(ctcd_trainer *t, const char *path);
/* Writes the state of a trainer with a run directory to ctcd_train_state_path(output);
 * without one a no-op, or with ZeRO-1 shards this rank's part of the gather. */
ctcd_status ctcd_train_state_save_run(ctcd_trainer *t);

/* Restores a state into t, which the caller created (ctcd_trainer_create) from the recipe
 * the state was saved with (up to the keys listed above): weights and moments (the compute
 * copy is re-cast from the master), step, batcher cursor and evaluation bookkeeping.
 * Errors name the file and the metadata key or tensor; a recipe mismatch names every
 * differing key. On error t may be partly restored and should be destroyed. */
ctcd_status ctcd_train_state_load(ctcd_trainer *t, const char *path);

/* How far the run in run_dir got, from its state file's metadata: *step of *total_steps, and
 * *finished = 1 when it trained every step and made its final evaluation. A missing or
 * unreadable state file is an error naming it. */
ctcd_status ctcd_train_state_progress(const char *run_dir, int64_t *step, int64_t *total_steps,
                                      int *finished);

/* Checks that the state file at path was saved by a run of recipe rc (the fingerprint, then
 * key by key) without building anything. */
ctcd_status ctcd_train_state_check_recipe(const char *path, const ctcd_recipe *rc);

/* Rebuilds the run in run_dir: reads run_dir/recipe.yaml, applies overrides (only
 * train.max_steps, train.epochs, train.checkpoint_every, train.log_every and train.zero are
 * allowed; anything else is an error naming the key), sets output = run_dir, cuts log.jsonl and
 * eval.jsonl back to their size at the save (a run killed after its last state write
 * would otherwise log those steps twice), creates the trainer with the logs opened for
 * appending, and loads the state. A run that is already complete (step == total steps)
 * is an error unless the overrides extend it. */
ctcd_status ctcd_trainer_resume(const char *run_dir, const char *const *overrides,
                                int n_overrides, ctcd_trainer **out);
/* The same run rebuilt by a data-parallel rank other than 0 (ctcd train --resume under
 * mpirun): the recipe and state are only read, the logs left alone, and the trainer has no
 * output directory (output = ""), as on a fresh run's other ranks. The state file is the
 * one rank 0 resumes from, whatever the number of ranks that saved it. */
ctcd_status ctcd_trainer_resume_follower(const char *run_dir, const char *const *overrides,
                                         int n_overrides, ctcd_trainer **out);

/* ---- stop requests (src/train/interrupt.c) ----
 * SIGINT and SIGTERM only set a flag (the one piece of global mutable state besides the
 * logger: a signal handler can reach nothing else); ctcd_trainer_run checks it between
 * steps, writes the state and the last checkpoints, sets the progress's stop_signal
 * (ctcd_trainer_progress) and returns.
 * Further signals while the state is being saved only set the flag again, so a second
 * Ctrl-C cannot cut the save short (SIGKILL still can; the previous state survives). */
/* Installs the SIGINT/SIGTERM handlers (without SA_RESETHAND, with SA_RESTART). */
void ctcd_interrupt_install(void);
/* Sets the flag as the handler does (sig = SIGINT or SIGTERM): tests, drivers. */
void ctcd_interrupt_request(int sig);
/* The signal that requested a stop, 0 when none. */
int ctcd_interrupt_pending(void);
/* Clears a pending request. */
void ctcd_interrupt_clear(void);

#ifdef __cplusplus
}
#endif
#endif
