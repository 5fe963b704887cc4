/* backend_cuda.h — creating the CUDA backend (cuda/). Only declared when the build has CUDA
 * (CTCD_HAVE_CUDA); everything else reaches it through ctcd_backend_create(_precision). */
#ifndef CTCD_BACKEND_CUDA_H
#define CTCD_BACKEND_CUDA_H

#include "ctcd/backend.h"
#include "ctcd/libfind.h"

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
/* The cudaStream_t (as void *) the backend's current lane queues its work on: what the
 * NCCL transport (src/parallel/comm_nccl.cu) queues its collectives on. */
void *ctcd_backend_cuda_stream(ctcd_backend *be);

/* cuBLASLt (cuda/lt_loader.cu) is dlopen'ed, not linked. Search order (see ctcd/libfind.h):
 * the file named by CTCD_CUBLASLT, libcublasLt.so.<the major version this build was
 * compiled against> then libcublasLt.so through the default loader path, the CUDA
 * toolkit's library folders ($CUDA_HOME, $CUDA_PATH, $CUDA_ROOT, the nvcc on PATH,
 * /usr/local/cuda), then the `nvidia` package folders of the python3 on PATH (PyTorch's CUDA
 * wheels). The search runs once per process, at the first call of either function.
 *
 * ctcd_cuda_lt_load: CTCD_OK when cuBLASLt is loaded, else CTCD_E_UNSUPPORTED listing
 * every place looked in with the loader's message.
 * ctcd_cuda_lt_location: the search's result for reports (`ctcd doctor`): where it was
 * found (path, origin "env" | "loader" | "toolkit" | "python") and the attempts that failed
 * before, or every attempt when handle is NULL. Never NULL; immutable once returned. */
ctcd_status ctcd_cuda_lt_load(void);
const ctcd_lib_found *ctcd_cuda_lt_location(void);

#ifdef __cplusplus
}
#endif
#endif
