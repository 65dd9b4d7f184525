// `parallelism: auto`: the fastest TP/PP/DP/CP/EP split, micro-batch and recompute mode
// that fits in memory, for a given number of accelerators on a given fabric.
//
// The search is exhaustive over a small, Megatron-shaped space: TP a power of two that
// divides the attention heads and stays within the scale-up domain; PP any divisor of
// the remaining ranks up to the layer count; CP a power of two up to 8 that divides the
// sequence (only for sequences of 16K tokens or more, where ring attention pays);
// EP (MoE only) a power of two dividing both the experts and DP; micro-batch 1, 2, 4 or
// 8 where the global batch allows; recompute none, selective, full; the ZeRO stage from
// the workload's (1 by default) up to 3: sharding deeper saves memory at the price of
// more DP traffic, and the search never shards less than the workload asks; under
// `zero_group: auto` the group the stage shards over, all of dp or the DP ranks of one
// pod (hybrid sharding, training_step.hpp), doubling the sharded candidates. Every
// candidate is one training_step and one training_memory evaluation (about a
// microsecond), so 405B on 16,384 GPUs (about 9,000 candidates) takes milliseconds.
#pragma once

#include <optional>

#include "models/training_step.hpp"

namespace fleetsim {

struct ParallelismChoice {
  TrainingSetup setup;  // the base setup with parallelism, micro-batch and recompute chosen
  StepBreakdown step;
  int candidates = 0;   // configurations evaluated
  int fitting = 0;      // of which fit in memory
};

// nullopt when no configuration fits (the caller reports it as an input error).
std::optional<ParallelismChoice> search_parallelism(const TrainingSetup& base, int gpus, const FabricView& fabric);

// The fabric an accelerator of a node type sees, for planning before placement.
FabricView nominal_fabric(const NodeType& node, int accelerators_in_pod, double oversubscription);

}  // namespace fleetsim
