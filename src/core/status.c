/* status.c — error objects for ctcd_status (see include/ctcd/status.h). */
#include "ctcd/status.h"

#include <stdarg.h>
#include <string.h>

struct ctcd_error {
    ctcd_code code;
    int immutable;     /* the shared out-of-memory error: never freed or rewritten */
    char source[96];   /* ctcd source location, "file.c:123" */
    char *message;     /* heap string */
};

/* Returned when the error itself cannot be allocated; read-only, so it is not mutable
 * global state. */
static struct ctcd_error oom_error = {CTCD_E_NOMEM, 1, "status.c", "out of host memory"};

static char *vformat(const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) n = 0;
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

static const char *basename_of(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

ctcd_status ctcd_error_new(ctcd_code code, const char *src_file, int src_line,
                           const char *fmt, ...) {
    struct ctcd_error *e = calloc(1, sizeof *e);
    if (!e) return &oom_error;
    va_list ap;
    va_start(ap, fmt);
    e->message = vformat(fmt, ap);
    va_end(ap);
    if (!e->message) {
        free(e);
        return &oom_error;
    }
    e->code = code;
    snprintf(e->source, sizeof e->source, "%s:%d", basename_of(src_file ? src_file : "?"),
             src_line);
    return e;
}

ctcd_status ctcd_error_wrap(ctcd_status st, const char *fmt, ...) {
    if (!st || st->immutable) return st;
    va_list ap;
    va_start(ap, fmt);
    char *ctx = vformat(fmt, ap);
    va_end(ap);
    if (!ctx) return st;
    size_t n = strlen(ctx) + strlen(st->message) + 3;
    char *joined = malloc(n);
    if (joined) {
        snprintf(joined, n, "%s: %s", ctx, st->message);
        free(st->message);
        st->message = joined;
    }
    free(ctx);
    return st;
}

ctcd_code ctcd_status_code(ctcd_status st) { return st ? st->code : CTCD_E_OK; }
const char *ctcd_status_message(ctcd_status st) { return st ? st->message : ""; }
const char *ctcd_status_source(ctcd_status st) { return st ? st->source : ""; }

const char *ctcd_code_name(ctcd_code code) {
    switch (code) {
    case CTCD_E_OK: return "ok";
    case CTCD_E_INVALID: return "invalid";
    case CTCD_E_IO: return "io";
    case CTCD_E_PARSE: return "parse";
    case CTCD_E_NOMEM: return "out of memory";
    case CTCD_E_UNSUPPORTED: return "unsupported";
    case CTCD_E_DEVICE: return "device";
    case CTCD_E_INTERNAL: return "internal";
    case CTCD_E_NONFINITE: return "non-finite";
    }
    return "unknown";
}

void ctcd_status_free(ctcd_status st) {
    if (!st || st->immutable) return;
    free(st->message);
    free(st);
}

void ctcd_assert_fail(const char *cond, const char *file, int line, const char *fmt, ...) {
    fprintf(stderr, "ctcd: internal error: assertion `%s` failed at %s:%d", cond,
            basename_of(file), line);
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        fputs(": ", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    abort();
}
