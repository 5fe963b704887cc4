/* fileio.c — write-then-rename files for checkpoints (include/ctcd/fileio.h), with the two
 * test hooks documented there (environment variables read at each use, so they cross
 * exec() into the CLI and need no mutable state here), and whole-file reads. */
#include "ctcd/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void release(ctcd_atomic_file *af) {
    free(af->path);
    free(af->tmp_path);
    af->path = af->tmp_path = NULL;
    af->f = NULL;
}

ctcd_status ctcd_atomic_open(ctcd_atomic_file *af, const char *path) {
    memset(af, 0, sizeof *af);
    const size_t n = strlen(path);
    af->path = strdup(path);
    af->tmp_path = malloc(n + sizeof ".tmp-XXXXXX");
    if (!af->path || !af->tmp_path) {
        release(af);
        return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
    }
    memcpy(af->tmp_path, path, n);
    memcpy(af->tmp_path + n, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
    int fd = mkstemp(af->tmp_path);
    if (fd < 0 && errno == ENOENT) {
        /* the destination's directory is missing: every output creates its directory */
        ctcd_status st = ctcd_mkdirs_parent(path);
        if (st) {
            release(af);
            return st;
        }
        memcpy(af->tmp_path + n, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
        fd = mkstemp(af->tmp_path);
    }
    if (fd < 0) {
        ctcd_status st = CTCD_ERR(CTCD_E_IO, "%s: cannot create a temp file beside it: %s",
                                  path, strerror(errno));
        release(af);
        return st;
    }
    /* mkstemp makes the file 0600; checkpoints are meant to be shared like any output. */
    (void)fchmod(fd, 0644);
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        ctcd_status st = CTCD_ERR(CTCD_E_IO, "%s: fdopen: %s", path, strerror(errno));
        close(fd);
        unlink(af->tmp_path);
        release(af);
        return st;
    }
    return CTCD_OK;
}

/* Test hook CTCD_TEST_FAIL_WRITE=SUBSTRING[:ERRNO]: writes to a destination whose path
 * contains SUBSTRING fail as a full disk would (ENOSPC, or the errno number given), after
 * half the bytes reached the temp file. */
static int injected_write_error(const char *path) {
    const char *spec = getenv("CTCD_TEST_FAIL_WRITE");
    if (!spec || !*spec) return 0;
    const char *colon = strchr(spec, ':');
    const size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    char sub[256];
    if (n == 0 || n >= sizeof sub) return 0;
    memcpy(sub, spec, n);
    sub[n] = '\0';
    if (!strstr(path, sub)) return 0;
    const int err = colon ? atoi(colon + 1) : 0;
    return err > 0 ? err : ENOSPC;
}

ctcd_status ctcd_atomic_write(ctcd_atomic_file *af, const void *p, size_t n) {
    const int fault = injected_write_error(af->path);
    if (fault) {
        (void)fwrite(p, 1, n / 2, af->f);
        return CTCD_ERR(CTCD_E_IO, "%s: write failed: %s", af->path, strerror(fault));
    }
    if (n && fwrite(p, 1, n, af->f) != n)
        return CTCD_ERR(CTCD_E_IO, "%s: write failed: %s", af->path, strerror(errno));
    return CTCD_OK;
}

/* Test hook CTCD_TEST_COMMIT_DELAY_MS=N: sleeps N ms between the fsync of the complete
 * temp file and its rename, so that a crash test can land kills inside that window. */
static void injected_commit_delay(void) {
    const char *s = getenv("CTCD_TEST_COMMIT_DELAY_MS");
    const long ms = s ? strtol(s, NULL, 10) : 0;
    if (ms <= 0) return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The rename is only durable once the directory entry is on disk. Best effort: some file
 * systems refuse fsync on a directory, which does not make the new file any less whole. */
static void sync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir) return;
    const int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

ctcd_status ctcd_atomic_commit(ctcd_atomic_file *af) {
    ctcd_status st = CTCD_OK;
    if (fflush(af->f) != 0 || fsync(fileno(af->f)) != 0)
        st = CTCD_ERR(CTCD_E_IO, "%s: write failed: %s", af->path, strerror(errno));
    if (fclose(af->f) != 0 && !st)
        st = CTCD_ERR(CTCD_E_IO, "%s: close failed: %s", af->path, strerror(errno));
    af->f = NULL;
    if (!st) injected_commit_delay();
    if (!st && rename(af->tmp_path, af->path) != 0)
        st = CTCD_ERR(CTCD_E_IO, "%s: cannot rename %s over it: %s", af->path, af->tmp_path,
                      strerror(errno));
    if (st) {
        unlink(af->tmp_path);
    } else {
        sync_parent_dir(af->path);
    }
    release(af);
    return st;
}

void ctcd_atomic_abort(ctcd_atomic_file *af) {
    if (af->f) fclose(af->f);
    if (af->tmp_path) unlink(af->tmp_path);
    release(af);
}

ctcd_status ctcd_atomic_write_file(const char *path, const void *p, size_t n) {
    ctcd_atomic_file af;
    CTCD_TRY(ctcd_atomic_open(&af, path));
    ctcd_status st = ctcd_atomic_write(&af, p, n);
    if (st) {
        ctcd_atomic_abort(&af);
        return st;
    }
    return ctcd_atomic_commit(&af);
}

ctcd_status ctcd_text_open(ctcd_text_file *t, const char *path) {
    t->text = NULL;
    t->len = 0;
    t->f = open_memstream(&t->text, &t->len);
    if (!t->f) return CTCD_ERR(CTCD_E_NOMEM, "out of memory writing '%s'", path);
    return CTCD_OK;
}

ctcd_status ctcd_text_publish(ctcd_text_file *t, const char *path) {
    ctcd_status st = fclose(t->f) == 0
                         ? ctcd_atomic_write_file(path, t->text, t->len)
                         : CTCD_ERR(CTCD_E_NOMEM, "out of memory writing '%s'", path);
    free(t->text);
    *t = (ctcd_text_file){0};
    return st;
}

ctcd_status ctcd_mkdirs(const char *dir) {
    if (!*dir) return CTCD_ERR(CTCD_E_INVALID, "empty directory name");
    char *p = strdup(dir);
    if (!p) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", dir);
    ctcd_status st = CTCD_OK;
    for (char *s = p + 1; !st; s++) {
        const char c = *s;
        if (c != '/' && c != '\0') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            st = CTCD_ERR(CTCD_E_IO, "%s: cannot create directory %s: %s", dir, p,
                          strerror(errno));
        *s = c;
        if (c == '\0') break;
    }
    struct stat sb;
    if (!st && (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)))
        st = CTCD_ERR(CTCD_E_IO, "%s: not a directory", dir);
    free(p);
    return st;
}

