// Time of the collectives that parallel training uses, on one level of the fabric.
//
// Model card
// - Ring all-reduce over n ranks of S bytes: 2(n-1)/n * S / B + 2(n-1) * a;
//   reduce-scatter, all-gather and pairwise all-to-all: (n-1)/n * S / B + (n-1) * a;
//   point-to-point: S / B + a.
//   B is the per-rank bandwidth per direction times the achievable fraction below, a the
//   per-hop latency. (Thakur, Rabenseifner & Gropp, "Optimization of Collective
//   Communication Operations in MPICH", IJHPCA 2005.)
// - Achievable fraction: NCCL's protocol overhead is about 20%: on H100 NVLink (450 GB/s
//   line rate per direction) NCCL reaches an effective 370 GB/s (NCCL maintainer
//   S. Jeaugey, NVIDIA/nccl-tests issue #212, 2024): 370/450 on the scale-up fabric
//   (NVLink; carried to ICI and NeuronLink as an assumption). On the scale-out network,
//   a ConnectX-7 NIC at NDR 400 Gb/s (50 GB/s) reaches 46-48 GB/s per NIC in NCCL
//   (NCCL maintainer D. Addison, NVIDIA/nccl-tests issues #290 and #267): 47/50 for
//   every network level (InfiniBand HDR/NDR; RoCE, EFA and data-centre links carry it
//   as an assumption).
// - Not modelled yet: tree and NVLink-SHARP all-reduce, hierarchical two-level
//   collectives, congestion from other jobs (that comes from SimGrid for traffic
//   between pods).
#pragma once

#include "core/units.hpp"

namespace fleetsim {

// NCCL effective / line-rate bandwidth on the scale-up fabric, 370/450 (nccl-tests #212).
inline constexpr double kCollectiveBandwidthEfficiency = 370.0 / 450.0;
// ... and on the scale-out network, 47/50 (nccl-tests #290, #267; see above).
inline constexpr double kNetworkBandwidthEfficiency = 47.0 / 50.0;

// One level of the fabric as one rank sees it.
struct LinkLevel {
  ByteRate bandwidth;  // per rank, per direction, line rate
  Seconds latency;     // per step of the algorithm
  double efficiency = kCollectiveBandwidthEfficiency;  // achievable / line rate
};

Seconds ring_all_reduce(Bytes size, int ranks, const LinkLevel& level);
Seconds ring_reduce_scatter(Bytes size, int ranks, const LinkLevel& level);
Seconds ring_all_gather(Bytes size, int ranks, const LinkLevel& level);
// All-to-all where each rank holds `size` bytes, (n-1)/n of which leave it (expert dispatch).
Seconds all_to_all(Bytes size, int ranks, const LinkLevel& level);
Seconds point_to_point(Bytes size, const LinkLevel& level);

}  // namespace fleetsim
