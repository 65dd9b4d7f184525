// First fit: pods in their order, and in each the lowest-numbered free nodes. Simple
// and predictable; a job straddles a pod boundary whenever the first pod with room
// has too little of it.
#pragma once

#include "scheduling/placement.hpp"

namespace fleetsim {

class PackedPlacement : public Placement {
 public:
  const char* name() const override { return "packed"; }
  std::optional<Allocation> place(int nodes, const std::vector<int>& pods, const FreeNodes& free) const override;
};

}  // namespace fleetsim
