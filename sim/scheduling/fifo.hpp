// First come, first served: jobs start in submission order, each as soon as it fits;
// a job that does not fit holds up every job behind it, even ones that would fit.
#pragma once

#include "scheduling/policy.hpp"

namespace fleetsim {

class FifoPolicy : public SchedulingPolicy {
 public:
  const char* name() const override { return "fifo"; }
  Decision schedule(const SchedulingState& state) override;
};

}  // namespace fleetsim
