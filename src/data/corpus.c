/* corpus.c — raw text → token shard (build, source hash) and memory-mapped shard reading
 * with full validation (include/ctcd/corpus.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctcd/corpus.h"
#include "ctcd/fileio.h"
#include "ctcd/hash.h"
#include "ctcd/log.h"

#define SHARD_MAGIC "CTCDSHD1"
#define SHARD_VERSION 1u
#define HEADER_BYTES 48

static size_t round8(size_t n) { return (n + 7) & ~(size_t)7; }

ctcd_status ctcd_corpus_source_hash(const char *const *files, int n_files,
                                    const char *vocab_path, const ctcd_corpus_opts *o,
                                    uint64_t *out) {
    uint64_t h = ctcd_fnv1a64(CTCD_FNV1A64_INIT, SHARD_MAGIC, 8);
    for (int i = 0; i < n_files; i++) {
        struct stat st;
        if (stat(files[i], &st) != 0)
            return CTCD_ERR(CTCD_E_IO, "corpus file '%s': %s", files[i], strerror(errno));
        const int64_t meta[3] = {(int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec,
                                 (int64_t)st.st_mtim.tv_nsec};
        h = ctcd_fnv1a64(h, files[i], strlen(files[i]) + 1);
        h = ctcd_fnv1a64(h, meta, sizeof meta);
    }
    FILE *f = fopen(vocab_path, "rb");
    if (!f) return CTCD_ERR(CTCD_E_IO, "vocabulary '%s': %s", vocab_path, strerror(errno));
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) h = ctcd_fnv1a64(h, buf, got);
    fclose(f);
    const int32_t flags = o ? o->doc_per_line : 0;
    *out = ctcd_fnv1a64(h, &flags, sizeof flags);
    return CTCD_OK;
}

/* ---- building ---- */

typedef struct stream {
    uint16_t *tok;
    int64_t n, cap;
    uint64_t *docs;
    int64_t n_docs, cap_docs;
    int32_t *ids;      /* tokenizer output scratch */
    size_t ids_cap;
    int doc_open;      /* the current document has tokens */
} stream;

static ctcd_status push_tokens(stream *s, const int32_t *ids, size_t n, int32_t sep) {
    if (!s->doc_open) {
        if (s->n_docs == s->cap_docs) {
            int64_t cap = s->cap_docs ? 2 * s->cap_docs : 1024;
            uint64_t *d = realloc(s->docs, (size_t)cap * sizeof *d);
            if (!d) return CTCD_ERR(CTCD_E_NOMEM, "out of memory building the corpus shard");
            s->docs = d;
            s->cap_docs = cap;
        }
        if (s->n_docs > 0) n++; /* room for the separator */
    }
    if (s->n + (int64_t)n > s->cap) {
        int64_t cap = s->cap ? 2 * s->cap : 1 << 20;
        while (cap < s->n + (int64_t)n) cap *= 2;
        uint16_t *t = realloc(s->tok, (size_t)cap * sizeof *t);
        if (!t) return CTCD_ERR(CTCD_E_NOMEM, "out of memory building the corpus shard");
        s->tok = t;
        s->cap = cap;
    }
    if (!s->doc_open) {
        if (s->n_docs > 0) {
            s->tok[s->n++] = (uint16_t)sep;
            n--;
        }
        s->docs[s->n_docs++] = (uint64_t)s->n;
        s->doc_open = 1;
    }
    for (size_t i = 0; i < n; i++) s->tok[s->n++] = (uint16_t)ids[i];
    return CTCD_OK;
}

static ctcd_status tokenize_line(stream *s, ctcd_tokenizer *tok, const char *line, size_t len,
                                 int32_t sep, const char *path, long lineno) {
    size_t n = 0;
    ctcd_status st = ctcd_tokenizer_tokenize(tok, line, len, s->ids, s->ids_cap, &n);
    if (!st && n > s->ids_cap) {
        int32_t *ni = realloc(s->ids, n * sizeof *ni);
        if (!ni) return CTCD_ERR(CTCD_E_NOMEM, "%s:%ld: out of memory", path, lineno);
        s->ids = ni;
        s->ids_cap = n;
        st = ctcd_tokenizer_tokenize(tok, line, len, s->ids, s->ids_cap, &n);
    }
    if (st) return ctcd_error_wrap(st, "%s:%ld", path, lineno);
    return n ? push_tokens(s, s->ids, n, sep) : CTCD_OK;
}

