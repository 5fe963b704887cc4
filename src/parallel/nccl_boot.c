/* nccl_boot.c — bootstrapping an NCCL communicator over another one (include/ctcd/
 * dist_nccl.h), and the NCCL entry points of a build without CUDA (src/parallel/comm_nccl.cu has
 * them otherwise). */
#include <stdio.h>
#include <string.h>

#include "ctcd/dist_nccl.h"

ctcd_status ctcd_nccl_share_id(ctcd_comm *boot, unsigned char id[CTCD_NCCL_ID_BYTES]) {
    float bytes[CTCD_NCCL_ID_BYTES] = {0};
    if (boot->rank == 0) {
        CTCD_TRY(ctcd_nccl_unique_id(id));
        for (int i = 0; i < CTCD_NCCL_ID_BYTES; i++) bytes[i] = (float)id[i];
    }
    CTCD_TRY(ctcd_error_wrap(boot->allreduce_sum(boot, NULL, bytes, CTCD_NCCL_ID_BYTES),
                             "sharing the NCCL unique id over %s", boot->name));
    for (int i = 0; i < CTCD_NCCL_ID_BYTES; i++) {
        if (bytes[i] < 0.0f || bytes[i] > 255.0f)
            return CTCD_ERR(CTCD_E_INVALID, "NCCL unique id byte %d arrived as %g (another "
                            "rank added a non-zero value)", i, (double)bytes[i]);
        id[i] = (unsigned char)bytes[i];
    }
    return CTCD_OK;
}

#ifndef CTCD_HAVE_CUDA
int ctcd_comm_have_nccl(void) { return 0; }

int ctcd_nccl_locate(char *out, size_t cap) {
    snprintf(out, cap, "not built (this build of ctcd has no CUDA)");
    return 0;
}

ctcd_status ctcd_nccl_unique_id(unsigned char id[CTCD_NCCL_ID_BYTES]) {
    (void)id;
    return CTCD_ERR(CTCD_E_UNSUPPORTED, "this build of ctcd has no CUDA, hence no NCCL");
}

ctcd_status ctcd_comm_nccl_create(ctcd_backend *be, int rank, int world,
                                  const unsigned char id[CTCD_NCCL_ID_BYTES],
                                  int64_t bucket_floats, ctcd_comm *parent, ctcd_comm **out) {
    (void)be, (void)rank, (void)world, (void)id, (void)bucket_floats, (void)parent;
    *out = NULL;
    return ctcd_nccl_unique_id(NULL);
}
#endif
