/* mlm_augment.c — masked-LM word replacement, TinyBERT style (include/ctcd/augment.h).
 *
 * TinyBERT's data_augmentation.py masks one word at a time, takes the top-K predictions of
 * BERT's masked-LM head at that position and, per augmented copy, replaces each word with
 * probability p by a random candidate. Here the model is ctcd's own MLM head (any HF
 * BertForMaskedLM checkpoint), run on the CPU backend; differences from TinyBERT:
 *  - whole-word masking: every piece of a multi-piece word is replaced by ONE [MASK]
 *    (TinyBERT falls back to GloVe neighbours for such words);
 *  - the masked sequence is [CLS] text [SEP] (TinyBERT appends the unmasked text as a
 *    second segment, which lets the model see the word it predicts);
 *  - candidates are the top K among admissible entries (not "##", not special, with an
 *    ASCII letter or digit, not the word itself), so every eligible word has K of them.
 *
 * A text is held as whitespace words, each made of basic words (the tokenizer's words after
 * its punctuation split), each made of WordPiece pieces. Only whitespace words of pure
 * ASCII are ever rebuilt: their basic words concatenate back to the same tokenisation,
 * which is not guaranteed once Unicode spaces or dropped characters are involved. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ctcd/augment.h"
#include "ctcd/backend.h"
#include "ctcd/backend_cpu.h"
#include "ctcd/backend_create.h"
#include "ctcd/batch_upload.h"
#include "ctcd/checkpoint.h"
#include "ctcd/log.h"
#include "ctcd/tokenizer.h"

struct ctcd_mlm_augmenter {
    ctcd_mlm_aug_config cfg;
    char checkpoint[CTCD_PATH_MAX];
    ctcd_tokenizer *tok;
    ctcd_special_ids sp;
    ctcd_backend *be;
    ctcd_model *m;
    int B, T_cap, V;
    int32_t *h_ids, *h_types, *h_mask;   /* [B·T_cap] host batch */
    int32_t *h_cls, *h_pred;             /* [B] */
    ctcd_batch_buffers dev;              /* backend copies (masked rows: R = B) */
    float *logits;                       /* [B·V] host */
    uint8_t *admissible;                 /* [V] 1 = may be a candidate */
    int64_t forwards;
};

static int is_admissible_token(const char *s) {
    const size_t n = strlen(s);
    if (n == 0 || (s[0] == '#' && s[1] == '#')) return 0;
    if (s[0] == '[' && s[n - 1] == ']') return 0; /* [CLS], [unused12], ... */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x80 && isalnum((unsigned char)s[i])) return 1;
    return 0;
}

static ctcd_status alloc_buffers(ctcd_mlm_augmenter *a) {
    const size_t BT = (size_t)a->B * (size_t)a->T_cap, B = (size_t)a->B;
    a->h_ids = calloc(BT, sizeof(int32_t));
    a->h_types = calloc(BT, sizeof(int32_t));
    a->h_mask = calloc(BT, sizeof(int32_t));
    a->h_cls = calloc(B, sizeof(int32_t));
    a->h_pred = calloc(B, sizeof(int32_t));
    a->logits = malloc(B * (size_t)a->V * sizeof(float));
    a->admissible = malloc((size_t)a->V);
    if (!a->h_ids || !a->h_types || !a->h_mask || !a->h_cls || !a->h_pred || !a->logits ||
        !a->admissible)
        return CTCD_ERR(CTCD_E_NOMEM, "%s: out of memory for the masked-LM batch", a->checkpoint);
    return ctcd_batch_buffers_alloc(&a->dev, a->be, a->B, a->T_cap, a->B, CTCD_BATCH_MASKED,
                                    "mlm");
}

