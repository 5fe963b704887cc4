/* test_fileio.c — the whole-file read and copy of ctcd/fileio.h and the FNV-1a of
 * ctcd/hash.h: a read returns every byte (NULs included) with a NUL after them, whatever
 * the file's size or kind (empty, larger than the first buffer, a pipe); a file over the
 * limit and a missing file are errors naming the path (and the OS reason); a copy is byte
 * for byte. FNV-1a matches the published test vectors, in one piece or fed in parts. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctcd/fileio.h"
#include "ctcd/hash.h"
#include "testutil.h"

static char *path_of(const char *dir, const char *name) {
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

static void write_bytes(const char *path, const char *p, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(p, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

static void expect_message(ctcd_status st, ctcd_code code, const char *a, const char *b) {
    cr_assert_not_null(st, "no error (wanted '%s')", a);
    const char *msg = ctcd_status_message(st);
    cr_expect_eq(ctcd_status_code(st), code, "code %s: %s", ctcd_code_name(ctcd_status_code(st)),
                 msg);
    cr_expect_not_null(strstr(msg, a), "'%s' not in: %s", a, msg);
    if (b) cr_expect_not_null(strstr(msg, b), "'%s' not in: %s", b, msg);
    ctcd_status_free(st);
}

Test(fileio, read_returns_every_byte_with_a_nul_after_them) {
    char *dir = ctcd_test_tmpdir(), *path = path_of(dir, "f.bin");
    /* sizes around the first buffer of a pipe (64 KiB) and a file's own size */
    static const size_t sizes[] = {0, 1, 4095, 65535, 65536, 65537, 300001};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        const size_t n = sizes[k];
        char *want = malloc(n + 1);
        for (size_t i = 0; i < n; i++) want[i] = (char)(i * 7 % 251); /* NULs included */
        write_bytes(path, want, n);
        char *got = (char *)1;
        size_t len = 7;
        ctcd_status st = ctcd_read_small_file(path, SIZE_MAX, &got, &len);
        cr_assert_null(st, "%zu bytes: %s", n, ctcd_status_message(st));
        cr_assert_eq(len, n, "read %zu of %zu bytes", len, n);
        cr_assert(memcmp(got, want, n) == 0, "%zu bytes: the content differs", n);
        cr_assert_eq(got[n], '\0', "%zu bytes: no NUL after the bytes", n);
        free(got);
        free(want);
    }
    ctcd_test_rmtree(dir);
    free(path);
    free(dir);
}

Test(fileio, read_of_a_pipe_reads_to_its_end) {
    char *dir = ctcd_test_tmpdir(), *path = path_of(dir, "fifo");
    cr_assert_eq(mkfifo(path, 0600), 0);
    fflush(NULL);
    const pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) { /* the writer: 200000 bytes in small pieces */
        FILE *f = fopen(path, "wb");
        for (int i = 0; f && i < 20000; i++) fputs("0123456789", f);
        _exit(f && fclose(f) == 0 ? 0 : 1);
    }
    char *got;
    size_t len;
    ctcd_status st = ctcd_read_small_file(path, SIZE_MAX, &got, &len);
    int ws = 0;
    waitpid(pid, &ws, 0);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_eq(len, 200000u);
    cr_assert(strncmp(got + 199990, "0123456789", 11) == 0, "the end of the pipe differs");
    free(got);
    ctcd_test_rmtree(dir);
    free(path);
    free(dir);
}

Test(fileio, read_errors_name_the_path_and_the_reason) {
    char *dir = ctcd_test_tmpdir(), *path = path_of(dir, "big.txt");
    char *out = (char *)1;
    size_t len = 7;
    expect_message(ctcd_read_small_file("/nonexistent/ctcd/x.json", SIZE_MAX, &out, &len),
                   CTCD_E_IO, "/nonexistent/ctcd/x.json: cannot open: ",
                   "No such file or directory");
    cr_expect_null(out, "*out is NULL on error");
    cr_expect_eq(len, 0u);
    write_bytes(path, "0123456789", 10);
    expect_message(ctcd_read_small_file(path, 9, &out, &len), CTCD_E_INVALID, path,
                   "larger than the 9-byte limit");
    cr_expect_null(out);
    cr_assert_null(ctcd_read_small_file(path, 10, &out, &len), "exactly the limit is fine");
    free(out);
    expect_message(ctcd_read_small_file(dir, SIZE_MAX, &out, &len), CTCD_E_IO, dir,
                   "Is a directory");
    ctcd_test_rmtree(dir);
    free(path);
    free(dir);
}

Test(fileio, copy_is_byte_for_byte_and_names_a_missing_source) {
    char *dir = ctcd_test_tmpdir(), *src = path_of(dir, "vocab.txt");
    char *dst = path_of(dir, "new/sub/vocab.txt");
    write_bytes(src, "[PAD]\n[UNK]\n\0x\n", 15);
    cr_assert_null(ctcd_copy_file(src, dst), "copy into directories that do not exist yet");
    char *a, *b;
    size_t na, nb;
    cr_assert_null(ctcd_read_small_file(src, SIZE_MAX, &a, &na));
    cr_assert_null(ctcd_read_small_file(dst, SIZE_MAX, &b, &nb));
    cr_assert(na == nb && memcmp(a, b, na) == 0, "the copy differs (%zu vs %zu bytes)", na, nb);
    free(a);
    free(b);
    expect_message(ctcd_copy_file("/nonexistent/vocab.txt", dst), CTCD_E_IO,
                   "/nonexistent/vocab.txt", "No such file");
    ctcd_test_rmtree(dir);
    free(src);
    free(dst);
    free(dir);
}

/* The published FNV-1a test vectors (Fowler, Noll, Vo: "a", "foobar"), and that a message
 * fed in parts hashes as the whole. */
Test(hash, fnv1a_matches_the_reference_vectors_whole_or_in_parts) {
    cr_expect_eq(ctcd_fnv1a64(CTCD_FNV1A64_INIT, "", 0), 0xcbf29ce484222325ull);
    cr_expect_eq(ctcd_fnv1a64(CTCD_FNV1A64_INIT, "a", 1), 0xaf63dc4c8601ec8cull);
    cr_expect_eq(ctcd_fnv1a64(CTCD_FNV1A64_INIT, "foobar", 6), 0x85944171f73967e8ull);
    cr_expect_eq(ctcd_fnv1a64_str(CTCD_FNV1A64_INIT, "foobar"), 0x85944171f73967e8ull);
    cr_expect_eq(ctcd_fnv1a64_str(ctcd_fnv1a64(CTCD_FNV1A64_INIT, "foo", 3), "bar"),
                 0x85944171f73967e8ull);
    cr_expect_eq(ctcd_fnv1a32(CTCD_FNV1A32_INIT, "", 0), 0x811c9dc5u);
    cr_expect_eq(ctcd_fnv1a32(CTCD_FNV1A32_INIT, "a", 1), 0xe40c292cu);
    cr_expect_eq(ctcd_fnv1a32(CTCD_FNV1A32_INIT, "foobar", 6), 0xbf9cf968u);
    cr_expect_eq(ctcd_fnv1a32(ctcd_fnv1a32(CTCD_FNV1A32_INIT, "##", 2), "ab", 2),
                 ctcd_fnv1a32(CTCD_FNV1A32_INIT, "##ab", 4));
}
