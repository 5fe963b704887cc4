/* st_builder.h — a tiny, independent safetensors writer for tests (header-only).
 *
 * It shares no code with src/model/safetensors_write.c, so the reader is checked against
 * bytes built by hand; st_write_raw writes arbitrary (corrupt) header text and length. */
#ifndef CTCD_ST_BUILDER_H
#define CTCD_ST_BUILDER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct st_builder {
    char *hdr;      /* "{...entries" without the closing brace */
    size_t hlen, hcap;
    uint8_t *data;
    size_t dlen, dcap;
    int n;
} st_builder;

static inline void stb_append(st_builder *b, const char *s) {
    const size_t k = strlen(s);
    if (b->hlen + k + 1 > b->hcap) {
        b->hcap = 2 * (b->hlen + k + 1);
        b->hdr = realloc(b->hdr, b->hcap);
    }
    memcpy(b->hdr + b->hlen, s, k + 1);
    b->hlen += k;
}

static inline void stb_init(st_builder *b) {
    memset(b, 0, sizeof *b);
    stb_append(b, "{");
}

/* Adds one entry whose data_offsets are the next nbytes of the data section. */
static inline void stb_add(st_builder *b, const char *name, const char *dtype,
                           const int64_t *shape, int ndim, const void *bytes, size_t nbytes) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", b->n ? "," : "", name,
             dtype);
    stb_append(b, buf);
    for (int d = 0; d < ndim; d++) {
        snprintf(buf, sizeof buf, "%s%lld", d ? "," : "", (long long)shape[d]);
        stb_append(b, buf);
    }
    snprintf(buf, sizeof buf, "],\"data_offsets\":[%zu,%zu]}", b->dlen, b->dlen + nbytes);
    stb_append(b, buf);
    if (b->dlen + nbytes > b->dcap) {
        b->dcap = 2 * (b->dlen + nbytes) + 64;
        b->data = realloc(b->data, b->dcap);
    }
    if (nbytes) memcpy(b->data + b->dlen, bytes, nbytes);
    b->dlen += nbytes;
    b->n++;
}

static inline void stb_add_f32(st_builder *b, const char *name, const int64_t *shape, int ndim,
                               const float *v) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    stb_add(b, name, "F32", shape, ndim, v, (size_t)n * 4);
}

/* Writes a file with an explicit header length field (which may lie). */
static inline int st_write_raw(const char *path, uint64_t declared_len, const char *hdr,
                               size_t hdr_bytes, const void *data, size_t dlen) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)(declared_len >> (8 * i));
    int ok = fwrite(len8, 1, 8, f) == 8 && fwrite(hdr, 1, hdr_bytes, f) == hdr_bytes &&
             (dlen == 0 || fwrite(data, 1, dlen, f) == dlen);
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static inline int stb_write(st_builder *b, const char *path) {
    stb_append(b, "}");
    const int rc = st_write_raw(path, b->hlen, b->hdr, b->hlen, b->data, b->dlen);
    b->hdr[--b->hlen] = '\0'; /* reopen, so that more entries may follow */
    return rc;
}

static inline void stb_free(st_builder *b) {
    free(b->hdr);
    free(b->data);
    memset(b, 0, sizeof *b);
}

#endif
