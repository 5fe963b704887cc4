/* mlm_batch.c — masked-LM batches from a corpus shard: packed [CLS] chunk [SEP] sequences
 * (or [CLS] A [SEP] B [SEP] sentence pairs), BERT's 15% selection (optionally whole words)
 * with 80/10/10 replacement, every draw keyed by (seed, epoch, chunk) so batches are
 * reproducible and resumable (include/ctcd/corpus.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/corpus.h"
#include "ctcd/rng.h"

/* Text tokens per sequence: max_len minus [CLS] and one or two [SEP]. */
static int64_t chunk_len(const ctcd_mlm_batcher *m) {
    return m->cfg.max_len - 2 - (m->cfg.sentence_pair ? 1 : 0);
}

static void shuffle_epoch(ctcd_mlm_batcher *m) {
    ctcd_rng r;
    ctcd_rng_init(&r, ctcd_seed_derive(m->cfg.seed, "mlm/order"), (uint64_t)m->cur.epoch);
    for (int64_t i = 0; i < m->n_chunks; i++) m->order[i] = i;
    for (int64_t i = m->n_chunks - 1; i > 0; i--) {
        const int64_t j = (int64_t)(ctcd_rng_u64(&r) % (uint64_t)(i + 1));
        const int64_t t = m->order[i];
        m->order[i] = m->order[j];
        m->order[j] = t;
    }
}

ctcd_status ctcd_mlm_batcher_init(ctcd_mlm_batcher *m, const ctcd_shard *s,
                                  const ctcd_tokenizer *tok, const ctcd_mlm_config *cfg) {
    memset(m, 0, sizeof *m);
    if (cfg->batch < 1 || cfg->max_len < 8 || cfg->max_len > 4096)
        return CTCD_ERR(CTCD_E_INVALID,
                        "masked-LM batches need batch >= 1 and max_len in 8..4096 (got %d, %d)",
                        cfg->batch, cfg->max_len);
    if (!(cfg->mask_prob > 0.0f && cfg->mask_prob < 1.0f))
        return CTCD_ERR(CTCD_E_INVALID, "mask probability must be in (0, 1), got %g",
                        (double)cfg->mask_prob);
    const int32_t V = ctcd_tokenizer_vocab_size(tok);
    if (V != s->vocab_size)
        return CTCD_ERR(CTCD_E_INVALID, "%s was built with a %d-entry vocabulary, the tokenizer "
                        "has %d", s->path, s->vocab_size, V);
    m->shard = s;
    m->cfg = *cfg;
    if (m->cfg.max_predictions <= 0 || m->cfg.max_predictions > cfg->max_len)
        m->cfg.max_predictions = cfg->max_len;
    m->special = ctcd_tokenizer_special(tok);
    m->n_chunks = (s->n_tokens + chunk_len(m) - 1) / chunk_len(m);
    m->n_batches = (m->n_chunks + cfg->batch - 1) / cfg->batch;
    const size_t B = (size_t)cfg->batch, T = (size_t)cfg->max_len;
    uint8_t *cont = calloc((size_t)V, 1), *ends = calloc((size_t)V, 1);
    m->ends_sentence = ends;
    m->order = malloc((size_t)m->n_chunks * sizeof *m->order);
    ctcd_batch *b = &m->out.b;
    b->ids = malloc(B * T * sizeof(int32_t));
    b->types = calloc(B * T, sizeof(int32_t));
    b->mask = malloc(B * T * sizeof(int32_t));
    b->cls_idx = malloc(B * sizeof(int32_t));
    b->example = malloc(B * sizeof(int64_t));
    m->out.pred_idx = malloc(B * (size_t)m->cfg.max_predictions * sizeof(int32_t));
    m->out.pred_labels = malloc(B * (size_t)m->cfg.max_predictions * sizeof(int32_t));
    m->scratch = malloc(2 * T * sizeof(int32_t));
    m->is_continuation = cont;
    if (!cont || !ends || !m->order || !b->ids || !b->types || !b->mask || !b->cls_idx || !b->example ||
        !m->out.pred_idx || !m->out.pred_labels || !m->scratch) {
        ctcd_mlm_batcher_free(m);
        return CTCD_ERR(CTCD_E_NOMEM, "out of memory for masked-LM batches");
    }
    for (int32_t i = 0; i < V; i++) {
        const char *t = ctcd_tokenizer_token(tok, i);
        cont[i] = t && t[0] == '#' && t[1] == '#';
        ends[i] = t && (strcmp(t, ".") == 0 || strcmp(t, "!") == 0 || strcmp(t, "?") == 0);
    }
    shuffle_epoch(m);
    return CTCD_OK;
}

