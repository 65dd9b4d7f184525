#include "scheduling/priority.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "scheduling/reservation.hpp"

namespace fleetsim {

const TenantLimits& PriorityPolicy::limits(const std::string& tenant) const {
  static const TenantLimits kDefault;
  auto it = tenants_.find(tenant);
  return it == tenants_.end() ? kDefault : it->second;
}

void PriorityPolicy::decay_usage_to(double now) {
  // Over [t0, now) a tenant held a constant h, so its average becomes
  // A(now) = A(t0) d + h (1 - d), with d = 2^-((now - t0) / H).
  const double d = std::exp2(-(now - usage_time_s_) / half_life_s_);
  for (auto& [tenant, average] : usage_) average *= d;
  for (const auto& [tenant, held] : held_after_) usage_[tenant] += double(held) * (1 - d);
  usage_time_s_ = now;
}

Decision PriorityPolicy::schedule(const SchedulingState& state) {
  std::map<std::string, long long> held;  // accelerators per tenant, running
  for (const RunningJob& r : state.running) held[r.job->tenant] += r.job->accelerators;
  if (half_life_s_ > 0) decay_usage_to(state.now);
  auto usage = [&](const std::string& tenant) {
    if (half_life_s_ <= 0) return double(held[tenant]);
    auto it = usage_.find(tenant);
    return it == usage_.end() ? 0.0 : it->second;
  };
  // The order, with its keys computed once (fair share at the start of the pass).
  struct Key {
    int priority;
    double usage;
    double submit;
    int id;
    const SchedJob* job;
  };
  std::vector<Key> keys;
  keys.reserve(state.queue.size());
  for (const SchedJob* j : state.queue)
    keys.push_back({j->priority, usage(j->tenant) / limits(j->tenant).share, j->submit_s, j->id, j});
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    if (a.usage != b.usage) return a.usage < b.usage;
    return a.submit != b.submit ? a.submit < b.submit : a.id < b.id;
  });
  std::vector<const SchedJob*> order;
  order.reserve(keys.size());
  for (const Key& k : keys) order.push_back(k.job);

  BackfillHooks hooks;
  hooks.admissible = [&](const SchedJob& j) {
    const auto& quota = limits(j.tenant).quota;
    return !quota || held[j.tenant] + j.accelerators <= *quota;
  };
  hooks.started = [&](const SchedJob& j) { held[j.tenant] += j.accelerators; };
  if (!preemption_) {
    Decision decision{{}, backfill_pass(order, state, hooks)};
    held_after_ = std::move(held);
    return decision;
  }

  // With preemption: jobs start in order while they fit; the first that does not may
  // evict, before anything is backfilled behind it (which could take what it needs).
  Decision decision;
  FreeNodes free = *state.free;
  std::vector<RunningJob> running = state.running;
  std::set<int> started;
  auto start = [&](const SchedJob& j, Allocation a) {
    free.take(a);
    running.push_back({&j, a, state.now + j.estimated_runtime_s, state.now, false});
    decision.starts.push_back({j.id, std::move(a)});
    started.insert(j.id);
    hooks.started(j);
  };
  const SchedJob* head = nullptr;
  for (const SchedJob* j : order) {
    if (!hooks.admissible(*j)) continue;
    auto a = place_job(j->groups, free, *state.placement);
    if (!a) {
      head = j;
      break;
    }
    start(*j, std::move(*a));
  }
  if (head) {
    // Victims: running preemptible jobs of lower priority, the cheapest to evict first.
    std::vector<const RunningJob*> candidates;
    for (const RunningJob& r : state.running)
      if (r.evictable && r.job->preemptible && r.job->priority < head->priority) candidates.push_back(&r);
    std::stable_sort(candidates.begin(), candidates.end(), [](const RunningJob* a, const RunningJob* b) {
      if (a->job->priority != b->job->priority) return a->job->priority < b->job->priority;
      if (a->start_s != b->start_s) return a->start_s > b->start_s;
      return a->job->id > b->job->id;
    });
    FreeNodes trial = free;
    std::vector<const RunningJob*> victims;
    std::optional<Allocation> allocation;
    for (const RunningJob* r : candidates) {
      trial.give_back(r->allocation);
      victims.push_back(r);
      if ((allocation = place_job(head->groups, trial, *state.placement))) break;
    }
    if (allocation) {
      // Spare the victims it does not need after all (an early small one, say).
      for (std::size_t k = 0; k + 1 < victims.size();) {
        FreeNodes without = trial;
        without.take(victims[k]->allocation);
        if (auto still = place_job(head->groups, without, *state.placement)) {
          trial = std::move(without);
          allocation = std::move(still);
          victims.erase(victims.begin() + long(k));
        } else {
          ++k;
        }
      }
      for (const RunningJob* v : victims) {
        decision.preempt.push_back(v->job->id);
        held[v->job->tenant] -= v->job->accelerators;
        running.erase(std::find_if(running.begin(), running.end(),
                                   [&](const RunningJob& r) { return r.job->id == v->job->id; }));
      }
      free = std::move(trial);
      start(*head, std::move(*allocation));
    }
  }
  // The rest: EASY backfilling behind whichever job is first blocked now.
  std::vector<const SchedJob*> rest;
  for (const SchedJob* j : order)
    if (!started.count(j->id)) rest.push_back(j);
  SchedulingState after = state;
  after.free = &free;
  after.running = running;
  for (Start& s : backfill_pass(rest, after, hooks)) decision.starts.push_back(std::move(s));
  held_after_ = std::move(held);
  return decision;
}

}  // namespace fleetsim
