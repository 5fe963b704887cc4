/* test_augment.c — data augmentation (include/ctcd/augment.h): the EDA operations, the
 * WordNet reader, masked-LM replacement, the on-disk cache and the trainer wiring.
 *
 * EDA mechanics use a small dictionary written here (so they run anywhere); WordNet tests
 * skip with a message when the database is not installed (Debian package `wordnet`).
 * Masked-LM tests use a tiny random BertForMaskedLM saved by the test with a vocabulary
 * made of the MNLI fixture's words: they check mechanics (in-vocabulary replacements, whole
 * words, the replacement rate, determinism), not the quality of the candidates. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctcd/augment.h"
#include "ctcd/backend_create.h"
#include "ctcd/checkpoint.h"
#include "ctcd/fileio.h"
#include "ctcd/log.h"
#include "testutil.h"
#include "trainer_fixture.h"

#define MNLI_FIXTURE CTCD_SOURCE_DIR "/tests/fixtures/glue/MNLI"

/* ---- helpers ---- */

/* The test dictionary: every word has the synonyms "<word>alt" and "<word>other" — stop
 * words too, so that only EDA's own filtering keeps them unchanged. */
static ctcd_status dict_source(void *ctx, const char *word, ctcd_strlist *out) {
    (void)ctx;
    char buf[160];
    snprintf(buf, sizeof buf, "%salt", word);
    CTCD_TRY(ctcd_strlist_push(out, buf, strlen(buf)));
    snprintf(buf, sizeof buf, "%sother", word);
    return ctcd_strlist_push(out, buf, strlen(buf));
}

