/* strlist.h — small string containers: a growable byte string and a list of strings
 * stored back to back (src/core/strlist.c). */
#ifndef CTCD_STRLIST_H
#define CTCD_STRLIST_H

#include <stddef.h>

#include "ctcd/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A growable NUL-terminated byte string. */
typedef struct ctcd_strbuf {
    char *p;      /* NUL-terminated once anything was appended ("" when p == NULL) */
    size_t n, cap;
} ctcd_strbuf;

ctcd_status ctcd_strbuf_append(ctcd_strbuf *b, const char *s, size_t n);
static inline const char *ctcd_strbuf_str(const ctcd_strbuf *b) { return b->p ? b->p : ""; }
void ctcd_strbuf_free(ctcd_strbuf *b);

/* A list of strings stored back to back in one buffer. */
typedef struct ctcd_strlist {
    int n;            /* number of strings */
    size_t *off;      /* [n] start of string i in buf */
    int cap;
    ctcd_strbuf buf;  /* the strings, each NUL-terminated */
} ctcd_strlist;

ctcd_status ctcd_strlist_push(ctcd_strlist *l, const char *s, size_t n);
static inline const char *ctcd_strlist_at(const ctcd_strlist *l, int i) {
    return l->buf.p + l->off[i];
}
/* 1 when s (NUL-terminated) is in the list. */
int ctcd_strlist_contains(const ctcd_strlist *l, const char *s);
void ctcd_strlist_clear(ctcd_strlist *l);  /* keeps the memory */
void ctcd_strlist_free(ctcd_strlist *l);

#ifdef __cplusplus
}
#endif
#endif
