/* train_dist.c — what `ctcd train` adds for data parallelism on GPUs: one device per rank,
 * and the NCCL transport for the step's collectives (include/ctcd/dist_nccl.h), created
 * over the bootstrap communicator (MPI under mpirun), which stays the job's launcher-facing
 * one (abort, destroy last). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctcd/dist_nccl.h"
#include "ctcd/launch.h"
#include "ctcd/log.h"

void ctcd_cli_dist_pick_device(const ctcd_comm *boot) {
    /* Open MPI numbers the ranks of a node; each takes the GPU of that number unless the
     * launcher or the user already chose the visible devices. */
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    if (boot->world > 1 && local && !getenv("CUDA_VISIBLE_DEVICES"))
        setenv("CUDA_VISIBLE_DEVICES", local, 0);
}

/* The id `ctcd train --gpus` handed its ranks: CTCD_NCCL_ID, 2 hex digits per byte. */
static ctcd_status launcher_id(unsigned char id[CTCD_NCCL_ID_BYTES]) {
    const char *hex = getenv("CTCD_NCCL_ID");
    if (!hex || strlen(hex) != 2 * CTCD_NCCL_ID_BYTES)
        return CTCD_ERR(CTCD_E_INVALID, "CTCD_NCCL_ID is %s; ctcd train --gpus sets it to %d "
                        "hex digits", hex ? "malformed" : "missing", 2 * CTCD_NCCL_ID_BYTES);
    for (int i = 0; i < CTCD_NCCL_ID_BYTES; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return CTCD_ERR(CTCD_E_INVALID, "CTCD_NCCL_ID: byte %d is not hex", i);
        id[i] = (unsigned char)v;
    }
    return CTCD_OK;
}

ctcd_status ctcd_cli_dist_transport(ctcd_trainer *t, ctcd_comm *boot, ctcd_comm **nccl) {
    *nccl = NULL;
    ctcd_backend *be = ctcd_trainer_backend(t);
    const int launched = strcmp(boot->name, "gpus") == 0;
    if (launched) {
        if (be->device == CTCD_DEVICE_CPU)
            return CTCD_ERR(CTCD_E_UNSUPPORTED, "ctcd train --gpus runs on the CUDA backend "
                            "(train.backend is %s); for CPU processes use mpirun -np N",
                            be->name);
        unsigned char id[CTCD_NCCL_ID_BYTES];
        CTCD_TRY(launcher_id(id));
        return ctcd_comm_nccl_create(be, boot->rank, boot->world, id, 0, boot, nccl);
    }
    const char *want = getenv("CTCD_COMM"); /* "nccl" forces it (even for one rank), "mpi" */
    const int force = want && strcmp(want, "nccl") == 0;
    if (want && strcmp(want, "mpi") == 0) return CTCD_OK;
    if (be->device == CTCD_DEVICE_CPU || (boot->world == 1 && !force)) return CTCD_OK;
    if (!ctcd_comm_have_nccl()) {
        if (force) return ctcd_nccl_unique_id(NULL); /* the error saying why */
        ctcd_warn("this build has no NCCL: gradients go through the host over %s",
                  boot->name);
        return CTCD_OK;
    }
    unsigned char id[CTCD_NCCL_ID_BYTES];
    CTCD_TRY(ctcd_nccl_share_id(boot, id));
    CTCD_TRY(ctcd_comm_nccl_create(be, boot->rank, boot->world, id, 0, boot, nccl));
    ctcd_info("data parallel: NCCL transport, rank %d of %d", boot->rank, boot->world);
    return CTCD_OK;
}

int ctcd_cli_launch_gpus(int n, int argc, char **argv) {
    if (!ctcd_comm_have_nccl())
        return ctcd_cli_fail(CTCD_ERR(CTCD_E_UNSUPPORTED, "--gpus %d: this build of ctcd has no "
                                      "CUDA/NCCL (CTCD_CUDA, CTCD_NCCL); for several CPU "
                                      "processes use mpirun -np %d ctcd train ...", n, n));
    unsigned char id[CTCD_NCCL_ID_BYTES];
    ctcd_status st = ctcd_nccl_unique_id(id);
    if (st) return ctcd_cli_fail(ctcd_error_wrap(st, "--gpus %d", n));
    char env[16 + 2 * CTCD_NCCL_ID_BYTES] = "CTCD_NCCL_ID=";
    for (int i = 0; i < CTCD_NCCL_ID_BYTES; i++)
        snprintf(env + 13 + 2 * i, 3, "%02x", id[i]);
    /* the same command line without --gpus N, run by this very binary */
    char **child = calloc((size_t)argc + 2, sizeof *child);
    if (!child) return ctcd_cli_fail(CTCD_ERR(CTCD_E_NOMEM, "out of memory"));
    int k = 0;
    child[k++] = "/proc/self/exe";
    child[k++] = "train";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--gpus") == 0) {
            i++;
            continue;
        }
        if (strncmp(argv[i], "--gpus=", 7) != 0) child[k++] = argv[i];
    }
    child[k] = NULL;
    const char *extra[] = {env};
    int code = 0;
    ctcd_info("launching %d ranks, one per GPU", n);
    st = ctcd_launch_ranks(n, child, extra, 1, 10.0, &code);
    free(child);
    if (st) {
        ctcd_cli_fail(st);
        return code ? code : 1;
    }
    return 0;
}
