/* wordnet.c — a small reader of the WordNet 3.0 database files (include/ctcd/augment.h).
 *
 * Format (wndb(5)): index.<pos> has one line per lemma,
 *     lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt offset...
 * and data.<pos> one line per synset, found by its byte offset,
 *     offset lex_filenum ss_type w_cnt(2 hex) word lex_id(1 hex) [word lex_id...] p_cnt ...
 * Lines starting with two spaces are the license header. Both files are read whole; the
 * index lines are sorted here by lemma (byte order), so lookups are a binary search and do
 * not depend on how the files happen to be sorted. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/augment.h"

static const char *const k_pos[4] = {"noun", "verb", "adj", "adv"};

typedef struct wn_part {
    char *index;            /* index.<pos>, NUL-terminated, '\n' replaced by '\0' */
    const char **lines;     /* [n_lines] lemma lines, sorted by lemma */
    int64_t n_lines;
    char *data;             /* data.<pos>, NUL-terminated */
    size_t data_len;
} wn_part;

struct ctcd_wordnet {
    char dir[CTCD_PATH_MAX];
    wn_part part[4];
};

static ctcd_status read_whole(const char *path, char **out, size_t *len) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return CTCD_ERR(CTCD_E_IO,
                        "%s: cannot open WordNet file: %s (install the Debian package "
                        "'wordnet' or 'wordnet-base', or set $WNSEARCHDIR)",
                        path, strerror(errno));
    ctcd_status st = CTCD_OK;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) st = CTCD_ERR(CTCD_E_IO, "%s: cannot size file", path);
    char *buf = st ? NULL : malloc((size_t)n + 1);
    if (!st && !buf) st = CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory (%ld bytes)", path, n);
    if (!st && fread(buf, 1, (size_t)n, f) != (size_t)n)
        st = CTCD_ERR(CTCD_E_IO, "%s: read error", path);
    fclose(f);
    if (st) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *out = buf;
    *len = (size_t)n;
    return CTCD_OK;
}

/* Compares two lemma lines by their first field (up to the first space). */
static int lemma_cmp(const char *a, const char *b) {
    for (;; a++, b++) {
        const unsigned ca = *a == ' ' ? 0u : (unsigned char)*a;
        const unsigned cb = *b == ' ' ? 0u : (unsigned char)*b;
        if (ca != cb) return ca < cb ? -1 : 1;
        if (!ca) return 0;
    }
}

static int line_cmp(const void *pa, const void *pb) {
    return lemma_cmp(*(const char *const *)pa, *(const char *const *)pb);
}

static ctcd_status load_part(wn_part *p, const char *dir, const char *pos) {
    char path[CTCD_PATH_MAX + 16];
    size_t len;
    snprintf(path, sizeof path, "%s/index.%s", dir, pos);
    CTCD_TRY(read_whole(path, &p->index, &len));
    int64_t n = 0;
    for (size_t i = 0; i < len; i++) n += p->index[i] == '\n';
    p->lines = malloc((size_t)(n + 1) * sizeof *p->lines);
    if (!p->lines) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
    for (char *s = p->index; *s;) {
        char *nl = strchr(s, '\n');
        if (nl) *nl = '\0';
        if (s[0] && s[0] != ' ') p->lines[p->n_lines++] = s;
        if (!nl) break;
        s = nl + 1;
    }
    qsort(p->lines, (size_t)p->n_lines, sizeof *p->lines, line_cmp);
    snprintf(path, sizeof path, "%s/data.%s", dir, pos);
    return read_whole(path, &p->data, &p->data_len);
}

ctcd_status ctcd_wordnet_open(const char *dir, ctcd_wordnet **out) {
    *out = NULL;
    if (!dir || !dir[0]) dir = getenv("WNSEARCHDIR");
    if (!dir || !dir[0]) dir = CTCD_WORDNET_DEFAULT_DIR;
    ctcd_wordnet *wn = calloc(1, sizeof *wn);
    if (!wn) return CTCD_ERR(CTCD_E_NOMEM, "out of memory opening WordNet");
    snprintf(wn->dir, sizeof wn->dir, "%s", dir);
    for (int i = 0; i < 4; i++) {
        ctcd_status st = load_part(&wn->part[i], dir, k_pos[i]);
        if (st) {
            ctcd_wordnet_free(wn);
            return st;
        }
    }
    *out = wn;
    return CTCD_OK;
}

