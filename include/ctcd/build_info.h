/* build_info.h — which ctcd this is: version, git commit, build options and the CPU
 * libraries it runs on. `ctcd --version`, `ctcd doctor`, each run's recipe.yaml header and
 * log.jsonl's first record all print these same facts, so a result can always be traced
 * to the binary that made it. */
#ifndef CTCD_BUILD_INFO_H
#define CTCD_BUILD_INFO_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ctcd_build_info {
    const char *version;      /* CMake project VERSION, e.g. "0.1.0" */
    const char *git_commit;   /* commit the build was configured at (12 hex digits), or
                                 "unknown" when not built from a git checkout */
    int git_dirty;            /* 1: built with uncommitted changes to src, include, cuda or
                                 the CMake files (checked at every build) */
    const char *build_type;   /* CMAKE_BUILD_TYPE ("Release", ...) */
    const char *compiler;     /* the C compiler's version string */
    int cuda;                 /* 1: the CUDA backend is built in (CTCD_HAVE_CUDA) */
    const char *cuda_toolkit; /* the CUDA toolkit it was built with ("" without CUDA) */
    int nccl;                 /* 1: the NCCL transport is built in (CMake CTCD_NCCL) */
    int cuda_emu;             /* 1: CUDA kernels emulated on the CPU (CTCD_CUDA_EMU, tests) */
    int mpi;                  /* 1: MPI data parallelism built in (CTCD_HAVE_MPI) */
    int openmp;               /* _OPENMP of the compiler (yyyymm of the spec), 0 without */
    const char *openblas;     /* openblas_get_config(): version and build flags */
} ctcd_build_info;

/* The facts fixed at build time (static strings; never fails). */
const ctcd_build_info *ctcd_build_info_get(void);
/* One line: "ctcd 0.1.0 (git 0123456789ab, Release[, uncommitted changes]; CUDA 12.4 on, NCCL off, emulation off,
 * MPI on, OpenMP 201511, OpenBLAS 0.3.21 ...; CPU <model name>, OpenBLAS core Haswell)": the
 * build, and the machine facts a run's numbers depend on (recipe.yaml's header, summary.md).
 * Truncated to cap (always terminated). */
void ctcd_build_info_line(char *buf, size_t cap);
/* The same facts as one JSON object (no newline), for log.jsonl's first record and
 * `ctcd doctor --json`: {"version":...,"git_commit":...,"git_dirty":bool,"build_type":...,"cuda":bool,
 * "cuda_toolkit":...,"nccl":bool,"cuda_emu":bool,"mpi":bool,"openmp":N,"openblas":...,
 * "cpu":"<model name>","openblas_core":"Haswell"}.
 * Returns a malloc'd string (NULL when out of memory). */
char *ctcd_build_info_json(void);

/* Threads the CPU backend will use now (runtime, not build, facts): OpenMP's
 * omp_get_max_threads() and OpenBLAS's openblas_get_num_threads(); and OpenBLAS's core
 * (openblas_get_corename(), the kernel set picked for this CPU). */
int ctcd_build_omp_threads(void);
int ctcd_build_blas_threads(void);
const char *ctcd_build_blas_core(void);
/* The CPU's model name (/proc/cpuinfo), "unknown" where it cannot be read. */
void ctcd_build_cpu_model(char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
