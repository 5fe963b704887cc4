/* test_doctor.c — `ctcd --version` and `ctcd doctor`: the version line carries the version,
 * commit and build options of this binary; doctor's JSON names the CPU backend usable and,
 * on a machine without a GPU, the CUDA backend unusable with its reason, and --backend
 * turns an unusable backend into a failing exit status; its data section lists what a
 * data root holds. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctcd/build_info.h"
#include "testutil.h"

Test(version, names_version_commit_and_build_options) {
    const ctcd_build_info *bi = ctcd_build_info_get();
    int major = -1, minor = -1, patch = -1;
    cr_assert_eq(sscanf(bi->version, "%d.%d.%d", &major, &minor, &patch), 3,
                 "version '%s' is not CMake's project VERSION", bi->version);
    cr_assert(strlen(bi->git_commit) == 12 || strcmp(bi->git_commit, "unknown") == 0,
              "git commit '%s'", bi->git_commit);
    char *out = NULL;
    const int rc = ctcd_test_run_cli("--version", &out);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    char want[256];
    snprintf(want, sizeof want, "ctcd %s (git %s, ", bi->version, bi->git_commit);
    cr_assert_eq(strncmp(out, want, strlen(want)), 0, "--version printed:\n%s\nwant %s...", out,
                 want);
    static const char *const parts[] = {"CUDA ", "NCCL ", "emulation ", "MPI ", "OpenMP ",
                                        "OpenBLAS", "threads: OpenMP "};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        cr_assert_not_null(strstr(out, parts[i]), "--version lacks '%s':\n%s", parts[i], out);
    cr_assert_not_null(strstr(out, bi->cuda ? "CUDA " : "CUDA off"), "%s", out);
    free(out);
}

/* `ctcd doctor --json` (extra: more arguments), parsed from the first line that opens an
 * object (stderr is captured too); the exit status into *rc. */
static cJSON *doctor_json(const char *extra, int *rc) {
    char args[512], *out = NULL;
    snprintf(args, sizeof args, "doctor --json %s", extra);
    *rc = ctcd_test_run_cli(args, &out);
    const char *start = out[0] == '{' ? out : strstr(out, "\n{");
    cJSON *j = start ? cJSON_Parse(start) : NULL;
    cr_assert_not_null(j, "doctor --json printed no JSON:\n%s", out);
    free(out);
    return j;
}

static const cJSON *at(const cJSON *o, const char *a, const char *b) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, a), b);
    cr_assert_not_null(v, "doctor JSON has no %s.%s", a, b);
    return v;
}

Test(doctor, json_names_cpu_usable_and_cuda_with_reason, .timeout = 60) {
    int rc = -1;
    cJSON *j = doctor_json("", &rc);
    cr_assert_eq(rc, 0, "doctor --json exit %d", rc);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(at(j, "backends", "cpu"), "usable")),
              "the CPU backend must be usable");
    const cJSON *cuda = at(j, "backends", "cuda");
    const int gpus = cJSON_GetArraySize(at(j, "cuda", "gpus"));
    const int emulated = cJSON_IsTrue(at(j, "cuda", "emulated"));
    if (!gpus && !emulated) {
        /* this machine (no GPU; CUDA built or not): CUDA is unusable and says why */
        cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(cuda, "usable")), "CUDA usable without a GPU");
        const cJSON *why = cJSON_GetObjectItem(cuda, "reason");
        cr_assert(cJSON_IsString(why) && strlen(why->valuestring) > 10, "no reason given");
        cr_assert(cJSON_IsString(at(j, "cuda", "device_error")), "no device error");
    }
    const cJSON *build = cJSON_GetObjectItem(j, "build");
    cr_assert_str_eq(cJSON_GetObjectItem(build, "version")->valuestring,
                     ctcd_build_info_get()->version);
    cr_assert_eq(cJSON_IsTrue(cJSON_GetObjectItem(build, "cuda")), ctcd_build_info_get()->cuda);
    cr_assert(cJSON_IsNumber(at(j, "threads", "openmp")) && at(j, "threads", "openmp")->valueint >= 1);
    const cJSON *lt = at(j, "cuda", "cublaslt");
    if (ctcd_build_info_get()->cuda && !emulated)
        cr_assert(cJSON_IsString(cJSON_GetObjectItem(lt, "path")) ||
                      cJSON_IsString(cJSON_GetObjectItem(lt, "error")),
                  "cuBLASLt: neither where it was found nor why not");
    cr_assert(cJSON_IsBool(at(j, "nccl", "found")));
    cJSON_Delete(j);
}

