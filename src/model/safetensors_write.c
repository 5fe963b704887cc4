/* safetensors_write.c — the safetensors writer (include/ctcd/safetensors.h).
 *
 * Output matches HF's save_file: "__metadata__" first, tensors back to back in the
 * caller's order with no holes (the Rust reader insists on that), header padded with
 * spaces so the data section starts at a multiple of 8 bytes. The file is written through
 * ctcd/fileio.h, so it appears whole or not at all. */
#include <stdlib.h>
#include <string.h>

#include "ctcd/fileio.h"
#include "ctcd/safetensors.h"
#include "ctcd/json_util.h"

#define NAME "'%.200s'"
#define CHUNK 8192 /* elements converted per write */

static int64_t entry_bytes(const ctcd_st_entry *e, int64_t numel) {
    return numel * (int64_t)ctcd_dtype_size(e->dtype);
}

static int name_ptr_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Checks one entry; *numel receives its element count. */
static ctcd_status check_entry(const char *path, const ctcd_st_entry *e, int64_t *numel) {
    if (!e->name || !*e->name || strcmp(e->name, "__metadata__") == 0)
        return CTCD_ERR(CTCD_E_INVALID, "%s: tensor name '%s' is not allowed", path,
                        e->name ? e->name : "(null)");
    if (e->ndim < 0 || e->ndim > CTCD_ST_MAX_DIMS)
        return CTCD_ERR(CTCD_E_INVALID, "%s: tensor " NAME ": %d dimensions", path, e->name,
                        e->ndim);
    if (e->src_dtype != e->dtype && !(e->src_dtype == CTCD_F32 && e->dtype == CTCD_BF16))
        return CTCD_ERR(CTCD_E_UNSUPPORTED, "%s: tensor " NAME ": cannot store %s data as %s",
                        path, e->name, ctcd_dtype_name(e->src_dtype), ctcd_dtype_name(e->dtype));
    int64_t n = 1;
    for (int d = 0; d < e->ndim; d++) {
        /* Keep numel below 2^63 / 8 so that numel * element size cannot overflow. */
        if (e->shape[d] < 0 || (e->shape[d] && n > (INT64_MAX / 8) / e->shape[d]))
            return CTCD_ERR(CTCD_E_INVALID, "%s: tensor " NAME ": bad shape[%d] = %lld", path,
                            e->name, d, (long long)e->shape[d]);
        n *= e->shape[d];
    }
    if (n > 0 && !e->data)
        return CTCD_ERR(CTCD_E_INVALID, "%s: tensor " NAME " has no data", path, e->name);
    *numel = n;
    return CTCD_OK;
}

static ctcd_status check_entries(const char *path, const ctcd_st_entry *e, int n,
                                 int64_t *numel) {
    if (n < 0 || n > CTCD_ST_MAX_TENSORS)
        return CTCD_ERR(CTCD_E_INVALID, "%s: %d tensors", path, n);
    for (int i = 0; i < n; i++) CTCD_TRY(check_entry(path, &e[i], &numel[i]));
    const char **names = malloc((size_t)(n ? n : 1) * sizeof *names);
    if (!names) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < n; i++) names[i] = e[i].name;
    qsort(names, (size_t)n, sizeof *names, name_ptr_cmp);
    ctcd_status st = CTCD_OK;
    for (int i = 1; i < n && !st; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            st = CTCD_ERR(CTCD_E_INVALID, "%s: tensor " NAME " given twice", path, names[i]);
    free(names);
    return st;
}

static cJSON *entry_json(const ctcd_st_entry *e, int64_t begin, int64_t end) {
    cJSON *o = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *off = cJSON_CreateArray();
    if (!o || !shape || !off) goto fail;
    for (int d = 0; d < e->ndim; d++)
        if (!cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)e->shape[d]))) goto fail;
    if (!cJSON_AddItemToArray(off, cJSON_CreateNumber((double)begin)) ||
        !cJSON_AddItemToArray(off, cJSON_CreateNumber((double)end)))
        goto fail;
    if (!cJSON_AddStringToObject(o, "dtype", ctcd_dtype_name(e->dtype))) goto fail;
    if (!cJSON_AddItemToObject(o, "shape", shape)) goto fail;
    shape = NULL;
    if (!cJSON_AddItemToObject(o, "data_offsets", off)) goto fail;
    return o;
fail:
    cJSON_Delete(o);
    cJSON_Delete(shape);
    cJSON_Delete(off);
    return NULL;
}

/* Builds the space-padded header text (length a multiple of 8). */
static ctcd_status build_header(const char *path, const ctcd_st_entry *e, int n,
                                const int64_t *numel, const char *const *metadata,
                                char **out, size_t *out_len) {
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;
    if (ok && metadata) {
        cJSON *md = cJSON_AddObjectToObject(root, "__metadata__");
        ok = md != NULL;
        for (int i = 0; ok && metadata[i]; i += 2)
            ok = metadata[i + 1] && cJSON_AddStringToObject(md, metadata[i], metadata[i + 1]);
    }
    int64_t at = 0;
    for (int i = 0; ok && i < n; i++) {
        const int64_t bytes = entry_bytes(&e[i], numel[i]);
        cJSON *t = entry_json(&e[i], at, at + bytes);
        ok = t != NULL && cJSON_AddItemToObject(root, e[i].name, t);
        if (!ok) cJSON_Delete(t);
        at += bytes;
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory building the header", path);
    const size_t len = strlen(text), padded = (len + 7) / 8 * 8;
    char *buf = realloc(text, padded);
    if (!buf) {
        free(text);
        return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory building the header", path);
    }
    memset(buf + len, ' ', padded - len);
    *out = buf;
    *out_len = padded;
    return CTCD_OK;
}

static ctcd_status write_data(ctcd_atomic_file *af, const ctcd_st_entry *e, int64_t numel) {
    if (e->src_dtype == e->dtype)
        return ctcd_atomic_write(af, e->data, (size_t)entry_bytes(e, numel));
    const float *src = e->data; /* F32 -> BF16, the only conversion check_entry allows */
    uint16_t buf[CHUNK];
    for (int64_t i = 0; i < numel; i += CHUNK) {
        const int64_t k = numel - i < CHUNK ? numel - i : CHUNK;
        for (int64_t j = 0; j < k; j++) buf[j] = ctcd_f32_to_bf16(src[i + j]);
        CTCD_TRY(ctcd_atomic_write(af, buf, (size_t)k * 2));
    }
    return CTCD_OK;
}

ctcd_status ctcd_st_write(const char *path, const ctcd_st_entry *entries, int n,
                          const char *const *metadata) {
    int64_t *numel = malloc((size_t)(n > 0 ? n : 1) * sizeof *numel);
    if (!numel) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
    char *header = NULL;
    size_t hlen = 0;
    ctcd_status st = check_entries(path, entries, n, numel);
    if (!st) st = build_header(path, entries, n, numel, metadata, &header, &hlen);
    ctcd_atomic_file af;
    if (!st) st = ctcd_atomic_open(&af, path);
    if (st) {
        free(numel);
        free(header);
        return st;
    }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    st = ctcd_atomic_write(&af, len8, 8);
    if (!st) st = ctcd_atomic_write(&af, header, hlen);
    for (int i = 0; i < n && !st; i++) st = write_data(&af, &entries[i], numel[i]);
    free(numel);
    free(header);
    if (st) {
        ctcd_atomic_abort(&af);
        return st;
    }
    return ctcd_atomic_commit(&af);
}
