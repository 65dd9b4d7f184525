// The serving engine (software stack) a replica runs, and the host time per decode step it
// adds on top of the GPU time of serving_step.hpp. Pure functions: no SimGrid.
//
// Model card
// - A decode step's kernels are launched by the host. An engine that captures the step in a
//   CUDA graph (vLLM >= 0.2.6, vllm-project/vllm#1926, Dec 2023; SGLang; TensorRT-LLM) launches
//   it once; an engine that runs PyTorch eagerly launches every kernel of every layer from
//   Python, and at small batch the GPU finishes a layer's kernels sooner than the host
//   launches the next ones, so it waits for the host.
// - `pytorch-eager` (vLLM before 0.2.6, so Splitwise's 2023 prototype, vllm-project/vllm#2472;
//   metaseq; Hugging Face generate): each decode step pays L x a per-layer host time on top
//   of the GPU time (serially: no overlap), the time that CUDA graphs were measured to remove:
//     with tensor parallelism (tp > 1): (95 - 66) ms / 96 layers = 0.302 ms per layer, OPT-175B
//       on 8 A100 with 8-way model parallelism, batch 1, per-token latency 95 ms eager and 66 ms
//       with one CUDA graph (facebookresearch/metaseq#270, 2022-07-28);
//     on one accelerator (tp = 1): (1.2 - 1.05) s / 100 tokens / 32 layers = 0.047 ms per layer,
//       Llama 2 7B in vLLM without tensor parallelism, batch 1, 5 input and 100 output tokens,
//       "about 1.2 s" eager and "about 1.05 s" with CUDA graphs (vllm-project/vllm#1440,
//       2023-10-20). vLLM's PR #1926 says CUDA graphs help most "for small models and when
//       using tensor parallelism", which is why the two regimes carry different figures.
//   Under pp the slowest stage launches its L / pp layers for each of pp micro-batches: L layers
//   per iteration either way. Prefill is not charged: a prompt's layers run for milliseconds
//   each (2 ms per layer for a 1,500-token prompt of Llama 2 70B at TP 8 on A100), long enough
//   for the host to queue the next kernels ahead of the GPU; both measurements are of decode.
// - `tensorrt-llm` (NVIDIA MLPerf v4.0 harness, NIM, trtllm-bench) and `ideal` (the default,
//   fleetsim's behaviour before engines were named): no host time is added. For TensorRT-LLM
//   this is a gap, not a claim: no published per-step host figure for its C++ runtime or its
//   overlap scheduler was found (docs/models/serving.md lists what was searched).
// Not modelled, for want of a sourced per-step figure: vLLM 0.2.6-0.5.x (CUDA graphs, but its
// Python scheduler and output processing block the GPU: the v0.6.0 blog gives only shares, 29%
// scheduling and 38% GPU for Llama 3 8B on an H100, not a time per step); engines that overlap
// host work with the next step (vLLM >= 0.6 async output processing, SGLang >= 0.4's
// zero-overhead scheduler, TensorRT-LLM's overlap scheduler), which would be max(host, GPU).
// Known error: the two figures are batch-1 measurements; vllm#1440's author saw no gain from
// CUDA graphs "at bigger batch sizes", so at large batch `pytorch-eager` is pessimistic (the
// host time then hides under longer kernels). Per-layer host time also differs by stack and
// host CPU (metaseq's is a different code base from vLLM's).
#pragma once

#include <string>

#include "core/units.hpp"

namespace fleetsim {

enum class ServingEngine { Ideal, PytorchEager, TensorRtLlm };

// Host time CUDA graphs removed per layer of a decode step (see the model card above).
inline constexpr double kEagerHostPerLayerTpS = (95e-3 - 66e-3) / 96.0;         // metaseq#270
inline constexpr double kEagerHostPerLayerSingleS = (1.2 - 1.05) / 100.0 / 32;  // vllm#1440

inline const char* serving_engine_name(ServingEngine e) {
  switch (e) {
    case ServingEngine::PytorchEager: return "pytorch-eager";
    case ServingEngine::TensorRtLlm: return "tensorrt-llm";
    case ServingEngine::Ideal: break;
  }
  return "ideal";
}

// Host time one decode iteration of a replica with `layers` layers and `tp`-way tensor
// parallelism waits for, on top of its GPU time.
inline Seconds decode_host_overhead(ServingEngine e, int layers, int tp) {
  if (e != ServingEngine::PytorchEager) return Seconds(0);
  return Seconds(double(layers) * (tp > 1 ? kEagerHostPerLayerTpS : kEagerHostPerLayerSingleS));
}

}  // namespace fleetsim