static int maskable(const ctcd_mlm_batcher *m, int32_t id) {
    const ctcd_special_ids *s = &m->special;
    return id != s->cls && id != s->sep && id != s->pad && id != s->mask;
}

/* Selects positions of one sequence (ids[0..len)) to predict; returns how many, written in
 * ascending order to sel. */
static int select_positions(ctcd_mlm_batcher *m, const int32_t *ids, int len, ctcd_rng *r,
                            int32_t *sel) {
    int32_t *word = m->scratch; /* start position of each word (candidate group) */
    int n_words = 0, n_cand = 0;
    for (int t = 1; t < len - 1; t++) {
        if (!maskable(m, ids[t])) continue;
        n_cand++;
        const int joins = m->cfg.whole_word && m->is_continuation[ids[t]] && n_words > 0 &&
                          t > 1 && maskable(m, ids[t - 1]);
        if (!joins) word[n_words++] = t;
    }
    if (n_cand == 0) return 0;
    int want = (int)lrintf(m->cfg.mask_prob * (float)n_cand);
    if (want < 1) want = 1;
    if (want > m->cfg.max_predictions) want = m->cfg.max_predictions;
    for (int i = n_words - 1; i > 0; i--) {
        const int j = (int)ctcd_rng_below(r, (uint32_t)(i + 1));
        const int32_t x = word[i];
        word[i] = word[j];
        word[j] = x;
    }
    uint8_t *picked = (uint8_t *)(m->scratch + m->cfg.max_len);
    memset(picked, 0, (size_t)len);
    int n = 0;
    for (int w = 0; w < n_words && n < want; w++) {
        int end = word[w] + 1;
        if (m->cfg.whole_word)
            while (end < len - 1 && maskable(m, ids[end]) && m->is_continuation[ids[end]]) end++;
        if (n + (end - word[w]) > want) continue; /* BERT: skip words that overshoot */
        for (int t = word[w]; t < end; t++) picked[t] = 1;
        n += end - word[w];
    }
    int k = 0;
    for (int t = 0; t < len; t++)
        if (picked[t]) sel[k++] = t;
    return k;
}

/* Sentence-pair split of chunk c (n >= 2 tokens from `tok`): the length of segment A, in
 * 1..n-1. A point drawn in the middle half, moved to just after the nearest sentence end
 * inside that half when there is one. */
static int pair_split(const ctcd_mlm_batcher *m, const uint16_t *tok, int n, int64_t c) {
    ctcd_rng r;
    ctcd_rng_init(&r, ctcd_seed_derive(m->cfg.seed, "mlm/pair"),
                  ((uint64_t)m->cur.epoch << 40) ^ (uint64_t)c);
    int lo = n / 4, hi = n - n / 4;
    if (lo < 1) lo = 1;
    if (hi > n - 1) hi = n - 1;
    if (hi < lo) hi = lo;
    const int target = lo + (int)ctcd_rng_below(&r, (uint32_t)(hi - lo + 1));
    for (int d = 0; d <= hi - lo; d++)
        for (int sgn = -1; sgn <= 1; sgn += 2) {
            const int s = target + sgn * d; /* A = tok[0..s): ends with a sentence end */
            if (s >= lo && s <= hi && m->ends_sentence[tok[s - 1]]) return s;
        }
    return target;
}

