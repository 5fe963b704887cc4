/* json_util.h — guarded JSON parsing for the checkpoint readers (internal).
 *
 * cJSON recurses once per nesting level and reports errors without a position, so hostile
 * files are screened here first: NUL bytes and nesting deeper than a limit are rejected
 * with their byte offset before cJSON sees the text, and cJSON's own failures are turned
 * into messages with a byte offset. */
#ifndef CTCD_JSON_UTIL_H
#define CTCD_JSON_UTIL_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "ctcd/status.h"

/* Parses text[0..n) (need not be NUL-terminated) as one JSON value followed only by
 * whitespace. `what` names the input in messages ("x/model.safetensors: header");
 * base_offset is added to byte offsets so that they are offsets in the file.
 * On success *out owns the tree (cJSON_Delete). */
ctcd_status ctcd_json_parse(const char *text, size_t n, int max_depth, const char *what,
                            size_t base_offset, cJSON **out);

/* Rejects an object with two members of the same name: cJSON would use the first,
 * Python's json (and so Hugging Face) the last, and the two must not disagree. */
ctcd_status ctcd_json_check_unique_keys(const cJSON *obj, const char *what);

/* "null", "boolean", "number", "string", "array", "object" for messages. */
const char *ctcd_json_type_name(const cJSON *item);

/* 1 when item is a number holding an integer in [lo, hi] (both exactly representable). */
int ctcd_json_is_int_in(const cJSON *item, double lo, double hi);

#endif
