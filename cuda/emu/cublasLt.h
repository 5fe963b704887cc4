/* cuda/emu/cublasLt.h — cuBLASLt for the emulation build: the types and calls gemm_lt.cu
 * uses, backed by a plain host GEMM that follows cuBLASLt's documented semantics
 * (column-major; D = alpha·op(A)·op(B) + beta·C; the BIAS epilogue adds bias[i] to row i of
 * D; A/B in bf16 or fp32, fp32 accumulation, D rounded to nearest even).
 *
 * Like the real library, it does not serve every problem: its heuristic offers an algorithm
 * only for the DEFAULT and BIAS epilogues on operands whose minimum alignments (the
 * preferences the caller sets) are all 16 bytes or more, so the backend's tiled fallback
 * kernel runs the rest. And like an algorithm chosen for aligned operands, its matmul fails
 * (a "misaligned address" fault, sticky) when it is handed a bias pointer that is not 16-byte
 * aligned. CTCD_EMU_LT=none removes every algorithm: all GEMMs then take the fallback. */
#ifndef CTCD_EMU_CUBLASLT_H
#define CTCD_EMU_CUBLASLT_H

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "ctcd/tensor.h"
#include "cuda_bf16.h"
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

/* One object type behind every handle: what each descriptor holds. */
struct cublasLtEmuObject {
    int trans_a, trans_b, epilogue, bias_type;
    const void *bias;
    cudaDataType_t type; /* layouts */
    uint64_t rows, cols;
    int64_t ld;
    uint32_t align[4]; /* preferences: A, B, C, D */
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

namespace ctcd_emu {
inline cublasStatus_t lt_new(cublasLtEmuObject **p) {
    *p = new cublasLtEmuObject();
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t lt_delete(cublasLtEmuObject *p) {
    delete p;
    return CUBLAS_STATUS_SUCCESS;
}
inline float lt_load(cudaDataType_t t, const void *p, size_t i) {
    return t == CUDA_R_32F ? ((const float *)p)[i]
                           : __bfloat162float(((const __nv_bfloat16 *)p)[i]);
}
/* D is rounded as every bf16 store of ctcd is (ctcd_f32_to_bf16). */
inline void lt_store(cudaDataType_t t, void *p, size_t i, float v) {
    if (t == CUDA_R_32F) ((float *)p)[i] = v;
    else ((__nv_bfloat16 *)p)[i] = __ushort_as_bfloat16(ctcd_f32_to_bf16(v));
}
inline bool lt_has_algorithms() {
    const char *e = getenv("CTCD_EMU_LT");
    return !(e && strcmp(e, "none") == 0);
}
} // namespace ctcd_emu

static inline cublasStatus_t cublasLtCreate(cublasLtHandle_t *h) { return ctcd_emu::lt_new(h); }
static inline cublasStatus_t cublasLtDestroy(cublasLtHandle_t h) { return ctcd_emu::lt_delete(h); }
static inline cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *d,
                                                      cublasComputeType_t ct, cudaDataType_t st) {
    if (ct != CUBLAS_COMPUTE_32F || st != CUDA_R_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
    cublasStatus_t s = ctcd_emu::lt_new(d);
    if (s == CUBLAS_STATUS_SUCCESS) {
        (*d)->epilogue = CUBLASLT_EPILOGUE_DEFAULT;
        (*d)->bias_type = -1;
    }
    return s;
}
static inline cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d) {
    return ctcd_emu::lt_delete(d);
}
static inline cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d,
                                                            cublasLtMatmulDescAttributes_t a,
                                                            const void *buf, size_t n) {
    if (!d || !buf) return CUBLAS_STATUS_INVALID_VALUE;
    switch (a) {
    case CUBLASLT_MATMUL_DESC_TRANSA: memcpy(&d->trans_a, buf, sizeof(int32_t)); break;
    case CUBLASLT_MATMUL_DESC_TRANSB: memcpy(&d->trans_b, buf, sizeof(int32_t)); break;
    case CUBLASLT_MATMUL_DESC_EPILOGUE: memcpy(&d->epilogue, buf, sizeof(int32_t)); break;
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER: memcpy(&d->bias, buf, sizeof(void *)); break;
    case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE: memcpy(&d->bias_type, buf, sizeof(int32_t)); break;
    default: break; /* the GELU aux attributes: no algorithm serves them here */
    }
    (void)n;
    return CUBLAS_STATUS_SUCCESS;
}
static inline cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *l,
                                                        cudaDataType_t t, uint64_t rows,
                                                        uint64_t cols, int64_t ld) {
    if (t != CUDA_R_32F && t != CUDA_R_16BF) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (ld < (int64_t)rows || ld < 1) return CUBLAS_STATUS_INVALID_VALUE;
    cublasStatus_t s = ctcd_emu::lt_new(l);
    if (s == CUBLAS_STATUS_SUCCESS) {
        (*l)->type = t;
        (*l)->rows = rows;
        (*l)->cols = cols;
        (*l)->ld = ld;
    }
    return s;
}
static inline cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l) {
    return ctcd_emu::lt_delete(l);
}
static inline cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *p) {
    return ctcd_emu::lt_new(p);
}
static inline cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p) {
    return ctcd_emu::lt_delete(p);
}
static inline cublasStatus_t
cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p,
                                     cublasLtMatmulPreferenceAttributes_t a, const void *buf,
                                     size_t n) {
    if (!p || !buf) return CUBLAS_STATUS_INVALID_VALUE;
    if (a >= CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES &&
        a <= CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES)
        memcpy(&p->align[a - CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES], buf, sizeof(uint32_t));
    (void)n;
    return CUBLAS_STATUS_SUCCESS;
}

