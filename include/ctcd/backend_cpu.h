/* backend_cpu.h — creating the CPU reference backend (src/cpu/). */
#ifndef CTCD_BACKEND_CPU_H
#define CTCD_BACKEND_CPU_H

#include "ctcd/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The CPU reference backend (always available). */
ctcd_status ctcd_backend_cpu_create(ctcd_backend **out);

#ifdef __cplusplus
}
#endif
#endif
