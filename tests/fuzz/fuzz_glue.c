/* fuzz_glue.c — the TSV/GLUE loaders: the first byte picks the task and the layout (train/dev
 * or test), the rest is the file. */
#include "ctcd/glue.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_quiet();
    static ctcd_tokenizer *tok;
    if (!tok && ctcd_tokenizer_load(fuzz_vocab(), &tok)) abort();
    if (size < 1) return 0;
    /* low nibble: task; bit 4: train/dev layout; bit 5: strict; bits 6-7: max_len */
    const ctcd_glue_task *task = ctcd_glue_task_at((data[0] & 15) % ctcd_glue_n_tasks());
    const int labelled = (data[0] >> 4) & 1, strict = (data[0] >> 5) & 1;
    ctcd_glue_options opt = {.max_len = 3 + 20 * (data[0] >> 6), .strict = strict};
    ctcd_glue_split s;
    ctcd_status st =
        ctcd_glue_load_file(task, fuzz_file(data + 1, size - 1, ".tsv"), labelled, tok, &opt, &s);
    if (!st) ctcd_glue_split_free(&s);
    fuzz_drop(st);
    return 0;
}
