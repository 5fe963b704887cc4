/* demo.c — builtin:demo, the generated task that lets ctcd run anywhere with no downloads.
 *
 * Binary sentiment (0 negative, 1 positive) of sentences built from a small grammar whose
 * label needs composition, not word counting:
 *   clause   := SUBJ COPULA NEG* [INTENS] ADJ            polarity = adj · (−1)^#neg
 *             | SUBJ KEEP_VERB that clause                keeps the inner polarity
 *             | SUBJ FLIP_VERB that clause                flips it ("doubts", "denies")
 *             | it is true that clause | it is false that clause
 *   sentence := clause | clause but clause (→ second) | although clause , clause (→ second)
 *             | clause , although clause (→ first)
 * Embedding depth goes up to max_depth, so deeper models see more of the parity structure;
 * the combinators make "count the adjectives" and "trust the last adjective" fail (tests
 * measure both heuristics). Everything is drawn from ctcd_rng keyed by the recipe's seed,
 * and dev sentences never repeat a train sentence. Ids: 0 [PAD] 1 [UNK] 2 [CLS] 3 [SEP]
 * 4 [MASK], then the words of WORDS[] in order. */
#include <stdlib.h>
#include <string.h>

#include "ctcd/data.h"
#include "ctcd/hash.h"

static const char *const WORDS[] = {
    /* determiners */ "the", "my", "our", "his", "her", "a",
    /* nouns */ "cat", "dog", "friend", "teacher", "neighbor", "child", "sister", "man",
    "stranger", "team", "doctor", "student", "artist", "farmer", "pilot", "singer",
    /* copulas */ "is", "was", "seems", "looks", "remains",
    /* negators */ "not", "never", "hardly",
    /* intensifiers */ "very", "quite", "really", "so", "rather", "truly",
    /* positive adjectives */ "good", "great", "happy", "kind", "nice", "bright", "calm", "brave",
    "clever", "warm", "gentle", "honest", "cheerful", "lovely",
    /* negative adjectives */ "bad", "sad", "cruel", "rude", "awful", "dull", "angry", "cold",
    "lazy", "mean", "bitter", "gloomy", "nasty", "weak",
    /* polarity-keeping verbs */ "believes", "thinks", "says", "knows", "claims", "insists",
    /* polarity-flipping verbs */ "doubts", "denies", "disputes",
    /* function words */ "that", "it", "true", "false", "but", "although", ",",
};
#define N_WORDS ((int32_t)(sizeof WORDS / sizeof WORDS[0]))
_Static_assert(sizeof WORDS / sizeof WORDS[0] == 80, "category indices below assume 80 words");
#define FIRST_ID 5

/* Index ranges of each category inside WORDS (first, count). */
enum {
    DET0 = 0, DET_N = 6,
    NOUN0 = 6, NOUN_N = 16,
    COP0 = 22, COP_N = 5,
    NEG0 = 27, NEG_N = 3,
    INT0 = 30, INT_N = 6,
    POS0 = 36, POS_N = 14,
    NEGADJ0 = 50, NEGADJ_N = 14,
    KEEP0 = 64, KEEP_N = 6,
    FLIP0 = 70, FLIP_N = 3,
    W_THAT = 73, W_IT = 74, W_TRUE = 75, W_FALSE = 76, W_BUT = 77, W_ALTHOUGH = 78,
    W_COMMA = 79
};

const char *ctcd_demo_word(int32_t id) {
    static const char *const SPECIAL[FIRST_ID] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    if (id < 0 || id >= FIRST_ID + N_WORDS) return NULL;
    return id < FIRST_ID ? SPECIAL[id] : WORDS[id - FIRST_ID];
}

int32_t ctcd_demo_vocab_size(void) { return FIRST_ID + N_WORDS; }

typedef struct sentence {
    int32_t ids[512];
    int len;
    int overflow;
} sentence;

static void put(sentence *s, int word) {
    if (s->len < (int)(sizeof s->ids / sizeof s->ids[0])) {
        s->ids[s->len++] = FIRST_ID + word;
    } else {
        s->overflow = 1;
    }
}

static int pick(ctcd_rng *r, int first, int n) { return first + (int)ctcd_rng_below(r, (uint32_t)n); }

/* Appends a clause with up to `depth` embeddings; returns its polarity (+1 / −1). */
static int clause(ctcd_rng *r, sentence *s, int depth) {
    if (depth > 0 && ctcd_rng_uniform(r) < 0.4f) {
        const int flip = ctcd_rng_uniform(r) < 0.4f;
        if (ctcd_rng_uniform(r) < 0.25f) {
            put(s, W_IT);
            put(s, COP0); /* "is" */
            put(s, flip ? W_FALSE : W_TRUE);
        } else {
            put(s, pick(r, DET0, DET_N));
            put(s, pick(r, NOUN0, NOUN_N));
            put(s, flip ? pick(r, FLIP0, FLIP_N) : pick(r, KEEP0, KEEP_N));
        }
        put(s, W_THAT);
        const int inner = clause(r, s, depth - 1);
        return flip ? -inner : inner;
    }
    put(s, pick(r, DET0, DET_N));
    put(s, pick(r, NOUN0, NOUN_N));
    put(s, pick(r, COP0, COP_N));
    int pol = 1;
    /* Mostly plain clauses: uniform negation parity would make the label a parity function,
     * which gradient descent learns only after a long plateau. */
    const float u = ctcd_rng_uniform(r);
    const int negs = u < 0.6f ? 0 : u < 0.9f ? 1 : 2;
    for (int i = 0; i < negs; i++) {
        put(s, pick(r, NEG0, NEG_N));
        pol = -pol;
    }
    if (ctcd_rng_uniform(r) < 0.4f) put(s, pick(r, INT0, INT_N));
    const int positive = ctcd_rng_uniform(r) < 0.5f;
    put(s, positive ? pick(r, POS0, POS_N) : pick(r, NEGADJ0, NEGADJ_N));
    return positive ? pol : -pol;
}

