/* wordnet.c — a small reader of the WordNet 3.0 database files (include/ctcd/augment.h).
 *
 * Format (wndb(5)): index.<pos> has one line per lemma,
 *     lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt offset...
 * and data.<pos> one line per synset, found by its byte offset,
 *     offset lex_filenum ss_type w_cnt(2 hex) word lex_id(1 hex) [word lex_id...] p_cnt ...
 * and <pos>.exc one line per irregular form, "inflected base [base...]". Lines starting
 * with two spaces are the license header. Files are read whole; index and exception lines
 * are sorted here by their first field (byte order), so lookups are a binary search and do
 * not depend on how the files happen to be sorted. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/augment.h"
#include "ctcd/fileio.h"

static const char *const k_pos[4] = {"noun", "verb", "adj", "adv"};

/* A sorted view of a line-oriented file whose lines start with a key. */
typedef struct wn_lines {
    char *text;             /* the file, NUL-terminated, '\n' replaced by '\0' */
    const char **lines;     /* [n] lines, sorted by their first field */
    int64_t n;
} wn_lines;

typedef struct wn_part {
    wn_lines index;         /* index.<pos> */
    wn_lines exc;           /* <pos>.exc: "inflected base [base...]" */
    char *data;             /* data.<pos>, NUL-terminated */
    size_t data_len;
} wn_part;

struct ctcd_wordnet {
    char dir[CTCD_PATH_MAX];
    wn_part part[4];
};

