/* safetensors.c — the safetensors reader: memory map, header validation, fp32 conversion
 * (include/ctcd/safetensors.h). The writer lives in safetensors_write.c.
 *
 * Nothing in the file is trusted: the header length, every JSON value, every offset. The
 * data section is only touched through ranges that were checked against its size, so a
 * hostile file yields an error message, never an out-of-bounds read. (A file truncated by
 * another process *while* it is mapped can still raise SIGBUS; that is not input we can
 * validate.) */
#include "ctcd/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctcd/json_util.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian and is read here with plain loads"
#endif

/* Tensor names come from the file: cap what a message quotes. */
#define NAME "'%.200s'"
#define MAX_EXACT 9007199254740992.0 /* 2^53: larger JSON numbers are not exact integers */

struct ctcd_st_file {
    char *path;
    const uint8_t *map;        /* the whole file, read-only */
    size_t map_size;
    const uint8_t *data;       /* data section: map + 8 + header length */
    uint64_t data_size;
    cJSON *header;             /* owns every name string */
    const cJSON *metadata;     /* "__metadata__" object or NULL */
    ctcd_st_tensor *tensors;   /* [n] in header order */
    const ctcd_st_tensor **by_name; /* [n] sorted by name */
    int n;
};

static const struct {
    const char *name;
    size_t size;
} st_dtypes[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
    {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
    {"U32", 4},  {"F32", 4}, {"F64", 8}, {"I64", 8},     {"U64", 8},
};

static uint64_t le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* ---- opening and the header length ---- */

static ctcd_status map_file(ctcd_st_file *f) {
    const int fd = open(f->path, O_RDONLY);
    if (fd < 0) return CTCD_ERR(CTCD_E_IO, "%s: cannot open: %s", f->path, strerror(errno));
    struct stat sb;
    ctcd_status st = CTCD_OK;
    if (fstat(fd, &sb) != 0) {
        st = CTCD_ERR(CTCD_E_IO, "%s: cannot stat: %s", f->path, strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        st = CTCD_ERR(CTCD_E_IO, "%s: not a regular file", f->path);
    } else if (sb.st_size < 8) {
        st = CTCD_ERR(CTCD_E_PARSE,
                      "%s: truncated: %lld bytes, shorter than the 8-byte header length",
                      f->path, (long long)sb.st_size);
    } else {
        f->map_size = (size_t)sb.st_size;
        void *p = mmap(NULL, f->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            st = CTCD_ERR(CTCD_E_IO, "%s: cannot map %zu bytes: %s", f->path, f->map_size,
                          strerror(errno));
        } else {
            f->map = p;
        }
    }
    close(fd);
    return st;
}

/* Checks the length field and parses the JSON header into f->header. */
static ctcd_status parse_header(ctcd_st_file *f) {
    const uint64_t n = le64(f->map);
    const uint64_t after = (uint64_t)f->map_size - 8;
    if (n > CTCD_ST_MAX_HEADER)
        return CTCD_ERR(CTCD_E_PARSE, "%s: header length %llu exceeds the limit of %llu bytes",
                        f->path, (unsigned long long)n,
                        (unsigned long long)CTCD_ST_MAX_HEADER);
    if (n > after)
        return CTCD_ERR(CTCD_E_PARSE,
                        "%s: header length %llu is larger than the %llu bytes that follow the "
                        "length field (truncated file?)",
                        f->path, (unsigned long long)n, (unsigned long long)after);
    f->data = f->map + 8 + n;
    f->data_size = after - n;
    char what[512];
    snprintf(what, sizeof what, "%s: header", f->path);
    CTCD_TRY(ctcd_json_parse((const char *)f->map + 8, (size_t)n, CTCD_ST_MAX_DEPTH, what, 8,
                             &f->header));
    if (!cJSON_IsObject(f->header))
        return CTCD_ERR(CTCD_E_PARSE, "%s: header is a JSON %s, expected an object", f->path,
                        ctcd_json_type_name(f->header));
    return CTCD_OK;
}

/* ---- one header entry ---- */

static ctcd_status parse_dtype(const ctcd_st_file *f, const char *name, const cJSON *dt,
                               ctcd_st_tensor *t) {
    if (!cJSON_IsString(dt))
        return CTCD_ERR(CTCD_E_PARSE, "%s: tensor " NAME ": \"dtype\" is %s, expected a string",
                        f->path, name, ctcd_json_type_name(dt));
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++) {
        if (strcmp(dt->valuestring, st_dtypes[i].name) == 0) {
            t->dtype = st_dtypes[i].name;
            t->elem_size = st_dtypes[i].size;
            return CTCD_OK;
        }
    }
    return CTCD_ERR(CTCD_E_PARSE, "%s: tensor " NAME ": unknown dtype '%.32s'", f->path, name,
                    dt->valuestring);
}

/* Shape -> numel; every product is overflow-checked. */
static ctcd_status parse_shape(const ctcd_st_file *f, const char *name, const cJSON *sh,
                               ctcd_st_tensor *t) {
    if (!cJSON_IsArray(sh))
        return CTCD_ERR(CTCD_E_PARSE, "%s: tensor " NAME ": \"shape\" is %s, expected an array",
                        f->path, name, ctcd_json_type_name(sh));
    const int nd = cJSON_GetArraySize(sh);
    if (nd > CTCD_ST_MAX_DIMS)
        return CTCD_ERR(CTCD_E_PARSE, "%s: tensor " NAME ": %d dimensions (at most %d)",
                        f->path, name, nd, CTCD_ST_MAX_DIMS);
    t->ndim = nd;
    t->numel = 1;
    int d = 0;
    for (const cJSON *e = sh->child; e; e = e->next, d++) {
        if (!ctcd_json_is_int_in(e, 0, MAX_EXACT))
            return CTCD_ERR(CTCD_E_PARSE,
                            "%s: tensor " NAME ": shape[%d] is not a non-negative integer",
                            f->path, name, d);
        t->shape[d] = (int64_t)e->valuedouble;
        if (t->shape[d] != 0 && t->numel > INT64_MAX / t->shape[d])
            return CTCD_ERR(CTCD_E_PARSE, "%s: tensor " NAME ": element count overflows",
                            f->path, name);
        t->numel *= t->shape[d];
    }
    return CTCD_OK;
}

static ctcd_status parse_offsets(const ctcd_st_file *f, const char *name, const cJSON *off,
                                 ctcd_st_tensor *t) {
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 ||
        !ctcd_json_is_int_in(off->child, 0, MAX_EXACT) ||
        !ctcd_json_is_int_in(off->child->next, 0, MAX_EXACT))
        return CTCD_ERR(CTCD_E_PARSE,
                        "%s: tensor " NAME ": \"data_offsets\" must be [begin, end] with "
                        "non-negative integers",
                        f->path, name);
    t->begin = (uint64_t)off->child->valuedouble;
    t->end = (uint64_t)off->child->next->valuedouble;
    if (t->begin > t->end || t->end > f->data_size)
        return CTCD_ERR(CTCD_E_PARSE,
                        "%s: tensor " NAME ": data_offsets [%llu, %llu] out of range of the "
                        "%llu-byte data section (file offset %llu)",
                        f->path, name, (unsigned long long)t->begin,
                        (unsigned long long)t->end, (unsigned long long)f->data_size,
                        (unsigned long long)(f->data - f->map));
    return CTCD_OK;
}

