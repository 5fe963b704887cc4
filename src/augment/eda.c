/* eda.c — the four EDA operations (Wei & Zou 2019) on one text (include/ctcd/augment.h).
 *
 * Differences from the reference eda.py, each deliberate:
 *  - punctuation is kept (eda.py strips everything but letters): words are split into
 *    leading punctuation, core and trailing punctuation, and only cores are looked up;
 *  - SR replaces word positions (eda.py replaces every occurrence of a chosen word type),
 *    so "changed words" is exactly what the operation reports;
 *  - RI draws the word whose synonym it inserts among words that have synonyms and are not
 *    stop words (eda.py tries up to ten random words of any kind);
 *  - n = max(1, round(alpha·words)) (eda.py truncates).
 *
 * A text is held as an index array into a pool of word strings (the original words first,
 * replacements appended), so that swaps, insertions and deletions move indices only. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/augment.h"

typedef struct eda_text {
    ctcd_strlist pool;  /* every word string the text may use */
    int *idx;           /* [n] pool index of each word, in order */
    int n, cap;
} eda_text;

static void text_free(eda_text *t) {
    ctcd_strlist_free(&t->pool);
    free(t->idx);
}

static ctcd_status text_insert(eda_text *t, int at, int pool_index) {
    if (t->n == t->cap) {
        int c = t->cap ? t->cap * 2 : 32;
        int *p = realloc(t->idx, (size_t)c * sizeof *p);
        if (!p) return CTCD_ERR(CTCD_E_NOMEM, "EDA: out of memory (%d words)", c);
        t->idx = p;
        t->cap = c;
    }
    memmove(t->idx + at + 1, t->idx + at, (size_t)(t->n - at) * sizeof *t->idx);
    t->idx[at] = pool_index;
    t->n++;
    return CTCD_OK;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

static ctcd_status text_split(eda_text *t, const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        while (i < len && is_space(s[i])) i++;
        const size_t start = i;
        while (i < len && !is_space(s[i])) i++;
        if (i > start) {
            CTCD_TRY(ctcd_strlist_push(&t->pool, s + start, i - start));
            CTCD_TRY(text_insert(t, t->n, t->pool.n - 1));
        }
    }
    return CTCD_OK;
}

/* The core of a word: [*b, *e) without leading/trailing ASCII punctuation. Returns 1 when
 * the core is non-empty ASCII letters only; lower-cases it into key (cap bytes). */
static int word_core(const char *w, size_t *b, size_t *e, char *key, size_t cap) {
    size_t n = strlen(w), i = 0, j = n;
    while (i < n && ispunct((unsigned char)w[i])) i++;
    while (j > i && ispunct((unsigned char)w[j - 1])) j--;
    *b = i;
    *e = j;
    if (j == i || j - i >= cap) return 0;
    for (size_t k = i; k < j; k++) {
        if (!isalpha((unsigned char)w[k]) || (unsigned char)w[k] >= 0x80) return 0;
        key[k - i] = (char)tolower((unsigned char)w[k]);
    }
    key[j - i] = '\0';
    return 1;
}

/* Synonyms of word position pos (cleared first); 0 of them for stop words and non-words. */
static ctcd_status synonyms_at(const eda_text *t, int pos, ctcd_synonym_fn syn, void *ctx,
                               ctcd_strlist *out, size_t *b, size_t *e) {
    ctcd_strlist_clear(out);
    char key[128];
    if (!word_core(ctcd_strlist_at(&t->pool, t->idx[pos]), b, e, key, sizeof key)) return CTCD_OK;
    if (ctcd_is_stop_word(key)) return CTCD_OK;
    return syn(ctx, key, out);
}

static void shuffle_int(ctcd_rng *rng, int *v, int n) {
    for (int i = n - 1; i > 0; i--) {
        const int j = (int)ctcd_rng_below(rng, (uint32_t)(i + 1));
        const int x = v[i];
        v[i] = v[j];
        v[j] = x;
    }
}

static ctcd_status op_sr(eda_text *t, int n, ctcd_synonym_fn syn, void *ctx, ctcd_rng *rng,
                         int *changed) {
    int *order = malloc((size_t)(t->n ? t->n : 1) * sizeof *order);
    if (!order) return CTCD_ERR(CTCD_E_NOMEM, "EDA: out of memory");
    for (int i = 0; i < t->n; i++) order[i] = i;
    shuffle_int(rng, order, t->n);
    ctcd_strlist syns = {0};
    ctcd_strbuf w = {0};
    ctcd_status st = CTCD_OK;
    for (int k = 0; !st && k < t->n && *changed < n; k++) {
        size_t b, e;
        st = synonyms_at(t, order[k], syn, ctx, &syns, &b, &e);
        if (st || syns.n == 0) continue;
        const char *pick = ctcd_strlist_at(&syns, (int)ctcd_rng_below(rng, (uint32_t)syns.n));
        const char *orig = ctcd_strlist_at(&t->pool, t->idx[order[k]]);
        const size_t olen = strlen(orig);
        w.n = 0;
        st = ctcd_strbuf_append(&w, orig, b);
        if (!st) st = ctcd_strbuf_append(&w, pick, strlen(pick));
        if (!st) st = ctcd_strbuf_append(&w, orig + e, olen - e);
        if (!st) st = ctcd_strlist_push(&t->pool, w.p, w.n);
        if (!st) {
            t->idx[order[k]] = t->pool.n - 1;
            (*changed)++;
        }
    }
    ctcd_strlist_free(&syns);
    ctcd_strbuf_free(&w);
    free(order);
    return st;
}

