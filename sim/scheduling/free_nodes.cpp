#include "scheduling/free_nodes.hpp"

#include <algorithm>
#include <stdexcept>

namespace fleetsim {

int Allocation::node_count() const {
  int n = 0;
  for (const auto& p : parts) n += int(p.nodes.size());
  return n;
}

FreeNodes::FreeNodes(std::vector<PodShape> pods) : pods_(std::move(pods)) {
  for (const PodShape& shape : pods_) {
    free_.emplace_back(std::size_t(shape.nodes), std::uint8_t{1});
    const int per_leaf = shape.nodes_per_leaf > 0 ? shape.nodes_per_leaf : std::max(shape.nodes, 1);
    std::vector<int> leaves(std::size_t((shape.nodes + per_leaf - 1) / per_leaf), per_leaf);
    if (!leaves.empty()) leaves.back() = shape.nodes - per_leaf * (int(leaves.size()) - 1);
    leaf_free_.push_back(std::move(leaves));
    pod_free_.push_back(shape.nodes);
    total_free_ += shape.nodes;
  }
}

int FreeNodes::leaf_of(int pod, int node) const {
  const int per_leaf = pods_[std::size_t(pod)].nodes_per_leaf;
  return per_leaf > 0 ? node / per_leaf : 0;
}

std::vector<int> FreeNodes::lowest_free(int pod, int count) const {
  std::vector<int> nodes;
  const auto& f = free_[std::size_t(pod)];
  for (std::size_t n = 0; n < f.size() && int(nodes.size()) < count; ++n)
    if (f[n]) nodes.push_back(int(n));
  return nodes;
}

std::vector<int> FreeNodes::lowest_free_in_leaf(int pod, int leaf, int count) const {
  const PodShape& shape = pods_[std::size_t(pod)];
  const int per_leaf = shape.nodes_per_leaf > 0 ? shape.nodes_per_leaf : shape.nodes;
  const int first = leaf * per_leaf, last = std::min(shape.nodes, first + per_leaf);
  std::vector<int> nodes;
  const auto& f = free_[std::size_t(pod)];
  for (int n = first; n < last && int(nodes.size()) < count; ++n)
    if (f[std::size_t(n)]) nodes.push_back(n);
  return nodes;
}

void FreeNodes::take(const Allocation& allocation) {
  for (const auto& part : allocation.parts)
    for (int n : part.nodes)
      if (!free_.at(std::size_t(part.pod)).at(std::size_t(n)))
        throw std::logic_error("scheduler bug: node " + std::to_string(n) + " of pod " + std::to_string(part.pod) +
                               " allocated twice");
  for (const auto& part : allocation.parts)
    for (int n : part.nodes) {
      free_[std::size_t(part.pod)][std::size_t(n)] = 0;
      leaf_free_[std::size_t(part.pod)][std::size_t(leaf_of(part.pod, n))]--;
      pod_free_[std::size_t(part.pod)]--;
      total_free_--;
    }
}

void FreeNodes::give_back(const Allocation& allocation) {
  for (const auto& part : allocation.parts)
    for (int n : part.nodes)
      if (free_.at(std::size_t(part.pod)).at(std::size_t(n)))
        throw std::logic_error("scheduler bug: node " + std::to_string(n) + " of pod " + std::to_string(part.pod) +
                               " released twice");
  for (const auto& part : allocation.parts)
    for (int n : part.nodes) {
      free_[std::size_t(part.pod)][std::size_t(n)] = 1;
      leaf_free_[std::size_t(part.pod)][std::size_t(leaf_of(part.pod, n))]++;
      pod_free_[std::size_t(part.pod)]++;
      total_free_++;
    }
}

double FreeNodes::fragmentation() const {
  if (total_free_ == 0) return 0.0;
  const int largest = *std::max_element(pod_free_.begin(), pod_free_.end());
  return 1.0 - double(largest) / double(total_free_);
}

}  // namespace fleetsim
