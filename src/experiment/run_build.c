/* run_build.c — which binary and machine made a run, read back from the first record of its
 * log.jsonl ({"ctcd": ctcd_build_info_json()}), and the tally of those over an experiment's
 * runs that compare's summary prints: a table mixing binaries or CPUs says so. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "experiment_internal.h"

/* "git 0123456789ab[, uncommitted changes] on <CPU model> (OpenBLAS core <core>)", or "unknown
 * build (<why>)" when the log cannot say. */
static void run_build(const char *run_dir, char *buf, size_t cap) {
    char path[CTCD_PATH_MAX + 32], line[4096];
    snprintf(path, sizeof path, "%s/log.jsonl", run_dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(buf, cap, "unknown build (no log.jsonl)");
        return;
    }
    const int got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    cJSON *root = got ? cJSON_Parse(line) : NULL;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "ctcd");
    const cJSON *git = cJSON_GetObjectItemCaseSensitive(c, "git_commit");
    const cJSON *cpu = cJSON_GetObjectItemCaseSensitive(c, "cpu");
    const cJSON *core = cJSON_GetObjectItemCaseSensitive(c, "openblas_core");
    if (cJSON_IsString(git))
        snprintf(buf, cap, "git %s%s on %s (OpenBLAS core %s)", git->valuestring,
                 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "git_dirty"))
                     ? ", uncommitted changes" : "",
                 cJSON_IsString(cpu) ? cpu->valuestring : "?",
                 cJSON_IsString(core) ? core->valuestring : "?");
    else
        snprintf(buf, cap, "unknown build (log.jsonl's first line has no ctcd record)");
    cJSON_Delete(root);
}

void ctcd_builds_add(ctcd_build_tally *t, const char *run_dir) {
    char what[CTCD_BUILD_DESC_MAX];
    run_build(run_dir, what, sizeof what);
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->build[i].what, what) == 0) {
            t->build[i].runs++;
            return;
        }
    if (t->n == CTCD_MAX_BUILDS) {
        t->other_runs++;
        return;
    }
    snprintf(t->build[t->n].what, sizeof t->build[t->n].what, "%s", what);
    t->build[t->n++].runs = 1;
}

void ctcd_builds_print(FILE *f, const ctcd_build_tally *t) {
    fputs("Made by: ", f);
    for (int i = 0; i < t->n; i++)
        fprintf(f, "%s%s: %d run%s", i ? "; " : "", t->build[i].what, t->build[i].runs,
                t->build[i].runs == 1 ? "" : "s");
    if (t->other_runs) fprintf(f, "; %d runs of other builds", t->other_runs);
    fputs(t->n + (t->other_runs > 0) > 1 ? " — more than one build or machine\n" : "\n", f);
}

cJSON *ctcd_builds_json(const ctcd_build_tally *t) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < t->n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "build", t->build[i].what);
        cJSON_AddNumberToObject(o, "runs", t->build[i].runs);
        cJSON_AddItemToArray(a, o);
    }
    if (a && t->other_runs) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "build", "other");
        cJSON_AddNumberToObject(o, "runs", t->other_runs);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}