static ctcd_status op_ri(eda_text *t, int n, ctcd_synonym_fn syn, void *ctx, ctcd_rng *rng,
                         int *changed) {
    /* Candidate source words: positions of the input whose core has synonyms. */
    const int n0 = t->n;
    int *cand = malloc((size_t)(n0 ? n0 : 1) * sizeof *cand);
    if (!cand) return CTCD_ERR(CTCD_E_NOMEM, "EDA: out of memory");
    int n_cand = 0;
    ctcd_strlist syns = {0};
    ctcd_status st = CTCD_OK;
    for (int i = 0; !st && i < n0; i++) {
        size_t b, e;
        st = synonyms_at(t, i, syn, ctx, &syns, &b, &e);
        if (!st && syns.n > 0) cand[n_cand++] = t->idx[i];
    }
    for (int k = 0; !st && n_cand > 0 && k < n; k++) {
        const int src = cand[ctcd_rng_below(rng, (uint32_t)n_cand)];
        /* Look the source word up again by its pool string (positions move as we insert). */
        char key[128];
        size_t b, e;
        word_core(ctcd_strlist_at(&t->pool, src), &b, &e, key, sizeof key);
        ctcd_strlist_clear(&syns);
        st = syn(ctx, key, &syns);
        if (st || syns.n == 0) continue;
        const char *pick = ctcd_strlist_at(&syns, (int)ctcd_rng_below(rng, (uint32_t)syns.n));
        st = ctcd_strlist_push(&t->pool, pick, strlen(pick));
        if (!st) st = text_insert(t, (int)ctcd_rng_below(rng, (uint32_t)(t->n + 1)), t->pool.n - 1);
        if (!st) (*changed)++;
    }
    ctcd_strlist_free(&syns);
    free(cand);
    return st;
}

static void op_rs(eda_text *t, int n, ctcd_rng *rng, int *changed) {
    if (t->n < 2) return;
    for (int k = 0; k < n; k++) {
        const int i = (int)ctcd_rng_below(rng, (uint32_t)t->n);
        int j = (int)ctcd_rng_below(rng, (uint32_t)(t->n - 1));
        if (j >= i) j++; /* two distinct positions */
        const int x = t->idx[i];
        t->idx[i] = t->idx[j];
        t->idx[j] = x;
        (*changed)++;
    }
}

static void op_rd(eda_text *t, float p, ctcd_rng *rng, int *changed) {
    if (t->n < 2) return;
    const int keep_if_empty = (int)ctcd_rng_below(rng, (uint32_t)t->n);
    const int saved = t->idx[keep_if_empty];
    int m = 0;
    for (int i = 0; i < t->n; i++)
        if (ctcd_rng_uniform(rng) >= p) t->idx[m++] = t->idx[i];
    if (m == 0) t->idx[m++] = saved; /* never delete every word */
    *changed = t->n - m;
    t->n = m;
}

ctcd_status ctcd_eda_apply(ctcd_eda_op op, float strength, const char *text, size_t len,
                           ctcd_synonym_fn syn, void *syn_ctx, ctcd_rng *rng,
                           ctcd_strbuf *out, ctcd_eda_stats *stats) {
    CTCD_ASSERT(op >= 0 && op < CTCD_EDA_N_OPS, "EDA op %d", (int)op);
    eda_text t = {0};
    ctcd_status st = text_split(&t, text, len);
    const int words = t.n;
    int n = 0, changed = 0;
    if (op != CTCD_EDA_RD && strength > 0.0f) {
        n = (int)lroundf(strength * (float)words);
        if (n < 1) n = 1;
    }
    if (!st && strength > 0.0f && words > 0) {
        switch (op) {
        case CTCD_EDA_SR: st = op_sr(&t, n, syn, syn_ctx, rng, &changed); break;
        case CTCD_EDA_RI: st = op_ri(&t, n, syn, syn_ctx, rng, &changed); break;
        case CTCD_EDA_RS: op_rs(&t, n, rng, &changed); break;
        case CTCD_EDA_RD: op_rd(&t, strength, rng, &changed); break;
        default: break;
        }
    }
    out->n = 0;
    if (!st) st = ctcd_strbuf_append(out, "", 0);
    for (int i = 0; !st && i < t.n; i++) {
        const char *w = ctcd_strlist_at(&t.pool, t.idx[i]);
        if (i) st = ctcd_strbuf_append(out, " ", 1);
        if (!st) st = ctcd_strbuf_append(out, w, strlen(w));
    }
    if (stats) *stats = (ctcd_eda_stats){.words = words, .n_target = n, .n_changed = changed};
    text_free(&t);
    return st;
}

int ctcd_eda_op_of_copy(const ctcd_eda_config *c, uint32_t start, int k) {
    int ops[CTCD_EDA_N_OPS], n = 0;
    for (int i = 0; i < CTCD_EDA_N_OPS; i++)
        if (c->strength[i] > 0.0f) ops[n++] = i;
    if (n == 0) return -1;
    return ops[(start + (uint32_t)k) % (uint32_t)n];
}