/* An algorithm for DEFAULT / BIAS epilogues on 16-byte aligned operands; nothing else. */
static inline cublasStatus_t cublasLtMatmulAlgoGetHeuristic(
    cublasLtHandle_t h, cublasLtMatmulDesc_t d, cublasLtMatrixLayout_t a,
    cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t dd,
    cublasLtMatmulPreference_t p, int want, cublasLtMatmulHeuristicResult_t *res, int *n) {
    (void)h, (void)a, (void)b, (void)c, (void)dd;
    *n = 0;
    if (want < 1) return CUBLAS_STATUS_INVALID_VALUE;
    const bool epi_ok = d->epilogue == CUBLASLT_EPILOGUE_DEFAULT ||
                        d->epilogue == CUBLASLT_EPILOGUE_BIAS;
    bool aligned = true;
    for (int i = 0; i < 4; i++) aligned = aligned && p->align[i] >= 16;
    if (!ctcd_emu::lt_has_algorithms() || !epi_ok || !aligned) return CUBLAS_STATUS_NOT_SUPPORTED;
    memset(res, 0, sizeof *res);
    res->state = CUBLAS_STATUS_SUCCESS;
    res->algo.data[0] = 1;
    *n = 1;
    return CUBLAS_STATUS_SUCCESS;
}

static inline cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t d,
                                            const void *alpha, const void *A,
                                            cublasLtMatrixLayout_t la, const void *B,
                                            cublasLtMatrixLayout_t lb, const void *beta,
                                            const void *C, cublasLtMatrixLayout_t lc, void *D,
                                            cublasLtMatrixLayout_t ld,
                                            const cublasLtMatmulAlgo_t *algo, void *ws,
                                            size_t ws_bytes, cudaStream_t s) {
    (void)h, (void)algo, (void)ws, (void)ws_bytes, (void)s;
    if (!algo || algo->data[0] != 1) return CUBLAS_STATUS_INVALID_VALUE;
    const bool bias = d->epilogue == CUBLASLT_EPILOGUE_BIAS;
    if (!bias && d->epilogue != CUBLASLT_EPILOGUE_DEFAULT) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (bias && ((uintptr_t)d->bias % 16) != 0) {
        /* what a kernel chosen for 16-byte operands does with a 2/4/8-byte aligned bias */
        ctcd_emu::last_error() = cudaErrorMisalignedAddress;
        return CUBLAS_STATUS_EXECUTION_FAILED;
    }
    /* op(A): m×k, op(B): k×n, C and D: m×n */
    const uint64_t m = ld->rows, n = ld->cols;
    const uint64_t k = d->trans_a ? la->rows : la->cols;
    const uint64_t am = d->trans_a ? la->cols : la->rows, bk = d->trans_b ? lb->cols : lb->rows;
    const uint64_t bn = d->trans_b ? lb->rows : lb->cols;
    if (am != m || bk != k || bn != n || lc->rows != m || lc->cols != n)
        return CUBLAS_STATUS_INVALID_VALUE;
    float al, be;
    memcpy(&al, alpha, sizeof al);
    memcpy(&be, beta, sizeof be);
    const cudaDataType_t bt = d->bias_type < 0 ? ld->type : (cudaDataType_t)d->bias_type;
    for (uint64_t j = 0; j < n; j++)
        for (uint64_t i = 0; i < m; i++) {
            float acc = 0.0f;
            for (uint64_t p = 0; p < k; p++) {
                const size_t ia = d->trans_a ? p + i * la->ld : i + p * la->ld;
                const size_t ib = d->trans_b ? j + p * lb->ld : p + j * lb->ld;
                acc += ctcd_emu::lt_load(la->type, A, ia) * ctcd_emu::lt_load(lb->type, B, ib);
            }
            float v = al * acc;
            if (be != 0.0f) v += be * ctcd_emu::lt_load(lc->type, C, i + j * lc->ld);
            if (bias) v += ctcd_emu::lt_load(bt, d->bias, i);
            ctcd_emu::lt_store(ld->type, D, i + j * ld->ld, v);
        }
    return CUBLAS_STATUS_SUCCESS;
}

static inline const char *cublasLtGetStatusName(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    }
    return "CUBLAS_STATUS_UNKNOWN";
}
static inline const char *cublasLtGetStatusString(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid value was used as an argument";
    default: return "cuBLASLt error (emulated)";
    }
}

#endif
