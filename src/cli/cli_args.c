/* cli_args.c — the table-driven option parser of the subcommands (cli_args.h). */
#include "cli_args.h"

#include <stdlib.h>
#include <string.h>

/* The option named by arg ("--x" or "--x=value"); *inline_v is the "=value" part. */
static const cli_opt *find_opt(const cli_spec *sp, const char *arg, const char **inline_v) {
    *inline_v = NULL;
    for (int k = 0; k < sp->n_opts; k++) {
        const cli_opt *o = &sp->opts[k];
        const size_t n = strlen(o->name);
        if (strncmp(arg, o->name, n) != 0) continue;
        if (arg[n] == '\0') return o;
        if (arg[n] == '=' && o->kind != CLI_FLAG) {
            *inline_v = arg + n + 1;
            return o;
        }
    }
    return NULL;
}

static int usage_error(const cli_spec *sp) {
    fputc('\n', stderr);
    if (sp->usage) sp->usage(stderr);
    return 2;
}

/* Stores v into o's destination; prints the error and returns 0 when v is not valid. */
static int store(const cli_spec *sp, const cli_opt *o, const char *v, int argc) {
    char *end;
    switch (o->kind) {
    case CLI_FLAG:
        *(int *)o->dst = 1;
        return 1;
    case CLI_STR:
        *(const char **)o->dst = v;
        return 1;
    case CLI_LIST: {
        cli_list *l = o->dst;
        if (!l->v && !(l->v = calloc((size_t)argc, sizeof *l->v))) {
            fprintf(stderr, "ctcd %s: out of memory\n", sp->cmd);
            return 0;
        }
        l->v[l->n++] = v;
        return 1;
    }
    case CLI_INT:
    case CLI_I64: {
        const long long x = strtoll(v, &end, 10);
        if (!*v || *end || (double)x < o->lo || (double)x > o->hi) {
            fprintf(stderr, "ctcd %s: %s must be an integer in [%.0f, %.0f] (got '%s')\n",
                    sp->cmd, o->name, o->lo, o->hi, v);
            return 0;
        }
        if (o->kind == CLI_INT) *(int *)o->dst = (int)x;
        else *(long long *)o->dst = x;
        return 1;
    }
    case CLI_FLOAT: {
        const float x = strtof(v, &end);
        if (!*v || *end || !(x >= o->lo && x < o->hi)) {
            fprintf(stderr, "ctcd %s: %s must be a number in [%g, %g) (got '%s')\n", sp->cmd,
                    o->name, o->lo, o->hi, v);
            return 0;
        }
        *(float *)o->dst = x;
        return 1;
    }
    }
    return 0;
}

int cli_parse(const cli_spec *sp, int argc, char **argv) {
    unsigned char seen[64] = {0};
    if (sp->n_opts > (int)sizeof seen) {
        fprintf(stderr, "ctcd %s: too many options in the parser table\n", sp->cmd);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v;
        if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            if (sp->usage) sp->usage(stdout);
            return 0;
        }
        const cli_opt *o = s[0] == '-' && s[1] ? find_opt(sp, s, &v) : NULL;
        if (o) {
            if (o->kind != CLI_FLAG && !v) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "ctcd %s: %s needs %s\n", sp->cmd, o->name,
                            o->meta ? o->meta : "a value");
                    return usage_error(sp);
                }
                v = argv[++i];
            }
            if (!store(sp, o, v, argc)) return 2;
            seen[o - sp->opts] = 1;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "ctcd %s: unknown option '%s'\n", sp->cmd, s);
            return usage_error(sp);
        } else if (!sp->pos_name) {
            fprintf(stderr, "ctcd %s: unexpected argument '%s'\n", sp->cmd, s);
            return usage_error(sp);
        } else if (*sp->pos) {
            fprintf(stderr, "ctcd %s: more than one %s given ('%s' and '%s')\n", sp->cmd,
                    sp->pos_name, *sp->pos, s);
            return usage_error(sp);
        } else {
            *sp->pos = s;
        }
    }
    if (sp->pos_name && sp->pos_required && !*sp->pos) {
        fprintf(stderr, "ctcd %s: %s is required\n", sp->cmd, sp->pos_name);
        return usage_error(sp);
    }
    for (int k = 0; k < sp->n_opts; k++) {
        if (sp->opts[k].required && !seen[k]) {
            fprintf(stderr, "ctcd %s: %s is required\n", sp->cmd, sp->opts[k].name);
            return usage_error(sp);
        }
    }
    return -1;
}

void cli_list_free(cli_list *l) {
    free(l->v);
    l->v = NULL;
    l->n = 0;
}
