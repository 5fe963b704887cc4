/* test_tokenizer.c — the BERT uncased WordPiece tokenizer (include/ctcd/tokenizer.h).
 *
 * Expected outputs are written as WordPiece *tokens* (by hand, from HF BertTokenizer's
 * algorithm); the test looks their ids up in the real bert-base-uncased vocabulary, so
 * a case checks both the token strings and the ids. Tests that need the vocabulary skip
 * when the shared data directory is absent; vocabulary-format tests write tiny vocabularies
 * of their own.
 *
 * Still to do elsewhere: byte-exact equality with HF over whole GLUE dev sets needs a
 * machine with `transformers` (none here). scripts/check_tokenizer_hf.py dumps HF's ids
 * for a TSV and `tokenize_bench --dump` prints ctcd's in the same format, so the two can be
 * diffed there. (During development the dumps were compared with a line-by-line Python
 * transcription of HF's slow tokenizer, using Python's own unicodedata and str.lower, over
 * every shared GLUE file and 50k fuzzed lines, and were identical; that is evidence, not
 * the check against HF itself.) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctcd/tokenizer.h"
#include "testutil.h"

#define MAXTOK 512

/* The real vocabulary, or skips the test. */
static ctcd_tokenizer *real_vocab(void) {
    const char *dir = ctcd_test_data_dir();
    if (!dir) cr_skip_test("no shared data dir (../shared/data or $CTCD_DATA_DIR): vocab needed");
    char path[4096];
    snprintf(path, sizeof path, "%s/vocab/bert-base-uncased-vocab.txt", dir);
    ctcd_tokenizer *t = NULL;
    ctcd_status st = ctcd_tokenizer_load(path, &t);
    cr_assert_null(st, "loading %s: %s", path, ctcd_status_message(st));
    return t;
}

/* Writes text to a temporary vocab.txt, loads it (tokenizer in *out) and removes the file
 * again; path receives the file's name, which error messages contain. */
static ctcd_status load_text_vocab(const char *text, ctcd_tokenizer **out, char *path, size_t cap) {
    char *dir = ctcd_test_tmpdir();
    cr_assert_not_null(dir, "cannot create a temp dir");
    snprintf(path, cap, "%s/vocab.txt", dir);
    free(dir);
    cr_assert_eq(ctcd_test_write_file(path, text), 0, "cannot write %s", path);
    ctcd_status st = ctcd_tokenizer_load(path, out);
    unlink(path);
    *strrchr(path, '/') = '\0';
    rmdir(path);
    snprintf(path + strlen(path), cap - strlen(path), "/vocab.txt"); /* for the caller's messages */
    return st;
}

/* Decoded token list "a ##b c" of ids (tokens separated by spaces, ## kept). */
static void tokens_str(const ctcd_tokenizer *t, const int32_t *ids, size_t n, char *buf, size_t cap) {
    size_t pos = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && pos < cap; i++) {
        const char *s = ctcd_tokenizer_token(t, ids[i]);
        pos += (size_t)snprintf(buf + pos, cap - pos, "%s%s", i ? " " : "", s ? s : "<bad id>");
    }
}

