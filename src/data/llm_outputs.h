/* llm_outputs.h — pieces the rationale loaders (esnli.c, cqa.c) share: the PaLM output
 * lists llm/{split}_CoT_*.json, a growable rationale tokeniser, and a JSONL walk with line
 * numbers. Internal to src/data. */
#ifndef CTCD_DATA_LLM_OUTPUTS_H
#define CTCD_DATA_LLM_OUTPUTS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "ctcd/rationale_data.h"
#include "ctcd/status.h"
#include "ctcd/tokenizer.h"

/* The PaLM outputs of a split: llm/{split}_CoT_0.json, _1.json, … concatenated. */
typedef struct llm_list {
    cJSON *parts[16];
    int n_parts;
    int64_t n;
} llm_list;
/* Loads <dir>/llm/{split}_CoT_*.json; an error when there is none or one is not a list. */
ctcd_status llm_list_load(const char *dir, const char *split, llm_list *l);
void llm_list_free(llm_list *l);
/* Element i of the concatenated lists (NULL when not a string or out of range). */
const char *llm_list_at(const llm_list *l, int64_t i);

/* Rationale tokenisation into a buffer grown as needed. */
typedef struct llm_rat_buf {
    int32_t *ids;
    size_t cap;
} llm_rat_buf;
/* Tokenises text[0..n) into r->ids; *len receives the count. Errors name path:line. */
ctcd_status llm_tokenize_rationale(ctcd_tokenizer *tok, llm_rat_buf *r, const char *text,
                                   size_t n, int *len, const char *path, int64_t line);

/* String member k of object o, NULL when absent or not a string. */
const char *llm_str_field(const cJSON *o, const char *k);

/* One split of a rationale task: the JSONL rows of `path` and, for LLM rationales, the
 * outputs <dir>/llm/{split}_CoT_*.json (one per row, in order). */
typedef ctcd_status (*llm_row_fn)(void *ctx, const cJSON *o, int64_t line, int64_t index);
typedef struct llm_split {
    const char *path, *dir, *split;
    llm_list llm;              /* loaded by llm_split_walk when `llm` is asked for */
} llm_split;
/* Reads s->path (and, with llm, the PaLM outputs into s->llm) and calls row(ctx, object,
 * line, index) for each non-blank line (index counts the rows so far), stopping after
 * `limit` rows when limit > 0 or at the first error. Errors name path:line: a line that is
 * not a JSON object, a row without an LLM output left; then a file without rows, or (limit
 * <= 0) outputs that do not match the rows one to one. The caller frees s->llm. */
ctcd_status llm_split_walk(llm_split *s, int llm, int64_t limit, llm_row_fn row, void *ctx);

/* Where a row's rationale comes from, and where it goes. */
typedef int (*llm_label_fn)(const void *ctx, const char *label, size_t n);
typedef struct llm_rationale_src {
    ctcd_tokenizer *tok;
    llm_rat_buf *rat;
    const llm_list *llm;       /* NULL: the human rationale, the JSON member human_key */
    const char *human_key;
    llm_label_fn label_of;     /* the LLM's stated label as a class (-1 = none) */
    const void *label_ctx;
    const char *path;
    ctcd_rationale_set *rats;
    ctcd_esnli_report *rep;
} llm_rationale_src;
/* Pushes the rationale of row idx (JSONL line `line`, object o, gold label `gold`) onto
 * s->rats with the LLM's label, counting unparsed labels, agreement with gold and rows
 * without a rationale into s->rep. */
ctcd_status llm_push_rationale(const llm_rationale_src *s, const cJSON *o, int64_t line,
                               int64_t idx, int gold);

/* One split being loaded by a rationale loader (esnli.c, cqa.c): its file
 * <dir>/<prefix>_<split>.json, the JSONL walk and the rationale source of every row. */
typedef struct llm_load {
    char path[4096];
    llm_split sp;
    llm_rat_buf rb;
    llm_rationale_src src;     /* the caller sets human_key, label_of and label_ctx; src.llm
                                  is set (to sp.llm) when the source is CTCD_RATIONALE_LLM */
} llm_load;
/* Resets *data, *rats and *rep, checks that split is splits[0] or splits[1] (an error
 * "<title> split '<split>' (a or b)"), sets L->path and wires L->src to tok, the outputs and
 * (with source LLM) the PaLM outputs the walk loads. L must not move afterwards. */
ctcd_status llm_load_begin(llm_load *L, const char *title, const char *prefix,
                           const char *const splits[2], const char *dir, const char *split,
                           int source, ctcd_tokenizer *tok, ctcd_dataset *data,
                           ctcd_rationale_set *rats, ctcd_esnli_report *rep);
/* llm_split_walk over the split (see there). */
ctcd_status llm_load_walk(llm_load *L, int64_t limit, llm_row_fn row, void *ctx);
/* Frees L's buffers and, when st is an error, *data and *rats; returns st. */
ctcd_status llm_load_end(llm_load *L, ctcd_status st, ctcd_dataset *data,
                         ctcd_rationale_set *rats);

/* Whitespace test and trimming of the span [*off, *off + *len) of text. */
int llm_is_space(char c);
void llm_trim(const char *text, size_t *off, size_t *len);

#endif
