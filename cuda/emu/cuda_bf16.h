/* cuda/emu/cuda_bf16.h — bfloat16 for the emulation build: the 16 stored bits and the two
 * conversions the kernels use (rounding to bf16 is our own f32_to_bf16, cuda_common.cuh, on
 * both builds). */
#ifndef CTCD_EMU_CUDA_BF16_H
#define CTCD_EMU_CUDA_BF16_H

#include <cstring>

typedef struct __nv_bfloat16 {
    unsigned short x;
} __nv_bfloat16;

static inline float __bfloat162float(__nv_bfloat16 h) {
    const unsigned u = (unsigned)h.x << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short u) {
    __nv_bfloat16 h;
    h.x = u;
    return h;
}

static inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 h) { return h.x; }

#endif
