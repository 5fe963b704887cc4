/* fileio.c — write-then-rename files for checkpoints (src/model/atomic_file.h). */
#include "ctcd/fileio.h"

#include <errno.h>
#include <fcntl.h>
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
    const int fd = mkstemp(af->tmp_path);
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

ctcd_status ctcd_atomic_write(ctcd_atomic_file *af, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, af->f) != n)
        return CTCD_ERR(CTCD_E_IO, "%s: write failed: %s", af->path, strerror(errno));
    return CTCD_OK;
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
