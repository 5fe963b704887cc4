/* comm.c — choosing a transport for data parallelism, the single-process one, and the row
 * split (include/ctcd/dist.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctcd/dist.h"
#include "ctcd/launch.h"
#include "dist_internal.h"

static ctcd_status single_allreduce(ctcd_comm *c, ctcd_backend *be, float *buf, int64_t n) {
    (void)c, (void)be, (void)buf, (void)n;
    return CTCD_OK;
}

/* One rank: its shard is the whole buffer, for reduce-scatter and all-gather alike. */
static ctcd_status single_shards(ctcd_comm *c, ctcd_backend *be, float *buf, int64_t n) {
    return single_allreduce(c, be, buf, n);
}

static ctcd_status single_barrier(ctcd_comm *c) {
    (void)c;
    return CTCD_OK;
}

static void single_abort(ctcd_comm *c, int code) { (void)c, (void)code; }

static void single_destroy(ctcd_comm *c) { free(c); }

static ctcd_status single_create(ctcd_comm **out) {
    ctcd_comm *c = calloc(1, sizeof *c);
    if (!c) return CTCD_ERR(CTCD_E_NOMEM, "out of memory");
    c->name = "single";
    c->rank = 0;
    c->world = 1;
    c->allreduce_sum = single_allreduce;
    c->reduce_scatter_sum = single_shards;
    c->allgather = single_shards;
    c->barrier = single_barrier;
    c->abort = single_abort;
    c->destroy = single_destroy;
    *out = c;
    return CTCD_OK;
}

/* A rank of `ctcd train --gpus N` has no transport of its own: the step's collectives run on
 * the NCCL communicator created with the CUDA backend (src/cli/train_dist.c). */
static ctcd_status launched_collective(ctcd_comm *c, ctcd_backend *be, float *buf, int64_t n) {
    (void)be, (void)buf, (void)n;
    return CTCD_ERR(CTCD_E_UNSUPPORTED, "rank %d of %d (ctcd train --gpus) has no transport "
                    "but NCCL on the CUDA backend", c->rank, c->world);
}

static ctcd_status launched_barrier(ctcd_comm *c) { return launched_collective(c, NULL, NULL, 0); }

/* The launcher sees the exit and stops the other ranks. */
static void launched_abort(ctcd_comm *c, int code) {
    if (c->world > 1) _exit(code);
}

static ctcd_status launched_create(int rank, int world, ctcd_comm **out) {
    CTCD_TRY(single_create(out));
    ctcd_comm *c = *out;
    c->name = "gpus";
    c->rank = rank;
    c->world = world;
    c->allreduce_sum = c->reduce_scatter_sum = c->allgather = launched_collective;
    c->barrier = launched_barrier;
    c->abort = launched_abort;
    return CTCD_OK;
}

int ctcd_comm_launched_by_mpi(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && atoi(v) > 1) return 1;
    }
    return 0;
}

ctcd_status ctcd_comm_create(const char *kind, ctcd_comm **out) {
    *out = NULL;
    int rank, world;
    if ((!kind || strcmp(kind, "auto") == 0) && ctcd_launched_rank(&rank, &world))
        return launched_create(rank, world, out);
    if (!kind || strcmp(kind, "auto") == 0) {
        if (ctcd_comm_launched_by_mpi() && !ctcd_comm_have_mpi())
            return CTCD_ERR(CTCD_E_UNSUPPORTED,
                            "started by an MPI launcher with several ranks, but this build of "
                            "ctcd has no MPI (install libopenmpi-dev and reconfigure with CMake)");
        kind = ctcd_comm_launched_by_mpi() ? "mpi" : "single";
    }
    if (strcmp(kind, "single") == 0) return single_create(out);
    if (strcmp(kind, "mpi") == 0) {
        if (!ctcd_comm_have_mpi())
            return CTCD_ERR(CTCD_E_UNSUPPORTED,
                            "this build of ctcd has no MPI (install libopenmpi-dev and "
                            "reconfigure with CMake)");
        return ctcd_comm_mpi_create(out);
    }
    return CTCD_ERR(CTCD_E_INVALID, "unknown communicator '%s' (valid: auto, single, mpi)",
                    kind);
}

void ctcd_comm_destroy(ctcd_comm *c) {
    if (c) c->destroy(c);
}

void ctcd_shard_rows(int64_t n, int rank, int world, int64_t *lo, int64_t *hi) {
    if (world < 1) world = 1;
    const int64_t base = n / world, extra = n % world;
    *lo = rank * base + (rank < extra ? rank : extra);
    *hi = *lo + base + (rank < extra ? 1 : 0);
}
