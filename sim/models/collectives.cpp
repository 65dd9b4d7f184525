#include "models/collectives.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace fleetsim {
namespace {

// NCCL 2.20.3 src/graph/tuning.cc (github.com/NVIDIA/nccl commit b6475625), in us, indexed
// [protocol] = LL, LL128, Simple.
constexpr double kRingBaseUs[3] = {6.6, 14.0, 8.4};   // baseLat, Ring
constexpr double kTreeBaseUs[3] = {6.8, 14.0, 0.0};   // baseLat, Tree
constexpr double kRingNvlinkStepUs[3] = {0.6, 1.9, 3.4};   // hwLat[NVLINK][Ring]
constexpr double kTreeNvlinkStepUs[3] = {0.6, 1.25, 28.0};  // hwLat[NVLINK][Tree]
constexpr double kRingNetStepUs[3] = {2.7, 4.0, 14.0};     // hwLat[NET][Ring]
constexpr double kTreeNetStepUs[3] = {5.0, 8.5, 28.0};     // hwLat[NET][Tree]
// getNetOverhead: x86 Intel host, 1 us per network post; ring steps inside a node of a
// multi-node ring take at least this, x3 for Simple.
constexpr double kNetOverheadUs = 1.0;
constexpr double kSimpleNetOverheadFactor = 3.0;
// "Plateau effect of ring": multi-node Simple ring all-reduce, compute capability >= 80.
constexpr double kRingPlateauFactor = 1.4;
// llMaxBws, GB/s of bus bandwidth for LL: one node (Ampere/Hopper row), 2 nodes and more
// (x86 Intel row).
constexpr double kLlMaxOneNode = 87.7e9;
constexpr double kLlMaxTwoNodes = 39.0e9;
constexpr double kLlMaxMoreNodes = 20.4e9;
// Protocol / algorithm factors on the bus bandwidth.
constexpr double kRingLlFactor = 1.0 / 4.0;        // all-reduce, or any ring across nodes
constexpr double kRingLlFactorOneNode = 1.0 / 3.0;  // reduce-scatter / all-gather in one node
constexpr double kRingLl128Factor = 0.92;          // "120.0/128.0" as NCCL rounds it
constexpr double kRingLl128OneRankPerNode = 0.7;   // ppn < 2: the GPU both sends and receives via the NIC
constexpr double kTreeFactor = 0.92;
constexpr double kTreeLlFactor = 1.0 / 3.8;
constexpr double kTreeLl128OneNode = 7.0 / 9.0;
constexpr double kTreeLl128Nodes = 120.0 / 128.0;
// treeCorrectionFactor[protocol][log2(bytes / 64)], 64 B to 256 MB; 1 beyond.
constexpr int kTreeCorrectionSizes = 23;
constexpr double kTreeCorrection[3][kTreeCorrectionSizes] = {
    {1.0, 1.0, 1.0, 1.0, .9, .8, .7, .7, .7, .7, .6, .5, .4, .4, .5, .6, .7, .8, .9, 1.0, 1.0, 1.0, 1.0},
    {1.0, 1.0, 1.0, 1.0, 1.0, .9, .8, .8, .8, .7, .6, .6, .6, .6, .6, .6, .8, .9, .9, .9, .9, 1.0, 1.0},
    {.9, .9, .9, .9, .9, .9, .9, .8, .7, .6, .6, .5, .5, .5, .5, .6, .7, .8, .7, .7, .8, .9, .9}};

ByteRate effective(const LinkLevel& level) { return level.bandwidth * level.efficiency; }

// floor(log2(x)) for x >= 1, 0 below (NCCL's log2i of an integer).
int floor_log2(double x) { return x >= 1.0 ? std::ilogb(x) : 0; }

}  // namespace