/* Splits s on spaces into words[] (pointers into s, which is modified). */
static int split_words(char *s, char **words, int cap) {
    int n = 0;
    for (char *tok = strtok(s, " "); tok && n < cap; tok = strtok(NULL, " ")) words[n++] = tok;
    return n;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void eda(ctcd_eda_op op, float strength, const char *text, uint64_t seed,
                ctcd_strbuf *out, ctcd_eda_stats *stats) {
    ctcd_rng rng;
    ctcd_rng_init(&rng, seed, 0);
    ctcd_status st = ctcd_eda_apply(op, strength, text, strlen(text), dict_source, NULL, &rng,
                                    out, stats);
    cr_assert_null(st, "%s", ctcd_status_message(st));
}

static const char *k_text =
    "the keeper painted a blue door and the council postponed every vote on the new bridge "
    "while visitors rent old bicycles near the quiet harbour";

/* ---- EDA ---- */

Test(eda, operations_are_deterministic_for_a_seed) {
    ctcd_strbuf a = {0}, b = {0}, c = {0};
    for (int op = 0; op < CTCD_EDA_N_OPS; op++) {
        eda((ctcd_eda_op)op, 0.3f, k_text, 11, &a, NULL);
        eda((ctcd_eda_op)op, 0.3f, k_text, 11, &b, NULL);
        cr_assert_str_eq(a.p, b.p, "op %d differs between two runs with seed 11", op);
        int differ = 0;
        for (uint64_t s = 12; s < 20 && !differ; s++) {
            eda((ctcd_eda_op)op, 0.3f, k_text, s, &c, NULL);
            differ = strcmp(a.p, c.p) != 0;
        }
        cr_assert(differ, "op %d gives the same text for 9 different seeds", op);
    }
    ctcd_strbuf_free(&a);
    ctcd_strbuf_free(&b);
    ctcd_strbuf_free(&c);
}

Test(eda, synonym_replacement_changes_n_words_and_never_stop_words) {
    ctcd_strbuf out = {0};
    char in_copy[512], out_copy[512], *in_w[64], *out_w[64];
    for (uint64_t seed = 1; seed <= 20; seed++) {
        ctcd_eda_stats st;
        eda(CTCD_EDA_SR, 0.2f, k_text, seed, &out, &st);
        snprintf(in_copy, sizeof in_copy, "%s", k_text);
        snprintf(out_copy, sizeof out_copy, "%s", out.p);
        const int n = split_words(in_copy, in_w, 64), m = split_words(out_copy, out_w, 64);
        cr_assert_eq(n, 25, "fixture text has %d words", n);
        cr_assert_eq(m, n, "SR changed the word count: %d -> %d", n, m);
        const int want = 5; /* round(0.2 * 25) */
        cr_assert_eq(st.n_target, want, "n = max(1, round(alpha*words)) = %d, got %d", want,
                     st.n_target);
        int changed = 0;
        for (int i = 0; i < n; i++) {
            if (strcmp(in_w[i], out_w[i]) == 0) continue;
            changed++;
            cr_assert(!ctcd_is_stop_word(in_w[i]), "seed %llu: stop word '%s' replaced by '%s'",
                      (unsigned long long)seed, in_w[i], out_w[i]);
            cr_assert(strncmp(out_w[i], in_w[i], strlen(in_w[i])) == 0 &&
                          (ends_with(out_w[i], "alt") || ends_with(out_w[i], "other")),
                      "'%s' replaced by '%s', not one of its synonyms", in_w[i], out_w[i]);
        }
        cr_assert_eq(changed, want, "seed %llu: %d words changed, alpha asks for %d",
                     (unsigned long long)seed, changed, want);
        cr_assert_eq(st.n_changed, want);
    }
    ctcd_strbuf_free(&out);
}

Test(eda, synonym_replacement_keeps_punctuation_and_skips_non_words) {
    ctcd_strbuf out = {0};
    ctcd_eda_stats st;
    eda(CTCD_EDA_SR, 1.0f, "(door), the 42 x-ray", 3, &out, &st);
    /* Only "door" is a candidate: "the" is a stop word, "42" and "x-ray" are not letters. */
    cr_assert_eq(st.n_changed, 1, "changed %d (out: %s)", st.n_changed, out.p);
    cr_assert(strcmp(out.p, "(dooralt), the 42 x-ray") == 0 ||
                  strcmp(out.p, "(doorother), the 42 x-ray") == 0,
              "punctuation around the replaced core: got '%s'", out.p);
    ctcd_strbuf_free(&out);
}

Test(eda, insertion_adds_n_synonyms_of_non_stop_words) {
    ctcd_strbuf out = {0};
    char in_copy[512], out_copy[1024], *in_w[64], *out_w[128];
    for (uint64_t seed = 1; seed <= 10; seed++) {
        ctcd_eda_stats st;
        eda(CTCD_EDA_RI, 0.25f, k_text, seed, &out, &st);
        snprintf(in_copy, sizeof in_copy, "%s", k_text);
        snprintf(out_copy, sizeof out_copy, "%s", out.p);
        const int n = split_words(in_copy, in_w, 64), m = split_words(out_copy, out_w, 128);
        cr_assert_eq(m, n + 6, "RI with alpha 0.25 on %d words: %d words out (want %d)", n, m,
                     n + 6);
        /* The original words are still there in order; the others are inserted synonyms. */
        int i = 0, inserted = 0;
        for (int k = 0; k < m; k++) {
            if (i < n && strcmp(out_w[k], in_w[i]) == 0) {
                i++;
                continue;
            }
            inserted++;
            char base[64];
            snprintf(base, sizeof base, "%s", out_w[k]);
            char *suf = ends_with(base, "alt") ? base + strlen(base) - 3
                        : ends_with(base, "other") ? base + strlen(base) - 5 : NULL;
            cr_assert_not_null(suf, "inserted word '%s' is not a synonym", out_w[k]);
            *suf = '\0';
            cr_assert(!ctcd_is_stop_word(base), "inserted a synonym of stop word '%s'", base);
        }
        cr_assert(i == n && inserted == 6, "original order broken or %d insertions", inserted);
    }
    ctcd_strbuf_free(&out);
}

Test(eda, swap_keeps_the_words_and_deletion_rate_is_p) {
    ctcd_strbuf out = {0};
    ctcd_eda_stats st;
    eda(CTCD_EDA_RS, 0.1f, k_text, 5, &out, &st);
    cr_assert_eq(st.n_changed, 3, "RS with alpha 0.1 on 25 words: %d swaps (round(2.5) = 3)",
                 st.n_changed);
    char a[512], b[512], *wa[64], *wb[64];
    snprintf(a, sizeof a, "%s", k_text);
    snprintf(b, sizeof b, "%s", out.p);
    int n = split_words(a, wa, 64), m = split_words(b, wb, 64), moved = 0;
    cr_assert_eq(n, m);
    for (int i = 0; i < n; i++) moved += strcmp(wa[i], wb[i]) != 0;
    cr_assert(moved > 0 && moved <= 6, "3 swaps moved %d words", moved);
    qsort(wa, (size_t)n, sizeof *wa, cmp_str);
    qsort(wb, (size_t)n, sizeof *wb, cmp_str);
    for (int i = 0; i < n; i++) cr_assert_str_eq(wa[i], wb[i], "RS changed the words");
    ctcd_strbuf_free(&out);

    /* RD: 2000 words, p = 0.3: deletions ~ Binomial(2000, 0.3), sd 20.5; 5 sd tolerance. */
    ctcd_strbuf big = {0};
    for (int i = 0; i < 2000; i++) cr_assert_null(ctcd_strbuf_append(&big, "word ", 5));
    eda(CTCD_EDA_RD, 0.3f, big.p, 9, &out, &st);
    cr_assert(fabs(st.n_changed - 600.0) < 5 * 20.5, "RD deleted %d of 2000 at p=0.3",
              st.n_changed);
    eda(CTCD_EDA_RD, 1.0f, big.p, 9, &out, &st);
    cr_assert_str_eq(out.p, "word", "p = 1 must keep one word, got %zu bytes", out.n);
    eda(CTCD_EDA_RD, 0.9f, "alone", 9, &out, &st);
    cr_assert_str_eq(out.p, "alone", "a one-word text is never deleted");
    ctcd_strbuf_free(&big);
    ctcd_strbuf_free(&out);
}

Test(eda, copies_cycle_through_the_enabled_operations) {
    ctcd_eda_config c = {.num_aug = 8, .strength = {0.1f, 0.0f, 0.1f, 0.1f}};
    int count[CTCD_EDA_N_OPS] = {0};
    for (int k = 0; k < 6; k++) count[ctcd_eda_op_of_copy(&c, 7, k)]++;
    cr_assert(count[CTCD_EDA_SR] == 2 && count[CTCD_EDA_RI] == 0 && count[CTCD_EDA_RS] == 2 &&
                  count[CTCD_EDA_RD] == 2,
              "ops of 6 copies: SR %d RI %d RS %d RD %d", count[0], count[1], count[2], count[3]);
    ctcd_eda_config off = {.num_aug = 8};
    cr_assert_eq(ctcd_eda_op_of_copy(&off, 0, 0), -1, "no operation enabled");
}

/* ---- WordNet ---- */

static const char *wordnet_dir_or_skip(void) {
    const char *env = getenv("WNSEARCHDIR");
    const char *dir = env && env[0] ? env : CTCD_WORDNET_DEFAULT_DIR;
    char p[4096];
    snprintf(p, sizeof p, "%s/index.noun", dir);
    if (access(p, R_OK) != 0)
        cr_skip_test("WordNet database not installed (%s missing): install the Debian package "
                     "'wordnet' (scripts/deps.sh) to run this test", p);
    return dir;
}

Test(wordnet, finds_known_synonyms) {
    const char *dir = wordnet_dir_or_skip();
    ctcd_wordnet *wn = NULL;
    ctcd_status st = ctcd_wordnet_open(dir, &wn);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    ctcd_strlist syn = {0};
    cr_assert_null(ctcd_wordnet_synonyms(wn, "happy", &syn));
    cr_assert(ctcd_strlist_contains(&syn, "felicitous") && ctcd_strlist_contains(&syn, "glad"),
              "happy: %d synonyms, felicitous/glad missing", syn.n);
    cr_assert(!ctcd_strlist_contains(&syn, "happy"), "the word itself is not a synonym");
    ctcd_strlist_clear(&syn);
    cr_assert_null(ctcd_wordnet_synonyms(wn, "Car", &syn));
    cr_assert(ctcd_strlist_contains(&syn, "automobile") && ctcd_strlist_contains(&syn, "motorcar"),
              "car: automobile/motorcar missing (%d synonyms)", syn.n);
    cr_assert(ctcd_strlist_contains(&syn, "railway car"), "multi-word lemmas are kept with spaces");
    for (int i = 0; i < syn.n; i++)
        for (const char *c = ctcd_strlist_at(&syn, i); *c; c++)
            cr_assert(*c == ' ' || (*c >= 'a' && *c <= 'z'), "synonym '%s' has '%c'",
                      ctcd_strlist_at(&syn, i), *c);
    /* Inflected forms are reduced like WordNet's morphy: exception lists and suffix rules. */
    static const char *const cases[][2] = {{"children", "kid"}, {"ran", "scat"},
                                           {"dogs", "domestic dog"}, {"walked", "take the air"},
                                           {"happier", "glad"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ctcd_strlist_clear(&syn);
        cr_assert_null(ctcd_wordnet_synonyms(wn, cases[i][0], &syn));
        cr_assert(ctcd_strlist_contains(&syn, cases[i][1]), "%s: '%s' missing (%d synonyms)",
                  cases[i][0], cases[i][1], syn.n);
    }
    ctcd_strlist_clear(&syn);
    cr_assert_null(ctcd_wordnet_synonyms(wn, "secretions", &syn));
    cr_assert(syn.n > 0 && !ctcd_strlist_contains(&syn, "secretion"),
              "a base form of the word is not its synonym");
    ctcd_strlist_clear(&syn);
    cr_assert_null(ctcd_wordnet_synonyms(wn, "qzxwvj", &syn));
    cr_assert_eq(syn.n, 0, "an unknown word has no synonyms");
    ctcd_strlist_free(&syn);
    ctcd_wordnet_free(wn);
}

Test(wordnet, missing_database_names_the_package) {
    ctcd_wordnet *wn = NULL;
    ctcd_status st = ctcd_wordnet_open("/nonexistent/wordnet", &wn);
    cr_assert_not_null(st);
    cr_assert(strstr(ctcd_status_message(st), "/nonexistent/wordnet/index.noun") &&
                  strstr(ctcd_status_message(st), "wordnet"),
              "%s", ctcd_status_message(st));
    ctcd_status_free(st);
    cr_assert_null(wn);
}

Test(wordnet, eda_with_wordnet_replaces_with_real_synonyms) {
    const char *dir = wordnet_dir_or_skip();
    ctcd_wordnet *wn = NULL;
    cr_assert_null(ctcd_wordnet_open(dir, &wn));
    ctcd_rng rng;
    ctcd_rng_init(&rng, 1, 0);
    ctcd_strbuf out = {0};
    ctcd_eda_stats st;
    const char *text = "the happy child";
    cr_assert_null(ctcd_eda_apply(CTCD_EDA_SR, 0.3f, text, strlen(text), ctcd_eda_wordnet_source,
                                  wn, &rng, &out, &st));
    cr_assert_eq(st.n_changed, 1, "one replacement expected, got %d ('%s')", st.n_changed, out.p);
    cr_assert(strncmp(out.p, "the ", 4) == 0, "stop word kept: '%s'", out.p);
    ctcd_strbuf_free(&out);
    ctcd_wordnet_free(wn);
}

/* ---- a tiny masked-LM checkpoint ---- */

typedef struct mlm_env {
    char *tmp;               /* temp dir, removed by mlm_env_free */
    char ckpt[900];          /* <tmp>/mlm: config.json, model.safetensors, vocab.txt */
    char vocab[1000];
    ctcd_strlist words;      /* the lower-case words of the vocabulary */
} mlm_env;

/* Adds the alphabetic runs of a file, lower-cased, to words (no duplicates). */
static void collect_words(const char *path, ctcd_strlist *words) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "open %s", path);
    char w[64];
    size_t n = 0;
    for (int c = fgetc(f);; c = fgetc(f)) {
        if (c != EOF && isalpha(c) && n + 1 < sizeof w) {
            w[n++] = (char)tolower(c);
            continue;
        }
        w[n] = '\0';
        if (n > 0 && !ctcd_strlist_contains(words, w)) ctcd_strlist_push(words, w, n);
        n = 0;
        if (c == EOF) break;
    }
    fclose(f);
}

