/* cuda/emu/cublasLt.h — cuBLASLt as the emulation build sees it: the types and calls that
 * gemm_lt.cu uses, with a heuristic that never has an algorithm. Every GEMM of the emulated
 * backend therefore takes gemm_lt.cu's own fallback path (the tiled kernel and its
 * epilogues), exactly as a real GPU does for a problem cuBLASLt refuses; cuBLASLt itself is
 * checked only on a GPU. */
#ifndef CTCD_EMU_CUBLASLT_H
#define CTCD_EMU_CUBLASLT_H

#include <cstddef>
#include <cstdint>

#include "cuda_runtime.h"

typedef enum cublasStatus_t {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_EXECUTION_FAILED = 13,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
} cublasStatus_t;

typedef enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 } cublasOperation_t;
typedef enum cublasComputeType_t { CUBLAS_COMPUTE_32F = 68 } cublasComputeType_t;
typedef enum cudaDataType_t { CUDA_R_32F = 0, CUDA_R_16BF = 14 } cudaDataType_t;

typedef enum cublasLtEpilogue_t {
    CUBLASLT_EPILOGUE_DEFAULT = 1,
    CUBLASLT_EPILOGUE_BIAS = 4,
    CUBLASLT_EPILOGUE_GELU = 32,
    CUBLASLT_EPILOGUE_GELU_BIAS = 36,
    CUBLASLT_EPILOGUE_GELU_AUX = 160,
    CUBLASLT_EPILOGUE_GELU_AUX_BIAS = 164,
} cublasLtEpilogue_t;

typedef enum cublasLtMatmulDescAttributes_t {
    CUBLASLT_MATMUL_DESC_TRANSA = 3,
    CUBLASLT_MATMUL_DESC_TRANSB = 4,
    CUBLASLT_MATMUL_DESC_EPILOGUE = 7,
    CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8,
    CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER = 10,
    CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD = 11,
    CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE = 26,
    CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE = 27,
} cublasLtMatmulDescAttributes_t;

typedef enum cublasLtMatmulPreferenceAttributes_t {
    CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES = 5,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES = 6,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES = 7,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES = 8,
} cublasLtMatmulPreferenceAttributes_t;

struct cublasLtEmuObject {
    int kind;
};
typedef struct cublasLtEmuObject *cublasLtHandle_t;
typedef struct cublasLtEmuObject *cublasLtMatmulDesc_t;
typedef struct cublasLtEmuObject *cublasLtMatrixLayout_t;
typedef struct cublasLtEmuObject *cublasLtMatmulPreference_t;
typedef struct cublasLtMatmulAlgo_t {
    uint64_t data[8];
} cublasLtMatmulAlgo_t;
typedef struct cublasLtMatmulHeuristicResult_t {
    cublasLtMatmulAlgo_t algo;
    size_t workspaceSize;
    cublasStatus_t state;
    float wavesCount;
    int reserved[4];
} cublasLtMatmulHeuristicResult_t;

static inline cublasStatus_t ctcd_emu_lt_new(cublasLtEmuObject **p, int kind) {
    *p = new cublasLtEmuObject{kind};
    return CUBLAS_STATUS_SUCCESS;
}
static inline cublasStatus_t ctcd_emu_lt_delete(cublasLtEmuObject *p) {
    delete p;
    return CUBLAS_STATUS_SUCCESS;
}

static inline cublasStatus_t cublasLtCreate(cublasLtHandle_t *h) { return ctcd_emu_lt_new(h, 1); }
static inline cublasStatus_t cublasLtDestroy(cublasLtHandle_t h) { return ctcd_emu_lt_delete(h); }
static inline cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *d,
                                                      cublasComputeType_t ct, cudaDataType_t st) {
    (void)ct;
    (void)st;
    return ctcd_emu_lt_new(d, 2);
}
static inline cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d) {
    return ctcd_emu_lt_delete(d);
}
static inline cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d,
                                                            cublasLtMatmulDescAttributes_t a,
                                                            const void *buf, size_t n) {
    (void)a;
    return d && buf && n ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
}
static inline cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *l,
                                                        cudaDataType_t t, uint64_t rows,
                                                        uint64_t cols, int64_t ld) {
    (void)t;
    (void)rows;
    (void)cols;
    (void)ld;
    return ctcd_emu_lt_new(l, 3);
}
static inline cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l) {
    return ctcd_emu_lt_delete(l);
}
static inline cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *p) {
    return ctcd_emu_lt_new(p, 4);
}
static inline cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p) {
    return ctcd_emu_lt_delete(p);
}
static inline cublasStatus_t
cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p,
                                     cublasLtMatmulPreferenceAttributes_t a, const void *buf,
                                     size_t n) {
    (void)a;
    return p && buf && n ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
}
/* No algorithm for any problem: the caller's fallback runs it. */
static inline cublasStatus_t cublasLtMatmulAlgoGetHeuristic(
    cublasLtHandle_t h, cublasLtMatmulDesc_t d, cublasLtMatrixLayout_t a,
    cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t dd,
    cublasLtMatmulPreference_t p, int want, cublasLtMatmulHeuristicResult_t *res, int *n) {
    (void)h, (void)d, (void)a, (void)b, (void)c, (void)dd, (void)p, (void)want, (void)res;
    *n = 0;
    return CUBLAS_STATUS_NOT_SUPPORTED;
}
static inline cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t d,
                                            const void *alpha, const void *A,
                                            cublasLtMatrixLayout_t la, const void *B,
                                            cublasLtMatrixLayout_t lb, const void *beta,
                                            const void *C, cublasLtMatrixLayout_t lc, void *D,
                                            cublasLtMatrixLayout_t ld,
                                            const cublasLtMatmulAlgo_t *algo, void *ws,
                                            size_t ws_bytes, cudaStream_t s) {
    (void)h, (void)d, (void)alpha, (void)A, (void)la, (void)B, (void)lb, (void)beta, (void)C;
    (void)lc, (void)D, (void)ld, (void)algo, (void)ws, (void)ws_bytes, (void)s;
    return CUBLAS_STATUS_NOT_SUPPORTED;
}
static inline const char *cublasLtGetStatusName(cublasStatus_t s) {
    return s == CUBLAS_STATUS_SUCCESS ? "CUBLAS_STATUS_SUCCESS" : "CUBLAS_STATUS_NOT_SUPPORTED";
}
static inline const char *cublasLtGetStatusString(cublasStatus_t s) {
    return s == CUBLAS_STATUS_SUCCESS ? "success" : "not supported in the emulation build";
}

#endif
