/* cuda_probe.h — what the CUDA side of this machine offers ctcd, for `ctcd doctor`: the
 * runtime this build carries and the driver it finds, each GPU, and where cuBLASLt was
 * loaded from (or why not). cuda/cuda_probe.cu implements it in CUDA builds;
 * src/backend/cuda_probe_stub.c reports "not built" otherwise. Never aborts and never needs a
 * GPU: every failure becomes a message in the report. Whether the backend itself can run
 * is ctcd_backend_create("cuda")'s answer, not this report's. */
#ifndef CTCD_CUDA_PROBE_H
#define CTCD_CUDA_PROBE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { CTCD_PROBE_MAX_GPUS = 16 };

typedef struct ctcd_probe_gpu {
    char name[256];
    size_t mem_total, mem_free; /* bytes (mem_free: 0 when the device could not be opened) */
    int sm_count;
    int cc_major, cc_minor;     /* compute capability */
} ctcd_probe_gpu;

typedef struct ctcd_cuda_report {
    int built;               /* 0: this build has no CUDA (everything below is empty) */
    int emulated;            /* 1: CTCD_CUDA_EMU (kernels run on the CPU; no driver used) */
    int runtime_version;     /* CUDA runtime built in, e.g. 12040 for 12.4 */
    int driver_version;      /* the driver's CUDA version, 0 when no driver is loaded */
    int driver_fits;         /* 1: the driver can run this runtime (same or newer, or the
                                same major version: minor-version compatibility) */
    int n_gpus;              /* devices seen (gpus[] holds the first CTCD_PROBE_MAX_GPUS) */
    ctcd_probe_gpu gpus[CTCD_PROBE_MAX_GPUS];
    char device_error[512];  /* why no device could be listed, "" when fine */
    int cublaslt_ok;         /* 1: cuBLASLt loaded */
    char cublaslt[1024];     /* its path (and version) when loaded, else the loader's error,
                                which lists the places looked in */
} ctcd_cuda_report;

/* Fills r (zeroed first). */
void ctcd_cuda_probe(ctcd_cuda_report *r);

#ifdef __cplusplus
}
#endif
#endif
