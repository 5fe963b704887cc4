/* augment.h — text data augmentation for GLUE training sets (DESIGN.md section 5):
 *
 *  - EDA (Wei & Zou 2019): synonym replacement (SR), random insertion (RI), random swap (RS)
 *    and random deletion (RD) on whitespace-separated words, with synonyms from WordNet 3.0
 *    read by our own reader of the database files (src/augment/wordnet.c);
 *  - masked-LM replacement (TinyBERT style): words replaced by one of the top-K single-piece
 *    predictions of a BERT masked-LM head (src/augment/mlm_augment.c);
 *  - the on-disk cache: augmented rows written once as a TSV in the task's own layout, keyed
 *    by a hash of everything they depend on (src/train/augment_data.c).
 *
 * Everything is deterministic in its seed: an example's copies depend only on (seed, the
 * example's line in the file, the settings), never on the other examples. */
#ifndef CTCD_AUGMENT_H
#define CTCD_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "ctcd/glue.h"
#include "ctcd/recipe.h"
#include "ctcd/rng.h"
#include "ctcd/status.h"
#include "ctcd/strlist.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- stop words ----
 * Our own list of English function words (articles, pronouns, auxiliaries, prepositions,
 * conjunctions, negations, ...). EDA never replaces them, nor inserts their synonyms; the
 * masked-LM augmenter never replaces them either. word is lower-case ASCII. */
int ctcd_is_stop_word(const char *word);

/* ---- WordNet ----
 * A reader of the WordNet 3.0 database (index.{noun,verb,adj,adv} and data.*, format
 * wndb(5)), as installed by Debian's wordnet-base package. Synonyms of a word are the
 * lemmas of every synset of the word's base forms, over the four parts of speech in the
 * order noun, verb, adj, adv. Base forms are found like WordNet's morphy (and NLTK, which
 * EDA uses): the <pos>.exc exception lists ("ran" -> "run", "children" -> "child"), else the
 * word itself and its one-step suffix detachments that are lemmas ("walked" -> "walk",
 * "dogs" -> "dog"). Synonyms are base forms: no re-inflection. Lemmas are lower-cased, '_' and '-' become spaces (multi-word
 * synonyms are kept, as in EDA), adjective markers "(a)" "(p)" "(ip)" are dropped; lemmas
 * with characters other than a-z and space are skipped, as are duplicates, the word itself
 * and its base forms. The whole database (about 30 MB) is read into memory. */
typedef struct ctcd_wordnet ctcd_wordnet;

#define CTCD_WORDNET_DEFAULT_DIR "/usr/share/wordnet"

/* Opens the database in dir (NULL: $WNSEARCHDIR, else CTCD_WORDNET_DEFAULT_DIR). A missing
 * directory or file is CTCD_E_IO naming it and the package to install. */
ctcd_status ctcd_wordnet_open(const char *dir, ctcd_wordnet **out);
void ctcd_wordnet_free(ctcd_wordnet *wn);
/* The directory the database was read from. */
const char *ctcd_wordnet_dir(const ctcd_wordnet *wn);
/* Appends the synonyms of word (NUL-terminated; looked up lower-cased) to out, which the
 * caller clears first if it wants only these. A word WordNet does not know has none. */
ctcd_status ctcd_wordnet_synonyms(const ctcd_wordnet *wn, const char *word, ctcd_strlist *out);

/* ---- EDA ---- */

typedef enum ctcd_eda_op {
    CTCD_EDA_SR = 0, /* replace n non-stop words by a random synonym each */
    CTCD_EDA_RI,     /* insert a synonym of a random non-stop word at a random position, n times */
    CTCD_EDA_RS,     /* swap two random words, n times */
    CTCD_EDA_RD,     /* delete each word with probability p (never every word) */
    CTCD_EDA_N_OPS
} ctcd_eda_op;

