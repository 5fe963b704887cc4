/* lt_loader.cu — cuBLASLt loaded on first use (dlopen), so that the ctcd binary starts on
 * machines without the CUDA libraries or a driver: the CPU path never touches them, `auto`
 * falls back to the CPU, and `cuda` reports why it cannot run.
 *
 * This file defines the cuBLASLt entry points the backend calls as small trampolines that
 * resolve the real function in libcublasLt.so.13 (or libcublasLt.so) once; the library is
 * therefore not a link-time dependency. The CUDA runtime is linked statically (it loads the
 * driver, libcuda.so.1, itself at the first CUDA call). ctcd_cuda_lt_load() is what the
 * backend calls first to turn a missing library into a clear error. */
#include <cublasLt.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "cuda_common.cuh"

static void *g_lt_handle;            /* set once under g_lt_once, then read-only */
static char g_lt_error[512];
static pthread_once_t g_lt_once = PTHREAD_ONCE_INIT;

static void lt_open(void) {
    static const char *const names[] = {"libcublasLt.so.13", "libcublasLt.so"};
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !g_lt_handle; i++) {
        g_lt_handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!g_lt_handle) {
            const char *e = dlerror();
            snprintf(g_lt_error, sizeof g_lt_error, "cannot load cuBLASLt (%s)",
                     e ? e : names[i]);
        }
    }
}

extern "C" ctcd_status ctcd_cuda_lt_load(void) {
    pthread_once(&g_lt_once, lt_open);
    if (g_lt_handle) return CTCD_OK;
    return CTCD_ERR(CTCD_E_UNSUPPORTED,
                    "%s: install the CUDA toolkit's cuBLAS libraries or add their directory "
                    "to LD_LIBRARY_PATH",
                    g_lt_error);
}

static void *lt_sym(const char *name) {
    pthread_once(&g_lt_once, lt_open);
    return g_lt_handle ? dlsym(g_lt_handle, name) : NULL;
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
