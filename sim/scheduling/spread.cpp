#include "scheduling/spread.hpp"

#include <map>

namespace fleetsim {

std::optional<Allocation> SpreadPlacement::place(int nodes, const std::vector<int>& pods, const FreeNodes& free) const {
  if (free_over(pods, free) < nodes) return std::nullopt;
  // How many nodes each pod gives: repeatedly the pod with the most left.
  std::map<int, int> left, given;
  for (int p : pods) left[p] = free.free_in(p);
  for (int k = 0; k < nodes; ++k) {
    int best = -1;
    for (const auto& [p, n] : left)
      if (n > 0 && (best < 0 || n > left[best])) best = p;
    left[best]--;
    given[best]++;
  }
  std::vector<Allocation::Part> parts;
  for (const auto& [p, count] : given) parts.push_back({p, free.lowest_free(p, count)});
  return make_allocation(std::move(parts));
}

}  // namespace fleetsim
