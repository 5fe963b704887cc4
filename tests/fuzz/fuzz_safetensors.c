/* fuzz_safetensors.c — the safetensors reader (header length lies, offsets, overlaps, dtypes,
 * nesting) and, on the same bytes, the config.json reader. Every tensor that opens is read. */
#include "ctcd/checkpoint.h"
#include "ctcd/safetensors.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_quiet();
    ctcd_st_file *f = NULL;
    ctcd_status st = ctcd_st_open(fuzz_file(data, size, ".safetensors"), &f);
    if (!st) {
        for (int i = 0; i < ctcd_st_count(f); i++) {
            const ctcd_st_tensor *t = ctcd_st_get(f, i);
            if (t->numel > (1 << 20)) continue;
            float *dst = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *dst);
            fuzz_drop(ctcd_st_read_f32(f, t, dst));
            free(dst);
        }
        ctcd_st_close(f);
    }
    fuzz_drop(st);
    ctcd_hf_config c;
    fuzz_drop(ctcd_hf_config_read(fuzz_file(data, size, ".json"), &c));
    ctcd_hf_config_free(&c);
    return 0;
}
