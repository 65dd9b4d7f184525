#include "scheduling/fifo.hpp"

namespace fleetsim {

Decision FifoPolicy::schedule(const SchedulingState& state) {
  FreeNodes free = *state.free;
  std::vector<Start> starts;
  for (const SchedJob* job : state.queue) {
    auto allocation = place_job(job->groups, free, *state.placement);
    if (!allocation) break;
    free.take(*allocation);
    starts.push_back({job->id, std::move(*allocation)});
  }
  return {{}, std::move(starts)};
}

}  // namespace fleetsim