/* Vocabulary: specials, punctuation, "walk ##ing ##ed" (a multi-piece word), and every word
 * of the MNLI fixture; a 1-layer random MLM over it, saved as an HF checkpoint. */
static void mlm_env_make(mlm_env *e) {
    memset(e, 0, sizeof *e);
    e->tmp = ctcd_test_tmpdir();
    cr_assert_not_null(e->tmp);
    snprintf(e->ckpt, sizeof e->ckpt, "%s/mlm", e->tmp);
    snprintf(e->vocab, sizeof e->vocab, "%s/vocab.txt", e->ckpt);
    cr_assert_null(ctcd_mkdirs(e->ckpt));
    static const char *const files[] = {"train", "dev_matched", "dev_mismatched", "test_matched"};
    for (int i = 0; i < 4; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s.tsv", MNLI_FIXTURE, files[i]);
        collect_words(p, &e->words);
    }
    ctcd_strbuf v = {0};
    static const char *const head[] = {"[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]",
                                       "[MASK]", ".", ",", "(", ")", "walk", "##ing", "##ed"};
    int V = 0;
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++, V++) {
        ctcd_strbuf_append(&v, head[i], strlen(head[i]));
        ctcd_strbuf_append(&v, "\n", 1);
    }
    for (int i = 0; i < e->words.n; i++) {
        const char *w = ctcd_strlist_at(&e->words, i);
        if (strcmp(w, "walk") == 0) continue;
        ctcd_strbuf_append(&v, w, strlen(w));
        ctcd_strbuf_append(&v, "\n", 1);
        V++;
    }
    cr_assert_eq(ctcd_test_write_file(e->vocab, v.p), 0);
    ctcd_strbuf_free(&v);
    ctcd_backend *be;
    cr_assert_null(ctcd_backend_create("cpu", &be));
    ctcd_bert_config c;
    ctcd_status st = ctcd_bert_config_init(&c, "tiny-mlm", 1, 16, 2, 32, V, 64, 2, 2);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    c.head = CTCD_HEAD_MLM;
    c.initializer_range = 0.5f;
    ctcd_model *m;
    cr_assert_null(ctcd_model_create(be, &c, "tiny-mlm", 2, 8, &m));
    cr_assert_null(ctcd_model_init_random(m, 3));
    st = ctcd_model_save_hf(m, e->ckpt, NULL);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    ctcd_model_destroy(m);
    ctcd_backend_destroy(be);
}

