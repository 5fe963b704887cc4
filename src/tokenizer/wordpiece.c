/* wordpiece.c — the WordPiece vocabulary (loading, hash lookup, id <-> token) and HF's
 * greedy longest-match-first matcher (WordpieceTokenizer.tokenize) for one piece.
 *
 * The vocabulary is kept as one string block plus an open-addressing hash table of ids,
 * so a lookup hashes the candidate bytes once and compares at most a few strings.
 * Continuation candidates ("##" + bytes) are hashed as if the prefix were there, without
 * copying the bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/fileio.h"
#include "ctcd/hash.h"
#include "wordpiece.h"

ctcd_status ctcd_tok_grow(void **p, size_t *cap, size_t need, size_t elem, const char *what) {
    if (need <= *cap) return CTCD_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return CTCD_ERR(CTCD_E_NOMEM, "tokenizer: out of memory growing %s to %zu", what, c);
    *p = q;
    *cap = c;
    return CTCD_OK;
}

/* FNV-1a, fed in two parts so that "##" + bytes hashes like the stored string. */
static const uint8_t k_cont_prefix[2] = {'#', '#'};
static inline uint32_t key_hash(int cont, const uint8_t *s, size_t n) {
    uint32_t h = CTCD_FNV1A32_INIT;
    if (cont) h = ctcd_fnv1a32(h, k_cont_prefix, 2);
    return ctcd_fnv1a32(h, s, n);
}

int32_t ctcd_wp_lookup(const ctcd_tokenizer *t, int cont, const uint8_t *bytes, size_t len) {
    size_t full = len + (cont ? 2 : 0);
    if (full > t->max_bytes) return -1;
    uint32_t h = key_hash(cont, bytes, len);
    for (uint32_t slot = h & t->mask;; slot = (slot + 1) & t->mask) {
        int32_t id = t->slot_id[slot];
        if (id < 0) return -1;
        if (t->slot_hash[slot] != h || t->len[id] != full) continue;
        const char *s = t->strings + t->off[id];
        if (cont && (s[0] != '#' || s[1] != '#')) continue;
        if (memcmp(s + (cont ? 2 : 0), bytes, len) == 0) return id;
    }
}

int32_t ctcd_tokenizer_id(const ctcd_tokenizer *t, const char *token) {
    return ctcd_wp_lookup(t, 0, (const uint8_t *)token, strlen(token));
}

const char *ctcd_tokenizer_token(const ctcd_tokenizer *t, int32_t id) {
    if (id < 0 || id >= t->n) return NULL;
    return t->strings + t->off[id];
}

int32_t ctcd_tokenizer_vocab_size(const ctcd_tokenizer *t) { return t->n; }
ctcd_special_ids ctcd_tokenizer_special(const ctcd_tokenizer *t) { return t->special; }

/* UTF-8 encodes one code point (valid by construction: it came out of utf8proc or our
 * own decoder). Returns the number of bytes written to out[4]. */
static size_t utf8_put(int32_t cp, uint8_t *out) {
    uint32_t c = (uint32_t)cp;
    if (c < 0x80) {
        out[0] = (uint8_t)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (uint8_t)(0xC0 | (c >> 6));
        out[1] = (uint8_t)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (c >> 12));
        out[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (c >> 18));
    out[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (c & 0x3F));
    return 4;
}

ctcd_status ctcd_wp_piece(ctcd_tokenizer *t, const int32_t *cps, size_t n, ctcd_id_buf *out) {
    if (n == 0) return CTCD_OK;
    if (n > CTCD_WORDPIECE_MAX_CHARS) return ctcd_id_push(out, t->special.unk);
    ctcd_tok_scratch *s = &t->s;
    CTCD_TRY(ctcd_tok_grow((void **)&s->piece, &s->piece_cap, 4 * n, 1, "piece bytes"));
    /* piece_off[k] = byte offset of code point k, so candidates end on code points as
     * HF's character slicing does. */
    uint32_t pos = 0;
    for (size_t k = 0; k < n; k++) {
        s->piece_off[k] = pos;
        pos += (uint32_t)utf8_put(cps[k], s->piece + pos);
    }
    s->piece_off[n] = pos;

    size_t mark = out->n;
    size_t start = 0;
    while (start < n) {
        int cont = start > 0;
        int32_t found = -1;
        size_t end = n;
        for (; end > start; end--) {
            size_t bytes = s->piece_off[end] - s->piece_off[start];
            found = ctcd_wp_lookup(t, cont, s->piece + s->piece_off[start], bytes);
            if (found >= 0) break;
        }
        if (found < 0) {
            out->n = mark; /* one [UNK] replaces whatever matched before the failure */
            return ctcd_id_push(out, t->special.unk);
        }
        CTCD_TRY(ctcd_id_push(out, found));
        start = end;
    }
    return CTCD_OK;
}

/* ---- loading ---- */

/* 1 when s[n] is entirely valid UTF-8. */
static int valid_utf8(const uint8_t *s, size_t n) {
    size_t i = 0;
    int32_t cp;
    while (i < n)
        if (!ctcd_utf8_next(s, n, &i, &cp)) return 0;
    return 1;
}

