/* comm_nccl.cu — the NCCL transport (include/ctcd/dist_nccl.h): all-reduce, reduce-scatter
 * and all-gather of CUDA buffers in place on the backend's stream (the model's stream), no
 * host staging. The flat gradient buffer is all-reduced in buckets of bucket_floats, each
 * its own ncclAllReduce queued on the stream. ZeRO-1's shards follow ctcd_shard_rows (sizes
 * may differ by one), so reduce-scatter is one ncclReduce per shard rooted at its owner and
 * all-gather one ncclBroadcast per shard, each inside one NCCL group.
 *
 * libnccl is loaded with dlopen when a communicator is created (the entry points live in the
 * communicator, no global state): the ctcd binary starts and runs on the CPU without it. */
#include <cuda_runtime.h>
#include <stdio.h>

#include "ctcd/backend_cuda.h"
#include "ctcd/dist_nccl.h"

#ifdef CTCD_HAVE_NCCL
#include <dlfcn.h>
#include <nccl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static_assert(sizeof(ncclUniqueId) == CTCD_NCCL_ID_BYTES, "ncclUniqueId size changed");

/* A CUDA runtime call; on failure a CTCD_E_DEVICE status naming the call (the backend's own
 * CUDA_CHECK lives in cuda/cuda_common.cuh, private to the backend). */
#define CUDA_CHECK(expr)                                                                   \
    do {                                                                                   \
        const cudaError_t cuda_check_e_ = (expr);                                          \
        if (cuda_check_e_ != cudaSuccess)                                                  \
            return ctcd_error_new(CTCD_E_DEVICE, __FILE__, __LINE__, "CUDA error %s (%s) in %s", \
                                  cudaGetErrorName(cuda_check_e_),                         \
                                  cudaGetErrorString(cuda_check_e_), #expr);               \
    } while (0)

static inline cudaStream_t stream_of(ctcd_backend *be) {
    return (cudaStream_t)ctcd_backend_cuda_stream(be);
}

/* The NCCL entry points ctcd calls, resolved from one dlopen. */
typedef struct nccl_api {
    void *lib;
    decltype(&ncclGetUniqueId) get_unique_id;
    decltype(&ncclCommInitRank) init_rank;
    decltype(&ncclAllReduce) all_reduce;
    decltype(&ncclReduce) reduce;
    decltype(&ncclBroadcast) broadcast;
    decltype(&ncclGroupStart) group_start;
    decltype(&ncclGroupEnd) group_end;
    decltype(&ncclCommDestroy) destroy;
    decltype(&ncclCommAbort) abort;
    decltype(&ncclGetErrorString) error_string;
} nccl_api;

static ctcd_status nccl_load(nccl_api *a) {
    memset(a, 0, sizeof *a);
    static const char *const names[] = {"libnccl.so.2", "libnccl.so"};
    const char *why = "not found";
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !a->lib; i++) {
        a->lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!a->lib && dlerror()) why = names[i];
    }
    if (!a->lib)
        return CTCD_ERR(CTCD_E_UNSUPPORTED, "cannot load NCCL (%s): install it (e.g. the "
                        "nvidia-nccl-cu13 pip package) and add its lib directory to "
                        "LD_LIBRARY_PATH", why);
