/* tsv.h — a streaming reader of tab-separated files as the GLUE processors read them
 * (Python's csv.reader with delimiter "\t" and quotechar None over a file opened with
 * encoding "utf-8-sig"): no quoting at all (quotes are ordinary characters), a UTF-8 BOM
 * at the start of the file is dropped, and "\n", "\r\n" and a lone "\r" all end a line
 * (Python's universal newlines). A last line without a terminator is still a line.
 *
 * Fields are byte ranges into the reader's buffer (they may contain NUL bytes), valid until
 * the next call. Memory stays bounded by the longest line, so files of any size stream. */
#ifndef CTCD_DATA_TSV_H
#define CTCD_DATA_TSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ctcd/status.h"

typedef struct ctcd_tsv_field {
    const char *p;  /* not NUL-terminated */
    size_t len;
} ctcd_tsv_field;

typedef struct ctcd_tsv {
    char path[1024];         /* for messages */
    FILE *f;
    char *buf;               /* [cap] bytes read but not yet returned are buf[start, end) */
    size_t cap, start, end;
    int eof;                 /* fread reached the end of the file */
    int64_t line;            /* 1-based number of the line last returned, 0 before any */
    ctcd_tsv_field *fields;  /* [cap_fields] fields of the line last returned */
    int n_fields;            /* 0 for an empty line */
    int cap_fields;
} ctcd_tsv;

/* Opens path for reading (CTCD_E_IO naming it when it cannot be opened). */
ctcd_status ctcd_tsv_open(ctcd_tsv *t, const char *path);
/* Reads the next line and splits it on tabs into t->fields / t->n_fields (t->line is its
 * number). *got is 1 when a line was read, 0 at the end of the file. */
ctcd_status ctcd_tsv_next(ctcd_tsv *t, int *got);
void ctcd_tsv_close(ctcd_tsv *t);

#endif
