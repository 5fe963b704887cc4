/* test_safetensors.c — the safetensors reader against hand-built bytes (decoding of BF16 /
 * F16 edge values, every corrupt-header case fails with a message naming the file and the
 * tensor or reason), and the writer (HF layout, padding, atomic replacement). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/safetensors.h"
#include "st_builder.h"
#include "testutil.h"

/* A temp directory per test and a file path inside it. */
typedef struct tdir {
    char *dir;
    char path[4200];
} tdir;

static void tdir_make(tdir *t, const char *file) {
    t->dir = ctcd_test_tmpdir();
    cr_assert_not_null(t->dir, "mkdtemp failed");
    snprintf(t->path, sizeof t->path, "%s/%s", t->dir, file);
}

static void tdir_free(tdir *t) {
    cr_expect_eq(ctcd_test_rmtree(t->dir), 0, "could not remove %s", t->dir);
    free(t->dir);
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "opendir %s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* Expects ctcd_st_open(path) to fail with a message naming path and containing both
 * needles (needle2 may be NULL). */
static void expect_open_error(const char *path, const char *needle1, const char *needle2) {
    ctcd_st_file *f = (ctcd_st_file *)1;
    ctcd_status st = ctcd_st_open(path, &f);
    cr_assert_not_null(st, "opening %s should fail with '%s'", path, needle1);
    cr_assert_null(f, "no file handle on error");
    const char *msg = ctcd_status_message(st);
    cr_expect(strstr(msg, path) != NULL, "message does not name the file: %s", msg);
    cr_expect(strstr(msg, needle1) != NULL, "message lacks '%s': %s", needle1, msg);
    if (needle2) cr_expect(strstr(msg, needle2) != NULL, "message lacks '%s': %s", needle2, msg);
    ctcd_status_free(st);
}

static void write_header(const char *path, const char *hdr, size_t data_bytes) {
    uint8_t *zeros = calloc(data_bytes + 1, 1);
    cr_assert_eq(st_write_raw(path, strlen(hdr), hdr, strlen(hdr), zeros, data_bytes), 0);
    free(zeros);
}

/* ---- decoding ---- */

Test(safetensors_read, decodes_bf16_and_f16_edge_values) {
    tdir t;
    tdir_make(&t, "x.safetensors");
    const uint16_t bf[] = {0x3F80, 0xC020, 0x477F, 0x0001, 0x8000, 0x7F80};
    const float bf_want[] = {1.0f, -2.5f, 65280.0f, ldexpf(1.0f, -133), -0.0f, INFINITY};
    const uint16_t hf[] = {0x3C00, 0xC100, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0xFC00, 0x8000};
    const float hf_want[] = {1.0f, -2.5f, 65504.0f, ldexpf(1.0f, -24), ldexpf(1023.0f, -24),
                             ldexpf(1.0f, -14), -INFINITY, -0.0f};
    const float f32[] = {3.25f, -1e-40f /* subnormal */};
    st_builder b;
    stb_init(&b);
    stb_add(&b, "bf", "BF16", (int64_t[]){2, 3}, 2, bf, sizeof bf);
    stb_add(&b, "h", "F16", (int64_t[]){8}, 1, hf, sizeof hf);
    stb_add(&b, "f", "F32", (int64_t[]){2}, 1, f32, sizeof f32);
    cr_assert_eq(stb_write(&b, t.path), 0);
    stb_free(&b);

    ctcd_st_file *f;
    ctcd_status st = ctcd_st_open(t.path, &f);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_assert_eq(ctcd_st_count(f), 3);
    const ctcd_st_tensor *tb = ctcd_st_find(f, "bf"), *th = ctcd_st_find(f, "h"),
                         *tf = ctcd_st_find(f, "f");
    cr_assert(tb && th && tf, "tensors not found");
    cr_assert_eq(tb->ndim, 2);
    cr_assert_eq(tb->shape[1], 3);
    cr_assert_eq(tb->numel, 6);
    cr_assert_null(ctcd_st_find(f, "nope"));
    float out[8];
    cr_assert_null(ctcd_st_read_f32(f, tb, out));
    for (int i = 0; i < 6; i++)
        cr_expect(memcmp(&out[i], &bf_want[i], 4) == 0, "BF16 %#06x -> %g, want %g", bf[i],
                  out[i], bf_want[i]);
    cr_assert_null(ctcd_st_read_f32(f, th, out));
    for (int i = 0; i < 8; i++)
        cr_expect(memcmp(&out[i], &hf_want[i], 4) == 0, "F16 %#06x -> %g, want %g", hf[i],
                  out[i], hf_want[i]);
    cr_assert_null(ctcd_st_read_f32(f, tf, out));
    cr_expect(memcmp(out, f32, sizeof f32) == 0, "F32 copy differs");
    cr_expect(isnan(ctcd_f16_to_f32(0x7E00)), "F16 NaN");
    ctcd_st_close(f);
    tdir_free(&t);
}

Test(safetensors_read, unaligned_offsets_metadata_and_empty_tensors_are_fine) {
    tdir t;
    tdir_make(&t, "x.safetensors");
    /* A 1-byte U8 tensor first pushes the F32 data off 4-byte alignment. */
    const uint8_t bytes[] = {7, 0, 0, 0x80, 0x3F, 0, 0, 0x20, 0xC0};
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},"
                      "\"u\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                      "\"e\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[1,1]},"
                      "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[1,9]}}   ";
    cr_assert_eq(st_write_raw(t.path, strlen(hdr), hdr, strlen(hdr), bytes, sizeof bytes), 0);
    ctcd_st_file *f;
    ctcd_status st = ctcd_st_open(t.path, &f);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_expect_str_eq(ctcd_st_metadata(f, "format"), "pt");
    cr_expect_null(ctcd_st_metadata(f, "other"));
    cr_assert_eq(ctcd_st_count(f), 3);
    cr_expect_str_eq(ctcd_st_get(f, 0)->name, "u", "header order is kept");
    float w[2];
    cr_assert_null(ctcd_st_read_f32(f, ctcd_st_find(f, "w"), w));
    cr_expect(w[0] == 1.0f && w[1] == -2.5f, "unaligned F32 read %g %g", w[0], w[1]);
    cr_expect_eq(ctcd_st_find(f, "e")->numel, 0);
    /* Integer tensors open (they may be unused buffers) but cannot be read as weights. */
    st = ctcd_st_read_f32(f, ctcd_st_find(f, "u"), w);
    cr_assert_not_null(st);
    cr_expect(strstr(ctcd_status_message(st), "unsupported dtype U8") &&
                  strstr(ctcd_status_message(st), "'u'"),
              "%s", ctcd_status_message(st));
    ctcd_status_free(st);
    ctcd_st_close(f);
    tdir_free(&t);
}

