/* backend_cuda.cu — the CUDA backend's wiring: device check and creation, memory ops
 * (alloc/free/upload/download/memzero/sync, cast lives in elementwise.cu), the per-lane
 * scratch buffers, the streams ("lanes": the main stream and one per model, joined by events;
 * stream_fork / stream_join) and the op table. Every op is queued on the current lane in call
 * order. */
#include <stdlib.h>
#include <string.h>

#include "colsum.cuh"
#include "cuda_common.cuh"
#include "ctcd/backend_cuda.h"

ctcd_status cuda_scratch(ctcd_backend *be, size_t bytes, void **out) {
    cuda_impl *c = cuda_of(be);
    const int l = c->lane;
    if (bytes > c->scratch_bytes[l]) {
        /* Queued work of this lane may still read the old buffer. */
        CUDA_CHECK(cudaStreamSynchronize(c->lanes[l]));
        if (c->scratch[l]) CUDA_CHECK(cudaFree(c->scratch[l]));
        c->scratch[l] = NULL;
        c->scratch_bytes[l] = 0;
        size_t want = bytes < ((size_t)1 << 20) ? ((size_t)1 << 20) : bytes + bytes / 4;
        cudaError_t e = cudaMalloc(&c->scratch[l], want);
        if (e != cudaSuccess) {
            (void)cudaGetLastError();
            c->scratch[l] = NULL;
            return ctcd_error_new(CTCD_E_NOMEM, __FILE__, __LINE__,
                                  "cuda: out of device memory for %zu bytes of op scratch (%s)",
                                  want, cudaGetErrorString(e));
        }
        c->scratch_bytes[l] = want;
    }
    *out = c->scratch[l];
    return CTCD_OK;
}

static ctcd_status cu_alloc(ctcd_backend *be, size_t bytes, const char *what, void **out) {
    *out = NULL;
    cudaError_t e = cudaMalloc(out, bytes ? bytes : 256);
    if (e == cudaSuccess) return CTCD_OK;
    (void)cudaGetLastError(); /* an allocation failure is not sticky; clear it */
    *out = NULL;
    size_t free_b = 0, total_b = 0;
    (void)cudaMemGetInfo(&free_b, &total_b);
    return ctcd_error_new(e == cudaErrorMemoryAllocation ? CTCD_E_NOMEM : CTCD_E_DEVICE,
                          __FILE__, __LINE__,
                          "cuda: cannot allocate %zu bytes (%.1f MiB) for %s on %s: %s "
                          "(%.1f of %.1f MiB free)",
                          bytes, bytes / 1048576.0, what ? what : "buffer",
                          cuda_of(be)->device_name, cudaGetErrorString(e), free_b / 1048576.0,
                          total_b / 1048576.0);
}

static void cu_free(ctcd_backend *be, void *p) {
    (void)be;
    if (p) (void)cudaFree(p);
}

/* Upload waits for the copy: callers may reuse or free the host buffer at once (pinned or
 * pageable alike). Uploads are rare (weights, one batch per step). */
static ctcd_status cu_upload(ctcd_backend *be, void *dst, const void *src, size_t bytes) {
    if (!bytes) return CTCD_OK;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_of(be)));
    CUDA_CHECK(cudaStreamSynchronize(stream_of(be)));
    return CTCD_OK;
}

static ctcd_status cu_download(ctcd_backend *be, void *dst, const void *src, size_t bytes) {
    if (!bytes) return CTCD_OK;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_of(be)));
    CUDA_CHECK(cudaStreamSynchronize(stream_of(be)));
    return cuda_loss_error(be);
}

static ctcd_status cu_memzero(ctcd_backend *be, void *p, size_t bytes) {
    if (!bytes) return CTCD_OK;
    CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream_of(be)));
    return CTCD_OK;
}

/* Waits for the work of every lane. */
static ctcd_status cu_sync(ctcd_backend *be) {
    cuda_impl *c = cuda_of(be);
    for (int l = 0; l < CUDA_LANES; l++) CUDA_CHECK(cudaStreamSynchronize(c->lanes[l]));
    return cuda_loss_error(be);
}

/* Work issued from now on runs on `lane`, after everything issued so far on the main stream
 * (not after other lanes: two forked lanes overlap). */
static ctcd_status cu_stream_fork(ctcd_backend *be, int lane) {
    cuda_impl *c = cuda_of(be);
    if (lane < 1 || lane >= CUDA_LANES)
        return ctcd_error_new(CTCD_E_INVALID, __FILE__, __LINE__,
                              "cuda: stream lane %d not in [1, %d]", lane, CUDA_LANES - 1);
    CUDA_CHECK(cudaEventRecord(c->lane_mark[0], c->lanes[0]));
    CUDA_CHECK(cudaStreamWaitEvent(c->lanes[lane], c->lane_mark[0], 0));
    c->lane = lane;
    return CTCD_OK;
}

/* Back to the main stream, which waits for everything issued on every lane. The lane is
 * reset first, so an error leaves the backend on the main stream. */
