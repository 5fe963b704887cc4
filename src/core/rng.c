/* rng.c — sequential Philox stream and seed derivation (include/ctcd/rng.h). */
#include "ctcd/rng.h"
#include "ctcd/hash.h"

#include <math.h>

void ctcd_rng_init(ctcd_rng *r, uint64_t seed, uint64_t stream) {
    r->seed = seed;
    r->stream = stream;
    r->counter = 0;
    r->pos = 4;
    for (int i = 0; i < 4; i++) r->buf[i] = 0;
}

uint32_t ctcd_rng_u32(ctcd_rng *r) {
    if (r->pos >= 4) {
        ctcd_u32x4 b = ctcd_philox4x32(r->seed, r->counter++, r->stream);
        for (int i = 0; i < 4; i++) r->buf[i] = b.v[i];
        r->pos = 0;
    }
    return r->buf[r->pos++];
}

uint64_t ctcd_rng_u64(ctcd_rng *r) {
    uint64_t hi = ctcd_rng_u32(r);
    return (hi << 32) | ctcd_rng_u32(r);
}

uint32_t ctcd_rng_below(ctcd_rng *r, uint32_t n) {
    /* Lemire-free simple rejection: discard the top partial bucket. */
    uint32_t limit = UINT32_MAX - (UINT32_MAX % n);
    uint32_t x;
    do {
        x = ctcd_rng_u32(r);
    } while (x >= limit);
    return x % n;
}

float ctcd_rng_uniform(ctcd_rng *r) { return ctcd_u32_to_unit(ctcd_rng_u32(r)); }

float ctcd_rng_normal(ctcd_rng *r) {
    /* Box-Muller on (0,1] x [0,1); one of the pair is discarded to keep the state simple. */
    float u1 = 1.0f - ctcd_rng_uniform(r);
    float u2 = ctcd_rng_uniform(r);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.283185307179586f * u2);
}

void ctcd_rng_shuffle_i32(ctcd_rng *r, int32_t *v, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)ctcd_rng_below(r, (uint32_t)(i + 1));
        int32_t t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

static uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

uint64_t ctcd_seed_derive(uint64_t seed, const char *name) {
    const uint64_t h = ctcd_fnv1a64_str(CTCD_FNV1A64_INIT, name);
    return splitmix64(seed ^ splitmix64(h));
}
