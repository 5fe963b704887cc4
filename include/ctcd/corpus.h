/* corpus.h — raw text corpora for masked-LM pre-training: tokenised once into a binary shard
 * (uint16 ids, memory-mapped, checksummed), then cut into masked-LM batches.
 *
 * Text: UTF-8 files, streamed line by line (any size). A document is a blank-line-separated
 * block (default) or a single line (doc_per_line). Each document's tokens are appended to
 * one stream with a [SEP] between documents, so sequences can be packed from consecutive
 * text; the shard also records where each document starts.
 *
 * Shard file (little-endian):
 *   header  "CTCDSHD1" | u32 version (1) | u32 vocab_size | u64 n_tokens | u64 n_docs |
 *           u64 checksum (FNV-1a 64 of the token and offset bytes) | u64 source_hash
 *   tokens  u16[n_tokens]
 *   docs    u64[n_docs]   (offset of each document's first token)
 * Written atomically; on open the size, the header and the checksum are verified, and every
 * error names the file and what is wrong. */
#ifndef CTCD_CORPUS_H
#define CTCD_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "ctcd/data.h"
#include "ctcd/status.h"
#include "ctcd/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ctcd_corpus_opts {
    int doc_per_line;    /* 1: every non-empty line is a document; 0: blank-line blocks */
    int progress;        /* 1: progress line on stderr while tokenising */
} ctcd_corpus_opts;

/* A memory-mapped shard. */
typedef struct ctcd_shard {
    char path[1024];
    const uint16_t *tokens;
    int64_t n_tokens;
    const uint64_t *docs;
    int64_t n_docs;
    int32_t vocab_size;
    uint64_t source_hash;
    void *map;
    size_t map_bytes;
} ctcd_shard;

/* Identifies the inputs and settings a shard is built from: paths, sizes and modification
 * times of the files, the vocabulary file's contents and the options. A cached shard whose
 * source_hash matches can be reused. */
ctcd_status ctcd_corpus_source_hash(const char *const *files, int n_files,
                                    const char *vocab_path, const ctcd_corpus_opts *o,
                                    uint64_t *out);
/* Tokenises the files (in order) into a shard at out_path. The vocabulary must have fewer
 * than 65536 entries. */
ctcd_status ctcd_corpus_build(const char *const *files, int n_files, ctcd_tokenizer *tok,
                              uint64_t source_hash, const ctcd_corpus_opts *o,
                              const char *out_path);
ctcd_status ctcd_shard_open(const char *path, ctcd_shard *out);
void ctcd_shard_close(ctcd_shard *s);

/* ---- masked-LM batches ----
 * The token stream is cut into consecutive chunks of max_len - 2 tokens, each made
 * [CLS] chunk [SEP] (the last chunk may be shorter; it is padded). With sentence_pair the
 * chunks are max_len - 3 tokens, each split in two segments, [CLS] A [SEP] B [SEP] with
 * token types 0 for [CLS] A [SEP] and 1 for B [SEP] (BERT's input format for sentence-pair
 * tasks, without next-sentence prediction: B is always the text that follows A). The split
 * is drawn from (seed, chunk, epoch) in the middle half of the chunk and moved to just
 * after the sentence end (".", "!", "?") nearest to it inside that window, if any. Each epoch visits every
 * chunk once in an order shuffled from (seed, epoch). In each sequence, round(mask_prob ·
 * n) of its n maskable tokens (never [CLS], [SEP], [PAD] or the document separators) are
 * selected — whole words together when whole_word is set (a word is a token plus its "##"
 * continuations) — and each selected token becomes [MASK] with probability 0.8, a random
 * vocabulary token with 0.1, and stays with 0.1. Selection and replacement are drawn from
 * (seed, chunk index, epoch), so a batch does not depend on its neighbours and a run
 * resumes exactly from a cursor. */
typedef struct ctcd_mlm_config {
    int batch;
    int max_len;             /* sequence length, [CLS] and [SEP] included (>= 8) */
    float mask_prob;         /* 0.15 */
    int whole_word;
    uint64_t seed;
    int max_predictions;     /* per sequence; selection stops there (0 = max_len) */
    int sentence_pair;       /* [CLS] A [SEP] B [SEP] with token types 0/1 */
} ctcd_mlm_config;

typedef struct ctcd_mlm_batch {
    ctcd_batch b;            /* ids, types (0), mask, cls_idx; labels/targets NULL */
    int64_t n_pred;          /* masked rows in the batch */
    int32_t *pred_idx;       /* [n_pred] row b·T + t */
    int32_t *pred_labels;    /* [n_pred] original token ids */
} ctcd_mlm_batch;

typedef struct ctcd_mlm_batcher {
    const ctcd_shard *shard;
    ctcd_mlm_config cfg;
    ctcd_special_ids special;
    const uint8_t *is_continuation; /* [vocab] 1 for "##" pieces (owned) */
    const uint8_t *ends_sentence;   /* [vocab] 1 for ".", "!", "?" (owned) */
    int64_t n_chunks, n_batches;    /* per epoch */
    ctcd_batcher_cursor cur;
    int64_t *order;                 /* [n_chunks] this epoch's chunk order */
    ctcd_mlm_batch out;             /* storage reused by every call */
    int32_t *scratch;               /* per-sequence candidate list */
} ctcd_mlm_batcher;

ctcd_status ctcd_mlm_batcher_init(ctcd_mlm_batcher *m, const ctcd_shard *s,
                                  const ctcd_tokenizer *tok, const ctcd_mlm_config *cfg);
/* Next batch; 0 at the end of an epoch (the cursor moves to the next epoch). */
int ctcd_mlm_batcher_next(ctcd_mlm_batcher *m, const ctcd_mlm_batch **out);
ctcd_status ctcd_mlm_batcher_seek(ctcd_mlm_batcher *m, ctcd_batcher_cursor cur);
void ctcd_mlm_batcher_free(ctcd_mlm_batcher *m);

#ifdef __cplusplus
}
#endif
#endif
