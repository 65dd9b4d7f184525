// Time of the collectives that parallel training and serving use, on one level of the fabric.
//
// Model card
// - Each collective takes the time of the algorithm and protocol NCCL's own cost model
//   would pick for it: the minimum, over the pairs NCCL considers, of latency + bytes /
//   algorithm bandwidth (NCCL 2.20.3, src/graph/tuning.cc, ncclTopoTuneModel and
//   ncclTopoGetAlgoTime; github.com/NVIDIA/nccl commit b6475625, Feb 2024, the release
//   current with H100 systems). Pairs: all-reduce ring or tree x LL, LL128 or Simple;
//   reduce-scatter and all-gather ring x LL, LL128 or Simple (NCCL 2.20 gives them no tree;
//   the PAT algorithm is a later NCCL addition, not in 2.20.3).
// - Latency (us; baseLat + per-step hwLat, NCCL 2.20.3 tables):
//     base: ring LL 6.6, LL128 14.0, Simple 8.4; tree LL 6.8, LL128 14.0, Simple 0.
//     per step, scale-up (NVLink): ring .6 / 1.9 / 3.4, tree .6 / 1.25 / 28.
//     per step, network:           ring 2.7 / 4.0 / 14.0, tree 5.0 / 8.5 / 28.
//   A group inside one scale-up domain (NCCL: one node) pays base + steps x NVLink step,
//   steps = 2(n-1) for all-reduce, n-1 for reduce-scatter/all-gather. A group spanning
//   d domains with k ranks in each (NCCL's nNodes and nRanks/nNodes) is two-level, as
//   NCCL's rings and trees are: the ring pays 2d network steps and 2(n-1)-2d NVLink steps
//   for all-reduce (d-1 and n-d for reduce-scatter/all-gather), an NVLink step counting at
//   least the CPU's network post overhead (1 us, x3 for Simple: getNetOverhead's x86 Intel
//   value; AMD hosts have 2 us, not distinguished here); a multi-node Simple ring
//   all-reduce pays 1.4x its latency (NCCL's "plateau effect of ring", sm80+; NCCL applies
//   it above 64 B per channel per rank, fleetsim always). The tree pays
//   base + 2((k-1) x NVLink step + floor(log2 d) x network step).
// - Bandwidth: B = the level's line rate x its measured NCCL efficiency (below), taken as
//   NCCL's ring/Simple bus bandwidth. Protocol and algorithm factors on B (tuning.cc):
//     ring LL x1/4 (x1/3 for reduce-scatter/all-gather inside one domain), capped at NCCL's
//     LL ceiling (87.7 GB/s in one domain, Ampere/Hopper; 39.0 GB/s over 2 domains, 20.4
//     over more, the x86 Intel row); ring LL128 x0.92 (x0.7 with one rank per domain);
//     tree x0.92, then LL x1/3.8 (same cap), LL128 x7/9 in one domain or x120/128 across;
//     tree bandwidth also x NCCL's tree correction factor for the message size (0.4-1.0).
//   Bus to algorithm bandwidth: ring x n/steps, tree x1/2. Time = latency + S / that.
// - All-to-all (expert dispatch) and point-to-point are NCCL send/receive, outside the
//   tuning model: (n-1)/n x S / B + (n-1) x a and S / B + a, a = the level's `latency`
//   (NCCL's ring/Simple step on that hardware).
// - Achievable fraction: on H100 NVLink (450 GB/s line rate per direction) NCCL reaches an
//   effective 370 GB/s (NCCL maintainer S. Jeaugey, NVIDIA/nccl-tests issue #212, 2024):
//   370/450 on the scale-up fabric (NVLink; carried to ICI and NeuronLink as an
//   assumption, as are NCCL's NVLink latencies and its algorithm choice). On the scale-out
//   network, a ConnectX-7 NIC at NDR 400 Gb/s (50 GB/s) reaches 46-48 GB/s per NIC in NCCL
//   (NCCL maintainer D. Addison, NVIDIA/nccl-tests issues #290 and #267): 47/50 for every
//   network level (InfiniBand HDR/NDR; RoCE, EFA and data-centre links carry it as an
//   assumption).
// - Not modelled: NVLink SHARP (NVLS) and CollNet (the catalog does not say which switches
//   have SHARP, and no measured NVLS bandwidth is carried); NCCL's per-channel bandwidth
//   caps (perChMaxRingLL128Bws, perChMaxTreeBws: fleetsim does not count channels); the
//   tree graph's 0.85 for the plain TREE pattern; PAT; congestion from other jobs (that
//   comes from SimGrid for traffic between pods).
#pragma once