/* ---- corrupt files: every case is an error that names the file and the reason ---- */

Test(safetensors_corrupt, truncated_and_empty_files) {
    tdir t;
    tdir_make(&t, "x.safetensors");
    cr_assert_eq(ctcd_test_write_file(t.path, "abc"), 0);
    expect_open_error(t.path, "truncated", "3 bytes");
    cr_assert_eq(ctcd_test_write_file(t.path, ""), 0);
    expect_open_error(t.path, "truncated", NULL);
    /* A valid file cut inside its data section. */
    const float v[4] = {1, 2, 3, 4};
    st_builder b;
    stb_init(&b);
    stb_add_f32(&b, "w", (int64_t[]){4}, 1, v);
    stb_append(&b, "}");
    cr_assert_eq(st_write_raw(t.path, b.hlen, b.hdr, b.hlen, v, 8), 0);
    stb_free(&b);
    expect_open_error(t.path, "'w'", "out of range");
    tdir_free(&t);
}

Test(safetensors_corrupt, header_length_beyond_the_file) {
    tdir t;
    tdir_make(&t, "x.safetensors");
    const char *hdr = "{}";
    cr_assert_eq(st_write_raw(t.path, 1000, hdr, 2, NULL, 0), 0);
    expect_open_error(t.path, "header length 1000", "larger than the 2 bytes");
    cr_assert_eq(st_write_raw(t.path, (uint64_t)1 << 40, hdr, 2, NULL, 0), 0);
    expect_open_error(t.path, "exceeds the limit", NULL);
    tdir_free(&t);
}