static void mlm_env_free(mlm_env *e) {
    ctcd_test_rmtree(e->tmp);
    free(e->tmp);
    ctcd_strlist_free(&e->words);
}

static ctcd_mlm_augmenter *mlm_open(const mlm_env *e, float p, int top_k, int batch) {
    ctcd_mlm_aug_config c = {.p = p, .top_k = top_k, .max_len = 64, .batch = batch};
    ctcd_mlm_augmenter *a = NULL;
    ctcd_status st = ctcd_mlm_augmenter_open(e->ckpt, NULL, &c, &a);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    return a;
}

/* A sentence of n words drawn from the fixture words, with stop words, punctuation and the
 * multi-piece word "walking" mixed in. */
static void random_sentence(const mlm_env *e, ctcd_rng *r, int n, ctcd_strbuf *out) {
    out->n = 0;
    ctcd_strbuf_append(out, "", 0);
    for (int i = 0; i < n; i++) {
        if (i) ctcd_strbuf_append(out, " ", 1);
        const uint32_t kind = ctcd_rng_below(r, 8);
        const char *w = ctcd_strlist_at(&e->words, (int)ctcd_rng_below(r, (uint32_t)e->words.n));
        if (kind == 0) w = "the";
        if (kind == 1) w = "walking";
        ctcd_strbuf_append(out, w, strlen(w));
        if (kind == 2) ctcd_strbuf_append(out, ".", 1);
    }
}

