// Time of one prefill and one decode iteration of an LLM serving replica, and the
// memory that decides how many tokens of KV cache it holds. Pure functions: no SimGrid.
//
// Model card (first version, issue 4; inference kind only)
// Units: seconds, bytes, FLOP. A replica is tp x pp accelerators holding one copy of
// the weights. b = requests in the batch, C = the sum of their context lengths (tokens
// already in the KV cache), T = prompt tokens prefilled, S = sum over prompts of the
// prompt length squared. N = active non-embedding parameters, L layers, h hidden,
// V vocabulary, p = bytes per value at the precision (bf16 2, fp8 1: weights and KV
// cache both stored at the workload's precision, as TensorRT-LLM's FP8 recipes do;
// fp4, Blackwell only: weights in NVFP4 at 9/16 byte, KV cache in FP8, GEMMs at the
// FP4 peak; activations on the wire stay 16-bit).
// - Weights per accelerator: the most loaded pipeline stage's parameters x p
//   (parameters_per_accelerator() of training_step.hpp with dp = ep = 1), except the input
//   embedding and the LM head, which quantized checkpoints keep in BF16 (ModelOpt's default
//   FP8/NVFP4 configs disable "*lm_head*" and quantize only linear layers; DeepSeek-R1's FP8
//   release keeps embed_tokens and lm_head BF16): 2 bytes each; the LM head's GEMM runs at the
//   BF16 rate. A step reads every weight but the input embedding table (a lookup of one row
//   per token; pp = 1; under PP the most loaded stage is taken to be the last, head included).
// - KV cache per token, whole model: 2 (K and V) x L x kv_heads x (h / heads) x p.
//   Per accelerator: 2 x (L / pp) x ceil(kv_heads / tp) x (h / heads) x p (TP splits
//   the KV heads; past tp = kv_heads every rank keeps a copy of its head).
//   Multi-head Latent Attention (ModelSpec::is_mla): (kv_lora_rank + qk_rope_head_dim) x L
//   x p (DeepSeek-V3: 576 values per token and layer, DeepSeek-V2 arXiv 2405.04434 sec.
//   2.1.2), and per accelerator the same x 1/pp: the latent is shared by all heads, so
//   every TP rank caches all of it.
// - KV capacity per accelerator: kKvCacheMemoryFraction x (HBM - weights - the weights
//   of a co-resident verifier or filter model - the runtime reserve of training_step.hpp); per replica, in tokens: that / KV bytes per token per
//   accelerator. A replica that cannot hold one request's input + output tokens is an
//   input error (the scenario layer says so).
// - Prefill of T tokens from P prompts: max(compute, one read of the weights) + communication.
//   compute = GEMMs + attention. GEMMs (dense models): per layer, on each rank, T rows times
//   its TP shard of every weight (QKV: T x (h + 2 kv_width)/tp x h; O: T x h x h/tp; MLP in:
//   T x (2 for SwiGLU) f/tp x h; MLP out: T x h x f/tp), timed by the tile-and-wave model of
//   gemm.hpp (the one the training model uses: a GEMM whose output tiles do not fill the last
//   wave of SMs pays the whole wave), times L / pp, plus the LM head on each prompt's last
//   token (P x V/tp x h). MoE models: 2 N T FLOPs at peak(precision) x matmul_efficiency.
//   Attention: 2 L h S FLOPs (causal: a query at position i does 4 h i FLOPs per layer for
//   QK^T and AV; summed over a prompt, 2 h s^2) at peak_bf16 x attention_efficiency of the
//   catalog (FlashAttention's measured rate; the engines' fused context-attention kernels),
//   on tp x pp accelerators. MLA: L x heads x (qk_nope + qk_rope + v) x S (the prompt's
//   keys and values up-projected per head, as the engines' prefill kernels run it; 2.86x
//   GQA's count for DeepSeek-V3).
// - Decode of b requests: the weight GEMMs, then attention, one kernel after the other,
//   each at its own roofline (Yuan et al., arXiv 2402.16363, sec. 2), + communication:
//   GEMMs     = max(pp x weights per accelerator / B, their compute), the compute of each
//               weight GEMM (b / pp rows, pp micro-batches) by the tile-and-wave model of
//               gemm.hpp when its 256 x 128 tiles fill at least one wave of SMs (at MLPerf's
//               batch of 896 on TP 2 every GEMM does: 1.21 x the FLOPs at the large-GEMM
//               rate), at 2 (N + V h) b / R otherwise (cuBLAS then picks smaller tiles or
//               splits k, which the tile model does not describe); MoE: 2 N b / R;
//   attention = max(KV per token per accelerator x C / B, 4 L h C / R); MLA (weight-absorbed
//               decode, as FlashMLA runs it): max(KV x C / B, L heads 2 (576 + 512) C / A)
//               for DeepSeek-V3 (mla_decode_flops_per_context_token), A the prefill attention
//               rate (BF16 peak x attention_efficiency x tp x pp; FlashMLA reaches 660 TFLOPS
//               of the H800's 989 BF16, 0.67, where the catalog has 0.62): the 128 heads share
//               one latent, so a rank with all heads does ~480 FLOPs per FP8 byte read
//               (compute-bound on Hopper), one with heads / tp of them 480 / tp (memory-bound
//               at TP 8 on the H200);
//   B = hbm_bandwidth x kDecodeHbmEfficiency, R = tp x pp x peak x matmul_efficiency.
//   At small batch both are memory-bound and the sum is the whole read, (weights + KV) / B;
//   at large batch the GEMMs are compute-bound and the KV read no longer hides under them.
//   Under PP the batch runs as pp micro-batches of b / pp: each stage reads its weights
//   once per micro-batch, so an iteration (every request advances one token) reads the
//   weights pp times per accelerator: PP buys memory capacity, not decode bandwidth.
// - TP communication: 2 all-reduces per layer (after attention and after the MLP) of
//   tokens x h x 2 bytes (activations stay 16-bit), ring algorithm of collectives.hpp on
//   the level the TP group spans (normally the node's scale-up link); per iteration
//   2 L all-reduces of one micro-batch (tokens / pp). Exposed: not overlapped.
// - PP hand-offs: per iteration pp point-to-point sends of one micro-batch's activations
//   (tokens / pp x h x 2 / tp bytes per rank).
// - Host: + the serving engine's host time per decode step (serving_engine.hpp: L x 0.30 ms
//   at tp > 1 for an eager PyTorch engine without CUDA graphs; nothing for the others).
// Assumptions: decode GEMMs with fewer 256 x 128 tiles than SMs run at the large-GEMM
// efficiency (cuBLAS picks other tiles and split-k there; such small steps are bound by the
// weight read); beyond the engine's host time, no kernel-launch gaps, no sampling, no scheduler
// or other CPU overhead between iterations; compute and HBM traffic overlap perfectly inside a
// kernel; the pipeline never drains between iterations.
// Known error: scripts/validate (docs/models/serving.md): Splitwise's DGX-A100 latencies
// (decode at batch 1 on engine pytorch-eager: -21% / +3%; -67% / -57% on the GPU time alone),
// MLPerf Inference v4.0 llama2-70b at the dataset's mean lengths (+20..+50%) and, out of
// sample, NVIDIA NIM latencies (-18..-32%) and TensorRT-LLM's Llama 3.3 70B throughput table
// (+15..+43%); optimistic everywhere but Splitwise's conversation decode.
#pragma once

