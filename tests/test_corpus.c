/* test_corpus.c — corpus shards (round trip, corruption, source hash) and masked-LM batches
 * (BERT masking statistics, whole words, specials never masked, determinism and resume). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/corpus.h"
#include "ctcd/rng.h"
#include "testutil.h"

static char *in_dir(const char *dir, const char *name) {
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

/* A vocabulary of the specials, 40 words w0..w39 and 10 continuations ##c0..##c9. */
static char *write_vocab(const char *dir) {
    char *path = in_dir(dir, "vocab.txt");
    char text[4096] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    for (int i = 0; i < 40; i++) snprintf(text + strlen(text), 64, "w%d\n", i);
    for (int i = 0; i < 10; i++) snprintf(text + strlen(text), 64, "##c%d\n", i);
    cr_assert_eq(ctcd_test_write_file(path, text), 0);
    return path;
}

static ctcd_tokenizer *load_tok(const char *vocab) {
    ctcd_tokenizer *t = NULL;
    ctcd_status st = ctcd_tokenizer_load(vocab, &t);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    return t;
}

static void build(const char *text_path, ctcd_tokenizer *tok, const char *vocab,
                  const char *shard, int per_line) {
    const char *files[1] = {text_path};
    ctcd_corpus_opts o = {.doc_per_line = per_line};
    uint64_t h;
    cr_assert_null(ctcd_corpus_source_hash(files, 1, vocab, &o, &h));
    ctcd_status st = ctcd_corpus_build(files, 1, tok, h, &o, shard);
    cr_assert_null(st, "%s", ctcd_status_message(st));
}

Test(corpus, shard_round_trip_documents_and_separators) {
    char *dir = ctcd_test_tmpdir(), *vocab = write_vocab(dir), *txt = in_dir(dir, "c.txt");
    char *shard = in_dir(dir, "c.shard");
    /* Two block documents (the first spans two lines), then a third after blank lines. */
    cr_assert_eq(ctcd_test_write_file(txt, "w1 w2\nW3 w4c0\n\n\nw5\n  \nw6 w7\n"), 0);
    ctcd_tokenizer *tok = load_tok(vocab);
    build(txt, tok, vocab, shard, 0);
    ctcd_shard s;
    ctcd_status st = ctcd_shard_open(shard, &s);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    /* ids: w1=6 w2=7 w3=8 (lower-cased), "w4c0" -> w4=9 ##c0=45 (WordPiece); SEP=3 between
     * documents. */
    const uint16_t want[] = {6, 7, 8, 9, 45, 3, 10, 3, 11, 12};
    cr_assert_eq(s.n_tokens, 10, "tokens %lld", (long long)s.n_tokens);
    for (int i = 0; i < 10; i++) cr_assert_eq(s.tokens[i], want[i], "token %d: %u", i, s.tokens[i]);
    cr_assert_eq(s.n_docs, 3);
    cr_assert(s.docs[0] == 0 && s.docs[1] == 6 && s.docs[2] == 8, "doc offsets %llu %llu %llu",
              (unsigned long long)s.docs[0], (unsigned long long)s.docs[1],
              (unsigned long long)s.docs[2]);
    cr_assert_eq(s.vocab_size, 55);
    ctcd_shard_close(&s);
    /* One document per line. */
    build(txt, tok, vocab, shard, 1);
    cr_assert_null(ctcd_shard_open(shard, &s));
    cr_assert_eq(s.n_docs, 4);
    ctcd_shard_close(&s);
    ctcd_tokenizer_free(tok);
    ctcd_test_rmtree(dir);
    free(vocab), free(txt), free(shard), free(dir);
}

static void expect_open_error(const char *path, const char *needle) {
    ctcd_shard s;
    ctcd_status st = ctcd_shard_open(path, &s);
    cr_assert_not_null(st, "corrupt shard accepted (%s)", needle);
    cr_assert_not_null(strstr(ctcd_status_message(st), needle), "message: %s",
                       ctcd_status_message(st));
    cr_assert_not_null(strstr(ctcd_status_message(st), path), "file not named: %s",
                       ctcd_status_message(st));
    ctcd_status_free(st);
}