Test(safetensors_corrupt, header_not_json_or_not_an_object) {
    tdir t;
    tdir_make(&t, "x.safetensors");
    write_header(t.path, "{\"w\": {\"dtype\": oops}}", 0);
    expect_open_error(t.path, "not valid JSON", "byte offset");
    write_header(t.path, "[1, 2]", 0);
    expect_open_error(t.path, "expected an object", NULL);
    write_header(t.path, "{} x", 0);
    expect_open_error(t.path, "unexpected data after the JSON", NULL);
    const char with_nul[] = "{\"a\0\":1}";
    cr_assert_eq(st_write_raw(t.path, sizeof with_nul - 1, with_nul, sizeof with_nul - 1, NULL, 0),
                 0);
    expect_open_error(t.path, "NUL byte at byte offset 11", NULL);
    write_header(t.path, "{\"w\": [1]}", 0);
    expect_open_error(t.path, "'w'", "expected an object");
    write_header(t.path, "{\"__metadata__\": {\"format\": 1}}", 0);
    expect_open_error(t.path, "__metadata__", "expected a string");
    tdir_free(&t);
}

Test(safetensors_corrupt, deeply_nested_header_is_refused_before_parsing) {
    tdir t;
    tdir_make(&t, "x.safetensors");
    const int depth = 200000; /* would overflow a recursive parser's stack without a check */
    char *hdr = malloc((size_t)depth * 2 + 16);
    size_t n = 0;
    n += (size_t)sprintf(hdr, "{\"a\":");
    for (int i = 0; i < depth; i++) hdr[n++] = '[';
    for (int i = 0; i < depth; i++) hdr[n++] = ']';
    hdr[n++] = '}';
    hdr[n] = '\0';
    write_header(t.path, hdr, 0);
    free(hdr);
    expect_open_error(t.path, "nested deeper than 16", "byte offset 28");
    /* Brackets inside strings do not count. */
    write_header(t.path, "{\"__metadata__\":{\"k\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}}", 0);
    ctcd_st_file *f;
    ctcd_status st = ctcd_st_open(t.path, &f);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    ctcd_st_close(f);
    tdir_free(&t);
}

