#include "scheduling/priority.hpp"

#include <algorithm>
#include <set>

#include "scheduling/reservation.hpp"

namespace fleetsim {

const TenantLimits& PriorityPolicy::limits(const std::string& tenant) const {
  static const TenantLimits kDefault;
  auto it = tenants_.find(tenant);
  return it == tenants_.end() ? kDefault : it->second;
}

Decision PriorityPolicy::schedule(const SchedulingState& state) {
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
  Decision decision{{}, backfill_pass(order, state, hooks)};
  if (!preemption_) return decision;

  // The first job (in priority order) still waiting and allowed by its quota.
  std::set<int> started;
  FreeNodes free = *state.free;
  for (const Start& s : decision.starts) {
    started.insert(s.job);
    free.take(s.allocation);
  }
  const SchedJob* head = nullptr;
  for (const SchedJob* j : order)
    if (!started.count(j->id) && hooks.admissible(*j)) {
      head = j;
      break;
    }
  if (!head) return decision;
  // Victims: running preemptible jobs of lower priority, the cheapest to evict first.
  std::vector<const RunningJob*> candidates;
  for (const RunningJob& r : state.running)
    if (r.job->preemptible && r.job->priority < head->priority) candidates.push_back(&r);
  std::stable_sort(candidates.begin(), candidates.end(), [](const RunningJob* a, const RunningJob* b) {
    if (a->job->priority != b->job->priority) return a->job->priority < b->job->priority;
    if (a->start_s != b->start_s) return a->start_s > b->start_s;
    return a->job->id > b->job->id;
  });
  std::vector<int> victims;
  for (const RunningJob* r : candidates) {
    free.give_back(r->allocation);
    victims.push_back(r->job->id);
    if (auto allocation = place_job(head->groups, free, *state.placement)) {
      // Spare the victims it does not need after all (an early small one, say).
      for (std::size_t k = 0; k + 1 < victims.size();) {
        const RunningJob* spared = *std::find_if(candidates.begin(), candidates.end(),
                                                 [&](const RunningJob* c) { return c->job->id == victims[k]; });
        FreeNodes without = free;
        without.take(spared->allocation);
        if (auto still = place_job(head->groups, without, *state.placement)) {
          free = std::move(without);
          allocation = std::move(still);
          victims.erase(victims.begin() + long(k));
        } else {
          ++k;
        }
      }
      decision.preempt = std::move(victims);
      decision.starts.push_back({head->id, std::move(*allocation)});
      return decision;
    }
  }
  return decision;  // even evicting all of them would not make room: nobody is evicted
}

}  // namespace fleetsim
