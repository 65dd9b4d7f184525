#include "scheduling/packed.hpp"

namespace fleetsim {

std::optional<Allocation> PackedPlacement::place(int nodes, const std::vector<int>& pods, const FreeNodes& free) const {
  if (free_over(pods, free) < nodes) return std::nullopt;
  std::vector<Allocation::Part> parts;
  int remaining = nodes;
  for (int p : pods) {
    if (remaining == 0) break;
    Allocation::Part part{p, free.lowest_free(p, remaining)};
    remaining -= int(part.nodes.size());
    parts.push_back(std::move(part));
  }
  return make_allocation(std::move(parts));
}

}  // namespace fleetsim
