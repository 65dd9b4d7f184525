#include "models/collectives.hpp"

namespace fleetsim {
namespace {

ByteRate effective(const LinkLevel& level) { return level.bandwidth * level.efficiency; }

}  // namespace

Seconds ring_all_reduce(Bytes size, int ranks, const LinkLevel& level) {
  if (ranks <= 1) return Seconds(0);
  const double steps = 2.0 * (ranks - 1);
  return size * (steps / ranks) / effective(level) + level.latency * steps;
}

Seconds ring_reduce_scatter(Bytes size, int ranks, const LinkLevel& level) {
  if (ranks <= 1) return Seconds(0);
  const double steps = ranks - 1.0;
  return size * (steps / ranks) / effective(level) + level.latency * steps;
}

Seconds ring_all_gather(Bytes size, int ranks, const LinkLevel& level) {
  return ring_reduce_scatter(size, ranks, level);
}

Seconds all_to_all(Bytes size, int ranks, const LinkLevel& level) {
  return ring_reduce_scatter(size, ranks, level);
}

Seconds point_to_point(Bytes size, const LinkLevel& level) {
  return size / effective(level) + level.latency;
}

}  // namespace fleetsim
