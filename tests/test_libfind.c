/* test_libfind.c — the run-time library search (src/core/libfind.c) that finds cuBLASLt:
 * each step of the search order reached with a stand-in library (tests/fixtures/
 * libfind_fake.c) copied into a temporary toolkit / python nvidia folder, every failed
 * attempt listed with the loader's message, and — in a CUDA build — cuBLASLt's own lookup
 * (cuda/lt_loader.cu) reporting a bad CTCD_CUBLASLT path and its dlerror. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctcd/libfind.h"
#if defined(CTCD_HAVE_CUDA) && !defined(CTCD_CUDA_EMU)
#include "ctcd/backend_cuda.h"
#endif

#if defined(__aarch64__)
#define TARGET_DIR "targets/sbsa-linux/lib"
#else
#define TARGET_DIR "targets/x86_64-linux/lib"
#endif

static char g_tmp[256];

/* A fresh temporary folder, and an environment where nothing outside it is found by
 * accident: no CUDA_* variables, PATH without python3 or nvcc (only /bin-style tools). */
static void setup(void) {
    snprintf(g_tmp, sizeof g_tmp, "/tmp/ctcd-libfind-XXXXXX");
    cr_assert_not_null(mkdtemp(g_tmp));
    unsetenv("CUDA_HOME");
    unsetenv("CUDA_PATH");
    unsetenv("CUDA_ROOT");
    unsetenv("CTCD_TEST_LIBFIND");
    char path[512];
    snprintf(path, sizeof path, "%s/bin", g_tmp);
    mkdir(path, 0755);
    setenv("PATH", path, 1);
}

static void teardown(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/bin/rm -rf '%s'", g_tmp);
    cr_expect_eq(system(cmd), 0);
}

static void mkdirs(const char *rel) {
    char cmd[768];
    snprintf(cmd, sizeof cmd, "/bin/mkdir -p '%s/%s'", g_tmp, rel);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* Copies the stand-in library to <tmp>/<rel>. */
static void place_fake(const char *rel) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/bin/cp '%s' '%s/%s'", CTCD_LIBFIND_FAKE, g_tmp, rel);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* An executable shell script <tmp>/<rel> with the given body. */
static void place_script(const char *rel, const char *body) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", g_tmp, rel);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f, "%s", p);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    cr_assert_eq(chmod(p, 0755), 0);
}

static const char *const k_fake_names[] = {"libctcd_fakelt.so.13", "libctcd_fakelt.so", NULL};

static void expect_fake_loaded(const ctcd_lib_found *f, const char *origin, const char *rel) {
    char want[512];
    snprintf(want, sizeof want, "%s/%s", g_tmp, rel);
    cr_assert_not_null(f->handle, "not loaded; tried:\n%s", f->tried);
    cr_expect_str_eq(f->origin, origin, "found by %s, want %s; tried:\n%s", f->origin, origin,
                     f->tried);
    cr_expect_str_eq(f->path, want);
    int (*answer)(void) = (int (*)(void))dlsym(f->handle, "ctcd_libfind_fake_answer");
    cr_assert_not_null(answer, "the loaded file is not the stand-in library");
    cr_expect_eq(answer(), 42);
}

static void expect_has(const char *text, const char *needle) {
    cr_expect_not_null(strstr(text, needle), "missing \"%s\" in:\n%s", needle, text);
}