/* The core of a whitespace word without its trailing "." (the only punctuation used). */
static void core_of(const char *w, char *buf, size_t cap) {
    snprintf(buf, cap, "%s", w);
    size_t n = strlen(buf);
    if (n > 1 && buf[n - 1] == '.') buf[n - 1] = '\0';
}

Test(mlm_augment, replacements_are_whole_in_vocabulary_words_at_rate_p, .timeout = 60) {
    mlm_env e;
    mlm_env_make(&e);
    const float p = 0.3f;
    ctcd_mlm_augmenter *a = mlm_open(&e, p, 5, 16);
    ctcd_tokenizer *tok;
    cr_assert_null(ctcd_tokenizer_load(e.vocab, &tok));
    ctcd_rng gen;
    ctcd_rng_init(&gen, 77, 0);
    ctcd_strbuf text = {0}, out = {0};
    ctcd_mlm_text t = {0};
    int64_t eligible = 0, replaced = 0;
    for (int s = 0; s < 60; s++) {
        random_sentence(&e, &gen, 12, &text);
        ctcd_status st = ctcd_mlm_prepare(a, text.p, text.n, &t);
        cr_assert_null(st, "%s", ctcd_status_message(st));
        ctcd_rng rng;
        ctcd_rng_init(&rng, 5, (uint64_t)s);
        int n_rep;
        cr_assert_null(ctcd_mlm_sample(a, &t, &rng, &out, &n_rep));
        eligible += t.n_eligible;
        replaced += n_rep;
        char in_copy[1024], out_copy[1024], *wi[32], *wo[32];
        snprintf(in_copy, sizeof in_copy, "%s", text.p);
        snprintf(out_copy, sizeof out_copy, "%s", out.p);
        const int n = split_words(in_copy, wi, 32), m = split_words(out_copy, wo, 32);
        cr_assert_eq(n, m, "word count changed: '%s' -> '%s'", text.p, out.p);
        int changed = 0;
        for (int i = 0; i < n; i++) {
            if (strcmp(wi[i], wo[i]) == 0) continue;
            changed++;
            char ci[64], co[64];
            core_of(wi[i], ci, sizeof ci);
            core_of(wo[i], co, sizeof co);
            cr_assert(ends_with(wi[i], ".") == ends_with(wo[i], "."), "punctuation lost: %s -> %s",
                      wi[i], wo[i]);
            cr_assert(!ctcd_is_stop_word(ci), "stop word '%s' replaced", ci);
            const int32_t id = ctcd_tokenizer_id(tok, co);
            cr_assert(id >= 0 && co[0] != '#' && co[0] != '[',
                      "'%s' replaced by '%s', not a whole-word vocabulary entry", wi[i], wo[i]);
            cr_assert_str_neq(ci, co, "replacement equals the word");
        }
        cr_assert_eq(changed, n_rep, "%d words differ, %d replacements reported", changed, n_rep);
    }
    /* Binomial(eligible, p): 5 standard deviations. */
    const double sd = sqrt((double)eligible * p * (1 - p));
    cr_assert_gt(eligible, 400, "only %lld eligible words", (long long)eligible);
    cr_assert(fabs((double)replaced - p * (double)eligible) < 5 * sd,
              "replaced %lld of %lld eligible words: rate %.3f, p = %.2f (5 sd = %.1f words)",
              (long long)replaced, (long long)eligible, (double)replaced / (double)eligible,
              (double)p, 5 * sd);
    ctcd_mlm_text_free(&t);
    ctcd_strbuf_free(&text);
    ctcd_strbuf_free(&out);
    ctcd_tokenizer_free(tok);
    ctcd_mlm_augmenter_free(a);
    mlm_env_free(&e);
}

Test(mlm_augment, multi_piece_words_are_masked_whole_and_batched) {
    mlm_env e;
    mlm_env_make(&e);
    ctcd_mlm_augmenter *a = mlm_open(&e, 1.0f, 3, 4);
    ctcd_mlm_text t = {0};
    const char *text = "walking the bridge walked. council walking ( harbour )";
    cr_assert_null(ctcd_mlm_prepare(a, text, strlen(text), &t));
    /* Eligible: walking, bridge, walked, council, walking, harbour (not "the", not punctuation). */
    cr_assert_eq(t.n_eligible, 6, "eligible words %d", t.n_eligible);
    cr_assert_eq(ctcd_mlm_augmenter_forwards(a), 2, "6 masked rows in batches of 4: %lld passes",
                 (long long)ctcd_mlm_augmenter_forwards(a));
    cr_assert_str_eq(ctcd_strlist_at(&t.basic, 0), "walking", "basic word of walk ##ing");
    ctcd_rng rng;
    ctcd_rng_init(&rng, 1, 0);
    ctcd_strbuf out = {0};
    int n;
    cr_assert_null(ctcd_mlm_sample(a, &t, &rng, &out, &n));
    cr_assert_eq(n, 6, "p = 1 replaces every eligible word: %d", n);
    cr_assert(strstr(out.p, " the ") && strstr(out.p, "( ") && strstr(out.p, " )"),
              "stop words and punctuation stay: '%s'", out.p);
    cr_assert_null(strstr(out.p, "##"), "a piece leaked into '%s'", out.p);
    cr_assert_null(strstr(out.p, "walking"), "'walking' must be replaced whole: '%s'", out.p);
    ctcd_strbuf_free(&out);
    ctcd_mlm_text_free(&t);
    ctcd_mlm_augmenter_free(a);
    mlm_env_free(&e);
}

