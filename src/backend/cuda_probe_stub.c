/* cuda_probe_stub.c — ctcd_cuda_probe of a build without CUDA (include/ctcd/cuda_probe.h);
 * CUDA builds get cuda/cuda_probe.cu instead. */
#include "ctcd/cuda_probe.h"

#ifndef CTCD_HAVE_CUDA
#include <stdio.h>
#include <string.h>

void ctcd_cuda_probe(ctcd_cuda_report *r) {
    memset(r, 0, sizeof *r);
    snprintf(r->device_error, sizeof r->device_error,
             "this build of ctcd has no CUDA backend (configure with nvcc available and "
             "-DCTCD_CUDA=ON)");
    snprintf(r->cublaslt, sizeof r->cublaslt, "not used (no CUDA in this build)");
}
#else
/* ISO C forbids an empty translation unit. */
typedef int ctcd_cuda_probe_stub_unused;
#endif
