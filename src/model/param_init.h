/* param_init.h — BERT initialisation of a parameter set (include/ctcd/param_set.h), the one
 * rule the encoder and the rationale decoder share: Hugging Face's
 * BertPreTrainedModel._init_weights read off the tensor table. */
#ifndef CTCD_PARAM_INIT_H
#define CTCD_PARAM_INIT_H

#include "ctcd/param_set.h"

/* Weight-decayed tensors (Linear and Embedding weights) ~ N(0, sd), drawn in buffer order
 * from stream `stream` of seed; LayerNorm weights 1; biases and LayerNorm biases 0; then the
 * `width` elements at pad_row (the pad token's embedding row, as nn.Embedding(padding_idx)
 * keeps it; -1: none) 0. Uploads the result (padding zero) and re-casts the compute copy. */
ctcd_status ctcd_params_init_bert(ctcd_param_set *ps, uint64_t seed, uint64_t stream, float sd,
                                  int64_t pad_row, int64_t width);

#endif
