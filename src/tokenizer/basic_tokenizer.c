/* basic_tokenizer.c — HF's BERT BasicTokenizer (uncased) in one pass over UTF-8 text, and
 * the encoder that adds [CLS]/[SEP], token types and longest_first truncation.
 *
 * HF builds several intermediate strings (lower-case, clean, CJK-spaced, NFC, split,
 * stripped, punctuation-split); here one scan collects each whitespace-separated word into
 * a scratch buffer, and the per-word steps (lower-case, NFD, drop Mn, punctuation split)
 * run when the word ends. That is the same function because every step before the split
 * acts on single characters, and every step after it acts within one word. Two details
 * make it so:
 *  - HF lower-cases before it cleans, and NFC-composes the text before the split; neither
 *    can change the result once words are NFD-decomposed and stripped of marks.
 *  - A word that is pure ASCII skips utf8proc entirely (no decomposition, no marks), which
 *    is most of GLUE.
 * See include/ctcd/tokenizer.h for the exact behaviour. */
#include <string.h>
#include <utf8proc.h>

#include "wordpiece.h"

enum { C_WORD = 0, C_SKIP, C_SPACE, C_PUNCT };

/* Class of an ASCII byte: HF's _is_control (C0 controls and DEL, except tab/LF/CR),
 * _is_whitespace, _is_punctuation (its ASCII ranges). */
static inline int ascii_class(unsigned c) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return C_SPACE;
    if (c < 0x20 || c == 0x7F) return C_SKIP;
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
        (c >= 123 && c <= 126))
        return C_PUNCT;
    return C_WORD;
}

/* Class of a non-ASCII code point. U+2028/U+2029 are not Zs, so HF's _clean_text keeps
 * them, but Python's str.split() then splits on them: they separate words all the same. */
static inline int unicode_class(int32_t cp) {
    if (cp == 0xFFFD) return C_SKIP;
    if (cp == 0x2028 || cp == 0x2029) return C_SPACE;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
        return C_SKIP;
    case UTF8PROC_CATEGORY_ZS:
        return C_SPACE;
    default:
        return C_WORD;
    }
}

static inline int is_punct(int32_t cp) {
    if (cp < 0x80) return ascii_class((unsigned)cp) == C_PUNCT;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        return 1;
    default:
        return 0;
    }
}

/* HF's _is_chinese_char ranges (CJK unified ideographs and extensions, compatibility
 * ideographs); other scripts such as Hangul and kana are ordinary letters. */
