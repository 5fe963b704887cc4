/* json_util.c — guarded JSON parsing for the checkpoint readers (include/ctcd/json_util.h). */
#include "ctcd/json_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rejects NUL bytes and nesting deeper than max_depth. Strings are skipped (a bracket
 * inside a string does not nest); unbalanced brackets are left for cJSON to report. */
static ctcd_status check_depth(const char *text, size_t n, int max_depth, const char *what,
                               size_t base) {
    const char *nul = memchr(text, '\0', n);
    if (nul)
        return CTCD_ERR(CTCD_E_PARSE, "%s: NUL byte at byte offset %zu", what,
                        base + (size_t)(nul - text));
    int depth = 0, in_string = 0;
    for (size_t i = 0; i < n; i++) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                i++; /* the escaped character cannot end the string */
            } else if (c == '"') {
                in_string = 0;
            }
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth)
                return CTCD_ERR(CTCD_E_PARSE,
                                "%s: JSON nested deeper than %d levels at byte offset %zu",
                                what, max_depth, base + i);
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--; /* a stray closer is cJSON's to report, not a reason to allow more depth */
        }
    }
    return CTCD_OK;
}

ctcd_status ctcd_json_parse(const char *text, size_t n, int max_depth, const char *what,
                            size_t base_offset, cJSON **out) {
    *out = NULL;
    CTCD_TRY(check_depth(text, n, max_depth, what, base_offset));
    /* cJSON wants a NUL-terminated string; the mapped text has none. */
    char *buf = malloc(n + 1);
    if (!buf) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory for %zu bytes of JSON", what, n);
    memcpy(buf, text, n);
    buf[n] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(buf, &end, 0);
    if (!root) {
        const size_t at = end && end >= buf && end <= buf + n ? (size_t)(end - buf) : 0;
        free(buf);
        return CTCD_ERR(CTCD_E_PARSE, "%s: not valid JSON (error near byte offset %zu)", what,
                        base_offset + at);
    }
    for (const char *p = end; *p; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            const size_t at = (size_t)(p - buf);
            cJSON_Delete(root);
            free(buf);
            return CTCD_ERR(CTCD_E_PARSE, "%s: unexpected data after the JSON value at byte "
                            "offset %zu", what, base_offset + at);
        }
    }
    free(buf);
    *out = root;
    return CTCD_OK;
}

static int key_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

ctcd_status ctcd_json_check_unique_keys(const cJSON *obj, const char *what) {
    const int n = cJSON_GetArraySize(obj);
    if (n < 2) return CTCD_OK;
    const char **keys = malloc((size_t)n * sizeof *keys);
    if (!keys) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", what);
    int i = 0;
    for (const cJSON *e = obj->child; e; e = e->next) keys[i++] = e->string;
    qsort(keys, (size_t)n, sizeof *keys, key_cmp);
    ctcd_status st = CTCD_OK;
    for (i = 1; i < n && !st; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            st = CTCD_ERR(CTCD_E_PARSE, "%s: key \"%.200s\" appears twice", what, keys[i]);
    free(keys);
    return st;
}

const char *ctcd_json_type_name(const cJSON *item) {
    if (!item) return "nothing";
    if (cJSON_IsNull(item)) return "null";
    if (cJSON_IsBool(item)) return "boolean";
    if (cJSON_IsNumber(item)) return "number";
    if (cJSON_IsString(item)) return "string";
    if (cJSON_IsArray(item)) return "array";
    if (cJSON_IsObject(item)) return "object";
    return "invalid";
}

int ctcd_json_is_int_in(const cJSON *item, double lo, double hi) {
    if (!cJSON_IsNumber(item)) return 0;
    const double d = item->valuedouble;
    return isfinite(d) && d == floor(d) && d >= lo && d <= hi;
}