Test(mlm_augment, same_seed_same_copies) {
    mlm_env e;
    mlm_env_make(&e);
    ctcd_mlm_augmenter *a = mlm_open(&e, 0.5f, 4, 8), *b = mlm_open(&e, 0.5f, 4, 3);
    const char *text = "the lighthouse keeper painted the door blue every spring.";
    ctcd_mlm_text ta = {0}, tb = {0};
    cr_assert_null(ctcd_mlm_prepare(a, text, strlen(text), &ta));
    cr_assert_null(ctcd_mlm_prepare(b, text, strlen(text), &tb));
    ctcd_strbuf oa = {0}, ob = {0};
    int differ = 0;
    for (uint64_t s = 0; s < 8; s++) {
        ctcd_rng ra, rb;
        ctcd_rng_init(&ra, 9, s);
        ctcd_rng_init(&rb, 9, s);
        cr_assert_null(ctcd_mlm_sample(a, &ta, &ra, &oa, NULL));
        cr_assert_null(ctcd_mlm_sample(b, &tb, &rb, &ob, NULL));
        cr_assert_str_eq(oa.p, ob.p, "copy %llu differs between two augmenters (batch 8 vs 3)",
                         (unsigned long long)s);
        differ += strcmp(oa.p, text) != 0;
    }
    cr_assert_gt(differ, 4, "only %d of 8 copies changed at p = 0.5", differ);
    ctcd_strbuf_free(&oa);
    ctcd_strbuf_free(&ob);
    ctcd_mlm_text_free(&ta);
    ctcd_mlm_text_free(&tb);
    ctcd_mlm_augmenter_free(a);
    ctcd_mlm_augmenter_free(b);
    mlm_env_free(&e);
}

/* ---- the cache ---- */

static const int64_t k_train_lines[] = {2, 3, 4, 5}; /* the MNLI fixture's examples */

static ctcd_augment_job mlm_job(const mlm_env *e, const char *cache) {
    ctcd_augment_job j = {.task = ctcd_glue_task_find("mnli"),
                          .src_path = MNLI_FIXTURE "/train.tsv", .lines = k_train_lines,
                          .n_lines = 4, .method = CTCD_AUGMENT_MLM,
                          .mlm_checkpoint = e->ckpt,
                          .mlm = {.p = 0.5f, .top_k = 5, .max_len = 64, .batch = 8},
                          .mlm_num_aug = 3, .seed = 1, .cache_dir = cache};
    return j;
}

static struct timespec mtime_of(const char *path) {
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0, "%s missing", path);
    return sb.st_mtim;
}

Test(augment_cache, second_run_hits_and_a_settings_change_misses, .timeout = 60) {
    mlm_env e;
    mlm_env_make(&e);
    char cache[4096];
    snprintf(cache, sizeof cache, "%.4000s/cache/sub", e.tmp);
    ctcd_augment_job j = mlm_job(&e, cache);
    ctcd_augment_result r1, r2, r3, r4;
    ctcd_status st = ctcd_augment_build(&j, &r1);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_eq(r1.cached, 0, "first run must compute");
    cr_assert(r1.rows > 0 && r1.rows <= 12, "rows %lld (4 examples x 3 copies at most)",
              (long long)r1.rows);
    const struct timespec m1 = mtime_of(r1.path);
    st = ctcd_augment_build(&j, &r2);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_eq(r2.cached, 1, "second run with the same settings must reuse the cache");
    cr_assert_str_eq(r2.path, r1.path);
    cr_assert_eq(r2.rows, r1.rows);
    const struct timespec m2 = mtime_of(r1.path);
    cr_assert(m1.tv_sec == m2.tv_sec && m1.tv_nsec == m2.tv_nsec, "cache file rewritten");
    j.mlm.p = 0.6f;
    cr_assert_null(ctcd_augment_build(&j, &r3));
    cr_assert(!r3.cached && strcmp(r3.path, r1.path) != 0, "p changed: new file expected");
    j.mlm.p = 0.5f;
    j.seed = 2;
    cr_assert_null(ctcd_augment_build(&j, &r4));
    cr_assert(!r4.cached && strcmp(r4.path, r1.path) != 0 && strcmp(r4.path, r3.path) != 0,
              "seed changed: new file expected");
    /* The file is in the task's layout: the GLUE loader reads it strictly, labels intact. */
    ctcd_tokenizer *tok;
    cr_assert_null(ctcd_tokenizer_load(e.vocab, &tok));
    ctcd_glue_options opt = {.max_len = 64, .strict = 1};
    ctcd_glue_split s;
    st = ctcd_glue_load_file(j.task, r1.path, 1, tok, &opt, &s);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_eq(s.data.n, r1.rows);
    for (int64_t i = 0; i < s.data.n; i++) {
        /* Fixture labels by line: entailment, contradiction, neutral, contradiction. */
        static const int32_t want[4] = {1, 0, 2, 0};
        cr_assert_eq(s.data.labels[i], want[s.index[i]], "row %lld (example %lld): label %d",
                     (long long)i, (long long)s.index[i], s.data.labels[i]);
    }
    ctcd_glue_split_free(&s);
    ctcd_tokenizer_free(tok);
    mlm_env_free(&e);
}

