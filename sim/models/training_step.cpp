#include "models/training_step.hpp"

#include "models/gemm.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>

namespace fleetsim {
namespace {

constexpr double kBf16Bytes = 2.0;
constexpr double kFp32Bytes = 4.0;

// The level a group of `ranks` ranks with rank stride `stride` communicates over.
enum class Traffic { Ring, AllToAll };

LinkLevel group_level(int ranks, int stride, const FabricView& fabric, Traffic traffic = Traffic::Ring) {
  const long span = long(ranks) * stride;
  if (span <= fabric.scale_up_domain) {
    LinkLevel level = fabric.scale_up;
    if (fabric.scale_up_torus_dims > 0 && span > 1) {
      const int d = fabric.scale_up_torus_dims;
      const double side = std::pow(double(fabric.scale_up_domain), 1.0 / d);
      const int k = side > 1 ? std::clamp(int(std::ceil(std::log(double(span)) / std::log(side) - 1e-9)), 1, d) : d;
      level.bandwidth = level.bandwidth * (double(k) / d);
    }
    return level;
  }
  const bool leaves_pod = span > fabric.accelerators_in_pod;
  LinkLevel level = leaves_pod ? fabric.inter_pod : fabric.scale_out;
  // NCCL's nRanks/nNodes: the group's ranks in one scale-up domain (models/collectives.hpp).
  level.ranks_per_domain = int(std::clamp<long>(fabric.scale_up_domain / std::max(1, stride), 1, ranks));
  // In a ring only the hop that leaves a node uses a NIC, and NCCL runs one channel per
  // NIC: the k members of a group on one node pool its NICs (k = node size / stride), up
  // to what the scale-up link feeds them. E.g. DP with TP 1 on a DGX: 8 x 50 GB/s per
  // rank, capped at NVLink's 450 GB/s. In an all-to-all (or a pipeline send) every rank
  // sends off the node at once, so each has its own NIC share.
  if (traffic == Traffic::AllToAll) return level;
  const long per_node = std::clamp<long>(fabric.accelerators_per_node / std::max(1, stride), 1, ranks);
  if (leaves_pod) {
    // Likewise only the hop that leaves a pod uses its uplink: the group's k members in
    // one pod (k = the job's accelerators there / stride) pool their uplink shares, up to
    // what their NICs carry.
    const long per_pod = std::clamp<long>(fabric.accelerators_in_pod / std::max(1, stride), 1, ranks);
    const double uplink = level.bandwidth.value() * double(per_pod);
    const double nics = fabric.scale_out.bandwidth.value() * double(per_node);
    level.bandwidth = ByteRate(std::min(uplink, nics));
  } else {
    level.bandwidth = level.bandwidth * double(per_node);
  }
  if (level.bandwidth.value() * level.efficiency > fabric.scale_up.bandwidth.value() * fabric.scale_up.efficiency) {
    level.bandwidth = fabric.scale_up.bandwidth;
    level.efficiency = fabric.scale_up.efficiency;
  }
  return level;
}

// Activation bytes one layer stores per token (16-bit), before dividing by tp.
// Korthikanti et al. 2022 (arXiv 2205.05198) count 34*h per token for GPT
// (attention 11h, MLP 19h, norms 4h) plus 5*a*s for the attention matrix; flash
// attention (Dao et al. 2022) keeps no s x s matrix, so that term is dropped. Generalised
// here to grouped-query attention (K and V are kv_dim wide) and to gated MLPs:
// attention 7h + 4*kv_dim; MLP 3h + 4F (GeLU) or 3h + 6F (SwiGLU); norms 4h. Of these,
// 2h are the 1-byte masks of the two hidden dropouts (one in each block), which a model
// trained without dropout does not store.
// Multi-head Latent Attention stores, in the same way (16-bit, each GEMM's input and the
// flash-attention kernel's Q, K, V and output): the block input 2h, the q latent before
// and after its norm 4 q_lora, the kv latent with the rope key before its norm
// 2 (kv_lora + qk_rope) and after it 2 kv_lora, Q and K 4 heads x qk, V and the output
// 4 heads x v, and the dropout mask h: for DeepSeek-V3 27.0h where GQA-equivalent
// counting gave 11h. Under selective recompute an MLA model also recomputes the latent
// norms and the up projections in the backward pass instead of storing their outputs, as
// DeepSeek-V3 trains ("Recomputation of RMSNorm and MLA Up-Projection", report arXiv
// 2412.19437 sec. 3.2.3; Megatron-Core's recompute modules layernorm and mla_up_proj): it
// keeps the latents before their norms, 2 q_lora + 2 (kv_lora + qk_rope), and the core's
// output 2 heads x v: for DeepSeek-V3 8.2h.
double attention_activation_bytes_per_token(const ModelSpec& m, bool recompute_up_projections) {
  const double h = m.hidden;
  if (!m.is_mla()) {
    const double kv_dim = m.heads > 0 ? h * m.kv_heads / m.heads : h;
    return 7 * h + 4 * kv_dim;
  }
  const double kv_latent = 2.0 * (double(m.kv_lora_rank) + m.qk_rope_head_dim);
  if (recompute_up_projections) return 3 * h + 2.0 * m.q_lora_rank + kv_latent + 2 * attention_v_width(m);
  return 3 * h + 4.0 * m.q_lora_rank + kv_latent + 2.0 * m.kv_lora_rank + 4 * attention_qk_width(m) +
         4 * attention_v_width(m);
}

double activation_bytes_per_token_layer(const ModelSpec& m, bool moe_layer, bool recompute_up_projections) {
  const double h = m.hidden;
  const double ffn_terms = m.mlp == MlpKind::SwiGLU ? 6.0 : 4.0;
  const double mlp = moe_layer ? 3 * h + ffn_terms * m.expert_ffn_hidden * (m.top_k + m.shared_experts)
                               : 3 * h + ffn_terms * m.ffn_hidden;
  return 4 * h + attention_activation_bytes_per_token(m, recompute_up_projections) + mlp - (m.dropout ? 0.0 : 2 * h);
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
  // MLA's down projections are replicated on every TP rank (transformer.hpp), not split.
  double replicated = 0;
  for (const AttentionProjection& w : attention_projections(m))
    if (w.split == AttentionProjection::Split::Replicated) replicated += w.d_in * w.d_out;
  return dense_part / (p.tp * p.pp) + expert_part / (double(p.tp) * p.pp * p.ep) +
         embedding_stages * double(m.vocab) * m.hidden / p.tp + replicated * m.layers * (1.0 - 1.0 / p.tp) / p.pp;
}

double dtype_bytes(StateDtype dtype) {
  switch (dtype) {
    case StateDtype::FP32: return 4.0;
    case StateDtype::BF16:
    case StateDtype::FP16: return 2.0;
    case StateDtype::FP8: return 1.0;
  }
  return 4.0;
}

PrecisionBytes precision_bytes(const TrainingSetup& s) {
  const TrainingOptions& o = s.options;
  const OptimizerPrecision& opt = o.optimizer;
  PrecisionBytes b;
  b.weight = o.fp8_param_gather ? 1.0 : kBf16Bytes;
  b.grad = o.grad_reduce_in_fp32 ? kFp32Bytes : kBf16Bytes;
  // The precision-aware optimizer reads the gradient shard in place (decoupled_grad) and
  // keeps its own master weights unless an FP8 run keeps fp32 master parameters
  // (use_precision_aware_optimizer_no_fp8_or_ds_fp8, optimizer_config.py).
  const bool decoupled = opt.precision_aware &&
                         (opt.main_params != StateDtype::FP32 || s.precision != Precision::FP8);
  b.master = dtype_bytes(opt.main_params);
  // TE FusedAdam's remainders: bf16 weights with an fp32 master keep only its lower 16 bits.
  const bool remainders = decoupled && opt.store_param_remainders && opt.main_params == StateDtype::FP32 &&
                          !o.fp8_param_gather;
  if (remainders) b.master = 2.0;
  b.exp_avg = opt.precision_aware ? dtype_bytes(opt.exp_avg) : kFp32Bytes;
  b.exp_avg_sq = opt.precision_aware ? dtype_bytes(opt.exp_avg_sq) : kFp32Bytes;
  b.grad_copy = !decoupled && b.grad < kFp32Bytes ? kFp32Bytes : 0.0;
  const double grad_read = decoupled ? b.grad : kFp32Bytes;
  const double copy_traffic = b.grad_copy > 0 ? b.grad + kFp32Bytes : 0.0;
  const double weight_traffic = remainders ? 2.0 * kBf16Bytes : b.weight;
  b.optimizer_traffic = grad_read + copy_traffic + 2.0 * (b.master + b.exp_avg + b.exp_avg_sq) + weight_traffic;
  return b;
}

const char* fp8_recipe_name(Fp8Recipe recipe) {
  switch (recipe) {
    case Fp8Recipe::Delayed: return "delayed";
    case Fp8Recipe::Tensorwise: return "tensorwise";
    case Fp8Recipe::Blockwise: return "blockwise";
    case Fp8Recipe::Mxfp8: return "mxfp8";
  }
  return "delayed";
}

namespace {

// One GEMM input quantized to FP8, as Transformer Engine does it (NVIDIA/TransformerEngine;
// files and commits below). Elements per token of the rank's micro-batch: `local` where it
// is quantized; `gathered` after a sequence-parallel all-gather (0 when not gathered).
struct Fp8Operand {
  double local = 0, gathered = 0;
  bool amax_fused = false;  // the producing kernel computes the amax (tensorwise)
  bool cast_fused = false;  // the producing kernel writes FP8 itself
};

// HBM bytes per token of quantizing one GEMM input. Sources (NVIDIA/TransformerEngine):
// - tensorwise (Float8CurrentScaling) reads the tensor twice, "First read: compute amax ...
//   Second read: apply the scaling factor and cast to FP8" (docs/features/low_precision_training/
//   fp8_current_scaling/fp8_current_scaling.rst at 41f6cbf; Float8CurrentScalingQuantizer::
//   quantize_impl: nvte_compute_amax_with_config, then the cast); the norm kernels of
//   LayerNormLinear / LayerNormMLP compute the amax with the bf16 output and then cast it
//   (FUSED_NORM_AMAX_FP8, transformer_engine/pytorch/csrc/extensions/normalization.cpp at
//   c38e4ba), likewise the forward activation ("Compute activation in high-precision fused
//   together with amax, then quantize", csrc/extensions/activation.cpp at 92a4022): amax 2
//   bytes per element unless fused, cast read 2 + write 1.
// - delayed (DelayedScaling): the scale comes from the amax history, the amax of the cast
//   is a by-product: cast read 2 + write 1; the norm and activation kernels write FP8 directly
//   (FULLY_FUSED; "Compute activation directly"): nothing extra (the producer's 2-byte write
//   becomes a 1-byte one, not subtracted).
// - columnwise usage (wgrad needs input and output gradient columnwise, dgrad the weight):
//   "Hopper: cannot efficiently access elements in columnwise fashion, so columnwise tensors
//   need to be physically transposed in memory ... Blackwell: supports columnwise access
//   natively, so no transpose is needed" (performance_considerations.rst at 0bd7f52). On
//   Hopper the transpose is fused into the cast (1 byte written) unless the tensor is
//   all-gathered for sequence parallelism: FP8 all-gather is rowwise only, so the gathered
//   tensor is transposed in backward ("If data is in FP8, we compute FP8 transposes
//   manually", module/layernorm_linear.py at 3ec8787, linear.py, layernorm_mlp.py; the
//   gradient in module/base.py grad_output_preprocess at fecb10b): read 1 + write 1 per
//   gathered element.
// - blockwise (Float8BlockScaling, 1D blocks of 128 for activations and gradients):
//   "transposing a 1D quantized tensor is not supported ... Both versions must be quantized
//   separately from the high-precision source" (fp8_blockwise_scaling.rst at 32be907): read 2,
//   write 1 + 1, plus two fp32 scales per 128 elements; the norm is not fused (UNFUSED in
//   normalization.cpp); an all-gathered tensor is gathered in compact form and swizzled to the
//   GEMM layout afterwards (same file: "performed separately after all-gather"): read 1 + write
//   1 per gathered element. On Blackwell TE emulates it with MXFP8 (same file).
// - mxfp8 (1x32 blocks, one e8m0 scale each, Blackwell): rowwise and columnwise both from
//   the high-precision source (read 2, write 1 + 1, two 1-byte scales per 32 elements); the
//   forward activation writes MXFP8 directly (activation.cpp), the norm does not (UNFUSED
//   unless NVTE_NORM_FWD_USE_CUDNN).
double fp8_tensor_bytes(Fp8Recipe recipe, bool transposes, const Fp8Operand& x) {
  if (recipe == Fp8Recipe::Blockwise && !transposes) recipe = Fp8Recipe::Mxfp8;  // emulated on Blackwell
  switch (recipe) {
    case Fp8Recipe::Delayed:
    case Fp8Recipe::Tensorwise: {
      double b = 0;
      if (recipe == Fp8Recipe::Tensorwise && !x.amax_fused) b += 2.0 * x.local;
      if (!x.cast_fused) b += 3.0 * x.local;
      if (transposes) b += x.gathered > 0 ? 2.0 * x.gathered : (x.cast_fused ? 2.0 : 1.0) * x.local;
      return b;
    }
    case Fp8Recipe::Blockwise:
      return (4.0 + 2.0 * 4.0 / 128.0) * x.local + 2.0 * x.gathered;
    case Fp8Recipe::Mxfp8:
      return x.cast_fused ? 0.0 : (4.0 + 2.0 / 32.0) * x.local;
  }
  return 0;
}

}  // namespace

Fp8QuantizationBytes fp8_quantization_bytes(const TrainingSetup& s) {
  Fp8QuantizationBytes out;
  // Transformer Engine's passes: NVIDIA GPUs. TPU (XLA) and Trainium (Neuron) FP8 paths quantize
  // differently and are not modelled: no quantization cost there (docs/models/training.md).
  if (s.precision != Precision::FP8 || s.accelerator->vendor != "NVIDIA") return out;
  const ModelSpec& m = *s.model;
  const Fp8Recipe recipe = s.options.fp8_recipe;
  // Hopper and Ada read FP8 GEMM operands K-major only; Blackwell (the catalog's accelerators
  // with FP4 tensor cores) reads either layout (performance_considerations.rst, above).
  const bool transposes = !s.accelerator->supports(Precision::FP4);
  const double t = s.parallelism.tp;
  const bool sp = s.options.sequence_parallel && t > 1;
  const double h = m.hidden;
  const double mlp_in = m.mlp == MlpKind::SwiGLU ? 2.0 : 1.0;
  // Inputs of the column-parallel QKV and MLP-in GEMMs (the norm outputs) and the output
  // gradients of the row-parallel projection and MLP-out GEMMs are sequence-sharded:
  // quantized on T / t tokens and all-gathered in FP8 (whole and replicated without SP).
  const double sharded = sp ? h / t : h;
  const double gathered = sp ? h : 0.0;
  const bool delayed = recipe == Fp8Recipe::Delayed;
  // Attention, per projection of transformer.hpp (GQA: QKV and O; MLA: the down projections,
  // up projections and O). Inputs: a projection reading the hidden state reads the first norm's
  // output (sequence-sharded and gathered in FP8 under SP; the norm computes the amax and, under
  // delayed scaling, writes FP8 itself: LayerNormLinear); the others read a local tensor (an
  // MLA latent, whole on every rank; the attention output, heads / t). Output gradients: a
  // column-parallel projection's d_out / t, a replicated one's whole d_out, the row-parallel
  // O's h (sequence-sharded and gathered under SP).
  double attention_fwd = 0, attention_bwd = 0;
  for (const AttentionProjection& w : attention_projections(m)) {
    using Split = AttentionProjection::Split;
    if (w.split != Split::Row && w.d_in == h)
      attention_fwd += fp8_tensor_bytes(recipe, transposes, {sharded, gathered, true, delayed});
    else
      attention_fwd += fp8_tensor_bytes(recipe, transposes, {w.split == Split::Row ? w.d_in / t : w.d_in, 0, false, false});
    if (w.split == Split::Row)
      attention_bwd += fp8_tensor_bytes(recipe, transposes, {sharded, gathered, false, false});
    else
      attention_bwd += fp8_tensor_bytes(recipe, transposes, {w.split == Split::Column ? w.d_out / t : w.d_out, 0, false, false});
  }
  auto layer = [&](bool moe, double& forward, double& backward) {
    // Routed copies of a token on the busiest rank (the GEMM model's rows: top_k x the load
    // imbalance) plus the shared experts; expert inputs are h wide on every rank (experts are
    // split over TP by their ffn width only, as mlp_time does).
    const double copies = moe ? double(m.top_k) * kMoeLoadImbalance + double(m.shared_experts) : 1.0;
    const double ffn = (moe ? double(m.expert_ffn_hidden) : double(m.ffn_hidden)) / t;
    forward = attention_fwd;
    backward = attention_bwd;
    if (!moe) {
      // LayerNormMLP: the second norm's output and the activation's output, fused as above.
      forward += fp8_tensor_bytes(recipe, transposes, {sharded, gathered, true, delayed}) +
                 fp8_tensor_bytes(recipe, transposes, {ffn, 0, true, delayed || recipe == Fp8Recipe::Mxfp8});
      backward += fp8_tensor_bytes(recipe, transposes, {mlp_in * ffn, 0, false, false}) +
                  fp8_tensor_bytes(recipe, transposes, {sharded, gathered, false, false});
    } else {
      // Experts (TE GroupedLinear): every routed copy of a token is quantized after dispatch;
      // Megatron's MoE runs its own norm and activation, so nothing is fused.
      forward += fp8_tensor_bytes(recipe, transposes, {copies * h, 0, false, false}) +
                 fp8_tensor_bytes(recipe, transposes, {copies * ffn, 0, false, false});
      backward += fp8_tensor_bytes(recipe, transposes, {copies * mlp_in * ffn, 0, false, false}) +
                  fp8_tensor_bytes(recipe, transposes, {copies * h, 0, false, false});
    }
  };
  const int moe_layers = m.is_moe() ? m.layers - m.dense_layers : 0;
  const double moe_share = m.layers > 0 ? double(moe_layers) / m.layers : 0.0;
  double dense_fwd = 0, dense_bwd = 0, moe_fwd = 0, moe_bwd = 0;
  layer(false, dense_fwd, dense_bwd);
  if (moe_share > 0) layer(true, moe_fwd, moe_bwd);
  out.forward_per_token = (1 - moe_share) * dense_fwd + moe_share * moe_fwd;
  out.backward_per_token = (1 - moe_share) * dense_bwd + moe_share * moe_bwd;
  // Weights: bf16 weights cast once per step (amax 2 for tensorwise, cast 3, columnwise 1
  // on Hopper or for block recipes, whose 128x128 / 1x32 columnwise copy is made in the same
  // pass); FP8 primary weights (fp8_param_gather) need only their transpose on Hopper (read 1,
  // write 1; 128x128 blocks transpose with their scales, fp8_blockwise_scaling.rst).
  const bool block = recipe == Fp8Recipe::Blockwise || recipe == Fp8Recipe::Mxfp8;
  const bool columnwise = transposes || block;
  if (s.options.fp8_param_gather)
    out.weight_per_parameter = transposes && recipe != Fp8Recipe::Mxfp8 ? 2.0 : 0.0;
  else
    out.weight_per_parameter = (recipe == Fp8Recipe::Tensorwise ? 2.0 : 0.0) + 3.0 + (columnwise ? 1.0 : 0.0);
  return out;
}

int zero_group_size(const TrainingSetup& s) {
  const int dp = s.parallelism.dp;
  const int g = s.options.zero_group;
  return s.options.zero_stage >= 1 && g >= 1 && g < dp && dp % g == 0 ? g : dp;
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

namespace {

// Parameters of the largest layer on one accelerator (TP shard, its experts under EP):
// the unit ZeRO-2 and ZeRO-3 reduce and gather at a time (FSDP wraps each layer).
double largest_layer_parameters(const TrainingSetup& s) {
  const ModelSpec& m = *s.model;
  const Parallelism& p = s.parallelism;
  const ParameterCount count = count_parameters(m);
  const double dense = count.attention_per_layer + count.dense_mlp_per_layer;
  const double moe = m.is_moe() ? count.attention_per_layer + count.moe_mlp_per_layer_total / p.ep : 0.0;
  return std::max(dense, moe) / p.tp;
}

// Micro-batches of activations pipeline stage `stage` holds at its peak, each of its
// layers once per micro-batch. 1F1B: pp - stage (Narayanan et al. 2021: stage i runs
// pp - i - 1 warm-up forwards, then one more before its first backward). Interleaved
// 1F1B with v virtual stages: its warm-up of 2 (pp - 1 - stage) + (v - 1) pp + 1 model
// chunks of 1/v of its layers (Megatron-LM's interleaved schedule), which for the first
// stage is pp + (pp - 1) / v, Korthikanti et al. 2022 (arXiv 2205.05198), sec. 4.2.3:
// L (1 + (p - 1) / (p v)) layers. Never more than the step's micro-batches.
double in_flight_micro_batches(const TrainingSetup& s, int stage, int micro_batches) {
  const int pp = s.parallelism.pp;
  const int v = std::max(1, s.options.virtual_stages);
  const double peak = v > 1 ? pp + double(pp - 1 - 2 * stage) / v : double(pp - stage);
  return std::clamp(peak, 1.0, double(micro_batches));
}

// Layers per pipeline stage when pp does not divide them: full stages hold ceil(L / pp)
// and the shortfall comes off the two ends, the first stage taking the larger half (it
// also holds the embedding and the most in-flight micro-batches). Llama 3 405B: 126
// layers on 16 stages as 7, 8 x 14, 7 ("we reduce one Transformer layer each from the
// first and the last stages", Llama 3 paper sec. 3.3.2; Megatron-Core's
// --decoder-first/last-pipeline-num-layers). The ends never go below one layer; what they
// cannot absorb comes off middle stages, one layer each, and at least one middle stage
// stays full (the shortfall is below pp): 5 layers on 4 stages are 1, 2, 1, 1, returned as
// first 1, full 2, last 1 -- what pace and memory need is the largest stage and the two ends.
struct StageLayers {
  double first, middle, last;
};
StageLayers stage_layers(int layers, int pp) {
  if (pp <= 1) return {double(layers), double(layers), double(layers)};
  const int full = (layers + pp - 1) / pp;
  const int shortfall = full * pp - layers;
  return {double(std::max(1, full - (shortfall + 1) / 2)), double(full), double(std::max(1, full - shortfall / 2))};
}

}  // namespace

MemoryBreakdown training_memory(const TrainingSetup& s) {
  const ModelSpec& m = *s.model;
  const Parallelism& p = s.parallelism;
  const int zero = s.options.zero_stage;
  const int group = zero_group_size(s);  // the ranks ZeRO shards over (dp unless hybrid)
  const ParameterCount count = count_parameters(m);
  const int moe_layers = m.is_moe() ? m.layers - m.dense_layers : 0;
  const double moe_share = m.layers > 0 ? double(moe_layers) / m.layers : 0.0;
  // Parameters of one (average) layer on one accelerator, and of the embedding or LM head.
  const double dense_part = count.non_embedding_total - moe_layers * count.moe_mlp_per_layer_total;
  const double expert_part = moe_layers * count.moe_mlp_per_layer_total;
  const double per_layer = (dense_part / p.tp + expert_part / (double(p.tp) * p.ep)) / std::max(1, m.layers);
  const double embedding = double(m.vocab) * m.hidden / p.tp;
  const double unit_params = largest_layer_parameters(s);
  const PrecisionBytes bytes = precision_bytes(s);

  const double tokens_per_micro_batch = double(s.micro_batch) * s.seq_len / p.cp;
  const int micro_batches = std::max(1, s.global_batch / std::max(1, p.dp * s.micro_batch));
  // Activation bytes per token of one layer (16-bit, before the TP split).
  double per_token_layer;
  if (s.recompute == RecomputeMode::Full) {
    per_token_layer = kBf16Bytes * m.hidden;  // each layer's input only
  } else {
    // Selective recompute only drops the attention matrix, which flash attention never stores
    // (and, for MLA, the latent norms' and up projections' outputs).
    const bool up = s.recompute == RecomputeMode::Selective;
    per_token_layer = (1 - moe_share) * activation_bytes_per_token_layer(m, false, up) +
                      moe_share * activation_bytes_per_token_layer(m, true, up);
  }
  // Sequence parallelism splits every stored activation across the TP group; without
  // it the norms' and dropouts' 10h per token and layer stay whole on every rank
  // (Korthikanti et al. 2022, eq. 2: 10 + 24/t).
  // Of the 10h, 2h are the two dropout masks: a model without dropout keeps 8h whole.
  if (!s.options.sequence_parallel && s.recompute != RecomputeMode::Full)
    per_token_layer += (m.dropout ? 10.0 : 8.0) * m.hidden * (p.tp - 1);

  // One stage's memory: its layers, the micro-batches it holds, and the embedding (first
  // stage) or LM head and logits (last stage; both on a single stage).
  auto stage_memory = [&](double layers, int stage) {
    MemoryBreakdown mem;
    const bool first = stage == 0, last = stage == p.pp - 1;
    const double params = layers * per_layer + (first ? embedding : 0.0) + (last ? embedding : 0.0);
    const double unit = std::min(params, unit_params);
    // bf16 parameters, fp32 gradients, fp32 master copy and Adam moments (12 bytes):
    // 6 + 12/dp per parameter with Megatron-LM's distributed optimizer (Megatron-LM docs,
    // "Distributed Optimizer"); ZeRO-2 and ZeRO-3 shard the gradients and the parameters
    // too, keeping whole only the layer in flight and the next (double buffering: FSDP's
    // forward/backward prefetch, DeepSpeed's prefetch bucket).
    // Under hybrid sharding every term divides by the group, not by dp. Bytes per
    // parameter of each term: precision_bytes (2, 4 and 12 by default).
    mem.weights = Bytes(zero >= 3 ? std::min(params, params / group + 2 * unit) * bytes.weight : params * bytes.weight);
    mem.gradients = Bytes(zero >= 2 ? std::min(params, params / group + 2 * unit) * bytes.grad : params * bytes.grad);
    const double shard = params / (zero >= 1 ? group : 1);
    mem.activations = Bytes(in_flight_micro_batches(s, stage, micro_batches) * tokens_per_micro_batch * layers *
                            per_token_layer / p.tp);
    // fp32 logits of one micro-batch for the loss, split over the vocabulary by TP.
    mem.logits = Bytes(last ? tokens_per_micro_batch * m.vocab * kFp32Bytes / p.tp : 0.0);
    // The fp32 copy of a 16-bit gradient shard exists only from the optimizer step (after
    // the last backward has freed the activations and logits) until the next step's
    // zero_grad, before its first forward (megatron/training/training.py train_step;
    // DistributedOptimizer.zero_grad(set_to_none=True) frees it): at the peak it adds only
    // what exceeds the activations and logits it replaces. 0 by default (fp32 gradients).
    const double copy = shard * bytes.grad_copy;
    mem.optimizer_state = Bytes(shard * (bytes.optimizer_state() - bytes.grad_copy) +
                                std::max(0.0, copy - (mem.activations.value() + mem.logits.value())));
    mem.runtime_reserve = Bytes(kRuntimeReserveBytes);
    mem.capacity = s.accelerator->hbm_capacity;
    return mem;
  };
  // The most loaded stage is the first, the second (a full stage when the first is
  // short) or the last (LM head and logits).
  const StageLayers layers = stage_layers(m.layers, p.pp);
  MemoryBreakdown worst = stage_memory(layers.first, 0);
  for (const MemoryBreakdown& other : {stage_memory(p.pp > 2 ? layers.middle : layers.last, std::min(1, p.pp - 1)),
                                       stage_memory(layers.last, p.pp - 1)})
    if (other.total() > worst.total()) worst = other;
  return worst;
}

namespace {

// Element-wise HBM bytes per token and layer, forward (model card).
double elementwise_bytes_per_token_layer(const ModelSpec& m, bool moe_layer) {
  const double h = m.hidden;
  const double ffn = moe_layer ? double(m.expert_ffn_hidden) * (m.top_k + m.shared_experts) : m.ffn_hidden;
  const double activation = m.mlp == MlpKind::SwiGLU ? 6.0 * ffn : 4.0 * ffn;
  // Bias-dropout-residual: read 2h + 2h, write 2h, and the 1-byte mask h, twice.
  const double residual = m.dropout ? 14.0 * h : 12.0 * h;
  return 8.0 * h + residual + activation;
}

// Bytes moved per attention score (s x s per head) by standard attention, forward.
constexpr double kStandardAttentionBytesPerScore = 13.0;

// HBM bytes per logit (per token and vocabulary entry of the TP shard) of Megatron-LM's
// vocabulary-parallel cross entropy, which runs on the logits cast to fp32
// (megatron/core/tensor_parallel/cross_entropy.py, called on output.float()), one
// kernel per step: forward cast bf16 -> fp32 (read 2, write 4), max (read 4), subtract
// the max (read 4, write 4), exp (read 4, write 4), sum (read 4), divide by the sum to
// keep the softmax for backward (read 4, write 4): 38; backward scale the softmax by
// the loss gradient (read 4, write 4) and cast back to bf16 (read 4, write 2): 14.
constexpr double kLossBytesPerLogit = 52.0;

}  // namespace

StepBreakdown training_step(const TrainingSetup& s, const FabricView& fabric) {
  const ModelSpec& m = *s.model;
  const Parallelism& p = s.parallelism;
  const Accelerator& acc = *s.accelerator;
  const TrainingOptions& opt = s.options;
  const int v = std::max(1, opt.virtual_stages);
  StepBreakdown out;

  out.micro_batches = std::max(1, s.global_batch / std::max(1, p.dp * s.micro_batch));
  const double m_batches = out.micro_batches;
  out.tokens_per_step = double(s.global_batch) * s.seq_len;
  out.model_flops_per_step = model_flops_per_token(m, s.seq_len) * out.tokens_per_step;
  out.hardware_flops_per_step = hardware_flops_per_token(m, s.seq_len, s.recompute) * out.tokens_per_step;

  // ---- compute of the slowest stage, per micro-batch ------------------------------
  const double tokens_mb = double(s.micro_batch) * s.seq_len / p.cp;  // per micro-batch per rank
  const int moe_layers = m.is_moe() ? m.layers - m.dense_layers : 0;
  const double moe_share = m.layers > 0 ? double(moe_layers) / m.layers : 0.0;
  const bool full = s.recompute == RecomputeMode::Full;
  const double forward_passes = full ? 2.0 : 1.0;  // the recomputed forward
  const double passes = 2.0 + forward_passes;       // backward counts twice

  // Matrix multiplies: each weight (d_in x d_out per TP shard) runs three GEMMs per
  // micro-batch of T tokens: forward (T x d_out x d_in, once more under full recompute),
  // input gradient (T x d_in x d_out) and weight gradient (d_in x d_out x T, accumulated
  // into the main gradient: fp32, or bf16 without grad_reduce_in_fp32), each timed by the tile-and-wave model (gemm.hpp).
  const Precision prec = s.precision;
  const PrecisionBytes bytes = precision_bytes(s);
  // The weight-gradient GEMM reads and writes the main gradient it accumulates into.
  const double grad_accumulation_bytes = 2.0 * bytes.grad;
  auto weight_time = [&](double d_in, double d_out, double tokens) {
    if (tokens <= 0) return Seconds(0);
    return gemm_time({tokens, d_out, d_in}, acc, prec) * forward_passes + gemm_time({tokens, d_in, d_out}, acc, prec) +
           gemm_time({d_in, d_out, tokens, grad_accumulation_bytes}, acc, prec);
  };
  const double h = m.hidden;
  const double mlp_in = m.mlp == MlpKind::SwiGLU ? 2.0 : 1.0;  // gate and up fused
  // The attention block's weights (transformer.hpp): GQA's fused QKV and O; MLA's down
  // projections (replicated on every TP rank), up projections and O. Under selective
  // recompute MLA's up projections (split by columns) run their forward once more.
  Seconds attention_gemms(0);
  for (const AttentionProjection& w : attention_projections(m)) {
    using Split = AttentionProjection::Split;
    attention_gemms = attention_gemms + (w.split == Split::Column ? weight_time(w.d_in, w.d_out / p.tp, tokens_mb)
                                         : w.split == Split::Row  ? weight_time(w.d_in / p.tp, w.d_out, tokens_mb)
                                                                  : weight_time(w.d_in, w.d_out, tokens_mb));
    if (m.is_mla() && w.split == Split::Column && s.recompute == RecomputeMode::Selective && tokens_mb > 0)
      attention_gemms = attention_gemms + gemm_time({tokens_mb, w.d_out / p.tp, w.d_in}, acc, prec);
  }
  auto mlp_time = [&](double width, double tokens) {
    return weight_time(h, mlp_in * width / p.tp, tokens) + weight_time(width / p.tp, h, tokens);
  };
  const Seconds dense_layer = attention_gemms + mlp_time(m.ffn_hidden, tokens_mb);
  Seconds moe_layer(0);
  if (m.is_moe()) {
    // Each rank holds experts / ep routed experts; balanced, each gets tokens x top_k x
    // ep / experts tokens; the busiest rank kMoeLoadImbalance times that.
    const double local_experts = std::max(1.0, double(m.experts) / p.ep);
    const double tokens_per_expert = tokens_mb * m.top_k * p.ep / m.experts * kMoeLoadImbalance;
    moe_layer = attention_gemms + mlp_time(m.expert_ffn_hidden, tokens_per_expert) * local_experts +
                weight_time(h, m.experts, tokens_mb);  // router
    if (m.shared_experts > 0) moe_layer = moe_layer + mlp_time(double(m.expert_ffn_hidden) * m.shared_experts, tokens_mb);
  }
  const Seconds layer_matmul = dense_layer * (1 - moe_share) + moe_layer * moe_share;  // one (average) layer
  // LM head on the last stage (not recomputed): vocab / tp columns. Always in BF16: FP8
  // covers only the transformer layers (Megatron-Core enters the FP8 context per layer,
  // megatron/core/transformer/transformer_block.py get_fp8_context(config, layer_number - 1),
  // at 767a8a8; the output layer is a plain tensor_parallel.ColumnParallelLinear,
  // megatron/core/models/gpt/gpt_model.py; DeepSeek-V3 likewise keeps "the output head" in
  // BF16, arXiv 2412.19437 sec. 3.3.1).
  const Precision head_prec = Precision::BF16;
  const Seconds lm_head_time =
      gemm_time({tokens_mb, double(m.vocab) / p.tp, h}, acc, head_prec) +
      gemm_time({tokens_mb, h, double(m.vocab) / p.tp}, acc, head_prec) +
      gemm_time({h, double(m.vocab) / p.tp, tokens_mb, grad_accumulation_bytes}, acc, head_prec);
  const FlopRate matmul_rate = acc.peak(s.precision) * acc.matmul_efficiency(s.precision);

  // Attention core: 4 x h x s FLOPs per token per layer and pass (QK^T and AV), per
  // rank h/tp; MLA: 2 x heads x (qk + v) x s (transformer.hpp). Under context parallelism a
  // rank holds s/cp of the queries (tokens_mb), and each of them still meets all s keys:
  // ring attention passes every K/V block by.
  const double attention_passes = s.recompute == RecomputeMode::None ? 3.0 : 4.0;  // selective and full redo it
  const double pair_flops = m.is_mla() ? attention_core_flops_per_pair(m) : 4.0 * m.hidden;
  const double attention_flops_layer = pair_flops * double(s.seq_len) * tokens_mb / p.tp * attention_passes;
  const ByteRate elementwise_rate = acc.hbm_bandwidth * kElementwiseHbmEfficiency;
  Seconds attention_layer;
  if (opt.attention == AttentionKernel::Flash) {
    attention_layer = Flops(attention_flops_layer) / (acc.peak_bf16 * acc.attention_efficiency);
  } else {
    // Batched GEMMs at the GEMM rate, plus the score matrix through HBM: heads/tp x s
    // scores per query token, 13 bytes forward and 26 backward, forward again under
    // recompute.
    const double scores_per_token = double(m.heads) / p.tp * double(s.seq_len);
    const double score_bytes = scores_per_token * tokens_mb * kStandardAttentionBytesPerScore * (forward_passes + 2.0);
    attention_layer = Flops(attention_flops_layer) / matmul_rate + Bytes(score_bytes) / elementwise_rate;
  }
  const double elementwise_per_token = (1 - moe_share) * elementwise_bytes_per_token_layer(m, false) +
                                       moe_share * elementwise_bytes_per_token_layer(m, true);
  // With sequence parallelism every element-wise kernel works on 1/tp of the tokens;
  // without it the norms and the dropout-residual kernels (22h) run replicated on every
  // TP rank and only the MLP activation is split.
  const double replicated = opt.sequence_parallel ? 0.0 : 22.0 * m.hidden * (p.tp - 1) / p.tp;
  // FP8: Transformer Engine's quantization passes around the GEMMs (fp8_quantization_bytes;
  // zero for bf16), again in the recomputed forward under full recompute.
  const Fp8QuantizationBytes fp8 = fp8_quantization_bytes(s);
  const double fp8_bytes_layer = (fp8.forward_per_token * forward_passes + fp8.backward_per_token) * tokens_mb;
  const double elementwise_bytes_layer =
      (elementwise_per_token + replicated) * tokens_mb / p.tp * passes + fp8_bytes_layer;
  const double loss_bytes = kLossBytesPerLogit * double(m.vocab) * tokens_mb / p.tp;  // last stage

  // The slowest stage: a full one (ceil(layers / pp) layers) or the last (its layers,
  // fewer when pp does not divide them, plus the LM head and the loss).
  const StageLayers split = stage_layers(m.layers, p.pp);
  const Seconds layer_time = layer_matmul + attention_layer + Bytes(elementwise_bytes_layer) / elementwise_rate;
  const Seconds head_time = lm_head_time + Bytes(loss_bytes) / elementwise_rate;
  const bool full_stage_slowest = p.pp > 1 && layer_time * split.last + head_time < layer_time * split.middle;
  const double layers_per_stage = full_stage_slowest ? split.middle : split.last;
  const double head_share = full_stage_slowest ? 0.0 : 1.0;

  const Seconds matmul_mb = layer_matmul * layers_per_stage + lm_head_time * head_share;
  const Seconds attention_time = attention_layer * layers_per_stage;
  const Seconds elementwise_mb =
      Bytes(elementwise_bytes_layer * layers_per_stage + loss_bytes * head_share) / elementwise_rate;
  const Seconds per_micro_batch = matmul_mb + attention_time + elementwise_mb;
  out.compute_matmul = matmul_mb * m_batches;
  out.compute_attention = attention_time * m_batches;
  out.compute_elementwise = elementwise_mb * m_batches;
  out.compute = per_micro_batch * m_batches;
  out.bubble = per_micro_batch * (double(p.pp - 1) / v);
  if (fp8.weight_per_parameter > 0) {
    // The stage's transformer-layer weights cast (or transposed) to FP8 once per step and
    // cached across micro-batches; under ZeRO-3 the gathered weights are freed after use, so
    // every micro-batch casts them again. The embedding and LM head are not FP8 layers.
    const ParameterCount count = count_parameters(m);
    const double expert_part = moe_layers * count.moe_mlp_per_layer_total;
    const double dense_part = count.non_embedding_total - expert_part;
    const double layer_params = (dense_part / p.tp + expert_part / (double(p.tp) * p.ep)) / std::max(1, m.layers);
    const double casts = opt.zero_stage >= 3 ? m_batches : 1.0;
    const Seconds weight_cast =
        Bytes(layer_params * layers_per_stage * fp8.weight_per_parameter * casts) / elementwise_rate;
    out.compute_elementwise = out.compute_elementwise + weight_cast;
    out.compute = out.compute + weight_cast;
  }

  const Bytes layer_activations(tokens_mb * m.hidden * kBf16Bytes);

  // Tensor parallelism (sequence-parallel all-gather + reduce-scatter = one all-reduce).
  const LinkLevel tp_level = group_level(p.tp, 1, fabric);
  const double tp_pairs = full ? 6.0 : 4.0;
  out.tp_comm = all_reduce(layer_activations, p.tp, tp_level) * (tp_pairs * layers_per_stage * m_batches);
  const Seconds tp_exposed = opt.overlap_tp_comm ? max(Seconds(0), out.tp_comm - out.compute_matmul) : out.tp_comm;

  // Context parallelism: ring exchange of K and V, hidden behind the attention core.
  const LinkLevel cp_level = group_level(p.cp, p.tp, fabric);
  // K and V: 2 x kv_dim per token; MLA passes its up-projected heads x (qk + v).
  const double kv_dim = m.heads > 0 ? double(m.hidden) * m.kv_heads / m.heads : m.hidden;
  const Bytes kv_block(m.is_mla() ? tokens_mb * attention_kv_width(m) * kBf16Bytes / p.tp
                                  : 2.0 * tokens_mb * kv_dim * kBf16Bytes / p.tp);
  out.cp_comm = p.cp > 1 ? point_to_point(kv_block, cp_level) * (3.0 * (p.cp - 1) * layers_per_stage * m_batches)
                         : Seconds(0);
  const Seconds cp_exposed = max(Seconds(0), out.cp_comm - out.compute_attention);

  // Pipeline parallelism: activation and gradient sends on the critical path, once per
  // virtual stage.
  // Rank order: Megatron-LM's default tp, cp, dp, pp, or tp, cp, pp, dp (Llama 3).
  const bool pp_inside_dp = opt.rank_order == RankOrder::TpCpPpDp;
  const int pp_stride = pp_inside_dp ? p.tp * p.cp : p.tp * p.cp * p.dp;
  const int dp_stride = pp_inside_dp ? p.tp * p.cp * p.pp : p.tp * p.cp;
  const LinkLevel pp_level = group_level(p.pp, pp_stride, fabric, Traffic::AllToAll);
  const Seconds pp_send = point_to_point(layer_activations / p.tp, pp_level);
  const double pp_sends = p.pp > 1 ? 2.0 * v * (m_batches + p.pp - 1) : 0.0;
  out.pp_comm = pp_send * pp_sends;
  // Under the interleaved schedule the sends are asynchronous and overlap the next model
  // chunk's compute: Megatron-LM's --overlap-p2p-communication is on by default and
  // applies to the interleaved schedule only (plain 1F1B batches its sends and waits;
  // megatron/training/arguments.py turns overlap_p2p_comm off without virtual stages);
  // Llama 3 "adopt[s] asynchronous point-to-point communication in PP" with its
  // interleaved schedule (arXiv 2407.21783, sec. 3.3.2). Each send then has one chunk's
  // forward pass (1 / v of a micro-batch's forward) to hide behind, the excess exposed.
  const Seconds pp_exposed =
      v > 1 && opt.overlap_pp_comm ? max(Seconds(0), pp_send - per_micro_batch * (1.0 / (passes * v))) * pp_sends : out.pp_comm;

  // Expert parallelism: dispatch and combine all-to-alls in every MoE layer.
  if (m.is_moe() && p.ep > 1) {
    // EP comes right after TP and CP in either order (Megatron-Core: tp-cp-ep-dp-pp or
    // tp-cp-ep-pp-dp).
    const LinkLevel ep_level = group_level(p.ep, p.tp * p.cp, fabric, Traffic::AllToAll);
    const double moe_layers_per_stage = moe_share * layers_per_stage;
    // Each token goes to top_k experts; with node-limited routing only one copy per
    // target node crosses the network (the rest fan out over NVLink), so off-node copies
    // are min(top_k, max_routed_nodes). Dispatch travels in the training precision (FP8
    // in DeepSeek-V3, sec. 3.3), combine and both backward all-to-alls in BF16.
    const bool spans_nodes = long(p.ep) * p.tp * p.cp > fabric.accelerators_per_node;
    const double copies = spans_nodes && m.max_routed_nodes > 0 ? std::min(m.top_k, m.max_routed_nodes) : m.top_k;
    const double dispatch_bytes = s.precision == Precision::FP8 ? 1.0 : kBf16Bytes;
    const double per_token = m.hidden * copies * ((dispatch_bytes + kBf16Bytes) + 2 * kBf16Bytes) / p.tp;
    out.ep_comm = all_to_all(Bytes(tokens_mb * per_token), p.ep, ep_level) * (moe_layers_per_stage * m_batches);
  }

  // Data parallelism by ZeRO stage: fp32 gradients reduced, bf16 parameters gathered
  // (by default; precision_bytes),
  // over the ZeRO group (all of dp unless hybrid sharding: then g consecutive DP ranks).
  const int group = zero_group_size(s);
  const int replicas = p.dp / group;
  const LinkLevel dp_level = group_level(group, dp_stride, fabric);
  const double params = parameters_per_accelerator(s);
  const int zero = opt.zero_stage;
  // Hybrid sharding: once per step each rank all-reduces its 1/g gradient shard with the
  // same shard's owners in the other dp / g groups (PaLM's one cross-pod gradient exchange
  // per step, sec. 4; FSDP HYBRID_SHARD's all-reduce across replicas), after the step's
  // last reduce-scatter; its ring's members are g x dp stride ranks apart.
  const Seconds replica_reduce =
      replicas > 1 ? all_reduce(Bytes(params / group * bytes.grad), replicas,
                                     group_level(replicas, dp_stride * group, fabric))
                   : Seconds(0);
  const Seconds forward_mb = per_micro_batch * (1.0 / passes);   // one forward pass
  const Seconds backward_mb = per_micro_batch - forward_mb;       // backward (and recompute)
  Seconds dp_exposed;
  if (zero <= 1) {
    Seconds grad_reduce, param_gather;
    if (zero == 1) {
      grad_reduce = reduce_scatter(Bytes(params * bytes.grad), group, dp_level) + replica_reduce;
      param_gather = all_gather(Bytes(params * bytes.weight), group, dp_level);
    } else {
      grad_reduce = all_reduce(Bytes(params * bytes.grad), p.dp, dp_level);
    }
    out.dp_comm = grad_reduce + param_gather;
    dp_exposed = (opt.overlap_grad_reduce ? max(Seconds(0), grad_reduce - backward_mb) : grad_reduce) +
                 (opt.overlap_param_gather ? max(Seconds(0), param_gather - forward_mb) : param_gather);
  } else if (zero == 2) {
    // Sharded gradients: every micro-batch's are reduce-scattered as its backward
    // produces them. Each reduction has until the next one starts to finish: one
    // micro-batch's forward and backward in the 1F1B steady state; the last has only its
    // own backward (as ZeRO-1's single reduction).
    // Under hybrid sharding the last reduction is followed by the replicas' all-reduce.
    const Seconds grad_reduce = reduce_scatter(Bytes(params * bytes.grad), group, dp_level);
    const Seconds param_gather = all_gather(Bytes(params * bytes.weight), group, dp_level);
    out.dp_comm = grad_reduce * m_batches + param_gather + replica_reduce;
    dp_exposed = (opt.overlap_grad_reduce ? max(Seconds(0), grad_reduce - per_micro_batch) * (m_batches - 1) +
                                                max(Seconds(0), grad_reduce + replica_reduce - backward_mb)
                                          : grad_reduce * m_batches + replica_reduce) +
                 (opt.overlap_param_gather ? max(Seconds(0), param_gather - forward_mb) : param_gather);
  } else {
    // Sharded parameters: per micro-batch, each layer's are gathered before its forward
    // and again before its backward, and its gradients reduce-scattered after it; one
    // collective per layer (the FSDP unit), each paying the ring's latency.
    const double units = std::max(1.0, params / std::max(1.0, largest_layer_parameters(s)));
    const double unit_params = params / units;
    const Seconds gather = all_gather(Bytes(unit_params * bytes.weight), group, dp_level) * units;
    const Seconds reduce = reduce_scatter(Bytes(unit_params * bytes.grad), group, dp_level) * units;
    const Seconds first_gather = gather * (1.0 / units);  // nothing runs before it
    out.dp_comm = (gather * 2.0 + reduce) * m_batches;
    const Seconds forward_exposed =
        opt.overlap_param_gather ? min(gather, first_gather + max(Seconds(0), gather - forward_mb)) : gather;
    const Seconds backward_exposed = opt.overlap_grad_reduce ? max(Seconds(0), gather + reduce - backward_mb)
                                                             : gather + reduce;
    dp_exposed = (forward_exposed + backward_exposed) * m_batches;
    if (replicas > 1) {
      // The replicas' all-reduce follows the last micro-batch's reductions and shares its
      // backward pass to hide behind.
      out.dp_comm = out.dp_comm + replica_reduce;
      dp_exposed = dp_exposed - backward_exposed +
                   (opt.overlap_grad_reduce ? max(Seconds(0), gather + reduce + replica_reduce - backward_mb)
                                            : gather + reduce + replica_reduce);
    }
  }

  // Adam on the local shard: 30 bytes of HBM traffic per parameter by default
  // (precision_bytes).
  const double shard = zero >= 1 ? params / group : params;
  out.optimizer = Bytes(shard * bytes.optimizer_traffic) / elementwise_rate;

  out.total_comm = out.tp_comm + out.cp_comm + out.pp_comm + out.ep_comm + out.dp_comm;
  // Expert all-to-alls hidden behind another micro-batch's compute (DeepSeek's DualPipe
  // overlaps them in both directions), the excess exposed.
  const Seconds ep_exposed = opt.overlap_ep_comm ? max(Seconds(0), out.ep_comm - out.compute) : out.ep_comm;
  out.exposed_comm = tp_exposed + cp_exposed + pp_exposed + ep_exposed + dp_exposed;
  assert(out.exposed_comm <= out.total_comm && "exposed communication cannot exceed the total");
  // The pipeline's fill and drain run whole micro-batches, their exposed TP, CP and EP
  // communication included.
  out.bubble = out.bubble + (tp_exposed + cp_exposed + ep_exposed) * (double(p.pp - 1) / v / m_batches);
  // Hidden communication is not free: its kernels hold SMs the GEMMs then lack.
  if (acc.streaming_multiprocessors > 0)
    out.comm_interference = (out.total_comm - out.exposed_comm) *
                            std::min(1.0, kCommunicationSms / acc.streaming_multiprocessors);
  out.step_time = out.compute + out.bubble + out.exposed_comm + out.optimizer + out.comm_interference;
  return out;
}

}  // namespace fleetsim