void ctcd_wordnet_free(ctcd_wordnet *wn) {
    if (!wn) return;
    for (int i = 0; i < 4; i++) {
        free(wn->part[i].index);
        free((void *)wn->part[i].lines);
        free(wn->part[i].data);
    }
    free(wn);
}

const char *ctcd_wordnet_dir(const ctcd_wordnet *wn) { return wn->dir; }

/* The index line of lemma in part p, or NULL. */
static const char *find_lemma(const wn_part *p, const char *lemma) {
    int64_t lo = 0, hi = p->n_lines - 1;
    while (lo <= hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        const int c = lemma_cmp(p->lines[mid], lemma);
        if (c == 0) return p->lines[mid];
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return NULL;
}

/* Moves past one space-separated field; NULL when the line ends first. */
static const char *next_field(const char *s) {
    while (*s && *s != ' ' && *s != '\n') s++;
    while (*s == ' ') s++;
    return (*s && *s != '\n') ? s : NULL;
}

/* Normalises a lemma (len bytes) into buf: lower-case, '_' and '-' to spaces, adjective
 * marker "(...)" dropped. Returns 0 when it has other characters than a-z and space. */
static int clean_lemma(const char *s, size_t len, char *buf, size_t cap) {
    const char *paren = memchr(s, '(', len);
    if (paren) len = (size_t)(paren - s);
    if (len == 0 || len >= cap) return 0;
    for (size_t i = 0; i < len; i++) {
        char c = (char)tolower((unsigned char)s[i]);
        if (c == '_' || c == '-') c = ' ';
        if (!(c == ' ' || (c >= 'a' && c <= 'z'))) return 0;
        buf[i] = c;
    }
    buf[len] = '\0';
    return 1;
}

/* Appends the lemmas of the synset at byte offset off of part p. */
static ctcd_status add_synset(const wn_part *p, long off, const char *word, ctcd_strlist *out) {
    if (off < 0 || (size_t)off >= p->data_len) return CTCD_OK; /* corrupt index: ignore */
    const char *s = p->data + off;
    const char *f = next_field(s);           /* lex_filenum */
    if (f) f = next_field(f);                /* ss_type */
    if (f) f = next_field(f);                /* w_cnt */
    if (!f) return CTCD_OK;
    const long w_cnt = strtol(f, NULL, 16);
    f = next_field(f);
    for (long w = 0; f && w < w_cnt; w++) {
        size_t len = strcspn(f, " \n");
        char buf[128];
        if (clean_lemma(f, len, buf, sizeof buf) && strcmp(buf, word) != 0 &&
            !ctcd_strlist_contains(out, buf))
            CTCD_TRY(ctcd_strlist_push(out, buf, strlen(buf)));
        f = next_field(f);                   /* lex_id */
        if (f) f = next_field(f);            /* next word */
    }
    return CTCD_OK;
}

ctcd_status ctcd_wordnet_synonyms(const ctcd_wordnet *wn, const char *word, ctcd_strlist *out) {
    char key[128];
    size_t n = strlen(word);
    if (n == 0 || n >= sizeof key) return CTCD_OK;
    for (size_t i = 0; i <= n; i++) key[i] = (char)tolower((unsigned char)word[i]);
    for (int pi = 0; pi < 4; pi++) {
        const wn_part *p = &wn->part[pi];
        const char *line = find_lemma(p, key);
        if (!line) continue;
        /* lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt offset... */
        const char *f = next_field(line);    /* pos */
        if (f) f = next_field(f);            /* synset_cnt */
        if (!f) continue;
        const long synset_cnt = strtol(f, NULL, 10);
        f = next_field(f);                   /* p_cnt */
        if (!f) continue;
        const long p_cnt = strtol(f, NULL, 10);
        for (long k = 0; f && k < p_cnt + 3; k++) f = next_field(f); /* ptrs, sense, tagsense */
        for (long k = 0; f && k < synset_cnt; k++) {
            CTCD_TRY(add_synset(p, strtol(f, NULL, 10), key, out));
            f = next_field(f);
        }
    }
    return CTCD_OK;
}

ctcd_status ctcd_eda_wordnet_source(void *wordnet, const char *word, ctcd_strlist *out) {
    return ctcd_wordnet_synonyms((const ctcd_wordnet *)wordnet, word, out);
}