static inline int is_cjk(int32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* Python's str.lower() per character. Its only multi-character lower-case is U+0130 →
 * "i" + U+0307, and the U+0307 (Mn) is stripped right after, so the simple mapping gives
 * the same result. */
static utf8proc_int32_t lower_cb(utf8proc_int32_t cp, void *data) {
    (void)data;
    return utf8proc_tolower(cp);
}

static ctcd_status word_append(ctcd_tok_scratch *s, const uint8_t *b, size_t n) {
    if (s->word_len + n > s->word_cap)
        CTCD_TRY(ctcd_tok_grow((void **)&s->word, &s->word_cap, s->word_len + n, 1, "word"));
    memcpy(s->word + s->word_len, b, n);
    s->word_len += n;
    return CTCD_OK;
}

/* Lower-cases, NFD-decomposes and strips combining marks from the (non-ASCII) word into
 * s->cps; *n receives the number of code points. */
static ctcd_status nfd_strip(ctcd_tok_scratch *s, size_t *n) {
    CTCD_TRY(ctcd_tok_grow((void **)&s->cps, &s->cps_cap, s->word_len, sizeof(int32_t), "word"));
    utf8proc_ssize_t r;
    for (;;) {
        r = utf8proc_decompose_custom(s->word, (utf8proc_ssize_t)s->word_len, s->cps,
                                      (utf8proc_ssize_t)s->cps_cap, UTF8PROC_DECOMPOSE,
                                      lower_cb, NULL);
        if (r < 0)
            return CTCD_ERR(CTCD_E_INTERNAL, "utf8proc rejected a validated word: %s",
                            utf8proc_errmsg(r));
        if ((size_t)r <= s->cps_cap) break;
        CTCD_TRY(ctcd_tok_grow((void **)&s->cps, &s->cps_cap, (size_t)r, sizeof(int32_t), "word"));
    }
    size_t k = 0;
    for (utf8proc_ssize_t i = 0; i < r; i++)
        if (utf8proc_category(s->cps[i]) != UTF8PROC_CATEGORY_MN) s->cps[k++] = s->cps[i];
    *n = k;
    return CTCD_OK;
}

/* Ends the current word: normalises it, splits it on punctuation and WordPieces each
 * piece into out. */
static ctcd_status flush_word(ctcd_tokenizer *t, ctcd_id_buf *out) {
    ctcd_tok_scratch *s = &t->s;
    if (s->word_len == 0) return CTCD_OK;
    size_t n = 0;
    if (s->word_ascii) {
        CTCD_TRY(ctcd_tok_grow((void **)&s->cps, &s->cps_cap, s->word_len, sizeof(int32_t), "word"));
        for (size_t k = 0; k < s->word_len; k++) {
            unsigned c = s->word[k];
            s->cps[k] = (int32_t)((c >= 'A' && c <= 'Z') ? c + 32 : c);
        }
        n = s->word_len;
    } else {
        CTCD_TRY(nfd_strip(s, &n));
    }
    s->word_len = 0;
    s->word_ascii = 1;
    size_t start = 0;
    for (size_t k = 0; k < n; k++) {
        if (!is_punct(s->cps[k])) continue;
        CTCD_TRY(ctcd_wp_piece(t, s->cps + start, k - start, out));
        CTCD_TRY(ctcd_wp_piece(t, s->cps + k, 1, out));
        start = k + 1;
    }
    return ctcd_wp_piece(t, s->cps + start, n - start, out);
}

/* Basic + WordPiece tokenisation of text that holds no special token. base is the offset
 * of text in the caller's string, for error messages. */
static ctcd_status tokenize_chunk(ctcd_tokenizer *t, const uint8_t *text, size_t len, size_t base,
                                  ctcd_id_buf *out) {
    ctcd_tok_scratch *s = &t->s;
    s->word_len = 0;
    s->word_ascii = 1;
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        int32_t cp;
        int cls;
        if (text[i] < 0x80) {
            cp = text[i++];
            cls = ascii_class((unsigned)cp);
            if (cls == C_PUNCT) cls = C_WORD; /* punctuation splits later, after NFD */
        } else {
            if (!ctcd_utf8_next(text, len, &i, &cp))
                return CTCD_ERR(CTCD_E_INVALID, "invalid UTF-8 at byte %zu", base + start);
            cls = unicode_class(cp);
        }
        if (cls == C_SKIP) continue;
        if (cls == C_SPACE) {
            CTCD_TRY(flush_word(t, out));
            continue;
        }
        if (cp >= 0x80) {
            if (is_cjk(cp)) CTCD_TRY(flush_word(t, out)); /* the ideograph is a word alone */
            s->word_ascii = 0;
            CTCD_TRY(word_append(s, text + start, i - start));
            if (is_cjk(cp)) CTCD_TRY(flush_word(t, out));
        } else {
            CTCD_TRY(word_append(s, text + start, 1));
        }
    }
    return flush_word(t, out);
}

/* Length of the special token starting at s (HF's added-token trie over [PAD] [UNK]
 * [CLS] [SEP] [MASK], case-sensitive), 0 when none; *id receives its id. */
static size_t match_special(const ctcd_tokenizer *t, const uint8_t *s, size_t n, int32_t *id) {
    const struct {
        const char *name;
        int32_t id;
    } sp[5] = {{"[PAD]", t->special.pad},
               {"[UNK]", t->special.unk},
               {"[CLS]", t->special.cls},
               {"[SEP]", t->special.sep},
               {"[MASK]", t->special.mask}};
    for (int k = 0; k < 5; k++) {
        size_t l = strlen(sp[k].name);
        if (l <= n && memcmp(s, sp[k].name, l) == 0) {
            *id = sp[k].id;
            return l;
        }
    }
    return 0;
}

