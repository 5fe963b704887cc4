/* cmd_doctor.c — `ctcd doctor [--json] [--backend cpu|cuda]`: what this machine offers ctcd,
 * on one screen: the build (include/ctcd/build_info.h), CPU threads, whether each backend
 * can be created (and why not), the CUDA runtime and driver and whether they fit, each GPU,
 * where cuBLASLt and NCCL were found or where they were looked for
 * (include/ctcd/cuda_probe.h, ctcd_nccl_locate), and what the data roots hold (GLUE tasks,
 * vocabulary, corpora, rationales). The facts are gathered into one JSON tree; --json
 * prints it for scripts, otherwise it is rendered as text. --backend B exits 1 when B is
 * unusable (the report is printed first), so a script can gate a GPU run on it. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_args.h"
#include "ctcd/backend.h"
#include "ctcd/backend_create.h"
#include "ctcd/build_info.h"
#include "ctcd/cuda_probe.h"
#include "ctcd/data.h"
#include "ctcd/dist_nccl.h"
#include "ctcd/glue.h"

static void usage(FILE *f) {
    fputs("usage: ctcd doctor [--json] [--backend cpu|cuda]\n"
          "\n"
          "What this machine offers ctcd: build options (CUDA, NCCL, emulation, MPI, OpenMP,\n"
          "OpenBLAS), CPU threads, whether each backend can run (and why not), the CUDA driver\n"
          "and runtime versions, each GPU (memory, SMs, compute capability), where cuBLASLt\n"
          "and NCCL were found or every place looked in, and the data roots with the GLUE\n"
          "tasks, vocabulary, corpora and rationales they hold.\n"
          "\n"
          "options:\n"
          "  --json            the same report as one JSON object (for scripts)\n"
          "  --backend B       exit 1 when backend B (cpu or cuda) is unusable\n"
          "  -h, --help        this help\n",
          f);
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* {"usable":bool[,"reason":"..."]} for backend name. */
static cJSON *backend_entry(const char *name) {
    cJSON *o = cJSON_CreateObject();
    ctcd_backend *be = NULL;
    ctcd_status st = ctcd_backend_create(name, &be);
    cJSON_AddBoolToObject(o, "usable", st == CTCD_OK);
    if (st) cJSON_AddStringToObject(o, "reason", ctcd_status_message(st));
    ctcd_status_free(st);
    ctcd_backend_destroy(be);
    return o;
}

static void add_version(cJSON *o, const char *key, int v) {
    char s[32];
    if (v > 0) snprintf(s, sizeof s, "%d.%d", v / 1000, v % 1000 / 10);
    else snprintf(s, sizeof s, "none");
    cJSON_AddStringToObject(o, key, s);
}

static cJSON *cuda_entry(void) {
    ctcd_cuda_report r;
    ctcd_cuda_probe(&r);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "built", r.built);
    cJSON_AddBoolToObject(o, "emulated", r.emulated);
    if (r.built && !r.emulated) {
        add_version(o, "runtime", r.runtime_version);
        add_version(o, "driver", r.driver_version);
        cJSON_AddBoolToObject(o, "driver_fits", r.driver_fits);
    }
    cJSON *gpus = cJSON_AddArrayToObject(o, "gpus");
    for (int i = 0; i < r.n_gpus && i < CTCD_PROBE_MAX_GPUS; i++) {
        const ctcd_probe_gpu *g = &r.gpus[i];
        cJSON *e = cJSON_CreateObject();
        char cc[16];
        snprintf(cc, sizeof cc, "%d.%d", g->cc_major, g->cc_minor);
        cJSON_AddNumberToObject(e, "index", i);
        cJSON_AddStringToObject(e, "name", g->name);
        cJSON_AddNumberToObject(e, "memory_mib", (double)(g->mem_total >> 20));
        cJSON_AddNumberToObject(e, "free_mib", (double)(g->mem_free >> 20));
        cJSON_AddNumberToObject(e, "sm_count", g->sm_count);
        cJSON_AddStringToObject(e, "compute_capability", cc);
        cJSON_AddItemToArray(gpus, e);
    }
    if (r.device_error[0]) cJSON_AddStringToObject(o, "device_error", r.device_error);
    cJSON *lt = cJSON_AddObjectToObject(o, "cublaslt");
    cJSON_AddBoolToObject(lt, "found", r.cublaslt_ok);
    cJSON_AddStringToObject(lt, r.cublaslt_ok ? "path" : "error", r.cublaslt);
    return o;
}

