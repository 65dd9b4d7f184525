// Time of one pretraining step and memory per accelerator, for a dense or MoE
// transformer under TP/PP/DP/CP/EP on a placement. Pure functions: no SimGrid.
//
// Model card (third version: GEMM shapes, communication SMs, network efficiency)
// Units: seconds, bytes, FLOP. One step = global_batch sequences of seq_len tokens,
// m = global_batch / (dp x micro_batch) micro-batches per pipeline.
// - Compute of one pipeline stage, per micro-batch, forward (1 pass), backward (2 passes)
//   and recomputed forward (full: 1 more pass; selective: the attention core again):
//   * matrix multiplies: per weight of the layer (QKV, projection, MLP in and out,
//     routed and shared experts, router; the LM head on the last stage), a forward GEMM
//     (again under full recompute), an input-gradient and a weight-gradient GEMM at the
//     TP shard's shape and the micro-batch's tokens, each timed by gemm.hpp (tile and
//     wave quantization on the GPU's SMs at the measured large-GEMM rate, plus the
//     output write-back; 8 bytes per weight for the fp32 main-gradient accumulation,
//     4 into a bf16 buffer);
//   * the attention core (12 x layers x hidden x seq_len per token; Multi-head Latent
//     Attention 6 x layers x heads x (qk + v) x seq_len, transformer.hpp): with fused (flash)
//     attention at peak(BF16) x attention_efficiency (FlashAttention-2/3 papers,
//     catalog); with standard attention (Megatron-LM 2021) as batched GEMMs at the GEMM
//     rate plus the HBM traffic of the s x s score matrix (write, fused
//     scale-mask-softmax read and write, dropout read, write and mask, read by the
//     second GEMM: 13 bytes per score forward, twice that backward);
//   * element-wise kernels (layer norms, bias+activation, bias+dropout+residual, the
//     loss over the vocabulary) as HBM traffic at kElementwiseHbmEfficiency of the HBM
//     bandwidth: per token and layer, forward 8h (two norms: read h, write h, 16-bit) +
//     14h (two fused bias-dropout-residual: read 2h, write h, 1-byte mask; 12h for a
//     model without dropout) + 4F (GeLU:
//     read F, write F) or 6F (SwiGLU: read 2F, write F) bytes; backward twice that;
//     the fp32 cross entropy 52 x vocab / tp bytes per token (its kernels, counted in
//     training_step.cpp).
//   * FP8 runs: Transformer Engine's quantization of the GEMM inputs (amax pass, cast,
//     transposed or columnwise copy, by recipe and GPU generation; fp8_quantization_bytes),
//     per micro-batch, at the same kElementwiseHbmEfficiency; the layers' weights cast (or,
//     as FP8 primary weights, transposed) once per step, per micro-batch under ZeRO-3.
// - The slowest stage sets the pace: a full stage (ceil(layers / pp) layers) or the last
//   (its layers plus the LM head and the loss). When pp does not divide the layers, the
//   first and last stages hold fewer (Llama 3 405B on 16 stages: 7, 8 x 14, 7);
//   otherwise every stage holds layers / pp and the last is the slowest.
// - Memory (training_memory): weights, gradients, optimizer state by ZeRO stage (see
//   MemoryBreakdown); activations per token and layer after Korthikanti et al. 2022
//   (34h for GPT with flash attention, generalised to GQA, MLA and gated MLPs, 2h less
//   without dropout; training_step.cpp), times the micro-batches the stage holds in flight (1F1B: pp - i
//   on stage i; interleaved: pp + (pp - 1 - 2i) / v), the worst of the first, a full and
//   the last stage.
// - Pipeline: 1F1B, or interleaved 1F1B with v virtual stages per device; bubble =
//   (pp - 1) / v x one micro-batch's stage time (Narayanan et al., SC'21, sec. 2.2).
// - Rank order tp, cp, dp, pp (Megatron's default, tp fastest) or tp, cp, pp, dp
//   (rank_order): a group of n ranks with stride s spans n x s consecutive ranks; it
//   uses the scale-up fabric if that fits in a scale-up domain, the scale-out NICs if it
//   fits in the job's share of a pod, and the inter-pod share otherwise
//   (collectives.hpp gives the algorithms). Off the scale-up fabric, a ring's k = node
//   size / stride members on one node pool its NICs (NCCL runs one channel per NIC), up
//   to the scale-up bandwidth that feeds them; across pods its members in one pod pool
//   their uplink shares the same way, up to their NICs.
//   On a torus scale-up fabric (TPU ICI, Trainium NeuronLink) a group of n consecutive
//   ranks spans k = ceil(log n / log side) of its d dimensions (side = domain^(1/d)) and
//   its ring collectives use only those dimensions' links: k/d of the chip's bandwidth.
// - TP with sequence parallelism: per layer and micro-batch, 2 all-gather/reduce-scatter
//   pairs forward and 2 backward (+2 forward again under full recompute), each the size
//   of the layer's activations b x s/cp x h x 2 bytes (Korthikanti et al. 2022, 4.2.2).
//   With TP-communication overlap (Megatron-Core --tp-comm-overlap) it hides behind the
//   stage's matrix multiplies, the excess exposed; without, all of it is exposed.
// - CP: ring attention passes K and V (2 x b x s/cp x kv_dim x 2 bytes) cp-1 times
//   forward and twice that backward, hidden behind the attention core; excess exposed.
// - PP: one activation send forward and one gradient send backward per micro-batch,
//   stage and virtual stage (b x s/cp x h x 2 / tp bytes with scatter/gather), each rank
//   through its own NIC share; exposed under plain 1F1B; under the interleaved schedule
//   each send hides behind the next model chunk's forward pass (1 / v of a micro-batch's
//   forward), the excess exposed (Megatron-LM's overlap_p2p_comm, on by default for the
//   interleaved schedule only; Llama 3's asynchronous P2P, arXiv 2407.21783 sec. 3.3.2).
// - EP (MoE): dispatch and combine all-to-alls forward and backward per MoE layer,
//   b x s/cp x h x copies / tp elements each (copies = top_k, or min(top_k,
//   max_routed_nodes) off-node under node-limited routing; dispatch in FP8 when training
//   in FP8, the rest BF16), each rank through its own NIC share; exposed,
//   or hidden behind compute with overlap.ep_comm (DeepSeek-V3's DualPipe). Routed-expert
//   GEMMs run kMoeLoadImbalance times their mean (the busiest rank sets the pace).
// - DP: gradients reduced in fp32 (Megatron-LM accumulates and reduces bf16 models'
//   gradients in fp32; Llama 3 reduce-scatters in fp32 too), 4 bytes per local
//   parameter; parameters gathered in bf16 (2 bytes); grad_reduce_in_fp32: false reduces
//   2 bytes, fp8_param_gather gathers 1 (precision_bytes). By ZeRO stage z (options):
//   z = 0: one all-reduce per step; z = 1 (distributed optimizer): one reduce-scatter
//   and one all-gather per step; z = 2: a reduce-scatter per micro-batch (the gradients
//   are sharded, so each micro-batch's are reduced as they are produced) and one
//   all-gather per step; z = 3: per micro-batch and layer, an all-gather of the layer's
//   parameters in forward and another in backward, and a reduce-scatter of its
//   gradients (Rajbhandari et al. 2020; PyTorch FSDP, Zhao et al. 2023). With overlap
//   (--overlap-grad-reduce, --overlap-param-gather) gradient reduction hides behind the
//   backward pass it follows (z <= 1: the last micro-batch's; z = 2: each but the last
//   has until the next micro-batch's reduction, one forward and backward), parameter gathers behind
//   the forward (and under z = 3 the backward) pass they feed, the excess exposed;
//   z = 3's first layer gather has nothing before it and is always exposed.
//   Hybrid sharding (options.zero_group = g < dp): the stage's collectives run over the
//   g consecutive DP ranks of a group (on the level g x dp stride ranks span), and once
//   per step each rank all-reduces its 1/g shard of the fp32 gradients with its dp / g
//   peers in the other groups (stride g x dp stride), after the last reduction of the
//   step: it hides behind the last micro-batch's backward with that reduction.
// - Optimizer: Adam on the local shard (params / g for z >= 1), 30 bytes of HBM
//   traffic per parameter (precision_bytes: fewer with 16-bit or FP8 state), at
//   kElementwiseHbmEfficiency.
// - Pipeline bubble: (pp - 1) / v x (one micro-batch's compute + its exposed TP, CP and
//   EP communication).
// - Interference: hidden communication holds kCommunicationSms SMs while it runs, so
//   the step pays hidden_comm x kCommunicationSms / SMs more (GPUs only).
// - Exposed communication never exceeds total communication (asserted in tests).
// Known error: docs/models/training.md (scripts/validate regenerates it).
#pragma once

