// FIFO with EASY backfilling (reservation.hpp): the first job that does not fit gets a
// reservation, and jobs behind it start now if they do not delay it. Needs runtime
// estimates; jobs without one (services, open-ended training) are taken to run forever.
#pragma once

#include "scheduling/policy.hpp"

namespace fleetsim {

class EasyBackfillPolicy : public SchedulingPolicy {
 public:
  const char* name() const override { return "easy-backfill"; }
  Decision schedule(const SchedulingState& state) override;
};

}  // namespace fleetsim
