/* tensor.h — dtypes, bf16 conversion and a small tensor descriptor.
 *
 * A ctcd_tensor does not own its memory: it describes a buffer that lives in an arena,
 * a model's flat parameter buffer, or a backend allocation. The model graph mostly passes
 * raw pointers with shape comments (llm.c style); tensors are used where names and shapes
 * travel together (checkpoints, parameter tables, tests). */
#ifndef CTCD_TENSOR_H
#define CTCD_TENSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ctcd/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ctcd_dtype {
    CTCD_F32 = 0,
    CTCD_BF16,
    CTCD_F16,
    CTCD_I32,
    CTCD_I64,
    CTCD_U16,
    CTCD_U8
} ctcd_dtype;

typedef enum ctcd_device { CTCD_DEVICE_CPU = 0, CTCD_DEVICE_CUDA } ctcd_device;

size_t ctcd_dtype_size(ctcd_dtype dt);
const char *ctcd_dtype_name(ctcd_dtype dt); /* safetensors spelling: "F32", "BF16", ... */
/* Parses a safetensors dtype name; returns CTCD_E_INVALID naming the string otherwise. */
ctcd_status ctcd_dtype_parse(const char *name, ctcd_dtype *out);

#define CTCD_MAX_DIMS 4

typedef struct ctcd_tensor {
    void *data;                     /* not owned */
    ctcd_dtype dtype;
    ctcd_device device;
    int ndim;                       /* 0..CTCD_MAX_DIMS */
    int64_t shape[CTCD_MAX_DIMS];   /* row-major, last dim contiguous */
} ctcd_tensor;

int64_t ctcd_tensor_numel(const ctcd_tensor *t);
size_t ctcd_tensor_bytes(const ctcd_tensor *t);
/* Writes "[2, 3, 4]" into buf (always NUL-terminated). */
void ctcd_shape_str(const int64_t *shape, int ndim, char *buf, size_t cap);

/* bf16: the upper 16 bits of an IEEE fp32. Round to nearest even; NaN stays NaN. */
static inline uint16_t ctcd_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
static inline float ctcd_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

#ifdef __cplusplus
}
#endif
#endif
