/* dist.h — data-parallel co-training across processes (one per device).
 *
 * Every rank holds both models and draws the same global batch from the same seeded
 * batcher; rank r trains on its contiguous share of the rows (ctcd_shard_rows). The fused
 * loss stays local — both models see the same local rows, so the mutual terms are exact —
 * with every loss weight scaled by local rows / global rows, so that summing the parameter
 * gradients over ranks gives the gradient of the global batch's mean loss. After the
 * backward passes the gradients are summed across ranks (all-reduce), so every rank computes
 * the same clipped AdamW update and the replicas never drift apart.
 *
 * Transports: "single" (one process, nothing to do), "mpi" (Open MPI; CPU buffers directly,
 * device buffers staged through the host). The loss of the global batch is that of a single
 * process with the same batch exactly when every row has a label (the hard term is a mean
 * over labelled rows per rank) and dropout is off (dropout masks are drawn per local row);
 * otherwise it is the usual data-parallel approximation. */
#ifndef CTCD_DIST_H
#define CTCD_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "ctcd/backend.h"
#include "ctcd/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ctcd_comm ctcd_comm;
struct ctcd_comm {
    const char *name;  /* "single", "mpi", "gpus", "nccl" */
    int rank, world;
    void *impl;
    /* buf[n] += the same buffer of every other rank (in place); buf is backend memory of be
     * (host memory when be is NULL). The result is identical on every rank. */
    ctcd_status (*allreduce_sum)(ctcd_comm *c, ctcd_backend *be, float *buf, int64_t n);
    /* ZeRO-1's halves, over the shards ctcd_shard_rows(n, r, world) of buf[n] (backend
     * memory of be, host memory when be is NULL). reduce_scatter_sum: this rank's shard
     * [lo, hi) of buf becomes the sum of that shard over every rank; the rest of buf is left
     * undefined. allgather: every rank's shard of buf is copied into buf of every other rank
     * (afterwards buf is identical on every rank). */
    ctcd_status (*reduce_scatter_sum)(ctcd_comm *c, ctcd_backend *be, float *buf, int64_t n);
    ctcd_status (*allgather)(ctcd_comm *c, ctcd_backend *be, float *buf, int64_t n);
    ctcd_status (*barrier)(ctcd_comm *c);
    /* Ends every rank of the job with exit status `code` (a rank that failed alone would
     * leave the others waiting in the next all-reduce). Does not return when world > 1. */
    void (*abort)(ctcd_comm *c, int code);
    void (*destroy)(ctcd_comm *c);
};

/* "single", "mpi", or "auto": a rank of `ctcd train --gpus N` (include/ctcd/launch.h; name
 * "gpus", collectives only through NCCL) when that launcher started this process, MPI when
 * this process was started by an MPI launcher
 * (mpirun sets OMPI_COMM_WORLD_SIZE / PMI_SIZE) and this build has MPI, else single. "mpi"
 * in a build without MPI is an error saying so. MPI is initialised here and finalised by
 * destroy. */
ctcd_status ctcd_comm_create(const char *kind, ctcd_comm **out);
void ctcd_comm_destroy(ctcd_comm *c);
/* 1 when this build can use MPI. */
int ctcd_comm_have_mpi(void);
/* 1 when an MPI launcher started this process with more than one rank. */
int ctcd_comm_launched_by_mpi(void);

/* Rank `rank`'s rows [*lo, *hi) of n rows split over `world` ranks: contiguous, sizes
 * differing by at most one, the larger shares first. */
void ctcd_shard_rows(int64_t n, int rank, int world, int64_t *lo, int64_t *hi);

#ifdef __cplusplus
}
#endif
#endif
