// Parameter and FLOP counts of a transformer (dense or MoE) from its shape.
//
// Model card
// - Parameters per layer: attention q,o: h*h each; k,v: h*(kv_heads*h/heads) each
//   (grouped-query attention); MLP: 3*h*ffn (SwiGLU: gate, up, down) or 2*h*ffn (GeLU);
//   MoE layers: (experts + shared_experts) MLPs of width expert_ffn_hidden plus a router
//   h*experts, of which top_k + shared_experts are active per token. Norm weights and
//   biases are ignored (< 0.01% of parameters). Embeddings: vocab*h in, vocab*h out
//   (untied). Checked against published totals in tests/unit/test_models.cpp
//   (Llama 3 405B, GPT-3 175B, Mixtral 8x7B, DeepSeek-V3 within a few percent; the
//   DeepSeek-V3 gap is its MLA attention, modelled here as GQA-equivalent).
// - Model FLOPs per token (SCENARIO.md's convention, PaLM appendix B):
//   6 * active non-embedding parameters + 12 * layers * hidden * seq_len.
// - Hardware FLOPs add what the GPUs really execute: the LM head (6*vocab*h per token)
//   and recomputed forward passes (full: +2*N_active + 4*L*h*s; selective recomputes
//   only the attention core: +4*L*h*s).
#pragma once

#include "catalog/catalog.hpp"

namespace fleetsim {

struct ParameterCount {
  double attention_per_layer = 0;
  double dense_mlp_per_layer = 0;
  double moe_mlp_per_layer_total = 0;   // all experts + shared + router
  double moe_mlp_per_layer_active = 0;  // top_k + shared + router
  double embedding = 0;                 // input + output (untied)
  double non_embedding_total = 0;
  double non_embedding_active = 0;
  double total() const { return non_embedding_total + embedding; }
};

ParameterCount count_parameters(const ModelSpec& model);

// SCENARIO.md's model FLOPs per token (no recompute, no LM head).
double model_flops_per_token(const ModelSpec& model, int seq_len);

enum class RecomputeMode { None, Selective, Full };

// FLOPs the accelerators execute per token in training, LM head and recompute included.
double hardware_flops_per_token(const ModelSpec& model, int seq_len, RecomputeMode recompute);

}  // namespace fleetsim