/* Appends the ids of text to out (no [CLS]/[SEP] added). */
static ctcd_status tokenize_text(ctcd_tokenizer *t, const char *text, size_t len, ctcd_id_buf *out) {
    const uint8_t *s = (const uint8_t *)text;
    size_t chunk = 0, i = 0;
    while (i < len) {
        const uint8_t *br = memchr(s + i, '[', len - i);
        if (!br) break;
        i = (size_t)(br - s);
        int32_t id;
        size_t ml = match_special(t, s + i, len - i, &id);
        if (ml == 0) {
            i++;
            continue;
        }
        CTCD_TRY(tokenize_chunk(t, s + chunk, i - chunk, chunk, out));
        CTCD_TRY(ctcd_id_push(out, id));
        i += ml;
        chunk = i;
    }
    return tokenize_chunk(t, s + chunk, len - chunk, chunk, out);
}

ctcd_status ctcd_tokenizer_tokenize(ctcd_tokenizer *t, const char *text, size_t len,
                                    int32_t *ids, size_t cap, size_t *n_out) {
    ctcd_id_buf *a = &t->s.a;
    a->n = 0;
    *n_out = 0;
    CTCD_TRY(tokenize_text(t, text, len, a));
    size_t n = a->n < cap ? a->n : cap;
    if (n) memcpy(ids, a->v, n * sizeof *ids);
    *n_out = a->n;
    return CTCD_OK;
}

ctcd_status ctcd_tokenizer_encode(ctcd_tokenizer *t, const char *a, size_t a_len,
                                  const char *b, size_t b_len, int max_len, int32_t *ids,
                                  int32_t *types, ctcd_encoding *enc) {
    memset(enc, 0, sizeof *enc);
    if (max_len < 3)
        return CTCD_ERR(CTCD_E_INVALID,
                        "max_len %d is too small: [CLS] and [SEP] need at least 3 positions",
                        max_len);
    ctcd_tok_scratch *s = &t->s;
    s->a.n = s->b.n = 0;
    ctcd_status st = tokenize_text(t, a, a_len, &s->a);
    if (st) return ctcd_error_wrap(st, "first text");
    if (b) {
        st = tokenize_text(t, b, b_len, &s->b);
        if (st) return ctcd_error_wrap(st, "second text");
    }
    size_t la = s->a.n, lb = s->b.n;
    size_t budget = (size_t)max_len - (b ? 3 : 2);
    if (!b) {
        if (la > budget) la = budget;
    } else {
        while (la + lb > budget) { /* HF's loop: the strictly longer side loses a token */
            if (la > lb) {
                la--;
            } else {
                lb--;
            }
        }
    }
    size_t n = 0;
    ids[n++] = t->special.cls;
    if (la) memcpy(ids + n, s->a.v, la * sizeof *ids); /* an empty text has no buffer yet */
    n += la;
    ids[n++] = t->special.sep;
    size_t n0 = n;
    if (b) {
        if (lb) memcpy(ids + n, s->b.v, lb * sizeof *ids);
        n += lb;
        ids[n++] = t->special.sep;
    }
    for (size_t k = 0; k < n; k++) types[k] = k < n0 ? 0 : 1;
    enc->len = (int)n;
    enc->len_a = (int)la;
    enc->len_b = (int)lb;
    enc->removed = (int)(s->a.n + s->b.n - la - lb);
    return CTCD_OK;
}

/* Appends n bytes to buf (cap bytes, NUL kept) at *pos, counting what does not fit. */
static void put(char *buf, size_t cap, size_t *pos, const char *src, size_t n) {
    if (*pos + 1 < cap) {
        size_t room = cap - 1 - *pos;
        memcpy(buf + *pos, src, n < room ? n : room);
    }
    *pos += n;
}

size_t ctcd_tokenizer_decode(const ctcd_tokenizer *t, const int32_t *ids, size_t n, char *buf,
                             size_t cap) {
    size_t pos = 0;
    for (size_t k = 0; k < n; k++) {
        const char *tok = ctcd_tokenizer_token(t, ids[k]);
        if (!tok) tok = ctcd_tokenizer_token(t, t->special.unk); /* HF: unknown id → unk */
        size_t l = strlen(tok);
        /* " ".join(tokens).replace(" ##", "") */
        if (k > 0 && l >= 2 && tok[0] == '#' && tok[1] == '#') {
            tok += 2;
            l -= 2;
        } else if (k > 0) {
            put(buf, cap, &pos, " ", 1);
        }
        put(buf, cap, &pos, tok, l);
    }
    if (cap > 0) buf[pos < cap ? pos : cap - 1] = '\0';
    return pos;
}
