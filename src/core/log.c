/* log.c — logger and timer (include/ctcd/log.h). */
#include "ctcd/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* The logger is the only global mutable state in ctcd (see DESIGN/STYLE). */
static ctcd_log_level g_level = CTCD_LOG_INFO;
static int g_progress_open = 0;

void ctcd_log_set_level(ctcd_log_level level) { g_level = level; }
ctcd_log_level ctcd_log_get_level(void) { return g_level; }

void ctcd_log(ctcd_log_level level, const char *fmt, ...) {
    if (level < g_level) return;
    static const char *tags[] = {"debug", "info", "warning", "error"};
    ctcd_progress_end();
    if (level != CTCD_LOG_INFO) fprintf(stderr, "ctcd: %s: ", tags[level]);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void ctcd_progress(const char *fmt, ...) {
    if (g_level > CTCD_LOG_INFO) return;
    int tty = isatty(fileno(stderr));
    if (tty) fputs("\r\033[K", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (tty) {
        g_progress_open = 1;
    } else {
        fputc('\n', stderr);
    }
    fflush(stderr);
}

void ctcd_progress_end(void) {
    if (g_progress_open) {
        fputc('\n', stderr);
        g_progress_open = 0;
    }
}

double ctcd_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
