/* cmd_explain.c — `ctcd explain CHECKPOINT_DIR --task esnli|cqa [--n 5] ...`: a model trained
 * with rationale.* (distilling step-by-step) on a few e-SNLI or CQA examples, with its rationale
 * decoder's greedy output (src/train/explain.c does the work). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "ctcd/train.h"

static void usage(FILE *f) {
    fputs("usage: ctcd explain CHECKPOINT_DIR --task esnli|cqa [options]\n"
          "\n"
          "Prints, for the first N examples of an e-SNLI or CommonsenseQA split, the input (CQA:\n"
          "the question and its choices), the gold label, the model's prediction, the reference\n"
          "rationale and the rationale its decoder generates (greedy; CQA: from the predicted\n"
          "choice). CHECKPOINT_DIR is an encoder a run saved (e.g. runs/x/large/best); the\n"
          "decoder is the one saved beside it (runs/x/rationale/large/best/).\n"
          "\n"
          "options:\n"
          "  --task T          esnli or cqa (required: the tasks with rationales)\n"
          "  --n N             examples (default 5)\n"
          "  --split SPLIT     test (default), valid (esnli) or train (cqa)\n"
          "  --source S        reference rationale shown: human (default) or llm\n"
          "  --decoder FILE    decoder.safetensors (default: beside the checkpoint)\n"
          "  --data-dir DIR    the task directory (default: rationales/distilling-step-by-step/\n"
          "                    <task> under $CTCD_DATA_DIR, ./data or ../shared/data)\n"
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
    const cli_opt opts[] = {
        {.name = "--task", .kind = CLI_STR, .dst = &o.task, .required = 1},
        CLI_OPT_STR("--split", &o.split),
        CLI_OPT_STR("--source", &o.source),
        CLI_OPT_STR("--decoder", &o.decoder_path),
        CLI_OPT_STR("--data-dir", &o.data_dir),
        CLI_OPT_STR("--vocab", &o.vocab),
        CLI_OPT_STR("--backend", &o.backend),
        CLI_OPT_NUM("--n", CLI_INT, &o.n, 1, 1 << 20),
        CLI_OPT_NUM("--max-len", CLI_INT, &o.max_len, 8, 1 << 20),
        CLI_OPT_NUM("--max-new", CLI_INT, &o.max_new, 1, 1 << 20),
    };
    const cli_spec sp = {"explain", usage, opts, CLI_N(opts), "CHECKPOINT_DIR", &o.ckpt, 1};
    const int rc = cli_parse(&sp, argc, argv);
    if (rc >= 0) return rc;
    if (strcmp(o.task, "esnli") != 0 && strcmp(o.task, "cqa") != 0) {
        fprintf(stderr, "ctcd explain: --task %s: only esnli and cqa have rationales\n", o.task);
        return 2;
    }
    return ctcd_cli_fail(ctcd_explain(&o, stdout));
}
