// Topology-aware: the job's traffic should cross as few pod uplinks and leaf uplinks as
// possible, and leave the fleet's large free blocks whole for the jobs after it.
//  - If one pod has room, the fullest such pod (best fit); else the pods with the most
//    free nodes first, so the job spans the fewest pods.
//  - Inside a pod the same rule over leaf switches: the fullest leaf that holds the
//    part, else leaves with the most free nodes first.
#pragma once

#include "scheduling/placement.hpp"

namespace fleetsim {

class TopologyAwarePlacement : public Placement {
 public:
  const char* name() const override { return "topology-aware"; }
  std::optional<Allocation> place(int nodes, const std::vector<int>& pods, const FreeNodes& free) const override;
};

// `count` free nodes of `pod` under the fewest leaf switches (best fit first).
std::vector<int> nodes_by_leaves(int pod, int count, const FreeNodes& free);

}  // namespace fleetsim
