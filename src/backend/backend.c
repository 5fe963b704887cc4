/* backend.c — choosing a backend by name ("cpu", "cuda", "auto") and precision ("bf16",
 * "fp32"). A missing GPU is never an abort: "auto" falls back to the CPU, "cuda" reports why
 * it cannot run. */
#include <string.h>

#include "ctcd/backend.h"
#include "ctcd/backend_cpu.h"
#include "ctcd/backend_create.h"
#include "ctcd/log.h"
#ifdef CTCD_HAVE_CUDA
#include "ctcd/backend_cuda.h"
#endif

ctcd_status ctcd_backend_create_precision(const char *name, const char *precision,
                                          ctcd_backend **out) {
    *out = NULL;
    if (!precision) precision = "bf16";
    int fp32 = 0;
    if (strcmp(precision, "fp32") == 0) {
        fp32 = 1;
    } else if (strcmp(precision, "bf16") != 0) {
        return CTCD_ERR(CTCD_E_INVALID, "unknown precision '%s' (valid: bf16, fp32)", precision);
    }
#ifdef CTCD_HAVE_CUDA
    const ctcd_dtype act = fp32 ? CTCD_F32 : CTCD_BF16;
#else
    (void)fp32;
#endif
    if (strcmp(name, "cpu") == 0) return ctcd_backend_cpu_create(out);
    if (strcmp(name, "cuda") == 0) {
#ifdef CTCD_HAVE_CUDA
        return ctcd_backend_cuda_create_ex(act, out);
#else
        return CTCD_ERR(CTCD_E_UNSUPPORTED,
                        "backend 'cuda': this build of ctcd has no CUDA backend (configure "
                        "with nvcc available and -DCTCD_CUDA=ON)");
#endif
    }
    if (strcmp(name, "auto") == 0) {
#ifdef CTCD_HAVE_CUDA
        ctcd_status st = ctcd_backend_cuda_create_ex(act, out);
        if (!st) return CTCD_OK;
        ctcd_debug("auto backend: CUDA unavailable (%s), using the CPU", ctcd_status_message(st));
        ctcd_status_free(st);
#endif
        return ctcd_backend_cpu_create(out);
    }
    return CTCD_ERR(CTCD_E_INVALID, "unknown backend '%s' (valid: auto, cpu, cuda)", name);
}

ctcd_status ctcd_backend_create(const char *name, ctcd_backend **out) {
    return ctcd_backend_create_precision(name, "bf16", out);
}

void ctcd_backend_destroy(ctcd_backend *be) {
    if (be) be->destroy(be);
}
