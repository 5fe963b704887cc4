/* tsv.c — streaming tab-separated reader with Python's newline and BOM rules (tsv.h). */
#include "ctcd/tsv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TSV_CHUNK (1u << 20)

ctcd_status ctcd_tsv_open(ctcd_tsv *t, const char *path) {
    memset(t, 0, sizeof *t);
    snprintf(t->path, sizeof t->path, "%s", path);
    t->f = fopen(path, "rb");
    if (!t->f) return CTCD_ERR(CTCD_E_IO, "%s: cannot open file: %s", path, strerror(errno));
    t->cap = TSV_CHUNK;
    t->buf = malloc(t->cap);
    if (!t->buf) {
        ctcd_tsv_close(t);
        return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
    }
    return CTCD_OK;
}

void ctcd_tsv_close(ctcd_tsv *t) {
    if (t->f) fclose(t->f);
    free(t->buf);
    free(t->fields);
    memset(t, 0, sizeof *t);
}

/* Moves unread bytes to the front, grows the buffer when they fill it, and reads more.
 * Offsets into the buffer (start/end) are rebased. */
static ctcd_status refill(ctcd_tsv *t) {
    if (t->start > 0) {
        memmove(t->buf, t->buf + t->start, t->end - t->start);
        t->end -= t->start;
        t->start = 0;
    }
    if (t->end == t->cap) {
        char *nb = realloc(t->buf, t->cap * 2);
        if (!nb) return CTCD_ERR(CTCD_E_NOMEM, "%s:%lld: line too long for memory", t->path,
                                 (long long)t->line + 1);
        t->buf = nb;
        t->cap *= 2;
    }
    size_t got = fread(t->buf + t->end, 1, t->cap - t->end, t->f);
    if (got == 0) {
        if (ferror(t->f)) return CTCD_ERR(CTCD_E_IO, "%s: read error: %s", t->path, strerror(errno));
        t->eof = 1;
    }
    t->end += got;
    return CTCD_OK;
}

static ctcd_status split_fields(ctcd_tsv *t, const char *p, size_t len) {
    t->n_fields = 0;
    if (len == 0) return CTCD_OK;
    const char *end = p + len;
    for (;;) {
        if (t->n_fields == t->cap_fields) {
            int c = t->cap_fields ? t->cap_fields * 2 : 16;
            ctcd_tsv_field *nf = realloc(t->fields, (size_t)c * sizeof *nf);
            if (!nf) return CTCD_ERR(CTCD_E_NOMEM, "%s:%lld: out of memory", t->path, (long long)t->line);
            t->fields = nf;
            t->cap_fields = c;
        }
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        const char *fe = tab ? tab : end;
        t->fields[t->n_fields++] = (ctcd_tsv_field){p, (size_t)(fe - p)};
        if (!tab) return CTCD_OK;
        p = tab + 1;
    }
}

/* First "\n" or "\r" in buf[from, end), or end. */
static size_t find_eol(const ctcd_tsv *t, size_t from) {
    for (size_t k = from; k < t->end; k++)
        if (t->buf[k] == '\n' || t->buf[k] == '\r') return k;
    return t->end;
}

ctcd_status ctcd_tsv_next(ctcd_tsv *t, int *got) {
    *got = 0;
    size_t scan = t->start;
    for (;;) {
        size_t k = find_eol(t, scan);
        /* A "\r" at the end of the buffer may be the first half of "\r\n": read on. */
        int need_more = k == t->end || (t->buf[k] == '\r' && k + 1 == t->end);
        if (need_more && !t->eof) {
            size_t done = k - t->start;
            CTCD_TRY(refill(t));
            scan = t->start + done;
            continue;
        }
        if (k == t->end && t->start == t->end) return CTCD_OK; /* end of file */
        size_t next = k;
        if (k < t->end) next += (t->buf[k] == '\r' && k + 1 < t->end && t->buf[k + 1] == '\n') ? 2 : 1;
        const char *p = t->buf + t->start;
        size_t len = k - t->start;
        if (t->line == 0 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
            p += 3; /* utf-8-sig */
            len -= 3;
        }
        t->line++;
        t->start = next;
        CTCD_TRY(split_fields(t, p, len));
        *got = 1;
        return CTCD_OK;
    }
}
