// Parameter and FLOP counts of a transformer (dense or MoE) from its shape.
//
// Model card
// - Parameters per layer: attention q,o: h*h each; k,v: h*(kv_heads*h/heads) each
//   (grouped-query attention); MLP: 3*h*ffn (SwiGLU: gate, up, down) or 2*h*ffn (GeLU);
//   MoE layers: (experts + shared_experts) MLPs of width expert_ffn_hidden plus a router
//   h*experts, of which top_k + shared_experts are active per token. Norm weights and
//   biases are ignored (< 0.01% of parameters). Embeddings: vocab*h in, vocab*h out
//   (untied). Checked against published totals in tests/unit/test_models.cpp
//   (Llama 3 405B, GPT-3 175B, Mixtral 8x7B within a few percent; DeepSeek-V3 671.0B
//   total against the report's 671B, 37.5B active against its rounded 37B).
// - Multi-head Latent Attention (ModelSpec::is_mla, DeepSeek-V2 arXiv 2405.04434 sec.
//   2.1): attention parameters per layer are q down h x q_lora + q up q_lora x heads x
//   (qk_nope + qk_rope) (or h x heads x (qk_nope + qk_rope) without q_lora), kv down
//   h x (kv_lora + qk_rope), kv up kv_lora x heads x (qk_nope + v), o heads x v x h
//   (DeepSeek-V3: 187.1M per layer). The attention core works on heads x (qk + v) values
//   per token where GQA has 2h: its forward FLOPs per token per context token and layer
//   are 2 x heads x (qk_nope + qk_rope + v) (DeepSeek-V3: 81,920, 2.86x GQA's 4h).
// - Model FLOPs per token (SCENARIO.md's convention, PaLM appendix B):
//   6 * active non-embedding parameters + 12 * layers * hidden * seq_len, the second term
//   being 3 passes x the attention core's forward 4 * h * s; for MLA that forward is
//   2 * heads * (qk + v) * s (above), so the term is 6 * layers * heads * (qk + v) * s.
// - Hardware FLOPs add what the GPUs really execute: the LM head (6*vocab*h per token)
//   and recomputed forward passes (full: +2*N_active + the attention core's forward
//   4*L*h*s; selective recomputes only the attention core: +4*L*h*s; MLA as above).
#pragma once

#include <vector>

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

// One weight matrix of the attention block (d_in x d_out, whole model) and how tensor
// parallelism splits it: by output columns (Q/K/V, MLA's up projections), by input rows
// (O), or not at all (MLA's down projections are replicated on every TP rank:
// Megatron-Core's MLA builds linear_q_down_proj and linear_kv_down_proj with
// parallel_mode "duplicated"; SGLang and vLLM keep q_a_proj and kv_a_proj_with_mqa
// replicated too).
struct AttentionProjection {
  enum class Split { Column, Row, Replicated };
  double d_in = 0, d_out = 0;
  Split split = Split::Column;
};
// GQA: {h x (h + 2 kv_dim), column}, {h x h, row}. MLA: q down (if q_lora_rank), kv down,
// q up, kv up (column), o (row).
std::vector<AttentionProjection> attention_projections(const ModelSpec& model);
double attention_parameters_per_layer(const ModelSpec& model);

// Values per token and layer the attention core works on, Q and K (heads x qk head dim)
// and V (heads x v head dim): GQA hidden and hidden; MLA heads x (qk_nope + qk_rope) and
// heads x v_head_dim.
double attention_qk_width(const ModelSpec& model);
double attention_v_width(const ModelSpec& model);
// Forward FLOPs of the attention core (QK^T and AV) per query token, per key token and
// layer: 2 x (qk width + v width); GQA 4h.
double attention_core_flops_per_pair(const ModelSpec& model);
// K and V values per token and layer the attention core reads (what ring attention passes
// between context-parallel ranks): GQA 2 x kv_dim; MLA heads x (qk + v), the up-projected
// keys and values.
double attention_kv_width(const ModelSpec& model);
// KV-cache values per token and layer: GQA 2 x kv_heads x head_dim; MLA kv_lora_rank +
// qk_rope_head_dim, the compressed latent and the shared rope key (DeepSeek-V2 sec. 2.1.2).
double kv_cache_values_per_token_layer(const ModelSpec& model);

// SCENARIO.md's model FLOPs per token (no recompute, no LM head).
double model_flops_per_token(const ModelSpec& model, int seq_len);

enum class RecomputeMode { None, Selective, Full };

// FLOPs the accelerators execute per token in training, LM head and recompute included.
double hardware_flops_per_token(const ModelSpec& model, int seq_len, RecomputeMode recompute);

}  // namespace fleetsim
