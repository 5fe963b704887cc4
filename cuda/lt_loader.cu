/* lt_loader.cu — cuBLASLt loaded on first use (dlopen), so that the ctcd binary starts on
 * machines without the CUDA libraries or a driver: the CPU path never touches them, `auto`
 * falls back to the CPU, and `cuda` reports why it cannot run.
 *
 * This file defines the cuBLASLt entry points the backend calls as small trampolines that
 * resolve the real function in the library once; the library is therefore not a link-time
 * dependency. The CUDA runtime is linked statically (it loads the driver, libcuda.so.1,
 * itself at the first CUDA call). ctcd_cuda_lt_load() is what the backend calls first to
 * turn a missing library into a clear error.
 *
 * Where it is looked for (include/ctcd/backend_cuda.h, src/core/libfind.c): CTCD_CUBLASLT,
 * the loader path, the CUDA toolkit's folders, python3's nvidia wheels — on the GPU image
 * cuBLASLt may live only inside PyTorch's wheels, outside ld.so.conf. Only the major
 * version this file was compiled against (CUBLAS_VER_MAJOR) is asked for by soname: the
 * enums and structs of cublasLt.h may change between majors. The unversioned
 * libcublasLt.so (a toolkit's development link) is the last resort, as before. */
#include <cublasLt.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/backend_cuda.h"
#include "ctcd/libfind.h"
#include "ctcd/log.h"
#include "cuda_common.cuh"

#define LT_STR_(x) #x
#define LT_STR(x) LT_STR_(x)

static ctcd_lib_found g_lt;      /* written once under g_lt_once, then read-only */
static char g_lt_error[CTCD_LIBFIND_TRIED_CAP + 512];
static pthread_once_t g_lt_once = PTHREAD_ONCE_INIT;

static void lt_open(void) {
    static const char *const names[] = {"libcublasLt.so." LT_STR(CUBLAS_VER_MAJOR),
                                        "libcublasLt.so", NULL};
    const ctcd_lib_spec spec = {"cuBLASLt", "CTCD_CUBLASLT", names, 0};
    ctcd_status st = ctcd_lib_find(&spec, &g_lt);
    if (st) {
        snprintf(g_lt_error, sizeof g_lt_error, "%s", ctcd_status_message(st));
        ctcd_status_free(st);
        return;
    }
    const char *env = getenv("CTCD_CUBLASLT");
    if (env && *env && strcmp(g_lt.origin, "env") != 0)
        ctcd_log(CTCD_LOG_WARN, "CTCD_CUBLASLT=%s cannot be loaded; using %s (found by the %s "
                 "search) instead", env, g_lt.path, g_lt.origin);
}

extern "C" ctcd_status ctcd_cuda_lt_load(void) {
    pthread_once(&g_lt_once, lt_open);
    if (g_lt.handle) return CTCD_OK;
    return CTCD_ERR(CTCD_E_UNSUPPORTED, "%s", g_lt_error);
}

extern "C" const ctcd_lib_found *ctcd_cuda_lt_location(void) {
    pthread_once(&g_lt_once, lt_open);
    return &g_lt;
}

static void *lt_sym(const char *name) {
    pthread_once(&g_lt_once, lt_open);
    return g_lt.handle ? dlsym(g_lt.handle, name) : NULL;
}

/* Resolves `fn` once and forwards the call; a missing library or symbol is reported as the
 * cuBLAS status `fail`. */
#define LT_FORWARD(fn, fail, ...)                                     \
    do {                                                              \
        static decltype(&::fn) p_ = (decltype(&::fn))lt_sym(#fn);     \
        if (!p_) return fail;                                         \
        return p_(__VA_ARGS__);                                       \
    } while (0)

#define NI CUBLAS_STATUS_NOT_INITIALIZED

extern "C" {

cublasStatus_t CUBLASWINAPI cublasLtCreate(cublasLtHandle_t *h) { LT_FORWARD(cublasLtCreate, NI, h); }

cublasStatus_t CUBLASWINAPI cublasLtDestroy(cublasLtHandle_t h) { LT_FORWARD(cublasLtDestroy, NI, h); }

const char *CUBLASWINAPI cublasLtGetStatusName(cublasStatus_t s) {
    LT_FORWARD(cublasLtGetStatusName, "CUBLAS_STATUS_?", s);
}

const char *CUBLASWINAPI cublasLtGetStatusString(cublasStatus_t s) {
    LT_FORWARD(cublasLtGetStatusString, "cuBLASLt is not loaded", s);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t d,
                                           const void *alpha, const void *A,
                                           cublasLtMatrixLayout_t Ad, const void *B,
                                           cublasLtMatrixLayout_t Bd, const void *beta,
                                           const void *C, cublasLtMatrixLayout_t Cd, void *D,
                                           cublasLtMatrixLayout_t Dd,
                                           const cublasLtMatmulAlgo_t *algo, void *ws,
                                           size_t ws_bytes, cudaStream_t stream) {
    LT_FORWARD(cublasLtMatmul, NI, h, d, alpha, A, Ad, B, Bd, beta, C, Cd, D, Dd, algo, ws,
               ws_bytes, stream);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulAlgoGetHeuristic(
    cublasLtHandle_t h, cublasLtMatmulDesc_t d, cublasLtMatrixLayout_t Ad,
    cublasLtMatrixLayout_t Bd, cublasLtMatrixLayout_t Cd, cublasLtMatrixLayout_t Dd,
    cublasLtMatmulPreference_t pref, int requested, cublasLtMatmulHeuristicResult_t results[],
    int *returned) {
    LT_FORWARD(cublasLtMatmulAlgoGetHeuristic, NI, h, d, Ad, Bd, Cd, Dd, pref, requested,
               results, returned);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *d,
                                                     cublasComputeType_t compute,
                                                     cudaDataType_t scale) {
    LT_FORWARD(cublasLtMatmulDescCreate, NI, d, compute, scale);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d) {
    LT_FORWARD(cublasLtMatmulDescDestroy, NI, d);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d,
                                                           cublasLtMatmulDescAttributes_t a,
                                                           const void *buf, size_t n) {
    LT_FORWARD(cublasLtMatmulDescSetAttribute, NI, d, a, buf, n);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *p) {
    LT_FORWARD(cublasLtMatmulPreferenceCreate, NI, p);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p) {
    LT_FORWARD(cublasLtMatmulPreferenceDestroy, NI, p);
}

cublasStatus_t CUBLASWINAPI cublasLtMatmulPreferenceSetAttribute(
    cublasLtMatmulPreference_t p, cublasLtMatmulPreferenceAttributes_t a, const void *buf,
    size_t n) {
    LT_FORWARD(cublasLtMatmulPreferenceSetAttribute, NI, p, a, buf, n);
}

cublasStatus_t CUBLASWINAPI cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *l,
                                                       cudaDataType type, uint64_t rows,
                                                       uint64_t cols, int64_t ld) {
    LT_FORWARD(cublasLtMatrixLayoutCreate, NI, l, type, rows, cols, ld);
}

cublasStatus_t CUBLASWINAPI cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l) {
    LT_FORWARD(cublasLtMatrixLayoutDestroy, NI, l);
}

} /* extern "C" */
