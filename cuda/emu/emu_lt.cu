/* emu_lt.cu — the emulation build's answer to "where is cuBLASLt" (lt_loader.cu is not
 * compiled there): no library is loaded; cuda/emu/cublasLt.h stands in for it. */
#include <stdio.h>

#include "ctcd/backend_cuda.h"

extern "C" ctcd_status ctcd_cuda_lt_load(void) { return CTCD_OK; }

extern "C" const ctcd_lib_found *ctcd_cuda_lt_location(void) {
    static ctcd_lib_found f; /* handle NULL: nothing was loaded */
    static int once;
    if (!once) {
        snprintf(f.path, sizeof f.path, "(emulated: cuda/emu/cublasLt.h)");
        f.origin = "emulated";
        once = 1;
    }
    return &f;
}
