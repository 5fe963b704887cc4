/* testutil.h — helpers shared by the Criterion suites (linked into every test binary). */
#ifndef CTCD_TESTUTIL_H
#define CTCD_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* tests/fixtures/<name> in the source tree, as a string literal. */
#define CTCD_TEST_FIXTURE(name) CTCD_SOURCE_DIR "/tests/fixtures/" name
/* The first line of a test's recipe that starts from the fixture recipe <name>
 * (tests/fixtures/tiny-pair.yaml, ...): `extends: "<its path>"`, a string literal for the
 * test to follow with the keys it changes, e.g.
 *     CTCD_TEST_EXTENDS("tiny-pair.yaml") "train: {max_steps: 3}\n" */
#define CTCD_TEST_EXTENDS(name) "extends: \"" CTCD_TEST_FIXTURE(name) "\"\n"

/* ../shared/data beside the checkout, or $CTCD_DATA_DIR. NULL when absent or when
 * CTCD_NO_SHARED_DATA is set and $CTCD_DATA_DIR is not (the caller skips with cr_skip_test
 * and a message naming the directory). Appends to $CTCD_TEST_DATA_TRACE like
 * ctcd_data_find, so the suite counts as one that reads data. */
const char *ctcd_test_data_dir(void);
/* Runs the ctcd CLI with a shell-quoted argument string, stdout+stderr captured into
 * *output (malloc'd, caller frees). Returns the exit status (or -1). */
int ctcd_test_run_cli(const char *args, char **output);
/* Starts the ctcd CLI in a child process with argv (NULL-terminated; argv[0] is replaced by
 * the CLI's path), its stdout and stderr into out_path, and env (NULL-terminated "K=V"
 * pairs, or NULL) added to its environment. Returns the child's pid (the caller waits). */
pid_t ctcd_test_spawn_cli(char *const argv[], const char *out_path, const char *const *env);
/* Sleeps us microseconds (resumed after signals). */
void ctcd_test_sleep_us(long us);
/* Creates a fresh temporary directory; returns its malloc'd path. */
char *ctcd_test_tmpdir(void);
/* Removes path and everything below it (files and directories); 0 on success. */
int ctcd_test_rmtree(const char *path);
/* Writes text to path; returns 0 on success. */
int ctcd_test_write_file(const char *path, const char *text);
/* Reads a whole file as a NUL-terminated malloc'd string; NULL when it cannot be read. */
char *ctcd_test_read_file(const char *path);
/* Fills x[n] with uniform values in [lo, hi) from a simple seeded generator. */
void ctcd_test_fill_uniform(float *x, int64_t n, float lo, float hi, uint64_t seed);

#endif