Test(libfind, every_failed_place_is_listed_with_the_loaders_message, .init = setup,
     .fini = teardown) {
    static const char *const names[] = {"libctcd_no_such_lib.so.7", NULL};
    setenv("CTCD_TEST_LIBFIND", "/nonexistent/libx.so", 1);
    char home[512];
    snprintf(home, sizeof home, "%s/no-cuda-here", g_tmp);
    setenv("CUDA_HOME", home, 1);
    ctcd_lib_spec spec = {"the test library", "CTCD_TEST_LIBFIND", names, 0};
    ctcd_lib_found f;
    ctcd_status st = ctcd_lib_find(&spec, &f);
    cr_assert_not_null(st, "found %s", f.path);
    cr_expect_eq(ctcd_status_code(st), CTCD_E_UNSUPPORTED);
    const char *msg = ctcd_status_message(st);
    expect_has(msg, "cannot load the test library");
    /* 1. the variable's path with dlerror's own words */
    expect_has(msg, "env CTCD_TEST_LIBFIND=/nonexistent/libx.so: /nonexistent/libx.so: cannot "
                    "open shared object file: No such file or directory");
    /* 2. the loader path */
    expect_has(msg, "loader libctcd_no_such_lib.so.7: libctcd_no_such_lib.so.7: cannot open "
                    "shared object file");
    /* 3. the toolkit named by CUDA_HOME */
    char line[1100];
    snprintf(line, sizeof line, "toolkit %s: no such directory", home);
    expect_has(msg, line);
    /* 4. python3 missing from PATH is one line, not an error of its own */
    expect_has(msg, "python python3 on PATH: no nvidia package folder");
    expect_has(msg, "set CTCD_TEST_LIBFIND to the library's path");
    cr_expect_null(f.handle);
    cr_expect_null(f.origin);
    cr_expect_str_eq(f.path, "");
    cr_expect_geq(f.n_tried, 4);
    ctcd_status_free(st);
}

Test(libfind, env_path_wins, .init = setup, .fini = teardown) {
    place_fake("mylt.so");
    char p[512];
    snprintf(p, sizeof p, "%s/mylt.so", g_tmp);
    setenv("CTCD_TEST_LIBFIND", p, 1);
    ctcd_lib_spec spec = {"the test library", "CTCD_TEST_LIBFIND", k_fake_names, 0};
    ctcd_lib_found f;
    ctcd_status st = ctcd_lib_find(&spec, &f);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    expect_fake_loaded(&f, "env", "mylt.so");
    cr_expect_eq(f.n_tried, 0, "tried:\n%s", f.tried);
}

Test(libfind, found_in_the_toolkit_named_by_cuda_home, .init = setup, .fini = teardown) {
    mkdirs("cuda/lib64");
    place_fake("cuda/lib64/libctcd_fakelt.so.13");
    char home[512];
    snprintf(home, sizeof home, "%s/cuda", g_tmp);
    setenv("CUDA_HOME", home, 1);
    setenv("CTCD_TEST_LIBFIND", "/nonexistent/libx.so", 1);
    ctcd_lib_spec spec = {"the test library", "CTCD_TEST_LIBFIND", k_fake_names, 0};
    ctcd_lib_found f;
    ctcd_status st = ctcd_lib_find(&spec, &f);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    expect_fake_loaded(&f, "toolkit", "cuda/lib64/libctcd_fakelt.so.13");
    /* the attempts before it are kept: a bad CTCD_... path is visible even on success */
    expect_has(f.tried, "env CTCD_TEST_LIBFIND=/nonexistent/libx.so: /nonexistent/libx.so: "
                        "cannot open shared object file");
    expect_has(f.tried, "loader libctcd_fakelt.so.13: ");
    expect_has(f.tried, "loader libctcd_fakelt.so: ");
}

Test(libfind, found_in_the_toolkit_of_the_nvcc_on_path, .init = setup, .fini = teardown) {
    mkdirs("tk/bin");
    mkdirs("tk/" TARGET_DIR);
    place_script("tk/bin/nvcc", "exit 0");
    place_fake("tk/" TARGET_DIR "/libctcd_fakelt.so");
    char path[512];
    snprintf(path, sizeof path, "%s/tk/bin", g_tmp);
    setenv("PATH", path, 1);
    ctcd_lib_spec spec = {"the test library", NULL, k_fake_names, 0};
    ctcd_lib_found f;
    ctcd_status st = ctcd_lib_find(&spec, &f);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    expect_fake_loaded(&f, "toolkit", "tk/" TARGET_DIR "/libctcd_fakelt.so");
}