static ctcd_status parse_entry(const ctcd_st_file *f, const cJSON *item, ctcd_st_tensor *t) {
    const char *name = item->string;
    memset(t, 0, sizeof *t);
    t->name = name;
    if (!cJSON_IsObject(item))
        return CTCD_ERR(CTCD_E_PARSE, "%s: tensor " NAME ": entry is %s, expected an object",
                        f->path, name, ctcd_json_type_name(item));
    CTCD_TRY(parse_dtype(f, name, cJSON_GetObjectItemCaseSensitive(item, "dtype"), t));
    CTCD_TRY(parse_shape(f, name, cJSON_GetObjectItemCaseSensitive(item, "shape"), t));
    CTCD_TRY(parse_offsets(f, name, cJSON_GetObjectItemCaseSensitive(item, "data_offsets"), t));
    /* numel <= 2^63 / 1 and elem_size <= 8: compare in a way that cannot overflow. */
    const uint64_t span = t->end - t->begin;
    if ((uint64_t)t->numel > span / t->elem_size || (uint64_t)t->numel * t->elem_size != span) {
        char shape[160];
        ctcd_shape_str(t->shape, t->ndim, shape, sizeof shape);
        return CTCD_ERR(CTCD_E_PARSE,
                        "%s: tensor " NAME ": shape %s of %s needs %lld elements of %zu bytes "
                        "but data_offsets [%llu, %llu] span %llu bytes",
                        f->path, name, shape, t->dtype, (long long)t->numel, t->elem_size,
                        (unsigned long long)t->begin, (unsigned long long)t->end,
                        (unsigned long long)span);
    }
    t->data = f->data + t->begin;
    return CTCD_OK;
}