Test(augment_cache, eda_cache_with_wordnet) {
    const char *wn = wordnet_dir_or_skip();
    char *tmp = ctcd_test_tmpdir();
    ctcd_augment_job j = {.task = ctcd_glue_task_find("mnli"),
                          .src_path = MNLI_FIXTURE "/train.tsv", .lines = k_train_lines,
                          .n_lines = 4, .method = CTCD_AUGMENT_EDA,
                          .eda = {.num_aug = 4, .strength = {0.2f, 0.2f, 0.2f, 0.2f}},
                          .wordnet_dir = wn, .seed = 3, .cache_dir = tmp};
    ctcd_augment_result r1, r2, r3;
    ctcd_status st = ctcd_augment_build(&j, &r1);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert(!r1.cached && r1.rows > 8, "rows %lld", (long long)r1.rows);
    cr_assert_null(ctcd_augment_build(&j, &r2));
    cr_assert(r2.cached && strcmp(r1.path, r2.path) == 0, "second run must hit");
    j.eda.num_aug = 2;
    cr_assert_null(ctcd_augment_build(&j, &r3));
    cr_assert(!r3.cached && strcmp(r1.path, r3.path) != 0, "num_aug changed: miss expected");
    ctcd_test_rmtree(tmp);
    free(tmp);
}

/* ---- the trainer ---- */

static ctcd_recipe mnli_aug_recipe(const mlm_env *e) {
    ctcd_recipe r = small_demo_recipe();
    snprintf(r.task, sizeof r.task, "mnli");
    snprintf(r.data.dir, sizeof r.data.dir, "%s", MNLI_FIXTURE);
    snprintf(r.data.vocab, sizeof r.data.vocab, "%s", e->vocab);
    r.data.max_len = 64;
    r.train.batch = 4;
    snprintf(r.data.augment.mlm.checkpoint, sizeof r.data.augment.mlm.checkpoint, "%s", e->ckpt);
    r.data.augment.mlm.num_aug = 2;
    r.data.augment.mlm.p = 0.5f;
    r.data.augment.mlm.top_k = 5;
    snprintf(r.data.augment.cache, sizeof r.data.augment.cache, "%s/cache", e->tmp);
    return r;
}

static int count_files(const char *dir, const char *suffix) {
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c '%s$'", dir, suffix);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1) n = -1;
        pclose(p);
    }
    return n;
}

Test(augment_trainer, mnli_augmented_rows_train_without_hard_labels, .timeout = 120) {
    mlm_env e;
    mlm_env_make(&e);
    ctcd_recipe r = mnli_aug_recipe(&e);
    ctcd_trainer *t = NULL;
    ctcd_status st = ctcd_trainer_create(&r, &t);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    const int64_t n0 = 4;
    const ctcd_dataset *train = ctcd_trainer_train_set(t);
    cr_assert_gt(train->n, n0, "no augmented rows were added (%lld)", (long long)train->n);
    for (int64_t i = 0; i < train->n; i++)
        cr_assert(i < n0 ? train->labels[i] >= 0 : train->labels[i] == -1,
                  "row %lld: label %d (augmented rows start at %lld)", (long long)i,
                  train->labels[i], (long long)n0);
    cr_assert_eq(ctcd_trainer_dev_set(t, 0, NULL)->n, 3, "dev is never augmented");
    /* Steps mix labelled and unlabelled rows; the hard term averages the labelled ones. */
    for (int s = 0; s < 3; s++) {
        const ctcd_batch *b;
        if (!ctcd_trainer_next_batch(t, &b)) cr_assert(ctcd_trainer_next_batch(t, &b));
        ctcd_step_stats stats;
        st = ctcd_trainer_step(t, b, &stats);
        cr_assert_null(st, "%s", ctcd_status_message(st));
        int labelled = 0;
        for (int i = 0; i < b->B; i++) labelled += b->labels[i] >= 0;
        if (labelled == 0)
            cr_assert_eq(stats.terms[CTCD_TERM_HARD0], 0.0f, "batch without labels has a hard loss");
        else
            cr_assert_gt(stats.terms[CTCD_TERM_HARD0], 0.0f);
        cr_assert_gt(stats.terms[CTCD_TERM_MUTUAL0 + 1], 0.0f, "mutual term on every row");
    }
    const int64_t n_aug = train->n;
    ctcd_trainer_destroy(t);

    /* A second trainer with the same settings reuses the cache: one file, same rows. */
    char cache[4200];
    snprintf(cache, sizeof cache, "%.4000s/cache", e.tmp);
    cr_assert_null(ctcd_trainer_create(&r, &t));
    cr_assert_eq(ctcd_trainer_train_set(t)->n, n_aug);
    ctcd_trainer_destroy(t);
    cr_assert_eq(count_files(cache, ".tsv"), 1, "expected one cache file in %s", cache);

    /* hard_augmented = 1 keeps the labels; other values are refused. */
    r.distill.hard_augmented = 1.0f;
    cr_assert_null(ctcd_trainer_create(&r, &t));
    train = ctcd_trainer_train_set(t);
    for (int64_t i = n0; i < train->n; i++)
        cr_assert(train->labels[i] >= 0, "row %lld lost its label", (long long)i);
    ctcd_trainer_destroy(t);
    r.distill.hard_augmented = 0.5f;
    st = ctcd_trainer_create(&r, &t);
    cr_assert_not_null(st, "hard_augmented 0.5 accepted");
    cr_assert_not_null(strstr(ctcd_status_message(st), "distill.hard_augmented"), "%s",
                       ctcd_status_message(st));
    ctcd_status_free(st);
    mlm_env_free(&e);
}

