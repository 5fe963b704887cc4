/* rundir.h — one process per run directory, and no silent overwrite of a finished run.
 *
 * A trainer with an output directory holds <output>/.lock for its whole life: an flock(2)
 * exclusive lock (released by the kernel when the process exits, however it exits, so a
 * SIGKILLed run never leaves a stale lock) with the holder's pid written in the file for
 * the message a second process gets. The file itself stays; only the lock matters.
 *
 * A directory "holds a run" when any of the files a run writes is there: recipe.yaml,
 * log.jsonl, eval.jsonl, state/train_state.safetensors. `ctcd train` refuses such a
 * directory unless --force (start over: the old run's files are removed first, so that a
 * later --resume can never pick up the old state) or --resume (continue it). Library
 * callers (compare, sweep) keep the old behaviour by default: CTCD_RUN_OVERWRITE. */
#ifndef CTCD_RUNDIR_H
#define CTCD_RUNDIR_H

#include <stddef.h>

#include "ctcd/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What to do with a directory that already holds a run when starting a new one there. */
typedef enum ctcd_run_existing {
    CTCD_RUN_OVERWRITE = 0, /* library default (compare, sweep, tests): the new run rewrites
                               recipe.yaml and the logs; other files stay until rewritten */
    CTCD_RUN_REPLACE = 1,   /* `ctcd train --force`: the old run's files are removed first */
    CTCD_RUN_REFUSE = 2,    /* `ctcd train`: an error naming the directory, --force, --resume */
} ctcd_run_existing;

/* Creates dir (mkdir -p) and takes <dir>/.lock; *fd_out is the descriptor to pass to
 * ctcd_run_dir_unlock. A lock held by another process is an error naming the directory
 * and the holder's pid. */
ctcd_status ctcd_run_dir_lock(const char *dir, int *fd_out);
/* Releases the lock (fd < 0: no-op). */
void ctcd_run_dir_unlock(int fd);
/* 1 when dir holds a run (see above), with the first file found in what[cap]. */
int ctcd_run_dir_has_run(const char *dir, char *what, size_t cap);
/* Removes the temp files of atomic writes that a crash (SIGKILL, power loss) cut short,
 * "<name>.tmp-XXXXXX" in dir, dir/state and the checkpoint directories; only with the lock
 * held. Returns how many. */
int ctcd_run_dir_clean_temps(const char *dir);
/* Prepares a locked dir for a new run: with REFUSE an existing run is an error; with
 * REPLACE its files (recipe.yaml, the logs, the state, <role>/{best,last} checkpoints) are
 * removed; OVERWRITE does nothing. Files ctcd does not write are never touched. */
ctcd_status ctcd_run_dir_prepare(const char *dir, ctcd_run_existing how);

#ifdef __cplusplus
}
#endif
#endif
