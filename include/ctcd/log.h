/* log.h — the logger (the one piece of global mutable state: its level and sink) and a
 * monotonic timer. Messages go to stderr; the progress line is rewritten in place when
 * stderr is a terminal. */
#ifndef CTCD_LOG_H
#define CTCD_LOG_H

#include "ctcd/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ctcd_log_level {
    CTCD_LOG_DEBUG = 0,
    CTCD_LOG_INFO,
    CTCD_LOG_WARN,
    CTCD_LOG_ERROR,
    CTCD_LOG_QUIET
} ctcd_log_level;

void ctcd_log_set_level(ctcd_log_level level);
ctcd_log_level ctcd_log_get_level(void);
void ctcd_log(ctcd_log_level level, const char *fmt, ...) CTCD_PRINTF(2, 3);
#define ctcd_debug(...) ctcd_log(CTCD_LOG_DEBUG, __VA_ARGS__)
#define ctcd_info(...) ctcd_log(CTCD_LOG_INFO, __VA_ARGS__)
#define ctcd_warn(...) ctcd_log(CTCD_LOG_WARN, __VA_ARGS__)
#define ctcd_error(...) ctcd_log(CTCD_LOG_ERROR, __VA_ARGS__)
/* A transient progress line (overwritten by the next one on a terminal; a plain line
 * otherwise). Suppressed below INFO. */
void ctcd_progress(const char *fmt, ...) CTCD_PRINTF(1, 2);
/* Ends a progress line so that the next message starts on a fresh line. */
void ctcd_progress_end(void);

/* Seconds from an arbitrary fixed point, monotonic. */
double ctcd_now(void);

#ifdef __cplusplus
}
#endif
#endif
