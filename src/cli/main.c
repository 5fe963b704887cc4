/* main.c — the ctcd command line: dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
    fputs("usage: ctcd <command> [options]\n"
          "\n"
          "Co-train a large and a small transformer encoder in lockstep on the same batches,\n"
          "with bidirectional distillation between them.\n"
          "\n"
          "commands:\n"
          "  train RECIPE    co-train the models described by a YAML recipe\n"
          "\n"
          "Run 'ctcd <command> --help' for the options of a command.\n",
          f);
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    fprintf(stderr, "ctcd: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
