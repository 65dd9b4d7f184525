#include "scheduling/policy.hpp"

#include <stdexcept>

#include "scheduling/easy_backfill.hpp"
#include "scheduling/fifo.hpp"
#include "scheduling/priority.hpp"

namespace fleetsim {

std::unique_ptr<SchedulingPolicy> make_policy(const PolicyConfig& config) {
  if (config.name == "fifo") return std::make_unique<FifoPolicy>();
  if (config.name == "easy-backfill") return std::make_unique<EasyBackfillPolicy>();
  if (config.name == "priority") return std::make_unique<PriorityPolicy>(config.tenants, config.preemption,
                                                                                config.fair_share_half_life_s);
  throw std::invalid_argument("unknown scheduling policy '" + config.name + "'");
}

}  // namespace fleetsim