static ctcd_status open_model(ctcd_mlm_augmenter *a, const char *checkpoint) {
    CTCD_TRY(ctcd_backend_cpu_create(&a->be));
    ctcd_hf_config hf;
    CTCD_TRY(ctcd_hf_config_read(checkpoint, &hf));
    if (a->cfg.max_len > hf.cfg.max_position) a->cfg.max_len = hf.cfg.max_position;
    int T = (a->cfg.max_len + 7) / 8 * 8;
    if (T > hf.cfg.max_position) T = hf.cfg.max_position;
    ctcd_hf_config_free(&hf);
    a->T_cap = T;
    ctcd_hf_open_opts o = {.name = "mlm-augment", .B_max = a->B, .T_max = T, .seed = 0,
                           .head = CTCD_HEAD_MLM, .max_predictions = 1};
    ctcd_hf_load_report rep;
    CTCD_TRY(ctcd_model_open_hf(a->be, checkpoint, &o, &a->m, NULL, &rep));
    if (rep.n_fresh > 0)
        ctcd_warn("data.augment.mlm.checkpoint %s: %d masked-LM head tensor(s) not in the file "
                  "(first: %s) are random: candidates will be noise",
                  checkpoint, rep.n_fresh, rep.fresh[0]);
    ctcd_hf_load_report_free(&rep);
    return CTCD_OK;
}

ctcd_status ctcd_mlm_augmenter_open(const char *checkpoint, const char *vocab,
                                    const ctcd_mlm_aug_config *cfg, ctcd_mlm_augmenter **out) {
    *out = NULL;
    if (!(cfg->p >= 0.0f && cfg->p <= 1.0f) || cfg->top_k < 1 || cfg->max_len < 3)
        return CTCD_ERR(CTCD_E_INVALID, "masked-LM augmentation: need 0 <= p <= 1, top_k >= 1, "
                        "max_len >= 3 (got %g, %d, %d)", (double)cfg->p, cfg->top_k, cfg->max_len);
    ctcd_mlm_augmenter *a = calloc(1, sizeof *a);
    if (!a) return CTCD_ERR(CTCD_E_NOMEM, "out of memory");
    a->cfg = *cfg;
    a->B = cfg->batch > 0 ? cfg->batch : 32;
    snprintf(a->checkpoint, sizeof a->checkpoint, "%s", checkpoint);
    char vpath[CTCD_PATH_MAX + 16];
    if (vocab && vocab[0]) {
        snprintf(vpath, sizeof vpath, "%s", vocab);
    } else {
        snprintf(vpath, sizeof vpath, "%s/vocab.txt", checkpoint);
    }
    ctcd_status st = ctcd_tokenizer_load(vpath, &a->tok);
    if (!st) st = open_model(a, checkpoint);
    if (!st) {
        a->V = a->m->cfg.vocab_size;
        a->sp = ctcd_tokenizer_special(a->tok);
        if (ctcd_tokenizer_vocab_size(a->tok) > a->V)
            st = CTCD_ERR(CTCD_E_INVALID, "%s has %d entries but the model's vocabulary %d",
                          vpath, ctcd_tokenizer_vocab_size(a->tok), a->V);
    }
    if (!st) st = alloc_buffers(a);
    if (!st) {
        const int32_t nv = ctcd_tokenizer_vocab_size(a->tok);
        for (int32_t v = 0; v < a->V; v++)
            a->admissible[v] = v < nv && is_admissible_token(ctcd_tokenizer_token(a->tok, v));
    }
    if (st) {
        ctcd_mlm_augmenter_free(a);
        return ctcd_error_wrap(st, "masked-LM augmentation model %s", checkpoint);
    }
    *out = a;
    return CTCD_OK;
}

void ctcd_mlm_augmenter_free(ctcd_mlm_augmenter *a) {
    if (!a) return;
    ctcd_model_destroy(a->m);
    ctcd_batch_buffers_free(&a->dev);
    if (a->be) ctcd_backend_destroy(a->be);
    ctcd_tokenizer_free(a->tok);
    free(a->h_ids);
    free(a->h_types);
    free(a->h_mask);
    free(a->h_cls);
    free(a->h_pred);
    free(a->logits);
    free(a->admissible);
    free(a);
}

int64_t ctcd_mlm_augmenter_forwards(const ctcd_mlm_augmenter *a) { return a->forwards; }

