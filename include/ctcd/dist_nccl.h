/* dist_nccl.h — the NCCL transport of include/ctcd/dist.h (src/parallel/comm_nccl.cu): collectives
 * on CUDA buffers in place on the backend's stream, no host staging. NCCL is loaded at run
 * time (dlopen libnccl.so.2), so the binary starts without it; only the header is needed to
 * build (CMake option CTCD_NCCL). Host buffers (loss terms, stop flags) go through a small
 * device scratch buffer. The communicator is bootstrapped by an NCCL unique id that rank 0
 * creates and every other rank receives (over MPI under mpirun, ctcd_nccl_share_id). */
#ifndef CTCD_DIST_NCCL_H
#define CTCD_DIST_NCCL_H

#include "ctcd/dist.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CTCD_NCCL_ID_BYTES 128 /* sizeof(ncclUniqueId) */

/* 1 when this build has the NCCL transport (CTCD_NCCL). */
int ctcd_comm_have_nccl(void);
/* `ctcd doctor`: loads libnccl as a communicator would and unloads it. 1 and out = its
 * path and version when found; 0 and out = why not (not built, or the loader's error). */
int ctcd_nccl_locate(char *out, size_t cap);
/* A fresh unique id (rank 0 only); an error when NCCL cannot be loaded. */
ctcd_status ctcd_nccl_unique_id(unsigned char id[CTCD_NCCL_ID_BYTES]);
/* rank 0's id on every rank of `boot` (e.g. the MPI communicator): rank 0 creates it, the
 * others receive it through boot's all-reduce (each byte is a float, the others add
 * zeros, so the sum is exact). */
ctcd_status ctcd_nccl_share_id(ctcd_comm *boot, unsigned char id[CTCD_NCCL_ID_BYTES]);
/* An NCCL communicator of `world` ranks on the current CUDA device of backend be (a CUDA
 * backend), bucketing all-reduces into pieces of bucket_floats (0 = 32 Mi floats). `parent`
 * (may be NULL, borrowed) is what abort falls back to (MPI_Abort of the job). */
ctcd_status ctcd_comm_nccl_create(ctcd_backend *be, int rank, int world,
                                  const unsigned char id[CTCD_NCCL_ID_BYTES],
                                  int64_t bucket_floats, ctcd_comm *parent, ctcd_comm **out);

#ifdef __cplusplus
}
#endif
#endif