Test(augment_trainer, without_cache_or_output_a_temporary_directory_is_used_and_removed,
     .timeout = 60) {
    mlm_env e;
    mlm_env_make(&e);
    ctcd_recipe r = mnli_aug_recipe(&e);
    r.data.augment.cache[0] = '\0';
    r.output[0] = '\0';
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%.4000s/tmpdir", e.tmp);
    cr_assert_null(ctcd_mkdirs(tmp));
    setenv("TMPDIR", tmp, 1); /* this test's own process (Criterion forks per test) */
    ctcd_trainer *t = NULL;
    ctcd_status st = ctcd_trainer_create(&r, &t);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_gt(ctcd_trainer_train_set(t)->n, 4, "augmented rows missing");
    ctcd_trainer_destroy(t);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", tmp);
    cr_assert_eq(system(cmd), 0, "%s is not empty after loading", tmp);
    mlm_env_free(&e);
}

Test(augment_trainer, eda_on_mnli_with_wordnet, .timeout = 120) {
    wordnet_dir_or_skip();
    mlm_env e;
    mlm_env_make(&e);
    ctcd_recipe r = mnli_aug_recipe(&e);
    r.data.augment.mlm.checkpoint[0] = '\0';
    r.data.augment.eda.num_aug = 4;
    ctcd_trainer *t = NULL;
    ctcd_status st = ctcd_trainer_create(&r, &t);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    const ctcd_dataset *train = ctcd_trainer_train_set(t);
    cr_assert_gt(train->n, 8, "EDA rows: %lld", (long long)train->n);
    for (int64_t i = 4; i < train->n; i++) cr_assert_eq(train->labels[i], -1);
    ctcd_trainer_destroy(t);
    mlm_env_free(&e);
}

Test(augment_trainer, demo_task_refuses_augmentation) {
    ctcd_recipe r = small_demo_recipe();
    r.data.augment.eda.num_aug = 2;
    ctcd_trainer *t = NULL;
    ctcd_status st = ctcd_trainer_create(&r, &t);
    cr_assert_not_null(st);
    cr_assert_not_null(strstr(ctcd_status_message(st), "data.augment"), "%s",
                       ctcd_status_message(st));
    ctcd_status_free(st);
}

Test(augment_recipe, design_example_keys_load) {
    char *dir = ctcd_test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/r.yaml", dir);
    cr_assert_eq(ctcd_test_write_file(path,
        "task: sst2\nmodels: {small: {}}\n"
        "data: {augment: {eda: {num_aug: 4, alpha: 0.1, p_rd: 0}, seed: 7,\n"
        "       mlm: {checkpoint: ckpt, p: 0.3, top_k: 8, num_aug: 2}, cache: c}}\n"
        "distill: {hard_augmented: 1}\n"), 0);
    ctcd_recipe r;
    ctcd_status st = ctcd_recipe_load(path, NULL, 0, &r);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_eq(r.data.augment.eda.num_aug, 4);
    cr_assert_float_eq(r.data.augment.eda.alpha, 0.1f, 1e-9);
    cr_assert(r.data.augment.eda.alpha_sr < 0.0f, "unset op strength defaults to alpha (-1)");
    cr_assert_float_eq(r.data.augment.eda.p_rd, 0.0f, 0);
    cr_assert_str_eq(r.data.augment.mlm.checkpoint, "ckpt");
    cr_assert_eq(r.data.augment.mlm.top_k, 8);
    cr_assert_eq(r.data.augment.seed, 7);
    cr_assert_str_eq(r.data.augment.cache, "c");
    cr_assert_float_eq(r.distill.hard_augmented, 1.0f, 0);
    cr_assert(ctcd_augment_enabled(&r));
    ctcd_recipe d;
    ctcd_recipe_defaults(&d);
    cr_assert(!ctcd_augment_enabled(&d), "augmentation is off by default");
    ctcd_test_rmtree(dir);
    free(dir);
}