#define NCCL_SYM(field, name)                                                              \
    a->field = (decltype(a->field))dlsym(a->lib, #name);                                   \
    if (!a->field) {                                                                       \
        dlclose(a->lib);                                                                   \
        return CTCD_ERR(CTCD_E_UNSUPPORTED, "libnccl has no %s (too old?)", #name);        \
    }
    NCCL_SYM(get_unique_id, ncclGetUniqueId)
    NCCL_SYM(init_rank, ncclCommInitRank)
    NCCL_SYM(all_reduce, ncclAllReduce)
    NCCL_SYM(reduce, ncclReduce)
    NCCL_SYM(broadcast, ncclBroadcast)
    NCCL_SYM(group_start, ncclGroupStart)
    NCCL_SYM(group_end, ncclGroupEnd)
    NCCL_SYM(destroy, ncclCommDestroy)
    NCCL_SYM(abort, ncclCommAbort)
    NCCL_SYM(error_string, ncclGetErrorString)
#undef NCCL_SYM
    return CTCD_OK;
}

#define NCCL_CHECK(api, expr)                                                              \
    do {                                                                                   \
        const ncclResult_t r_ = (expr);                                                    \
        if (r_ != ncclSuccess)                                                             \
            return ctcd_error_new(CTCD_E_DEVICE, __FILE__, __LINE__, "NCCL error %d (%s) in %s", \
                                  (int)r_, (api)->error_string(r_), #expr);                \
    } while (0)

typedef struct nccl_impl {
    nccl_api api;
    ncclComm_t comm;
    ctcd_backend *be;     /* the CUDA backend whose stream runs the collectives */
    float *scratch;       /* device F32[scratch_n] for host buffers */
    int64_t scratch_n;
    int64_t bucket;       /* floats per all-reduce piece */
    ctcd_comm *parent;    /* abort falls back to it (borrowed; may be NULL) */
} nccl_impl;

/* The stream and the device buffer to run on: buf itself for device memory; for host memory
 * (be NULL or the CPU) buf copied into the scratch buffer, *host set to buf. */
static ctcd_status device_view(nccl_impl *m, ctcd_backend *be, float *buf, int64_t n,
                               float **dev, float **host) {
    *host = NULL;
    *dev = buf;
    if (be && be->device != CTCD_DEVICE_CPU) return CTCD_OK;
    if (m->scratch_n < n) {
        if (m->scratch) CUDA_CHECK(cudaFree(m->scratch));
        m->scratch = NULL;
        m->scratch_n = 0;
        CUDA_CHECK(cudaMalloc((void **)&m->scratch, (size_t)n * sizeof(float)));
        m->scratch_n = n;
    }
    CUDA_CHECK(cudaMemcpyAsync(m->scratch, buf, (size_t)n * sizeof(float),
                               cudaMemcpyHostToDevice, stream_of(m->be)));
    *dev = m->scratch;
    *host = buf;
    return CTCD_OK;
}

/* Copies a host buffer's result back (waiting for the stream); nothing for device memory,
 * whose consumers are queued on the same stream. */
static ctcd_status host_back(nccl_impl *m, float *dev, float *host, int64_t n) {
    if (!host) return CTCD_OK;
    CUDA_CHECK(cudaMemcpyAsync(host, dev, (size_t)n * sizeof(float), cudaMemcpyDeviceToHost,
                               stream_of(m->be)));
    CUDA_CHECK(cudaStreamSynchronize(stream_of(m->be)));
    return CTCD_OK;
}

static ctcd_status nccl_allreduce(ctcd_comm *c, ctcd_backend *be, float *buf, int64_t n) {
    nccl_impl *m = (nccl_impl *)c->impl;
    if (n <= 0) return CTCD_OK;
    float *dev, *host;
    CTCD_TRY(device_view(m, be, buf, n, &dev, &host));
    const cudaStream_t s = stream_of(m->be);
    NCCL_CHECK(&m->api, m->api.group_start());
    for (int64_t off = 0; off < n; off += m->bucket) {
        const size_t k = (size_t)(n - off < m->bucket ? n - off : m->bucket);
        NCCL_CHECK(&m->api, m->api.all_reduce(dev + off, dev + off, k, ncclFloat, ncclSum,
                                              m->comm, s));
    }
    NCCL_CHECK(&m->api, m->api.group_end());
    return host_back(m, dev, host, n);
}

/* ZeRO-1's halves in one NCCL group, one collective per shard rooted at its owner:
 * ncclReduce (gather == 0, reduce-scatter) or ncclBroadcast (gather == 1, all-gather). */
static ctcd_status nccl_per_shard(ctcd_comm *c, ctcd_backend *be, float *buf, int64_t n,
                                  int gather) {
    nccl_impl *m = (nccl_impl *)c->impl;
    if (n <= 0) return CTCD_OK;
    float *dev, *host;
    CTCD_TRY(device_view(m, be, buf, n, &dev, &host));
    NCCL_CHECK(&m->api, m->api.group_start());
    for (int r = 0; r < c->world; r++) {
        int64_t lo, hi;
        ctcd_shard_rows(n, r, c->world, &lo, &hi);
        const size_t k = (size_t)(hi - lo);
        if (gather)
            NCCL_CHECK(&m->api, m->api.broadcast(dev + lo, dev + lo, k, ncclFloat, r, m->comm,
                                                 stream_of(m->be)));
        else
            NCCL_CHECK(&m->api, m->api.reduce(dev + lo, dev + lo, k, ncclFloat, ncclSum, r,
                                              m->comm, stream_of(m->be)));
    }
    NCCL_CHECK(&m->api, m->api.group_end());
    return host_back(m, dev, host, n);
}

static ctcd_status nccl_reduce_scatter(ctcd_comm *c, ctcd_backend *be, float *buf, int64_t n) {
    return nccl_per_shard(c, be, buf, n, 0);
}

static ctcd_status nccl_allgather(ctcd_comm *c, ctcd_backend *be, float *buf, int64_t n) {
    return nccl_per_shard(c, be, buf, n, 1);
}

static ctcd_status nccl_barrier(ctcd_comm *c) {
    float one = 1.0f;
    return nccl_allreduce(c, NULL, &one, 1);
}

static void nccl_abort(ctcd_comm *c, int code) {
    nccl_impl *m = (nccl_impl *)c->impl;
    if (c->world == 1) return;
    (void)m->api.abort(m->comm);
    if (m->parent) m->parent->abort(m->parent, code);
    _exit(code); /* no launcher to end the others: the --gpus parent kills the siblings */
}

static void nccl_destroy(ctcd_comm *c) {
    nccl_impl *m = (nccl_impl *)c->impl;
    if (m) {
        if (m->comm) (void)m->api.destroy(m->comm);
        if (m->scratch) (void)cudaFree(m->scratch);
        if (m->api.lib) dlclose(m->api.lib);
        free(m);
    }
    free(c);
}

extern "C" int ctcd_comm_have_nccl(void) { return 1; }

extern "C" ctcd_status ctcd_nccl_unique_id(unsigned char id[CTCD_NCCL_ID_BYTES]) {
    nccl_api a;
    CTCD_TRY(nccl_load(&a));
    ncclUniqueId u;
    const ncclResult_t r = a.get_unique_id(&u);
    const char *why = r == ncclSuccess ? NULL : a.error_string(r);
    if (!why) memcpy(id, &u, sizeof u);
    /* libnccl stays loaded: ncclGetUniqueId starts NCCL's bootstrap root thread in this
     * process (the ranks connect to it during ncclCommInitRank); unloading the library
     * would unmap that thread's code under it (a crash seen with --gpus). */
    return why ? CTCD_ERR(CTCD_E_DEVICE, "ncclGetUniqueId failed: %s", why) : CTCD_OK;
}

extern "C" ctcd_status ctcd_comm_nccl_create(ctcd_backend *be, int rank, int world,
                                             const unsigned char id[CTCD_NCCL_ID_BYTES],
                                             int64_t bucket_floats, ctcd_comm *parent,
                                             ctcd_comm **out) {
    *out = NULL;
    if (!be || be->device == CTCD_DEVICE_CPU)
        return CTCD_ERR(CTCD_E_INVALID, "NCCL needs the CUDA backend (train.backend: cuda)");
    ctcd_comm *c = (ctcd_comm *)calloc(1, sizeof *c);
    nccl_impl *m = (nccl_impl *)calloc(1, sizeof *m);
    if (!c || !m) {
        free(c);
        free(m);
        return CTCD_ERR(CTCD_E_NOMEM, "out of memory");
    }
    c->impl = m;
    c->destroy = nccl_destroy;
    ctcd_status st = nccl_load(&m->api);
    if (st) {
        m->api.lib = NULL;
        nccl_destroy(c);
        return st;
    }
    ncclUniqueId u;
    memcpy(&u, id, sizeof u);
    const ncclResult_t r = m->api.init_rank(&m->comm, world, u, rank);
    if (r != ncclSuccess) {
        st = CTCD_ERR(CTCD_E_DEVICE, "ncclCommInitRank (rank %d of %d) failed: %s", rank, world,
                      m->api.error_string(r));
        m->comm = NULL;
        nccl_destroy(c);
        return st;
    }
    m->be = be;
    m->bucket = bucket_floats > 0 ? bucket_floats : (int64_t)1 << 25;
    m->parent = parent;
    c->name = "nccl";
    c->rank = rank;
    c->world = world;
    c->allreduce_sum = nccl_allreduce;
    c->reduce_scatter_sum = nccl_reduce_scatter;
    c->allgather = nccl_allgather;
    c->barrier = nccl_barrier;
    c->abort = nccl_abort;
    *out = c;
    return CTCD_OK;
}

extern "C" int ctcd_nccl_locate(char *out, size_t cap) {
    nccl_api a;
    ctcd_status st = nccl_load(&a);
    if (st) {
        snprintf(out, cap, "%s", ctcd_status_message(st));
        ctcd_status_free(st);
        return 0;
    }
    Dl_info info;
    memset(&info, 0, sizeof info);
    int version = 0;
    decltype(&ncclGetVersion) get_version = (decltype(&ncclGetVersion))dlsym(a.lib, "ncclGetVersion");
    if (get_version) (void)get_version(&version);
    const char *path = dladdr((void *)a.get_unique_id, &info) && info.dli_fname
                           ? info.dli_fname : "loaded (path unknown)";
    snprintf(out, cap, "%s (NCCL %d.%d.%d)", path, version / 10000, version / 100 % 100,
             version % 100);
    dlclose(a.lib);
    return 1;
}

#else /* no NCCL in this build */

extern "C" int ctcd_nccl_locate(char *out, size_t cap) {
    snprintf(out, cap, "not built (nccl.h was not found when ctcd was configured; CMake "
             "option CTCD_NCCL)");
    return 0;
}

extern "C" int ctcd_comm_have_nccl(void) { return 0; }

extern "C" ctcd_status ctcd_nccl_unique_id(unsigned char id[CTCD_NCCL_ID_BYTES]) {
    (void)id;
    return CTCD_ERR(CTCD_E_UNSUPPORTED, "this build of ctcd has no NCCL (nccl.h was not found "
                    "when it was configured; CMake option CTCD_NCCL)");
}

extern "C" ctcd_status ctcd_comm_nccl_create(ctcd_backend *be, int rank, int world,
                                             const unsigned char id[CTCD_NCCL_ID_BYTES],
                                             int64_t bucket_floats, ctcd_comm *parent,
                                             ctcd_comm **out) {
    (void)be, (void)rank, (void)world, (void)id, (void)bucket_floats, (void)parent;
    *out = NULL;
    return ctcd_nccl_unique_id(NULL);
}

#endif