static ctcd_status read_file(stream *s, ctcd_tokenizer *tok, const char *path,
                             const ctcd_corpus_opts *o, int64_t *done, int64_t total) {
    FILE *f = fopen(path, "rb");
    if (!f) return CTCD_ERR(CTCD_E_IO, "corpus file '%s': %s", path, strerror(errno));
    const int32_t sep = ctcd_tokenizer_special(tok).sep;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    long lineno = 0;
    int64_t next_report = *done + (1 << 22);
    ctcd_status st = CTCD_OK;
    s->doc_open = 0; /* a file always starts a new document */
    while (!st && (got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        *done += got;
        size_t len = (size_t)got;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        size_t k = 0;
        while (k < len && (line[k] == ' ' || line[k] == '\t')) k++;
        if (k == len) { /* blank line: ends a block document */
            s->doc_open = 0;
            continue;
        }
        st = tokenize_line(s, tok, line, len, sep, path, lineno);
        if (o->doc_per_line) s->doc_open = 0;
        if (o->progress && *done >= next_report) {
            ctcd_progress("tokenising corpus: %.1f / %.1f MB, %lld tokens", *done / 1e6,
                          total / 1e6, (long long)s->n);
            next_report = *done + (1 << 22);
        }
    }
    if (!st && ferror(f)) st = CTCD_ERR(CTCD_E_IO, "error reading '%s': %s", path, strerror(errno));
    free(line);
    fclose(f);
    return st;
}

static ctcd_status write_shard(const stream *s, int32_t vocab, uint64_t source_hash,
                               const char *out_path) {
    unsigned char hdr[HEADER_BYTES];
    const size_t tok_bytes = (size_t)s->n * 2, pad = round8(tok_bytes) - tok_bytes;
    const size_t doc_bytes = (size_t)s->n_docs * 8;
    uint64_t sum = ctcd_fnv1a64(CTCD_FNV1A64_INIT, s->tok, tok_bytes);
    sum = ctcd_fnv1a64(sum, s->docs, doc_bytes);
    const uint32_t version = SHARD_VERSION, v = (uint32_t)vocab;
    const uint64_t nt = (uint64_t)s->n, nd = (uint64_t)s->n_docs;
    memcpy(hdr, SHARD_MAGIC, 8);
    memcpy(hdr + 8, &version, 4);
    memcpy(hdr + 12, &v, 4);
    memcpy(hdr + 16, &nt, 8);
    memcpy(hdr + 24, &nd, 8);
    memcpy(hdr + 32, &sum, 8);
    memcpy(hdr + 40, &source_hash, 8);
    static const unsigned char zeros[8] = {0};
    ctcd_atomic_file af;
    CTCD_TRY(ctcd_atomic_open(&af, out_path));
    ctcd_status st = ctcd_atomic_write(&af, hdr, sizeof hdr);
    if (!st) st = ctcd_atomic_write(&af, s->tok, tok_bytes);
    if (!st) st = ctcd_atomic_write(&af, zeros, pad);
    if (!st) st = ctcd_atomic_write(&af, s->docs, doc_bytes);
    if (st) {
        ctcd_atomic_abort(&af);
        return st;
    }
    return ctcd_atomic_commit(&af);
}

ctcd_status ctcd_corpus_build(const char *const *files, int n_files, ctcd_tokenizer *tok,
                              uint64_t source_hash, const ctcd_corpus_opts *o,
                              const char *out_path) {
    const int32_t vocab = ctcd_tokenizer_vocab_size(tok);
    if (vocab > 65535)
        return CTCD_ERR(CTCD_E_UNSUPPORTED,
                        "corpus shards store uint16 ids; the vocabulary has %d entries", vocab);
    ctcd_corpus_opts def = {0};
    if (!o) o = &def;
    int64_t total = 0, done = 0;
    for (int i = 0; i < n_files; i++) {
        struct stat st;
        if (stat(files[i], &st) != 0)
            return CTCD_ERR(CTCD_E_IO, "corpus file '%s': %s", files[i], strerror(errno));
        total += st.st_size;
    }
    stream s = {0};
    ctcd_status st = CTCD_OK;
    for (int i = 0; !st && i < n_files; i++) st = read_file(&s, tok, files[i], o, &done, total);
    if (o->progress) ctcd_progress_end();
    if (!st && s.n == 0) st = CTCD_ERR(CTCD_E_INVALID, "the corpus has no tokens (%d files)", n_files);
    if (!st) st = write_shard(&s, vocab, source_hash, out_path);
    if (!st)
        ctcd_info("corpus: %d file(s), %.1f MB, %lld documents, %lld tokens -> %s", n_files,
                  total / 1e6, (long long)s.n_docs, (long long)s.n, out_path);
    free(s.tok);
    free(s.docs);
    free(s.ids);
    return st;
}

/* ---- reading ---- */

static ctcd_status check_shard(ctcd_shard *s, const unsigned char *p, size_t size) {
    const char *path = s->path;
    if (size < HEADER_BYTES)
        return CTCD_ERR(CTCD_E_INVALID, "%s: %zu bytes, shorter than the %d-byte header", path,
                        size, HEADER_BYTES);
    if (memcmp(p, SHARD_MAGIC, 8) != 0)
        return CTCD_ERR(CTCD_E_INVALID, "%s: not a ctcd corpus shard (bad magic)", path);
    uint32_t version, vocab;
    uint64_t nt, nd, sum;
    memcpy(&version, p + 8, 4);
    memcpy(&vocab, p + 12, 4);
    memcpy(&nt, p + 16, 8);
    memcpy(&nd, p + 24, 8);
    memcpy(&sum, p + 32, 8);
    memcpy(&s->source_hash, p + 40, 8);
    if (version != SHARD_VERSION)
        return CTCD_ERR(CTCD_E_UNSUPPORTED, "%s: shard version %u (this build reads %u)", path,
                        version, SHARD_VERSION);
    if (vocab == 0 || vocab > 65535)
        return CTCD_ERR(CTCD_E_INVALID, "%s: vocabulary size %u in the header", path, vocab);
    if (nt > size / 2 || nd > size / 8)
        return CTCD_ERR(CTCD_E_INVALID, "%s: header counts (%llu tokens, %llu documents) exceed "
                        "the file size %zu (truncated?)", path, (unsigned long long)nt,
                        (unsigned long long)nd, size);
    const size_t want = HEADER_BYTES + round8((size_t)nt * 2) + (size_t)nd * 8;
    if (size != want)
        return CTCD_ERR(CTCD_E_INVALID, "%s: %zu bytes, the header describes %zu (truncated or "
                        "corrupt)", path, size, want);
    s->tokens = (const uint16_t *)(p + HEADER_BYTES);
    s->docs = (const uint64_t *)(p + HEADER_BYTES + round8((size_t)nt * 2));
    s->n_tokens = (int64_t)nt;
    s->n_docs = (int64_t)nd;
    s->vocab_size = (int32_t)vocab;
    uint64_t h = ctcd_fnv1a64(CTCD_FNV1A64_INIT, s->tokens, (size_t)nt * 2);
    if (ctcd_fnv1a64(h, s->docs, (size_t)nd * 8) != sum)
        return CTCD_ERR(CTCD_E_INVALID, "%s: checksum mismatch (the shard is corrupt; delete it "
                        "to rebuild)", path);
    for (int64_t i = 0; i < s->n_tokens; i++)
        if (s->tokens[i] >= vocab)
            return CTCD_ERR(CTCD_E_INVALID, "%s: token %lld has id %u >= vocabulary size %u",
                            path, (long long)i, s->tokens[i], vocab);
    for (int64_t d = 0; d < s->n_docs; d++)
        if (s->docs[d] >= nt || (d && s->docs[d] <= s->docs[d - 1]))
            return CTCD_ERR(CTCD_E_INVALID, "%s: document offset %lld out of order", path,
                            (long long)d);
    return CTCD_OK;
}

ctcd_status ctcd_shard_open(const char *path, ctcd_shard *out) {
    memset(out, 0, sizeof *out);
    snprintf(out->path, sizeof out->path, "%s", path);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return CTCD_ERR(CTCD_E_IO, "corpus shard '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        const int e = errno;
        close(fd);
        return CTCD_ERR(CTCD_E_IO, "corpus shard '%s': %s", path, strerror(e));
    }
    const size_t size = (size_t)st.st_size;
    void *map = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (size && map == MAP_FAILED)
        return CTCD_ERR(CTCD_E_IO, "corpus shard '%s': mmap: %s", path, strerror(errno));
    out->map = map;
    out->map_bytes = size;
    ctcd_status s = check_shard(out, map, size);
    if (s) ctcd_shard_close(out);
    return s;
}

void ctcd_shard_close(ctcd_shard *s) {
    if (s->map) munmap(s->map, s->map_bytes);
    s->map = NULL;
    s->tokens = NULL;
    s->docs = NULL;
}