Seconds collective_time(CollectiveKind kind, CollectiveAlgorithm algorithm, CollectiveProtocol protocol,
                        Bytes size, int ranks, const LinkLevel& level) {
  if (ranks <= 1) return Seconds(0);
  const bool all_reduce = kind == CollectiveKind::AllReduce;
  if (algorithm == CollectiveAlgorithm::Tree && !all_reduce) return Seconds(-1);
  const int p = int(protocol);
  const bool simple = protocol == CollectiveProtocol::Simple;
  // NCCL's nRanks / nNodes and nNodes.
  const int per_node = level.ranks_per_domain > 0 ? std::min(level.ranks_per_domain, ranks) : ranks;
  const int nodes = (ranks + per_node - 1) / per_node;
  const bool multi_node = nodes > 1;
  const double ll_max = !multi_node ? kLlMaxOneNode : nodes == 2 ? kLlMaxTwoNodes : kLlMaxMoreNodes;
  const double bus = effective(level).value();  // ring / Simple bus bandwidth

  double latency_us = 0, alg_bw = 0;
  if (algorithm == CollectiveAlgorithm::Ring) {
    const int steps = all_reduce ? 2 * (ranks - 1) : ranks - 1;
    double bw = bus;
    if (protocol == CollectiveProtocol::LL)
      bw = std::min(ll_max, bus * (multi_node || all_reduce ? kRingLlFactor : kRingLlFactorOneNode));
    if (protocol == CollectiveProtocol::LL128) bw = bus * (per_node < 2 ? kRingLl128OneRankPerNode : kRingLl128Factor);
    alg_bw = bw * ranks / steps;
    latency_us = kRingBaseUs[p];
    if (!multi_node) {
      latency_us += steps * kRingNvlinkStepUs[p];
    } else {
      const int inter = all_reduce ? 2 * nodes : nodes - 1;
      const double intra_step =
          std::max(kRingNvlinkStepUs[p], kNetOverheadUs * (simple ? kSimpleNetOverheadFactor : 1.0));
      latency_us += (steps - inter) * intra_step + inter * kRingNetStepUs[p];
      if (simple && all_reduce) latency_us *= kRingPlateauFactor;
    }
  } else {
    double bw = bus * kTreeFactor;
    if (protocol == CollectiveProtocol::LL) bw = std::min(bw * kTreeLlFactor, ll_max);
    if (protocol == CollectiveProtocol::LL128) bw *= multi_node ? kTreeLl128Nodes : kTreeLl128OneNode;
    const int log_size = floor_log2(size.value() / 64.0);
    if (log_size < kTreeCorrectionSizes) bw *= kTreeCorrection[p][log_size];
    alg_bw = bw * 0.5;
    latency_us = kTreeBaseUs[p] + 2.0 * ((per_node - 1) * kTreeNvlinkStepUs[p] +
                                         floor_log2(nodes) * kTreeNetStepUs[p]);
  }
  return Seconds(latency_us * 1e-6) + size / ByteRate(alg_bw);
}

CollectiveChoice best_collective(CollectiveKind kind, Bytes size, int ranks, const LinkLevel& level) {
  CollectiveChoice best{CollectiveAlgorithm::Ring, CollectiveProtocol::Simple,
                        Seconds(std::numeric_limits<double>::infinity())};
  if (ranks <= 1) return {CollectiveAlgorithm::Ring, CollectiveProtocol::Simple, Seconds(0)};
  for (CollectiveAlgorithm a : {CollectiveAlgorithm::Ring, CollectiveAlgorithm::Tree}) {
    for (CollectiveProtocol p : {CollectiveProtocol::LL, CollectiveProtocol::LL128, CollectiveProtocol::Simple}) {
      const Seconds t = collective_time(kind, a, p, size, ranks, level);
      if (t.value() >= 0 && t.value() < best.time.value()) best = {a, p, t};
    }
  }
  return best;
}

Seconds all_reduce(Bytes size, int ranks, const LinkLevel& level) {
  return best_collective(CollectiveKind::AllReduce, size, ranks, level).time;
}

Seconds reduce_scatter(Bytes size, int ranks, const LinkLevel& level) {
  return best_collective(CollectiveKind::ReduceScatter, size, ranks, level).time;
}

Seconds all_gather(Bytes size, int ranks, const LinkLevel& level) {
  return best_collective(CollectiveKind::AllGather, size, ranks, level).time;
}

Seconds all_to_all(Bytes size, int ranks, const LinkLevel& level) {
  if (ranks <= 1) return Seconds(0);
  const double steps = ranks - 1.0;
  return size * (steps / ranks) / effective(level) + level.latency * steps;
}

Seconds point_to_point(Bytes size, const LinkLevel& level) {
  return size / effective(level) + level.latency;
}

}  // namespace fleetsim