#include <vector>

#include "catalog/catalog.hpp"
#include "models/collectives.hpp"
#include "models/serving_engine.hpp"

namespace fleetsim {

// Fraction of HBM bandwidth a memory-bound decode kernel reaches: FlashMLA, DeepSeek's
// decode-attention kernel, reaches "up to 3000 GB/s in memory-bound configuration" on
// an H800 SXM5, whose HBM3 peak is 3.35 TB/s (deepseek-ai/FlashMLA README): 3000/3350.
// A best-kernel figure: whole decode steps (GEMV/skinny GEMM, norms) reach less.
inline constexpr double kDecodeHbmEfficiency = 3000.0 / 3350.0;

// Share of the memory left after weights (and our runtime reserve) that the serving
// engine gives to the KV cache: NVIDIA's MLPerf Inference v4.0 llama2-70b configs set
// kvcache_free_gpu_mem_frac = 0.90 (mlcommons/inference_results_v4.0,
// closed/NVIDIA/configs/llama2-70b/Offline/__init__.py); the rest holds activations.
inline constexpr double kKvCacheMemoryFraction = 0.90;

// Activations travel between ranks in 16-bit even when weights are FP8.
inline constexpr double kActivationBytes = 2.0;

// NVFP4, Blackwell's FP4 format: 4-bit E2M1 values in blocks of 16 sharing one E4M3
// (8-bit) scale, so 16 weights take 8 + 1 = 9 bytes (NVIDIA cuTile "Inference with
// NVFP4" tutorial; Intel Neural Compressor's NVFP4 table: block 16, UE4M3 scale). The
// one FP32 scale per tensor is negligible.
inline constexpr double kNvfp4BytesPerValue = 9.0 / 16.0;

// Bytes of one stored weight at a compute precision: bf16 2, fp8 1, fp4 9/16 (NVFP4).
double bytes_per_value(Precision precision);
// Bytes of one KV-cache value at a compute precision: bf16 2, fp8 1, and fp4 1: under
// FP4 compute the KV cache stays in FP8 (the `fp8` KV-cache option of NVIDIA's
// TensorRT Model Optimizer, hf_ptq.py --kv_cache_qformat, used with --qformat nvfp4;
// an NVFP4 KV cache is newer and not modelled).
double kv_bytes_per_value(Precision precision);

struct ServingSetup {
  const ModelSpec* model = nullptr;
  const Accelerator* accelerator = nullptr;
  int tp = 1;
  int pp = 1;
  Precision precision = Precision::BF16;
  // Weights per accelerator of another model resident on the same replica (a reasoning
  // workload's verifier, a synthetic-data workload's filter): they take HBM from the KV
  // cache but are not read by this model's decode steps.
  Bytes co_resident_weights;
  // Weight-only quantisation (`weights: int4`, AWQ/GPTQ-style W4A16 with Marlin-class
  // kernels): bytes per stored weight; 0 for the compute precision's own size. The
  // arithmetic still runs at `precision`; the KV cache stays at `precision`.
  double weight_bytes_per_param = 0;
  // The serving engine: the host time it adds to each decode step (serving_engine.hpp).
  ServingEngine engine = ServingEngine::Ideal;
  // GEMM (compute) throughput relative to full clock: below 1 on a replica held at a
  // lower DVFS level under a facility power cap (models/power.hpp compute_speed). The
  // compute-bound work (prefill, the FLOP side of each decode roofline) takes 1/speed as
  // long; HBM reads and communication do not change. 1 (exactly: no rounding) uncapped.
  double compute_speed = 1;
};

// The links a replica's TP group and its PP hand-offs use.
struct ServingFabric {
  LinkLevel tp;
  LinkLevel pp;
};

// KV-cache bytes one token of context takes in the whole model.
Bytes kv_bytes_per_token(const ModelSpec& model, Precision precision);

// Decode FLOPs per context token (all layers) of Multi-head Latent Attention run in the
// weight-absorbed form (FlashMLA, SGLang, vLLM, TensorRT-LLM): each of the heads scores
// its query against the kv_lora_rank + qk_rope_head_dim cached values and sums the
// kv_lora_rank latent values: layers x heads x 2 x (576 + 512) for DeepSeek-V3, the count
// deepseek-ai/FlashMLA's benchmark/bench_flash_mla.py uses (FLOPS = s_q x total_seqlens x
// h_q x (d + dv) x 2 with d 576, dv 512).
double mla_decode_flops_per_context_token(const ModelSpec& model);

struct ServingMemory {
  Bytes weights;          // per accelerator
  // Per accelerator and decode step (or prefill): the weights minus the input embedding
  // table, which a step only gathers a row of per token (pp = 1; under PP the most loaded
  // stage is taken to be the last, with the LM head, which is read whole).
  Bytes weights_read;
  Bytes runtime_reserve;  // per accelerator
  Bytes co_resident;      // per accelerator: another model's weights on the same replica
  Bytes capacity;         // HBM per accelerator
  Bytes kv_cache;         // per accelerator given to the KV cache (0 if the weights do not fit)
  Bytes kv_per_token;     // per accelerator, per token of context
  double kv_tokens = 0;   // tokens of context one replica holds
  bool weights_fit() const { return weights + co_resident + runtime_reserve < capacity; }
};

ServingMemory serving_memory(const ServingSetup& setup);

// The cost of one iteration of a replica: the interface the continuous-batching
// schedule (serving_schedule.hpp) is written against.
class IterationCost {
 public:
  virtual ~IterationCost() = default;
  // Prefill of `tokens` prompt tokens from `prompts` prompts whose squared lengths sum to `squared_tokens`.
  virtual Seconds prefill(double tokens, double squared_tokens, int prompts) const = 0;
  // One decode step of `batch` requests holding `context_tokens` tokens of KV cache in all.
  virtual Seconds decode(int batch, double context_tokens) const = 0;
};

struct DecodeBreakdown {
  Seconds hbm, compute;   // all bytes read, all FLOPs
  Seconds gemm;           // the weight GEMMs: max(weight read, their FLOPs)
  Seconds attention;      // attention: max(KV-cache read, its FLOPs)
  Seconds tp_comm, pp_comm;
  Seconds host;           // the engine's host time the GPU waits for (serving_engine.hpp)
  Seconds total;          // gemm + attention + tp_comm + pp_comm + host
};

class ServingStepModel : public IterationCost {
 public:
  ServingStepModel(const ServingSetup& setup, const ServingFabric& fabric);
  Seconds prefill(double tokens, double squared_tokens, int prompts) const override;
  Seconds decode(int batch, double context_tokens) const override;
  DecodeBreakdown decode_breakdown(int batch, double context_tokens) const;
  const ServingMemory& memory() const { return memory_; }

