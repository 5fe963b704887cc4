/* fuzz_recipe.c — the YAML recipe loader (libyaml + schema) on arbitrary bytes. */
#include "ctcd/recipe.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_quiet();
    ctcd_recipe r;
    fuzz_drop(ctcd_recipe_load(fuzz_file(data, size, ".yaml"), NULL, 0, &r));
    return 0;
}
