/* cmd_search.c — `ctcd search RECIPE [--set k=v]...` and `ctcd search --resume DIR`: KD-NAS of
 * the small model under a latency target (include/ctcd/search.h). The resolved recipe is
 * written to <output>/search.yaml so that --resume needs only the directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "ctcd/fileio.h"
#include "ctcd/recipe.h"
#include "ctcd/search.h"

static void usage(FILE *f) {
    fputs("usage: ctcd search RECIPE [--set KEY=VALUE]... [--episodes-now N]\n"
          "       ctcd search --resume DIR [--episodes-now N]\n"
          "\n"
          "Searches the small model's architecture (search.* keys, recipes/README.md):\n"
          "evolutionary proposals screened by predicted latency and reward, the best distilled\n"
          "from the teacher (models.large) on a proxy set and scored on dev. Writes into the\n"
          "recipe's output: candidates.jsonl, state.json, latency.tsv, pareto.png,\n"
          "best/config.json and best/recipe.yaml.\n"
          "\n"
          "  --set KEY=VALUE   override a recipe key (repeatable)\n"
          "  --resume DIR      continue a search from DIR/state.json\n"
          "  --episodes-now N  stop after N episodes (resume later)\n",
          f);
}

int ctcd_cmd_search(int argc, char **argv) {
    const char *recipe = NULL, *resume = NULL;
    cli_list sets = {0};
    int now = 0;
    const cli_opt opts[] = {
        CLI_OPT_SET(&sets),
        {.name = "--resume", .kind = CLI_STR, .dst = &resume, .meta = "DIR"},
        CLI_OPT_NUM("--episodes-now", CLI_INT, &now, 1, 1 << 20),
    };
    const cli_spec sp = {"search", usage, opts, CLI_N(opts), "RECIPE", &recipe, 0};
    int parsed = cli_parse(&sp, argc, argv);
    if (parsed < 0 && !!recipe == !!resume) {
        fprintf(stderr, "ctcd search: give a RECIPE or --resume DIR\n\n");
        usage(stderr);
        parsed = 2;
    }
    if (parsed >= 0) {
        cli_list_free(&sets);
        return parsed;
    }
    char path[CTCD_PATH_MAX + 32];
    if (resume) snprintf(path, sizeof path, "%s/search.yaml", resume);
    ctcd_recipe *rc = malloc(sizeof *rc);
    ctcd_status st = rc ? ctcd_recipe_load(resume ? path : recipe, sets.v, sets.n, rc)
                        : CTCD_ERR(CTCD_E_NOMEM, "out of memory");
    cli_list_free(&sets);
    const char *dir = resume ? resume : rc ? rc->output : "";
    if (!st && !dir[0])
        st = CTCD_ERR(CTCD_E_INVALID, "%s: search needs output (the search directory)", recipe);
    if (!st && !resume) {
        snprintf(path, sizeof path, "%s/search.yaml", dir);
        st = ctcd_mkdirs(dir);
        if (!st) st = ctcd_recipe_write(rc, path);
    }
    ctcd_search_candidate best;
    memset(&best, 0, sizeof best);
    if (!st) st = ctcd_search_run(rc, dir, resume != NULL, now, &best);
    if (!st) {
        char name[64];
        printf("best: %s  score %.4f  latency %.3f ms (%s)  reward %.4f\n",
               ctcd_arch_str(&best.arch, name, sizeof name), best.score, best.latency_ms,
               best.device, best.reward);
    }
    free(rc);
    return st ? ctcd_cli_fail(st) : 0;
}
