/* status.h — the one error family of ctcd.
 *
 * A ctcd_status is a pointer: NULL means success, anything else is an error object that
 * owns a formatted message and the source location that raised it. The caller of a
 * function returning an error owns it and must ctcd_status_free() it (or return it).
 * Messages name the user's input (file:line, recipe key, tensor name), never only ours.
 *
 * Internal invariants use CTCD_ASSERT, which is always on and aborts: it is never used on
 * user input. */
#ifndef CTCD_STATUS_H
#define CTCD_STATUS_H

#include <stdio.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ctcd_code {
    CTCD_E_OK = 0,
    CTCD_E_INVALID,     /* bad argument or bad value in user input */
    CTCD_E_IO,          /* file could not be opened / read / written */
    CTCD_E_PARSE,       /* malformed file content (recipe, TSV, JSON, safetensors) */
    CTCD_E_NOMEM,       /* host or device allocation failed */
    CTCD_E_UNSUPPORTED, /* valid request that this build cannot do (e.g. no CUDA) */
    CTCD_E_DEVICE,      /* CUDA / cuBLAS / cuDNN runtime error */
    CTCD_E_INTERNAL,    /* a bug in ctcd */
    CTCD_E_NONFINITE    /* a NaN/Inf loss or gradient during training */
} ctcd_code;

typedef struct ctcd_error *ctcd_status;
#define CTCD_OK ((ctcd_status)0)

#if defined(__GNUC__)
#define CTCD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define CTCD_NODISCARD __attribute__((warn_unused_result))
#else
#define CTCD_PRINTF(a, b)
#define CTCD_NODISCARD
#endif

/* Creates an error. src_file/src_line are ctcd's own source location (for debugging);
 * the message itself must say what the user did wrong. Never returns NULL: when memory
 * is exhausted a shared immutable out-of-memory error is returned instead. */
ctcd_status ctcd_error_new(ctcd_code code, const char *src_file, int src_line,
                           const char *fmt, ...) CTCD_PRINTF(4, 5);
#define CTCD_ERR(code, ...) ctcd_error_new((code), __FILE__, __LINE__, __VA_ARGS__)

/* Prepends context ("loading recipe x.yaml: <old message>") and returns the same error.
 * A NULL status passes through unchanged, so `return ctcd_error_wrap(f(), ...)` is fine. */
ctcd_status ctcd_error_wrap(ctcd_status st, const char *fmt, ...) CTCD_PRINTF(2, 3);

ctcd_code ctcd_status_code(ctcd_status st);
const char *ctcd_status_message(ctcd_status st); /* "" for CTCD_OK */
const char *ctcd_status_source(ctcd_status st);  /* "file.c:123" of ctcd's code, "" for OK */
const char *ctcd_code_name(ctcd_code code);
void ctcd_status_free(ctcd_status st);

/* Evaluates expr; on error returns it from the enclosing function. */
#define CTCD_TRY(expr)                     \
    do {                                   \
        ctcd_status ctcd_try_st_ = (expr); \
        if (ctcd_try_st_) return ctcd_try_st_; \
    } while (0)

/* Always-on invariant check (a failure is a bug in ctcd, not bad input). */
void ctcd_assert_fail(const char *cond, const char *file, int line, const char *fmt, ...)
    CTCD_PRINTF(4, 5);
#define CTCD_ASSERT(cond, ...)                                                  \
    do {                                                                       \
        if (!(cond)) ctcd_assert_fail(#cond, __FILE__, __LINE__, "" __VA_ARGS__); \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
