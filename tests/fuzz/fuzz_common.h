/* fuzz_common.h — shared by the libFuzzer targets: the input as a temporary file (the readers
 * under test take paths, as users' files do) and a small vocabulary written by us. */
#ifndef CTCD_FUZZ_COMMON_H
#define CTCD_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctcd/log.h"
#include "ctcd/status.h"

/* Writes data to a per-process temp file named with suffix; returns its path (static). */
static inline const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix) {
    static char path[256];
    snprintf(path, sizeof path, "/tmp/ctcd-fuzz-%d%s", (int)getpid(), suffix);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    return path;
}

/* Errors are the expected outcome for most inputs: drop them, but touch the message so a
 * broken formatter would be caught by the sanitizers. */
static inline void fuzz_drop(ctcd_status st) {
    if (!st) return;
    volatile size_t n = strlen(ctcd_status_message(st));
    (void)n;
    ctcd_status_free(st);
}

/* A vocabulary with the specials, some words, "##" pieces, punctuation and CJK. */
static inline const char *fuzz_vocab(void) {
    static char path[256];
    if (path[0]) return path;
    snprintf(path, sizeof path, "/tmp/ctcd-fuzz-vocab-%d.txt", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    fputs("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\na\nman\nwoman\nrun\n##s\n##ing\n##ed\n"
          "good\nbad\n.\n,\n!\n?\n'\n-\ncafe\nnaive\n\xe4\xb8\xad\n\xe6\x96\x87\n1\n2\n##0\n",
          f);
    fclose(f);
    return path;
}

static inline void fuzz_quiet(void) { ctcd_log_set_level(CTCD_LOG_ERROR); }

#endif
