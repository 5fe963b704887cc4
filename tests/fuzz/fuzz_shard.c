/* fuzz_shard.c — the corpus shard reader; a shard that opens is cut into masked-LM batches. */
#include "ctcd/corpus.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_quiet();
    static ctcd_tokenizer *tok;
    if (!tok && ctcd_tokenizer_load(fuzz_vocab(), &tok)) abort();
    ctcd_shard s;
    ctcd_status st = ctcd_shard_open(fuzz_file(data, size, ".shard"), &s);
    if (!st) {
        ctcd_mlm_config c = {.batch = 4, .max_len = 16, .mask_prob = 0.15f, .whole_word = 1,
                             .seed = 1};
        ctcd_mlm_batcher m;
        ctcd_status st2 = ctcd_mlm_batcher_init(&m, &s, tok, &c);
        if (!st2) {
            const ctcd_mlm_batch *b;
            for (int i = 0; i < 8 && ctcd_mlm_batcher_next(&m, &b); i++) {
            }
            ctcd_mlm_batcher_free(&m);
        }
        fuzz_drop(st2);
        ctcd_shard_close(&s);
    }
    fuzz_drop(st);
    return 0;
}
