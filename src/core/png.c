/* png.c — a minimal PNG encoder (include/ctcd/plot.h): 8-bit RGB, filter 0 on every row,
 * and a zlib stream of stored deflate blocks (RFC 1950/1951), so no compression library is
 * needed. The file is larger than a compressed one but byte-for-byte standard PNG. */
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

#define STORED_MAX 65535u

ctcd_status ctcd_png_encode_rgb(const uint8_t *rgb, int w, int h, uint8_t **out, size_t *len) {
    *out = NULL;
    *len = 0;
    if (w <= 0 || h <= 0 || w > 16384 || h > 16384)
        return CTCD_ERR(CTCD_E_INVALID, "PNG size %d x %d out of range (1..16384)", w, h);
    const size_t row = 1 + 3 * (size_t)w;      /* filter byte + pixels */
    const size_t raw_n = row * (size_t)h;
    const size_t n_blocks = (raw_n + STORED_MAX - 1) / STORED_MAX;
    const size_t z_n = 2 + raw_n + 5 * n_blocks + 4; /* header, blocks, Adler-32 */
    const size_t total = 8 + (12 + 13) + (12 + z_n) + 12;
    uint8_t *raw = malloc(raw_n), *z = malloc(z_n), *png = malloc(total);
    if (!raw || !z || !png) {
        free(raw);
        free(z);
        free(png);
        return CTCD_ERR(CTCD_E_NOMEM, "out of memory encoding a %d x %d PNG", w, h);
    }
    for (int y = 0; y < h; y++) {
        raw[(size_t)y * row] = 0; /* filter type None */
        memcpy(raw + (size_t)y * row + 1, rgb + (size_t)y * 3 * (size_t)w, 3 * (size_t)w);
    }
    /* zlib: CMF 0x78 (deflate, 32K window), FLG 0x01 makes (CMF*256+FLG) % 31 == 0. */
    size_t zp = 0;
    z[zp++] = 0x78;
    z[zp++] = 0x01;
    for (size_t off = 0; off < raw_n; off += STORED_MAX) {
        const size_t n = raw_n - off < STORED_MAX ? raw_n - off : STORED_MAX;
        z[zp++] = off + n == raw_n ? 1 : 0; /* BFINAL, BTYPE 00 = stored */
        z[zp++] = (uint8_t)(n & 0xff);
        z[zp++] = (uint8_t)(n >> 8);
        z[zp++] = (uint8_t)(~n & 0xff);
        z[zp++] = (uint8_t)((~n >> 8) & 0xff);
        memcpy(z + zp, raw + off, n);
        zp += n;
    }
    put_be32(z + zp, ctcd_adler32(1, raw, raw_n));
    zp += 4;
    CTCD_ASSERT(zp == z_n, "zlib stream size %zu != %zu", zp, z_n);
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
