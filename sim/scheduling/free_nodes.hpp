// The fleet as the scheduler sees it: pods of identical nodes under leaf switches, and
// which nodes are free. A node is the unit of allocation (jobs get whole nodes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fleetsim {

struct PodShape {
  std::string accelerator;        // catalog name of the pod's accelerators
  int accelerators_per_node = 0;
  int nodes = 0;
  int nodes_per_leaf = 0;         // nodes under one leaf switch; 0: unknown (the pod is one leaf)
};

// Nodes given to one job, by pod. Node numbers index the pod's nodes (0 .. nodes - 1).
struct Allocation {
  struct Part {
    int pod = 0;
    std::vector<int> nodes;  // ascending
  };
  std::vector<Part> parts;   // ascending by pod
  int node_count() const;
};

class FreeNodes {
 public:
  explicit FreeNodes(std::vector<PodShape> pods);

  const std::vector<PodShape>& pods() const { return pods_; }
  int free_in(int pod) const { return pod_free_[std::size_t(pod)]; }
  int total_free() const { return total_free_; }
  bool is_free(int pod, int node) const { return free_[std::size_t(pod)][std::size_t(node)] != 0; }
  // The leaf switch a node hangs under, how many leaves a pod has, and their free nodes.
  int leaf_of(int pod, int node) const;
  int leaves(int pod) const { return int(leaf_free_[std::size_t(pod)].size()); }
  int free_in_leaf(int pod, int leaf) const { return leaf_free_[std::size_t(pod)][std::size_t(leaf)]; }
  // The `count` lowest-numbered free nodes of a pod (or of one of its leaves), ascending.
  std::vector<int> lowest_free(int pod, int count) const;
  std::vector<int> lowest_free_in_leaf(int pod, int leaf, int count) const;

  // Marks the allocation's nodes used. Throws std::logic_error if one is not free: a node
  // allocated twice is a scheduler bug, never a result.
  void take(const Allocation& allocation);
  void give_back(const Allocation& allocation);

  // Share of the free nodes a job confined to one pod could not use: 1 - (free nodes of
  // the pod with the most) / (all free nodes). 0 when the free capacity sits in one pod
  // (or none is free); near 1 when it is scattered thinly over many pods.
  double fragmentation() const;

 private:
  std::vector<PodShape> pods_;
  // A byte per node (1: free) rather than sets: policies copy the state to try
  // schedules, and a copy of a 131,072-node fleet must cost a memcpy, not 131,072 allocations.
  std::vector<std::vector<std::uint8_t>> free_;
  std::vector<std::vector<int>> leaf_free_;
  std::vector<int> pod_free_;
  int total_free_ = 0;
};

}  // namespace fleetsim
