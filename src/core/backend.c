/* backend.c — choosing a backend by name ("cpu", "cuda", "auto"). A missing GPU is never an
 * abort: "auto" falls back to the CPU, "cuda" reports why it cannot run. */
#include <string.h>

#include "ctcd/backend.h"
#include "ctcd/log.h"
#ifdef CTCD_HAVE_CUDA
#include "ctcd/backend_cuda.h"
#endif

ctcd_status ctcd_backend_create(const char *name, ctcd_backend **out) {
    *out = NULL;
    if (strcmp(name, "cpu") == 0) return ctcd_backend_cpu_create(out);
    if (strcmp(name, "cuda") == 0) {
#ifdef CTCD_HAVE_CUDA
        return ctcd_backend_cuda_create(out);
#else
        return CTCD_ERR(CTCD_E_UNSUPPORTED,
                        "backend 'cuda': this build of ctcd has no CUDA backend (configure "
                        "with nvcc available and -DCTCD_CUDA=ON)");
#endif
    }
    if (strcmp(name, "auto") == 0) {
#ifdef CTCD_HAVE_CUDA
        ctcd_status st = ctcd_backend_cuda_create(out);
        if (!st) return CTCD_OK;
        ctcd_debug("auto backend: CUDA unavailable (%s), using the CPU", ctcd_status_message(st));
        ctcd_status_free(st);
#endif
        return ctcd_backend_cpu_create(out);
    }
    return CTCD_ERR(CTCD_E_INVALID, "unknown backend '%s' (valid: auto, cpu, cuda)", name);
}

void ctcd_backend_destroy(ctcd_backend *be) {
    if (be) be->destroy(be);
}