static ctcd_status check_metadata(const ctcd_st_file *f, const cJSON *md) {
    if (!cJSON_IsObject(md))
        return CTCD_ERR(CTCD_E_PARSE, "%s: \"__metadata__\" is %s, expected an object of strings",
                        f->path, ctcd_json_type_name(md));
    for (const cJSON *e = md->child; e; e = e->next)
        if (!cJSON_IsString(e))
            return CTCD_ERR(CTCD_E_PARSE, "%s: \"__metadata__\" key " NAME " is %s, expected a "
                            "string", f->path, e->string, ctcd_json_type_name(e));
    return CTCD_OK;
}

/* ---- whole-table checks ---- */

static int by_name_cmp(const void *a, const void *b) {
    return strcmp((*(const ctcd_st_tensor *const *)a)->name,
                  (*(const ctcd_st_tensor *const *)b)->name);
}

static int by_begin_cmp(const void *a, const void *b) {
    const ctcd_st_tensor *x = *(const ctcd_st_tensor *const *)a;
    const ctcd_st_tensor *y = *(const ctcd_st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* Two tensors may not share a byte (empty tensors own no bytes). */
static ctcd_status check_overlap(const ctcd_st_file *f) {
    const ctcd_st_tensor **v = malloc((size_t)f->n * sizeof *v);
    if (!v && f->n) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", f->path);
    for (int i = 0; i < f->n; i++) v[i] = &f->tensors[i];
    if (f->n) qsort(v, (size_t)f->n, sizeof *v, by_begin_cmp);
    const ctcd_st_tensor *last = NULL; /* the non-empty tensor reaching furthest so far */
    ctcd_status st = CTCD_OK;
    for (int i = 0; i < f->n && !st; i++) {
        if (v[i]->begin == v[i]->end) continue;
        if (last && v[i]->begin < last->end) {
            st = CTCD_ERR(CTCD_E_PARSE,
                          "%s: tensors " NAME " [%llu, %llu) and " NAME " [%llu, %llu) overlap "
                          "in the data section", f->path, last->name,
                          (unsigned long long)last->begin, (unsigned long long)last->end,
                          v[i]->name, (unsigned long long)v[i]->begin,
                          (unsigned long long)v[i]->end);
        }
        if (!last || v[i]->end > last->end) last = v[i];
    }
    free(v);
    return st;
}

static ctcd_status index_names(ctcd_st_file *f) {
    f->by_name = malloc((size_t)(f->n ? f->n : 1) * sizeof *f->by_name);
    if (!f->by_name) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", f->path);
    for (int i = 0; i < f->n; i++) f->by_name[i] = &f->tensors[i];
    if (f->n) qsort(f->by_name, (size_t)f->n, sizeof *f->by_name, by_name_cmp);
    for (int i = 1; i < f->n; i++)
        if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0)
            return CTCD_ERR(CTCD_E_PARSE, "%s: tensor " NAME " appears twice in the header",
                            f->path, f->by_name[i]->name);
    return CTCD_OK;
}

static ctcd_status parse_table(ctcd_st_file *f) {
    int count = 0;
    for (const cJSON *e = f->header->child; e; e = e->next)
        if (++count > CTCD_ST_MAX_TENSORS + 1)
            return CTCD_ERR(CTCD_E_PARSE, "%s: header lists more than %d tensors", f->path,
                            CTCD_ST_MAX_TENSORS);
    f->tensors = calloc((size_t)(count ? count : 1), sizeof *f->tensors);
    if (!f->tensors) return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", f->path);
    for (const cJSON *e = f->header->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (f->metadata)
                return CTCD_ERR(CTCD_E_PARSE, "%s: \"__metadata__\" appears twice", f->path);
            CTCD_TRY(check_metadata(f, e));
            f->metadata = e;
            continue;
        }
        CTCD_TRY(parse_entry(f, e, &f->tensors[f->n]));
        f->n++;
    }
    if (f->n > CTCD_ST_MAX_TENSORS)
        return CTCD_ERR(CTCD_E_PARSE, "%s: header lists more than %d tensors", f->path,
                        CTCD_ST_MAX_TENSORS);
    CTCD_TRY(index_names(f));
    return check_overlap(f);
}

