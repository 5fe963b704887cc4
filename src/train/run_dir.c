/* rundir.c — the run directory's lock and the "already holds a run" rule
 * (include/ctcd/run_dir.h). */
#define _DEFAULT_SOURCE /* flock(2) */
#include "ctcd/run_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctcd/fileio.h"
#include "ctcd/log.h"
#include "ctcd/recipe.h"

/* Files whose presence means "a run is here", and which REPLACE removes. */
static const char *const run_files[] = {"recipe.yaml", "log.jsonl", "eval.jsonl",
                                        "state/train_state.safetensors"};
/* What a checkpoint directory <role>/<which> holds (run_checkpoints.c). */
static const char *const ckpt_files[] = {"config.json", "model.safetensors", "vocab.txt"};
static const char *const ckpt_kinds[] = {"best", "last"};

/* The pid recorded in an open lock file, or 0 when unreadable. */
static long holder_pid(int fd) {
    char buf[32] = {0};
    const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    return n > 0 ? strtol(buf, NULL, 10) : 0;
}

ctcd_status ctcd_run_dir_lock(const char *dir, int *fd_out) {
    *fd_out = -1;
    CTCD_TRY(ctcd_mkdirs(dir));
    char path[CTCD_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/.lock", dir);
    const int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return CTCD_ERR(CTCD_E_IO, "%s: cannot create the run lock %s: %s", dir, path,
                        strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        const long pid = holder_pid(fd);
        close(fd);
        if (err == EWOULDBLOCK) {
            char who[48] = "another process";
            if (pid > 0) snprintf(who, sizeof who, "process %ld", pid);
            return CTCD_ERR(CTCD_E_IO, "run directory %s is in use by %s (lock %s); two runs "
                            "cannot write the same directory: wait for it, stop it, or choose "
                            "another output", dir, who, path);
        }
        return CTCD_ERR(CTCD_E_IO, "%s: cannot lock %s: %s", dir, path, strerror(err));
    }
    char pid[32];
    const int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    /* best effort: the pid only improves the message another process prints */
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        ctcd_debug("%s: could not record the pid in the lock file", path);
    *fd_out = fd;
    return CTCD_OK;
}

void ctcd_run_dir_unlock(int fd) {
    if (fd >= 0) close(fd); /* closing the last descriptor releases the flock */
}

int ctcd_run_dir_has_run(const char *dir, char *what, size_t cap) {
    char path[CTCD_PATH_MAX + 64];
    for (size_t i = 0; i < sizeof run_files / sizeof run_files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, run_files[i]);
        if (access(path, F_OK) == 0) {
            if (what) snprintf(what, cap, "%s", run_files[i]);
            return 1;
        }
    }
    return 0;
}

/* unlink that tolerates a missing file. */
static ctcd_status remove_file(const char *path) {
    if (unlink(path) != 0 && errno != ENOENT)
        return CTCD_ERR(CTCD_E_IO, "cannot remove %s (of the previous run): %s", path,
                        strerror(errno));
    return CTCD_OK;
}

/* rmdir when empty; a directory with files of the user's is left as it is. */
static void remove_dir_if_empty(const char *path) { (void)rmdir(path); }

/* Removes "<name>.tmp-XXXXXX" files (fileio.h) directly in sub. */
static int clean_temps_in(const char *sub) {
    DIR *d = opendir(sub);
    if (!d) return 0;
    int n = 0;
    char path[CTCD_PATH_MAX + 512];
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const char *tmp = strstr(e->d_name, ".tmp-");
        if (!tmp || strlen(tmp) != sizeof ".tmp-XXXXXX" - 1) continue;
        snprintf(path, sizeof path, "%s/%s", sub, e->d_name);
        n += unlink(path) == 0;
    }
    closedir(d);
    return n;
}

int ctcd_run_dir_clean_temps(const char *dir) {
    char sub[CTCD_PATH_MAX + 64];
    int n = clean_temps_in(dir);
    snprintf(sub, sizeof sub, "%s/state", dir);
    n += clean_temps_in(sub);
    for (int r = 0; r < CTCD_N_ROLES; r++)
        for (size_t k = 0; k < sizeof ckpt_kinds / sizeof ckpt_kinds[0]; k++) {
            snprintf(sub, sizeof sub, "%s/%s/%s", dir, ctcd_role_names[r], ckpt_kinds[k]);
            n += clean_temps_in(sub);
        }
    if (n) ctcd_info("%s: removed %d temp file(s) of a write cut short by a crash", dir, n);
    return n;
}

ctcd_status ctcd_run_dir_prepare(const char *dir, ctcd_run_existing how) {
    char found[64];
    if (how == CTCD_RUN_OVERWRITE || !ctcd_run_dir_has_run(dir, found, sizeof found))
        return CTCD_OK;
    if (how == CTCD_RUN_REPLACE) ctcd_run_dir_clean_temps(dir);
    if (how == CTCD_RUN_REFUSE)
        return CTCD_ERR(CTCD_E_INVALID, "output directory %s already holds a run (%s/%s); "
                        "continue it with: ctcd train --resume %s, or start over with --force "
                        "(removes that run's logs, state and checkpoints), or set another "
                        "output", dir, dir, found, dir);
    char path[CTCD_PATH_MAX + 128];
    for (size_t i = 0; i < sizeof run_files / sizeof run_files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, run_files[i]);
        CTCD_TRY(remove_file(path));
    }
    snprintf(path, sizeof path, "%s/state", dir);
    remove_dir_if_empty(path);
    for (int r = 0; r < CTCD_N_ROLES; r++)
        for (size_t k = 0; k < sizeof ckpt_kinds / sizeof ckpt_kinds[0]; k++) {
            for (size_t f = 0; f < sizeof ckpt_files / sizeof ckpt_files[0]; f++) {
                snprintf(path, sizeof path, "%s/%s/%s/%s", dir, ctcd_role_names[r],
                         ckpt_kinds[k], ckpt_files[f]);
                CTCD_TRY(remove_file(path));
            }
            snprintf(path, sizeof path, "%s/%s/%s", dir, ctcd_role_names[r], ckpt_kinds[k]);
            remove_dir_if_empty(path);
        }
    for (int r = 0; r < CTCD_N_ROLES; r++) {
        snprintf(path, sizeof path, "%s/%s", dir, ctcd_role_names[r]);
        remove_dir_if_empty(path);
    }
    ctcd_info("%s: removed the previous run's files (starting over)", dir);
    return CTCD_OK;
}
