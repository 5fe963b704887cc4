/* dist_internal.h — transports of include/ctcd/dist.h. */
#ifndef CTCD_DIST_INTERNAL_H
#define CTCD_DIST_INTERNAL_H

#include "ctcd/dist.h"

/* comm_mpi.c: MPI_Init (once per process) and a communicator over MPI_COMM_WORLD. Without
 * MPI in the build it returns an error. */
ctcd_status ctcd_comm_mpi_create(ctcd_comm **out);

#endif