/* ---- public API ---- */

ctcd_status ctcd_st_open(const char *path, ctcd_st_file **out) {
    *out = NULL;
    ctcd_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory", path);
    }
    ctcd_status st = map_file(f);
    if (!st) st = parse_header(f);
    if (!st) st = parse_table(f);
    if (st) {
        ctcd_st_close(f);
        return st;
    }
    *out = f;
    return CTCD_OK;
}

void ctcd_st_close(ctcd_st_file *f) {
    if (!f) return;
    if (f->map) munmap((void *)f->map, f->map_size);
    cJSON_Delete(f->header);
    free(f->tensors);
    free(f->by_name);
    free(f->path);
    free(f);
}

const char *ctcd_st_path(const ctcd_st_file *f) { return f->path; }
int ctcd_st_count(const ctcd_st_file *f) { return f->n; }

const ctcd_st_tensor *ctcd_st_get(const ctcd_st_file *f, int i) {
    CTCD_ASSERT(i >= 0 && i < f->n, "tensor index %d of %d", i, f->n);
    return &f->tensors[i];
}

int ctcd_st_index(const ctcd_st_file *f, const ctcd_st_tensor *t) {
    CTCD_ASSERT(t >= f->tensors && t < f->tensors + f->n, "tensor not from %s", f->path);
    return (int)(t - f->tensors);
}

const ctcd_st_tensor *ctcd_st_find(const ctcd_st_file *f, const char *name) {
    int lo = 0, hi = f->n - 1;
    while (lo <= hi) {
        const int mid = lo + (hi - lo) / 2;
        const int c = strcmp(f->by_name[mid]->name, name);
        if (c == 0) return f->by_name[mid];
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return NULL;
}

const char *ctcd_st_metadata(const ctcd_st_file *f, const char *key) {
    const cJSON *v = f->metadata ? cJSON_GetObjectItemCaseSensitive(f->metadata, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

float ctcd_f16_to_f32(uint16_t h) {
    const int neg = h >> 15, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float v;
    if (exp == 0x1f) {
        v = man ? NAN : INFINITY;
    } else if (exp == 0) {
        v = ldexpf((float)man, -24); /* zero or subnormal: man · 2^-24, exact */
    } else {
        v = ldexpf((float)(man | 0x400), exp - 25); /* 1.man · 2^(exp-15) */
    }
    return neg ? -v : v;
}

ctcd_status ctcd_st_read_f32(const ctcd_st_file *f, const ctcd_st_tensor *t, float *dst) {
    const uint8_t *src = t->data;
    const int64_t n = t->numel;
    if (strcmp(t->dtype, "F32") == 0) {
        if (n) memcpy(dst, src, (size_t)n * 4);
    } else if (strcmp(t->dtype, "BF16") == 0 || strcmp(t->dtype, "F16") == 0) {
        const int bf16 = t->dtype[0] == 'B';
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2); /* no alignment guarantee in the file */
            dst[i] = bf16 ? ctcd_bf16_to_f32(h) : ctcd_f16_to_f32(h);
        }
    } else {
        return CTCD_ERR(CTCD_E_UNSUPPORTED,
                        "%s: tensor " NAME " has unsupported dtype %s (weights must be F32, "
                        "BF16 or F16)", f->path, t->name, t->dtype);
    }
    return CTCD_OK;
}
