/* fuzz_tokenizer.c — WordPiece on arbitrary bytes (invalid UTF-8, control characters, huge
 * words): tokenize, then encode as a pair split at the first tab with a varying max_len, and
 * decode what came out. */
#include "ctcd/tokenizer.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_quiet();
    static ctcd_tokenizer *tok;
    if (!tok && ctcd_tokenizer_load(fuzz_vocab(), &tok)) abort();
    const char *text = (const char *)data;
    size_t n = 0;
    int32_t ids[64];
    ctcd_status st = ctcd_tokenizer_tokenize(tok, text, size, ids, 64, &n);
    if (!st) {
        char buf[256];
        ctcd_tokenizer_decode(tok, ids, n < 64 ? n : 64, buf, sizeof buf);
    }
    fuzz_drop(st);
    const char *tab = memchr(text, '\t', size);
    const size_t a_len = tab ? (size_t)(tab - text) : size;
    const char *b = tab ? tab + 1 : NULL;
    const size_t b_len = tab ? size - a_len - 1 : 0;
    const int max_len = 3 + (int)(size % 40);
    int32_t eids[64], types[64];
    ctcd_encoding enc;
    fuzz_drop(ctcd_tokenizer_encode(tok, text, a_len, b, b_len, max_len, eids, types, &enc));
    return 0;
}
