/* libfind.h — finding an optional shared library that ctcd loads at run time (cuBLASLt;
 * NCCL can use the same search), in every place a CUDA install may have put it, and
 * remembering each place looked in, so that a failure — or `ctcd doctor` — says exactly
 * where ctcd looked and what the loader answered there.
 *
 * Search order; the first library that dlopen() accepts wins:
 *   1. "env"     the file named by the environment variable spec->env, when set and not empty;
 *   2. "loader"  each of spec->names through the default loader path (LD_LIBRARY_PATH,
 *                /etc/ld.so.cache, the binary's RUNPATH);
 *   3. "toolkit" each name in the CUDA toolkit's library folders: $CUDA_HOME, $CUDA_PATH,
 *                $CUDA_ROOT, the toolkit of the nvcc found on PATH, /usr/local/cuda — each
 *                with lib64, targets/<arch>-linux/lib and lib;
 *   4. "python"  each name in <dir>/<package>/lib for every `nvidia` package folder of the
 *                python3 found on PATH (PyTorch's CUDA wheels: nvidia/cu13/lib,
 *                nvidia/cublas/lib, ...). python3 runs only when steps 1-3 found nothing;
 *                a missing python3 is one line in the report, never an error of its own.
 * A library file that is there but cannot be loaded (wrong architecture, a dependency
 * missing) is reported with the loader's own message (dlerror), as is every failure of
 * steps 1 and 2; a folder that does not exist or holds none of the names is one line. */
#ifndef CTCD_LIBFIND_H
#define CTCD_LIBFIND_H

#include <stddef.h>

#include "ctcd/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags of ctcd_lib_spec: leave out a step (tests use them to reach a later step on a
 * machine where an earlier one would succeed; doctor may use them to list each place). */
enum {
    CTCD_LIBFIND_NO_ENV = 1u << 0,
    CTCD_LIBFIND_NO_LOADER = 1u << 1,
    CTCD_LIBFIND_NO_TOOLKIT = 1u << 2,
    CTCD_LIBFIND_NO_PYTHON = 1u << 3
};

typedef struct ctcd_lib_spec {
    const char *what;         /* for messages: "cuBLASLt" */
    const char *env;          /* variable naming a file to try first ("CTCD_CUBLASLT"), or NULL */
    const char *const *names; /* file names, best first, NULL-terminated: "libcublasLt.so.13" */
    unsigned flags;           /* CTCD_LIBFIND_NO_*; 0 for the full search */
} ctcd_lib_spec;

#define CTCD_LIBFIND_PATH_CAP 1024
#define CTCD_LIBFIND_TRIED_CAP 6144

typedef struct ctcd_lib_found {
    void *handle; /* dlopen(RTLD_NOW | RTLD_LOCAL) handle; NULL when not found; never closed
                     by ctcd (the library stays loaded for the life of the process) */
    char path[CTCD_LIBFIND_PATH_CAP]; /* the file loaded, absolute when the loader says
                                         where it took it from; "" when not found */
    const char *origin; /* "env" | "loader" | "toolkit" | "python"; NULL when not found */
    int n_tried;        /* failed attempts recorded in `tried` (lines dropped when it is full
                           are counted too) */
    char tried[CTCD_LIBFIND_TRIED_CAP]; /* one line per failed attempt, in search order:
                                           "<step> <place>: <reason>\n" */
} ctcd_lib_found;

/* Runs the search above and fills *found in every case (found->tried lists the attempts
 * that failed before the one that worked, or all of them). Returns CTCD_OK when the library
 * was loaded, else CTCD_E_UNSUPPORTED with a message naming spec->what and listing every
 * attempt. Not thread-safe on its own (the environment and python3 are read each call):
 * callers load once, under pthread_once or before starting threads. */
ctcd_status ctcd_lib_find(const ctcd_lib_spec *spec, ctcd_lib_found *found);

#ifdef __cplusplus
}
#endif
#endif
