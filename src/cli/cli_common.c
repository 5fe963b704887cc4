/* cli_common.c — what every subcommand shares: reporting an error and its exit status. */
#include <stdio.h>

#include "cli.h"
#include "ctcd/log.h"

int ctcd_cli_fail(ctcd_status st) {
    if (!st) return 0;
    ctcd_progress_end();
    fprintf(stderr, "ctcd: error: %s\n", ctcd_status_message(st));
    ctcd_debug("raised at %s", ctcd_status_source(st));
    ctcd_status_free(st);
    return 1;
}
