/* rationale_data.h — rationales as data for "distilling step-by-step" (Hsieh et al. 2023):
 * a set of tokenised rationales aligned by index with a ctcd_dataset, the teacher-forced
 * decoder rows of a batch, the e-SNLI loader, and the authors' parsing of LLM (PaLM)
 * chain-of-thought outputs.
 *
 * Rationales are kept beside the dataset rather than in it so that every existing loader,
 * the batcher and augmentation stay unchanged: a batch's `example` indices select the
 * rationale rows (an index >= set.n, e.g. an augmented copy, has no rationale). */
#ifndef CTCD_RATIONALE_DATA_H
#define CTCD_RATIONALE_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "ctcd/data.h"
#include "ctcd/status.h"
#include "ctcd/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ctcd_rationale_set {
    int64_t n;              /* rationales (row i belongs to dataset example i) */
    int64_t *offsets;       /* [n+1] into tokens */
    int32_t *tokens;        /* WordPiece ids, no [CLS]/[SEP]; an empty row = no rationale */
    int32_t *llm_labels;    /* [n] the label the LLM stated (-1 = none parsed) */
    int64_t cap_n, cap_tokens;  /* builder capacities, internal */
} ctcd_rationale_set;

/* Appends one rationale (len may be 0: none). */
ctcd_status ctcd_rationale_set_push(ctcd_rationale_set *s, const int32_t *ids, int len,
                                    int32_t llm_label);
void ctcd_rationale_set_free(ctcd_rationale_set *s);
static inline int ctcd_rationale_len(const ctcd_rationale_set *s, int64_t i) {
    return i >= 0 && i < s->n ? (int)(s->offsets[i + 1] - s->offsets[i]) : 0;
}

/* Teacher-forced decoder rows for the batch examples example[0..B): row b is
 * ids = [bos, r_0, …, r_{k−1}], targets = [r_0, …, r_{k−1}, eos] with k = min(len, max_len−1),
 * padded with pad / −1 to T = the longest row (>= 1). A row without a rationale is [bos] /
 * [−1] (no loss). ids and targets hold B·max_len entries; returns T. */
int ctcd_rationale_batch_rows(const ctcd_rationale_set *s, const int64_t *example, int B,
                              int max_len, int32_t bos, int32_t eos, int32_t pad, int32_t *ids,
                              int32_t *targets);

/* Parses one LLM chain-of-thought output as the authors' data_utils.py does: everything
 * from a hallucinated next example on ("\nPremise:", "\nQ:", "\nHypothesis:") is cut; the
 * rationale is the text before "Answer:" (e-SNLI's prompt format) or "So the answer is"
 * (ANLI / CQA format), whitespace-trimmed; the label is the text after it up to the next
 * newline or "Premise", trimmed, without a final period. Without an answer marker the whole
 * (cut) text is the rationale and the label is empty. Outputs are spans of `text`. */
typedef struct ctcd_llm_parse {
    size_t rat_off, rat_len;      /* rationale span */
    size_t label_off, label_len;  /* label span (len 0 = none) */
} ctcd_llm_parse;
void ctcd_llm_parse_output(const char *text, size_t len, ctcd_llm_parse *out);

/* ---- e-SNLI (task esnli) ----
 * <dir>/esnli_{valid,test}.json: JSONL with premise, hypothesis, label (0 entailment,
 * 1 neutral, 2 contradiction), explanation_1..3. With source LLM the rationales are the
 * PaLM outputs <dir>/llm/{split}_CoT_0.json, _1.json, … (JSON lists of strings,
 * concatenated in order, one per JSONL row). Examples are [CLS] premise [SEP] hypothesis
 * [SEP] truncated to max_len; rationales are kept whole (the batch rows truncate them). */
enum { CTCD_RATIONALE_HUMAN = 0, CTCD_RATIONALE_LLM = 1 };

typedef struct ctcd_esnli_report {
    int64_t truncated;       /* examples cut to max_len */
    int64_t no_rationale;    /* examples without a usable rationale */
    int64_t llm_unparsed;    /* LLM outputs whose label did not parse */
    int64_t llm_agree;       /* LLM outputs whose label equals the gold label */
} ctcd_esnli_report;

/* Loads split "valid" or "test" of e-SNLI from dir into *data (3 classes) and *rats
 * (aligned), keeping the first `limit` examples when limit > 0. Errors name the file and
 * line (or list index). */
ctcd_status ctcd_esnli_load(const char *dir, const char *split, int source, ctcd_tokenizer *tok,
                            int max_len, int64_t limit, ctcd_dataset *data,
                            ctcd_rationale_set *rats, ctcd_esnli_report *rep);
/* "entailment", "neutral", "contradiction"; NULL outside 0..2. */
const char *ctcd_esnli_label_name(int label);

/* ---- CommonsenseQA (task cqa) ----
 * <dir>/cqa_{train,test}.json: JSONL with id, question, choices (a list of K strings, K
 * the same in every row), answer (the text of one choice), abstractive_explanation (CoS-E,
 * human). A multiple-choice dataset (data.h, n_choices = K): example i is the K sequences
 * [CLS] question [SEP] choice_k [SEP] (each truncated to max_len), its label the answer's
 * index. With source LLM the rationales are the PaLM outputs <dir>/llm/{split}_CoT_*.json
 * ("<rationale> So the answer is (d) <choice>.\n\nQ: …"), their llm_labels the index of the
 * stated choice (-1 when it names none). Errors name file:line (a row without a list of
 * string choices, a choice count other than the first row's, an answer not among the
 * choices). The report counts a row as truncated when any of its choices was cut. */
typedef ctcd_esnli_report ctcd_cqa_report;
ctcd_status ctcd_cqa_load(const char *dir, const char *split, int source, ctcd_tokenizer *tok,
                          int max_len, int64_t limit, ctcd_dataset *data,
                          ctcd_rationale_set *rats, ctcd_cqa_report *rep);
/* The choice an LLM's answer text names: an optional "(x)" prefix is dropped, the rest is
 * whitespace-trimmed and compared with each choice (exactly, then ignoring case); -1 when
 * it matches none. */
int ctcd_cqa_llm_choice(const char *label, size_t n, const char *const *choices, int K);

#ifdef __cplusplus
}
#endif
#endif