Test(corpus, corrupt_and_truncated_shards_are_detected) {
    char *dir = ctcd_test_tmpdir(), *vocab = write_vocab(dir), *txt = in_dir(dir, "c.txt");
    char *shard = in_dir(dir, "c.shard");
    cr_assert_eq(ctcd_test_write_file(txt, "w1 w2 w3 w4 w5 w6\n\nw7 w8\n"), 0);
    ctcd_tokenizer *tok = load_tok(vocab);
    build(txt, tok, vocab, shard, 0);
    FILE *f = fopen(shard, "rb");
    static unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char *bad = in_dir(dir, "bad.shard");
    buf[48 + 2] ^= 1; /* a token byte */
    f = fopen(bad, "wb");
    fwrite(buf, 1, n, f);
    fclose(f);
    expect_open_error(bad, "checksum");
    buf[48 + 2] ^= 1;
    f = fopen(bad, "wb");
    fwrite(buf, 1, n - 8, f);
    fclose(f);
    expect_open_error(bad, "truncated");
    f = fopen(bad, "wb");
    fwrite(buf, 1, 20, f);
    fclose(f);
    expect_open_error(bad, "header");
    memcpy(buf, "NOTASHRD", 8);
    f = fopen(bad, "wb");
    fwrite(buf, 1, n, f);
    fclose(f);
    expect_open_error(bad, "magic");
    /* The source hash follows the inputs. */
    const char *files[1] = {txt};
    ctcd_corpus_opts o = {0}, o2 = {.doc_per_line = 1};
    uint64_t h1, h2, h3;
    cr_assert_null(ctcd_corpus_source_hash(files, 1, vocab, &o, &h1));
    cr_assert_null(ctcd_corpus_source_hash(files, 1, vocab, &o2, &h2));
    cr_assert_eq(ctcd_test_write_file(txt, "w1 w2 w3 w4 w5 w6\n\nw7 w8 w9\n"), 0);
    cr_assert_null(ctcd_corpus_source_hash(files, 1, vocab, &o, &h3));
    cr_assert(h1 != h2 && h1 != h3, "source hash ignores options or contents");
    ctcd_tokenizer_free(tok);
    ctcd_test_rmtree(dir);
    free(vocab), free(txt), free(shard), free(bad), free(dir);
}

/* A corpus of random words, some with continuation pieces, in one shard. */
typedef struct mlm_fixture {
    char *dir, *vocab, *shard;
    ctcd_tokenizer *tok;
    ctcd_shard s;
} mlm_fixture;

static void mlm_fixture_make(mlm_fixture *f) {
    f->dir = ctcd_test_tmpdir();
    f->vocab = write_vocab(f->dir);
    f->shard = in_dir(f->dir, "c.shard");
    char *txt = in_dir(f->dir, "c.txt");
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    ctcd_rng r;
    ctcd_rng_init(&r, 3, 0);
    for (int w = 0; w < 20000; w++) {
        /* "w12c3" is not in the vocabulary as a word, but WordPiece splits it w12 ##c3. */
        if (ctcd_rng_below(&r, 4) == 0)
            len += (size_t)snprintf(text + len, cap - len, "w%uc%u ", ctcd_rng_below(&r, 40),
                                    ctcd_rng_below(&r, 10));
        else
            len += (size_t)snprintf(text + len, cap - len, "w%u ", ctcd_rng_below(&r, 40));
        if (w % 97 == 96) len += (size_t)snprintf(text + len, cap - len, "\n\n");
    }
    cr_assert_eq(ctcd_test_write_file(txt, text), 0);
    free(text);
    f->tok = load_tok(f->vocab);
    build(txt, f->tok, f->vocab, f->shard, 0);
    cr_assert_null(ctcd_shard_open(f->shard, &f->s));
    free(txt);
}

static void mlm_fixture_free(mlm_fixture *f) {
    ctcd_shard_close(&f->s);
    ctcd_tokenizer_free(f->tok);
    ctcd_test_rmtree(f->dir);
    free(f->vocab), free(f->shard), free(f->dir);
}

