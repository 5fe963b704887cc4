/* cmd_train.c — `ctcd train RECIPE [--set key=value]...` and `ctcd train --resume RUN_DIR`:
 * loads and validates the recipe (or rebuilds a saved run), runs the lockstep co-training,
 * and prints a table of dev results per model. SIGINT/SIGTERM stop the run at a step
 * boundary with the state saved; the exit status is then 128 + the signal (130, 143).
 * An output directory that already holds a run is refused without --force (start over)
 * or --resume, and one run directory is never written by two processes (rundir.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "ctcd/dist.h"
#include "ctcd/launch.h"
#include "ctcd/log.h"
#include "ctcd/resume.h"
#include "ctcd/train.h"

static void usage(FILE *f) {
    fputs("usage: ctcd train RECIPE [options]\n"
          "       ctcd train --resume RUN_DIR [--set train.max_steps=N] [options]\n"
          "\n"
          "Co-trains the models of RECIPE (models.large and/or models.small) in lockstep on\n"
          "the same batches with the fused bidirectional distillation loss, evaluates them on\n"
          "the dev set and prints a results table. See recipes/README.md for every key.\n"
          "Ctrl-C (SIGINT) or SIGTERM stops at the next step with the training state saved\n"
          "in <output>/state/ (exit status 130 / 143); --resume continues it bit for bit.\n"
          "\n"
          "options:\n"
          "  --set KEY=VALUE   override a recipe key, e.g. --set train.lr.small=1e-4\n"
          "                    (repeatable; applied after the file, before validation)\n"
          "  --force           start over in an output directory that already holds a run\n"
          "                    (its logs, state and checkpoints are removed first; without\n"
          "                    --force or --resume such a directory is refused)\n"
          "  --resume RUN_DIR  continue the run saved in RUN_DIR (its recipe.yaml and\n"
          "                    state/train_state.safetensors); only train.max_steps,\n"
          "                    train.epochs, train.checkpoint_every, train.log_every and\n"
          "                    train.zero may be --set (to extend a run); under mpirun\n"
          "                    with any number of ranks (the state does not depend on it)\n"
          "  --gpus N          one process per GPU on this node (N of them, NCCL, no MPI;\n"
          "                    needs a build with CUDA and NCCL); a failed rank stops all\n"
          "  --print-recipe    print the resolved recipe (extends, defaults and --set\n"
          "                    applied: every key) and exit without training\n"
          "  --quiet           only errors and the final table\n"
          "  --verbose         debug messages\n"
          "  --nvtx=detail     on CUDA, an NVTX range around every op (kernel) inside the\n"
          "                    step-phase ranges, for nsys; --nvtx=phases (default) keeps the\n"
          "                    phase ranges only\n"
          "  -h, --help        this help\n",
          f);
}

static void print_table(const ctcd_trainer *t, const ctcd_eval_result *r) {
    const ctcd_metric_set *m0 = &r->m[0];
    printf("\nresults on %s %s (%lld examples; task metric %s)\n", ctcd_trainer_recipe(t)->task,
           ctcd_split_name(r->split), (long long)r->examples, r->task_metric);
    printf("%-8s %7s %7s %6s %10s", "model", "layers", "hidden", "heads", "params");
    for (int k = 0; k < m0->n; k++) printf(" %9s", m0->names[k]);
    if (m0->n > 1) printf(" %9s", "score");
    printf("\n");
    for (int i = 0; i < ctcd_trainer_n_models(t); i++) {
        const ctcd_model *m = ctcd_trainer_model(t, i);
        const ctcd_metric_set *ms = &r->m[i];
        printf("%-8s %7d %7d %6d %9.2fM", m->name, m->cfg.n_layers, m->cfg.hidden,
               m->cfg.n_heads, (double)ctcd_model_n_params(m) / 1e6);
        for (int k = 0; k < ms->n; k++) printf(" %9.4f", ms->values[k]);
        if (ms->n > 1) printf(" %9.4f", ms->score);
        printf("\n");
    }
    fflush(stdout);
}

/* Hands t its transport: NCCL over comm for CUDA runs when built with it (*dp, destroyed by
 * the caller after t), else comm itself; then shards the optimizer under train.zero. t is
 * destroyed on failure. */