Test(libfind, found_in_the_nvidia_folder_of_python3, .init = setup, .fini = teardown) {
    /* PyTorch's CUDA 13 wheels: site-packages/nvidia/cu13/lib/libcublasLt.so.13; an
     * nvidia/cudnn/lib folder without the library comes first and is passed over. */
    mkdirs("site/nvidia/cu13/lib");
    mkdirs("site/nvidia/cudnn/lib");
    place_fake("site/nvidia/cu13/lib/libctcd_fakelt.so.13");
    char body[1100];
    snprintf(body, sizeof body, "echo 'Traceback: noise on stdout'\necho '%s/site/nvidia'",
             g_tmp);
    place_script("bin/python3", body);
    char home[512];
    snprintf(home, sizeof home, "%s/no-cuda-here", g_tmp);
    setenv("CUDA_HOME", home, 1);
    ctcd_lib_spec spec = {"the test library", NULL, k_fake_names,
                          CTCD_LIBFIND_NO_TOOLKIT /* /usr/local/cuda may exist here */};
    ctcd_lib_found f;
    ctcd_status st = ctcd_lib_find(&spec, &f);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    expect_fake_loaded(&f, "python", "site/nvidia/cu13/lib/libctcd_fakelt.so.13");
}

Test(libfind, python_folder_without_the_library_is_listed, .init = setup, .fini = teardown) {
    mkdirs("site/nvidia/cudnn/lib");
    char body[1100];
    snprintf(body, sizeof body, "echo '%s/site/nvidia'", g_tmp);
    place_script("bin/python3", body);
    ctcd_lib_spec spec = {"the test library", NULL, k_fake_names,
                          CTCD_LIBFIND_NO_TOOLKIT | CTCD_LIBFIND_NO_LOADER};
    ctcd_lib_found f;
    ctcd_status st = ctcd_lib_find(&spec, &f);
    cr_assert_not_null(st);
    char line[1100];
    snprintf(line, sizeof line,
             "python %s/site/nvidia/*/lib: no libctcd_fakelt.so.13 or libctcd_fakelt.so there",
             g_tmp);
    expect_has(ctcd_status_message(st), line);
    ctcd_status_free(st);
}

Test(libfind, a_file_that_cannot_be_loaded_reports_dlerror, .init = setup, .fini = teardown) {
    mkdirs("cuda/lib64");
    char p[512];
    snprintf(p, sizeof p, "%s/cuda/lib64/libctcd_fakelt.so.13", g_tmp);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 64; i++) fputs("not an ELF file\n", f); /* longer than an ELF header */
    fclose(f);
    char home[512];
    snprintf(home, sizeof home, "%s/cuda", g_tmp);
    setenv("CUDA_HOME", home, 1);
    ctcd_lib_spec spec = {"the test library", NULL, k_fake_names,
                          CTCD_LIBFIND_NO_LOADER | CTCD_LIBFIND_NO_PYTHON};
    ctcd_lib_found found;
    ctcd_status st = ctcd_lib_find(&spec, &found);
    cr_assert_not_null(st);
    char line[1100];
    snprintf(line, sizeof line, "toolkit %s: %s: invalid ELF header", p, p);
    expect_has(ctcd_status_message(st), line);
    ctcd_status_free(st);
}

Test(libfind, a_long_report_is_cut_with_a_count, .init = setup, .fini = teardown) {
    enum { N = 200 };
    static char storage[N][96];
    static const char *names[N + 1];
    for (int i = 0; i < N; i++) {
        snprintf(storage[i], sizeof storage[i], "libctcd_missing_number_%03d_padded_out.so", i);
        names[i] = storage[i];
    }
    names[N] = NULL;
    ctcd_lib_spec spec = {"the test library", NULL, names,
                          CTCD_LIBFIND_NO_TOOLKIT | CTCD_LIBFIND_NO_PYTHON};
    ctcd_lib_found f;
    ctcd_status st = ctcd_lib_find(&spec, &f);
    cr_assert_not_null(st);
    cr_expect_eq(f.n_tried, N);
    cr_expect_lt(strlen(f.tried), sizeof f.tried);
    expect_has(f.tried, "more not shown)\n");
    ctcd_status_free(st);
}

