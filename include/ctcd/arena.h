/* arena.h — bump allocator over one buffer.
 *
 * Used twice for every long-lived buffer set: first in "measure" mode (base == NULL) to
 * learn the total size, then over a real allocation (host malloc or a backend's device
 * allocation) to hand out the same offsets. Nothing is freed individually; mark/reset
 * rewinds. */
#ifndef CTCD_ARENA_H
#define CTCD_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "ctcd/backend.h"
#include "ctcd/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CTCD_ARENA_ALIGN 256 /* bytes; enough for vector loads and cuBLASLt pointers */

typedef struct ctcd_arena {
    uint8_t *base;  /* NULL in measure mode: allocations return NULL-based offsets */
    size_t cap;     /* bytes available (SIZE_MAX in measure mode) */
    size_t used;    /* bytes handed out so far (including alignment padding) */
    size_t peak;    /* high-water mark of used */
} ctcd_arena;

/* Measure mode: counts bytes, hands out no memory (alloc returns NULL). */
void ctcd_arena_measure(ctcd_arena *a);
/* Wraps an existing buffer of cap bytes (not owned). */
void ctcd_arena_wrap(ctcd_arena *a, void *base, size_t cap);
/* Returns an aligned block of bytes; in measure mode returns NULL but still counts.
 * Fails with CTCD_E_NOMEM naming `what` when the arena is full. */
ctcd_status ctcd_arena_alloc(ctcd_arena *a, size_t bytes, const char *what, void **out);
/* The two passes over one backend allocation: layout(ctx, a) in measure mode, one
 * be->alloc of the measured size (*mem, *bytes; `what` names it in errors), then layout
 * again over it, handing out the same offsets. */
ctcd_status ctcd_arena_layout_alloc(ctcd_backend *be, const char *what,
                                    ctcd_status (*layout)(void *ctx, ctcd_arena *a), void *ctx,
                                    void **mem, size_t *bytes);
static inline size_t ctcd_arena_mark(const ctcd_arena *a) { return a->used; }
static inline void ctcd_arena_reset(ctcd_arena *a, size_t mark) { a->used = mark; }

#ifdef __cplusplus
}
#endif
#endif