 private:
  Seconds communication(double tokens, Seconds* tp_part, Seconds* pp_part) const;
  // GEMMs of `tokens` rows (the LM head on `prompts` of them) on the slowest stage's rank:
  // the tile-and-wave model of gemm.hpp; with full_waves_only, GEMMs whose tiles do not fill
  // one wave of SMs at the large-GEMM rate instead (decode).
  Seconds matmul(double tokens, int prompts, bool full_waves_only) const;

  ServingSetup setup_;
  ServingFabric fabric_;
  ServingMemory memory_;
  double active_params_ = 0;  // non-embedding, active per token
  FlopRate replica_rate_;     // achievable FLOP/s of the whole replica
  FlopRate attention_rate_;   // achievable FlashAttention FLOP/s of the whole replica
  ByteRate hbm_rate_;         // achievable HBM bytes/s of one accelerator
  // What a decode step costs apart from its KV cache depends on the batch alone; a schedule
  // asks for it at every step (its GEMMs through the tile model were 40% of a shared-fleet
  // run), so it is worked out once per batch size.
  struct BatchTerms {
    Seconds gemm_compute{-1.0}, tp_comm, pp_comm;
  };
  mutable std::vector<BatchTerms> batch_terms_;
  const BatchTerms& batch_terms(int batch) const;
};

}  // namespace fleetsim
