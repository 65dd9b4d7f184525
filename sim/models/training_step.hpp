// Time of one pretraining step and memory per accelerator, for a dense or MoE
// transformer under TP/PP/DP/CP/EP on a placement. Pure functions: no SimGrid.
//
// Model card (first version, issue 2; issue 3 makes it accurate)
// Units: seconds, bytes, FLOP. One step = global_batch sequences of seq_len tokens.
// - Compute: hardware FLOPs per token (transformer.hpp) x tokens / accelerators, at
//   peak(precision) x matmul_efficiency(precision) from the catalog. All FLOPs run at
//   the GEMM rate (attention, norms and element-wise kernels are not separated yet).
// - Pipeline: 1F1B with m = global_batch / (dp x micro_batch) micro-batches per step;
//   bubble = (pp - 1) x (compute / m) (Narayanan et al., SC'21, eq. 1). No interleaving.
// - Megatron rank order tp, cp, dp, pp (tp fastest): a group of n ranks with stride s
//   spans n x s consecutive ranks; it uses the scale-up fabric if that fits in a
//   scale-up domain, the scale-out NICs if it fits in the job's share of a pod, and the
//   inter-pod share otherwise (collectives.hpp gives the algorithms).
// - TP with sequence parallelism: per layer and micro-batch, 2 all-gather/reduce-scatter
//   pairs forward and 2 backward (+2 forward again under full recompute), each the size
//   of the layer's activations b x s/cp x h x 2 bytes (Korthikanti et al. 2022, sec. 4.2.2).
//   Exposed (no TP-communication overlap, Megatron-LM's default).
// - CP: ring attention passes K and V (2 x b x s/cp x kv_dim x 2 bytes) cp-1 times
//   forward and twice that backward; hidden behind the attention core's compute, the
//   excess is exposed.
// - PP: one activation send forward and one gradient send backward per micro-batch and
//   stage (b x s/cp x h x 2 / tp bytes); exposed on the (m + pp - 1) critical path.
// - EP (MoE): 2 all-to-all forward and 2 backward per MoE layer, each of
//   b x s/cp x h x 2 x top_k / tp bytes; exposed.
// - DP: distributed optimizer (ZeRO-1): reduce-scatter of bf16 gradients and all-gather
//   of bf16 parameters, together the volume of one all-reduce of 2 bytes per local
//   parameter; overlapped with the backward and forward of one micro-batch
//   (--overlap-grad-reduce, --overlap-param-gather), the excess exposed.
// - Optimizer: Adam on the local shard (params / dp), 30 bytes of HBM traffic per
//   parameter (read fp32 master, m, v, grad: 16; write master, m, v: 12; bf16 param: 2)
//   at the HBM's full bandwidth (a lower bound; element-wise kernels reach less).
// - Exposed communication never exceeds total communication (asserted in tests).
// Known error: not yet measured against published runs; that is issue 3's validation.
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

struct TrainingSetup {
  const ModelSpec* model = nullptr;
  const Accelerator* accelerator = nullptr;
  Parallelism parallelism;
  int seq_len = 0;
  int global_batch = 0;  // sequences per step
  int micro_batch = 1;
  Precision precision = Precision::BF16;
  RecomputeMode recompute = RecomputeMode::None;
};

// The fabric as one accelerator of the job sees it on its placement.
struct FabricView {
  int scale_up_domain = 1;      // accelerators sharing the scale-up fabric
  LinkLevel scale_up;           // NVLink / ICI / NeuronLink, per accelerator
  int accelerators_in_pod = 1;  // the job's accelerators inside one pod
  LinkLevel scale_out;          // the node's NICs shared by its accelerators
  LinkLevel inter_pod;          // the pod uplink shared by the job's accelerators in the pod
};

struct StepBreakdown {
  Seconds step_time;
  Seconds compute;       // forward, backward and recompute of every micro-batch, one stage
  Seconds bubble;        // pipeline fill and drain
  Seconds optimizer;     // optimizer step on the local shard
  Seconds exposed_comm;  // communication not hidden behind compute
  Seconds total_comm;    // every collective and send, hidden or not
  Seconds tp_comm, cp_comm, pp_comm, dp_comm, ep_comm;  // totals per dimension
  int micro_batches = 0;
  double tokens_per_step = 0;
  double model_flops_per_step = 0;     // SCENARIO.md's convention
  double hardware_flops_per_step = 0;  // with LM head and recompute
};

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

// Parameters held by the most loaded pipeline stage of one accelerator.
double parameters_per_accelerator(const TrainingSetup& setup);

MemoryBreakdown training_memory(const TrainingSetup& setup);
StepBreakdown training_step(const TrainingSetup& setup, const FabricView& fabric);

}  // namespace fleetsim
