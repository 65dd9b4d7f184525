#include "scheduling/priority.hpp"

#include <algorithm>

#include "scheduling/reservation.hpp"

namespace fleetsim {

const TenantLimits& PriorityPolicy::limits(const std::string& tenant) const {
  static const TenantLimits kDefault;
  auto it = tenants_.find(tenant);
  return it == tenants_.end() ? kDefault : it->second;
}

std::vector<Start> PriorityPolicy::schedule(const SchedulingState& state) {
  std::map<std::string, long long> held;  // accelerators per tenant, running
  for (const RunningJob& r : state.running) held[r.job->tenant] += r.job->accelerators;
  // Fair-share order is fixed at the start of the pass (as held before it).
  auto usage = [&](const SchedJob* j) { return double(held[j->tenant]) / limits(j->tenant).share; };
  std::vector<const SchedJob*> order = state.queue;
  std::map<const SchedJob*, double> usage_at_start;
  for (const SchedJob* j : order) usage_at_start[j] = usage(j);
  std::stable_sort(order.begin(), order.end(), [&](const SchedJob* a, const SchedJob* b) {
    if (a->priority != b->priority) return a->priority > b->priority;
    if (usage_at_start[a] != usage_at_start[b]) return usage_at_start[a] < usage_at_start[b];
    return a->submit_s != b->submit_s ? a->submit_s < b->submit_s : a->id < b->id;
  });
  BackfillHooks hooks;
  hooks.admissible = [&](const SchedJob& j) {
    const auto& quota = limits(j.tenant).quota;
    return !quota || held[j.tenant] + j.accelerators <= *quota;
  };
  hooks.started = [&](const SchedJob& j) { held[j.tenant] += j.accelerators; };
  return backfill_pass(order, state, hooks);
}

}  // namespace fleetsim
