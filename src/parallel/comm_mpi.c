/* comm_mpi.c — the MPI transport (include/ctcd/dist.h): MPI_Allreduce over MPI_COMM_WORLD.
 * Host buffers (the CPU backend) are reduced in place; device buffers are staged through a
 * host buffer (a CUDA-aware MPI or NCCL would avoid the copies). ZeRO-1's reduce-scatter and
 * all-gather are one MPI_Reduce / MPI_Bcast per shard, rooted at the shard's owner. MPI is initialised with
 * MPI_THREAD_FUNNELED: only the main thread calls MPI (OpenMP threads never do). */
#include <stdlib.h>
#include <string.h>

#include "dist_internal.h"

#ifdef CTCD_HAVE_MPI
#include <mpi.h>

typedef struct mpi_impl {
    float *stage;     /* host staging for device buffers */
    int64_t stage_n;
    int finalize;     /* we called MPI_Init, so we finalise */
} mpi_impl;

static ctcd_status mpi_status(int rc, const char *what) {
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return CTCD_ERR(CTCD_E_IO, "MPI %s failed: %s", what, msg);
}

/* MPI counts are int: collectives run in chunks of at most 2^30 elements. */
#define CHUNK ((int64_t)1 << 30)

static int chunk_len(int64_t n, int64_t off) { return (int)(n - off < CHUNK ? n - off : CHUNK); }

static ctcd_status reduce_host(ctcd_comm *c, float *buf, int64_t n) {
    (void)c;
    for (int64_t off = 0; off < n; off += CHUNK) {
        const int rc = MPI_Allreduce(MPI_IN_PLACE, buf + off, chunk_len(n, off), MPI_FLOAT,
                                     MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_status(rc, "Allreduce");
    }
    return CTCD_OK;
}

/* ZeRO-1's halves on a host buffer, one collective per shard rooted at its owner:
 * MPI_Reduce (gather == 0: rank r's shard summed onto rank r) or MPI_Bcast (gather == 1:
 * every shard sent from its owner to all). */
static ctcd_status per_shard_host(ctcd_comm *c, float *buf, int64_t n, int gather) {
    for (int r = 0; r < c->world; r++) {
        int64_t lo, hi;
        ctcd_shard_rows(n, r, c->world, &lo, &hi);
        for (int64_t off = lo; off < hi; off += CHUNK) {
            float *p = buf + off;
            const int k = chunk_len(hi, off);
            const int rc = gather ? MPI_Bcast(p, k, MPI_FLOAT, r, MPI_COMM_WORLD)
                                  : MPI_Reduce(r == c->rank ? MPI_IN_PLACE : p, p, k, MPI_FLOAT,
                                               MPI_SUM, r, MPI_COMM_WORLD);
            if (rc != MPI_SUCCESS)
                return mpi_status(rc, gather ? "Bcast (all-gather)" : "Reduce (reduce-scatter)");
        }
    }
    return CTCD_OK;
}

static ctcd_status reduce_scatter_host(ctcd_comm *c, float *buf, int64_t n) {
    return per_shard_host(c, buf, n, 0);
}

static ctcd_status allgather_host(ctcd_comm *c, float *buf, int64_t n) {
    return per_shard_host(c, buf, n, 1);
}

typedef ctcd_status (*host_collective)(ctcd_comm *c, float *buf, int64_t n);

/* Runs op on buf[n]: in place for host memory, else through the host staging buffer. */
static ctcd_status run_staged(ctcd_comm *c, ctcd_backend *be, float *buf, int64_t n,
                              host_collective op) {
    if (n <= 0 || c->world == 1) return CTCD_OK;
    if (!be || be->device == CTCD_DEVICE_CPU) return op(c, buf, n);
    mpi_impl *m = c->impl;
    if (m->stage_n < n) {
        float *p = realloc(m->stage, (size_t)n * sizeof *p);
        if (!p) return CTCD_ERR(CTCD_E_NOMEM, "out of memory staging %lld floats for MPI",
                                (long long)n);
        m->stage = p;
        m->stage_n = n;
    }
    CTCD_TRY(be->download(be, m->stage, buf, (size_t)n * sizeof(float)));
    CTCD_TRY(op(c, m->stage, n));
    return be->upload(be, buf, m->stage, (size_t)n * sizeof(float));
}

static ctcd_status mpi_allreduce(ctcd_comm *c, ctcd_backend *be, float *buf, int64_t n) {
    return run_staged(c, be, buf, n, reduce_host);
}

static ctcd_status mpi_reduce_scatter(ctcd_comm *c, ctcd_backend *be, float *buf, int64_t n) {
    return run_staged(c, be, buf, n, reduce_scatter_host);
}

static ctcd_status mpi_allgather(ctcd_comm *c, ctcd_backend *be, float *buf, int64_t n) {
    return run_staged(c, be, buf, n, allgather_host);
}

static ctcd_status mpi_barrier(ctcd_comm *c) {
    (void)c;
    const int rc = MPI_Barrier(MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? CTCD_OK : mpi_status(rc, "Barrier");
}

static void mpi_abort(ctcd_comm *c, int code) {
    if (c->world > 1) MPI_Abort(MPI_COMM_WORLD, code);
}

static void mpi_destroy(ctcd_comm *c) {
    mpi_impl *m = c->impl;
    if (m && m->finalize) MPI_Finalize();
    if (m) free(m->stage);
    free(m);
    free(c);
}

ctcd_status ctcd_comm_mpi_create(ctcd_comm **out) {
    *out = NULL;
    int inited = 0;
    MPI_Initialized(&inited);
    int finalize = 0;
    if (!inited) {
        int provided = 0;
        const int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
        if (rc != MPI_SUCCESS) return mpi_status(rc, "Init");
        finalize = 1;
    }
    ctcd_comm *c = calloc(1, sizeof *c);
    mpi_impl *m = calloc(1, sizeof *m);
    if (!c || !m) {
        free(c);
        free(m);
        return CTCD_ERR(CTCD_E_NOMEM, "out of memory");
    }
    m->finalize = finalize;
    c->name = "mpi";
    c->impl = m;
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->world);
    c->allreduce_sum = mpi_allreduce;
    c->reduce_scatter_sum = mpi_reduce_scatter;
    c->allgather = mpi_allgather;
    c->barrier = mpi_barrier;
    c->abort = mpi_abort;
    c->destroy = mpi_destroy;
    *out = c;
    return CTCD_OK;
}

int ctcd_comm_have_mpi(void) { return 1; }

#else

ctcd_status ctcd_comm_mpi_create(ctcd_comm **out) {
    *out = NULL;
    return CTCD_ERR(CTCD_E_UNSUPPORTED, "this build of ctcd has no MPI");
}

int ctcd_comm_have_mpi(void) { return 0; }

#endif
