/* strlist.c — the growable string buffer and string list used by augmentation
 * (include/ctcd/augment.h). */
#include <stdlib.h>
#include <string.h>

#include "ctcd/strlist.h"

ctcd_status ctcd_strbuf_append(ctcd_strbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 64;
        while (c < b->n + n + 1) c *= 2;
        char *p = realloc(b->p, c);
        if (!p) return CTCD_ERR(CTCD_E_NOMEM, "out of memory growing a string to %zu bytes", c);
        b->p = p;
        b->cap = c;
    }
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return CTCD_OK;
}

void ctcd_strbuf_free(ctcd_strbuf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

ctcd_status ctcd_strlist_push(ctcd_strlist *l, const char *s, size_t n) {
    if (l->n == l->cap) {
        int c = l->cap ? l->cap * 2 : 16;
        size_t *o = realloc(l->off, (size_t)c * sizeof *o);
        if (!o) return CTCD_ERR(CTCD_E_NOMEM, "out of memory growing a string list to %d", c);
        l->off = o;
        l->cap = c;
    }
    const size_t at = l->buf.n;
    CTCD_TRY(ctcd_strbuf_append(&l->buf, s, n));
    CTCD_TRY(ctcd_strbuf_append(&l->buf, "", 1)); /* the NUL that ends this string */
    l->buf.n = at + n + 1;
    l->off[l->n++] = at;
    return CTCD_OK;
}

int ctcd_strlist_contains(const ctcd_strlist *l, const char *s) {
    for (int i = 0; i < l->n; i++)
        if (strcmp(ctcd_strlist_at(l, i), s) == 0) return 1;
    return 0;
}

void ctcd_strlist_clear(ctcd_strlist *l) {
    l->n = 0;
    l->buf.n = 0;
}

void ctcd_strlist_free(ctcd_strlist *l) {
    free(l->off);
    ctcd_strbuf_free(&l->buf);
    memset(l, 0, sizeof *l);
}
