/* tokenizer.h — the BERT uncased WordPiece tokenizer (Hugging Face `BertTokenizer`, slow
 * Python version, with do_lower_case=True, tokenize_chinese_chars=True, strip_accents=None).
 *
 * What it reproduces, in HF's order:
 *   1. Special tokens written literally in the text ("[CLS]", "[SEP]", "[PAD]", "[UNK]",
 *      "[MASK]", case-sensitive) become their ids and split the text around them (HF's
 *      added-token trie).
 *   2. Every other character is lower-cased on its own (HF lower-cases character by
 *      character before the trie split, so a Greek capital sigma always becomes σ, never
 *      the final form ς).
 *   3. _clean_text: U+0000, U+FFFD and every character of category C* are dropped (tab, LF
 *      and CR are whitespace instead); whitespace (space, tab, LF, CR, category Zs) and
 *      U+2028/U+2029 (which Python's str.split() treats as whitespace) separate words.
 *   4. CJK ideographs (HF's ranges) become words of their own.
 *   5. Per word: NFD, drop combining marks (category Mn), split before and after every
 *      punctuation character (category P* or ASCII 33-47, 58-64, 91-96, 123-126).
 *   6. WordPiece per piece: more than 100 code points → [UNK]; otherwise greedy longest
 *      match first, continuation pieces prefixed "##"; if some position matches nothing the
 *      whole piece becomes one [UNK].
 * Unicode properties come from utf8proc (Unicode 15); Python's unicodedata may be an older
 * version, which only matters for characters assigned in between.
 *
 * Pairs are encoded [CLS] A [SEP] B [SEP] with token types 0 for [CLS] A [SEP] and 1 for
 * B [SEP], truncated like HF's "longest_first" strategy (see ctcd_tokenizer_encode).
 *
 * A tokenizer owns its vocabulary (read-only after loading) and a scratch area reused by
 * every call, so tokenising allocates nothing per token; for the same reason one tokenizer
 * must not be used by two threads at once (load one per thread). */
#ifndef CTCD_TOKENIZER_H
#define CTCD_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "ctcd/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CTCD_WORDPIECE_MAX_CHARS 100 /* longer pieces become [UNK] (HF max_input_chars_per_word) */

typedef struct ctcd_tokenizer ctcd_tokenizer;

/* Ids of the special tokens in a vocabulary. */
typedef struct ctcd_special_ids {
    int32_t pad, unk, cls, sep, mask;
} ctcd_special_ids;

/* Loads a vocabulary file: one token per line, id = 0-based line number, UTF-8, LF or CRLF
 * line ends (the CR is not part of the token). Errors name path:line for an empty line, a
 * duplicate token (and the line of its first occurrence) or invalid UTF-8, and the path
 * when one of [PAD] [UNK] [CLS] [SEP] [MASK] is missing. *out is NULL on error. */
ctcd_status ctcd_tokenizer_load(const char *vocab_path, ctcd_tokenizer **out);
void ctcd_tokenizer_free(ctcd_tokenizer *t);

int32_t ctcd_tokenizer_vocab_size(const ctcd_tokenizer *t);
/* Ids of [PAD] [UNK] [CLS] [SEP] [MASK] in this vocabulary. */
ctcd_special_ids ctcd_tokenizer_special(const ctcd_tokenizer *t);
/* Id of a vocabulary entry (exact, NUL-terminated, e.g. "##able"), or -1 when absent.
 * A hash lookup. */
int32_t ctcd_tokenizer_id(const ctcd_tokenizer *t, const char *token);
/* The token string of an id (NUL-terminated, owned by t), or NULL when out of range. */
const char *ctcd_tokenizer_token(const ctcd_tokenizer *t, int32_t id);

/* Tokenises len bytes of UTF-8 text (NUL bytes included are dropped like any control
 * character) into WordPiece ids, without [CLS]/[SEP]. Writes min(total, cap) ids to
 * ids (which may be NULL when cap == 0) and sets *n_out to the total the text produces:
 * when *n_out > cap nothing is lost, the caller calls again with a larger buffer.
 * Fails (CTCD_E_INVALID) on invalid UTF-8, naming the byte offset. */
ctcd_status ctcd_tokenizer_tokenize(ctcd_tokenizer *t, const char *text, size_t len,
                                    int32_t *ids, size_t cap, size_t *n_out);

/* Result of ctcd_tokenizer_encode. */
typedef struct ctcd_encoding {
    int len;      /* tokens written to ids/types, specials included (<= max_len) */
    int len_a;    /* tokens of A kept (specials excluded) */
    int len_b;    /* tokens of B kept (0 for a single text) */
    int removed;  /* tokens dropped by truncation (0 when everything fit) */
} ctcd_encoding;

/* Encodes [CLS] A [SEP] (b == NULL) or [CLS] A [SEP] B [SEP] into ids/types, which must
 * hold max_len entries. max_len >= 3 (below that HF itself refuses to truncate).
 * Truncation is HF's "longest_first" with truncation_side="right": while too long, drop
 * the last token of A if A is strictly longer than B, otherwise the last token of B (so on
 * a tie B loses a token); a single text just keeps its first max_len-2 tokens.
 * Errors name "first text"/"second text" and the byte offset of invalid UTF-8. */
ctcd_status ctcd_tokenizer_encode(ctcd_tokenizer *t, const char *a, size_t a_len,
                                  const char *b, size_t b_len, int max_len, int32_t *ids,
                                  int32_t *types, ctcd_encoding *enc);

/* Joins the tokens of ids[n] like HF's convert_tokens_to_string: tokens separated by one
 * space, "##" continuations glued to the previous token, special tokens kept. Writes at
 * most cap-1 bytes plus a NUL (when cap > 0) and returns the full length (snprintf
 * semantics). Ids out of range are written as [UNK], as HF does. */
size_t ctcd_tokenizer_decode(const ctcd_tokenizer *t, const int32_t *ids, size_t n, char *buf,
                             size_t cap);

#ifdef __cplusplus
}
#endif
#endif
