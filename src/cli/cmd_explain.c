/* cmd_explain.c — `ctcd explain CHECKPOINT_DIR --task esnli [--n 5] ...`: a model trained
 * with rationale.* (distilling step-by-step) on a few e-SNLI examples, with its rationale
 * decoder's greedy output (src/train/explain.c does the work). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
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

static int int_arg(const char *opt, const char *v, int lo, int *out) {
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < lo || x > 1 << 20) {
        fprintf(stderr, "ctcd explain: %s must be an integer >= %d (got '%s')\n", opt, lo, v);
        return 0;
    }
    *out = (int)x;
    return 1;
}

int ctcd_cmd_explain(int argc, char **argv) {
    ctcd_explain_opts o = {.backend = "auto", .n = 5, .max_len = 128};
    const char *task = NULL;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **str = strcmp(s, "--task") == 0       ? &task
                           : strcmp(s, "--split") == 0    ? &o.split
                           : strcmp(s, "--source") == 0   ? &o.source
                           : strcmp(s, "--decoder") == 0  ? &o.decoder_path
                           : strcmp(s, "--data-dir") == 0 ? &o.esnli_dir
                           : strcmp(s, "--vocab") == 0    ? &o.vocab
                           : strcmp(s, "--backend") == 0  ? &o.backend
                                                          : NULL;
        if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (str && v) {
            *str = v;
            i++;
        } else if (strcmp(s, "--n") == 0 && v) {
            if (!int_arg(s, argv[++i], 1, &o.n)) return 2;
        } else if (strcmp(s, "--max-len") == 0 && v) {
            if (!int_arg(s, argv[++i], 8, &o.max_len)) return 2;
        } else if (strcmp(s, "--max-new") == 0 && v) {
            if (!int_arg(s, argv[++i], 1, &o.max_new)) return 2;
        } else if (s[0] == '-' || o.ckpt) {
            fprintf(stderr, "ctcd explain: unexpected argument '%s'%s\n\n", s,
                    str ? " (needs a value)" : "");
            usage(stderr);
            return 2;
        } else {
            o.ckpt = s;
        }
    }
    if (!o.ckpt || !task) {
        fprintf(stderr, "ctcd explain: %s is required\n\n", o.ckpt ? "--task" : "CHECKPOINT_DIR");
        usage(stderr);
        return 2;
    }
    if (strcmp(task, "esnli") != 0) {
        fprintf(stderr, "ctcd explain: --task %s: only esnli has rationales so far\n", task);
        return 2;
    }
    return ctcd_cli_fail(ctcd_explain(&o, stdout));
}