static ctcd_status attach(ctcd_trainer *t, ctcd_comm *comm, ctcd_comm **dp) {
    ctcd_status st = ctcd_cli_dist_transport(t, comm, dp);
    if (!st) st = ctcd_trainer_set_comm(t, *dp ? *dp : comm);
    if (st) {
        ctcd_trainer_destroy(t);
        return st;
    }
    const int batch = ctcd_trainer_recipe(t)->train.batch;
    if (comm->world > 1)
        ctcd_info("data parallel: rank %d of %d (%s), %d of every %d rows per step", comm->rank,
                  comm->world, comm->name, batch / comm->world, batch);
    return CTCD_OK;
}

/* Builds the trainer: from a recipe file, or from a saved run. */
/* Under mpirun every rank builds the same trainer; only rank 0 has a run directory (logs,
 * checkpoints, state) and prints. */
static ctcd_status open_trainer(const char *recipe_path, const char *resume_dir, int force,
                                const char *const *sets, int n_sets, ctcd_comm *comm,
                                ctcd_comm **dp, ctcd_trainer **t) {
    if (resume_dir) { /* rank 0 owns the run directory; the others only read the state */
        CTCD_TRY(comm->rank == 0 ? ctcd_trainer_resume(resume_dir, sets, n_sets, t)
                                 : ctcd_trainer_resume_follower(resume_dir, sets, n_sets, t));
        return attach(*t, comm, dp);
    }
    ctcd_recipe rc;
    CTCD_TRY(ctcd_recipe_load(recipe_path, sets, n_sets, &rc));
    if (comm->world > 1 && strcmp(rc.rationale.source, "none") != 0)
        return CTCD_ERR(CTCD_E_UNSUPPORTED, "rationale.source %s: rationale decoders are not "
                        "data-parallel yet; run in one process", rc.rationale.source);
    if (comm->rank != 0) rc.output[0] = '\0';
    CTCD_TRY(ctcd_trainer_create_ex(&rc, force ? CTCD_RUN_REPLACE : CTCD_RUN_REFUSE, t));
    return attach(*t, comm, dp);
}

/* Runs t to the end (table on stdout) or to a stop request (resume hint on stderr); the
 * exit status. */
static int run_trainer(ctcd_trainer *t, int print) {
    ctcd_eval_result res;
    ctcd_interrupt_install();
    ctcd_status st = ctcd_trainer_run(t, &res);
    if (st) return ctcd_cli_fail(st);
    const ctcd_train_progress p = ctcd_trainer_progress(t);
    if (p.stop_signal) {
        const char *output = ctcd_trainer_recipe(t)->output;
        ctcd_progress_end();
        if (output[0])
            fprintf(stderr, "interrupted at step %lld; resume with: ctcd train --resume %s\n",
                    (long long)p.step, output);
        else
            fprintf(stderr, "interrupted at step %lld (no output directory: nothing to "
                    "resume)\n", (long long)p.step);
        return 128 + p.stop_signal;
    }
    if (print) print_table(t, &res);
    return 0;
}

