/* interrupt.c — the stop flag behind SIGINT/SIGTERM (include/ctcd/resume.h).
 *
 * Global mutable state, by necessity: a signal handler receives no context pointer, so the
 * only way it can tell the training loop to stop is a file-scope variable. It is a
 * volatile sig_atomic_t written by the handler and read between steps; the handler does
 * nothing else (no I/O, no allocation: neither is async-signal-safe). The loop, not the
 * handler, saves the state, so a signal can never interrupt a half-written file. */
#include <signal.h>
#include <string.h>

#include "ctcd/resume.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

void ctcd_interrupt_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESETHAND: a second SIGINT while the state is being written lands here again
     * instead of killing the process mid-save. */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void ctcd_interrupt_request(int sig) { stop_signal = sig; }

int ctcd_interrupt_pending(void) { return stop_signal; }

void ctcd_interrupt_clear(void) { stop_signal = 0; }
