/* fuzz_resume.c — everything `ctcd train --resume RUN_DIR` reads from a run directory: the
 * input is the training-state file (safetensors header, __metadata__ progress and recipe
 * keys, the F32 state tensors) of a run whose recipe.yaml, log.jsonl and eval.jsonl are
 * written fresh for every input; ctcd_trainer_resume then checks the recipe, cuts the logs
 * back to the saved sizes, builds the trainer and loads the state. The seed
 * (corpus/resume/) is a real state written by ctcd (make_resume_seed.sh). */
#include <sys/stat.h>

#include "ctcd/resume.h"
#include "fuzz_common.h"

/* tests/fuzz/resume_recipe.yaml, resolved the same way (the state's recipe fingerprint
 * must match for the state to get past the recipe check). */
static const char RECIPE[] =
    "task: builtin:demo\n"
    "data: {max_len: 8, demo: {train_examples: 32, dev_examples: 8}}\n"
    "models:\n"
    "  small: {layers: 1, hidden: 8, heads: 1, intermediate: 8}\n"
    "train: {max_steps: 3, batch: 8, backend: cpu, log_every: 1, checkpoint_every: 2}\n";

static void put(const char *dir, const char *name, const void *p, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(p, 1, n, f) != n) abort();
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_quiet();
    char dir[256], state_dir[300];
    snprintf(dir, sizeof dir, "/tmp/ctcd-fuzz-resume-%d", (int)getpid());
    snprintf(state_dir, sizeof state_dir, "%s/state", dir);
    mkdir(dir, 0755);
    mkdir(state_dir, 0755);
    put(dir, "recipe.yaml", RECIPE, sizeof RECIPE - 1);
    /* logs longer than any saved size in the seed, so that cutting them back is exercised */
    static char log[4096];
    memset(log, 'x', sizeof log);
    for (size_t i = 99; i < sizeof log; i += 100) log[i] = '\n';
    put(dir, "log.jsonl", log, sizeof log);
    put(dir, "eval.jsonl", log, 300);
    put(dir, "state/train_state.safetensors", data, size);
    /* max_steps extended: the seed's complete run must load all the way through */
    const char *more[] = {"train.max_steps=6"};
    ctcd_trainer *t = NULL;
    ctcd_status st = ctcd_trainer_resume(dir, more, 1, &t);
    ctcd_trainer_destroy(t);
    fuzz_drop(st);
    return 0;
}
