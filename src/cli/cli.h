/* cli.h — subcommands of the ctcd command line (one file each). */
#ifndef CTCD_CLI_H
#define CTCD_CLI_H

#include "ctcd/status.h"

int ctcd_cmd_train(int argc, char **argv);
int ctcd_cmd_tokenize(int argc, char **argv);
int ctcd_cmd_predict(int argc, char **argv);
int ctcd_cmd_bench(int argc, char **argv);
int ctcd_cmd_compare(int argc, char **argv);
int ctcd_cmd_sweep(int argc, char **argv);
int ctcd_cmd_glue_table(int argc, char **argv);
int ctcd_cmd_prune(int argc, char **argv);
int ctcd_cmd_search(int argc, char **argv);
int ctcd_cmd_schedule(int argc, char **argv);
int ctcd_cmd_plan(int argc, char **argv);
int ctcd_cmd_explain(int argc, char **argv);

/* Prints "ctcd: error: <message>" (frees st) and returns 1; returns 0 for CTCD_OK. */
int ctcd_cli_fail(ctcd_status st);

#endif
