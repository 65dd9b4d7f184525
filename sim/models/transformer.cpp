#include "models/transformer.hpp"

namespace fleetsim {

std::vector<AttentionProjection> attention_projections(const ModelSpec& m) {
  using Split = AttentionProjection::Split;
  const double h = m.hidden;
  if (!m.is_mla()) {
    const double kv_dim = m.heads > 0 ? h * m.kv_heads / m.heads : h;
    return {{h, h + 2.0 * kv_dim, Split::Column}, {h, h, Split::Row}};
  }
  const double heads = m.heads;
  const double qk = double(m.qk_nope_head_dim) + m.qk_rope_head_dim;
  std::vector<AttentionProjection> out;
  if (m.q_lora_rank > 0) {
    out.push_back({h, double(m.q_lora_rank), Split::Replicated});      // q down
    out.push_back({double(m.q_lora_rank), heads * qk, Split::Column});  // q up
  } else {
    out.push_back({h, heads * qk, Split::Column});  // q
  }
  out.push_back({h, double(m.kv_lora_rank) + m.qk_rope_head_dim, Split::Replicated});                  // kv down
  out.push_back({double(m.kv_lora_rank), heads * (double(m.qk_nope_head_dim) + m.v_head_dim), Split::Column});  // kv up
  out.push_back({heads * m.v_head_dim, h, Split::Row});                                                 // o
  return out;
}

double attention_parameters_per_layer(const ModelSpec& m) {
  if (!m.is_mla()) {
    const double h = m.hidden;
    const double kv_dim = m.heads > 0 ? h * m.kv_heads / m.heads : h;
    return 2 * h * h + 2 * h * kv_dim;
  }
  double params = 0;
  for (const AttentionProjection& w : attention_projections(m)) params += w.d_in * w.d_out;
  return params;
}

double attention_qk_width(const ModelSpec& m) {
  return m.is_mla() ? double(m.heads) * (double(m.qk_nope_head_dim) + m.qk_rope_head_dim) : double(m.hidden);
}

double attention_v_width(const ModelSpec& m) {
  return m.is_mla() ? double(m.heads) * m.v_head_dim : double(m.hidden);
}

double attention_core_flops_per_pair(const ModelSpec& m) {
  return m.is_mla() ? 2.0 * (attention_qk_width(m) + attention_v_width(m)) : 4.0 * m.hidden;
}

double attention_kv_width(const ModelSpec& m) {
  if (m.is_mla()) return attention_qk_width(m) + attention_v_width(m);
  return 2.0 * (m.heads > 0 ? double(m.hidden) * m.kv_heads / m.heads : m.hidden);
}

double kv_cache_values_per_token_layer(const ModelSpec& m) {
  if (m.is_mla()) return double(m.kv_lora_rank) + m.qk_rope_head_dim;
  const double head_dim = double(m.hidden) / m.heads;
  return 2.0 * m.kv_heads * head_dim;
}

ParameterCount count_parameters(const ModelSpec& m) {
  ParameterCount p;
  const double h = m.hidden;
  const double mlp_matrices = m.mlp == MlpKind::SwiGLU ? 3.0 : 2.0;
  p.attention_per_layer = attention_parameters_per_layer(m);
  p.dense_mlp_per_layer = mlp_matrices * h * m.ffn_hidden;
  int moe_layers = 0;
  if (m.is_moe()) {
    const double expert = mlp_matrices * h * m.expert_ffn_hidden;
    const double router = h * m.experts;
    p.moe_mlp_per_layer_total = (m.experts + m.shared_experts) * expert + router;
    p.moe_mlp_per_layer_active = (m.top_k + m.shared_experts) * expert + router;
    moe_layers = m.layers - m.dense_layers;
  }
  const int dense_layers = m.layers - moe_layers;
  p.embedding = 2.0 * m.vocab * h;
  p.non_embedding_total = m.layers * p.attention_per_layer + dense_layers * p.dense_mlp_per_layer +
                          moe_layers * p.moe_mlp_per_layer_total;
  p.non_embedding_active = m.layers * p.attention_per_layer + dense_layers * p.dense_mlp_per_layer +
                           moe_layers * p.moe_mlp_per_layer_active;
  return p;
}

double model_flops_per_token(const ModelSpec& model, int seq_len) {
  const ParameterCount p = count_parameters(model);
  if (model.is_mla())
    return 6.0 * p.non_embedding_active + 3.0 * model.layers * attention_core_flops_per_pair(model) * seq_len;
  return 6.0 * p.non_embedding_active + 12.0 * model.layers * double(model.hidden) * seq_len;
}

double hardware_flops_per_token(const ModelSpec& model, int seq_len, RecomputeMode recompute) {
  const ParameterCount p = count_parameters(model);
  const double attention_forward = model.is_mla() ? model.layers * attention_core_flops_per_pair(model) * seq_len
                                                  : 4.0 * model.layers * double(model.hidden) * seq_len;
  const double lm_head = 6.0 * double(model.vocab) * model.hidden;
  double flops = model_flops_per_token(model, seq_len) + lm_head;
  if (recompute == RecomputeMode::Full) flops += 2.0 * p.non_embedding_active + attention_forward;
  if (recompute == RecomputeMode::Selective) {
    flops += attention_forward;
    // MLA under selective recompute also runs its up projections' forward again (DeepSeek-V3
    // recomputes them, arXiv 2412.19437 sec. 3.2.3; training_step.cpp times the same GEMMs).
    if (model.is_mla())
      for (const AttentionProjection& w : attention_projections(model))
        if (w.split == AttentionProjection::Split::Column) flops += 2.0 * model.layers * w.d_in * w.d_out;
  }
  return flops;
}

}  // namespace fleetsim
