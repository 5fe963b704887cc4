/* augment_cache.c — augmented copies of a GLUE training file, computed once and cached on
 * disk (include/ctcd/augment.h: ctcd_augment_build).
 *
 * The cache file is a TSV in the task's own layout: the header (if the task has one) and,
 * for every augmented copy, the source line with its text column(s) replaced, so that the
 * ordinary GLUE loader reads it back. Its name carries a 64-bit FNV-1a hash of a key text
 * that lists everything the rows depend on: the method and its settings, the seed, the
 * source file (real path, size, mtime), the lines augmented, and the model or WordNet files
 * used. The key text itself is stored beside it (<file>.key) and must match on a hit, so a
 * hash collision can only cost a recomputation. Both files are written atomically, the
 * key last: a cache file without its key is never used. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctcd/augment.h"
#include "ctcd/fileio.h"
#include "ctcd/hash.h"
#include "ctcd/log.h"
#include "ctcd/tsv.h"

/* Part of every key: bump it whenever the rows produced for the same settings change (a
 * fix in EDA, the WordNet reader or the masked-LM sampler), so old cache files are not
 * reused. 2: WordNet base forms (morphy), which are not synonyms of the word. */
#define AUGMENT_CACHE_VERSION 2

/* Appends "name=<real path> size=<bytes> mtime=<s.ns>\n" for a file (or its absence). */
static ctcd_status key_file(ctcd_strbuf *k, const char *name, const char *path) {
    char line[CTCD_PATH_MAX * 2 + 128];
    struct stat sb;
    char *real = realpath(path, NULL);
    if (stat(path, &sb) != 0) {
        snprintf(line, sizeof line, "%s=%s missing\n", name, path);
    } else {
        snprintf(line, sizeof line, "%s=%s size=%lld mtime=%lld.%09ld\n", name,
                 real ? real : path, (long long)sb.st_size, (long long)sb.st_mtim.tv_sec,
                 (long)sb.st_mtim.tv_nsec);
    }
    free(real);
    return ctcd_strbuf_append(k, line, strlen(line));
}

static ctcd_status key_printf(ctcd_strbuf *k, const char *fmt, ...) CTCD_PRINTF(2, 3);
static ctcd_status key_printf(ctcd_strbuf *k, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    return ctcd_strbuf_append(k, line, strlen(line));
}

