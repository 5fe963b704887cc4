/* cli_args.h — the one option parser of every subcommand: a table of options (flags,
 * strings, bounded numbers, repeatable values) and at most one positional argument, with
 * the same messages everywhere ("ctcd CMD: --x needs a value", "... must be an integer in
 * [lo, hi] (got 'v')", "... unknown option '--y'", "... --z is required"). Options accept
 * "--name value" and "--name=value". */
#ifndef CTCD_CLI_ARGS_H
#define CTCD_CLI_ARGS_H

#include <stdio.h>

typedef enum {
    CLI_FLAG,  /* int *: set to 1 */
    CLI_STR,   /* const char **: the value (the last one given wins) */
    CLI_INT,   /* int *, lo <= x <= hi */
    CLI_I64,   /* long long *, lo <= x <= hi */
    CLI_FLOAT, /* float *, lo <= x < hi */
    CLI_LIST,  /* cli_list *: every value, in order (repeatable) */
} cli_kind;

/* Repeatable values; v is allocated by cli_parse (free with cli_list_free). */
typedef struct cli_list {
    const char **v;
    int n;
} cli_list;

typedef struct cli_opt {
    const char *name; /* "--task" */
    cli_kind kind;
    void *dst;
    double lo, hi;    /* bounds of the numeric kinds */
    int required;     /* "--task is required" when absent */
    const char *meta; /* what the value is, for "--x needs META" (NULL: "a value") */
} cli_opt;

typedef struct cli_spec {
    const char *cmd;             /* "predict", for messages */
    void (*usage)(FILE *f);      /* printed for --help (stdout) and after usage errors */
    const cli_opt *opts;
    int n_opts;
    const char *pos_name;        /* the positional argument ("RECIPE"); NULL: none taken */
    const char **pos;            /* receives it */
    int pos_required;
} cli_spec;

/* Parses argv[1..argc-1]. Returns -1 to go on, 0 after printing the help (-h, --help), 2
 * after printing an error (and the usage for a wrong option or a missing argument). */
int cli_parse(const cli_spec *spec, int argc, char **argv);
void cli_list_free(cli_list *l);

/* Table entries (designated initialisers: unnamed fields are zero). */
#define CLI_OPT_FLAG(n, p) {.name = (n), .kind = CLI_FLAG, .dst = (p)}
#define CLI_OPT_STR(n, p) {.name = (n), .kind = CLI_STR, .dst = (p)}
#define CLI_OPT_LIST(n, p) {.name = (n), .kind = CLI_LIST, .dst = (p)}
#define CLI_OPT_SET(p) {.name = "--set", .kind = CLI_LIST, .dst = (p), .meta = "KEY=VALUE"}
#define CLI_OPT_NUM(n, k, p, l, h) {.name = (n), .kind = (k), .dst = (p), .lo = (l), .hi = (h)}
#define CLI_N(table) ((int)(sizeof(table) / sizeof((table)[0])))

#endif