Test(safetensors_corrupt, offsets_out_of_range_or_reversed) {
    tdir t;
    tdir_make(&t, "x.safetensors");
    write_header(t.path, "{\"enc.w\":{\"dtype\":\"F32\",\"shape\":[100],\"data_offsets\":[0,400]}}",
                 16);
    expect_open_error(t.path, "'enc.w'", "out of range of the 16-byte data section");
    write_header(t.path, "{\"enc.w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}",
                 16);
    expect_open_error(t.path, "'enc.w'", "out of range");
    write_header(t.path, "{\"enc.w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}",
                 16);
    expect_open_error(t.path, "'enc.w'", "data_offsets");
    write_header(t.path, "{\"enc.w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 16);
    expect_open_error(t.path, "'enc.w'", "[begin, end]");
    write_header(t.path, "{\"enc.w\":{\"dtype\":\"F32\",\"shape\":[1],"
                         "\"data_offsets\":[0,1e300]}}", 16);
    expect_open_error(t.path, "'enc.w'", "data_offsets");
    tdir_free(&t);
}

Test(safetensors_corrupt, overlapping_and_duplicate_tensors) {
    tdir t;
    tdir_make(&t, "x.safetensors");
    write_header(t.path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 16);
    expect_open_error(t.path, "'a' [0, 8) and 'b' [4, 12) overlap", NULL);
    /* A tensor inside another one, listed first. */
    write_header(t.path, "{\"in\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
                         "\"out\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16);
    expect_open_error(t.path, "overlap", "'in'");
    write_header(t.path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 16);
    expect_open_error(t.path, "'a' appears twice", NULL);
    tdir_free(&t);
}

Test(safetensors_corrupt, shape_and_offsets_disagree) {
    tdir t;
    tdir_make(&t, "x.safetensors");
    write_header(t.path, "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 16);
    expect_open_error(t.path, "'w'", "needs 3 elements of 4 bytes but data_offsets [0, 8] span 8");
    write_header(t.path, "{\"w\":{\"dtype\":\"BF16\",\"shape\":[2147483648,2147483648],"
                         "\"data_offsets\":[0,0]}}", 16);
    expect_open_error(t.path, "'w'", "needs");
    write_header(t.path, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,"
                         "4294967296],\"data_offsets\":[0,0]}}", 16);
    expect_open_error(t.path, "'w'", "overflows");
    write_header(t.path, "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 16);
    expect_open_error(t.path, "'w'", "shape[0] is not a non-negative integer");
    write_header(t.path, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,0]}}", 16);
    expect_open_error(t.path, "'w'", "shape[0]");
    write_header(t.path, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                         "\"data_offsets\":[0,4]}}", 16);
    expect_open_error(t.path, "'w'", "9 dimensions");
    write_header(t.path, "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 16);
    expect_open_error(t.path, "'w'", "\"shape\" is nothing");
    tdir_free(&t);
}

Test(safetensors_corrupt, unknown_and_unsupported_dtypes) {
    tdir t;
    tdir_make(&t, "x.safetensors");
    write_header(t.path, "{\"w\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,1]}}", 16);
    expect_open_error(t.path, "'w'", "unknown dtype 'Q7'");
    write_header(t.path, "{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,1]}}", 16);
    expect_open_error(t.path, "'w'", "\"dtype\" is number");
    /* F64 and I64 are valid safetensors: the file opens, reading values is refused. */
    write_header(t.path, "{\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                         "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[8,16]}}", 16);
    ctcd_st_file *f;
    ctcd_status st = ctcd_st_open(t.path, &f);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    const char *names[] = {"d", "i"}, *dts[] = {"F64", "I64"};
    for (int k = 0; k < 2; k++) {
        float v[1];
        st = ctcd_st_read_f32(f, ctcd_st_find(f, names[k]), v);
        cr_assert_not_null(st, "%s must not be readable as fp32", dts[k]);
        const char *msg = ctcd_status_message(st);
        cr_expect(strstr(msg, t.path) && strstr(msg, "unsupported dtype") && strstr(msg, dts[k]),
                  "%s", msg);
        ctcd_status_free(st);
    }
    ctcd_st_close(f);
    tdir_free(&t);
}

Test(safetensors_corrupt, too_many_tensors) {
    tdir t;
    tdir_make(&t, "x.safetensors");
    /* 1,000,002 entries (one may be __metadata__): the count is checked before any entry
     * is looked at, so they need not be valid, and scalars keep the parse small. */
    const int n = CTCD_ST_MAX_TENSORS + 2;
    const char *entry = "\"t%07d\":0";
    char *hdr = malloc((size_t)n * 16 + 4);
    size_t len = 0;
    hdr[len++] = '{';
    for (int i = 0; i < n; i++) {
        if (i) hdr[len++] = ',';
        len += (size_t)sprintf(hdr + len, entry, i);
    }
    hdr[len++] = '}';
    hdr[len] = '\0';
    cr_assert_eq(st_write_raw(t.path, len, hdr, len, NULL, 0), 0);
    free(hdr);
    expect_open_error(t.path, "more than 1000000 tensors", NULL);
    tdir_free(&t);
}

/* ---- the writer ---- */

Test(safetensors_write, hf_layout_round_trips_and_pads_to_8) {
    tdir t;
    tdir_make(&t, "model.safetensors");
    const float a[6] = {1.0f, -2.5f, 3.0e-3f, 1.0f + 1.0f / 256.0f, -0.0f, 65504.0f};
    const int32_t ids[3] = {-1, 0, 7};
    const ctcd_st_entry e[] = {
        {.name = "a.f32", .dtype = CTCD_F32, .src_dtype = CTCD_F32, .ndim = 2, .shape = {2, 3},
         .data = a},
        {.name = "a.bf16", .dtype = CTCD_BF16, .src_dtype = CTCD_F32, .ndim = 1, .shape = {6},
         .data = a},
        {.name = "ids", .dtype = CTCD_I32, .src_dtype = CTCD_I32, .ndim = 1, .shape = {3},
         .data = ids},
        {.name = "scalar", .dtype = CTCD_F32, .src_dtype = CTCD_F32, .ndim = 0, .data = a},
    };
    static const char *const md[] = {"format", "pt", NULL};
    ctcd_status st = ctcd_st_write(t.path, e, 4, md);
    cr_assert_null(st, "%s", ctcd_status_message(st));

    FILE *fp = fopen(t.path, "rb");
    uint8_t len8[8];
    cr_assert_eq(fread(len8, 1, 8, fp), 8);
    fclose(fp);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | len8[i];
    cr_expect_eq(hlen % 8, 0, "header length %llu is not a multiple of 8",
                 (unsigned long long)hlen);

    ctcd_st_file *f;
    st = ctcd_st_open(t.path, &f);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_expect_str_eq(ctcd_st_metadata(f, "format"), "pt");
    cr_assert_eq(ctcd_st_count(f), 4);
    cr_expect_str_eq(ctcd_st_get(f, 0)->name, "a.f32", "tensors keep the caller's order");
    cr_expect_str_eq(ctcd_st_get(f, 1)->dtype, "BF16");
    cr_expect_eq(ctcd_st_get(f, 1)->begin, 24, "back to back, no holes");
    float got[6];
    cr_assert_null(ctcd_st_read_f32(f, ctcd_st_find(f, "a.f32"), got));
    cr_expect(memcmp(got, a, sizeof a) == 0, "F32 differs");
    cr_assert_null(ctcd_st_read_f32(f, ctcd_st_find(f, "a.bf16"), got));
    for (int i = 0; i < 6; i++) {
        const float want = ctcd_bf16_to_f32(ctcd_f32_to_bf16(a[i]));
        cr_expect(memcmp(&got[i], &want, 4) == 0, "bf16[%d] %g, want %g", i, got[i], want);
    }
    cr_expect_eq(got[3], 1.0f, "1 + 2^-8 is a tie: rounds to even (1.0)");
    const ctcd_st_tensor *ti = ctcd_st_find(f, "ids");
    cr_expect(ti && memcmp(ti->data, ids, sizeof ids) == 0, "I32 raw copy");
    cr_expect_eq(ctcd_st_find(f, "scalar")->ndim, 0);
    ctcd_st_close(f);
    tdir_free(&t);
}

Test(safetensors_write, invalid_entries_leave_the_old_file) {
    tdir t;
    tdir_make(&t, "model.safetensors");
    cr_assert_eq(ctcd_test_write_file(t.path, "old"), 0);
    const float a[2] = {1, 2};
    ctcd_st_entry e[2] = {
        {.name = "x", .dtype = CTCD_F32, .src_dtype = CTCD_F32, .ndim = 1, .shape = {2}, .data = a},
        {.name = "x", .dtype = CTCD_F32, .src_dtype = CTCD_F32, .ndim = 1, .shape = {2}, .data = a},
    };
    ctcd_status st = ctcd_st_write(t.path, e, 2, NULL);
    cr_assert_not_null(st);
    cr_expect(strstr(ctcd_status_message(st), "'x' given twice"), "%s", ctcd_status_message(st));
    ctcd_status_free(st);
    e[1].name = "y";
    e[1].dtype = CTCD_F16; /* F32 -> F16 is not a supported conversion */
    st = ctcd_st_write(t.path, e, 2, NULL);
    cr_assert_not_null(st);
    cr_expect(strstr(ctcd_status_message(st), "cannot store F32 data as F16"), "%s",
              ctcd_status_message(st));
    ctcd_status_free(st);
    char *text = NULL;
    size_t n = 0;
    FILE *fp = fopen(t.path, "rb");
    text = calloc(16, 1);
    n = fread(text, 1, 15, fp);
    fclose(fp);
    cr_expect(n == 3 && strcmp(text, "old") == 0, "old file replaced: '%s'", text);
    free(text);
    cr_expect_eq(count_entries(t.dir), 1, "a temp file was left behind");
    tdir_free(&t);
}
