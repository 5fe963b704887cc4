/* libfind.c — the run-time library search of include/ctcd/libfind.h (env, loader, CUDA
 * toolkit folders, python3's nvidia packages), recording every failed attempt. */
#define _GNU_SOURCE /* dlinfo, RTLD_DI_LINKMAP: the path the loader took a library from */
#include "ctcd/libfind.h"

#include <dlfcn.h>
#include <glob.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__aarch64__)
#define LF_TARGET_DIR "targets/sbsa-linux/lib"
#else
#define LF_TARGET_DIR "targets/x86_64-linux/lib"
#endif

/* Asks python3 for its `nvidia` package folders, one per line: the namespace package's
 * __path__ when importable, else <site-packages>/nvidia for each site folder that has one.
 * stderr is dropped: a missing python3 or a broken install prints nothing. */
#define LF_PYTHON_CMD                                                                     \
    "python3 -c 'import os, site\n"                                                       \
    "d = []\n"                                                                            \
    "try:\n"                                                                              \
    "    import nvidia; d += list(nvidia.__path__)\n"                                     \
    "except Exception: pass\n"                                                            \
    "try: s = site.getsitepackages() + [site.getusersitepackages()]\n"                    \
    "except Exception: s = []\n"                                                          \
    "d += [os.path.join(p, \"nvidia\") for p in s]\n"                                     \
    "seen = set()\n"                                                                      \
    "for p in d:\n"                                                                       \
    "    r = os.path.realpath(p)\n"                                                       \
    "    if os.path.isdir(r) and r not in seen: seen.add(r); print(r)\n"                 \
    "' 2>/dev/null"

/* Appends one line to found->tried; when it is full, counts the line and keeps the room
 * for a final "(n more)" note written by lf_finish_tried. */
static void lf_note(ctcd_lib_found *f, const char *fmt, ...) CTCD_PRINTF(2, 3);
static void lf_note(ctcd_lib_found *f, const char *fmt, ...) {
    const size_t reserve = 64, used = strlen(f->tried);
    f->n_tried++;
    if (used + reserve >= sizeof f->tried) return;
    char line[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    const size_t room = sizeof f->tried - reserve - used;
    if (strlen(line) + 2 > room) return; /* counted, not shown */
    memcpy(f->tried + used, line, strlen(line));
    f->tried[used + strlen(line)] = '\n';
    f->tried[used + strlen(line) + 1] = '\0';
}

static int lf_count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void lf_finish_tried(ctcd_lib_found *f) {
    const int shown = lf_count_lines(f->tried);
    if (shown < f->n_tried) {
        const size_t used = strlen(f->tried);
        snprintf(f->tried + used, sizeof f->tried - used, "(%d more not shown)\n",
                 f->n_tried - shown);
    }
}

/* dlopen with the loader's message on failure, noted as "<label><file>: <dlerror>". On
 * success records the path the loader took the library from (dlinfo), which for a bare name
 * is where ld.so found it. */
static int lf_open(ctcd_lib_found *f, const char *label, const char *file, const char *origin) {
    dlerror();
    void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        lf_note(f, "%s%s: %s", label, file, e ? e : "dlopen failed (no message)");
        return 0;
    }
    f->handle = h;
    f->origin = origin;
    snprintf(f->path, sizeof f->path, "%s", file);
    struct link_map *lm = NULL;
    if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name && lm->l_name[0])
        snprintf(f->path, sizeof f->path, "%s", lm->l_name);
    return 1;
}

static int lf_is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int lf_exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* "a, b or c" of the names, for "none of ... here" lines. */
static void lf_names_text(const ctcd_lib_spec *spec, char *buf, size_t cap) {
    buf[0] = '\0';
    for (int i = 0; spec->names[i]; i++) {
        const size_t used = strlen(buf);
        const char *sep = i == 0 ? "" : spec->names[i + 1] ? ", " : " or ";
        snprintf(buf + used, cap - used, "%s%s", sep, spec->names[i]);
    }
}

