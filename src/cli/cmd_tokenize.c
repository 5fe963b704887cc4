/* cmd_tokenize.c — `ctcd tokenize --vocab FILE [--pair] [--max-len N] [--types] [--raw]`:
 * WordPiece ids of each stdin line (or tab-separated pair), one output line per input line,
 * ids separated by spaces. Scriptable: tests and users diff it against Hugging Face. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctcd/tokenizer.h"

static void usage(FILE *f) {
    fputs("usage: ctcd tokenize --vocab FILE [options] < lines.txt\n"
          "\n"
          "Prints the token ids of each input line as BERT sees it: [CLS] text [SEP], or with\n"
          "--pair, [CLS] A [SEP] B [SEP] where A and B are split at the line's first tab.\n"
          "\n"
          "options:\n"
          "  --vocab FILE   WordPiece vocabulary (vocab.txt), required\n"
          "  --pair         lines are 'A<TAB>B' sentence pairs\n"
          "  --max-len N    truncate to N tokens, specials included (longest_first; default 512)\n"
          "  --types        also print the token type ids after a tab\n"
          "  --raw          only the WordPiece ids of the text: no [CLS]/[SEP], no truncation\n"
          "  -h, --help     this help\n",
          f);
}

typedef struct tok_args {
    const char *vocab;
    int pair, max_len, types, raw;
} tok_args;

static int parse(int argc, char **argv, tok_args *a) {
    *a = (tok_args){.max_len = 512};
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(s, "--vocab") == 0 && i + 1 < argc) {
            a->vocab = argv[++i];
        } else if (strcmp(s, "--max-len") == 0 && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 3 || v > 1 << 20) {
                fprintf(stderr, "ctcd tokenize: --max-len must be an integer >= 3 (got '%s')\n",
                        argv[i]);
                return 2;
            }
            a->max_len = (int)v;
        } else if (strcmp(s, "--pair") == 0) {
            a->pair = 1;
        } else if (strcmp(s, "--types") == 0) {
            a->types = 1;
        } else if (strcmp(s, "--raw") == 0) {
            a->raw = 1;
        } else {
            fprintf(stderr, "ctcd tokenize: unknown or incomplete option '%s'\n\n", s);
            usage(stderr);
            return 2;
        }
    }
    if (!a->vocab) {
        fputs("ctcd tokenize: --vocab FILE is required\n\n", stderr);
        usage(stderr);
        return 2;
    }
    if (a->raw && (a->pair || a->types)) {
        fputs("ctcd tokenize: --raw cannot be combined with --pair or --types\n", stderr);
        return 2;
    }
    return -1;
}

static void print_ids(const int32_t *ids, size_t n) {
    for (size_t k = 0; k < n; k++) printf(k ? " %d" : "%d", ids[k]);
}

/* Tokenises one line; returns an error naming the line. */
static ctcd_status one_line(ctcd_tokenizer *tok, const tok_args *a, char *line, size_t len,
                            long lineno, int32_t **buf, size_t *cap) {
    if (len && line[len - 1] == '\n') line[--len] = '\0';
    if (len && line[len - 1] == '\r') line[--len] = '\0';
    ctcd_status st;
    if (a->raw) {
        size_t n = 0;
        st = ctcd_tokenizer_tokenize(tok, line, len, *buf, *cap, &n);
        if (!st && n > *cap) {
            int32_t *nb = realloc(*buf, n * sizeof *nb);
            if (!nb) return CTCD_ERR(CTCD_E_NOMEM, "stdin:%ld: out of memory", lineno);
            *buf = nb;
            *cap = n;
            st = ctcd_tokenizer_tokenize(tok, line, len, *buf, *cap, &n);
        }
        if (!st) print_ids(*buf, n);
    } else {
        const char *b = NULL;
        size_t a_len = len, b_len = 0;
        if (a->pair) {
            char *tab = memchr(line, '\t', len);
            if (!tab)
                return CTCD_ERR(CTCD_E_INVALID, "stdin:%ld: --pair needs 'A<TAB>B', no tab found",
                                lineno);
            a_len = (size_t)(tab - line);
            b = tab + 1;
            b_len = len - a_len - 1;
        }
        ctcd_encoding enc;
        int32_t *types = *buf + a->max_len;
        st = ctcd_tokenizer_encode(tok, line, a_len, b, b_len, a->max_len, *buf, types, &enc);
        if (!st) {
            print_ids(*buf, (size_t)enc.len);
            if (a->types) {
                putchar('\t');
                print_ids(types, (size_t)enc.len);
            }
        }
    }
    if (st) return ctcd_error_wrap(st, "stdin:%ld", lineno);
    putchar('\n');
    return CTCD_OK;
}

int ctcd_cmd_tokenize(int argc, char **argv) {
    tok_args a;
    int rc = parse(argc, argv, &a);
    if (rc >= 0) return rc;
    ctcd_tokenizer *tok = NULL;
    ctcd_status st = ctcd_tokenizer_load(a.vocab, &tok);
    size_t cap = (size_t)a.max_len * 2;
    int32_t *buf = st ? NULL : malloc(cap * sizeof *buf);
    if (!st && !buf) st = CTCD_ERR(CTCD_E_NOMEM, "out of memory");
    char *line = NULL;
    size_t line_cap = 0;
    long lineno = 0;
    ssize_t got;
    while (!st && (got = getline(&line, &line_cap, stdin)) >= 0)
        st = one_line(tok, &a, line, (size_t)got, ++lineno, &buf, &cap);
    free(line);
    free(buf);
    ctcd_tokenizer_free(tok);
    if (fflush(stdout) != 0 && !st)
        st = CTCD_ERR(CTCD_E_IO, "writing stdout failed: %s", strerror(errno));
    return ctcd_cli_fail(st);
}
