/* hash.h — FNV-1a, the one non-cryptographic hash of ctcd (header only: it sits in the
 * tokenizer's lookup loop).
 *
 * Every use hashes bytes: file names and stat data for the corpus shard's source hash, the
 * shard's checksum, the augmentation cache's key, the training state's recipe fingerprint,
 * a seed's name, the WordPiece table's keys. Values are stored in files (shard headers,
 * cache file names, state metadata), so the constants and byte order never change.
 *
 * Feed a message in parts by passing the previous result as h: hashing "ab" equals hashing
 * "b" with h = hash of "a". Start from CTCD_FNV1A64_INIT (or CTCD_FNV1A32_INIT). */
#ifndef CTCD_HASH_H
#define CTCD_HASH_H

#include <stddef.h>
#include <stdint.h>

#define CTCD_FNV1A64_INIT 0xcbf29ce484222325ull /* offset basis */
#define CTCD_FNV1A64_PRIME 0x100000001b3ull
#define CTCD_FNV1A32_INIT 2166136261u
#define CTCD_FNV1A32_PRIME 16777619u

/* 64-bit FNV-1a of p[0..n), continuing from h. */
static inline uint64_t ctcd_fnv1a64(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= CTCD_FNV1A64_PRIME;
    }
    return h;
}

/* 64-bit FNV-1a of the NUL-terminated string s (without its NUL), continuing from h. */
static inline uint64_t ctcd_fnv1a64_str(uint64_t h, const char *s) {
    for (const unsigned char *b = (const unsigned char *)s; *b; b++) {
        h ^= *b;
        h *= CTCD_FNV1A64_PRIME;
    }
    return h;
}

/* 32-bit FNV-1a of p[0..n), continuing from h. */
static inline uint32_t ctcd_fnv1a32(uint32_t h, const void *p, size_t n) {
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * CTCD_FNV1A32_PRIME;
    return h;
}

#endif
