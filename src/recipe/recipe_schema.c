/* recipe_schema.c — every recipe key with its type, default, bounds and meaning (see
 * recipe_schema.h). Documented for users in recipes/README.md; a test checks the two agree. */
#include "ctcd/recipe_schema.h"

#include <math.h>

#include "ctcd/recipe.h"

#define OFF(f) offsetof(ctcd_recipe, f)
#define SZ(f) sizeof(((ctcd_recipe *)0)->f)
#define NB NAN
#define TASKS "builtin:demo|mlm|cola|sst2|mrpc|stsb|qqp|mnli|qnli|rte|wnli|esnli|cqa"

#define MODEL_KEYS(R, I)                                                                     \
    {"models." R ".init", KT_PATH, OFF(models[I].init), SZ(models[I].init), "\"\"", NB, NB, 0, \
     0, NULL, I, "checkpoint directory to start from; empty = random initialisation"},      \
    {"models." R ".layers", KT_INT, OFF(models[I].layers), 0, "2", 1, 48, 0, 0, NULL, I,      \
     "number of encoder layers"},                                                           \
    {"models." R ".hidden", KT_INT, OFF(models[I].hidden), 0, "128", 8, 8192, 0, 0, NULL, I,  \
     "hidden size H"},                                                                      \
    {"models." R ".heads", KT_INT, OFF(models[I].heads), 0, "2", 1, 128, 0, 0, NULL, I,       \
     "attention heads (must divide hidden)"},                                               \
    {"models." R ".intermediate", KT_INT, OFF(models[I].intermediate), 0, "0", 0, 65536, 0, 0, \
     NULL, I, "feed-forward width; 0 = 4 x hidden"},                                        \
    {"models." R ".dropout", KT_F32, OFF(models[I].hidden_dropout), 0, "0.1", 0, 1, 0, 1,     \
     NULL, I, "hidden dropout probability"},                                                \
    {"models." R ".attention_dropout", KT_F32, OFF(models[I].attn_dropout), 0, "0.1", 0, 1, 0, \
     1, NULL, I, "attention-probability dropout"},                                          \
    {"models." R ".initializer_range", KT_F32, OFF(models[I].initializer_range), 0, "0.02", 0, \
     NB, 1, 0, NULL, I, "standard deviation of the random initialisation"}

/* data.augment.*: include/ctcd/augment.h, src/train/augment_data.c. */
#define EDA_OP_KEY(K, F, WHAT)                                                              \
    {"data.augment.eda." K, KT_F32, OFF(data.augment.eda.F), 0, "-1", -1, 1, 0, 0, NULL, -1, \
     WHAT "; negative = data.augment.eda.alpha, 0 = off"}
#define AUGMENT_KEYS                                                                          \
    {"data.augment.eda.num_aug", KT_INT, OFF(data.augment.eda.num_aug), 0, "0", 0, 1000, 0, 0,  \
     NULL, -1, "EDA copies per training example; 0 = EDA off"},                             \
    {"data.augment.eda.alpha", KT_F32, OFF(data.augment.eda.alpha), 0, "0.1", 0, 1, 0, 0, NULL, \
     -1, "strength of every EDA operation unless overridden below"},                         \
    EDA_OP_KEY("alpha_sr", alpha_sr, "synonym replacement: n = max(1, round(alpha x words))"),  \
    EDA_OP_KEY("alpha_ri", alpha_ri, "random insertion of synonyms: n as for alpha_sr"),       \
    EDA_OP_KEY("alpha_rs", alpha_rs, "random swaps: n as for alpha_sr"),                      \
    EDA_OP_KEY("p_rd", p_rd, "random deletion: probability of deleting each word"),          \
    {"data.augment.mlm.checkpoint", KT_PATH, OFF(data.augment.mlm.checkpoint),                 \
     SZ(data.augment.mlm.checkpoint), "\"\"", NB, NB, 0, 0, NULL, -1,                          \
     "HF BertForMaskedLM checkpoint directory for masked-LM replacement; empty = off"},      \
    {"data.augment.mlm.p", KT_F32, OFF(data.augment.mlm.p), 0, "0.4", 0, 1, 0, 0, NULL, -1,     \
     "probability that an eligible word is replaced in a masked-LM copy"},                   \
    {"data.augment.mlm.top_k", KT_INT, OFF(data.augment.mlm.top_k), 0, "15", 1, 1000, 0, 0,     \
     NULL, -1, "replacement candidates per word: the K most likely single-piece words"},     \
    {"data.augment.mlm.num_aug", KT_INT, OFF(data.augment.mlm.num_aug), 0, "4", 0, 1000, 0, 0,  \
     NULL, -1, "masked-LM copies per training example; 0 = off"},                           \
    {"data.augment.seed", KT_U64, OFF(data.augment.seed), 0, "1", NB, NB, 0, 0, NULL, -1,       \
     "seed of the augmented copies (independent of train.seed)"},                           \
    {"data.augment.cache", KT_PATH, OFF(data.augment.cache), SZ(data.augment.cache), "\"\"",   \
     NB, NB, 0, 0, NULL, -1,                                                                 \
     "directory of the augmentation cache; empty = <output>/augment-cache (no output: not "  \
     "cached)"}

