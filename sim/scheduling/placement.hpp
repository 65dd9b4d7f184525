// Placement: which free nodes a job gets. One interface, one file per policy:
//   packed          first fit: pods in order, lowest-numbered nodes first (packed.cpp)
//   spread          one node at a time to the pod with the most free nodes (spread.cpp)
//   topology-aware  fewest pods, then fewest leaf switches, best fit (topology_aware.cpp)
// Gang allocation: a job gets all the nodes it needs or none.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "scheduling/free_nodes.hpp"

namespace fleetsim {

// Pods a job may mix (one accelerator type and node shape) and the nodes it needs there.
struct PodGroup {
  std::vector<int> pods;
  int nodes = 0;
};

class Placement {
 public:
  virtual ~Placement() = default;
  virtual const char* name() const = 0;
  // `nodes` free nodes from `pods`, or nullopt if those pods do not have that many free.
  virtual std::optional<Allocation> place(int nodes, const std::vector<int>& pods, const FreeNodes& free) const = 0;
};

// "packed", "spread" or "topology-aware" (the scenario loader admits nothing else).
std::unique_ptr<Placement> make_placement(const std::string& name);

// The job's allocation in the first of its groups (in preference order) that fits now.
std::optional<Allocation> place_job(const std::vector<PodGroup>& groups, const FreeNodes& free,
                                    const Placement& placement);

// Shared by the placements: free nodes over `pods`, and an allocation built from
// per-pod node lists (sorted, empty parts dropped).
long long free_over(const std::vector<int>& pods, const FreeNodes& free);
Allocation make_allocation(std::vector<Allocation::Part> parts);

}  // namespace fleetsim
