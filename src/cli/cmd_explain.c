/* cmd_explain.c — `ctcd explain CHECKPOINT_DIR --task esnli [--n 5] ...`: a model trained
 * with rationale.* (distilling step-by-step) on a few e-SNLI examples, with its rationale
 * decoder's greedy output (src/train/explain.c does the work). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "ctcd/train.h"

static void usage(FILE *f) {
    fputs("usage: ctcd explain CHECKPOINT_DIR --task esnli [options]\n"
          "\n"
          "Prints, for the first N examples of an e-SNLI split, the input, the gold label, the\n"
          "model's prediction, the reference rationale and the rationale its decoder generates\n"
          "(greedy). CHECKPOINT_DIR is an encoder a run saved (e.g. runs/x/large/best); the\n"
          "decoder is the one saved beside it (runs/x/rationale/large/best/).\n"
          "\n"
          "options:\n"
          "  --task esnli      the task (required; the only one with rationales so far)\n"
          "  --n N             examples (default 5)\n"
          "  --split SPLIT     test (default) or valid\n"
          "  --source S        reference rationale shown: human (default) or llm\n"
          "  --decoder FILE    decoder.safetensors (default: beside the checkpoint)\n"
          "  --data-dir DIR    the e-SNLI directory (default: rationales/distilling-step-by-step/\n"
          "                    esnli under $CTCD_DATA_DIR, ./data or ../shared/data)\n"
          "  --vocab FILE      vocabulary (default: CHECKPOINT_DIR/vocab.txt, else the data\n"
          "                    roots' vocab/bert-base-uncased-vocab.txt)\n"
          "  --max-len N       input tokens (default 128)\n"
          "  --max-new N       generated tokens (default: the decoder's rationale.max_len)\n"
          "  --backend B       auto (default), cpu or cuda\n"
          "  -h, --help        this help\n",
          f);
}

int ctcd_cmd_explain(int argc, char **argv) {
    ctcd_explain_opts o = {.backend = "auto", .n = 5, .max_len = 128};
    const char *task = NULL;
    const cli_opt opts[] = {
        {.name = "--task", .kind = CLI_STR, .dst = &task, .required = 1},
        CLI_OPT_STR("--split", &o.split),
        CLI_OPT_STR("--source", &o.source),
        CLI_OPT_STR("--decoder", &o.decoder_path),
        CLI_OPT_STR("--data-dir", &o.esnli_dir),
        CLI_OPT_STR("--vocab", &o.vocab),
        CLI_OPT_STR("--backend", &o.backend),
        CLI_OPT_NUM("--n", CLI_INT, &o.n, 1, 1 << 20),
        CLI_OPT_NUM("--max-len", CLI_INT, &o.max_len, 8, 1 << 20),
        CLI_OPT_NUM("--max-new", CLI_INT, &o.max_new, 1, 1 << 20),
    };
    const cli_spec sp = {"explain", usage, opts, CLI_N(opts), "CHECKPOINT_DIR", &o.ckpt, 1};
    const int rc = cli_parse(&sp, argc, argv);
    if (rc >= 0) return rc;
    if (strcmp(task, "esnli") != 0) {
        fprintf(stderr, "ctcd explain: --task %s: only esnli has rationales so far\n", task);
        return 2;
    }
    return ctcd_cli_fail(ctcd_explain(&o, stdout));
}