#include "core/units.hpp"

namespace fleetsim {

// NCCL effective / line-rate bandwidth on the scale-up fabric, 370/450 (nccl-tests #212).
inline constexpr double kCollectiveBandwidthEfficiency = 370.0 / 450.0;
// ... and on the scale-out network, 47/50 (nccl-tests #290, #267; see above).
inline constexpr double kNetworkBandwidthEfficiency = 47.0 / 50.0;

// One level of the fabric as one rank of a group sees it.
struct LinkLevel {
  ByteRate bandwidth;  // per rank, per direction, line rate
  Seconds latency;     // per message of a send/receive (point_to_point, all_to_all)
  double efficiency = kCollectiveBandwidthEfficiency;  // achievable / line rate
  // 0: the whole group is inside one scale-up domain (NCCL's single node; an NVLink domain
  // of several hosts counts as one, as NCCL's MNNVL does). Otherwise the group spans
  // domains with this many of its ranks in each: steps inside a domain take NCCL's NVLink
  // latencies, steps between domains its network latencies.
  int ranks_per_domain = 0;
};

// `level` as seen by a group spanning scale-up domains with `ranks_per_domain` ranks in each.
inline LinkLevel across_domains(LinkLevel level, int ranks_per_domain) {
  level.ranks_per_domain = ranks_per_domain;
  return level;
}

enum class CollectiveKind { AllReduce, ReduceScatter, AllGather };
enum class CollectiveAlgorithm { Ring, Tree };
enum class CollectiveProtocol { LL, LL128, Simple };

struct CollectiveChoice {
  CollectiveAlgorithm algorithm = CollectiveAlgorithm::Ring;
  CollectiveProtocol protocol = CollectiveProtocol::Simple;
  Seconds time;
};

// Time of one algorithm and protocol under NCCL's cost model; a negative time if NCCL does
// not offer that pair for the collective (tree for reduce-scatter / all-gather).
Seconds collective_time(CollectiveKind kind, CollectiveAlgorithm algorithm, CollectiveProtocol protocol,
                        Bytes size, int ranks, const LinkLevel& level);
// The pair NCCL's cost model picks (the fastest). NCCL tries the tree first and keeps the first
// minimum, so an exact tie would go to the tree there; here it goes to the ring (harmless: ties
// are measure-zero). NCCL 2.20.3 enables LL128 only on compute capability 7.0/8.0/9.0: its
// use on Blackwell (B200, GB200) is an extrapolation.
CollectiveChoice best_collective(CollectiveKind kind, Bytes size, int ranks, const LinkLevel& level);

// `size` is each rank's whole buffer (all-reduce), its input (reduce-scatter) or its output
// (all-gather), as in NCCL's nBytes for all-reduce and nccl-tests' size for the others.
Seconds all_reduce(Bytes size, int ranks, const LinkLevel& level);
Seconds reduce_scatter(Bytes size, int ranks, const LinkLevel& level);
Seconds all_gather(Bytes size, int ranks, const LinkLevel& level);
// All-to-all where each rank holds `size` bytes, (n-1)/n of which leave it (expert dispatch).
Seconds all_to_all(Bytes size, int ranks, const LinkLevel& level);
Seconds point_to_point(Bytes size, const LinkLevel& level);

}  // namespace fleetsim
