/* launch.h — the single-node launcher of `ctcd train --gpus N` (src/parallel/launch.c): one
 * process per GPU, no MPI. The parent starts N children, gives each its rank through the
 * environment, waits for all, and when one fails stops the others and reports which rank
 * failed and how. */
#ifndef CTCD_LAUNCH_H
#define CTCD_LAUNCH_H

#include "ctcd/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Runs n copies of argv (argv[0] found on PATH like execvp; NULL-terminated), each in its
 * own process group with this environment plus CTCD_RANK=r, CTCD_WORLD=n, CTCD_LOCAL_RANK=r,
 * CUDA_VISIBLE_DEVICES = the r-th entry of the parent's list (r when it has none) and the
 * NAME=VALUE strings of extra_env[n_env]. Waits for every child. When one exits with a
 * non-zero status or dies by a signal, the others get SIGTERM (SIGKILL after grace_s
 * seconds) and the result is an error naming that rank and its status; *exit_code is that
 * status (128 + signal for a signal; 0 when all succeeded). */
ctcd_status ctcd_launch_ranks(int n, char *const argv[], const char *const *extra_env,
                              int n_env, double grace_s, int *exit_code);

/* The rank and world size a launcher gave this process (CTCD_RANK, CTCD_WORLD); 0 when it
 * was not started by ctcd_launch_ranks. */
int ctcd_launched_rank(int *rank, int *world);

#ifdef __cplusplus
}
#endif
#endif