/* Folders already searched (by real path): a toolkit reached through several variables or
 * symbolic links (lib64 -> lib) is looked in once. */
typedef struct lf_seen {
    char dirs[24][PATH_MAX];
    int n;
} lf_seen;

static int lf_seen_add(lf_seen *s, const char *dir) {
    char real[PATH_MAX];
    if (!realpath(dir, real)) snprintf(real, sizeof real, "%s", dir);
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->dirs[i], real) == 0) return 0;
    if (s->n < (int)(sizeof s->dirs / sizeof s->dirs[0])) memcpy(s->dirs[s->n++], real, sizeof real);
    return 1;
}

/* Tries every name in one folder. */
static int lf_try_dir(ctcd_lib_found *f, const ctcd_lib_spec *spec, lf_seen *seen,
                      const char *dir, const char *origin) {
    char label[64];
    snprintf(label, sizeof label, "%s ", origin);
    if (!lf_is_dir(dir)) {
        lf_note(f, "%s%s: no such directory", label, dir);
        return 0;
    }
    if (!lf_seen_add(seen, dir)) return 0;
    int any = 0;
    for (int i = 0; spec->names[i]; i++) {
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s/%s", dir, spec->names[i]) >= (int)sizeof p) continue;
        if (!lf_exists(p)) continue;
        any = 1;
        if (lf_open(f, label, p, origin)) return 1;
    }
    if (!any) {
        char names[512];
        lf_names_text(spec, names, sizeof names);
        lf_note(f, "%s%s: no %s there", label, dir, names);
    }
    return 0;
}

/* The three library folders of one toolkit root. */
static int lf_try_root(ctcd_lib_found *f, const ctcd_lib_spec *spec, lf_seen *seen,
                       const char *root) {
    static const char *const subs[] = {"lib64", LF_TARGET_DIR, "lib"};
    if (!lf_is_dir(root)) {
        lf_note(f, "toolkit %s: no such directory", root);
        return 0;
    }
    int n_dirs = 0;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        char d[PATH_MAX];
        snprintf(d, sizeof d, "%s/%s", root, subs[i]);
        if (!lf_is_dir(d)) continue; /* lib64 or lib: one of them is usually absent */
        n_dirs++;
        if (lf_try_dir(f, spec, seen, d, "toolkit")) return 1;
    }
    if (n_dirs == 0) lf_note(f, "toolkit %s: no lib64, " LF_TARGET_DIR " or lib folder", root);
    return 0;
}

/* The toolkit root of the nvcc found on PATH (<root>/bin/nvcc), or 0. */
static int lf_nvcc_root(char *out, size_t cap) {
    const char *path = getenv("PATH");
    if (!path) return 0;
    char *copy = strdup(path);
    if (!copy) return 0;
    int ok = 0;
    char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && !ok; d = strtok_r(NULL, ":", &save)) {
        char p[PATH_MAX], real[PATH_MAX];
        snprintf(p, sizeof p, "%s/nvcc", *d ? d : ".");
        if (access(p, X_OK) != 0 || !realpath(p, real)) continue;
        char *slash = strrchr(real, '/'); /* .../bin/nvcc -> .../bin */
        if (!slash) continue;
        *slash = '\0';
        slash = strrchr(real, '/'); /* .../bin -> ... */
        if (!slash || strcmp(slash, "/bin") != 0) continue;
        *slash = '\0';
        snprintf(out, cap, "%s", real);
        ok = 1;
    }
    free(copy);
    return ok;
}

static int lf_step_toolkit(ctcd_lib_found *f, const ctcd_lib_spec *spec, lf_seen *seen) {
    static const char *const vars[] = {"CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v && lf_try_root(f, spec, seen, v)) return 1;
    }
    char nvcc_root[PATH_MAX];
    if (lf_nvcc_root(nvcc_root, sizeof nvcc_root) && lf_try_root(f, spec, seen, nvcc_root))
        return 1;
    return lf_try_root(f, spec, seen, "/usr/local/cuda");
}

