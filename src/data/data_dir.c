/* data_dir.c — where ctcd looks for third-party data it never ships (GLUE, the BERT vocab,
 * corpora): $CTCD_DATA_DIR when set, else the first existing of ./data (where
 * scripts/get-glue.sh puts it), ../shared/data and its parents' equivalents (so tools
 * work from the checkout, build/ and build/benchmarks). CTCD_NO_SHARED_DATA=1 drops the
 * shared/data roots: a checkout then behaves as a fresh clone with nothing beside it (the
 * no-data pass of .ci/run). Test hook CTCD_TEST_DATA_TRACE=FILE appends each looked-up
 * `rel` to FILE, so CI can check that every suite that reads data carries the `data`
 * label (tests/check_data_labels.sh). */
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

int ctcd_data_shared_off(void) {
    const char *v = getenv("CTCD_NO_SHARED_DATA");
    return v && *v && strcmp(v, "0") != 0;
}

int ctcd_data_roots(const char **roots, int cap) {
    const char *env = getenv("CTCD_DATA_DIR");
    int n = 0;
    if (env && *env) {
        if (cap > 0) roots[n++] = env;
        return n;
    }
    const int n_roots = ctcd_data_shared_off() ? 1 : N_ROOTS;
    for (int i = 0; i < n_roots && n < cap; i++) roots[n++] = ROOTS[i];
    return n;
}

/* Test hook: records that the running program looked for data (best effort, silent). */
static void trace(const char *rel) {
    const char *path = getenv("CTCD_TEST_DATA_TRACE");
    if (!path || !*path) return;
    FILE *f = fopen(path, "a");
    if (!f) return;
    fprintf(f, "%s\n", rel);
    fclose(f);
}

ctcd_status ctcd_data_find(const char *rel, char *out, size_t cap) {
    trace(rel);
    const char *env = getenv("CTCD_DATA_DIR");
    if (env && *env) {
        if ((size_t)snprintf(out, cap, "%s/%s", env, rel) >= cap)
            return CTCD_ERR(CTCD_E_INVALID, "path $CTCD_DATA_DIR/%s is too long", rel);
        if (exists(out)) return CTCD_OK;
        return CTCD_ERR(CTCD_E_IO, "'%s' not found ($CTCD_DATA_DIR=%s)", out, env);
    }
    const char *roots[N_ROOTS];
    const int n = ctcd_data_roots(roots, N_ROOTS);
    for (int i = 0; i < n; i++) {
        if ((size_t)snprintf(out, cap, "%s/%s", roots[i], rel) >= cap) continue;
        if (exists(out)) return CTCD_OK;
    }
    out[0] = '\0';
    if (ctcd_data_shared_off())
        return CTCD_ERR(CTCD_E_IO,
                        "'%s' not found under $CTCD_DATA_DIR (unset) or ./data "
                        "(CTCD_NO_SHARED_DATA is set: ../shared/data is not looked at); "
                        "download GLUE with scripts/get-glue.sh or set CTCD_DATA_DIR",
                        rel);
    return CTCD_ERR(CTCD_E_IO,
                    "'%s' not found under $CTCD_DATA_DIR (unset), ./data, ../shared/data (and "
                    "its parents' shared/data); download GLUE with scripts/get-glue.sh or set "
                    "CTCD_DATA_DIR",
                    rel);
}