/* The real toolkit of this machine, when it has one: the CUDA toolkit's copy of cuBLASLt is
 * found through the toolkit step alone (the loader step left out, since ld.so.cache may
 * list it too). */
Test(libfind, the_installed_toolkits_cublaslt_is_found, .init = setup, .fini = teardown) {
    glob_t g;
    if (glob("/usr/local/cuda/lib64/libcublasLt.so.[0-9]*", 0, NULL, &g) != 0)
        cr_skip_test("no CUDA toolkit with cuBLASLt in /usr/local/cuda/lib64 on this machine");
    const char *slash = strrchr(g.gl_pathv[0], '/');
    static char name[256];
    snprintf(name, sizeof name, "%s", slash + 1);
    globfree(&g);
    const char *names[] = {name, NULL};
    ctcd_lib_spec spec = {"cuBLASLt", NULL, names,
                          CTCD_LIBFIND_NO_LOADER | CTCD_LIBFIND_NO_PYTHON};
    ctcd_lib_found f;
    ctcd_status st = ctcd_lib_find(&spec, &f);
    cr_assert_null(st, "%s", ctcd_status_message(st));
    cr_expect_str_eq(f.origin, "toolkit");
    cr_expect_not_null(strstr(f.path, name), "%s", f.path);
    cr_expect_not_null(dlsym(f.handle, "cublasLtMatmul"), "no cublasLtMatmul in %s", f.path);
    fprintf(stderr, "cuBLASLt: %s (%s)\n", f.path, f.origin);
}

#if defined(CTCD_HAVE_CUDA) && !defined(CTCD_CUDA_EMU)
/* cuda/lt_loader.cu: CTCD_CUBLASLT is tried first and, when it cannot be loaded, its path
 * and dlerror are in the report whether or not a later place found cuBLASLt. Criterion
 * runs each test in its own process, so the loader's once-only search starts fresh. */
Test(cuda_lt_loader, a_bad_CTCD_CUBLASLT_is_reported_with_dlerror, .init = setup,
     .fini = teardown) {
    setenv("CTCD_CUBLASLT", "/nonexistent/libcublasLt.so.13", 1);
    setenv("PATH", "/usr/bin:/bin", 1);
    const ctcd_lib_found *f = ctcd_cuda_lt_location();
    cr_assert_not_null(f);
    expect_has(f->tried, "env CTCD_CUBLASLT=/nonexistent/libcublasLt.so.13: "
                         "/nonexistent/libcublasLt.so.13: cannot open shared object file: No "
                         "such file or directory");
    ctcd_status st = ctcd_cuda_lt_load();
    if (f->handle) {
        cr_expect_null(st);
        cr_expect_str_neq(f->origin, "env");
        fprintf(stderr, "cuBLASLt found after the bad CTCD_CUBLASLT: %s (%s)\n", f->path,
                f->origin);
    } else {
        cr_assert_not_null(st);
        expect_has(ctcd_status_message(st), "env CTCD_CUBLASLT=/nonexistent/libcublasLt.so.13: ");
        ctcd_status_free(st);
    }
}

Test(cuda_lt_loader, a_good_CTCD_CUBLASLT_is_used, .init = setup, .fini = teardown) {
    glob_t g;
    if (glob("/usr/local/cuda/lib64/libcublasLt.so.[0-9]*", 0, NULL, &g) != 0)
        cr_skip_test("no CUDA toolkit with cuBLASLt in /usr/local/cuda/lib64 on this machine");
    setenv("CTCD_CUBLASLT", g.gl_pathv[0], 1);
    const ctcd_lib_found *f = ctcd_cuda_lt_location();
    cr_assert_not_null(f->handle, "%s", f->tried);
    cr_expect_str_eq(f->origin, "env");
    cr_expect_str_eq(f->path, g.gl_pathv[0]);
    cr_expect_null(ctcd_cuda_lt_load());
    globfree(&g);
}
#endif
