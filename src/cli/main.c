/* main.c — the ctcd command line: dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ctcd/build_info.h"

static void usage(FILE *f) {
    fputs("usage: ctcd <command> [options]\n"
          "\n"
          "Co-train a large and a small transformer encoder in lockstep on the same batches,\n"
          "with bidirectional distillation between them (CTCD).\n"
          "\n"
          "commands:\n"
          "  train RECIPE    co-train the models described by a YAML recipe\n"
          "                  (try: ctcd train recipes/demo.yaml)\n"
          "  pretrain RECIPE masked-LM co-training from scratch on a text corpus (task: mlm)\n"
          "  predict CKPT    run a fine-tuned checkpoint on a GLUE split: metrics, logits,\n"
          "                  leaderboard submission files\n"
          "  explain CKPT    a model trained with rationale.* on e-SNLI examples: prediction\n"
          "                  and its rationale decoder's greedy rationale\n"
          "  tokenize        print the WordPiece ids of stdin lines (--vocab FILE)\n"
          "  bench step      time the co-training step on synthetic batches (examples/s, MFU)\n"
          "  compare RECIPE  large alone, small alone, one-way KD and CTCD over seeds:\n"
          "                  summary table (mean ± std), deltas and learning curves\n"
          "  sweep RECIPE    CTCD runs over a grid of recipe values (--grid key=v1,v2)\n"
          "  glue-table DIR...  GLUE-score table of runs of different tasks\n"
          "  prune CKPT      structured pruning by head / FFN-neuron importance on task data,\n"
          "                  layer dropping; writes a smaller HF checkpoint\n"
          "  search RECIPE   KD-NAS: search the small model's architecture under a latency\n"
          "                  target (evolution, proxy distillation, measured latency)\n"
          "  schedule RECIPE MiniDisc: prune the large model into teacher assistants, train them\n"
          "                  at once (sandwich rule), pick one by the lambda-tradeoff, train the\n"
          "                  student from it\n"
          "  plan            capacity-gap law: a partner size for --student-params N, or the law\n"
          "                  fitted from your own runs (--fit RUN_DIR...)\n"
          "  doctor          what this machine offers ctcd: build options, CUDA driver and\n"
          "                  GPUs, cuBLASLt / NCCL, CPU threads, data roots (--json)\n"
          "\n"
          "ctcd --version prints the version, git commit and build options.\n"
          "Run 'ctcd <command> --help' for the options of a command.\n",
          f);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        char line[1024];
        ctcd_build_info_line(line, sizeof line);
        printf("%s\n", line);
        printf("threads: OpenMP %d, OpenBLAS %d (core %s)\n", ctcd_build_omp_threads(),
               ctcd_build_blas_threads(), ctcd_build_blas_core());
        return 0;
    }
    if (strcmp(argv[1], "doctor") == 0) return ctcd_cmd_doctor(argc - 1, argv + 1);
    if (strcmp(argv[1], "train") == 0 || strcmp(argv[1], "pretrain") == 0)
        return ctcd_cmd_train(argc - 1, argv + 1);
    if (strcmp(argv[1], "predict") == 0) return ctcd_cmd_predict(argc - 1, argv + 1);
    if (strcmp(argv[1], "explain") == 0) return ctcd_cmd_explain(argc - 1, argv + 1);
    if (strcmp(argv[1], "tokenize") == 0) return ctcd_cmd_tokenize(argc - 1, argv + 1);
    if (strcmp(argv[1], "bench") == 0) return ctcd_cmd_bench(argc - 1, argv + 1);
    if (strcmp(argv[1], "compare") == 0) return ctcd_cmd_compare(argc - 1, argv + 1);
    if (strcmp(argv[1], "sweep") == 0) return ctcd_cmd_sweep(argc - 1, argv + 1);
    if (strcmp(argv[1], "prune") == 0) return ctcd_cmd_prune(argc - 1, argv + 1);
    if (strcmp(argv[1], "glue-table") == 0) return ctcd_cmd_glue_table(argc - 1, argv + 1);
    if (strcmp(argv[1], "search") == 0) return ctcd_cmd_search(argc - 1, argv + 1);
    if (strcmp(argv[1], "schedule") == 0) return ctcd_cmd_schedule(argc - 1, argv + 1);
    if (strcmp(argv[1], "plan") == 0) return ctcd_cmd_plan(argc - 1, argv + 1);
    fprintf(stderr, "ctcd: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