/* Reads a whole WordNet file; a file that cannot be read says where WordNet comes from. */
static ctcd_status read_whole(const char *path, char **out, size_t *len) {
    ctcd_status st = ctcd_read_small_file(path, SIZE_MAX, out, len);
    if (ctcd_status_code(st) != CTCD_E_IO) return st;
    ctcd_status hinted = CTCD_ERR(CTCD_E_IO, "WordNet: %s (install the Debian package "
                                  "'wordnet' or 'wordnet-base', or set $WNSEARCHDIR)",
                                  ctcd_status_message(st));
    ctcd_status_free(st);
    return hinted;
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

/* Reads a file and sorts its lines by first field; license lines (leading spaces) dropped. */
static ctcd_status load_lines(wn_lines *l, const char *path) {
    size_t len;
    CTCD_TRY(read_whole(path, &l->text, &len));
    int64_t n = 0;
    for (size_t i = 0; i < len; i++) n += l->text[i] == '\n';
    l->lines = malloc((size_t)(n + 1) * sizeof *l->lines);
    if (!l->lines) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
    for (char *s = l->text; *s;) {
        char *nl = strchr(s, '\n');
        if (nl) *nl = '\0';
        if (s[0] && s[0] != ' ') l->lines[l->n++] = s;
        if (!nl) break;
        s = nl + 1;
    }
    qsort(l->lines, (size_t)l->n, sizeof *l->lines, line_cmp);
    return CTCD_OK;
}

static void free_lines(wn_lines *l) {
    free(l->text);
    free((void *)l->lines);
}

static ctcd_status load_part(wn_part *p, const char *dir, const char *pos) {
    char path[CTCD_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/index.%s", dir, pos);
    CTCD_TRY(load_lines(&p->index, path));
    snprintf(path, sizeof path, "%s/%s.exc", dir, pos);
    CTCD_TRY(load_lines(&p->exc, path));
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
        free_lines(&wn->part[i].index);
        free_lines(&wn->part[i].exc);
        free(wn->part[i].data);
    }
    free(wn);
}

const char *ctcd_wordnet_dir(const ctcd_wordnet *wn) { return wn->dir; }

/* The line of l whose first field is key, or NULL. */
static const char *find_line(const wn_lines *l, const char *key) {
    int64_t lo = 0, hi = l->n - 1;
    while (lo <= hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        const int c = lemma_cmp(l->lines[mid], key);
        if (c == 0) return l->lines[mid];
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

/* Appends the lemmas of the synset at byte offset off of part p, except those in skip. */
static ctcd_status add_synset(const wn_part *p, long off, const ctcd_strlist *skip,
                              ctcd_strlist *out) {
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
        if (clean_lemma(f, len, buf, sizeof buf) && !ctcd_strlist_contains(skip, buf) &&
            !ctcd_strlist_contains(out, buf))
            CTCD_TRY(ctcd_strlist_push(out, buf, strlen(buf)));
        f = next_field(f);                   /* lex_id */
        if (f) f = next_field(f);            /* next word */
    }
    return CTCD_OK;
}

/* Appends the lemmas of every synset of the index entry `lemma` of part p. */
static ctcd_status add_lemma_synsets(const wn_part *p, const char *lemma,
                                     const ctcd_strlist *skip, ctcd_strlist *out) {
    const char *line = find_line(&p->index, lemma);
    if (!line) return CTCD_OK;
    /* lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt offset... */
    const char *f = next_field(line);    /* pos */
    if (f) f = next_field(f);            /* synset_cnt */
    if (!f) return CTCD_OK;
    const long synset_cnt = strtol(f, NULL, 10);
    f = next_field(f);                   /* p_cnt */
    if (!f) return CTCD_OK;
    const long p_cnt = strtol(f, NULL, 10);
    for (long k = 0; f && k < p_cnt + 3; k++) f = next_field(f); /* ptrs, sense, tagsense */
    for (long k = 0; f && k < synset_cnt; k++) {
        CTCD_TRY(add_synset(p, strtol(f, NULL, 10), skip, out));
        f = next_field(f);
    }
    return CTCD_OK;
}

/* WordNet's morphy detachment rules per part of speech: (suffix, replacement). */
typedef struct detach { const char *suffix, *repl; } detach;
static const detach k_noun_rules[] = {{"s", ""}, {"ses", "s"}, {"ves", "f"}, {"xes", "x"},
                                      {"zes", "z"}, {"ches", "ch"}, {"shes", "sh"},
                                      {"men", "man"}, {"ies", "y"}, {NULL, NULL}};
static const detach k_verb_rules[] = {{"s", ""}, {"ies", "y"}, {"es", "e"}, {"es", ""},
                                      {"ed", "e"}, {"ed", ""}, {"ing", "e"}, {"ing", ""},
                                      {NULL, NULL}};
static const detach k_adj_rules[] = {{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"},
                                     {NULL, NULL}};
static const detach *const k_rules[4] = {k_noun_rules, k_verb_rules, k_adj_rules, NULL};

#define MAX_FORMS 16

/* Adds form to forms[] (no duplicates) if part p has it as a lemma. */
static void add_form(const wn_part *p, char forms[][128], int *n, const char *form) {
    if (*n == MAX_FORMS || !find_line(&p->index, form)) return;
    for (int i = 0; i < *n; i++)
        if (strcmp(forms[i], form) == 0) return;
    snprintf(forms[(*n)++], 128, "%s", form);
}

/* The base forms of key in part pi, as WordNet's morphy (and NLTK's) finds them: the
 * exception list when it has the word, else the word and its one-step detachments that
 * are lemmas. */
static int base_forms(const ctcd_wordnet *wn, int pi, const char *key, char forms[][128]) {
    const wn_part *p = &wn->part[pi];
    int n = 0;
    add_form(p, forms, &n, key);
    const char *exc = find_line(&p->exc, key);
    if (exc) {
        for (const char *f = next_field(exc); f; f = next_field(f)) {
            char base[128];
            const size_t len = strcspn(f, " \n");
            if (len >= sizeof base) continue;
            memcpy(base, f, len);
            base[len] = '\0';
            add_form(p, forms, &n, base);
        }
        return n;
    }
    const size_t klen = strlen(key);
    for (const detach *r = k_rules[pi]; r && r->suffix; r++) {
        const size_t sl = strlen(r->suffix), rl = strlen(r->repl);
        if (klen <= sl || strcmp(key + klen - sl, r->suffix) != 0 || klen - sl + rl >= 128)
            continue;
        char base[128];
        memcpy(base, key, klen - sl);
        memcpy(base + klen - sl, r->repl, rl + 1);
        add_form(p, forms, &n, base);
    }
    return n;
}

ctcd_status ctcd_wordnet_synonyms(const ctcd_wordnet *wn, const char *word, ctcd_strlist *out) {
    char key[128];
    size_t n = strlen(word);
    if (n == 0 || n >= sizeof key) return CTCD_OK;
    for (size_t i = 0; i <= n; i++) key[i] = (char)tolower((unsigned char)word[i]);
    char forms[4][MAX_FORMS][128];
    int nf[4];
    /* The word and its base forms are not synonyms of it ("secretions" -> "secretion"). */
    ctcd_strlist skip = {0};
    ctcd_status st = ctcd_strlist_push(&skip, key, n);
    for (int pi = 0; pi < 4; pi++) {
        nf[pi] = base_forms(wn, pi, key, forms[pi]);
        for (int k = 0; !st && k < nf[pi]; k++)
            if (!ctcd_strlist_contains(&skip, forms[pi][k]))
                st = ctcd_strlist_push(&skip, forms[pi][k], strlen(forms[pi][k]));
    }
    for (int pi = 0; pi < 4; pi++)
        for (int k = 0; !st && k < nf[pi]; k++)
            st = add_lemma_synsets(&wn->part[pi], forms[pi][k], &skip, out);
    ctcd_strlist_free(&skip);
    return st;
}

ctcd_status ctcd_eda_wordnet_source(void *wordnet, const char *word, ctcd_strlist *out) {
    return ctcd_wordnet_synonyms((const ctcd_wordnet *)wordnet, word, out);
}
