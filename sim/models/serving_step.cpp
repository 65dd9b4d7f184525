#include "models/serving_step.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "models/gemm.hpp"
#include "models/training_step.hpp"
#include "models/transformer.hpp"

namespace fleetsim {

double bytes_per_value(Precision precision) {
  return precision == Precision::FP4 ? kNvfp4BytesPerValue : precision == Precision::FP8 ? 1.0 : 2.0;
}

double kv_bytes_per_value(Precision precision) { return precision == Precision::BF16 ? 2.0 : 1.0; }

double mla_decode_flops_per_context_token(const ModelSpec& m) {
  const double latent = double(m.kv_lora_rank) + m.qk_rope_head_dim;
  return m.layers * double(m.heads) * 2.0 * (latent + m.kv_lora_rank);
}

Bytes kv_bytes_per_token(const ModelSpec& m, Precision precision) {
  if (m.is_mla()) return Bytes(m.layers * kv_cache_values_per_token_layer(m) * kv_bytes_per_value(precision));
  const double head_dim = double(m.hidden) / m.heads;
  return Bytes(2.0 * m.layers * m.kv_heads * head_dim * kv_bytes_per_value(precision));
}

ServingMemory serving_memory(const ServingSetup& s) {
  const ModelSpec& m = *s.model;
  TrainingSetup placement;  // only the shape of the split matters to parameters_per_accelerator
  placement.model = s.model;
  placement.accelerator = s.accelerator;
  placement.parallelism.tp = s.tp;
  placement.parallelism.pp = s.pp;
  ServingMemory mem;
  const double p = s.weight_bytes_per_param > 0 ? s.weight_bytes_per_param : bytes_per_value(s.precision);
  // Quantized checkpoints quantize the transformer layers' linear weights only: the input
  // embedding (not a linear layer) and the LM head stay BF16 (NVIDIA ModelOpt's default FP8 /
  // NVFP4 configs disable "*lm_head*"; DeepSeek-R1's FP8 release keeps embed_tokens and lm_head
  // in BF16). parameters_per_accelerator counts both tables when pp = 1, one otherwise.
  const double table = double(m.vocab) * m.hidden / s.tp;
  const double tables = s.pp == 1 ? 2.0 : 1.0;
  const double params = parameters_per_accelerator(placement);
  const double table_bytes = std::max(p, 2.0);  // BF16
  mem.weights = Bytes((params - tables * table) * p + tables * table * table_bytes);
  mem.weights_read = s.pp == 1 ? mem.weights - Bytes(table * table_bytes) : mem.weights;
  mem.runtime_reserve = Bytes(kRuntimeReserveBytes);
  mem.co_resident = s.co_resident_weights;
  mem.capacity = s.accelerator->hbm_capacity;
  const double head_dim = double(m.hidden) / m.heads;
  const int heads_per_rank = (m.kv_heads + s.tp - 1) / s.tp;
  const double layers_per_stage = double(m.layers) / s.pp;
  // MLA's latent is shared by all heads, so TP cannot split it: every rank of the group
  // caches the whole kv_lora_rank + qk_rope_head_dim per token (as GQA with one KV head).
  mem.kv_per_token =
      m.is_mla() ? Bytes(layers_per_stage * kv_cache_values_per_token_layer(m) * kv_bytes_per_value(s.precision))
                 : Bytes(2.0 * layers_per_stage * heads_per_rank * head_dim * kv_bytes_per_value(s.precision));
  const Bytes free = mem.capacity - mem.weights - mem.co_resident - mem.runtime_reserve;
  mem.kv_cache = free > Bytes(0) ? free * kKvCacheMemoryFraction : Bytes(0);
  mem.kv_tokens = mem.kv_cache / mem.kv_per_token;
  return mem;
}

ServingStepModel::ServingStepModel(const ServingSetup& setup, const ServingFabric& fabric)
    : setup_(setup), fabric_(fabric), memory_(serving_memory(setup)) {
  const ModelSpec& m = *setup.model;
  const Accelerator& acc = *setup.accelerator;
  const ParameterCount count = count_parameters(m);
  active_params_ = count.non_embedding_active;
  replica_rate_ = acc.peak(setup.precision) * (acc.matmul_efficiency(setup.precision) * setup.tp * setup.pp);
  hbm_rate_ = acc.hbm_bandwidth * kDecodeHbmEfficiency;
  // Prefill attention runs as fused FlashAttention kernels (TensorRT-LLM's context FMHA,
  // vLLM's flash/xformers kernels) at the catalog's FlashAttention efficiency of the BF16
  // peak; an accelerator without that figure runs it at its GEMM rate.
  attention_rate_ = acc.attention_efficiency > 0
                        ? acc.peak(Precision::BF16) * (acc.attention_efficiency * setup.tp * setup.pp)
                        : replica_rate_;
}

Seconds ServingStepModel::communication(double tokens, Seconds* tp_part, Seconds* pp_part) const {
  const ModelSpec& m = *setup_.model;
  const double micro_batch_tokens = tokens / setup_.pp;
  const Bytes activations(micro_batch_tokens * m.hidden * kActivationBytes);
  *tp_part = all_reduce(activations, setup_.tp, fabric_.tp) * (2.0 * m.layers);
  *pp_part = setup_.pp > 1 ? point_to_point(activations / setup_.tp, fabric_.pp) * double(setup_.pp) : Seconds(0);
  return *tp_part + *pp_part;
}

Seconds ServingStepModel::matmul(double tokens, int prompts, bool full_waves_only) const {
  const ModelSpec& m = *setup_.model;
  const Accelerator& acc = *setup_.accelerator;
  const Precision prec = setup_.precision;
  const double tp = setup_.tp;
  // A GEMM at the large-GEMM rate, or through the tile-and-wave model of gemm.hpp. Decode
  // (full_waves_only) uses the tile model only for GEMMs at least 128 rows tall (a tile's short
  // side, so the min-orientation tiling wastes at most half a tile) whose tiles fill at least
  // one wave of SMs: below that cuBLAS picks smaller tiles or splits k (gemm.hpp's known error;
  // billing a whole tile for a batch of 1 made int4 decode 2.75x its weight read). Such a GEMM
  // (2m FLOPs per fp8 weight byte, under 256) is memory-bound on the H100/H200/B200/A100, whose
  // ridges are higher; not on the H20 (fp8 ridge 296 TFLOPS / 4 TB/s = 74), where GEMMs of
  // 38-127 rows are compute-bound and timed here without tile waste: optimistic (known error).
  auto time_at = [&](const GemmShape& g, Precision at) {
    if (full_waves_only) {
      const double tiles = std::min(std::ceil(g.m / kGemmTileM) * std::ceil(g.n / kGemmTileN),
                                    std::ceil(g.m / kGemmTileN) * std::ceil(g.n / kGemmTileM));
      if (acc.streaming_multiprocessors <= 0 || g.m < kGemmTileN || tiles < acc.streaming_multiprocessors)
        return Flops(2.0 * g.m * g.n * g.k) / (acc.peak(at) * acc.matmul_efficiency(at));
    }
    return gemm_time(g, acc, at);
  };
  auto time = [&](const GemmShape& g) { return time_at(g, prec); };
  // The LM head stays BF16 in quantized checkpoints (serving_memory): its GEMM at the BF16 rate.
  auto head_time = [&](double rows) { return time_at({rows, m.vocab / tp, double(m.hidden)}, Precision::BF16); };
  if (m.is_moe()) {
    // Routed experts: the tile shapes depend on the routing; FLOPs at the achievable rate.
    return Flops(2.0 * active_params_ * tokens) / replica_rate_ + head_time(double(prompts));
  }
  // Each rank multiplies all `tokens` rows by its TP shard of every weight (Megatron split:
  // QKV and MLP-in by columns, O and MLP-out by rows), timed by the tile-and-wave model.
  // MLA (transformer.hpp): its down projections replicated on every rank, the up
  // projections split by columns, O by rows.
  const double h = m.hidden;
  const double mlp_in = m.mlp == MlpKind::SwiGLU ? 2.0 : 1.0;  // gate and up fused
  Seconds attention(0);
  for (const AttentionProjection& w : attention_projections(m)) {
    using Split = AttentionProjection::Split;
    attention = attention + (w.split == Split::Column ? time({tokens, w.d_out / tp, w.d_in})
                             : w.split == Split::Row  ? time({tokens, w.d_out, w.d_in / tp})
                                                      : time({tokens, w.d_out, w.d_in}));
  }
  const Seconds layer = attention + time({tokens, mlp_in * m.ffn_hidden / tp, h}) + time({tokens, h, m.ffn_hidden / tp});
  // The slowest pipeline stage: its layers, and the LM head on the last token of each prompt.
  return layer * (double(m.layers) / setup_.pp) + head_time(double(prompts));
}

Seconds ServingStepModel::prefill(double tokens, double squared_tokens, int prompts) const {
  if (tokens <= 0) return Seconds(0);
  const ModelSpec& m = *setup_.model;
  // Causal: a prompt of s tokens meets s^2 / 2 (query, key) pairs per layer. MLA prefill runs
  // the up-projected heads (qk 192, v 128 for DeepSeek-V3), not the absorbed latent form.
  const Flops attention(m.is_mla() ? 0.5 * m.layers * attention_core_flops_per_pair(m) * squared_tokens
                                   : 2.0 * m.layers * double(m.hidden) * squared_tokens);
  const Seconds compute = (matmul(tokens, prompts, false) + attention / attention_rate_) / setup_.compute_speed;
  const Seconds weights_read = memory_.weights_read * double(setup_.pp) / hbm_rate_;
  Seconds tp_comm, pp_comm;
  return max(compute, weights_read) + communication(tokens, &tp_comm, &pp_comm);
}

DecodeBreakdown ServingStepModel::decode_breakdown(int batch, double context_tokens) const {
  const ModelSpec& m = *setup_.model;
  DecodeBreakdown out;
  if (batch <= 0) return out;
  // The step's kernels run one after another on the GPU, so each is timed by its own roofline
  // and the times add (Yuan et al., 'LLM Inference Unveiled: Survey and Roofline Model
  // Insights', arXiv 2402.16363, sec. 2: per-layer max(compute, memory access), summed):
  // the weight GEMMs read the weights while they compute; attention reads the KV cache.
  const Seconds weights_read = memory_.weights_read * double(setup_.pp) / hbm_rate_;
  const Seconds kv_read = memory_.kv_per_token * context_tokens / hbm_rate_;
  const BatchTerms& terms = batch_terms(batch);
  const Seconds gemm_compute = terms.gemm_compute / setup_.compute_speed;
  const Seconds attention_compute =
      m.is_mla() ? Flops(mla_decode_flops_per_context_token(m) * context_tokens) / attention_rate_ / setup_.compute_speed
                 : Flops(4.0 * m.layers * double(m.hidden) * context_tokens) / replica_rate_ / setup_.compute_speed;
  out.hbm = weights_read + kv_read;
  out.compute = gemm_compute + attention_compute;
  out.gemm = max(weights_read, gemm_compute);
  out.attention = max(kv_read, attention_compute);
  out.tp_comm = terms.tp_comm;
  out.pp_comm = terms.pp_comm;
  // The engine's host time per step, on top of the GPU's (serving_engine.hpp).
  out.host = decode_host_overhead(setup_.engine, m.layers, setup_.tp);
  out.total = out.gemm + out.attention + out.tp_comm + out.pp_comm + out.host;
  return out;
}

const ServingStepModel::BatchTerms& ServingStepModel::batch_terms(int batch) const {
  constexpr int kCachedBatches = 1 << 16;  // max_batch is far below; larger ones are not kept
  static thread_local BatchTerms scratch;
  BatchTerms* t = &scratch;
  if (batch < kCachedBatches) {
    if (std::size_t(batch) >= batch_terms_.size()) batch_terms_.resize(std::size_t(batch) + 1);
    t = &batch_terms_[std::size_t(batch)];
    if (t->gemm_compute.value() >= 0) return *t;
  }
  // The GEMMs of one iteration on the slowest stage: pp micro-batches of batch / pp rows, each
  // through its layers and the LM head; with pp = 1, one GEMM of `batch` rows per weight.
  const double micro = double(batch) / setup_.pp;
  t->gemm_compute = matmul(micro, int(std::ceil(micro)), true) * double(setup_.pp);
  communication(double(batch), &t->tp_comm, &t->pp_comm);
  return *t;
}

Seconds ServingStepModel::decode(int batch, double context_tokens) const {
  return decode_breakdown(batch, context_tokens).total;
}

}  // namespace fleetsim