ctcd_status ctcd_mkdirs_parent(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) return CTCD_OK; /* the current directory, or "/" */
    char *dir = strndup(path, (size_t)(slash - path));
    if (!dir) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
    ctcd_status st = ctcd_mkdirs(dir);
    free(dir);
    return st;
}

ctcd_status ctcd_read_small_file(const char *path, size_t max_bytes, char **out, size_t *len) {
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return CTCD_ERR(CTCD_E_IO, "%s: cannot open: %s", path, strerror(errno));
    /* A regular file's size is the first guess, so that one read fills the buffer; the
     * loop still reads to the end, for pipes and files that grow meanwhile. */
    struct stat sb;
    size_t cap = 65536;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
        (uintmax_t)sb.st_size < max_bytes)
        cap = (size_t)sb.st_size + 1; /* + 1: the read that finds the end needs room */
    char *buf = NULL;
    size_t n = 0;
    ctcd_status st = CTCD_OK;
    for (;;) {
        if (!buf || n == cap) {
            if (buf) cap *= 2;
            char *nb = realloc(buf, cap + 1); /* + 1: the NUL */
            if (!nb) {
                st = CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory reading %zu bytes", path, cap);
                break;
            }
            buf = nb;
        }
        const size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n > max_bytes) {
            st = CTCD_ERR(CTCD_E_INVALID, "%s: larger than the %zu-byte limit", path, max_bytes);
            break;
        }
        if (got == 0) {
            if (ferror(f)) st = CTCD_ERR(CTCD_E_IO, "%s: read error: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st) {
        free(buf);
        return st;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return CTCD_OK;
}

ctcd_status ctcd_copy_file(const char *src, const char *dst) {
    char *buf;
    size_t n;
    CTCD_TRY(ctcd_read_small_file(src, SIZE_MAX, &buf, &n));
    ctcd_status st = ctcd_atomic_write_file(dst, buf, n);
    free(buf);
    return st;
}
