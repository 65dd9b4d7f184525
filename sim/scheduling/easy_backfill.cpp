#include "scheduling/easy_backfill.hpp"

#include "scheduling/reservation.hpp"

namespace fleetsim {

Decision EasyBackfillPolicy::schedule(const SchedulingState& state) {
  return {{}, backfill_pass(state.queue, state, {})};
}

}  // namespace fleetsim
