#include "models/transformer.hpp"

namespace fleetsim {

ParameterCount count_parameters(const ModelSpec& m) {
  ParameterCount p;
  const double h = m.hidden;
  const double kv_dim = m.heads > 0 ? h * m.kv_heads / m.heads : h;
  const double mlp_matrices = m.mlp == MlpKind::SwiGLU ? 3.0 : 2.0;
  p.attention_per_layer = 2 * h * h + 2 * h * kv_dim;
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
  return 6.0 * p.non_embedding_active + 12.0 * model.layers * double(model.hidden) * seq_len;
}

double hardware_flops_per_token(const ModelSpec& model, int seq_len, RecomputeMode recompute) {
  const ParameterCount p = count_parameters(model);
  const double attention_forward = 4.0 * model.layers * double(model.hidden) * seq_len;
  const double lm_head = 6.0 * double(model.vocab) * model.hidden;
  double flops = model_flops_per_token(model, seq_len) + lm_head;
  if (recompute == RecomputeMode::Full) flops += 2.0 * p.non_embedding_active + attention_forward;
  if (recompute == RecomputeMode::Selective) flops += attention_forward;
  return flops;
}

}  // namespace fleetsim
