/* rng.h — counter-based random numbers (Philox4x32-10).
 *
 * Philox maps (key, counter) to 4 random 32-bit words with no state, so the CPU and the
 * CUDA backend draw identical dropout masks: element i of a dropout site uses
 * counter = (i / 4, site) and word i % 4. The inline functions below are also compiled by
 * nvcc (CTCD_HD marks them host+device).
 *
 * ctcd_rng is a sequential stream on top (data shuffling, initialisation, the demo data
 * generator); its whole state is (seed, stream, counter), so it can be saved and resumed. */
#ifndef CTCD_RNG_H
#define CTCD_RNG_H

#include <stdint.h>

#ifdef __CUDACC__
#define CTCD_HD __host__ __device__ __forceinline__
#else
#define CTCD_HD static inline
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ctcd_u32x4 {
    uint32_t v[4];
} ctcd_u32x4;

CTCD_HD void ctcd_mulhilo32(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo) {
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

/* Philox4x32 with 10 rounds (Salmon et al., SC'11). key: 64 bits; counter: 128 bits given
 * as (lo, hi) 64-bit halves. */
CTCD_HD ctcd_u32x4 ctcd_philox4x32(uint64_t key, uint64_t ctr_lo, uint64_t ctr_hi) {
    uint32_t c0 = (uint32_t)ctr_lo, c1 = (uint32_t)(ctr_lo >> 32);
    uint32_t c2 = (uint32_t)ctr_hi, c3 = (uint32_t)(ctr_hi >> 32);
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int r = 0; r < 10; r++) {
        uint32_t hi0, lo0, hi1, lo1;
        ctcd_mulhilo32(0xD2511F53u, c0, &hi0, &lo0);
        ctcd_mulhilo32(0xCD9E8D57u, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    ctcd_u32x4 out = {{c0, c1, c2, c3}};
    return out;
}

/* Uniform float in [0, 1) with 24 random bits. */
CTCD_HD float ctcd_u32_to_unit(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }

/* A dropout site: one call of a dropout (one layer, one op, one step, one model).
 * Element i is kept iff uniform(key, site, i) >= p. */
typedef struct ctcd_dropout_key {
    uint64_t seed;  /* per-model seed */
    uint64_t site;  /* unique per (step, layer, op); see ctcd_dropout_site() */
} ctcd_dropout_key;

CTCD_HD float ctcd_dropout_uniform(ctcd_dropout_key k, uint64_t i) {
    ctcd_u32x4 r = ctcd_philox4x32(k.seed, i >> 2, k.site);
    return ctcd_u32_to_unit(r.v[i & 3]);
}

/* Packs (step, layer, op) into a site id. step < 2^40, layer < 2^16, op < 2^8. */
CTCD_HD uint64_t ctcd_dropout_site(uint64_t step, uint32_t layer, uint32_t op) {
    return (step << 24) | ((uint64_t)(layer & 0xffffu) << 8) | (uint64_t)(op & 0xffu);
}

/* Sequential stream. State is plain data: copy it to save, copy it back to resume. */
typedef struct ctcd_rng {
    uint64_t seed;
    uint64_t stream;
    uint64_t counter; /* number of 4-word blocks consumed */
    uint32_t buf[4];
    int pos;          /* next unused word of buf; 4 = empty */
} ctcd_rng;

void ctcd_rng_init(ctcd_rng *r, uint64_t seed, uint64_t stream);
uint32_t ctcd_rng_u32(ctcd_rng *r);
uint64_t ctcd_rng_u64(ctcd_rng *r);
/* Uniform in [0, n), unbiased (rejection sampling); n > 0. */
uint32_t ctcd_rng_below(ctcd_rng *r, uint32_t n);
float ctcd_rng_uniform(ctcd_rng *r);  /* [0, 1) */
float ctcd_rng_normal(ctcd_rng *r);   /* N(0, 1), Box-Muller */
/* Fisher-Yates shuffle of n int32 values. */
void ctcd_rng_shuffle_i32(ctcd_rng *r, int32_t *v, int64_t n);

/* Derives an independent 64-bit seed from a base seed and a name (e.g. "large/init"),
 * so that each model's initialisation and dropout depend only on (seed, its own role). */
uint64_t ctcd_seed_derive(uint64_t seed, const char *name);

#ifdef __cplusplus
}
#endif
#endif