#include <string>

#include "catalog/catalog.hpp"
#include "models/collectives.hpp"
#include "models/transformer.hpp"

namespace fleetsim {

struct Parallelism {
  int tp = 1, pp = 1, dp = 1, cp = 1, ep = 1;
  bool automatic = false;  // `parallelism: auto` (issue 3)
  int product() const { return tp * pp * dp * cp; }  // EP splits experts across DP ranks
};

enum class AttentionKernel { Flash, Standard };

// Which parallel dimension varies fastest across consecutive ranks, after TP and CP:
// Megatron-Core's default order tp-cp-(ep)-dp-pp puts pipeline stages farthest apart;
// its --use-tp-pp-dp-mapping, and Llama 3's [TP, CP, PP, DP] (Llama 3 paper, sec.
// 3.3.2), keep a pipeline close and spread data parallelism farthest.
enum class RankOrder { TpCpDpPp, TpCpPpDp };

// FP8 scaling recipes, by Megatron-LM's --fp8-recipe names (megatron/training/arguments.py:
// choices tensorwise, delayed, mxfp8, blockwise; default delayed), each a Transformer Engine
// recipe: delayed = DelayedScaling (per-tensor scale from an amax history), tensorwise =
// Float8CurrentScaling (per-tensor scale from the tensor's own amax: Megatron-Bridge's
// "FP8-CS"), blockwise = Float8BlockScaling (1x128 activation/gradient and 128x128 weight
// blocks, DeepSeek-V3's scheme), mxfp8 = MXFP8BlockScaling (1x32 blocks, Blackwell only).
enum class Fp8Recipe { Delayed, Tensorwise, Blockwise, Mxfp8 };
const char* fp8_recipe_name(Fp8Recipe recipe);  // "delayed", "tensorwise", "blockwise", "mxfp8"

// Storage dtypes of Megatron-Core's optimizer options.
enum class StateDtype { FP32, BF16, FP16, FP8 };
double dtype_bytes(StateDtype dtype);  // 4, 2, 2, 1

// Megatron-Core OptimizerConfig (megatron/core/optimizer/optimizer_config.py, NVIDIA/Megatron-LM
// commit 0075637): with use_precision_aware_optimizer (TransformerEngine's FusedAdam; only
// with the distributed optimizer) the master parameters, main gradients and Adam moments
// may be stored below fp32; without it every dtype must be fp32 (its __post_init__ asserts).
// Defaults are Megatron-Core's.
struct OptimizerPrecision {
  bool precision_aware = false;                 // use_precision_aware_optimizer
  StateDtype main_grads = StateDtype::FP32;     // main_grads_dtype: fp32 | bf16
  StateDtype main_params = StateDtype::FP32;    // main_params_dtype: fp32 | fp16
  StateDtype exp_avg = StateDtype::FP32;        // exp_avg_dtype: fp32 | fp16 | bf16 | fp8
  StateDtype exp_avg_sq = StateDtype::FP32;     // exp_avg_sq_dtype: fp32 | fp16 | bf16 | fp8
  bool store_param_remainders = true;           // store_param_remainders (default true, TE >= 2.1)
};

// The overlaps and optimizer layout Megatron-LM offers; defaults are Megatron-Core's
// recommended settings for large runs.
struct TrainingOptions {
  AttentionKernel attention = AttentionKernel::Flash;
  bool overlap_grad_reduce = true;
  bool overlap_param_gather = true;
  bool overlap_tp_comm = true;
  bool overlap_ep_comm = false;   // expert all-to-alls hidden behind compute (DualPipe)
  bool overlap_pp_comm = true;    // interleaved pipelines' sends behind the next chunk (Megatron's overlap_p2p_comm)
  // ZeRO stage over the DP group (Rajbhandari et al. 2020): 0 nothing sharded (gradients
  // all-reduced); 1 optimizer state sharded (Megatron-LM's distributed optimizer, the
  // default); 2 gradients sharded too, reduce-scattered every micro-batch (FSDP without
  // resharding parameters after forward, as Llama 3 ran); 3 parameters sharded too,
  // all-gathered layer by layer in forward and again in backward (FSDP / ZeRO-3).
  int zero_stage = 1;
  // Hybrid sharding: the data-parallel ranks the ZeRO stage shards over (`zero_group`).
  // 0 (the default) is all of dp, as above; g < dp (a divisor of dp) shards within each
  // group of g consecutive DP ranks and replicates across the dp / g groups, which
  // all-reduce their 1/g gradient shard once per step: PyTorch FSDP's HYBRID_SHARD,
  // DeepSpeed's MiCS (Zhang et al. 2023, arXiv 2304.11277, "partition within a subgroup"),
  // PaLM's parameters sharded within each TPU v4 pod (Chowdhery et al. 2022, arXiv
  // 2204.02311, sec. 4). kZeroGroupAuto: `parallelism: auto` chooses between all of dp and
  // the DP ranks of one pod.
  int zero_group = 0;
  bool sequence_parallel = true;  // Megatron-LM --sequence-parallel (Korthikanti et al. 2022)
  int virtual_stages = 1;         // interleaved 1F1B when > 1
  RankOrder rank_order = RankOrder::TpCpDpPp;
  // Gradient and parameter precision, named and defaulted as in Megatron-Core (see
  // PrecisionBytes for what each changes). grad_reduce_in_fp32: the dtype of the
  // main-gradient buffer the backward accumulates into and the DP collectives reduce.
  // DistributedDataParallelConfig's dataclass default is False, but Megatron-LM's
  // arguments.py turns it on for bf16 runs (accumulate_allreduce_grads_in_fp32) unless
  // --grad-reduce-in-bf16, and Megatron-Bridge's bf16 mixed precision does the same: true.
  bool grad_reduce_in_fp32 = true;
  // fp8_param_gather (Megatron-LM --fp8-param-gather; Megatron-Bridge's
  // MixedPrecisionConfig keeps fp8_param in step with it): the model's primary weights are
  // FP8 tensors and the distributed optimizer all-gathers them in FP8. Only with precision
  // fp8 and ZeRO >= 1 (megatron/training/arguments.py: "--fp8-param-gather only supported
  // with distributed optimizer, torch fsdp2, megatron fsdp").
  bool fp8_param_gather = false;
  // The FP8 scaling recipe of a precision: fp8 run (Megatron-LM --fp8-recipe, default
  // delayed; see Fp8Recipe). Ignored for bf16.
  Fp8Recipe fp8_recipe = Fp8Recipe::Delayed;
  OptimizerPrecision optimizer;
};

inline constexpr int kZeroGroupAuto = -1;

struct TrainingSetup {
  const ModelSpec* model = nullptr;
  const Accelerator* accelerator = nullptr;
  Parallelism parallelism;
  int seq_len = 0;
  int global_batch = 0;  // sequences per step
  int micro_batch = 1;
  Precision precision = Precision::BF16;
  RecomputeMode recompute = RecomputeMode::None;
  TrainingOptions options;
};

// The fabric as one accelerator of the job sees it on its placement.
struct FabricView {
  int scale_up_domain = 1;      // accelerators sharing the scale-up fabric
  int accelerators_per_node = 1;  // ranks of a group on one node pool the node's NICs
  int scale_up_torus_dims = 0;    // 0: switched; 2 or 3: a torus (see group_level)
  LinkLevel scale_up;           // NVLink / ICI / NeuronLink, per accelerator
  int accelerators_in_pod = 1;  // the job's accelerators inside one pod
  LinkLevel scale_out;          // the node's NICs shared by its accelerators
  LinkLevel inter_pod;          // the pod uplink shared by the job's accelerators in the pod
};

struct StepBreakdown {
  Seconds step_time;
  Seconds compute;       // forward, backward and recompute of every micro-batch, slowest stage
  Seconds compute_matmul, compute_attention, compute_elementwise;  // its parts
  Seconds bubble;        // pipeline fill and drain
  Seconds optimizer;     // optimizer step on the local shard
  Seconds exposed_comm;  // communication not hidden behind compute
  Seconds comm_interference;  // compute slowed by the SMs hidden communication holds
  Seconds total_comm;    // every collective and send, hidden or not
  Seconds tp_comm, cp_comm, pp_comm, dp_comm, ep_comm;  // totals per dimension
  int micro_batches = 0;
  double tokens_per_step = 0;
  double model_flops_per_step = 0;     // SCENARIO.md's convention
  double hardware_flops_per_step = 0;  // with LM head and recompute
};

// Memory of the most loaded accelerator (the first pipeline stage: it holds the most
// in-flight micro-batches). Weights 2 bytes per parameter (2/g with ZeRO-3, plus the
// gathered layer and the one prefetched), fp32 gradients 4 (4/g from ZeRO-2, plus the
// fp32 buffers of the layer being reduced and the next), optimizer state 12 (fp32
// master, Adam moments; 12/g from ZeRO-1), g the ZeRO group (zero_group_size: dp unless
// hybrid sharding); those are the defaults, the precision options change them
// (precision_bytes; the optimizer's transient fp32 gradient copy counts only beyond the
// activations and logits, which are freed before it is made). Activations: Korthikanti
// et al. 2022.
struct MemoryBreakdown {
  Bytes weights, gradients, optimizer_state, activations, logits, runtime_reserve;
  Bytes total() const { return weights + gradients + optimizer_state + activations + logits + runtime_reserve; }
  Bytes capacity;
  bool fits() const { return total() <= capacity; }
  std::string largest_term() const;  // "optimizer state (812.0 GB)"
};

// CUDA context and communication buffers kept out of the model's reach: the CUDA
// context alone is ~300 MB with lazy module loading and over 1 GB without (PyTorch
// maintainer, pytorch/pytorch#107667); we reserve 1 GiB for it and 1 GiB for NCCL
// buffers and workspaces (an estimate; issue 3 checks it against published OOM limits).
inline constexpr double kRuntimeReserveBytes = 2.0 * 1024 * 1024 * 1024;

// MoE: the busiest expert rank's routed tokens over the mean. Switch Transformer trains
// with a capacity factor of 1.0-1.25 (Fedus et al. 2021, sec. 2.2), i.e. provisions each
// expert for up to 1.25x its mean load; we take that upper value as the imbalance a
// balanced, dropless router leaves (an assumption, not a measurement of any router).
inline constexpr double kMoeLoadImbalance = 1.25;

// Element-wise kernels stream memory like STREAM's triad, which reaches about 92% of the
// HBM's peak on H100 (3.09 of 3.35 TB/s, a published CUDA triad run: "measured_peak_gbs
// 3089.3"); we use 0.9 for every accelerator.
inline constexpr double kElementwiseHbmEfficiency = 0.9;

// Communication kernels overlapped with compute occupy SMs: DeepSeek-V3 reports that 20
// of the H800's 132 SMs are what it takes to saturate both InfiniBand and NVLink with its
// all-to-all kernels (DeepSeek-AI 2024, arXiv 2412.19437, sec. 3.2.2). While hidden
// communication runs, the model charges compute the share kCommunicationSms / SMs of
// its time (for GPUs with an SM count in the catalog).
inline constexpr double kCommunicationSms = 20;

// Bytes per parameter of each training-state term under the setup's precision options
// (the model card's defaults: 2, 4, 4 + 4 + 4, no copy, 30). Megatron-Core
// (NVIDIA/Megatron-LM; the distributed optimizer's table of bytes per parameter,
// docs.nvidia.com/megatron-core/developer-guide/latest/api-guide/dist_optimizer.html:
// bf16 parameters with fp32 gradients 6 + 12/d, 16-bit parameters with 16-bit gradients
// 4 + 16/d):
// - weight: 2 (bf16), 1 with fp8_param_gather (FP8 primary weights); also the bytes per
//   parameter the parameter all-gather moves;
// - grad: the main-gradient buffer, 4 with grad_reduce_in_fp32 (the default), else 2; also
//   the bytes per parameter the gradient reduce-scatter / all-reduce moves, and half the
//   bytes the fused weight-gradient GEMM reads and writes to accumulate into it;
// - master, exp_avg, exp_avg_sq: the optimizer's shard (divided by the ZeRO group): fp32
//   each by default; with the precision-aware optimizer the configured dtypes, and a bf16
//   model's fp32 master stored as its 16-bit remainder beside the bf16 weight (2 bytes,
//   store_param_remainders: "store the 16-bit FP32 parameter remainders in the optimizer
//   state, excluding the 16 bits shared with the BF16 parameters", optimizer_config.py);
// - grad_copy: the fp32 copy the distributed optimizer makes of its 16-bit gradient shard
//   (distrib_optimizer.py _copy_model_grads_to_main_grads: shard_model_grad.float(), the 16/d
//   of the table); 0 for an fp32 buffer (float() copies nothing) and when the precision-aware
//   optimizer reads the shard in place (decoupled_grad: when main_params_dtype is not fp32,
//   or the run is not FP8 -- Megatron-Core's use_precision_aware_optimizer_no_fp8_or_ds_fp8;
//   fleetsim's fp8 is a current-scaling recipe, not delayed scaling). It is made at the
//   optimizer step and freed by the next step's zero_grad, so it never meets the
//   activations: training_memory charges only what it exceeds them by;
// - optimizer_traffic: HBM bytes of the Adam step per local parameter: read the gradient
//   (4, or the 16-bit shard in place), the fp32 copy (read 2, write 4) if made, read and
//   write master and both moments, and write the updated weight (read and write the bf16
//   weight that holds the master's upper half, with remainders).
struct PrecisionBytes {
  double weight = 2, grad = 4, master = 4, exp_avg = 4, exp_avg_sq = 4, grad_copy = 0;
  double optimizer_traffic = 30;
  double optimizer_state() const { return master + exp_avg + exp_avg_sq + grad_copy; }
};
PrecisionBytes precision_bytes(const TrainingSetup& setup);

// HBM traffic of the FP8 quantization kernels Transformer Engine runs around the GEMMs of an
// FP8 run (zero for bf16): what comes on top of the norm, activation and residual kernels the
// element-wise term already counts. Per layer (the stage's average of dense and MoE layers),
// per token of one rank's micro-batch (b x s / cp): forward (the four GEMM inputs: QKV,
// attention projection, MLP in and out) and backward (the four output gradients); and per
// local transformer-layer weight, once per step (TE caches the FP8 weights across
// micro-batches: Megatron-Core passes is_first_microbatch), per micro-batch under ZeRO-3
// (the gathered weights are freed). Per element quantized (see training_step.cpp,
// fp8_tensor_bytes, for the sources): an amax pass reading 2 bytes (tensorwise, unless
// the producing norm or activation kernel computes it), the cast reading 2 and writing 1,
// and where the GEMM needs the other operand layout a columnwise copy: on Hopper/Ada a
// transposed FP8 copy (1 byte written in the cast, or read 1 + write 1 after a
// sequence-parallel all-gather, on the gathered tensor); on Blackwell per-tensor FP8 needs
// none; block recipes quantize columnwise from the high-precision source (1 byte more,
// plus the block scales).
struct Fp8QuantizationBytes {
  double forward_per_token = 0;   // per layer
  double backward_per_token = 0;  // per layer
  double weight_per_parameter = 0;
};
Fp8QuantizationBytes fp8_quantization_bytes(const TrainingSetup& setup);

// Parameters held by the most loaded pipeline stage of one accelerator.
double parameters_per_accelerator(const TrainingSetup& setup);

// The DP ranks the ZeRO stage shards over: options.zero_group when it is set (1 .. dp),
// all of dp otherwise (and always for ZeRO-0, which shards nothing).
int zero_group_size(const TrainingSetup& setup);

MemoryBreakdown training_memory(const TrainingSetup& setup);
StepBreakdown training_step(const TrainingSetup& setup, const FabricView& fabric);

}  // namespace fleetsim
