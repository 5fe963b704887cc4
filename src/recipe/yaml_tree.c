/* yaml_tree.c — libyaml document → ynode tree (see yaml_tree.h). Depth is limited so that
 * alias cycles or nesting bombs fail with a message instead of exhausting the stack. */
#include "yaml_tree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define MAX_DEPTH 32
#define YAML_MAX_BYTES (1 << 20) /* recipes are short; anything larger is a mistake */

void ctcd_yaml_free(ynode *n) {
    if (!n) return;
    for (int i = 0; i < n->n; i++) {
        if (n->keys) free(n->keys[i]);
        ctcd_yaml_free(n->items[i]);
    }
    free(n->keys);
    free(n->key_line);
    free(n->key_col);
    free(n->items);
    free(n->value);
    free(n);
}

static ctcd_status convert(const char *path, yaml_document_t *doc, yaml_node_t *yn, int depth,
                           ynode **out) {
    *out = NULL;
    if (depth > MAX_DEPTH)
        return CTCD_ERR(CTCD_E_PARSE, "%s:%zu:%zu: nesting deeper than %d levels", path,
                        yn->start_mark.line + 1, yn->start_mark.column + 1, MAX_DEPTH);
    ynode *n = calloc(1, sizeof *n);
    if (!n) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
    n->line = (int)yn->start_mark.line + 1;
    n->col = (int)yn->start_mark.column + 1;
    ctcd_status st = CTCD_OK;
    if (yn->type == YAML_SCALAR_NODE) {
        n->kind = YNODE_SCALAR;
        n->plain = yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        n->value = strndup((const char *)yn->data.scalar.value, yn->data.scalar.length);
        if (!n->value) st = CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
    } else if (yn->type == YAML_SEQUENCE_NODE) {
        n->kind = YNODE_SEQ;
        const int cnt = (int)(yn->data.sequence.items.top - yn->data.sequence.items.start);
        n->items = calloc((size_t)cnt + 1, sizeof *n->items);
        if (!n->items) st = CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
        for (int i = 0; !st && i < cnt; i++) {
            yaml_node_t *c = yaml_document_get_node(doc, yn->data.sequence.items.start[i]);
            st = convert(path, doc, c, depth + 1, &n->items[i]);
            n->n = i + 1;
        }
    } else {
        n->kind = YNODE_MAP;
        const int cnt = (int)(yn->data.mapping.pairs.top - yn->data.mapping.pairs.start);
        n->items = calloc((size_t)cnt + 1, sizeof *n->items);
        n->keys = calloc((size_t)cnt + 1, sizeof *n->keys);
        n->key_line = calloc((size_t)cnt + 1, sizeof *n->key_line);
        n->key_col = calloc((size_t)cnt + 1, sizeof *n->key_col);
        if (!n->items || !n->keys || !n->key_line || !n->key_col)
            st = CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
        for (int i = 0; !st && i < cnt; i++) {
            yaml_node_pair_t *pr = &yn->data.mapping.pairs.start[i];
            yaml_node_t *k = yaml_document_get_node(doc, pr->key);
            const int kl = (int)k->start_mark.line + 1, kc = (int)k->start_mark.column + 1;
            if (k->type != YAML_SCALAR_NODE) {
                st = CTCD_ERR(CTCD_E_PARSE, "%s:%d:%d: mapping keys must be plain names", path,
                              kl, kc);
                break;
            }
            const char *key = (const char *)k->data.scalar.value;
            for (int j = 0; j < i; j++)
                if (strcmp(n->keys[j], key) == 0)
                    st = CTCD_ERR(CTCD_E_PARSE, "%s:%d:%d: duplicate key '%s' (first at line %d)",
                                  path, kl, kc, key, n->key_line[j]);
            if (st) break;
            n->keys[i] = strdup(key);
            n->key_line[i] = kl;
            n->key_col[i] = kc;
            n->n = i + 1;
            if (!n->keys[i]) {
                st = CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
                break;
            }
            st = convert(path, doc, yaml_document_get_node(doc, pr->value), depth + 1,
                         &n->items[i]);
        }
    }
    if (st) {
        ctcd_yaml_free(n);
        return st;
    }
    *out = n;
    return CTCD_OK;
}

ctcd_status ctcd_yaml_load_file(const char *path, ynode **root) {
    *root = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return CTCD_ERR(CTCD_E_IO, "cannot open recipe '%s': %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > YAML_MAX_BYTES) {
        const int regular = S_ISREG(sb.st_mode);
        fclose(f);
        return CTCD_ERR(CTCD_E_INVALID, "recipe '%s': %s", path,
                        regular ? "larger than 1 MiB (a recipe is a short YAML file)"
                                : "not a regular file");
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return CTCD_ERR(CTCD_E_NOMEM, "%s: cannot initialise the YAML parser", path);
    }
    yaml_parser_set_input_file(&parser, f);
    ctcd_status st = CTCD_OK;
    if (!yaml_parser_load(&parser, &doc)) {
        st = CTCD_ERR(CTCD_E_PARSE, "%s:%zu:%zu: %s%s%s", path, parser.problem_mark.line + 1,
                      parser.problem_mark.column + 1, parser.problem ? parser.problem : "syntax error",
                      parser.context ? " " : "", parser.context ? parser.context : "");
    } else {
        yaml_node_t *top = yaml_document_get_root_node(&doc);
        if (top) st = convert(path, &doc, top, 0, root);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return st;
}
