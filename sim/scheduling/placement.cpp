#include "scheduling/placement.hpp"

#include <algorithm>
#include <stdexcept>

#include "scheduling/packed.hpp"
#include "scheduling/spread.hpp"
#include "scheduling/topology_aware.hpp"

namespace fleetsim {

std::unique_ptr<Placement> make_placement(const std::string& name) {
  if (name == "packed") return std::make_unique<PackedPlacement>();
  if (name == "spread") return std::make_unique<SpreadPlacement>();
  if (name == "topology-aware") return std::make_unique<TopologyAwarePlacement>();
  throw std::invalid_argument("unknown placement '" + name + "'");
}

std::optional<Allocation> place_job(const std::vector<PodGroup>& groups, const FreeNodes& free,
                                    const Placement& placement) {
  for (const PodGroup& group : groups)
    if (auto allocation = placement.place(group.nodes, group.pods, free)) return allocation;
  return std::nullopt;
}

long long free_over(const std::vector<int>& pods, const FreeNodes& free) {
  long long n = 0;
  for (int p : pods) n += free.free_in(p);
  return n;
}

Allocation make_allocation(std::vector<Allocation::Part> parts) {
  Allocation allocation;
  for (auto& part : parts) {
    if (part.nodes.empty()) continue;
    std::sort(part.nodes.begin(), part.nodes.end());
    allocation.parts.push_back(std::move(part));
  }
  std::sort(allocation.parts.begin(), allocation.parts.end(),
            [](const Allocation::Part& a, const Allocation::Part& b) { return a.pod < b.pod; });
  return allocation;
}

}  // namespace fleetsim