Test(mlm_batch, bert_masking_statistics_and_specials) {
    mlm_fixture f;
    mlm_fixture_make(&f);
    for (int ww = 0; ww <= 1; ww++) {
        ctcd_mlm_config c = {.batch = 16, .max_len = 64, .mask_prob = 0.15f, .whole_word = ww,
                             .seed = 11};
        ctcd_mlm_batcher m;
        ctcd_status st = ctcd_mlm_batcher_init(&m, &f.s, f.tok, &c);
        cr_assert_null(st, "%s", ctcd_status_message(st));
        const ctcd_mlm_batch *b;
        long selected = 0, maskable = 0, as_mask = 0, kept = 0, seqs = 0;
        while (ctcd_mlm_batcher_next(&m, &b)) {
            const int T = b->b.T;
            for (int64_t k = 0; k < b->n_pred; k++) {
                const int row = b->pred_idx[k] / T, t = b->pred_idx[k] % T;
                const int32_t now = b->b.ids[b->pred_idx[k]], orig = b->pred_labels[k];
                cr_assert(t > 0 && b->b.mask[b->pred_idx[k]], "row %d position %d", row, t);
                cr_assert(orig != 0 && orig != 2 && orig != 3 && orig != 4,
                          "a special token (%d) was selected", orig);
                as_mask += now == 4;
                kept += now == orig;
                if (ww && orig >= 45 && t > 1) {
                    /* a selected continuation: its word start is selected too (a chunk that
                     * starts inside a word makes the piece at t == 1 a word of its own) */
                    cr_assert(k > 0 && b->pred_idx[k - 1] == b->pred_idx[k] - 1,
                              "continuation at %d selected without its word start", t);
                }
                const int next_selected = k + 1 < b->n_pred && b->pred_idx[k + 1] == b->pred_idx[k] + 1;
                if (ww && t + 1 < T && !next_selected) {
                    /* the word ends here: an unselected next token keeps its original id and
                     * must not be a continuation of this word */
                    cr_assert(b->b.ids[b->pred_idx[k] + 1] < 45,
                              "word at %d selected without its continuation", t);
                }
            }
            for (int i = 0; i < b->b.B; i++) {
                int n = 0;
                for (int t = 1; t < T; t++) {
                    const int32_t id = b->b.ids[i * T + t];
                    n += b->b.mask[i * T + t] && id != 3;
                }
                maskable += n;
                seqs++;
            }
            selected += b->n_pred;
        }
        const double rate = (double)selected / (double)maskable;
        fprintf(stderr, "whole_word %d: %ld sequences, selected %.4f, [MASK] %.3f, kept %.3f\n",
                ww, seqs, rate, (double)as_mask / selected, (double)kept / selected);
        cr_assert(fabs(rate - 0.15) < 0.01, "selection rate %.4f", rate);
        cr_assert(fabs((double)as_mask / selected - 0.8) < 0.03, "[MASK] share");
        /* kept = the 10% "keep" draws plus random draws that hit the original (1/55). */
        cr_assert(fabs((double)kept / selected - (0.1 + 0.1 / 55)) < 0.03, "kept share");
        ctcd_mlm_batcher_free(&m);
    }
    mlm_fixture_free(&f);
}

Test(mlm_batch, deterministic_and_resumable_from_a_cursor) {
    mlm_fixture f;
    mlm_fixture_make(&f);
    ctcd_mlm_config c = {.batch = 8, .max_len = 32, .mask_prob = 0.15f, .whole_word = 1,
                         .seed = 5};
    ctcd_mlm_batcher a, b;
    cr_assert_null(ctcd_mlm_batcher_init(&a, &f.s, f.tok, &c));
    cr_assert_null(ctcd_mlm_batcher_init(&b, &f.s, f.tok, &c));
    const ctcd_mlm_batch *x, *y;
    while (ctcd_mlm_batcher_next(&a, &x)) {
    }
    for (int i = 0; i < 3; i++) cr_assert(ctcd_mlm_batcher_next(&a, &x));
    cr_assert_null(ctcd_mlm_batcher_seek(&b, (ctcd_batcher_cursor){1, 2}));
    cr_assert(ctcd_mlm_batcher_next(&b, &y));
    cr_assert_eq(x->b.B, y->b.B);
    cr_assert_eq(x->b.T, y->b.T);
    cr_assert_eq(x->n_pred, y->n_pred);
    cr_assert_eq(memcmp(x->b.ids, y->b.ids, (size_t)x->b.B * x->b.T * 4), 0, "ids differ");
    cr_assert_eq(memcmp(x->pred_idx, y->pred_idx, (size_t)x->n_pred * 4), 0);
    cr_assert_eq(memcmp(x->pred_labels, y->pred_labels, (size_t)x->n_pred * 4), 0);
    /* Another epoch has another order. */
    cr_assert_null(ctcd_mlm_batcher_seek(&b, (ctcd_batcher_cursor){2, 2}));
    cr_assert(ctcd_mlm_batcher_next(&b, &y));
    cr_assert_neq(memcmp(x->b.ids, y->b.ids, (size_t)x->b.B * x->b.T * 4), 0);
    ctcd_mlm_batcher_free(&a);
    ctcd_mlm_batcher_free(&b);
    mlm_fixture_free(&f);
}

