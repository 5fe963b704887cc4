/* tensor.c — dtype tables and tensor descriptor helpers (include/ctcd/tensor.h). */
#include "ctcd/tensor.h"

#include <stdio.h>

static const struct {
    const char *name;
    size_t size;
} dtype_info[] = {
    [CTCD_F32] = {"F32", 4}, [CTCD_BF16] = {"BF16", 2}, [CTCD_F16] = {"F16", 2},
    [CTCD_I32] = {"I32", 4}, [CTCD_I64] = {"I64", 8},   [CTCD_U16] = {"U16", 2},
    [CTCD_U8] = {"U8", 1},
};
#define N_DTYPES (sizeof dtype_info / sizeof dtype_info[0])

size_t ctcd_dtype_size(ctcd_dtype dt) {
    CTCD_ASSERT((size_t)dt < N_DTYPES, "dtype %d", (int)dt);
    return dtype_info[dt].size;
}

const char *ctcd_dtype_name(ctcd_dtype dt) {
    CTCD_ASSERT((size_t)dt < N_DTYPES, "dtype %d", (int)dt);
    return dtype_info[dt].name;
}

ctcd_status ctcd_dtype_parse(const char *name, ctcd_dtype *out) {
    for (size_t i = 0; i < N_DTYPES; i++) {
        if (strcmp(name, dtype_info[i].name) == 0) {
            *out = (ctcd_dtype)i;
            return CTCD_OK;
        }
    }
    return CTCD_ERR(CTCD_E_INVALID,
                    "unknown dtype '%s' (expected one of F32, BF16, F16, I32, I64, U16, U8)",
                    name);
}

int64_t ctcd_tensor_numel(const ctcd_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

size_t ctcd_tensor_bytes(const ctcd_tensor *t) {
    return (size_t)ctcd_tensor_numel(t) * ctcd_dtype_size(t->dtype);
}

void ctcd_shape_str(const int64_t *shape, int ndim, char *buf, size_t cap) {
    size_t used = 0;
    int n = snprintf(buf, cap, "[");
    used = n > 0 ? (size_t)n : 0;
    for (int i = 0; i < ndim && used < cap; i++) {
        n = snprintf(buf + used, cap - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
        if (n > 0) used += (size_t)n;
    }
    if (used < cap) snprintf(buf + used, cap - used, "]");
}