/* ---- cutting a text into words ---- */

/* Scratch of one prepare call: the pieces of the whole text and where each basic word is. */
typedef struct pieces {
    int32_t *ids;      /* [n] */
    int n, cap;
    int *bw_first;     /* [n_basic] first piece of each basic word */
    int *bw_len;       /* [n_basic] its number of pieces */
    int *bw_ok;        /* [n_basic] eligible */
    int cap_basic;
} pieces;

/* Makes *p hold n elements of elem bytes. */
static ctcd_status resize(void **p, size_t n, size_t elem) {
    void *q = realloc(*p, n * elem);
    if (!q) return CTCD_ERR(CTCD_E_NOMEM, "masked-LM augmentation: out of memory");
    *p = q;
    return CTCD_OK;
}

/* Grows a capacity (in elements) to at least need by doubling; 1 when it changed. */
static int grow_cap(int *cap, int need) {
    if (need <= *cap) return 0;
    int c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    *cap = c;
    return 1;
}

static void text_reset(ctcd_mlm_text *t) {
    ctcd_strlist_clear(&t->words);
    ctcd_strlist_clear(&t->basic);
    t->n_words = t->n_basic = t->n_eligible = 0;
}

/* Adds basic word (pieces [first, first+len) of pc) of whitespace word w. */
static ctcd_status add_basic(ctcd_mlm_augmenter *a, ctcd_mlm_text *t, pieces *pc, int w,
                             int first, int len) {
    const int need = t->n_basic + 1;
    if (grow_cap(&t->cap_basic, need)) {
        const size_t c = (size_t)t->cap_basic;
        CTCD_TRY(resize((void **)&t->basic_word, c, sizeof(int)));
        CTCD_TRY(resize((void **)&t->n_cand, c, sizeof(int)));
        CTCD_TRY(resize((void **)&t->cand, c * (size_t)a->cfg.top_k, sizeof(int32_t)));
    }
    if (grow_cap(&pc->cap_basic, need)) {
        const size_t c = (size_t)pc->cap_basic;
        CTCD_TRY(resize((void **)&pc->bw_first, c, sizeof(int)));
        CTCD_TRY(resize((void **)&pc->bw_len, c, sizeof(int)));
        CTCD_TRY(resize((void **)&pc->bw_ok, c, sizeof(int)));
    }
    char buf[256];
    size_t n = 0;
    for (int k = first; k < first + len; k++) {
        const char *s = ctcd_tokenizer_token(a->tok, pc->ids[k]);
        if (k > first && s[0] == '#' && s[1] == '#') s += 2;
        const size_t sl = strlen(s);
        if (n + sl < sizeof buf) {
            memcpy(buf + n, s, sl);
            n += sl;
        }
    }
    buf[n] = '\0';
    const int i = t->n_basic++;
    t->basic_word[i] = w;
    t->n_cand[i] = 0;
    pc->bw_first[i] = first;
    pc->bw_len[i] = len;
    int ok = n > 0 && first + len <= a->cfg.max_len - 2 && !ctcd_is_stop_word(buf);
    for (size_t k = 0; ok && k < n; k++) ok = buf[k] >= 'a' && buf[k] <= 'z';
    pc->bw_ok[i] = ok;
    return ctcd_strlist_push(&t->basic, buf, n);
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* Splits text into whitespace words, pieces and basic words; marks eligible basic words. */
static ctcd_status split_text(ctcd_mlm_augmenter *a, const char *s, size_t len,
                              ctcd_mlm_text *t, pieces *pc) {
    size_t i = 0;
    while (i < len) {
        while (i < len && is_space(s[i])) i++;
        const size_t start = i;
        int ascii = 1;
        while (i < len && !is_space(s[i])) ascii &= (unsigned char)s[i++] < 0x80;
        if (i == start) break;
        const int w = t->n_words++;
        CTCD_TRY(ctcd_strlist_push(&t->words, s + start, i - start));
        size_t need = 0;
        CTCD_TRY(ctcd_tokenizer_tokenize(a->tok, s + start, i - start, NULL, 0, &need));
        if (grow_cap(&pc->cap, pc->n + (int)need))
            CTCD_TRY(resize((void **)&pc->ids, (size_t)pc->cap, sizeof(int32_t)));
        CTCD_TRY(ctcd_tokenizer_tokenize(a->tok, s + start, i - start, pc->ids + pc->n, need,
                                         &need));
        const int first_basic = t->n_basic, p0 = pc->n;
        pc->n += (int)need;
        int has_unk = 0;
        for (int k = p0; k < pc->n;) {
            int e = k + 1;
            while (e < pc->n) {
                const char *ps = ctcd_tokenizer_token(a->tok, pc->ids[e]);
                if (!(ps[0] == '#' && ps[1] == '#')) break;
                e++;
            }
            for (int q = k; q < e; q++) has_unk |= pc->ids[q] == a->sp.unk;
            CTCD_TRY(add_basic(a, t, pc, w, k, e - k));
            k = e;
        }
        /* A word that cannot be rebuilt exactly is never changed. */
        if (!ascii || has_unk)
            for (int b = first_basic; b < t->n_basic; b++) pc->bw_ok[b] = 0;
    }
    return CTCD_OK;
}

/* ---- candidates ---- */

/* Top-K admissible ids of one logits row, excluding the word's own text, into out[K];
 * ordered by logit (descending), ties by id. Returns how many were found. */
static int top_k(const ctcd_mlm_augmenter *a, const float *z, const char *word, int32_t *out) {
    const int K = a->cfg.top_k;
    float best[K];
    int n = 0;
    for (int32_t v = 0; v < a->V; v++) {
        if (!a->admissible[v]) continue;
        if (n == K && !(z[v] > best[K - 1])) continue;
        if (strcmp(ctcd_tokenizer_token(a->tok, v), word) == 0) continue;
        int at = n < K ? n++ : K - 1;
        while (at > 0 && z[v] > best[at - 1]) {
            best[at] = best[at - 1];
            out[at] = out[at - 1];
            at--;
        }
        best[at] = z[v];
        out[at] = v;
    }
    return n;
}

/* Runs the masked sequences of basic words bws[0..n) (n <= B) and stores their candidates. */
static ctcd_status run_batch(ctcd_mlm_augmenter *a, ctcd_mlm_text *t, const pieces *pc,
                             const int *bws, int n) {
    int T = 0;
    for (int r = 0; r < n; r++) {
        int len = 2 + pc->n - pc->bw_len[bws[r]] + 1;
        if (len > a->cfg.max_len) len = a->cfg.max_len;
        if (len > T) T = len;
    }
    T = (T + 7) / 8 * 8;
    if (T > a->T_cap) T = a->T_cap;
    for (int r = 0; r < n; r++) {
        const int b = bws[r], first = pc->bw_first[b], end = first + pc->bw_len[b];
        int32_t *ids = a->h_ids + (size_t)r * T;
        const int limit = T < a->cfg.max_len ? T : a->cfg.max_len;
        int len = 0;
        ids[len++] = a->sp.cls;
        for (int k = 0; k < pc->n && len < limit - 1; k++) {
            if (k == first) ids[len++] = a->sp.mask;
            if (k >= first && k < end) continue;
            if (len < limit - 1) ids[len++] = pc->ids[k];
        }
        ids[len++] = a->sp.sep;
        /* Eligible words end within max_len - 2 pieces, so [MASK] is always in the row. */
        CTCD_ASSERT(1 + first < len - 1 && ids[1 + first] == a->sp.mask,
                    "masked position %d outside a row of %d", 1 + first, len);
        for (int k = 0; k < T; k++) {
            if (k >= len) ids[k] = a->sp.pad;
            a->h_types[(size_t)r * T + k] = 0;
            a->h_mask[(size_t)r * T + k] = k < len;
        }
        a->h_cls[r] = r * T;
        a->h_pred[r] = r * T + 1 + first;
    }
    ctcd_backend *be = a->be;
    /* one masked row per sequence; the candidates need no labels */
    const ctcd_mlm_batch mb = {.b = {.B = n, .T = T, .ids = a->h_ids, .types = a->h_types,
                                     .mask = a->h_mask, .cls_idx = a->h_cls},
                               .n_pred = n, .pred_idx = a->h_pred};
    ctcd_batch_dev db;
    CTCD_TRY(ctcd_batch_buffers_upload_mlm(&a->dev, &mb, &db));
    CTCD_TRY(ctcd_model_forward(a->m, &db, 0, 0));
    a->forwards++;
    CTCD_TRY(be->download(be, a->logits, a->m->acts.logits, (size_t)n * (size_t)a->V * 4));
    for (int r = 0; r < n; r++) {
        const int b = bws[r];
        t->n_cand[b] = top_k(a, a->logits + (size_t)r * a->V, ctcd_strlist_at(&t->basic, b),
                             t->cand + (size_t)b * a->cfg.top_k);
        t->n_eligible += t->n_cand[b] > 0;
    }
    return CTCD_OK;
}

ctcd_status ctcd_mlm_prepare(ctcd_mlm_augmenter *a, const char *text, size_t len,
                             ctcd_mlm_text *out) {
    text_reset(out);
    pieces pc = {0};
    ctcd_status st = split_text(a, text, len, out, &pc);
    int *bws = st ? NULL : malloc((size_t)a->B * sizeof *bws);
    if (!st && !bws) st = CTCD_ERR(CTCD_E_NOMEM, "masked-LM augmentation: out of memory");
    int nb = 0;
    for (int b = 0; !st && b < out->n_basic; b++) {
        if (!pc.bw_ok[b]) continue;
        bws[nb++] = b;
        if (nb == a->B) {
            st = run_batch(a, out, &pc, bws, nb);
            nb = 0;
        }
    }
    if (!st && nb > 0) st = run_batch(a, out, &pc, bws, nb);
    free(bws);
    free(pc.ids);
    free(pc.bw_first);
    free(pc.bw_len);
    free(pc.bw_ok);
    return st;
}

ctcd_status ctcd_mlm_sample(const ctcd_mlm_augmenter *a, const ctcd_mlm_text *t, ctcd_rng *rng,
                            ctcd_strbuf *out, int *n_replaced) {
    const int K = a->cfg.top_k;
    int replaced = 0;
    out->n = 0;
    CTCD_TRY(ctcd_strbuf_append(out, "", 0));
    int b = 0;
    ctcd_strbuf w = {0};
    ctcd_status st = CTCD_OK;
    for (int wi = 0; !st && wi < t->n_words; wi++) {
        int any = 0;
        w.n = 0;
        st = ctcd_strbuf_append(&w, "", 0);
        for (; !st && b < t->n_basic && t->basic_word[b] == wi; b++) {
            const char *s = ctcd_strlist_at(&t->basic, b);
            if (t->n_cand[b] > 0 && ctcd_rng_uniform(rng) < a->cfg.p) {
                const int32_t id = t->cand[(size_t)b * K +
                                           ctcd_rng_below(rng, (uint32_t)t->n_cand[b])];
                s = ctcd_tokenizer_token(a->tok, id);
                any = 1;
                replaced++;
            }
            st = ctcd_strbuf_append(&w, s, strlen(s));
        }
        const char *orig = ctcd_strlist_at(&t->words, wi);
        if (!st && wi) st = ctcd_strbuf_append(out, " ", 1);
        if (!st) st = any ? ctcd_strbuf_append(out, w.p, w.n) : ctcd_strbuf_append(out, orig, strlen(orig));
    }
    ctcd_strbuf_free(&w);
    if (n_replaced) *n_replaced = replaced;
    return st;
}

void ctcd_mlm_text_free(ctcd_mlm_text *t) {
    ctcd_strlist_free(&t->words);
    ctcd_strlist_free(&t->basic);
    free(t->basic_word);
    free(t->n_cand);
    free(t->cand);
    memset(t, 0, sizeof *t);
}