/* Where EDA finds synonyms: appends the synonyms of `word` (lower-case ASCII letters) to
 * out. ctcd_eda_wordnet_source adapts a ctcd_wordnet; tests pass small dictionaries. */
typedef ctcd_status (*ctcd_synonym_fn)(void *ctx, const char *word, ctcd_strlist *out);
ctcd_status ctcd_eda_wordnet_source(void *wordnet, const char *word, ctcd_strlist *out);

typedef struct ctcd_eda_config {
    int num_aug;               /* augmented copies per example */
    float strength[CTCD_EDA_N_OPS]; /* alpha of SR, RI, RS (n = max(1, round(alpha·words)))
                                       and p of RD; 0 turns the operation off */
} ctcd_eda_config;

/* What one operation did to one text. */
typedef struct ctcd_eda_stats {
    int words;     /* words of the input */
    int n_target;  /* operations asked for: max(1, round(alpha·words)); RD: 0 */
    int n_changed; /* words replaced (SR), inserted (RI), swaps done (RS), deleted (RD) */
} ctcd_eda_stats;

/* Applies one operation to text (len bytes, words separated by ASCII whitespace) and writes
 * the words joined by single spaces to out (cleared first). A word is split into leading
 * punctuation, a core and trailing punctuation ("(spring)," -> "(", "spring", "),"); SR and
 * RI use words whose core is ASCII letters only and not a stop word, SR keeps the
 * punctuation around the new core. SR replaces min(n, candidates) words, RI inserts nothing
 * when no word has a synonym, RS needs two words, RD leaves a one-word text alone.
 * stats may be NULL. */
ctcd_status ctcd_eda_apply(ctcd_eda_op op, float strength, const char *text, size_t len,
                           ctcd_synonym_fn syn, void *syn_ctx, ctcd_rng *rng,
                           ctcd_strbuf *out, ctcd_eda_stats *stats);

/* The operation of copy k (0-based) of an example: the enabled operations in the order
 * SR, RI, RS, RD, starting at a random one per example (`start`, drawn once per example
 * from its stream) and cycling, so that every operation gets a fair share of the copies.
 * Returns -1 when no operation is enabled. */
int ctcd_eda_op_of_copy(const ctcd_eda_config *c, uint32_t start, int k);

/* ---- masked-LM replacement ---- */

typedef struct ctcd_mlm_aug_config {
    float p;       /* probability that an eligible word is replaced in a copy */
    int top_k;     /* candidates per word: the K most likely admissible vocabulary entries */
    int max_len;   /* tokens per masked sequence ([CLS] and [SEP] included); words beyond
                      are never replaced */
    int batch;     /* masked sequences per forward pass (0 = 32) */
} ctcd_mlm_aug_config;

typedef struct ctcd_mlm_augmenter ctcd_mlm_augmenter;

/* Loads the masked-LM model (CPU backend) from an HF checkpoint directory, with its
 * vocab.txt (vocab == NULL or "": <checkpoint>/vocab.txt). Errors name the checkpoint. */
ctcd_status ctcd_mlm_augmenter_open(const char *checkpoint, const char *vocab,
                                    const ctcd_mlm_aug_config *cfg, ctcd_mlm_augmenter **out);
void ctcd_mlm_augmenter_free(ctcd_mlm_augmenter *a);
/* Forward passes run so far (each one batch of masked sequences); tests count them. */
int64_t ctcd_mlm_augmenter_forwards(const ctcd_mlm_augmenter *a);

/* A text cut into words with each eligible word's candidates.
 *
 * Words are the whitespace-separated words of the text, each split by the WordPiece
 * tokenizer into basic words (punctuation splits: "door." -> "door", ".") made of one or
 * more pieces ("repainted" -> "rep", "##ain", "##ted"). A basic word is eligible when its
 * text is ASCII letters only, not a stop word, not [UNK], and all its pieces fall within
 * max_len. Its candidates come from one forward pass of [CLS] text [SEP] in which ALL its
 * pieces are replaced by a single [MASK] (whole-word masking; the slot holds one piece
 * because candidates are single pieces): the top_k highest logits at [MASK] among
 * entries that are not "##" continuations, not special ("[...]"), contain a letter or a
 * digit, and differ from the word itself. */
