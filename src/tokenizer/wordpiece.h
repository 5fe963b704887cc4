/* wordpiece.h — internals shared by the two halves of the tokenizer: the vocabulary and
 * WordPiece matcher (wordpiece.c) and the BERT basic tokenizer and encoder
 * (basic_tokenizer.c). Not a public header: include/ctcd/tokenizer.h is the API. */
#ifndef CTCD_DATA_WORDPIECE_H
#define CTCD_DATA_WORDPIECE_H

#include <stddef.h>
#include <stdint.h>

#include "ctcd/tokenizer.h"
#include "ctcd/utf8.h"

/* A growable id array (scratch: reused between calls, never shrunk). */
typedef struct ctcd_id_buf {
    int32_t *v;
    size_t n, cap;
} ctcd_id_buf;

/* Scratch buffers reused by every tokenize call; they only grow. */
typedef struct ctcd_tok_scratch {
    uint8_t *word;        /* [word_cap] UTF-8 bytes of the current whitespace word */
    size_t word_len, word_cap;
    int word_ascii;       /* 1 while every byte of word is < 0x80 */
    int32_t *cps;         /* [cps_cap] code points of the word after lower/NFD/strip */
    size_t cps_cap;
    uint8_t *piece;       /* [piece_cap] UTF-8 of one piece being matched */
    size_t piece_cap;
    uint32_t *piece_off;  /* [CTCD_WORDPIECE_MAX_CHARS + 1] byte offset of each code point */
    ctcd_id_buf a, b;     /* ids of the first / second text of an encode call */
} ctcd_tok_scratch;

struct ctcd_tokenizer {
    char source[1024];     /* vocab path, for messages */
    int32_t n;             /* vocabulary size */
    char *strings;         /* every token NUL-terminated, in id order */
    uint32_t *off;         /* [n] start of token id in strings */
    uint32_t *len;         /* [n] its length in bytes */
    int32_t *slot_id;      /* [mask+1] open-addressing hash table: id, or -1 when empty */
    uint32_t *slot_hash;   /* [mask+1] full hash of the token in the slot */
    uint32_t mask;         /* table size - 1 (a power of two, at least 2n) */
    size_t max_bytes;      /* longest token, in bytes ("##" included) */
    ctcd_special_ids special;
    ctcd_tok_scratch s;
};

/* Makes *p hold at least need elements of size elem (doubling); *cap is updated.
 * Fails with CTCD_E_NOMEM naming what. */
ctcd_status ctcd_tok_grow(void **p, size_t *cap, size_t need, size_t elem, const char *what);

static inline ctcd_status ctcd_id_push(ctcd_id_buf *b, int32_t id) {
    if (b->n == b->cap) CTCD_TRY(ctcd_tok_grow((void **)&b->v, &b->cap, b->n + 1, sizeof(int32_t), "token ids"));
    b->v[b->n++] = id;
    return CTCD_OK;
}

/* Id of the token ("##" + bytes when cont) or -1. bytes need not be NUL-terminated. */
int32_t ctcd_wp_lookup(const ctcd_tokenizer *t, int cont, const uint8_t *bytes, size_t len);

/* Appends the WordPiece ids of one piece (n code points, already lower-cased, stripped
 * and split on punctuation) to out: greedy longest match first, [UNK] for the whole piece
 * when it is longer than CTCD_WORDPIECE_MAX_CHARS or some position matches nothing. */
ctcd_status ctcd_wp_piece(ctcd_tokenizer *t, const int32_t *cps, size_t n, ctcd_id_buf *out);

#endif
