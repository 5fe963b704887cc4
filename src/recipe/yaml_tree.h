/* yaml_tree.h — a YAML document as a small tree of scalars, mappings and sequences, each
 * node carrying its 1-based line and column, for error messages that point into the file.
 * Built with libyaml's document API; duplicate mapping keys are rejected. */
#ifndef CTCD_YAML_TREE_H
#define CTCD_YAML_TREE_H

#include "ctcd/status.h"

typedef enum ynode_kind { YNODE_SCALAR, YNODE_MAP, YNODE_SEQ } ynode_kind;

typedef struct ynode {
    ynode_kind kind;
    int line, col;          /* 1-based position of the node */
    int plain;              /* scalar written without quotes (so "null"/"" may mean empty) */
    char *value;            /* scalar text */
    int n;                  /* number of map entries / sequence items */
    char **keys;            /* [n] map keys */
    int *key_line, *key_col;
    struct ynode **items;   /* [n] map values / sequence items */
} ynode;

/* Parses a file. *root is NULL for an empty document. Errors name path:line:col. */
ctcd_status ctcd_yaml_load_file(const char *path, ynode **root);
void ctcd_yaml_free(ynode *n);

#endif
