/* emu_lt.cu — the emulation build's answer to "where is cuBLASLt" (lt_loader.cu is not
 * compiled there): no library is loaded; cuda/emu/cublasLt.h stands in for it. */
#include "ctcd/backend_cuda.h"

extern "C" ctcd_status ctcd_cuda_lt_load(void) { return CTCD_OK; }

extern "C" const ctcd_lib_found *ctcd_cuda_lt_location(void) {
    /* handle NULL: nothing was loaded */
    static const ctcd_lib_found f = {NULL, "(emulated: cuda/emu/cublasLt.h)", "emulated", 0, ""};
    return &f;
}