static ctcd_status cu_stream_join(ctcd_backend *be) {
    cuda_impl *c = cuda_of(be);
    c->lane = 0;
    for (int l = 1; l < CUDA_LANES; l++) {
        CUDA_CHECK(cudaEventRecord(c->lane_mark[l], c->lanes[l]));
        CUDA_CHECK(cudaStreamWaitEvent(c->lanes[0], c->lane_mark[l], 0));
    }
    return CTCD_OK;
}

static void cu_destroy(ctcd_backend *be) {
    if (!be) return;
    cuda_impl *c = cuda_of(be);
    if (c) {
        for (int l = 0; l < CUDA_LANES; l++)
            if (c->lanes[l]) (void)cudaStreamSynchronize(c->lanes[l]);
        cuda_gemm_destroy(be);
        for (int l = 0; l < CUDA_LANES; l++) {
            if (c->scratch[l]) (void)cudaFree(c->scratch[l]);
            if (c->lane_mark[l]) (void)cudaEventDestroy(c->lane_mark[l]);
            if (c->lanes[l]) (void)cudaStreamDestroy(c->lanes[l]);
        }
        if (c->loss_err) (void)cudaFree(c->loss_err);
        free(c);
    }
    free(be);
}

/* The lanes' streams and their fork/join events; the loss's error word. */
static ctcd_status create_lanes(cuda_impl *c) {
    for (int l = 0; l < CUDA_LANES; l++) {
        CUDA_CHECK(cudaStreamCreateWithFlags(&c->lanes[l], cudaStreamNonBlocking));
        CUDA_CHECK(cudaEventCreateWithFlags(&c->lane_mark[l], cudaEventDisableTiming));
    }
    c->lane = 0;
    CUDA_CHECK(cudaMalloc(&c->loss_err, 4 * sizeof(int32_t)));
    CUDA_CHECK(cudaMemset(c->loss_err, 0, 4 * sizeof(int32_t)));
    return CTCD_OK;
}

/* Checks that a usable device exists, with a message a user can act on. */
static ctcd_status check_device(cuda_impl *c) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaErrorInsufficientDriver) {
        (void)cudaGetLastError();
        int rt = 0, drv = 0;
        (void)cudaRuntimeGetVersion(&rt);
        (void)cudaDriverGetVersion(&drv);
        if (drv == 0)
            return ctcd_error_new(CTCD_E_DEVICE, __FILE__, __LINE__,
                                  "cuda: no CUDA device found (no NVIDIA driver is loaded)");
        return ctcd_error_new(CTCD_E_DEVICE, __FILE__, __LINE__,
                              "cuda: the NVIDIA driver (CUDA %d.%d) is older than this build's "
                              "CUDA runtime %d.%d; update the driver",
                              drv / 1000, (drv % 1000) / 10, rt / 1000, (rt % 1000) / 10);
    }
    if (e == cudaErrorNoDevice || (e == cudaSuccess && n == 0)) {
        (void)cudaGetLastError();
        return ctcd_error_new(CTCD_E_DEVICE, __FILE__, __LINE__, "cuda: no CUDA device found");
    }
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return ctcd_error_new(CTCD_E_DEVICE, __FILE__, __LINE__,
                              "cuda: cannot query devices: %s (%s)", cudaGetErrorName(e),
                              cudaGetErrorString(e));
    }
    CUDA_CHECK(cudaGetDevice(&c->device));
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, c->device));
    snprintf(c->device_name, sizeof c->device_name, "%s", prop.name);
    c->sm_count = prop.multiProcessorCount;
    c->smem_optin = prop.sharedMemPerBlockOptin;
    /* The build embeds sm_90 machine code (and compute_90 PTX, which older chips cannot run). */
    if (prop.major < 9)
        return ctcd_error_new(CTCD_E_UNSUPPORTED, __FILE__, __LINE__,
                              "cuda: device %d (%s) has compute capability %d.%d; this build "
                              "targets sm_90 (Hopper) and newer",
                              c->device, prop.name, prop.major, prop.minor);
    return CTCD_OK;
}

static int env_is(const char *name, const char *value) {
    const char *v = getenv(name);
    return v && strcmp(v, value) == 0;
}

/* Phase ranges (DESIGN.md section 4) are always on: a handful per step costs nothing;
 * per-op ranges are the CTCD_NVTX=detail ones (NVTX_OP). */
static void cu_range_push(ctcd_backend *be, const char *name) {
    (void)be;
#ifdef CTCD_HAVE_NVTX
    nvtxRangePushA(name);
#else
    (void)name;
#endif
}

static void cu_range_pop(ctcd_backend *be) {
    (void)be;
#ifdef CTCD_HAVE_NVTX
    nvtxRangePop();
#endif
}

/* Every lane's scratch, sized for the largest op of the hint, so that a step allocates
 * nothing (a model's ops run on its lane; the loss and the optimizer on the main one). */