int ctcd_cmd_train(int argc, char **argv) {
    const char *recipe_path = NULL, *resume_dir = NULL;
    int print_recipe = 0, force = 0, quiet = 0, verbose = 0, gpus = 0;
    const char *nvtx = NULL;
    cli_list set_list = {0};
    const cli_opt opts[] = {
        CLI_OPT_SET(&set_list),
        {.name = "--resume", .kind = CLI_STR, .dst = &resume_dir, .meta = "RUN_DIR"},
        CLI_OPT_FLAG("--print-recipe", &print_recipe),
        CLI_OPT_FLAG("--force", &force),
        CLI_OPT_FLAG("--quiet", &quiet),
        CLI_OPT_FLAG("--verbose", &verbose),
        CLI_OPT_STR("--nvtx", &nvtx),
        CLI_OPT_NUM("--gpus", CLI_INT, &gpus, 1, 1024),
    };
    const cli_spec sp = {"train", usage, opts, CLI_N(opts), "RECIPE", &recipe_path, 0};
    const int parsed = cli_parse(&sp, argc, argv);
    if (parsed >= 0) {
        cli_list_free(&set_list);
        return parsed;
    }
    if (nvtx && strcmp(nvtx, "detail") != 0 && strcmp(nvtx, "phases") != 0) {
        fprintf(stderr, "ctcd train: --nvtx=%s: expected 'phases' or 'detail'\n", nvtx);
        cli_list_free(&set_list);
        return 2;
    }
    /* read once by the CUDA backend when it is created (backend_cuda.h) */
    if (nvtx && setenv("CTCD_NVTX", nvtx, 1) != 0) {
        cli_list_free(&set_list);
        return ctcd_cli_fail(CTCD_ERR(CTCD_E_NOMEM, "--nvtx: cannot set CTCD_NVTX"));
    }
    if (quiet) ctcd_log_set_level(CTCD_LOG_WARN);
    if (verbose) ctcd_log_set_level(CTCD_LOG_DEBUG);
    const char **sets = set_list.v;
    const int n_sets = set_list.n;
    if (!recipe_path == !resume_dir) {
        fputs(recipe_path ? "ctcd train: give either RECIPE or --resume RUN_DIR, not both "
                            "(a resumed run uses RUN_DIR/recipe.yaml)\n\n"
                          : "ctcd train: missing RECIPE\n\n",
              stderr);
        usage(stderr);
        free(sets);
        return 2;
    }
    if (print_recipe) {
        ctcd_recipe rc;
        char path[CTCD_PATH_MAX + 16];
        if (resume_dir) snprintf(path, sizeof path, "%s/recipe.yaml", resume_dir);
        ctcd_status st = ctcd_recipe_load(resume_dir ? path : recipe_path, sets, n_sets, &rc);
        free(sets);
        if (!st) st = ctcd_recipe_print(&rc, stdout);
        return st ? ctcd_cli_fail(st) : 0;
    }
    ctcd_trainer *t = NULL;
    if (force && resume_dir) {
        fputs("ctcd train: --force starts over and --resume continues; give one of them\n",
              stderr);
        free(sets);
        return 2;
    }
    int launched_rank, launched_world;
    if (gpus > 1 && !ctcd_launched_rank(&launched_rank, &launched_world)) {
        free(sets);
        return ctcd_cli_launch_gpus(gpus, argc, argv);
    }
    ctcd_comm *comm = NULL;
    ctcd_status st = ctcd_comm_create("auto", &comm);
    if (st) {
        free(sets);
        return ctcd_cli_fail(st);
    }
    if (comm->rank != 0) ctcd_log_set_level(CTCD_LOG_WARN);
    ctcd_cli_dist_pick_device(comm);
    ctcd_comm *dp = NULL; /* the NCCL transport over comm, when the run uses one */
    st = open_trainer(recipe_path, resume_dir, force, sets, n_sets, comm, &dp, &t);
    free(sets);
    int rc;
    if (st) {
        rc = ctcd_cli_fail(st);
    } else {
        rc = run_trainer(t, comm->rank == 0);
        ctcd_trainer_destroy(t);
    }
    if (rc != 0 && rc < 128) /* a failed rank ends the whole job */
        (dp ? dp : comm)->abort(dp ? dp : comm, rc);
    ctcd_comm_destroy(dp);
    ctcd_comm_destroy(comm);
    return rc;
}