Test(mlm_batch, sentence_pairs_split_at_sentence_ends_with_token_types) {
    char *dir = ctcd_test_tmpdir(), *vocab = in_dir(dir, "vocab.txt"), *txt = in_dir(dir, "c.txt");
    char *shard = in_dir(dir, "c.shard");
    char v[4096] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n.\n";
    for (int i = 0; i < 40; i++) snprintf(v + strlen(v), 64, "w%d\n", i);
    cr_assert_eq(ctcd_test_write_file(vocab, v), 0);
    const int32_t SEP = 3, CLS = 2, DOT = 5;
    size_t cap = 1 << 18, len = 0;
    char *text = malloc(cap);
    ctcd_rng r;
    ctcd_rng_init(&r, 9, 0);
    for (int w = 0; w < 6000; w++) {
        len += (size_t)snprintf(text + len, cap - len, "w%u%s", ctcd_rng_below(&r, 40),
                                ctcd_rng_below(&r, 9) == 0 ? ". " : " ");
        if (w % 301 == 300) len += (size_t)snprintf(text + len, cap - len, "\n\n");
    }
    cr_assert_eq(ctcd_test_write_file(txt, text), 0);
    free(text);
    ctcd_tokenizer *tok = load_tok(vocab);
    build(txt, tok, vocab, shard, 0);
    ctcd_shard s;
    cr_assert_null(ctcd_shard_open(shard, &s));
    for (int pair = 0; pair <= 1; pair++) {
        const int L = 40;
        ctcd_mlm_config c = {.batch = 8, .max_len = L, .mask_prob = 0.15f, .seed = 3,
                             .sentence_pair = pair};
        ctcd_mlm_batcher m;
        cr_assert_null(ctcd_mlm_batcher_init(&m, &s, tok, &c));
        const int chunk = L - 2 - pair;
        cr_assert_eq(m.n_chunks, (s.n_tokens + chunk - 1) / chunk);
        const ctcd_mlm_batch *b;
        long rows = 0, at_dot = 0, dot_possible = 0;
        while (ctcd_mlm_batcher_next(&m, &b)) {
            const int T = b->b.T;
            int32_t *orig = malloc((size_t)b->b.B * T * sizeof *orig);
            memcpy(orig, b->b.ids, (size_t)b->b.B * T * sizeof *orig);
            for (int64_t k = 0; k < b->n_pred; k++) {
                cr_assert_neq(b->pred_labels[k], SEP, "a [SEP] was selected");
                orig[b->pred_idx[k]] = b->pred_labels[k];
            }
            for (int i = 0; i < b->b.B; i++, rows++) {
                const int32_t *ids = orig + i * T, *ty = b->b.types + i * T;
                const int64_t start = b->b.example[i] * chunk;
                const int n = (int)(s.n_tokens - start < chunk ? s.n_tokens - start : chunk);
                cr_assert_eq(ids[0], CLS);
                if (!pair || n < 2) {
                    /* a [SEP] inside the text is a document separator of the stream */
                    for (int t = 0; t < T; t++) cr_assert_eq(ty[t], 0, "types without pairs");
                    continue;
                }
                const int seq = n + 3;
                cr_assert_eq(ids[seq - 1], SEP, "row %ld ends with [SEP]", rows);
                /* segment A ends at the first position whose type switches to 1 */
                int split = -1;
                for (int t = 0; t < T; t++) {
                    if (split < 0 && ty[t] == 1) split = t - 2; /* A = ids[1 .. split] */
                    cr_assert(split < 0 || ty[t] == (t < seq), "row %ld type at %d", rows, t);
                }
                cr_assert(split >= 1 && split <= n - 1, "row %ld: segment A of %d tokens", rows,
                          split);
                cr_assert_eq(ids[1 + split], SEP, "the [SEP] between the segments");
                cr_assert_eq(ty[1 + split], 0, "the first [SEP] belongs to A");
                /* the text is the chunk, in order, around the middle [SEP] */
                for (int k = 0; k < n; k++)
                    cr_assert_eq(ids[k < split ? 1 + k : 2 + k], (int32_t)s.tokens[start + k],
                                 "row %ld text token %d", rows, k);
                int lo = n / 4 < 1 ? 1 : n / 4, hi = n - n / 4 > n - 1 ? n - 1 : n - n / 4;
                cr_assert(split >= lo && split <= hi, "split %d outside [%d, %d]", split, lo, hi);
                int any_dot = 0;
                for (int q = lo; q <= hi; q++) any_dot |= s.tokens[start + q - 1] == DOT;
                dot_possible += any_dot;
                at_dot += s.tokens[start + split - 1] == DOT;
                if (any_dot)
                    cr_assert_eq(s.tokens[start + split - 1], DOT,
                                 "row %ld: a sentence end was available but not used", rows);
            }
            free(orig);
        }
        if (pair) {
            cr_assert_gt(dot_possible, rows / 2, "the corpus has sentence ends");
            cr_assert_eq(at_dot, dot_possible);
        }
        ctcd_mlm_batcher_free(&m);
    }
    ctcd_shard_close(&s);
    ctcd_tokenizer_free(tok);
    ctcd_test_rmtree(dir);
    free(vocab), free(txt), free(shard), free(dir);
}
