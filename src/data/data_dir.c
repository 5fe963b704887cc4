/* data_dir.c — where ctcd looks for third-party data it never ships (GLUE, the BERT vocab,
 * corpora): $CTCD_DATA_DIR when set, else the first existing of ./data (where
 * scripts/get-glue.sh puts it), ../shared/data and its parents' equivalents (so tools
 * work from the checkout, build/ and build/benchmarks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctcd/data.h"

static const char *const ROOTS[] = {"data", "../shared/data", "../../shared/data",
                                    "../../../shared/data"};
enum { N_ROOTS = sizeof ROOTS / sizeof ROOTS[0] };

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

ctcd_status ctcd_data_find(const char *rel, char *out, size_t cap) {
    const char *env = getenv("CTCD_DATA_DIR");
    if (env && *env) {
        if ((size_t)snprintf(out, cap, "%s/%s", env, rel) >= cap)
            return CTCD_ERR(CTCD_E_INVALID, "path $CTCD_DATA_DIR/%s is too long", rel);
        if (exists(out)) return CTCD_OK;
        return CTCD_ERR(CTCD_E_IO, "'%s' not found ($CTCD_DATA_DIR=%s)", out, env);
    }
    for (int i = 0; i < N_ROOTS; i++) {
        if ((size_t)snprintf(out, cap, "%s/%s", ROOTS[i], rel) >= cap) continue;
        if (exists(out)) return CTCD_OK;
    }
    out[0] = '\0';
    return CTCD_ERR(CTCD_E_IO,
                    "'%s' not found under $CTCD_DATA_DIR (unset), ./data, ../shared/data (and "
                    "its parents' shared/data); download GLUE with scripts/get-glue.sh or set "
                    "CTCD_DATA_DIR",
                    rel);
}
