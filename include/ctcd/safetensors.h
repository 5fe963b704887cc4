/* safetensors.h — reading and writing safetensors files (the Hugging Face weight format).
 *
 * File layout: an 8-byte little-endian header length N, N bytes of JSON, then the data
 * section. The JSON maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]}
 * (byte offsets into the data section) plus an optional "__metadata__" string->string map.
 *
 * The reader memory-maps the file and validates the whole header before anything is read:
 * size limits, JSON nesting depth, dtype names, shapes, offsets inside the data section,
 * byte size == product(shape) * element size (overflow-checked), no duplicate names, no two
 * tensors sharing bytes. Every error names the file and the tensor or byte offset. Holes
 * between tensors and trailing bytes are tolerated (nothing reads them).
 *
 * The header may name any safetensors dtype (so buffers such as int64 position_ids do not
 * stop a checkpoint from opening); only F32, BF16 and F16 can be read as values:
 * ctcd_st_read_f32 on any other dtype is an "unsupported dtype" error naming the tensor.
 *
 * The writer produces what HF's save_file produces: header padded with spaces to a multiple
 * of 8 bytes, tensors back to back in the given order, written atomically (temp file in the
 * same directory, fsync, rename), so a failed write never leaves a partial file behind. */
#ifndef CTCD_SAFETENSORS_H
#define CTCD_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "ctcd/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CTCD_ST_MAX_DIMS 8
#define CTCD_ST_MAX_HEADER ((uint64_t)100 << 20) /* 100 MiB, as the Rust reader */
#define CTCD_ST_MAX_TENSORS 1000000
#define CTCD_ST_MAX_DEPTH 16 /* a valid header nests 3 deep */

/* One tensor of an open file. Pointers stay valid until ctcd_st_close. */
typedef struct ctcd_st_tensor {
    const char *name;
    const char *dtype;        /* safetensors spelling ("F32", "BF16", "I64", ...) */
    size_t elem_size;         /* bytes per element of dtype */
    int ndim;                 /* 0..CTCD_ST_MAX_DIMS (0 = scalar) */
    int64_t shape[CTCD_ST_MAX_DIMS];
    int64_t numel;
    uint64_t begin, end;      /* byte range inside the data section */
    const uint8_t *data;      /* mapped bytes [end - begin], no alignment guarantee */
} ctcd_st_tensor;

typedef struct ctcd_st_file ctcd_st_file;

/* Maps and validates path. On success *out owns the mapping (ctcd_st_close). */
ctcd_status ctcd_st_open(const char *path, ctcd_st_file **out);
void ctcd_st_close(ctcd_st_file *f);
const char *ctcd_st_path(const ctcd_st_file *f);
/* Tensors in header order, i in [0, ctcd_st_count). */
int ctcd_st_count(const ctcd_st_file *f);
const ctcd_st_tensor *ctcd_st_get(const ctcd_st_file *f, int i);
/* Binary search by exact name; NULL when absent. */
const ctcd_st_tensor *ctcd_st_find(const ctcd_st_file *f, const char *name);
/* Index of t in header order (t must come from f). */
int ctcd_st_index(const ctcd_st_file *f, const ctcd_st_tensor *t);
/* "__metadata__"[key], or NULL. */
const char *ctcd_st_metadata(const ctcd_st_file *f, const char *key);
/* Converts t (F32, BF16 or F16) to fp32 into dst[t->numel]; any other dtype is an
 * "unsupported dtype" error naming the file and the tensor. */
ctcd_status ctcd_st_read_f32(const ctcd_st_file *f, const ctcd_st_tensor *t, float *dst);

/* One tensor to write. `data` is host memory holding numel elements of src_dtype; the file
 * stores dtype. Supported: src_dtype == dtype (raw copy, any ctcd dtype), or F32 -> BF16
 * (round to nearest even). */
typedef struct ctcd_st_entry {
    const char *name;
    ctcd_dtype dtype;          /* on disk */
    ctcd_dtype src_dtype;      /* of data */
    int ndim;
    int64_t shape[CTCD_ST_MAX_DIMS];
    const void *data;
} ctcd_st_entry;

/* Writes entries[n] to path atomically. metadata is NULL or a NULL-terminated list of
 * key, value strings ("format", "pt", NULL). Everything is validated before the first byte
 * is written; on any error path is untouched and no temp file remains. */
ctcd_status ctcd_st_write(const char *path, const ctcd_st_entry *entries, int n,
                          const char *const *metadata);

/* IEEE half -> float (exact, subnormals and inf/NaN included). */
float ctcd_f16_to_f32(uint16_t h);

#ifdef __cplusplus
}
#endif
#endif
