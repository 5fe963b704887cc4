/* testutil.c — helpers shared by the Criterion suites. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctcd/data.h"
#include "ctcd/fileio.h"
#include "ctcd/rng.h"

const char *ctcd_test_data_dir(void) {
    static char buf[4096];
    /* the same trace as ctcd_data_find (src/data/data_dir.c): this suite reads data */
    const char *trace = getenv("CTCD_TEST_DATA_TRACE");
    FILE *tf = trace && *trace ? fopen(trace, "a") : NULL;
    if (tf) {
        fputs("(ctcd_test_data_dir)\n", tf);
        fclose(tf);
    }
    const char *env = getenv("CTCD_DATA_DIR");
    if (env && *env) {
        snprintf(buf, sizeof buf, "%s", env);
    } else if (ctcd_data_shared_off()) {
        return NULL;
    } else {
        snprintf(buf, sizeof buf, "%s/../shared/data", CTCD_SOURCE_DIR);
    }
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
    return buf;
}

int ctcd_test_run_cli(const char *args, char **output) {
    size_t cmdlen = strlen(CTCD_CLI_PATH) + strlen(args) + 16;
    char *cmd = malloc(cmdlen);
    snprintf(cmd, cmdlen, "'%s' %s 2>&1", CTCD_CLI_PATH, args);
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (!p) return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 1024) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[len] = '\0';
    int st = pclose(p);
    if (output) {
        *output = buf;
    } else {
        free(buf);
    }
    if (st == -1 || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

char *ctcd_test_tmpdir(void) {
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/ctcd-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpl)) return NULL;
    return strdup(tmpl);
}

int ctcd_test_rmtree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) return unlink(path);
    DIR *d = opendir(path);
    if (!d) return -1;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        size_t n = strlen(path) + strlen(e->d_name) + 2;
        char *child = malloc(n);
        snprintf(child, n, "%s/%s", path, e->d_name);
        rc |= ctcd_test_rmtree(child);
        free(child);
    }
    closedir(d);
    return rmdir(path) | rc;
}

int ctcd_test_write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

char *ctcd_test_read_file(const char *path) {
    char *buf;
    size_t n;
    ctcd_status st = ctcd_read_small_file(path, SIZE_MAX, &buf, &n);
    if (st) {
        ctcd_status_free(st);
        return NULL;
    }
    return buf;
}

void ctcd_test_fill_uniform(float *x, int64_t n, float lo, float hi, uint64_t seed) {
    ctcd_rng r;
    ctcd_rng_init(&r, seed, 0x7e57);
    for (int64_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * ctcd_rng_uniform(&r);
}

pid_t ctcd_test_spawn_cli(char *const argv[], const char *out_path, const char *const *env) {
    fflush(NULL);
    const pid_t pid = fork();
    if (pid != 0) return pid;
    const int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) _exit(126);
    dup2(fd, 1);
    dup2(fd, 2);
    for (int i = 0; env && env[i]; i++) {
        char kv[512];
        snprintf(kv, sizeof kv, "%s", env[i]);
        char *eq = strchr(kv, '=');
        if (!eq) _exit(124);
        *eq = '\0';
        setenv(kv, eq + 1, 1);
    }
    int n = 0;
    while (argv[n]) n++;
    char **args = calloc((size_t)n + 1, sizeof *args);
    if (!args) _exit(125);
    args[0] = (char *)CTCD_CLI_PATH;
    for (int i = 1; i < n; i++) args[i] = argv[i];
    execv(CTCD_CLI_PATH, args);
    _exit(127);
}

void ctcd_test_sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}
