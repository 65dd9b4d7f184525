// Spread: one node at a time to the pod with the most free nodes (lowest index on a
// tie), so load, heat and power even out across pods. A multi-node job then spans as
// many pods as it can: the baseline that shows what locality is worth.
#pragma once

#include "scheduling/placement.hpp"

namespace fleetsim {

class SpreadPlacement : public Placement {
 public:
  const char* name() const override { return "spread"; }
  std::optional<Allocation> place(int nodes, const std::vector<int>& pods, const FreeNodes& free) const override;
};

}  // namespace fleetsim
