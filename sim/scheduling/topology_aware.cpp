#include "scheduling/topology_aware.hpp"

#include <algorithm>

namespace fleetsim {

namespace {

// Among units with `free_of(u)` free, those holding `need`: the best fit if one unit
// holds it all, else the largest first until `need` is covered. Returns (unit, count).
template <typename FreeOf>
std::vector<std::pair<int, int>> fewest_units(const std::vector<int>& units, int need, FreeOf free_of) {
  int best = -1;
  for (int u : units)
    if (free_of(u) >= need && (best < 0 || free_of(u) < free_of(best))) best = u;
  if (best >= 0) return {{best, need}};
  std::vector<int> order = units;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return free_of(a) > free_of(b); });
  std::vector<std::pair<int, int>> taken;
  for (int u : order) {
    if (need == 0) break;
    const int count = std::min(need, free_of(u));
    if (count == 0) continue;
    taken.push_back({u, count});
    need -= count;
  }
  return taken;
}

}  // namespace

std::vector<int> nodes_by_leaves(int pod, int count, const FreeNodes& free) {
  std::vector<int> leaves;
  for (int l = 0; l < free.leaves(pod); ++l)
    if (free.free_in_leaf(pod, l) > 0) leaves.push_back(l);
  std::vector<int> chosen;
  for (const auto& [leaf, k] : fewest_units(leaves, count, [&](int l) { return free.free_in_leaf(pod, l); })) {
    const std::vector<int> nodes = free.lowest_free_in_leaf(pod, leaf, k);
    chosen.insert(chosen.end(), nodes.begin(), nodes.end());
  }
  return chosen;
}

std::optional<Allocation> TopologyAwarePlacement::place(int nodes, const std::vector<int>& pods,
                                                        const FreeNodes& free) const {
  if (free_over(pods, free) < nodes) return std::nullopt;
  std::vector<Allocation::Part> parts;
  for (const auto& [pod, k] : fewest_units(pods, nodes, [&](int p) { return free.free_in(p); }))
    parts.push_back({pod, nodes_by_leaves(pod, k, free)});
  return make_allocation(std::move(parts));
}

}  // namespace fleetsim
