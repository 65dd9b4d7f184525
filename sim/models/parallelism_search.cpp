#include "models/parallelism_search.hpp"

#include <algorithm>
#include <vector>

namespace fleetsim {
namespace {

// Per-step latencies as in the engine (NCCL ring, Simple protocol; see simulation.cpp).
constexpr double kScaleUpStepLatencyS = 3.4e-6;
constexpr double kScaleOutStepLatencyS = 14.0e-6;

std::vector<int> powers_of_two_up_to(int limit) {
  std::vector<int> out;
  for (int v = 1; v <= limit; v *= 2) out.push_back(v);
  return out;
}

}  // namespace

FabricView nominal_fabric(const NodeType& node, int accelerators_in_pod, double oversubscription) {
  FabricView f;
  f.scale_up_domain = node.scale_up_domain;
  f.accelerators_per_node = node.accelerators;
  f.scale_up_torus_dims = node.scale_up_torus_dims;
  f.scale_up = {node.scale_up_bandwidth, Seconds(kScaleUpStepLatencyS)};
  f.accelerators_in_pod = accelerators_in_pod;
  const ByteRate nic_share = node.nic_bandwidth * (double(node.nics) / node.accelerators);
  f.scale_out = {nic_share / oversubscription, Seconds(kScaleOutStepLatencyS), kNetworkBandwidthEfficiency};
  f.inter_pod = f.scale_out;
  return f;
}

std::optional<ParallelismChoice> search_parallelism(const TrainingSetup& base, int gpus, const FabricView& fabric) {
  const ModelSpec& m = *base.model;
  std::optional<ParallelismChoice> best;
  int candidates = 0, fitting = 0;
  const int tp_limit = std::max(1, std::min(fabric.scale_up_domain, m.heads));
  const std::vector<int> cps = base.seq_len >= 16384 ? powers_of_two_up_to(8) : std::vector<int>{1};
  const std::vector<int> eps = m.is_moe() ? powers_of_two_up_to(m.experts) : std::vector<int>{1};
  for (int tp : powers_of_two_up_to(tp_limit)) {
    if (gpus % tp != 0 || m.heads % tp != 0) continue;
    for (int cp : cps) {
      if ((gpus / tp) % cp != 0 || base.seq_len % cp != 0) continue;
      const int rest = gpus / tp / cp;
      for (int pp = 1; pp <= std::min(rest, m.layers); ++pp) {
        if (rest % pp != 0) continue;
        const int dp = rest / pp;
        // ZeRO groups: all of dp, and under `zero_group: auto` also the DP ranks one pod
        // holds (the largest divisor of dp whose ranks, dp stride apart, fit in the job's
        // share of a pod), when that is fewer; a fixed zero_group where it divides dp.
        std::vector<int> groups{0};
        if (base.options.zero_group == kZeroGroupAuto) {
          const int dp_stride = base.options.rank_order == RankOrder::TpCpPpDp ? tp * cp * pp : tp * cp;
          const int fit = fabric.accelerators_in_pod / dp_stride;
          int pod_group = 0;
          for (int g = std::min(fit, dp - 1); g >= 1 && pod_group == 0; --g)
            if (dp % g == 0) pod_group = g;
          if (pod_group > 0 && fit < dp) groups.push_back(pod_group);
        } else if (base.options.zero_group > 0) {
          if (dp % base.options.zero_group != 0) continue;
          groups[0] = base.options.zero_group;
        }
        for (int ep : eps) {
          if (dp % ep != 0 || (m.is_moe() && m.experts % ep != 0)) continue;
          for (int micro_batch : {1, 2, 4, 8}) {
            if (base.global_batch % (dp * micro_batch) != 0) continue;
            for (RecomputeMode recompute : {RecomputeMode::None, RecomputeMode::Selective, RecomputeMode::Full}) {
              for (int zero = base.options.zero_stage; zero <= 3; ++zero) {
                if (zero > base.options.zero_stage && dp == 1) break;  // nothing to shard over
                // Megatron-Core's precision-aware optimizer lives in its distributed
                // optimizer (ZeRO-1) only (workload_reader.cpp checks the workload's stage).
                if (zero > base.options.zero_stage && base.options.optimizer.precision_aware) break;
                for (int group : groups) {
                  if (zero == 0 && group > 0) break;  // ZeRO-0 shards nothing
                  TrainingSetup s = base;
                  s.parallelism = Parallelism{tp, pp, dp, cp, ep, false};
                  s.micro_batch = micro_batch;
                  s.recompute = recompute;
                  s.options.zero_stage = zero;
                  s.options.zero_group = group;
                  ++candidates;
                  if (!training_memory(s).fits()) continue;
                  ++fitting;
                  const StepBreakdown step = training_step(s, fabric);
                  if (!best || step.step_time < best->step.step_time) best = ParallelismChoice{s, step, 0, 0};
                }
              }
            }
          }
        }
      }
    }
  }
  if (best) {
    best->candidates = candidates;
    best->fitting = fitting;
  }
  return best;
}

}  // namespace fleetsim