static ctcd_status cu_reserve(ctcd_backend *be, const ctcd_reserve_hint *h) {
    size_t b = cuda_adamw_scratch_bound(h);
    const size_t bounds[4] = {cuda_attention_scratch_bound(h),
                              cuda_embedding_scratch_bound(be, h), cuda_loss_scratch_bound(h),
                              colsum_scratch_bound(h)};
    for (int i = 0; i < 4; i++) b = bounds[i] > b ? bounds[i] : b;
    cuda_impl *c = cuda_of(be);
    const int lane = c->lane;
    ctcd_status st = CTCD_OK;
    for (int l = 0; l < CUDA_LANES && !st; l++) {
        void *p = NULL;
        c->lane = l;
        st = cuda_scratch(be, b, &p);
    }
    c->lane = lane;
    return st;
}

static ctcd_status cu_mem_info(ctcd_backend *be, size_t *used, size_t *total) {
    (void)be;
    size_t fr = 0, tot = 0;
    CUDA_CHECK(cudaMemGetInfo(&fr, &tot));
    *used = tot - fr;
    *total = tot;
    return CTCD_OK;
}

extern "C" void *ctcd_backend_cuda_stream(ctcd_backend *be) { return (void *)stream_of(be); }

extern "C" ctcd_status ctcd_backend_cuda_create_ex(ctcd_dtype act_dtype, ctcd_backend **out) {
    *out = NULL;
    if (act_dtype != CTCD_BF16 && act_dtype != CTCD_F32)
        return ctcd_error_new(CTCD_E_INVALID, __FILE__, __LINE__,
                              "cuda: activation dtype must be BF16 or F32");
    ctcd_backend *be = (ctcd_backend *)calloc(1, sizeof *be);
    cuda_impl *c = (cuda_impl *)calloc(1, sizeof *c);
    if (!be || !c) {
        free(be);
        free(c);
        return ctcd_error_new(CTCD_E_NOMEM, __FILE__, __LINE__, "cuda: out of host memory");
    }
    be->impl = c;
    be->destroy = cu_destroy;
    ctcd_status st = check_device(c);
    if (!st) st = create_lanes(c);
    c->lt_gelu = env_is("CTCD_CUDA_LT_GELU", "1");
    c->nvtx = env_is("CTCD_NVTX", "detail");
    if (!st) st = cuda_gemm_init(be);
    if (st) {
        cu_destroy(be);
        return st;
    }
    be->name = "cuda";
    be->device_name = c->device_name;
    be->device = CTCD_DEVICE_CUDA;
    be->act_dtype = act_dtype;
    be->alloc = cu_alloc;
    be->free = cu_free;
    be->upload = cu_upload;
    be->download = cu_download;
    be->memzero = cu_memzero;
    be->cast = cuda_cast;
    be->sync = cu_sync;
    be->stream_fork = cu_stream_fork;
    be->stream_join = cu_stream_join;
    be->range_push = cu_range_push;
    be->range_pop = cu_range_pop;
    be->mem_info = cu_mem_info;
    be->reserve = cu_reserve;
    be->matmul_fwd = cuda_matmul_fwd;
    be->matmul_bwd = cuda_matmul_bwd;
    be->gelu_fwd = cuda_gelu_fwd;
    be->gelu_bwd = cuda_gelu_bwd;
    be->tanh_fwd = cuda_tanh_fwd;
    be->tanh_bwd = cuda_tanh_bwd;
    be->dropout_fwd = cuda_dropout_fwd;
    be->dropout_bwd = cuda_dropout_bwd;
    be->layernorm_fwd = cuda_layernorm_fwd;
    be->layernorm_bwd = cuda_layernorm_bwd;
    be->dropout_layernorm_fwd = cuda_dropout_layernorm_fwd;
    be->dropout_layernorm_bwd = cuda_dropout_layernorm_bwd;
    be->embedding_layernorm_fwd = cuda_embedding_layernorm_fwd;
    be->embedding_layernorm_bwd = cuda_embedding_layernorm_bwd;
    be->attention_aux_bytes = cuda_attention_aux_bytes;
    be->attention_fwd = cuda_attention_fwd;
    be->attention_bwd = cuda_attention_bwd;
    be->attn_aux_bytes = cuda_attn_aux_bytes;
    be->attn_fwd = cuda_attn_fwd;
    be->attn_bwd = cuda_attn_bwd;
    be->unit_mask_fwd = cuda_unit_mask_fwd;
    be->unit_mask_bwd = cuda_unit_mask_bwd;
    be->embedding_fwd = cuda_embedding_fwd;
    be->embedding_bwd = cuda_embedding_bwd;
    be->gather_rows = cuda_gather_rows;
    be->scatter_add_rows = cuda_scatter_add_rows;
    be->loss = cuda_loss;
    be->grad_sumsq = cuda_grad_sumsq;
    be->adamw = cuda_adamw;
    *out = be;
    return CTCD_OK;
}

extern "C" ctcd_status ctcd_backend_cuda_create(ctcd_backend **out) {
    return ctcd_backend_cuda_create_ex(CTCD_BF16, out);
}