/* Inserts token id into the hash table, or reports the id already holding those bytes. */
static int32_t table_insert(ctcd_tokenizer *t, int32_t id) {
    const uint8_t *s = (const uint8_t *)t->strings + t->off[id];
    uint32_t h = key_hash(0, s, t->len[id]);
    for (uint32_t slot = h & t->mask;; slot = (slot + 1) & t->mask) {
        int32_t other = t->slot_id[slot];
        if (other < 0) {
            t->slot_id[slot] = id;
            t->slot_hash[slot] = h;
            return -1;
        }
        if (t->slot_hash[slot] == h && t->len[other] == t->len[id] &&
            memcmp(t->strings + t->off[other], s, t->len[id]) == 0)
            return other;
    }
}

/* Splits the file text (in place: each line end becomes a NUL) into tokens and takes
 * ownership of text as t->strings; fills off/len, max_bytes and n. Errors name path:line. */
static ctcd_status split_lines(ctcd_tokenizer *t, char *text, size_t len) {
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    lines += len > 0 && text[len - 1] != '\n';
    if (lines == 0) return CTCD_ERR(CTCD_E_PARSE, "%s: empty vocabulary file", t->source);
    if (lines > INT32_MAX / 2) return CTCD_ERR(CTCD_E_PARSE, "%s: too many lines", t->source);
    t->off = malloc(lines * sizeof *t->off);
    t->len = malloc(lines * sizeof *t->len);
    if (!t->off || !t->len) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", t->source);
    t->strings = text;
    size_t pos = 0;
    for (size_t id = 0; id < lines; id++) {
        char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t tl = end - pos;
        if (tl > 0 && text[pos + tl - 1] == '\r') tl--; /* CRLF file */
        text[pos + tl] = '\0';
        if (tl == 0)
            return CTCD_ERR(CTCD_E_PARSE, "%s:%zu: empty line (one token per line expected)",
                            t->source, id + 1);
        if (!valid_utf8((const uint8_t *)text + pos, tl))
            return CTCD_ERR(CTCD_E_PARSE, "%s:%zu: invalid UTF-8", t->source, id + 1);
        if (tl > UINT32_MAX / 2 || pos > UINT32_MAX / 2)
            return CTCD_ERR(CTCD_E_PARSE, "%s:%zu: vocabulary file too large", t->source, id + 1);
        t->off[id] = (uint32_t)pos;
        t->len[id] = (uint32_t)tl;
        if (tl > t->max_bytes) t->max_bytes = tl;
        pos = end + 1;
    }
    t->n = (int32_t)lines;
    return CTCD_OK;
}

/* Builds the hash table (load factor <= 1/2); a token seen twice is an error naming both
 * lines, since HF would silently keep only the later id. */
static ctcd_status build_table(ctcd_tokenizer *t) {
    size_t cap = 16;
    while (cap < 2 * (size_t)t->n) cap *= 2;
    t->mask = (uint32_t)(cap - 1);
    t->slot_id = malloc(cap * sizeof *t->slot_id);
    t->slot_hash = malloc(cap * sizeof *t->slot_hash);
    if (!t->slot_id || !t->slot_hash) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", t->source);
    memset(t->slot_id, 0xff, cap * sizeof *t->slot_id); /* all -1 */
    for (int32_t id = 0; id < t->n; id++) {
        int32_t dup = table_insert(t, id);
        if (dup >= 0)
            return CTCD_ERR(CTCD_E_PARSE, "%s:%d: duplicate token '%s' (first on line %d)",
                            t->source, id + 1, t->strings + t->off[id], dup + 1);
    }
    return CTCD_OK;
}

/* Looks up the five special tokens the encoder and the batcher rely on. */
static ctcd_status find_specials(ctcd_tokenizer *t) {
    static const char *const names[5] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    int32_t ids[5];
    for (int k = 0; k < 5; k++) {
        ids[k] = ctcd_tokenizer_id(t, names[k]);
        if (ids[k] < 0)
            return CTCD_ERR(CTCD_E_PARSE, "%s: the vocabulary has no %s token", t->source,
                            names[k]);
    }
    t->special = (ctcd_special_ids){
        .pad = ids[0], .unk = ids[1], .cls = ids[2], .sep = ids[3], .mask = ids[4]};
    return CTCD_OK;
}

ctcd_status ctcd_tokenizer_load(const char *vocab_path, ctcd_tokenizer **out) {
    *out = NULL;
    ctcd_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", vocab_path);
    snprintf(t->source, sizeof t->source, "%s", vocab_path);
    char *text = NULL;
    size_t len = 0;
    ctcd_status st =
        ctcd_error_wrap(ctcd_read_small_file(vocab_path, SIZE_MAX, &text, &len), "vocabulary");
    if (!st) {
        st = split_lines(t, text, len);
        if (!t->strings) free(text);
    }
    if (!st) st = build_table(t);
    if (!st) st = find_specials(t);
    if (!st) {
        t->s.piece_off = malloc((CTCD_WORDPIECE_MAX_CHARS + 1) * sizeof *t->s.piece_off);
        if (!t->s.piece_off) st = CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", vocab_path);
    }
    if (st) {
        ctcd_tokenizer_free(t);
        return st;
    }
    *out = t;
    return CTCD_OK;
}

void ctcd_tokenizer_free(ctcd_tokenizer *t) {
    if (!t) return;
    free(t->strings);
    free(t->off);
    free(t->len);
    free(t->slot_id);
    free(t->slot_hash);
    free(t->s.word);
    free(t->s.cps);
    free(t->s.piece);
    free(t->s.piece_off);
    free(t->s.a.v);
    free(t->s.b.v);
    free(t);
}
