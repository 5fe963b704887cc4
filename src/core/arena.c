/* arena.c — bump allocator (include/ctcd/arena.h). */
#include "ctcd/arena.h"

void ctcd_arena_measure(ctcd_arena *a) {
    a->base = NULL;
    a->cap = SIZE_MAX;
    a->used = 0;
    a->peak = 0;
}

void ctcd_arena_wrap(ctcd_arena *a, void *base, size_t cap) {
    a->base = base;
    a->cap = cap;
    a->used = 0;
    a->peak = 0;
}

ctcd_status ctcd_arena_alloc(ctcd_arena *a, size_t bytes, const char *what, void **out) {
    size_t start = (a->used + CTCD_ARENA_ALIGN - 1) & ~(size_t)(CTCD_ARENA_ALIGN - 1);
    if (start < a->used || start + bytes < start || start + bytes > a->cap) {
        *out = NULL;
        return CTCD_ERR(CTCD_E_NOMEM,
                        "arena full: %zu bytes requested for %s, %zu of %zu bytes used",
                        bytes, what ? what : "buffer", a->used, a->cap);
    }
    *out = a->base ? a->base + start : NULL;
    a->used = start + bytes;
    if (a->used > a->peak) a->peak = a->used;
    return CTCD_OK;
}

ctcd_status ctcd_arena_layout_alloc(ctcd_backend *be, const char *what,
                                    ctcd_status (*layout)(void *ctx, ctcd_arena *a), void *ctx,
                                    void **mem, size_t *bytes) {
    ctcd_arena a;
    ctcd_arena_measure(&a);
    CTCD_TRY(layout(ctx, &a));
    *bytes = a.used;
    CTCD_TRY(be->alloc(be, a.used, what, mem));
    ctcd_arena_wrap(&a, *mem, *bytes);
    return layout(ctx, &a);
}