static int lf_step_python(ctcd_lib_found *f, const ctcd_lib_spec *spec, lf_seen *seen) {
    fflush(NULL); /* popen forks: nothing buffered may be written twice */
    FILE *p = popen(LF_PYTHON_CMD, "r");
    if (!p) {
        lf_note(f, "python cannot run python3 (popen failed)");
        return 0;
    }
    char line[PATH_MAX];
    int n_dirs = 0, ok = 0;
    while (!ok && fgets(line, sizeof line, p)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] != '/') continue;
        n_dirs++;
        int any = 0;
        for (int i = 0; spec->names[i] && !ok; i++) {
            char pat[PATH_MAX + 64];
            snprintf(pat, sizeof pat, "%s/*/lib/%s", line, spec->names[i]);
            glob_t g;
            if (glob(pat, 0, NULL, &g) != 0) continue;
            for (size_t k = 0; k < g.gl_pathc && !ok; k++) {
                char dir[PATH_MAX];
                snprintf(dir, sizeof dir, "%s", g.gl_pathv[k]);
                *strrchr(dir, '/') = '\0';
                if (!lf_seen_add(seen, dir)) continue;
                any = 1;
                ok = lf_open(f, "python ", g.gl_pathv[k], "python");
            }
            globfree(&g);
        }
        if (!any && !ok) {
            char names[512];
            lf_names_text(spec, names, sizeof names);
            lf_note(f, "python %s/*/lib: no %s there", line, names);
        }
    }
    /* Drain the rest so that python3 never dies of SIGPIPE mid-write; its status is moot. */
    while (fgets(line, sizeof line, p)) {
    }
    pclose(p);
    if (!ok && n_dirs == 0)
        lf_note(f, "python python3 on PATH: no nvidia package folder (no python3, or no "
                   "CUDA wheels installed for it)");
    return ok;
}

ctcd_status ctcd_lib_find(const ctcd_lib_spec *spec, ctcd_lib_found *found) {
    CTCD_ASSERT(spec && spec->what && spec->names && spec->names[0] && found,
                "ctcd_lib_find: a spec with a name and at least one file name");
    memset(found, 0, sizeof *found);
    lf_seen *seen = calloc(1, sizeof *seen);
    if (!seen) return CTCD_ERR(CTCD_E_NOMEM, "looking for %s: out of memory", spec->what);
    int ok = 0;
    const char *env = spec->env && !(spec->flags & CTCD_LIBFIND_NO_ENV) ? getenv(spec->env) : NULL;
    if (env && *env) {
        char label[128];
        snprintf(label, sizeof label, "env %s=", spec->env);
        ok = lf_open(found, label, env, "env");
    }
    if (!ok && !(spec->flags & CTCD_LIBFIND_NO_LOADER))
        for (int i = 0; spec->names[i] && !ok; i++)
            ok = lf_open(found, "loader ", spec->names[i], "loader");
    if (!ok && !(spec->flags & CTCD_LIBFIND_NO_TOOLKIT)) ok = lf_step_toolkit(found, spec, seen);
    if (!ok && !(spec->flags & CTCD_LIBFIND_NO_PYTHON)) ok = lf_step_python(found, spec, seen);
    free(seen);
    lf_finish_tried(found);
    if (ok) return CTCD_OK;
    char remedy[160];
    snprintf(remedy, sizeof remedy, "%s%s", spec->env ? spec->env : "",
             spec->env ? " to the library's path, or add its folder to LD_LIBRARY_PATH"
                       : "LD_LIBRARY_PATH to the library's folder");
    return CTCD_ERR(CTCD_E_UNSUPPORTED,
                    "cannot load %s; %d attempts, every place looked in:\n%s"
                    "set %s, or install it (the CUDA toolkit, or PyTorch's CUDA wheels for "
                    "the python3 on PATH)",
                    spec->what, found->n_tried, found->tried, remedy);
}
