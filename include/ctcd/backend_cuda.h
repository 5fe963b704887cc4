/* backend_cuda.h — creating the CUDA backend (cuda/). Only declared when the build has CUDA
 * (CTCD_HAVE_CUDA); everything else reaches it through ctcd_backend_create(_precision). */
#ifndef CTCD_BACKEND_CUDA_H
#define CTCD_BACKEND_CUDA_H

#include "ctcd/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The CUDA backend with bf16 activations (the default "precision: bf16"). Fails with
 * CTCD_E_DEVICE / CTCD_E_UNSUPPORTED and a message saying why when there is no device,
 * the driver is too old, or the device is not the sm_90 this build targets. */
ctcd_status ctcd_backend_cuda_create(ctcd_backend **out);
/* act_dtype CTCD_BF16 (default) or CTCD_F32 ("precision: fp32", for checking against the
 * CPU reference). Environment: CTCD_NVTX=detail puts an NVTX range around every op;
 * CTCD_CUDA_LT_GELU=1 uses cuBLASLt's fused GELU epilogue (tanh approximation, not the
 * erf form of the contract; for experiments). */
ctcd_status ctcd_backend_cuda_create_ex(ctcd_dtype act_dtype, ctcd_backend **out);

#ifdef __cplusplus
}
#endif
#endif
