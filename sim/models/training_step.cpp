#include "models/training_step.hpp"

#include <algorithm>
#include <cassert>
#include <cstdio>

namespace fleetsim {
namespace {

constexpr double kBf16Bytes = 2.0;
constexpr double kFp32Bytes = 4.0;

// The level a group of `ranks` ranks with rank stride `stride` communicates over.
LinkLevel group_level(int ranks, int stride, const FabricView& fabric) {
  const long span = long(ranks) * stride;
  if (span <= fabric.scale_up_domain) return fabric.scale_up;
  if (span <= fabric.accelerators_in_pod) return fabric.scale_out;
  return fabric.inter_pod;
}

// Activation bytes one layer stores per token (16-bit), before dividing by tp.
// Korthikanti et al. 2022 (arXiv 2205.05198) count 34*h per token for GPT
// (attention 11h, MLP 19h, norms 4h) plus 5*a*s for the attention matrix; flash
// attention (Dao et al. 2022) keeps no s x s matrix, so that term is dropped. Generalised
// here to grouped-query attention (K and V are kv_dim wide) and to gated MLPs:
// attention 7h + 4*kv_dim; MLP 3h + 4F (GeLU) or 3h + 6F (SwiGLU); norms 4h.
double activation_bytes_per_token_layer(const ModelSpec& m, bool moe_layer) {
  const double h = m.hidden;
  const double kv_dim = m.heads > 0 ? h * m.kv_heads / m.heads : h;
  const double ffn_terms = m.mlp == MlpKind::SwiGLU ? 6.0 : 4.0;
  const double mlp = moe_layer ? 3 * h + ffn_terms * m.expert_ffn_hidden * (m.top_k + m.shared_experts)
                               : 3 * h + ffn_terms * m.ffn_hidden;
  return 4 * h + (7 * h + 4 * kv_dim) + mlp;
}

}  // namespace

double parameters_per_accelerator(const TrainingSetup& s) {
  const ModelSpec& m = *s.model;
  const Parallelism& p = s.parallelism;
  const ParameterCount count = count_parameters(m);
  const int moe_layers = m.is_moe() ? m.layers - m.dense_layers : 0;
  const double dense_part = count.non_embedding_total - moe_layers * count.moe_mlp_per_layer_total;
  const double expert_part = moe_layers * count.moe_mlp_per_layer_total;
  // Embedding on the first stage, LM head on the last; both on the only stage if pp == 1.
  const double embedding_stages = p.pp == 1 ? 2.0 : 1.0;
  return dense_part / (p.tp * p.pp) + expert_part / (double(p.tp) * p.pp * p.ep) +
         embedding_stages * double(m.vocab) * m.hidden / p.tp;
}

std::string MemoryBreakdown::largest_term() const {
  const std::pair<const char*, Bytes> terms[] = {{"weights", weights},
                                                 {"gradients", gradients},
                                                 {"optimizer state", optimizer_state},
                                                 {"activations", activations},
                                                 {"logits", logits},
                                                 {"runtime reserve", runtime_reserve}};
  const auto* largest = std::max_element(std::begin(terms), std::end(terms),
                                         [](const auto& a, const auto& b) { return a.second < b.second; });
  char text[96];
  std::snprintf(text, sizeof text, "%s (%.1f GB)", largest->first, largest->second.value() / 1e9);
  return text;
}

MemoryBreakdown training_memory(const TrainingSetup& s) {
  const ModelSpec& m = *s.model;
  const Parallelism& p = s.parallelism;
  MemoryBreakdown mem;
  const double params = parameters_per_accelerator(s);
  // Megatron-LM distributed optimizer with bf16 parameters and fp32 gradients:
  // 6 + 12/dp bytes per parameter (Megatron-LM docs, "Distributed Optimizer").
  mem.weights = Bytes(params * kBf16Bytes);
  mem.gradients = Bytes(params * kFp32Bytes);
  mem.optimizer_state = Bytes(params * 12.0 / p.dp);

  const double tokens_per_micro_batch = double(s.micro_batch) * s.seq_len / p.cp;
  const int micro_batches = std::max(1, s.global_batch / std::max(1, p.dp * s.micro_batch));
  const int in_flight = std::min(p.pp, micro_batches);  // 1F1B: the first stage holds pp
  const int moe_layers = m.is_moe() ? m.layers - m.dense_layers : 0;
  const double layers_per_stage = double(m.layers) / p.pp;
  double bytes_per_token_stage;
  if (s.recompute == RecomputeMode::Full) {
    bytes_per_token_stage = layers_per_stage * kBf16Bytes * m.hidden;  // each layer's input only
  } else {
    // Selective recompute only drops the attention matrix, which flash attention never stores.
    const double moe_share = m.layers > 0 ? double(moe_layers) / m.layers : 0.0;
    bytes_per_token_stage = layers_per_stage * ((1 - moe_share) * activation_bytes_per_token_layer(m, false) +
                                                moe_share * activation_bytes_per_token_layer(m, true));
  }
  // Sequence parallelism splits every stored activation across the TP group.
  mem.activations = Bytes(in_flight * tokens_per_micro_batch * bytes_per_token_stage / p.tp);
  // fp32 logits of one micro-batch for the loss, split over the vocabulary by TP.
  mem.logits = Bytes(tokens_per_micro_batch * m.vocab * kFp32Bytes / p.tp);
  mem.runtime_reserve = Bytes(kRuntimeReserveBytes);
  mem.capacity = s.accelerator->hbm_capacity;
  return mem;
}

StepBreakdown training_step(const TrainingSetup& s, const FabricView& fabric) {
  const ModelSpec& m = *s.model;
  const Parallelism& p = s.parallelism;
  const Accelerator& acc = *s.accelerator;
  const int gpus = p.product();
  StepBreakdown out;

  out.micro_batches = std::max(1, s.global_batch / std::max(1, p.dp * s.micro_batch));
  const double m_batches = out.micro_batches;
  out.tokens_per_step = double(s.global_batch) * s.seq_len;
  out.model_flops_per_step = model_flops_per_token(m, s.seq_len) * out.tokens_per_step;
  out.hardware_flops_per_step = hardware_flops_per_token(m, s.seq_len, s.recompute) * out.tokens_per_step;

  const FlopRate achievable = acc.peak(s.precision) * acc.matmul_efficiency(s.precision);
  out.compute = Flops(out.hardware_flops_per_step / gpus) / achievable;
  const Seconds per_micro_batch = out.compute / m_batches;
  out.bubble = per_micro_batch * double(p.pp - 1);

  const double layers_per_stage = double(m.layers) / p.pp;
  const double tokens_per_micro_batch = double(s.micro_batch) * s.seq_len / p.cp;
  const Bytes layer_activations(tokens_per_micro_batch * m.hidden * kBf16Bytes);

  // Tensor parallelism (sequence-parallel all-gather + reduce-scatter = one all-reduce).
  const LinkLevel tp_level = group_level(p.tp, 1, fabric);
  const double tp_pairs = s.recompute == RecomputeMode::Full ? 6.0 : 4.0;
  out.tp_comm = ring_all_reduce(layer_activations, p.tp, tp_level) * (tp_pairs * layers_per_stage * m_batches);

  // Context parallelism: ring exchange of K and V, hidden behind the attention core.
  const LinkLevel cp_level = group_level(p.cp, p.tp, fabric);
  const double kv_dim = m.heads > 0 ? double(m.hidden) * m.kv_heads / m.heads : m.hidden;
  const Bytes kv_block(2.0 * tokens_per_micro_batch * kv_dim * kBf16Bytes / p.tp);
  out.cp_comm = p.cp > 1 ? point_to_point(kv_block, cp_level) * (3.0 * (p.cp - 1) * layers_per_stage * m_batches)
                         : Seconds(0);
  const double attention_share = 12.0 * m.layers * double(m.hidden) * s.seq_len /
                                 hardware_flops_per_token(m, s.seq_len, s.recompute);
  const Seconds cp_exposed = max(Seconds(0), out.cp_comm - out.compute * attention_share);

  // Pipeline parallelism: activation and gradient sends on the critical path.
  const LinkLevel pp_level = group_level(p.pp, p.tp * p.cp * p.dp, fabric);
  out.pp_comm = p.pp > 1 ? point_to_point(layer_activations / p.tp, pp_level) * (2.0 * (m_batches + p.pp - 1))
                         : Seconds(0);

  // Expert parallelism: dispatch and combine all-to-alls in every MoE layer.
  if (m.is_moe() && p.ep > 1) {
    const LinkLevel ep_level = group_level(p.ep, p.tp * p.cp, fabric);
    const double moe_layers_per_stage = double(m.layers - m.dense_layers) / p.pp;
    const Bytes routed(layer_activations.value() * m.top_k / p.tp);
    out.ep_comm = all_to_all(routed, p.ep, ep_level) * (4.0 * moe_layers_per_stage * m_batches);
  }

  // Data parallelism with the distributed optimizer, overlapped with one micro-batch.
  const LinkLevel dp_level = group_level(p.dp, p.tp * p.cp, fabric);
  const double params = parameters_per_accelerator(s);
  out.dp_comm = ring_all_reduce(Bytes(params * kBf16Bytes), p.dp, dp_level);
  const Seconds dp_exposed = max(Seconds(0), out.dp_comm - per_micro_batch);

  // Adam on the local shard: 30 bytes of HBM traffic per parameter.
  out.optimizer = Bytes(params / p.dp * 30.0) / acc.hbm_bandwidth;

  out.total_comm = out.tp_comm + out.cp_comm + out.pp_comm + out.ep_comm + out.dp_comm;
  out.exposed_comm = out.tp_comm + cp_exposed + out.pp_comm + out.ep_comm + dp_exposed;
  assert(out.exposed_comm <= out.total_comm && "exposed communication cannot exceed the total");
  out.step_time = out.compute + out.bubble + out.exposed_comm + out.optimizer;
  return out;
}

}  // namespace fleetsim
