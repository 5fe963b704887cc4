/* launch.c — one process per GPU without MPI (include/ctcd/launch.h): fork + exec per rank,
 * a polling wait over the children (so the first failure is seen whichever rank it is),
 * and SIGTERM then SIGKILL to the other ranks' process groups when one fails (a rank left
 * alone would wait in its next collective forever). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctcd/launch.h"

static void nap_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The r-th entry of a comma-separated device list into out (r itself without a list). */
static void device_of(const char *list, int r, char *out, size_t cap) {
    snprintf(out, cap, "%d", r);
    if (!list || !*list) return;
    for (int i = 0; *list; i++) {
        const size_t len = strcspn(list, ",");
        if (i == r) {
            snprintf(out, cap, "%.*s", (int)len, list);
            return;
        }
        list += len + (list[len] == ',');
    }
}

/* In the child: its environment, its own process group, then exec. Never returns. */
static void exec_rank(int r, int n, char *const argv[], const char *const *extra_env,
                      int n_env) {
    char v[64], dev[64];
    setpgid(0, 0);
    device_of(getenv("CUDA_VISIBLE_DEVICES"), r, dev, sizeof dev);
    snprintf(v, sizeof v, "%d", r);
    setenv("CTCD_RANK", v, 1);
    setenv("CTCD_LOCAL_RANK", v, 1);
    snprintf(v, sizeof v, "%d", n);
    setenv("CTCD_WORLD", v, 1);
    setenv("CUDA_VISIBLE_DEVICES", dev, 1);
    for (int i = 0; i < n_env; i++) {
        char name[128];
        const size_t len = strcspn(extra_env[i], "=");
        if (len >= sizeof name || !extra_env[i][len]) continue;
        memcpy(name, extra_env[i], len);
        name[len] = '\0';
        setenv(name, extra_env[i] + len + 1, 1);
    }
    execvp(argv[0], argv);
    fprintf(stderr, "ctcd: rank %d: cannot run %s: %s\n", r, argv[0], strerror(errno));
    _exit(127);
}

/* Ends every child still running: SIGTERM to its group, SIGKILL after grace_s. */
static void stop_all(pid_t *pid, int n, double grace_s) {
    for (int r = 0; r < n; r++)
        if (pid[r] > 0) kill(-pid[r], SIGTERM);
    for (long waited = 0;; waited += 20) {
        int left = 0;
        for (int r = 0; r < n; r++) {
            if (pid[r] <= 0) continue;
            if (waitpid(pid[r], NULL, WNOHANG) == pid[r]) pid[r] = 0;
            else left++;
        }
        if (!left) return;
        if (waited >= (long)(grace_s * 1000)) break;
        nap_ms(20);
    }
    for (int r = 0; r < n; r++)
        if (pid[r] > 0) {
            kill(-pid[r], SIGKILL);
            waitpid(pid[r], NULL, 0);
            pid[r] = 0;
        }
}

ctcd_status ctcd_launch_ranks(int n, char *const argv[], const char *const *extra_env,
                              int n_env, double grace_s, int *exit_code) {
    *exit_code = 0;
    if (n < 1 || !argv || !argv[0])
        return CTCD_ERR(CTCD_E_INVALID, "launch: %d ranks of %s", n, argv && argv[0] ? argv[0] : "(none)");
    pid_t *pid = calloc((size_t)n, sizeof *pid);
    if (!pid) return CTCD_ERR(CTCD_E_NOMEM, "out of memory");
    fflush(NULL); /* no buffered output duplicated into the children */
    for (int r = 0; r < n; r++) {
        pid[r] = fork();
        if (pid[r] == 0) exec_rank(r, n, argv, extra_env, n_env);
        if (pid[r] < 0) {
            const int err = errno;
            stop_all(pid, r, grace_s);
            free(pid);
            *exit_code = 1;
            return CTCD_ERR(CTCD_E_IO, "launch: cannot start rank %d: %s", r, strerror(err));
        }
        setpgid(pid[r], pid[r]); /* also here: no race with the kill of an early failure */
    }
    int running = n, failed = -1, status = 0;
    while (running > 0 && failed < 0) {
        int reaped = 0;
        for (int r = 0; r < n && failed < 0; r++) {
            if (pid[r] <= 0 || waitpid(pid[r], &status, WNOHANG) != pid[r]) continue;
            pid[r] = 0;
            running--;
            reaped = 1;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = r;
        }
        if (!reaped && failed < 0) nap_ms(20);
    }
    if (failed < 0) {
        free(pid);
        return CTCD_OK;
    }
    stop_all(pid, n, grace_s);
    free(pid);
    if (WIFSIGNALED(status)) {
        *exit_code = 128 + WTERMSIG(status);
        return CTCD_ERR(CTCD_E_IO, "rank %d of %d was killed by signal %d; stopped the other "
                        "ranks", failed, n, WTERMSIG(status));
    }
    *exit_code = WEXITSTATUS(status);
    return CTCD_ERR(CTCD_E_IO, "rank %d of %d failed (exit status %d; its message is above); "
                    "stopped the other ranks", failed, n, *exit_code);
}

int ctcd_launched_rank(int *rank, int *world) {
    const char *r = getenv("CTCD_RANK"), *w = getenv("CTCD_WORLD");
    if (!r || !w) return 0;
    *rank = atoi(r);
    *world = atoi(w);
    return *world >= 1 && *rank >= 0 && *rank < *world;
}
