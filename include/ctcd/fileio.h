/* fileio.h — files that are never half-written (write to a temp file, fsync, rename),
 * mkdir -p, and reading a whole file into memory. Every output ctcd writes (checkpoints,
 * recipes, predictions) goes through here.
 *
 * Bytes go to a temp file in the destination's directory (so that rename stays on one
 * file system); commit flushes, fsyncs, renames over the destination and fsyncs the
 * directory. Until commit the destination is untouched; on any failure the temp file is
 * removed. Readers therefore see the old file or the complete new one, never a mix.
 *
 * Test hooks (environment variables, read at each use; tests/test_fileio_faults.c,
 * tests/test_crash_resume.c):
 *   CTCD_TEST_FAIL_WRITE=SUBSTRING[:ERRNO]  ctcd_atomic_write to a destination whose path
 *       contains SUBSTRING fails with ENOSPC (or ERRNO) after writing half its bytes;
 *   CTCD_TEST_COMMIT_DELAY_MS=N  ctcd_atomic_commit sleeps N ms between the fsync of the
 *       complete temp file and the rename. */
#ifndef CTCD_FILEIO_H
#define CTCD_FILEIO_H

#include <stddef.h>
#include <stdint.h> /* SIZE_MAX */
#include <stdio.h>

#include "ctcd/status.h"

typedef struct ctcd_atomic_file {
    FILE *f;
    char *path;     /* destination */
    char *tmp_path; /* "<path>.tmp-XXXXXX" beside it */
} ctcd_atomic_file;

/* Creates the temp file, and the destination's missing directories first (mkdir -p), so
 * that every output option may name a directory that does not exist yet. On error
 * nothing is left behind (but directories it made) and af needs no cleanup. */
ctcd_status ctcd_atomic_open(ctcd_atomic_file *af, const char *path);
/* Appends n bytes; on error the caller still calls ctcd_atomic_abort. */
ctcd_status ctcd_atomic_write(ctcd_atomic_file *af, const void *p, size_t n);
/* Publishes the file. Always releases af: on error the temp file is removed. */
ctcd_status ctcd_atomic_commit(ctcd_atomic_file *af);
/* Drops the temp file (safe on an af whose open failed or that was committed). */
void ctcd_atomic_abort(ctcd_atomic_file *af);
/* open + write + commit of one buffer. */
ctcd_status ctcd_atomic_write_file(const char *path, const void *p, size_t n);
/* A text file built in memory and then written atomically: ctcd_text_open gives t->f (an
 * open_memstream) to fprintf into; ctcd_text_publish closes it and writes all of it to path
 * with ctcd_atomic_write_file, freeing the buffer in every case. Errors name path. */
typedef struct ctcd_text_file {
    FILE *f;
    char *text;
    size_t len;
} ctcd_text_file;
ctcd_status ctcd_text_open(ctcd_text_file *t, const char *path);
ctcd_status ctcd_text_publish(ctcd_text_file *t, const char *path);
/* mkdir -p: creates dir and its missing parents; an existing non-directory is an error. */
ctcd_status ctcd_mkdirs(const char *dir);
/* mkdir -p of the directory part of a file path ("a/b/c.tsv" -> a/b; nothing for "c.tsv"). */
ctcd_status ctcd_mkdirs_parent(const char *path);

/* Reads the whole file at path into a malloc'd buffer with a NUL after the *len bytes (the
 * caller frees *out; the bytes may hold NULs of their own). A file longer than max_bytes is
 * refused (SIZE_MAX: no limit). Pipes and files that grow while read are read to their end.
 * Errors name path and the OS reason ("x.json: cannot open: No such file or directory");
 * on error *out is NULL. */
ctcd_status ctcd_read_small_file(const char *path, size_t max_bytes, char **out, size_t *len);
/* Copies the file src to dst: read whole, then written with ctcd_atomic_write_file. */
ctcd_status ctcd_copy_file(const char *src, const char *dst);

#endif