/* Builds row i of the batch from chunk c. */
static void fill_row(ctcd_mlm_batcher *m, int i, int T, int64_t c) {
    ctcd_mlm_batch *o = &m->out;
    int32_t *ids = o->b.ids + (int64_t)i * T, *mask = o->b.mask + (int64_t)i * T;
    int32_t *types = o->b.types + (int64_t)i * T;
    const int64_t start = c * chunk_len(m);
    int64_t end = start + chunk_len(m);
    if (end > m->shard->n_tokens) end = m->shard->n_tokens;
    const int n = (int)(end - start);
    const int split = m->cfg.sentence_pair && n >= 2 ? pair_split(m, m->shard->tokens + start, n, c)
                                                    : n; /* length of segment A */
    const int pair = split < n;
    const int len = n + 2 + pair;
    ids[0] = m->special.cls;
    for (int k = 0; k < split; k++) ids[1 + k] = m->shard->tokens[start + k];
    if (pair) {
        ids[1 + split] = m->special.sep;
        for (int k = split; k < n; k++) ids[2 + k] = m->shard->tokens[start + k];
    }
    ids[len - 1] = m->special.sep;
    for (int t = 0; t < T; t++) {
        if (t >= len) ids[t] = m->special.pad;
        mask[t] = t < len;
        types[t] = pair && t > 1 + split && t < len; /* B and its [SEP] */
    }
    o->b.cls_idx[i] = i * T;
    o->b.example[i] = c;
    ctcd_rng r;
    ctcd_rng_init(&r, ctcd_seed_derive(m->cfg.seed, "mlm/mask"),
                  ((uint64_t)m->cur.epoch << 40) ^ (uint64_t)c);
    int32_t sel[4096];
    const int n_sel = select_positions(m, ids, len, &r, sel);
    for (int k = 0; k < n_sel; k++) {
        const int t = sel[k];
        o->pred_idx[o->n_pred] = i * T + t;
        o->pred_labels[o->n_pred++] = ids[t];
        const float u = ctcd_rng_uniform(&r);
        if (u < 0.8f)
            ids[t] = m->special.mask;
        else if (u < 0.9f)
            ids[t] = (int32_t)ctcd_rng_below(&r, (uint32_t)m->shard->vocab_size);
    }
}

int ctcd_mlm_batcher_next(ctcd_mlm_batcher *m, const ctcd_mlm_batch **out) {
    if (m->cur.batch >= m->n_batches) {
        m->cur.epoch++;
        m->cur.batch = 0;
        shuffle_epoch(m);
        return 0;
    }
    const int64_t first = m->cur.batch * m->cfg.batch;
    int B = m->cfg.batch;
    if (first + B > m->n_chunks) B = (int)(m->n_chunks - first);
    int longest = 0;
    for (int i = 0; i < B; i++) {
        const int64_t c = m->order[first + i], start = c * chunk_len(m);
        int64_t len = m->shard->n_tokens - start;
        if (len > chunk_len(m)) len = chunk_len(m);
        const int extra = 2 + (m->cfg.sentence_pair && len >= 2);
        if (len + extra > longest) longest = (int)len + extra;
    }
    int T = (longest + 7) / 8 * 8;
    if (T > m->cfg.max_len) T = m->cfg.max_len;
    m->out.b.B = B;
    m->out.b.T = T;
    m->out.n_pred = 0;
    for (int i = 0; i < B; i++) fill_row(m, i, T, m->order[first + i]);
    m->cur.batch++;
    *out = &m->out;
    return 1;
}

ctcd_status ctcd_mlm_batcher_seek(ctcd_mlm_batcher *m, ctcd_batcher_cursor cur) {
    if (cur.epoch < 0 || cur.batch < 0 || cur.batch > m->n_batches)
        return CTCD_ERR(CTCD_E_INVALID, "masked-LM cursor (%lld, %lld) out of range",
                        (long long)cur.epoch, (long long)cur.batch);
    m->cur = cur;
    shuffle_epoch(m);
    return CTCD_OK;
}

void ctcd_mlm_batcher_free(ctcd_mlm_batcher *m) {
    free((void *)m->is_continuation);
    free((void *)m->ends_sentence);
    free(m->order);
    free(m->out.b.ids);
    free(m->out.b.types);
    free(m->out.b.mask);
    free(m->out.b.cls_idx);
    free(m->out.b.example);
    free(m->out.pred_idx);
    free(m->out.pred_labels);
    free(m->scratch);
    memset(m, 0, sizeof *m);
}
