/* cpu_backend.c — the CPU reference backend: memory ops and the op table wiring.
 * Everything is fp32 host memory; ops run synchronously (sync is a no-op). */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_ops.h"
#include "ctcd/backend_cpu.h"

static ctcd_status cpu_alloc(ctcd_backend *be, size_t bytes, const char *what, void **out) {
    (void)be;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) {
        *out = NULL;
        return CTCD_ERR(CTCD_E_NOMEM, "cpu: cannot allocate %zu bytes for %s", bytes,
                        what ? what : "buffer");
    }
    *out = p;
    return CTCD_OK;
}

static void cpu_free(ctcd_backend *be, void *p) {
    (void)be;
    free(p);
}

static ctcd_status cpu_copy(ctcd_backend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    if (bytes) memmove(dst, src, bytes);
    return CTCD_OK;
}

static ctcd_status cpu_memzero(ctcd_backend *be, void *p, size_t bytes) {
    (void)be;
    if (bytes) memset(p, 0, bytes);
    return CTCD_OK;
}

static ctcd_status cpu_cast(ctcd_backend *be, void *dst, ctcd_dtype dst_dt, const void *src,
                            ctcd_dtype src_dt, int64_t n) {
    (void)be;
    if (dst_dt == src_dt) {
        memmove(dst, src, (size_t)n * ctcd_dtype_size(dst_dt));
    } else if (dst_dt == CTCD_BF16 && src_dt == CTCD_F32) {
        const float *s = src;
        uint16_t *d = dst;
        for (int64_t i = 0; i < n; i++) d[i] = ctcd_f32_to_bf16(s[i]);
    } else if (dst_dt == CTCD_F32 && src_dt == CTCD_BF16) {
        const uint16_t *s = src;
        float *d = dst;
        for (int64_t i = 0; i < n; i++) d[i] = ctcd_bf16_to_f32(s[i]);
    } else {
        return CTCD_ERR(CTCD_E_UNSUPPORTED, "cpu: cast from %s to %s", ctcd_dtype_name(src_dt),
                        ctcd_dtype_name(dst_dt));
    }
    return CTCD_OK;
}

static ctcd_status cpu_sync(ctcd_backend *be) {
    (void)be;
    return CTCD_OK;
}

static void cpu_destroy(ctcd_backend *be) { free(be); }

ctcd_status ctcd_backend_cpu_create(ctcd_backend **out) {
    /* The ops parallelise over rows with OpenMP; OpenBLAS's own pthread pool competing with
     * it made a co-training step ~3x slower on 2 cores (measured with cpu_step), so BLAS runs
     * single-threaded unless the user asks otherwise. */
    if (!getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1);
    ctcd_backend *be = calloc(1, sizeof *be);
    if (!be) return CTCD_ERR(CTCD_E_NOMEM, "cpu: out of memory creating the backend");
    be->name = "cpu";
    be->device_name = "cpu";
    be->device = CTCD_DEVICE_CPU;
    be->act_dtype = CTCD_F32;
    be->destroy = cpu_destroy;
    be->alloc = cpu_alloc;
    be->free = cpu_free;
    be->upload = cpu_copy;
    be->download = cpu_copy;
    be->memzero = cpu_memzero;
    be->cast = cpu_cast;
    be->sync = cpu_sync;
    be->matmul_fwd = cpu_matmul_fwd;
    be->matmul_bwd = cpu_matmul_bwd;
    be->gelu_fwd = cpu_gelu_fwd;
    be->gelu_bwd = cpu_gelu_bwd;
    be->tanh_fwd = cpu_tanh_fwd;
    be->tanh_bwd = cpu_tanh_bwd;
    be->dropout_fwd = cpu_dropout_fwd;
    be->dropout_bwd = cpu_dropout_bwd;
    be->layernorm_fwd = cpu_layernorm_fwd;
    be->layernorm_bwd = cpu_layernorm_bwd;
    be->dropout_layernorm_fwd = cpu_dropout_layernorm_fwd;
    be->dropout_layernorm_bwd = cpu_dropout_layernorm_bwd;
    be->embedding_layernorm_fwd = cpu_embedding_layernorm_fwd;
    be->embedding_layernorm_bwd = cpu_embedding_layernorm_bwd;
    be->attention_aux_bytes = cpu_attention_aux_bytes;
    be->attention_fwd = cpu_attention_fwd;
    be->attention_bwd = cpu_attention_bwd;
    be->attn_aux_bytes = cpu_attn_aux_bytes;
    be->attn_fwd = cpu_attn_fwd;
    be->attn_bwd = cpu_attn_bwd;
    be->unit_mask_fwd = cpu_unit_mask_fwd;
    be->unit_mask_bwd = cpu_unit_mask_bwd;
    be->embedding_fwd = cpu_embedding_fwd;
    be->embedding_bwd = cpu_embedding_bwd;
    be->gather_rows = cpu_gather_rows;
    be->scatter_add_rows = cpu_scatter_add_rows;
    be->loss = cpu_loss;
    be->grad_sumsq = cpu_grad_sumsq;
    be->adamw = cpu_adamw;
    *out = be;
    return CTCD_OK;
}