static cJSON *nccl_entry(void) {
    char where[1024];
    const int ok = ctcd_nccl_locate(where, sizeof where);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "built", ctcd_comm_have_nccl());
    cJSON_AddBoolToObject(o, "found", ok);
    cJSON_AddStringToObject(o, ok ? "path" : "error", where);
    return o;
}

/* The names of the subdirectories and files of dir, sorted (an empty array when absent). */
static cJSON *list_dir(const char *dir) {
    cJSON *a = cJSON_CreateArray();
    struct dirent **names = NULL;
    const int n = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.' && strcmp(names[i]->d_name, "README.md") != 0 &&
            strcmp(names[i]->d_name, "LICENSE") != 0)
            cJSON_AddItemToArray(a, cJSON_CreateString(names[i]->d_name));
        free(names[i]);
    }
    free(names);
    return a;
}

/* One data root: whether it exists and what ctcd can use from it. */
static cJSON *root_entry(const char *root) {
    cJSON *o = cJSON_CreateObject();
    char p[4400];
    cJSON_AddStringToObject(o, "path", root);
    const int exists = is_dir(root);
    cJSON_AddBoolToObject(o, "exists", exists);
    if (!exists) return o;
    cJSON *glue = cJSON_AddArrayToObject(o, "glue");
    for (int i = 0; i < ctcd_glue_n_tasks(); i++) {
        const ctcd_glue_task *t = ctcd_glue_task_at(i);
        snprintf(p, sizeof p, "%s/glue/%s", root, t->dir);
        if (is_dir(p)) cJSON_AddItemToArray(glue, cJSON_CreateString(t->dir));
    }
    snprintf(p, sizeof p, "%s/vocab/bert-base-uncased-vocab.txt", root);
    cJSON_AddBoolToObject(o, "vocab", is_file(p));
    snprintf(p, sizeof p, "%s/corpus", root);
    cJSON_AddItemToObject(o, "corpus", list_dir(p));
    snprintf(p, sizeof p, "%s/rationales/distilling-step-by-step", root);
    cJSON_AddItemToObject(o, "rationales", list_dir(p));
    return o;
}

static cJSON *data_entry(void) {
    cJSON *o = cJSON_CreateObject();
    const char *env = getenv("CTCD_DATA_DIR");
    cJSON_AddStringToObject(o, "CTCD_DATA_DIR", env ? env : "");
    cJSON_AddBoolToObject(o, "shared_off", ctcd_data_shared_off());
    const char *roots[16];
    const int n = ctcd_data_roots(roots, 16);
    cJSON *a = cJSON_AddArrayToObject(o, "roots");
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, root_entry(roots[i]));
    return o;
}

static cJSON *gather(void) {
    cJSON *rep = cJSON_CreateObject();
    char *build = ctcd_build_info_json();
    cJSON_AddItemToObject(rep, "build", build ? cJSON_Parse(build) : cJSON_CreateNull());
    free(build);
    cJSON *th = cJSON_AddObjectToObject(rep, "threads");
    cJSON_AddNumberToObject(th, "openmp", ctcd_build_omp_threads());
    cJSON_AddNumberToObject(th, "openblas", ctcd_build_blas_threads());
    cJSON_AddStringToObject(th, "openblas_core", ctcd_build_blas_core());
    cJSON *be = cJSON_AddObjectToObject(rep, "backends");
    cJSON_AddItemToObject(be, "cpu", backend_entry("cpu"));
    cJSON_AddItemToObject(be, "cuda", backend_entry("cuda"));
    cJSON_AddItemToObject(rep, "cuda", cuda_entry());
    cJSON_AddItemToObject(rep, "nccl", nccl_entry());
    cJSON_AddItemToObject(rep, "data", data_entry());
    return rep;
}

/* ---- the text screen ---- */

