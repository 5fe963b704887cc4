/* cuda_probe.cu — ctcd_cuda_probe (include/ctcd/cuda_probe.h) of a CUDA build: runtime and
 * driver versions, each device's properties, and where cuBLASLt came from. Only queries:
 * no context beyond what cudaMemGetInfo needs, no allocation, and every failure is text
 * in the report. cuBLASLt is loaded through lt_loader.cu's own search (ctcd_cuda_lt_load,
 * whose error lists where it looked; ctcd_cuda_lt_location says where it was found). The
 * emulation build (CTCD_CUDA_EMU) answers the same queries with its "cpu-emu" device. */
#include "ctcd/cuda_probe.h"

#include <stdio.h>
#include <string.h>

#include "cuda_common.cuh"
#include "ctcd/backend_cuda.h"

static void probe_devices(ctcd_cuda_report *r) {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        snprintf(r->device_error, sizeof r->device_error, "%s",
                 e == cudaErrorInsufficientDriver && r->driver_version == 0
                     ? "no NVIDIA driver is loaded (libcuda.so.1 not found), so no CUDA device"
                 : e == cudaErrorNoDevice ? "no CUDA device found"
                                          : cudaGetErrorString(e));
        if (e != cudaErrorInsufficientDriver && e != cudaErrorNoDevice) {
            const size_t len = strlen(r->device_error);
            snprintf(r->device_error + len, sizeof r->device_error - len, " (%s)",
                     cudaGetErrorName(e));
        }
        return;
    }
    if (n == 0) {
        snprintf(r->device_error, sizeof r->device_error, "no CUDA device found");
        return;
    }
    r->n_gpus = n;
    for (int d = 0; d < n && d < CTCD_PROBE_MAX_GPUS; d++) {
        ctcd_probe_gpu *g = &r->gpus[d];
        cudaDeviceProp p;
        if (cudaGetDeviceProperties(&p, d) != cudaSuccess) {
            (void)cudaGetLastError();
            snprintf(g->name, sizeof g->name, "(cannot query device %d)", d);
            continue;
        }
        snprintf(g->name, sizeof g->name, "%s", p.name);
        g->mem_total = p.totalGlobalMem;
        g->sm_count = p.multiProcessorCount;
        g->cc_major = p.major;
        g->cc_minor = p.minor;
        size_t free_b = 0, total_b = 0;
        if (cudaSetDevice(d) == cudaSuccess && cudaMemGetInfo(&free_b, &total_b) == cudaSuccess)
            g->mem_free = free_b;
        else
            (void)cudaGetLastError();
    }
}

static void probe_cublaslt(ctcd_cuda_report *r) {
    ctcd_status st = ctcd_cuda_lt_load();
    const ctcd_lib_found *f = ctcd_cuda_lt_location();
    if (st) {
        snprintf(r->cublaslt, sizeof r->cublaslt, "%s", ctcd_status_message(st));
        ctcd_status_free(st);
        return;
    }
    r->cublaslt_ok = 1;
    snprintf(r->cublaslt, sizeof r->cublaslt, "%.900s (%.64s)", f->path[0] ? f->path : "loaded",
             f->origin ? f->origin : "search");
}

extern "C" void ctcd_cuda_probe(ctcd_cuda_report *r) {
    memset(r, 0, sizeof *r);
    r->built = 1;
#if CTCD_CUDA_EMU
    r->emulated = 1; /* the emulated device answers the same queries */
#endif
    (void)cudaRuntimeGetVersion(&r->runtime_version);
    (void)cudaDriverGetVersion(&r->driver_version); /* 0 without a driver */
    (void)cudaGetLastError();
    r->driver_fits = r->driver_version > 0 &&
                     (r->driver_version >= r->runtime_version ||
                      r->driver_version / 1000 == r->runtime_version / 1000);
    probe_devices(r);
    probe_cublaslt(r);
}