/* The key text of a job: everything its rows depend on. */
static ctcd_status job_key(const ctcd_augment_job *j, const char *vocab, ctcd_strbuf *k) {
    CTCD_TRY(key_printf(k, "ctcd augmentation cache v%d\ntask=%s\n", AUGMENT_CACHE_VERSION,
                        j->task->name));
    CTCD_TRY(key_file(k, "source", j->src_path));
    const uint64_t lh =
        ctcd_fnv1a64(CTCD_FNV1A64_INIT, j->lines, (size_t)j->n_lines * sizeof *j->lines);
    CTCD_TRY(key_printf(k, "lines=%lld hash=%016llx\nseed=%llu\n", (long long)j->n_lines,
                        (unsigned long long)lh, (unsigned long long)j->seed));
    if (j->method == CTCD_AUGMENT_EDA) {
        const ctcd_eda_config *e = &j->eda;
        CTCD_TRY(key_printf(k, "method=eda num_aug=%d sr=%.9g ri=%.9g rs=%.9g rd=%.9g\n",
                            e->num_aug, (double)e->strength[CTCD_EDA_SR],
                            (double)e->strength[CTCD_EDA_RI], (double)e->strength[CTCD_EDA_RS],
                            (double)e->strength[CTCD_EDA_RD]));
        const char *wn = j->wordnet_dir && j->wordnet_dir[0] ? j->wordnet_dir : getenv("WNSEARCHDIR");
        if (!wn || !wn[0]) wn = CTCD_WORDNET_DEFAULT_DIR;
        char p[CTCD_PATH_MAX + 16];
        snprintf(p, sizeof p, "%s/data.noun", wn);
        return key_file(k, "wordnet", p);
    }
    CTCD_TRY(key_printf(k, "method=mlm num_aug=%d p=%.9g top_k=%d max_len=%d\n", j->mlm_num_aug,
                        (double)j->mlm.p, j->mlm.top_k, j->mlm.max_len));
    char p[CTCD_PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/config.json", j->mlm_checkpoint);
    CTCD_TRY(key_file(k, "config", p));
    snprintf(p, sizeof p, "%s/model.safetensors", j->mlm_checkpoint);
    CTCD_TRY(key_file(k, "weights", p));
    return key_file(k, "vocab", vocab);
}

/* 1 when path holds exactly the text want. */
static int file_equals(const char *path, const char *want, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    int same = 1;
    for (size_t i = 0; same && i < n; i++) same = fgetc(f) == (unsigned char)want[i];
    if (same) same = fgetc(f) == EOF;
    fclose(f);
    return same;
}

static int64_t count_rows(const char *path, int header) {
    ctcd_tsv t;
    if (ctcd_tsv_open(&t, path)) return -1; /* unreachable after a hit; rows unknown */
    int64_t n = 0;
    int got = 1;
    while (got) {
        ctcd_status st = ctcd_tsv_next(&t, &got);
        if (st) {
            ctcd_status_free(st);
            break;
        }
        n += got && t.n_fields > 0 && !(header && t.line == 1);
    }
    ctcd_tsv_close(&t);
    return n;
}

/* ---- producing the rows ---- */

typedef struct producer {
    const ctcd_augment_job *job;
    ctcd_wordnet *wn;
    ctcd_mlm_augmenter *mlm;
    ctcd_mlm_text mt[2];
    ctcd_strbuf text[2], norm[2], line;
    int col[2];            /* text columns (col[1] = -1: single sentence) */
    int64_t rows;
} producer;

/* Writes fields with column col[s] replaced by text[s]. */
static ctcd_status put_row(producer *p, ctcd_atomic_file *af, const ctcd_tsv *t) {
    p->line.n = 0;
    for (int f = 0; f < t->n_fields; f++) {
        if (f) CTCD_TRY(ctcd_strbuf_append(&p->line, "\t", 1));
        const int s = f == p->col[0] ? 0 : (f == p->col[1] ? 1 : -1);
        if (s >= 0) {
            CTCD_TRY(ctcd_strbuf_append(&p->line, p->text[s].p, p->text[s].n));
        } else {
            CTCD_TRY(ctcd_strbuf_append(&p->line, t->fields[f].p, t->fields[f].len));
        }
    }
    CTCD_TRY(ctcd_strbuf_append(&p->line, "\n", 1));
    p->rows++;
    return ctcd_atomic_write(af, p->line.p, p->line.n);
}

static ctcd_status eda_copies(producer *p, ctcd_atomic_file *af, const ctcd_tsv *t,
                              ctcd_rng *rng) {
    const ctcd_eda_config *c = &p->job->eda;
    const int sides = p->col[1] >= 0 ? 2 : 1;
    for (int s = 0; s < sides; s++) { /* the original, re-joined like the copies */
        const ctcd_tsv_field *f = &t->fields[p->col[s]];
        CTCD_TRY(ctcd_eda_apply(CTCD_EDA_SR, 0.0f, f->p, f->len, ctcd_eda_wordnet_source, p->wn,
                                rng, &p->norm[s], NULL));
    }
    const uint32_t start = ctcd_rng_u32(rng);
    for (int k = 0; k < c->num_aug; k++) {
        const int op = ctcd_eda_op_of_copy(c, start, k);
        if (op < 0) return CTCD_OK;
        int same = 1;
        for (int s = 0; s < sides; s++) {
            const ctcd_tsv_field *f = &t->fields[p->col[s]];
            CTCD_TRY(ctcd_eda_apply((ctcd_eda_op)op, c->strength[op], f->p, f->len,
                                    ctcd_eda_wordnet_source, p->wn, rng, &p->text[s], NULL));
            same &= strcmp(ctcd_strbuf_str(&p->text[s]), ctcd_strbuf_str(&p->norm[s])) == 0;
        }
        if (!same) CTCD_TRY(put_row(p, af, t));
    }
    return CTCD_OK;
}

static ctcd_status mlm_copies(producer *p, ctcd_atomic_file *af, const ctcd_tsv *t,
                              ctcd_rng *rng) {
    const int sides = p->col[1] >= 0 ? 2 : 1;
    for (int s = 0; s < sides; s++) {
        const ctcd_tsv_field *f = &t->fields[p->col[s]];
        CTCD_TRY(ctcd_mlm_prepare(p->mlm, f->p, f->len, &p->mt[s]));
    }
    for (int k = 0; k < p->job->mlm_num_aug; k++) {
        int any = 0;
        for (int s = 0; s < sides; s++) {
            int n;
            CTCD_TRY(ctcd_mlm_sample(p->mlm, &p->mt[s], rng, &p->text[s], &n));
            any |= n > 0;
        }
        if (any) CTCD_TRY(put_row(p, af, t));
    }
    return CTCD_OK;
}

/* Streams the source file into af: the header, then the copies of every selected line. */
static ctcd_status produce(producer *p, ctcd_atomic_file *af, int header) {
    const ctcd_augment_job *j = p->job;
    ctcd_tsv t;
    CTCD_TRY(ctcd_tsv_open(&t, j->src_path));
    const uint64_t seed = ctcd_seed_derive(j->seed, j->method == CTCD_AUGMENT_EDA
                                                        ? "augment/eda" : "augment/mlm");
    ctcd_status st = CTCD_OK;
    int64_t next = 0;
    const double t0 = ctcd_now();
    while (!st && next < j->n_lines) {
        int got;
        st = ctcd_tsv_next(&t, &got);
        if (st || !got) break;
        if (header && t.line == 1) {
            for (int f = 0; !st && f < t.n_fields; f++) {
                if (f) st = ctcd_atomic_write(af, "\t", 1);
                if (!st) st = ctcd_atomic_write(af, t.fields[f].p, t.fields[f].len);
            }
            if (!st) st = ctcd_atomic_write(af, "\n", 1);
            continue;
        }
        if (t.line != j->lines[next]) continue;
        next++;
        const int need = (p->col[0] > p->col[1] ? p->col[0] : p->col[1]) + 1;
        if (t.n_fields < need) {
            st = CTCD_ERR(CTCD_E_PARSE, "%s:%lld: %d columns, augmentation needs %d (the file "
                          "changed while loading?)", j->src_path, (long long)t.line, t.n_fields,
                          need);
            break;
        }
        ctcd_rng rng;
        ctcd_rng_init(&rng, seed, (uint64_t)t.line);
        st = j->method == CTCD_AUGMENT_EDA ? eda_copies(p, af, &t, &rng)
                                           : mlm_copies(p, af, &t, &rng);
        if (j->method == CTCD_AUGMENT_MLM && next % 64 == 0)
            ctcd_progress("masked-LM augmentation: %lld/%lld examples, %.0f s", (long long)next,
                          (long long)j->n_lines, ctcd_now() - t0);
    }
    if (!st && next < j->n_lines)
        st = CTCD_ERR(CTCD_E_PARSE, "%s: line %lld not found (the file changed while loading?)",
                      j->src_path, (long long)j->lines[next]);
    if (j->method == CTCD_AUGMENT_MLM) ctcd_progress_end();
    ctcd_tsv_close(&t);
    return st;
}

static void producer_free(producer *p) {
    ctcd_wordnet_free(p->wn);
    ctcd_mlm_augmenter_free(p->mlm);
    for (int s = 0; s < 2; s++) {
        ctcd_mlm_text_free(&p->mt[s]);
        ctcd_strbuf_free(&p->text[s]);
        ctcd_strbuf_free(&p->norm[s]);
    }
    ctcd_strbuf_free(&p->line);
}

/* Computes the rows into path (atomically). */
static ctcd_status compute(const ctcd_augment_job *j, const char *vocab, const char *path,
                           int64_t *rows) {
    producer p = {.job = j};
    int header;
    ctcd_glue_text_columns(j->task, &p.col[0], &p.col[1], &header);
    ctcd_status st = j->method == CTCD_AUGMENT_EDA
                         ? ctcd_wordnet_open(j->wordnet_dir, &p.wn)
                         : ctcd_mlm_augmenter_open(j->mlm_checkpoint, vocab, &j->mlm, &p.mlm);
    ctcd_atomic_file af;
    if (!st) st = ctcd_atomic_open(&af, path);
    if (!st) {
        st = produce(&p, &af, header);
        if (st) {
            ctcd_atomic_abort(&af);
        } else {
            st = ctcd_atomic_commit(&af);
        }
    }
    *rows = p.rows;
    producer_free(&p);
    return st;
}

ctcd_status ctcd_augment_build(const ctcd_augment_job *j, ctcd_augment_result *res) {
    memset(res, 0, sizeof *res);
    const char *method = j->method == CTCD_AUGMENT_EDA ? "eda" : "mlm";
    char vocab[CTCD_PATH_MAX + 16] = "";
    if (j->method == CTCD_AUGMENT_MLM) {
        if (j->mlm_vocab && j->mlm_vocab[0]) {
            snprintf(vocab, sizeof vocab, "%s", j->mlm_vocab);
        } else {
            snprintf(vocab, sizeof vocab, "%s/vocab.txt", j->mlm_checkpoint);
        }
    }
    ctcd_strbuf key = {0};
    ctcd_status st = job_key(j, vocab, &key);
    if (st) {
        ctcd_strbuf_free(&key);
        return st;
    }
    const uint64_t h = ctcd_fnv1a64(CTCD_FNV1A64_INIT, key.p, key.n);
    snprintf(res->key, sizeof res->key, "%016llx", (unsigned long long)h);
    /* <Dir>-<source file name without .tsv>-<method>-<key>.tsv */
    const char *base = strrchr(j->src_path, '/');
    base = base ? base + 1 : j->src_path;
    size_t blen = strlen(base);
    if (blen > 4 && strcmp(base + blen - 4, ".tsv") == 0) blen -= 4;
    int n = snprintf(res->path, sizeof res->path, "%s/%s-%.*s-%s-%s.tsv", j->cache_dir,
                     j->task->dir, (int)blen, base, method, res->key);
    char key_path[CTCD_PATH_MAX + 8];
    snprintf(key_path, sizeof key_path, "%s.key", res->path);
    int a, b, header;
    ctcd_glue_text_columns(j->task, &a, &b, &header);
    if (n < 0 || (size_t)n >= sizeof res->path) {
        st = CTCD_ERR(CTCD_E_INVALID, "data.augment.cache: directory name too long: %s",
                      j->cache_dir);
    } else if (file_equals(key_path, key.p, key.n) && access(res->path, R_OK) == 0) {
        res->cached = 1;
        res->rows = count_rows(res->path, header);
        ctcd_info("using cached augmentation %s (%s, %lld rows)", res->path, method,
                  (long long)res->rows);
    } else {
        const double t0 = ctcd_now();
        st = ctcd_mkdirs(j->cache_dir);
        if (!st) st = compute(j, vocab, res->path, &res->rows);
        if (!st) st = ctcd_atomic_write_file(key_path, key.p, key.n);
        if (!st)
            ctcd_info("augmentation (%s) of %lld examples: %lld rows in %.1f s, cached as %s",
                      method, (long long)j->n_lines, (long long)res->rows, ctcd_now() - t0,
                      res->path);
    }
    ctcd_strbuf_free(&key);
    return st ? ctcd_error_wrap(st, "data augmentation (%s) of %s", method, j->src_path) : CTCD_OK;
}
