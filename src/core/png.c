/* png.c — a minimal PNG encoder (include/ctcd/plot.h): 8-bit RGB, filter 1 (Sub) on every
 * row, and a zlib stream (RFC 1950) holding one deflate block with the fixed Huffman codes
 * (RFC 1951 section 3.2.6) and greedy LZ77 matches found through a hash of the next three
 * bytes. No compression library is needed; plots (large flat areas, thin lines) shrink to a
 * few percent of their raw size. */
#include <stdlib.h>
#include <string.h>

#include "ctcd/fileio.h"
#include "ctcd/plot.h"

uint32_t ctcd_crc32(uint32_t crc, const void *p, size_t n) {
    /* A table per call keeps this reentrant; 256 entries cost less than one PNG row. */
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    const uint8_t *b = p;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

uint32_t ctcd_adler32(uint32_t adler, const void *p, size_t n) {
    const uint8_t *b = p;
    uint32_t a = adler & 0xffff, s = adler >> 16;
    for (size_t i = 0; i < n; i++) {
        a = (a + b[i]) % 65521u;
        s = (s + a) % 65521u;
    }
    return (s << 16) | a;
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Appends a chunk (length, type, data, CRC of type + data) at *pos. */
static void put_chunk(uint8_t *buf, size_t *pos, const char type[4], const uint8_t *data,
                      size_t n) {
    uint8_t *c = buf + *pos;
    put_be32(c, (uint32_t)n);
    memcpy(c + 4, type, 4);
    if (n) memcpy(c + 8, data, n);
    put_be32(c + 8 + n, ctcd_crc32(0, c + 4, n + 4));
    *pos += 12 + n;
}

/* ---- deflate with the fixed Huffman codes ---- */

typedef struct bitw {
    uint8_t *p;
    size_t n, cap;
    uint32_t acc;  /* pending bits, LSB first */
    int nbits;
} bitw;

static void put_bits(bitw *w, uint32_t v, int n) { /* v's low n bits, LSB first */
    w->acc |= v << w->nbits;
    w->nbits += n;
    while (w->nbits >= 8) {
        if (w->n < w->cap) w->p[w->n] = (uint8_t)w->acc;
        w->n++;
        w->acc >>= 8;
        w->nbits -= 8;
    }
}

/* A Huffman code is sent most significant bit first. */
static void put_code(bitw *w, uint32_t code, int len) {
    uint32_t r = 0;
    for (int i = 0; i < len; i++) r |= ((code >> i) & 1u) << (len - 1 - i);
    put_bits(w, r, len);
}

static void put_litlen(bitw *w, int sym) {
    if (sym < 144)
        put_code(w, 0x30u + (uint32_t)sym, 8);
    else if (sym < 256)
        put_code(w, 0x190u + (uint32_t)(sym - 144), 9);
    else if (sym < 280)
        put_code(w, (uint32_t)(sym - 256), 7);
    else
        put_code(w, 0xC0u + (uint32_t)(sym - 280), 8);
}

static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                       33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                       1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385,
                                       24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static void put_match(bitw *w, int len, int dist) {
    int i = 28;
    while (len_base[i] > len) i--;
    put_litlen(w, 257 + i);
    put_bits(w, (uint32_t)(len - len_base[i]), len_extra[i]);
    int d = 29;
    while (dist_base[d] > dist) d--;
    put_code(w, (uint32_t)d, 5);
    put_bits(w, (uint32_t)(dist - dist_base[d]), dist_extra[d]);
}

#define WINDOW 32768
#define HASH_BITS 15
#define MAX_MATCH 258

/* One final fixed-Huffman block of src into w (byte aligned at the end). */
static ctcd_status deflate_fixed(const uint8_t *src, size_t n, bitw *w) {
    int64_t *head = malloc(sizeof(int64_t) << HASH_BITS);
    if (!head) return CTCD_ERR(CTCD_E_NOMEM, "out of memory compressing a PNG");
    for (size_t i = 0; i < (size_t)1 << HASH_BITS; i++) head[i] = -1;
    put_bits(w, 1, 1); /* BFINAL */
    put_bits(w, 1, 2); /* BTYPE 01: fixed codes */
    size_t i = 0;
    while (i < n) {
        int best = 0;
        size_t dist = 0;
        if (i + 3 <= n) {
            const uint32_t h = ((uint32_t)src[i] << 10 ^ (uint32_t)src[i + 1] << 5 ^ src[i + 2]) &
                               ((1u << HASH_BITS) - 1);
            const int64_t cand = head[h];
            head[h] = (int64_t)i;
            if (cand >= 0 && i - (size_t)cand <= WINDOW) {
                const size_t max = n - i < MAX_MATCH ? n - i : MAX_MATCH;
                size_t l = 0;
                while (l < max && src[(size_t)cand + l] == src[i + l]) l++;
                if (l >= 3) {
                    best = (int)l;
                    dist = i - (size_t)cand;
                }
            }
        }
        if (best) {
            put_match(w, best, (int)dist);
            i += (size_t)best;
        } else {
            put_litlen(w, src[i]);
            i++;
        }
    }
    put_litlen(w, 256); /* end of block */
    if (w->nbits) put_bits(w, 0, 8 - w->nbits);
    free(head);
    return CTCD_OK;
}

ctcd_status ctcd_png_encode_rgb(const uint8_t *rgb, int w, int h, uint8_t **out, size_t *len) {
    *out = NULL;
    *len = 0;
    if (w <= 0 || h <= 0 || w > 16384 || h > 16384)
        return CTCD_ERR(CTCD_E_INVALID, "PNG size %d x %d out of range (1..16384)", w, h);
    const size_t row = 1 + 3 * (size_t)w;      /* filter byte + pixels */
    const size_t raw_n = row * (size_t)h;
    /* A bound on the compressed size: a literal costs at most 9 bits, a match of 3 bytes at
     * most 31 (8 + 5 extra for the length, 5 + 13 for the distance). */
    const size_t z_cap = 2 + raw_n + raw_n / 3 + 64 + 4;
    uint8_t *raw = malloc(raw_n), *z = malloc(z_cap);
    if (!raw || !z) {
        free(raw);
        free(z);
        return CTCD_ERR(CTCD_E_NOMEM, "out of memory encoding a %d x %d PNG", w, h);
    }
    for (int y = 0; y < h; y++) { /* filter type 1 (Sub): each byte minus the one 3 before */
        uint8_t *dst = raw + (size_t)y * row;
        const uint8_t *px = rgb + (size_t)y * 3 * (size_t)w;
        dst[0] = 1;
        for (size_t x = 0; x < 3 * (size_t)w; x++)
            dst[1 + x] = (uint8_t)(px[x] - (x >= 3 ? px[x - 3] : 0));
    }
    /* zlib: CMF 0x78 (deflate, 32K window), FLG 0x01 makes (CMF*256+FLG) % 31 == 0. */
    z[0] = 0x78;
    z[1] = 0x01;
    bitw bw = {.p = z + 2, .cap = z_cap - 6};
    ctcd_status st = deflate_fixed(raw, raw_n, &bw);
    if (!st && bw.n > bw.cap) st = CTCD_ERR(CTCD_E_INTERNAL, "PNG deflate overran its bound");
    if (st) {
        free(raw);
        free(z);
        return st;
    }
    size_t z_n = 2 + bw.n;
    put_be32(z + z_n, ctcd_adler32(1, raw, raw_n));
    z_n += 4;
    const size_t total = 8 + (12 + 13) + (12 + z_n) + 12;
    uint8_t *png = malloc(total);
    if (!png) {
        free(raw);
        free(z);
        return CTCD_ERR(CTCD_E_NOMEM, "out of memory encoding a %d x %d PNG", w, h);
    }
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    size_t pos = 0;
    memcpy(png, sig, 8);
    pos = 8;
    uint8_t ihdr[13];
    put_be32(ihdr, (uint32_t)w);
    put_be32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 2;  /* colour type RGB */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering (filter type per row) */
    ihdr[12] = 0; /* no interlace */
    put_chunk(png, &pos, "IHDR", ihdr, sizeof ihdr);
    put_chunk(png, &pos, "IDAT", z, z_n);
    put_chunk(png, &pos, "IEND", NULL, 0);
    CTCD_ASSERT(pos == total, "PNG size %zu != %zu", pos, total);
    free(raw);
    free(z);
    *out = png;
    *len = total;
    return CTCD_OK;
}

ctcd_status ctcd_png_write_rgb(const char *path, const uint8_t *rgb, int w, int h) {
    uint8_t *png;
    size_t n;
    CTCD_TRY(ctcd_error_wrap(ctcd_png_encode_rgb(rgb, w, h, &png, &n), "%s", path));
    ctcd_status st = ctcd_atomic_write_file(path, png, n);
    free(png);
    return st;
}
