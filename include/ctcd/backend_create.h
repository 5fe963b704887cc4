/* backend_create.h — choosing and creating the backend of a run by name
 * (src/backend/backend.c): cpu, cuda, or auto; the op table itself is ctcd/backend.h. */
#ifndef CTCD_BACKEND_CREATE_H
#define CTCD_BACKEND_CREATE_H

#include "ctcd/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Creates a backend by name: "cpu", "cuda", or "auto" (CUDA when built and a device is
 * present, else CPU). "cuda" without a usable device is an error saying why. */
ctcd_status ctcd_backend_create(const char *name, ctcd_backend **out);
/* Like ctcd_backend_create with the recipe's `train.precision`: "bf16" (bf16 activations and
 * compute copies, the CUDA default) or "fp32" (fp32 everywhere, for checking the CUDA
 * backend against the CPU). NULL means "bf16". The CPU backend accepts either and always
 * computes in fp32. Any other string is CTCD_E_INVALID. */
ctcd_status ctcd_backend_create_precision(const char *name, const char *precision,
                                          ctcd_backend **out);
void ctcd_backend_destroy(ctcd_backend *be);

#ifdef __cplusplus
}
#endif
#endif
