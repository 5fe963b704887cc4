/* llm_outputs.h — pieces the rationale loaders (esnli.c, cqa.c) share: reading a whole
 * file, the PaLM output lists llm/{split}_CoT_*.json, a growable rationale tokeniser, and
 * a JSONL walk with line numbers. Internal to src/data. */
#ifndef CTCD_DATA_LLM_OUTPUTS_H
#define CTCD_DATA_LLM_OUTPUTS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "ctcd/status.h"
#include "ctcd/tokenizer.h"

/* Reads path into a malloc'd, NUL-terminated buffer (*n bytes before the NUL). */
ctcd_status llm_read_file(const char *path, char **out, size_t *n);

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

/* Calls row(ctx, object, line, index) for each non-blank line of the JSONL text (index
 * counts the rows so far), stopping after `limit` rows when limit > 0 or at the first
 * error. A line that is not a JSON object is an error naming path:line. *rows receives the
 * rows handed to row(). */
typedef ctcd_status (*llm_row_fn)(void *ctx, const cJSON *o, int64_t line, int64_t index);
ctcd_status llm_jsonl_each(const char *path, const char *text, size_t n, int64_t limit,
                           llm_row_fn row, void *ctx, int64_t *rows);

/* Whitespace test and trimming of the span [*off, *off + *len) of text. */
int llm_is_space(char c);
void llm_trim(const char *text, size_t *off, size_t *len);

#endif