const key_def ctcd_recipe_keys[] = {
    {"task", KT_ENUM, OFF(task), SZ(task), "builtin:demo", NB, NB, 0, 0, TASKS, -1,
     "builtin:demo (generated, no download), mlm (masked-LM pre-training), a GLUE task, or "
     "a task with rationales: esnli, cqa (CommonsenseQA, multiple choice)"},
    {"data.dir", KT_PATH, OFF(data.dir), SZ(data.dir), "\"\"", NB, NB, 0, 0, NULL, -1,
     "GLUE task directory with train.tsv and dev*.tsv; empty = glue/<Task> under "
     "$CTCD_DATA_DIR, ./data or ../shared/data"},
    {"data.vocab", KT_PATH, OFF(data.vocab), SZ(data.vocab), "\"\"", NB, NB, 0, 0, NULL, -1,
     "WordPiece vocab.txt; empty = the init checkpoint's vocab.txt, else "
     "vocab/bert-base-uncased-vocab.txt under the data roots"},
    {"data.max_len", KT_INT, OFF(data.max_len), 0, "128", 8, 4096, 0, 0, NULL, -1,
     "maximum sequence length in tokens ([CLS] and [SEP] included)"},
    {"data.strict", KT_BOOL, OFF(data.strict), 0, "false", NB, NB, 0, 0, NULL, -1,
     "a malformed TSV line is an error (default: skipped, counted and reported)"},
    {"data.max_train_examples", KT_I64, OFF(data.max_train_examples), 0, "0", 0, NB, 0, 0, NULL,
     -1, "if > 0, train on the first N examples of train.tsv only"},
    {"data.train_fraction", KT_F32, OFF(data.train_fraction), 0, "1", 0, 1, 1, 0, NULL, -1,
     "train on the first ceil(fraction x N) training examples (after data.max_train_examples; "
     "data-efficiency curves)"},
    {"data.max_dev_examples", KT_I64, OFF(data.max_dev_examples), 0, "0", 0, NB, 0, 0, NULL, -1,
     "if > 0, evaluate on the first N examples of each dev split only"},
    {"data.demo.train_examples", KT_I64, OFF(data.demo.train_examples), 0, "6000", 1, NB, 0, 0,
     NULL, -1, "builtin:demo training examples"},
    {"data.demo.dev_examples", KT_I64, OFF(data.demo.dev_examples), 0, "1000", 1, NB, 0, 0, NULL,
     -1, "builtin:demo dev examples"},
    {"data.demo.seed", KT_U64, OFF(data.demo.seed), 0, "1234", NB, NB, 0, 0, NULL, -1,
     "seed of the generated dataset (independent of train.seed)"},
    {"data.demo.max_depth", KT_INT, OFF(data.demo.max_depth), 0, "3", 1, 8, 0, 0, NULL, -1,
     "deepest nesting of embedded clauses"},
    AUGMENT_KEYS,
    {"pretrain.corpus", KT_PATH, OFF(pretrain.corpus), SZ(pretrain.corpus), "\"\"", NB, NB, 0,
     0, NULL, -1, "task mlm: a UTF-8 text file, or a directory whose *.txt and *.tokens files "
     "are read in name order"},
    {"pretrain.dev_fraction", KT_F32, OFF(pretrain.dev_fraction), 0, "0.01", 0, 0.5, 1, 0, NULL,
     -1, "share of the corpus (its end) held out for evaluation"},
    {"pretrain.doc_per_line", KT_BOOL, OFF(pretrain.doc_per_line), 0, "false", NB, NB, 0, 0,
     NULL, -1, "every line is a document (default: blank-line-separated blocks)"},
    {"pretrain.mask_prob", KT_F32, OFF(pretrain.mask_prob), 0, "0.15", 0, 1, 1, 1, NULL, -1,
     "share of tokens selected for prediction (80% [MASK], 10% random, 10% kept)"},
    {"pretrain.sentence_pair", KT_BOOL, OFF(pretrain.sentence_pair), 0, "false", NB, NB, 0, 0,
     NULL, -1, "pack each sequence as [CLS] A [SEP] B [SEP] (token types 0/1, split at a "
     "sentence end near the middle) so the models also learn the pair format GLUE pair tasks "
     "use"},
    {"pretrain.whole_word", KT_BOOL, OFF(pretrain.whole_word), 0, "false", NB, NB, 0, 0, NULL,
     -1, "select whole words (a token and its ## continuations) together"},
    {"pretrain.max_predictions", KT_INT, OFF(pretrain.max_predictions), 0, "0", 0, 4096, 0, 0,
     NULL, -1, "masked rows per sequence; 0 = ceil(mask_prob x max_len) + 1"},
    {"pretrain.eval_batches", KT_I64, OFF(pretrain.eval_batches), 0, "20", 1, NB, 0, 0, NULL,
     -1, "held-out batches per evaluation (masked-LM loss and accuracy)"},
    {"pretrain.cache", KT_PATH, OFF(pretrain.cache), SZ(pretrain.cache), "runs/corpus-cache",
     NB, NB, 0, 0, NULL, -1, "directory of tokenised corpus shards, reused while the corpus, "
     "vocabulary and pretrain.doc_per_line are unchanged"},
    MODEL_KEYS("large", 0),
    MODEL_KEYS("small", 1),
    {"models.teacher.init", KT_PATH, OFF(models[2].init), SZ(models[2].init), "\"\"", NB, NB, 0,
     0, NULL, 2, "optional frozen teacher: checkpoint directory of a model fine-tuned on the "
     "task (its config.json gives the architecture); it is run in every step and never "
     "trained"},
    {"distill.temperature", KT_F32, OFF(distill.temperature), 0, "1.0", 0, NB, 1, 0, NULL, -1,
     "softmax temperature T of the mutual KL terms (scaled by T^2)"},
    {"distill.hard.large", KT_F32, OFF(distill.hard[0]), 0, "1.0", 0, NB, 0, 0, NULL, -1,
     "weight of the large model's loss on the labels"},
    {"distill.hard.small", KT_F32, OFF(distill.hard[1]), 0, "1.0", 0, NB, 0, 0, NULL, -1,
     "weight of the small model's loss on the labels"},
    {"distill.mutual.small_to_large", KT_F32, OFF(distill.small_to_large), 0, "1.0", 0, NB, 0, 0,
     NULL, -1, "weight of KL(p_small || p_large) in the large model's loss"},
    {"distill.mutual.large_to_small", KT_F32, OFF(distill.large_to_small), 0, "1.0", 0, NB, 0, 0,
     NULL, -1, "weight of KL(p_large || p_small) in the small model's loss"},
    {"distill.ramp_steps", KT_I64, OFF(distill.ramp_steps), 0, "0", 0, NB, 0, 0, NULL, -1,
     "mutual weights grow linearly from 0 over this many steps"},
    {"distill.hard_augmented", KT_F32, OFF(distill.hard_augmented), 0, "0", 0, 1, 0, 0, NULL, -1,
     "hard-label weight of augmented rows: 0 = no hard label (trained by the mutual terms "
     "only), 1 = keep the original label; nothing in between"},
    {"distill.teacher.large", KT_F32, OFF(distill.teacher[0]), 0, "1.0", 0, NB, 0, 0, NULL, 2,
     "with models.teacher: weight of KL(p_teacher || p_large) in the large model's loss"},
    {"distill.teacher.small", KT_F32, OFF(distill.teacher[1]), 0, "1.0", 0, NB, 0, 0, NULL, 2,
     "with models.teacher: weight of KL(p_teacher || p_small) in the small model's loss"},
    {"train.epochs", KT_INT, OFF(train.epochs), 0, "3", 1, NB, 0, 0, NULL, -1,
     "passes over the training set"},
    {"train.max_steps", KT_I64, OFF(train.max_steps), 0, "0", 0, NB, 0, 0, NULL, -1,
     "if > 0, the number of steps (overrides epochs)"},
    {"train.batch", KT_INT, OFF(train.batch), 0, "32", 1, 65536, 0, 0, NULL, -1,
     "examples per step (the same batch for both models)"},
    {"train.lr.large", KT_F32, OFF(train.lr[0]), 0, "5e-5", 0, NB, 1, 0, NULL, -1,
     "peak learning rate of the large model"},
    {"train.lr.small", KT_F32, OFF(train.lr[1]), 0, "1e-4", 0, NB, 1, 0, NULL, -1,
     "peak learning rate of the small model"},
    {"train.warmup", KT_F32, OFF(train.warmup), 0, "0.1", 0, 1, 0, 0, NULL, -1,
     "fraction of steps with linear warmup (then linear decay to 0)"},
    {"train.weight_decay", KT_F32, OFF(train.weight_decay), 0, "0.01", 0, NB, 0, 0, NULL, -1,
     "AdamW decoupled weight decay (not on biases and LayerNorm)"},
    {"train.clip", KT_F32, OFF(train.clip), 0, "1.0", 0, NB, 0, 0, NULL, -1,
     "global gradient-norm clip per model; 0 = off"},
    {"train.adam_beta1", KT_F32, OFF(train.adam_beta1), 0, "0.9", 0, 1, 0, 1, NULL, -1,
     "AdamW beta1"},
    {"train.adam_beta2", KT_F32, OFF(train.adam_beta2), 0, "0.999", 0, 1, 0, 1, NULL, -1,
     "AdamW beta2"},
    {"train.adam_eps", KT_F32, OFF(train.adam_eps), 0, "1e-8", 0, NB, 1, 0, NULL, -1,
     "AdamW epsilon"},
    {"train.seed", KT_U64, OFF(train.seed), 0, "42", NB, NB, 0, 0, NULL, -1,
     "seed of initialisation, dropout and data order"},
    {"train.precision", KT_ENUM, OFF(train.precision), SZ(train.precision), "bf16", NB, NB, 0, 0,
     "fp32|bf16", -1, "compute precision on CUDA (the CPU backend is always fp32)"},
    {"train.backend", KT_ENUM, OFF(train.backend), SZ(train.backend), "auto", NB, NB, 0, 0,
     "auto|cpu|cuda", -1, "compute backend; auto = CUDA when available, else CPU"},
    {"train.deterministic", KT_BOOL, OFF(train.deterministic), 0, "false", NB, NB, 0, 0, NULL, -1,
     "bitwise-reproducible runs: on the CPU the same weights on any x86-64 machine with AVX2 "
     "+ FMA (a fixed-order GEMM of ctcd's instead of OpenBLAS's per-CPU kernels; slower), on "
     "CUDA on the same GPU"},
    {"train.log_every", KT_I64, OFF(train.log_every), 0, "50", 1, NB, 0, 0, NULL, -1,
     "steps between progress lines and log.jsonl records"},
    {"train.checkpoint_every", KT_I64, OFF(train.checkpoint_every), 0, "0", 0, NB, 0, 0, NULL,
     -1, "steps between writes of <output>/state/train_state.safetensors (for ctcd train "
     "--resume); 0 = only at the end and when interrupted"},
    {"train.skip_nonfinite", KT_BOOL, OFF(train.skip_nonfinite), 0, "false", NB, NB, 0, 0, NULL,
     -1, "a NaN/Inf loss or gradient skips that step's update of both models (logged and "
     "counted); false = stop with an error naming the model and tensor"},
    {"train.zero", KT_INT, OFF(train.zero), 0, "0", 0, 1, 0, 0, NULL, -1,
     "data-parallel runs: 1 = ZeRO-1, each rank keeps the AdamW moments of its shard of the "
     "parameters only (reduce-scatter gradients, all-gather weights); 0 = every rank keeps "
     "all of them. Same parameters either way (to fp32 rounding)"},
    {"eval.every", KT_I64, OFF(eval.every), 0, "0", 0, NB, 0, 0, NULL, -1,
     "steps between dev evaluations; 0 = at the end of every epoch"},
    {"eval.batch", KT_INT, OFF(eval.batch), 0, "64", 1, 65536, 0, 0, NULL, -1,
     "examples per evaluation batch"},
    {"output", KT_PATH, OFF(output), SZ(output), "\"\"", NB, NB, 0, 0, NULL, -1,
     "run directory (resolved recipe, log.jsonl, eval.jsonl); empty = none"},
    {"search.layers.min", KT_INT, OFF(search.min[0]), 0, "1", 1, 48, 0, 0, NULL, -1,
     "smallest layers the search considers"},
    {"search.layers.max", KT_INT, OFF(search.max[0]), 0, "4", 1, 48, 0, 0, NULL, -1,
     "largest layers the search considers"},
    {"search.layers.step", KT_INT, OFF(search.step[0]), 0, "1", 1, 48, 0, 0, NULL, -1,
     "grid step of layers (values min, min+step, ... <= max)"},
    {"search.hidden.min", KT_INT, OFF(search.min[1]), 0, "64", 1, 8192, 0, 0, NULL, -1,
     "smallest hidden the search considers"},
    {"search.hidden.max", KT_INT, OFF(search.max[1]), 0, "256", 1, 8192, 0, 0, NULL, -1,
     "largest hidden the search considers"},
    {"search.hidden.step", KT_INT, OFF(search.step[1]), 0, "32", 1, 8192, 0, 0, NULL, -1,
     "grid step of hidden (values min, min+step, ... <= max)"},
    {"search.heads.min", KT_INT, OFF(search.min[2]), 0, "1", 1, 128, 0, 0, NULL, -1,
     "smallest heads the search considers"},
    {"search.heads.max", KT_INT, OFF(search.max[2]), 0, "8", 1, 128, 0, 0, NULL, -1,
     "largest heads the search considers"},
    {"search.heads.step", KT_INT, OFF(search.step[2]), 0, "1", 1, 128, 0, 0, NULL, -1,
     "grid step of heads (values min, min+step, ... <= max)"},
    {"search.intermediate.min", KT_INT, OFF(search.min[3]), 0, "128", 1, 65536, 0, 0, NULL, -1,
     "smallest intermediate the search considers"},
    {"search.intermediate.max", KT_INT, OFF(search.max[3]), 0, "1024", 1, 65536, 0, 0, NULL, -1,
     "largest intermediate the search considers"},
    {"search.intermediate.step", KT_INT, OFF(search.step[3]), 0, "128", 1, 65536, 0, 0, NULL, -1,
     "grid step of intermediate (values min, min+step, ... <= max)"},
    {"search.min_head_dim", KT_INT, OFF(search.min_head_dim), 0, "8", 1, 4096, 0, 0, NULL, -1,
     "candidates need hidden / heads >= this (and hidden divisible by heads)"},
    {"search.per_layer", KT_BOOL, OFF(search.per_layer), 0, "false", NB, NB, 0, 0, NULL, -1,
     "each layer chooses its heads (<= search.heads, head size hidden / heads) and FFN width "
     "on their grids; false = every layer alike"},
    {"search.episodes", KT_INT, OFF(search.episodes), 0, "5", 1, 100000, 0, 0, NULL, -1,
     "search episodes (each proposes, screens and evaluates candidates)"},
    {"search.population", KT_INT, OFF(search.population), 0, "8", 1, 100000, 0, 0, NULL, -1,
     "parents are drawn from this many best evaluated candidates"},
    {"search.proposals", KT_INT, OFF(search.proposals), 0, "16", 1, 100000, 0, 0, NULL, -1,
     "candidates proposed per episode (mutations, crossovers and random ones)"},
    {"search.random", KT_INT, OFF(search.random), 0, "2", 0, 100000, 0, 0, NULL, -1,
     "of the proposals, how many are drawn uniformly at random (all while nothing is "
     "evaluated)"},
    {"search.top_k", KT_INT, OFF(search.top_k), 0, "2", 1, 100000, 0, 0, NULL, -1,
     "proposals per episode that are distilled on the proxy set and scored on dev"},
    {"search.mutate_steps", KT_INT, OFF(search.mutate_steps), 0, "2", 1, 4096, 0, 0, NULL, -1,
     "a mutation moves one dimension by 1..this many grid steps"},
    {"search.proxy_examples", KT_I64, OFF(search.proxy_examples), 0, "2000", 0, NB, 0, 0, NULL,
     -1, "training examples of each proxy distillation (data.max_train_examples; 0 = all)"},
    {"search.latency.batch", KT_INT, OFF(search.latency_batch), 0, "1", 1, 65536, 0, 0, NULL, -1,
     "batch size B of the latency measurement"},
    {"search.latency.seq", KT_INT, OFF(search.latency_seq), 0, "128", 1, 4096, 0, 0, NULL, -1,
     "sequence length T of the latency measurement"},
    {"search.latency.reps", KT_INT, OFF(search.latency_reps), 0, "10", 1, 100000, 0, 0, NULL, -1,
     "timed forwards; the latency is their median"},
    {"search.latency.warmup", KT_INT, OFF(search.latency_warmup), 0, "2", 0, 100000, 0, 0, NULL,
     -1, "untimed forwards before the timed ones"},
    {"search.latency.backend", KT_ENUM, OFF(search.latency_backend),
     SZ(search.latency_backend), "train", NB, NB, 0, 0, "train|cpu|cuda", -1,
     "backend whose forward latency is measured: train = train.backend; cuda needs a GPU"},
    {"search.target_ms", KT_F32, OFF(search.target_ms), 0, "10", 0, NB, 1, 0, NULL, -1,
     "latency target in ms: reward = score x (latency / target)^w above it, score below"},
    {"search.w", KT_F32, OFF(search.w), 0, "-0.07", -10, 0, 0, 0, NULL, -1,
     "reward exponent applied above the latency target (MnasNet: -0.07)"},
    {"search.mode", KT_ENUM, OFF(search.mode), SZ(search.mode), "kd", NB, NB, 0, 0, "kd|ctcd", -1,
     "kd: teacher frozen, candidate trained alone with KD from it; ctcd: teacher and candidate "
     "co-trained with distill.mutual.*"},
    {"search.kd_weight", KT_F32, OFF(search.kd_weight), 0, "1", 0, NB, 0, 0, NULL, -1,
     "kd mode: weight of the candidate's T^2 KL to the teacher (distill.teacher.small)"},
    {"search.seed", KT_U64, OFF(search.seed), 0, "1", NB, NB, 0, 0, NULL, -1,
     "seed of the proposals (sampling, mutation, crossover)"},
    {"search.final.seeds", KT_INT, OFF(search.final_seeds), 0, "0", 0, 1000, 0, 0, NULL, -1,
     "final stage: the winner and the hand-made student distilled on the full training set "
     "at seeds train.seed, train.seed+1, ... (final.jsonl, final.md: mean +- std); 0 = off"},
    {"search.final.handmade", KT_STR, OFF(search.final_handmade), SZ(search.final_handmade),
     "\"\"", NB, NB, 0, 0, NULL, -1,
     "hand-made students, comma-separated L2-H128-A2-I512; the final stage compares the "
     "one of measured latency nearest the winner's; empty = models.small"},
    {"schedule.sparsities", KT_STR, OFF(schedule.sparsities), SZ(schedule.sparsities),
     "0.05,0.1,0.15,0.2,0.25,0.3,0.35,0.4,0.45,0.5,0.55,0.6,0.65,0.7,0.75,0.8,0.85,0.9,0.95",
     NB, NB, 0, 0, NULL, -1,
     "candidate teacher-assistant sparsities, comma-separated in [0, 1) (share of the large "
     "model's heads and FFN neurons removed)"},
    {"schedule.lambda", KT_F32, OFF(schedule.lambda), 0, "0.2", 0, NB, 0, 0, NULL, -1,
     "lambda of the tradeoff score = dev metric + lambda x sparsity; the best TA is chosen"},
    {"schedule.sandwich.min_sparsity", KT_F32, OFF(schedule.sandwich_min), 0, "0.5", 0, 1, 0, 0,
     NULL, -1, "the elastic TA is trained at the candidate sparsities >= this; sparser ones "
     "are the pruned large model as is"},
    {"schedule.sandwich.steps", KT_I64, OFF(schedule.sandwich_steps), 0, "200", 0, NB, 0, 0,
     NULL, -1, "optimizer steps of the sandwich training (0 = none)"},
    {"schedule.sandwich.k", KT_INT, OFF(schedule.sandwich_k), 0, "2", 0, 64, 0, 0, NULL, -1,
     "sparsities sampled at random per step besides the smallest and the largest"},
    {"schedule.sandwich.lr", KT_F32, OFF(schedule.lr), 0, "0", 0, NB, 0, 0, NULL, -1,
     "learning rate of the sandwich training; 0 = train.lr.large"},
    {"schedule.logit_weight", KT_F32, OFF(schedule.logit_w), 0, "1", 0, NB, 0, 0, NULL, -1,
     "TA loss: weight of T^2 KL(p_large || p_TA) on the logits (soft cross-entropy)"},
    {"schedule.hidden_mse", KT_F32, OFF(schedule.hidden_w), 0, "1", 0, NB, 0, 0, NULL, -1,
     "TA loss: weight of the MSE between the final hidden states of the large model and the TA"},
    {"schedule.importance_batches", KT_I64, OFF(schedule.importance_batches), 0, "32", 0, NB, 0,
     0, NULL, -1, "train batches for the head / FFN-neuron importance ranking (0 = all)"},
    {"schedule.mode", KT_ENUM, OFF(schedule.mode), SZ(schedule.mode), "kd", NB, NB, 0, 0,
     "kd|ctcd", -1,
     "kd: the student learns from the chosen TA frozen as models.teacher; ctcd: the student is "
     "co-trained with the TA as models.large"},
    {"schedule.seed", KT_U64, OFF(schedule.seed), 0, "1", NB, NB, 0, 0, NULL, -1,
     "seed of the sandwich sampling"},
    {"rationale.source", KT_ENUM, OFF(rationale.source), SZ(rationale.source), "none", NB, NB,
     0, 0, "none|human|llm", -1,
     "tasks esnli and cqa: rationales as a second task (distilling step-by-step): human = "
     "e-SNLI's explanation_1 / CQA's CoS-E abstractive_explanation, llm = the PaLM chain of "
     "thought; none = labels only"},
    {"rationale.labels", KT_ENUM, OFF(rationale.labels), SZ(rationale.labels), "gold", NB, NB,
     0, 0, "gold|llm", -1,
     "training labels: gold = the dataset's; llm = the label the LLM stated in its output "
     "(the paper's distillation setting; needs rationale.source llm; an output without a "
     "parsable label leaves its example unlabelled)"},
    {"rationale.lambda", KT_F32, OFF(rationale.lambda), 0, "0.5", 0, 1, 0, 1, NULL, -1,
     "loss = (1 - lambda) x label loss + lambda x rationale loss (mean token cross-entropy)"},
    {"rationale.mutual_kl", KT_F32, OFF(rationale.mutual_kl), 0, "0", 0, NB, 0, 0, NULL, -1,
     "co-trained pair: weight of the token-level mutual KL between the two decoders' "
     "distributions (inside the rationale loss, ramped like the label mutual KL); 0 = off"},
    {"rationale.max_len", KT_INT, OFF(rationale.max_len), 0, "64", 2, 512, 0, 0, NULL, -1,
     "rationale tokens per example the decoder is trained on (end token included; longer "
     "rationales are cut)"},
    {"rationale.dir", KT_PATH, OFF(rationale.dir), SZ(rationale.dir), "\"\"", NB, NB, 0, 0, NULL,
     -1, "e-SNLI directory (esnli_valid.json, esnli_test.json, llm/) or CQA directory "
     "(cqa_train.json, cqa_test.json, llm/); empty = rationales/distilling-step-by-step/<task> "
     "under the data roots"},
    {"rationale.decoder.layers", KT_INT, OFF(rationale.decoder.layers), 0, "2", 1, 12, 0, 0,
     NULL, -1, "rationale decoder blocks (causal self-attention, cross-attention, FFN)"},
    {"rationale.decoder.hidden", KT_INT, OFF(rationale.decoder.hidden), 0, "0", 0, 8192, 0, 0,
     NULL, -1, "decoder hidden size; 0 = the encoder's (required with tied embeddings)"},
    {"rationale.decoder.heads", KT_INT, OFF(rationale.decoder.heads), 0, "0", 0, 128, 0, 0, NULL,
     -1, "decoder attention heads; 0 = the encoder's"},
    {"rationale.decoder.intermediate", KT_INT, OFF(rationale.decoder.intermediate), 0, "0", 0,
     65536, 0, 0, NULL, -1, "decoder feed-forward width; 0 = 4 x decoder hidden"},
    {"rationale.decoder.tie_embeddings", KT_BOOL, OFF(rationale.decoder.tie_embeddings), 0,
     "true", NB, NB, 0, 0, NULL, -1,
     "decoder token embeddings and LM head are the encoder's word embeddings"},
    {"rationale.decoder.shortlist", KT_BOOL, OFF(rationale.decoder.shortlist), 0, "false", NB,
     NB, 0, 0, NULL, -1,
     "LM head over a shortlist: only the token ids that occur in the training rationales (and "
     "the end token), with its own output weight, instead of the whole vocabulary (much "
     "faster for a small decoder: the vocabulary-wide softmax per target token dominates)"},
    {"rationale.decoder.dropout", KT_F32, OFF(rationale.decoder.dropout), 0, "0.1", 0, 1, 0, 1,
     NULL, -1, "decoder hidden and attention dropout"},
};
const int ctcd_recipe_n_keys = (int)(sizeof ctcd_recipe_keys / sizeof ctcd_recipe_keys[0]);

const char *ctcd_key_type_name(key_type t) {
    switch (t) {
    case KT_STR: return "string";
    case KT_PATH: return "path";
    case KT_INT:
    case KT_I64: return "integer";
    case KT_U64: return "unsigned integer";
    case KT_F32: return "number";
    case KT_BOOL: return "boolean";
    case KT_ENUM: return "choice";
    }
    return "?";
}
