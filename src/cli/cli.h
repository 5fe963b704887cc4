/* cli.h — subcommands of the ctcd command line (one file each). */
#ifndef CTCD_CLI_H
#define CTCD_CLI_H

#include "ctcd/dist.h"
#include "ctcd/status.h"
#include "ctcd/train.h"

int ctcd_cmd_train(int argc, char **argv);
int ctcd_cmd_tokenize(int argc, char **argv);
int ctcd_cmd_predict(int argc, char **argv);
int ctcd_cmd_bench(int argc, char **argv);
int ctcd_cmd_compare(int argc, char **argv);
int ctcd_cmd_sweep(int argc, char **argv);
int ctcd_cmd_glue_table(int argc, char **argv);
int ctcd_cmd_prune(int argc, char **argv);
int ctcd_cmd_search(int argc, char **argv);
int ctcd_cmd_schedule(int argc, char **argv);
int ctcd_cmd_plan(int argc, char **argv);
int ctcd_cmd_explain(int argc, char **argv);
int ctcd_cmd_doctor(int argc, char **argv);

/* Prints "ctcd: error: <message>" (frees st) and returns 1; returns 0 for CTCD_OK. */
int ctcd_cli_fail(ctcd_status st);

/* train_dist.c: before the backend exists, a rank started by mpirun sees only the GPU of
 * its node-local rank (CUDA_VISIBLE_DEVICES, unless already set). */
void ctcd_cli_dist_pick_device(const ctcd_comm *boot);
/* After the trainer exists: *nccl = an NCCL communicator over boot for a CUDA run with
 * several ranks (or any, with CTCD_COMM=nccl), NULL when the step keeps boot (CPU runs,
 * builds without NCCL, CTCD_COMM=mpi). */
ctcd_status ctcd_cli_dist_transport(ctcd_trainer *t, ctcd_comm *boot, ctcd_comm **nccl);
/* `ctcd train --gpus N ...` (argv as ctcd_cmd_train gets it): a fresh NCCL unique id, then
 * N copies of this binary with the same arguments less --gpus, one per GPU
 * (include/ctcd/launch.h); the exit status of the job (a failed rank's own). */
int ctcd_cli_launch_gpus(int n, int argc, char **argv);

#endif