static const char *str(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static int flag(const cJSON *o, const char *key) {
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static void print_list(const cJSON *a) {
    const cJSON *e;
    int n = 0;
    cJSON_ArrayForEach(e, a) printf("%s%s", n++ ? " " : "", e->valuestring);
    if (!n) printf("none");
}

static void print_text(const cJSON *rep) {
    char line[1024];
    ctcd_build_info_line(line, sizeof line);
    printf("%s\n", line);
    const cJSON *th = cJSON_GetObjectItem(rep, "threads");
    printf("threads   OpenMP %d, OpenBLAS %d (core %s)\n",
           cJSON_GetObjectItem(th, "openmp")->valueint,
           cJSON_GetObjectItem(th, "openblas")->valueint, str(th, "openblas_core"));
    const cJSON *bes = cJSON_GetObjectItem(rep, "backends"), *b;
    int first = 1;
    cJSON_ArrayForEach(b, bes) {
        printf("%s%-5s %s%s%s\n", first ? "backends  " : "          ", b->string,
               flag(b, "usable") ? "usable" : "UNUSABLE", flag(b, "usable") ? "" : ": ",
               str(b, "reason"));
        first = 0;
    }
    const cJSON *cu = cJSON_GetObjectItem(rep, "cuda");
    if (!flag(cu, "built")) {
        printf("CUDA      not built\n");
    } else if (flag(cu, "emulated")) {
        printf("CUDA      emulated on the CPU (CTCD_CUDA_EMU)\n");
    } else {
        printf("CUDA      runtime %s, driver %s: %s\n", str(cu, "runtime"), str(cu, "driver"),
               flag(cu, "driver_fits") ? "they fit"
               : strcmp(str(cu, "driver"), "none") == 0 ? "no driver"
                                                        : "the driver is too old");
    }
    const cJSON *gpus = cJSON_GetObjectItem(cu, "gpus"), *g;
    if (!cJSON_GetArraySize(gpus)) printf("GPUs      none: %s\n", str(cu, "device_error"));
    cJSON_ArrayForEach(g, gpus)
        printf("GPU %-5d %s, %.1f GiB (%.1f free), %d SMs, compute capability %s\n",
               cJSON_GetObjectItem(g, "index")->valueint, str(g, "name"),
               cJSON_GetObjectItem(g, "memory_mib")->valuedouble / 1024.0,
               cJSON_GetObjectItem(g, "free_mib")->valuedouble / 1024.0,
               cJSON_GetObjectItem(g, "sm_count")->valueint, str(g, "compute_capability"));
    const cJSON *lt = cJSON_GetObjectItem(cu, "cublaslt");
    if (flag(cu, "built"))
        printf("cuBLASLt  %s%s\n", flag(lt, "found") ? "" : "not found: ",
               flag(lt, "found") ? str(lt, "path") : str(lt, "error"));
    const cJSON *nc = cJSON_GetObjectItem(rep, "nccl");
    printf("NCCL      %s%s\n", flag(nc, "found") ? "" : "not found: ",
           flag(nc, "found") ? str(nc, "path") : str(nc, "error"));
    const cJSON *d = cJSON_GetObjectItem(rep, "data"), *r;
    printf("data      $CTCD_DATA_DIR %s%s\n",
           str(d, "CTCD_DATA_DIR")[0] ? str(d, "CTCD_DATA_DIR") : "(unset)",
           flag(d, "shared_off") ? "; CTCD_NO_SHARED_DATA: ../shared/data not looked at" : "");
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(d, "roots")) {
        printf("  %s: ", str(r, "path"));
        if (!flag(r, "exists")) {
            printf("absent\n");
            continue;
        }
        printf("GLUE ");
        print_list(cJSON_GetObjectItem(r, "glue"));
        printf("; vocab %s; corpus ", flag(r, "vocab") ? "yes" : "no");
        print_list(cJSON_GetObjectItem(r, "corpus"));
        printf("; rationales ");
        print_list(cJSON_GetObjectItem(r, "rationales"));
        printf("\n");
    }
}

int ctcd_cmd_doctor(int argc, char **argv) {
    int json = 0;
    const char *backend = NULL;
    const cli_opt opts[] = {CLI_OPT_FLAG("--json", &json), CLI_OPT_STR("--backend", &backend)};
    const cli_spec sp = {"doctor", usage, opts, CLI_N(opts), NULL, NULL, 0};
    int rc = cli_parse(&sp, argc, argv);
    if (rc >= 0) return rc;
    if (backend && strcmp(backend, "cpu") != 0 && strcmp(backend, "cuda") != 0) {
        fprintf(stderr, "ctcd doctor: --backend must be cpu or cuda (got '%s')\n", backend);
        return 2;
    }
    cJSON *rep = gather();
    if (json) {
        char *text = cJSON_Print(rep);
        if (text) printf("%s\n", text);
        free(text);
    } else {
        print_text(rep);
    }
    rc = 0;
    if (backend) {
        const cJSON *b = cJSON_GetObjectItem(cJSON_GetObjectItem(rep, "backends"), backend);
        if (!flag(b, "usable")) {
            fprintf(stderr, "ctcd doctor: backend %s is unusable: %s\n", backend,
                    str(b, "reason"));
            rc = 1;
        }
    }
    cJSON_Delete(rep);
    return rc;
}