Test(doctor, backend_option_fails_when_that_backend_is_unusable, .timeout = 60) {
    int rc = -1;
    cJSON *j = doctor_json("", &rc);
    const int cuda_ok = cJSON_IsTrue(cJSON_GetObjectItem(at(j, "backends", "cuda"), "usable"));
    cJSON_Delete(j);
    char *out = NULL;
    rc = ctcd_test_run_cli("doctor --backend cuda", &out);
    if (cuda_ok) {
        cr_assert_eq(rc, 0, "CUDA usable but --backend cuda exit %d:\n%s", rc, out);
    } else {
        cr_assert_eq(rc, 1, "CUDA unusable but --backend cuda exit %d:\n%s", rc, out);
        cr_assert_not_null(strstr(out, "backend cuda is unusable: "), "reason not named:\n%s", out);
    }
    free(out);
    rc = ctcd_test_run_cli("doctor --backend cpu", &out);
    cr_assert_eq(rc, 0, "--backend cpu exit %d:\n%s", rc, out);
    cr_assert_not_null(strstr(out, "cpu   usable"), "text screen:\n%s", out);
    free(out);
    rc = ctcd_test_run_cli("doctor --backend tpu", &out);
    cr_assert_eq(rc, 2, "--backend tpu exit %d:\n%s", rc, out);
    free(out);
}

Test(doctor, data_section_lists_what_a_root_holds, .timeout = 60) {
    char *dir = ctcd_test_tmpdir(), p[4400];
    snprintf(p, sizeof p, "%s/glue/SST-2", dir);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' '%s/glue/MNLI' '%s/vocab' '%s/corpus/wiki' "
             "'%s/rationales/distilling-step-by-step/esnli'", p, dir, dir, dir, dir);
    cr_assert_eq(system(cmd), 0);
    snprintf(p, sizeof p, "%s/vocab/bert-base-uncased-vocab.txt", dir);
    cr_assert_eq(ctcd_test_write_file(p, "[PAD]\n"), 0);
    cr_assert_eq(setenv("CTCD_DATA_DIR", dir, 1), 0);
    int rc = -1;
    cJSON *j = doctor_json("", &rc);
    const cJSON *roots = at(j, "data", "roots");
    cr_assert_eq(cJSON_GetArraySize(roots), 1, "$CTCD_DATA_DIR is the only root when set");
    const cJSON *r = cJSON_GetArrayItem(roots, 0);
    cr_assert_str_eq(cJSON_GetObjectItem(r, "path")->valuestring, dir);
    char *glue = cJSON_PrintUnformatted(cJSON_GetObjectItem(r, "glue"));
    cr_assert_str_eq(glue, "[\"SST-2\",\"MNLI\"]", "GLUE tasks (GLUE order): %s", glue);
    free(glue);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(r, "vocab")));
    char *corpus = cJSON_PrintUnformatted(cJSON_GetObjectItem(r, "corpus"));
    cr_assert_str_eq(corpus, "[\"wiki\"]");
    free(corpus);
    char *rat = cJSON_PrintUnformatted(cJSON_GetObjectItem(r, "rationales"));
    cr_assert_str_eq(rat, "[\"esnli\"]");
    free(rat);
    cJSON_Delete(j);
    /* With the shared fallback off and no $CTCD_DATA_DIR only ./data is looked at. */
    unsetenv("CTCD_DATA_DIR");
    setenv("CTCD_NO_SHARED_DATA", "1", 1);
    j = doctor_json("", &rc);
    roots = at(j, "data", "roots");
    cr_assert_eq(cJSON_GetArraySize(roots), 1);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(roots, 0), "path")->valuestring,
                     "data");
    cr_assert(cJSON_IsTrue(at(j, "data", "shared_off")));
    cJSON_Delete(j);
    unsetenv("CTCD_NO_SHARED_DATA");
    ctcd_test_rmtree(dir);
    free(dir);
}
