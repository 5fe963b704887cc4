/* build_info.c — the facts of include/ctcd/build_info.h. The version, commit, build type
 * and the options that only CMake knows (NCCL, the CUDA toolkit version) come from
 * ctcd_build_config.h, which CMake generates and rewrites only when its text changes, so a
 * new commit recompiles this file and nothing else. */
#include "ctcd/build_info.h"
#include "ctcd_build_config.h"
#include "ctcd_git_dirty.h"

#include <cblas.h>
#include <cjson/cJSON.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const ctcd_build_info *ctcd_build_info_get(void) {
    static ctcd_build_info bi;
    if (!bi.version) {
        bi = (ctcd_build_info){
            .version = CTCD_VERSION,
            .git_commit = CTCD_GIT_COMMIT,
            .git_dirty = CTCD_GIT_DIRTY,
            .build_type = CTCD_BUILD_TYPE,
#ifdef __VERSION__
            .compiler = __VERSION__,
#else
            .compiler = "unknown",
#endif
#ifdef CTCD_HAVE_CUDA
            .cuda = 1,
            .cuda_toolkit = CTCD_CUDA_TOOLKIT,
#else
            .cuda_toolkit = "",
#endif
            .nccl = CTCD_BUILD_NCCL,
#ifdef CTCD_CUDA_EMU
            .cuda_emu = 1,
#endif
#ifdef CTCD_HAVE_MPI
            .mpi = 1,
#endif
#ifdef _OPENMP
            .openmp = _OPENMP,
#endif
            .openblas = openblas_get_config(),
        };
    }
    return &bi;
}

void ctcd_build_info_line(char *buf, size_t cap) {
    const ctcd_build_info *b = ctcd_build_info_get();
    char cuda[64];
    if (b->cuda)
        snprintf(cuda, sizeof cuda, "CUDA %s%son", b->cuda_toolkit, b->cuda_toolkit[0] ? " " : "");
    else snprintf(cuda, sizeof cuda, "CUDA off");
    char cpu[128];
    ctcd_build_cpu_model(cpu, sizeof cpu);
    snprintf(buf, cap, "ctcd %s (git %s, %s%s; %s, NCCL %s, emulation %s, MPI %s, OpenMP %d, "
             "%s; CPU %s, OpenBLAS core %s)",
             b->version, b->git_commit, b->build_type[0] ? b->build_type : "no build type",
             b->git_dirty ? ", uncommitted changes" : "",
             cuda, b->nccl ? "on" : "off", b->cuda_emu ? "on" : "off", b->mpi ? "on" : "off",
             b->openmp, b->openblas ? b->openblas : "OpenBLAS unknown", cpu,
             ctcd_build_blas_core());
}

char *ctcd_build_info_json(void) {
    const ctcd_build_info *b = ctcd_build_info_get();
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "version", b->version);
    cJSON_AddStringToObject(o, "git_commit", b->git_commit);
    cJSON_AddBoolToObject(o, "git_dirty", b->git_dirty);
    cJSON_AddStringToObject(o, "build_type", b->build_type);
    cJSON_AddBoolToObject(o, "cuda", b->cuda);
    cJSON_AddStringToObject(o, "cuda_toolkit", b->cuda_toolkit);
    cJSON_AddBoolToObject(o, "nccl", b->nccl);
    cJSON_AddBoolToObject(o, "cuda_emu", b->cuda_emu);
    cJSON_AddBoolToObject(o, "mpi", b->mpi);
    cJSON_AddNumberToObject(o, "openmp", b->openmp);
    cJSON_AddStringToObject(o, "openblas", b->openblas ? b->openblas : "");
    char cpu[128];
    ctcd_build_cpu_model(cpu, sizeof cpu);
    cJSON_AddStringToObject(o, "cpu", cpu);
    cJSON_AddStringToObject(o, "openblas_core", ctcd_build_blas_core());
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

int ctcd_build_omp_threads(void) { return omp_get_max_threads(); }
int ctcd_build_blas_threads(void) { return openblas_get_num_threads(); }
const char *ctcd_build_blas_core(void) {
    const char *c = openblas_get_corename();
    return c ? c : "";
}

void ctcd_build_cpu_model(char *buf, size_t cap) {
    snprintf(buf, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        const char *v = strchr(line, ':');
        if (!v) continue;
        v += strspn(v + 1, " \t") + 1;
        snprintf(buf, cap, "%.*s", (int)strcspn(v, "\n"), v);
        break;
    }
    fclose(f);
}