/* One sentence with [CLS]/[SEP]; returns its label (1 positive, 0 negative). */
static int sentence_make(ctcd_rng *r, sentence *s, int max_depth) {
    s->len = 0;
    s->overflow = 0;
    s->ids[s->len++] = 2; /* [CLS] */
    const float form = ctcd_rng_uniform(r);
    const int d1 = (int)ctcd_rng_below(r, (uint32_t)max_depth + 1);
    const int d2 = (int)ctcd_rng_below(r, (uint32_t)max_depth + 1);
    int pol;
    if (form < 0.40f) {
        pol = clause(r, s, d1);
    } else if (form < 0.65f) {
        (void)clause(r, s, d1);
        put(s, W_BUT);
        pol = clause(r, s, d2);
    } else if (form < 0.85f) {
        put(s, W_ALTHOUGH);
        (void)clause(r, s, d1);
        put(s, W_COMMA);
        pol = clause(r, s, d2);
    } else {
        pol = clause(r, s, d1);
        put(s, W_COMMA);
        put(s, W_ALTHOUGH);
        (void)clause(r, s, d2);
    }
    if (s->len < (int)(sizeof s->ids / sizeof s->ids[0])) {
        s->ids[s->len++] = 3; /* [SEP] */
    } else {
        s->overflow = 1;
    }
    return pol > 0;
}

/* Open-addressing set of 64-bit sentence hashes (0 is the empty slot). */
typedef struct hset {
    uint64_t *slot;
    int64_t cap;
} hset;

/* FNV-1a's constants with a whole id (not a byte) per round: not ctcd_fnv1a64 of the id
 * bytes, and kept so, since it decides which generated sentences are duplicates. */
static uint64_t hash_ids(const int32_t *ids, int n) {
    uint64_t h = CTCD_FNV1A64_INIT;
    for (int i = 0; i < n; i++) {
        h ^= (uint64_t)(uint32_t)ids[i];
        h *= CTCD_FNV1A64_PRIME;
    }
    return h ? h : 1;
}

/* Inserts h; returns 0 if it was already present. */
static int hset_add(hset *s, uint64_t h) {
    int64_t i = (int64_t)(h % (uint64_t)s->cap);
    while (s->slot[i]) {
        if (s->slot[i] == h) return 0;
        i = (i + 1) % s->cap;
    }
    s->slot[i] = h;
    return 1;
}

static ctcd_status fill_split(ctcd_rng *r, hset *seen, const ctcd_demo_config *cfg, int64_t n,
                              ctcd_dataset *d) {
    sentence s;
    int64_t tries = 0;
    int32_t types[sizeof s.ids / sizeof s.ids[0]] = {0};
    while (d->n < n) {
        if (++tries > 50 * n + 1000)
            return CTCD_ERR(CTCD_E_INVALID,
                            "data.demo: cannot draw %lld distinct sentences of at most %d "
                            "tokens (raise data.max_len or data.demo.max_depth, or ask for "
                            "fewer examples)", (long long)n, cfg->max_len);
        const int label = sentence_make(r, &s, cfg->max_depth);
        if (s.overflow || s.len > cfg->max_len) continue;
        if (!hset_add(seen, hash_ids(s.ids, s.len))) continue;
        CTCD_TRY(ctcd_dataset_push(d, s.ids, types, s.len, label, 0.0f));
    }
    return CTCD_OK;
}

ctcd_status ctcd_demo_generate(const ctcd_demo_config *cfg, ctcd_dataset *train,
                               ctcd_dataset *dev) {
    if (cfg->train_examples < 1 || cfg->dev_examples < 1)
        return CTCD_ERR(CTCD_E_INVALID, "data.demo.train_examples and dev_examples must be >= 1 "
                        "(got %lld and %lld)", (long long)cfg->train_examples,
                        (long long)cfg->dev_examples);
    if (cfg->max_depth < 1)
        return CTCD_ERR(CTCD_E_INVALID, "data.demo.max_depth must be >= 1 (got %d)",
                        cfg->max_depth);
    if (cfg->max_len < 8)
        return CTCD_ERR(CTCD_E_INVALID, "data.max_len %d is too short for demo sentences "
                        "(need at least 8)", cfg->max_len);
    hset seen = {NULL, 4 * (cfg->train_examples + cfg->dev_examples) + 17};
    seen.slot = calloc((size_t)seen.cap, sizeof *seen.slot);
    if (!seen.slot) return CTCD_ERR(CTCD_E_NOMEM, "data.demo: out of memory");
    ctcd_status st = ctcd_dataset_init(train, "demo/train", 2);
    if (!st) st = ctcd_dataset_init(dev, "demo/dev", 2);
    ctcd_rng r;
    ctcd_rng_init(&r, cfg->seed, 0xde30);
    if (!st) st = fill_split(&r, &seen, cfg, cfg->train_examples, train);
    if (!st) st = fill_split(&r, &seen, cfg, cfg->dev_examples, dev);
    free(seen.slot);
    if (st) {
        ctcd_dataset_free(train);
        ctcd_dataset_free(dev);
        return st;
    }
    const ctcd_special_ids sp = {.pad = 0, .unk = 1, .cls = 2, .sep = 3, .mask = 4};
    train->special = dev->special = sp;
    train->vocab_size = dev->vocab_size = ctcd_demo_vocab_size();
    return CTCD_OK;
}