typedef struct ctcd_mlm_text {
    int n_words;              /* whitespace words */
    ctcd_strlist words;       /* [n_words] the original bytes of each whitespace word */
    int n_basic;              /* basic words over all whitespace words */
    int *basic_word;          /* [n_basic] the whitespace word each basic word is in */
    ctcd_strlist basic;       /* [n_basic] text of each basic word (pieces joined) */
    int *n_cand;              /* [n_basic] candidates (0 = not eligible) */
    int32_t *cand;            /* [n_basic * top_k] candidate ids */
    int cap_basic;
    int n_eligible;
} ctcd_mlm_text;

/* Cuts text into words and computes the candidates of every eligible word (batched
 * forward passes). out is reset first; free it with ctcd_mlm_text_free. */
ctcd_status ctcd_mlm_prepare(ctcd_mlm_augmenter *a, const char *text, size_t len,
                             ctcd_mlm_text *out);
/* One augmented copy: each eligible word is replaced with probability p by a candidate
 * drawn uniformly. A whitespace word without a replacement keeps its original bytes; one
 * with a replacement is rebuilt from its basic words. Words are joined by single spaces
 * into out (cleared first). *n_replaced (may be NULL) counts replaced words. */
ctcd_status ctcd_mlm_sample(const ctcd_mlm_augmenter *a, const ctcd_mlm_text *t, ctcd_rng *rng,
                            ctcd_strbuf *out, int *n_replaced);
void ctcd_mlm_text_free(ctcd_mlm_text *t);

/* ---- augmented training files and their cache ---- */

typedef enum ctcd_augment_method { CTCD_AUGMENT_EDA = 0, CTCD_AUGMENT_MLM } ctcd_augment_method;

/* One augmentation job over a task's training file. */
typedef struct ctcd_augment_job {
    const ctcd_glue_task *task;
    const char *src_path;      /* the task's train.tsv */
    const int64_t *lines;      /* [n_lines] ascending 1-based lines of the examples to augment
                                  (the loader's ctcd_glue_split.line) */
    int64_t n_lines;
    ctcd_augment_method method;
    ctcd_eda_config eda;       /* method EDA */
    const char *wordnet_dir;   /* method EDA: NULL = ctcd_wordnet_open's default */
    const char *mlm_checkpoint;/* method MLM */
    const char *mlm_vocab;     /* method MLM: NULL or "" = <mlm_checkpoint>/vocab.txt */
    ctcd_mlm_aug_config mlm;   /* method MLM */
    int mlm_num_aug;           /* method MLM: copies per example */
    uint64_t seed;
    const char *cache_dir;     /* created when missing */
} ctcd_augment_job;

typedef struct ctcd_augment_result {
    char path[CTCD_PATH_MAX];  /* the augmented TSV (task layout, header copied):
                                  <cache_dir>/<Dir>-<source name>-<eda|mlm>-<key>.tsv */
    char key[64];              /* 16 hex digits: hash of everything the file depends on */
    int cached;                /* 1: the file existed and was reused, 0: computed now */
    int64_t rows;              /* augmented rows in the file */
} ctcd_augment_result;

/* Returns the cached file for this job when one exists (and its key file matches), else
 * computes it and writes it atomically (a ".key" file beside it records the settings).
 * Rows are the source lines with the text column(s) replaced; copies identical to the
 * original text are not written. Pair tasks: both sides of a copy get the same operation,
 * with independent draws. */
ctcd_status ctcd_augment_build(const ctcd_augment_job *job, ctcd_augment_result *res);

/* 1 when the recipe asks for any augmentation. */
int ctcd_augment_enabled(const ctcd_recipe *rc);

#ifdef __cplusplus
}
#endif
#endif