/* Tokenises text and checks it gives exactly the space-separated tokens of expected. */
static void expect_tokens(ctcd_tokenizer *t, const char *text, size_t len, const char *expected) {
    int32_t want[MAXTOK], got[MAXTOK];
    size_t nwant = 0, ngot = 0;
    char exp[4096];
    snprintf(exp, sizeof exp, "%s", expected);
    for (char *save = NULL, *tok = strtok_r(exp, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        want[nwant] = ctcd_tokenizer_id(t, tok);
        cr_assert_geq(want[nwant], 0, "expected token '%s' is not in the vocabulary", tok);
        nwant++;
    }
    ctcd_status st = ctcd_tokenizer_tokenize(t, text, len, got, MAXTOK, &ngot);
    cr_assert_null(st, "tokenizing \"%s\": %s", text, ctcd_status_message(st));
    char gs[4096];
    tokens_str(t, got, ngot < MAXTOK ? ngot : MAXTOK, gs, sizeof gs);
    cr_assert_eq(ngot, nwant, "\"%s\": expected %zu tokens [%s], got %zu [%s]", text, nwant,
                 expected, ngot, gs);
    for (size_t i = 0; i < nwant; i++)
        cr_assert_eq(got[i], want[i], "\"%s\": token %zu differs: expected [%s], got [%s]", text,
                     i, expected, gs);
}
#define EXPECT(t, text, expected) expect_tokens((t), (text), sizeof(text) - 1, (expected))

Test(tokenizer, special_ids_and_size_match_bert_base_uncased) {
    ctcd_tokenizer *t = real_vocab();
    ctcd_special_ids s = ctcd_tokenizer_special(t);
    cr_assert_eq(ctcd_tokenizer_vocab_size(t), 30522, "vocab size %d", ctcd_tokenizer_vocab_size(t));
    cr_assert(s.pad == 0 && s.unk == 100 && s.cls == 101 && s.sep == 102 && s.mask == 103,
              "special ids pad %d unk %d cls %d sep %d mask %d, expected 0 100 101 102 103",
              s.pad, s.unk, s.cls, s.sep, s.mask);
    cr_assert_str_eq(ctcd_tokenizer_token(t, 101), "[CLS]");
    cr_assert_str_eq(ctcd_tokenizer_token(t, 30521), "##～", "last vocab entry");
    cr_assert_null(ctcd_tokenizer_token(t, -1), "id -1 must have no token");
    cr_assert_null(ctcd_tokenizer_token(t, 30522), "id 30522 must have no token");
    ctcd_tokenizer_free(t);
}

Test(tokenizer, every_token_looks_up_to_its_own_id) {
    ctcd_tokenizer *t = real_vocab();
    for (int32_t id = 0; id < ctcd_tokenizer_vocab_size(t); id++) {
        const char *s = ctcd_tokenizer_token(t, id);
        cr_assert_eq(ctcd_tokenizer_id(t, s), id, "token '%s' looked up to %d, expected %d", s,
                     ctcd_tokenizer_id(t, s), id);
    }
    cr_assert_eq(ctcd_tokenizer_id(t, "definitelynotatoken"), -1, "absent token must give -1");
    ctcd_tokenizer_free(t);
}

Test(tokenizer, lower_cases_and_splits_punctuation) {
    ctcd_tokenizer *t = real_vocab();
    EXPECT(t, "Hello, World!", "hello , world !");
    EXPECT(t, "don't", "don ' t");
    EXPECT(t, "U.S.", "u . s .");
    EXPECT(t, "x^y+z", "x ^ y + z");            /* ASCII symbols count as punctuation */
    EXPECT(t, "«hi»—there", "« hi » — there");  /* Unicode P* categories */
    EXPECT(t, "\"quoted\" text", "\" quoted \" text");
    EXPECT(t, "it's 5€", "it ' s 5 ##€");       /* € is Sc, not punctuation */
    ctcd_tokenizer_free(t);
}

Test(tokenizer, strips_accents_after_lower_casing) {
    ctcd_tokenizer *t = real_vocab();
    EXPECT(t, "Café naïve", "cafe naive");
    EXPECT(t, "Ça va?", "ca va ?");
    EXPECT(t, "\xC4\xB0stanbul", "istanbul");     /* U+0130 lowers to i + U+0307 (stripped) */
    EXPECT(t, "\xE2\x84\xAA" "elvin", "kelvin");     /* KELVIN SIGN lowers to k */
    EXPECT(t, "\xED\x95\x9C", "ᄒ ##ᅡ ##ᆫ");      /* Hangul syllable → NFD jamo */
    ctcd_tokenizer_free(t);
}

Test(tokenizer, lower_cases_character_by_character_so_no_final_sigma) {
    /* HF lower-cases each character on its own before the basic tokenizer, so a capital
     * sigma at the end of a word becomes σ, not ς; a written ς stays ς. */
    ctcd_tokenizer *t = real_vocab();
    EXPECT(t, "ΟΔΟΣ", "ο ##δ ##ο ##σ");
    EXPECT(t, "οδος", "ο ##δ ##ος");
    ctcd_tokenizer_free(t);
}

Test(tokenizer, spaces_cjk_ideographs) {
    ctcd_tokenizer *t = real_vocab();
    EXPECT(t, "a中国b", "a 中 国 b");
    EXPECT(t, "ah博推zz", "ah 博 [UNK] z ##z"); /* 推 is not in this vocabulary */
    ctcd_tokenizer_free(t);
}

Test(tokenizer, drops_control_characters_and_normalises_whitespace) {
    ctcd_tokenizer *t = real_vocab();
    EXPECT(t, "he\0l\001lo\177", "hello");           /* NUL, C0 and DEL vanish inside words */
    EXPECT(t, "\xE2\x80\x8Bhel\xC2\xADlo", "hello");  /* ZWSP and soft hyphen are Cf */
    EXPECT(t, "hel\xEF\xBF\xBDlo", "hello");          /* U+FFFD is dropped */
    EXPECT(t, " \t hello\xC2\xA0world\xE3\x80\x80" "again \r\n", "hello world again");
    EXPECT(t, "a\xE2\x80\xA8" "b", "a b");            /* U+2028 splits like Python's split() */
    EXPECT(t, "", "");
    EXPECT(t, " \t\r\n ", "");
    ctcd_tokenizer_free(t);
}

Test(tokenizer, continuation_pieces_use_double_hash) {
    ctcd_tokenizer *t = real_vocab();
    EXPECT(t, "Here is the sentence I want embeddings for.",
           "here is the sentence i want em ##bed ##ding ##s for .");
    EXPECT(t, "tokenization", "token ##ization");
    /* bert-base-uncased has no "##aff": greedy matching takes the longest prefix "una". */
    EXPECT(t, "unaffable", "una ##ffa ##ble");
    ctcd_tokenizer_free(t);
}

Test(tokenizer, unknown_characters_make_the_whole_word_unk) {
    ctcd_tokenizer *t = real_vocab();
    EXPECT(t, "\xF0\x9F\x98\x80", "[UNK]");                 /* emoji */
    EXPECT(t, "abc\xF0\x9F\x98\x80 ok", "[UNK] ok");        /* no partial pieces kept */
    EXPECT(t, "\xF0\x9F\x98\x80.", "[UNK] .");              /* punctuation still splits off */
    EXPECT(t, "\xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBC\xA3", "[UNK]"); /* fullwidth ABC */
    ctcd_tokenizer_free(t);
}

Test(tokenizer, words_over_100_characters_are_unk) {
    ctcd_tokenizer *t = real_vocab();
    char w100[101], w101[102], exp[1024];
    memset(w100, 'a', 100);
    w100[100] = '\0';
    memset(w101, 'a', 101);
    w101[101] = '\0';
    /* Exactly 100 is still split: the vocabulary has "aaa" and "##aa" but no "aaaa" or
     * "##aaa", so greedy matching gives aaa + 48 x ##aa + ##a. */
    size_t pos = (size_t)snprintf(exp, sizeof exp, "aaa");
    for (int i = 0; i < 48; i++) pos += (size_t)snprintf(exp + pos, sizeof exp - pos, " ##aa");
    snprintf(exp + pos, sizeof exp - pos, " ##a");
    expect_tokens(t, w100, 100, exp);
    expect_tokens(t, w101, 101, "[UNK]");
    ctcd_tokenizer_free(t);
}

Test(tokenizer, special_tokens_in_text_are_kept) {
    ctcd_tokenizer *t = real_vocab();
    EXPECT(t, "hello [SEP] world", "hello [SEP] world");
    EXPECT(t, "x[MASK]y", "x [MASK] y");
    EXPECT(t, "[sep]", "[ sep ]"); /* case-sensitive, like HF's added-token trie */
    ctcd_tokenizer_free(t);
}

Test(tokenizer, invalid_utf8_is_an_error_naming_the_byte) {
    ctcd_tokenizer *t = real_vocab();
    int32_t ids[8];
    size_t n;
    ctcd_status st = ctcd_tokenizer_tokenize(t, "ab\xC3", 3, ids, 8, &n);
    cr_assert_not_null(st, "truncated UTF-8 sequence must fail");
    cr_assert_eq(ctcd_status_code(st), CTCD_E_INVALID, "code %s", ctcd_code_name(ctcd_status_code(st)));
    cr_assert(strstr(ctcd_status_message(st), "byte 2"), "message '%s' should name byte 2",
              ctcd_status_message(st));
    ctcd_status_free(st);
    st = ctcd_tokenizer_tokenize(t, "\xED\xA0\x80", 3, ids, 8, &n); /* a surrogate */
    cr_assert_not_null(st, "UTF-8 encoded surrogate must fail");
    ctcd_status_free(st);
    ctcd_tokenizer_free(t);
}

Test(tokenizer, tokenize_reports_the_full_count_when_the_buffer_is_short) {
    ctcd_tokenizer *t = real_vocab();
    int32_t ids[2] = {-7, -7};
    size_t n = 0;
    ctcd_status st = ctcd_tokenizer_tokenize(t, "one two three", 13, ids, 1, &n);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_eq(n, 3, "total count %zu, expected 3", n);
    cr_assert_eq(ids[0], ctcd_tokenizer_id(t, "one"), "first id %d", ids[0]);
    cr_assert_eq(ids[1], -7, "wrote past cap: ids[1] = %d", ids[1]);
    ctcd_tokenizer_free(t);
}

/* Encodes and compares against expected tokens and the position where types switch to 1. */
static void expect_encoding(ctcd_tokenizer *t, const char *a, const char *b, int max_len,
                            const char *expected, int first_type1, int removed) {
    int32_t ids[MAXTOK], types[MAXTOK], want[MAXTOK];
    ctcd_encoding enc;
    ctcd_status st = ctcd_tokenizer_encode(t, a, strlen(a), b, b ? strlen(b) : 0, max_len, ids,
                                           types, &enc);
    cr_assert_null(st, "encode: %s", ctcd_status_message(st));
    char exp[1024], gs[4096];
    snprintf(exp, sizeof exp, "%s", expected);
    int nwant = 0;
    for (char *save = NULL, *tok = strtok_r(exp, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        want[nwant++] = ctcd_tokenizer_id(t, tok);
    tokens_str(t, ids, (size_t)enc.len, gs, sizeof gs);
    cr_assert_eq(enc.len, nwant, "(%s | %s, max_len %d): expected [%s], got [%s]", a,
                 b ? b : "-", max_len, expected, gs);
    for (int i = 0; i < nwant; i++) {
        cr_assert_eq(ids[i], want[i], "(%s | %s): expected [%s], got [%s]", a, b ? b : "-", expected, gs);
        cr_assert_eq(types[i], i >= first_type1 ? 1 : 0, "type of position %d is %d in [%s]", i,
                     types[i], gs);
    }
    cr_assert_eq(enc.removed, removed, "removed %d tokens, expected %d", enc.removed, removed);
    cr_assert_eq(enc.len_a + enc.len_b + (b ? 3 : 2), enc.len, "len_a %d + len_b %d vs len %d",
                 enc.len_a, enc.len_b, enc.len);
}

Test(tokenizer, encodes_single_and_pair_with_token_types) {
    ctcd_tokenizer *t = real_vocab();
    expect_encoding(t, "Hello world", NULL, 128, "[CLS] hello world [SEP]", 99, 0);
    expect_encoding(t, "Hello world", "Good morning", 128,
                    "[CLS] hello world [SEP] good morning [SEP]", 4, 0);
    expect_encoding(t, "", "", 8, "[CLS] [SEP] [SEP]", 2, 0);
    ctcd_tokenizer_free(t);
}

Test(tokenizer, longest_first_truncation_takes_from_the_longer_side_and_b_on_ties) {
    ctcd_tokenizer *t = real_vocab();
    /* 5 + 3 tokens into 8 - 3 = 5: A 5→4→3, then the tie 3/3 takes from B. */
    expect_encoding(t, "a b c d e", "f g h", 8, "[CLS] a b c [SEP] f g [SEP]", 5, 3);
    /* B longer: B loses tokens until 2/2. */
    expect_encoding(t, "a b", "c d e f g h", 7, "[CLS] a b [SEP] c d [SEP]", 4, 4);
    /* Single text keeps its first max_len - 2 tokens. */
    expect_encoding(t, "a b c d e", NULL, 4, "[CLS] a b [SEP]", 99, 3);
    /* The smallest allowed max_len empties both texts of a pair. */
    expect_encoding(t, "a b", "c", 3, "[CLS] [SEP] [SEP]", 2, 3);
    ctcd_tokenizer_free(t);
}

Test(tokenizer, encode_rejects_max_len_below_three) {
    ctcd_tokenizer *t = real_vocab();
    int32_t ids[4], types[4];
    ctcd_encoding enc;
    ctcd_status st = ctcd_tokenizer_encode(t, "a", 1, NULL, 0, 2, ids, types, &enc);
    cr_assert_not_null(st, "max_len 2 must be rejected");
    cr_assert(strstr(ctcd_status_message(st), "max_len 2"), "message: %s", ctcd_status_message(st));
    ctcd_status_free(st);
    st = ctcd_tokenizer_encode(t, "a", 1, "b\xFF", 2, 16, ids, types, &enc);
    cr_assert_not_null(st, "invalid UTF-8 in the second text must fail");
    cr_assert(strstr(ctcd_status_message(st), "second text"), "message: %s", ctcd_status_message(st));
    ctcd_status_free(st);
    ctcd_tokenizer_free(t);
}

Test(tokenizer, decode_glues_continuations_like_convert_tokens_to_string) {
    ctcd_tokenizer *t = real_vocab();
    int32_t ids[6] = {101, ctcd_tokenizer_id(t, "em"), ctcd_tokenizer_id(t, "##bed"),
                      ctcd_tokenizer_id(t, "##ding"), ctcd_tokenizer_id(t, "##s"), 102};
    char buf[64];
    size_t n = ctcd_tokenizer_decode(t, ids, 6, buf, sizeof buf);
    cr_assert_str_eq(buf, "[CLS] embeddings [SEP]");
    cr_assert_eq(n, strlen("[CLS] embeddings [SEP]"), "returned length %zu", n);
    char small[8];
    n = ctcd_tokenizer_decode(t, ids, 6, small, sizeof small);
    cr_assert_str_eq(small, "[CLS] e", "truncated output");
    cr_assert_eq(n, strlen("[CLS] embeddings [SEP]"), "full length must be returned, got %zu", n);
    ctcd_tokenizer_free(t);
}

/* ---- tiny hand-written vocabularies (no data needed) ---- */

#define SPECIALS "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"

Test(tokenizer_vocab, hf_docstring_vocab_gives_hf_wordpieces) {
    char path[4096];
    ctcd_tokenizer *t = NULL;
    ctcd_status st = load_text_vocab(SPECIALS "want\n##want\n##ed\nwa\nun\nrunn\n##ing\n,\nlow\n"
                                              "lowest\n##aff\n##able\n",
                                     &t, path, sizeof path);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    EXPECT(t, "unwanted running", "un ##want ##ed runn ##ing");
    EXPECT(t, "unwantedX running", "[UNK] runn ##ing");
    EXPECT(t, "unaffable", "un ##aff ##able");
    ctcd_tokenizer_free(t);
}

Test(tokenizer_vocab, crlf_line_ends_are_not_part_of_tokens) {
    char path[4096];
    ctcd_tokenizer *t = NULL;
    ctcd_status st = load_text_vocab("[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\nhi\r\n", &t, path,
                                     sizeof path);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_eq(ctcd_tokenizer_id(t, "hi"), 5, "'hi' id %d, expected 5", ctcd_tokenizer_id(t, "hi"));
    cr_assert_eq(ctcd_tokenizer_vocab_size(t), 6, "size %d", ctcd_tokenizer_vocab_size(t));
    ctcd_tokenizer_free(t);
}

/* Loads a bad vocabulary and checks the error names "<path>:<suffix>". */
static void expect_vocab_error(const char *text, const char *suffix) {
    char path[4096], want[4200];
    ctcd_tokenizer *t = NULL;
    ctcd_status st = load_text_vocab(text, &t, path, sizeof path);
    cr_assert_not_null(st, "loading should fail with '%s'", suffix);
    cr_assert_null(t, "no tokenizer on error");
    snprintf(want, sizeof want, "%s%s", path, suffix);
    cr_assert(strstr(ctcd_status_message(st), want), "message '%s' should contain '%s'",
              ctcd_status_message(st), want);
    ctcd_status_free(st);
}

Test(tokenizer_vocab, duplicate_token_names_both_lines) {
    expect_vocab_error(SPECIALS "hello\nworld\nhello\n", ":8: duplicate token 'hello' (first on line 6)");
}

Test(tokenizer_vocab, empty_line_is_an_error) {
    expect_vocab_error(SPECIALS "a\n\nb\n", ":7: empty line");
}

Test(tokenizer_vocab, invalid_utf8_is_an_error) {
    expect_vocab_error(SPECIALS "ok\nbad\xC3\n", ":7: invalid UTF-8");
}

Test(tokenizer_vocab, missing_special_token_is_an_error) {
    expect_vocab_error("[PAD]\n[UNK]\n[CLS]\n[SEP]\nword\n", ": the vocabulary has no [MASK] token");
}

Test(tokenizer_vocab, missing_file_is_an_io_error) {
    ctcd_tokenizer *t = NULL;
    ctcd_status st = ctcd_tokenizer_load("/nonexistent/ctcd/vocab.txt", &t);
    cr_assert_not_null(st, "missing file must fail");
    cr_assert_eq(ctcd_status_code(st), CTCD_E_IO, "code %s", ctcd_code_name(ctcd_status_code(st)));
    cr_assert(strstr(ctcd_status_message(st), "/nonexistent/ctcd/vocab.txt"), "message: %s",
              ctcd_status_message(st));
    ctcd_status_free(st);
}
