#include "scheduling/reservation.hpp"

#include <algorithm>
#include <cmath>

namespace fleetsim {

std::optional<Reservation> reserve(const SchedJob& job, const std::vector<RunningJob>& running,
                                   const FreeNodes& free_now, const Placement& placement, double now) {
  std::vector<const RunningJob*> ending;
  for (const RunningJob& r : running)
    if (std::isfinite(r.estimated_end_s)) ending.push_back(&r);
  std::stable_sort(ending.begin(), ending.end(), [](const RunningJob* a, const RunningJob* b) {
    return a->estimated_end_s != b->estimated_end_s ? a->estimated_end_s < b->estimated_end_s
                                                    : a->job->id < b->job->id;
  });
  FreeNodes free = free_now;
  for (std::size_t i = 0; i < ending.size();) {
    // Every job ending at the same time frees its nodes before the head is tried.
    const double t = ending[i]->estimated_end_s;
    for (; i < ending.size() && ending[i]->estimated_end_s == t; ++i) free.give_back(ending[i]->allocation);
    if (auto allocation = place_job(job.groups, free, placement))
      // A job past its estimate is taken to end now, not in the past.
      return Reservation{std::max(t, now), std::move(*allocation), std::move(free)};
  }
  return std::nullopt;
}

namespace {

bool disjoint(const Allocation& a, const Allocation& b) {
  for (const auto& pa : a.parts)
    for (const auto& pb : b.parts) {
      if (pa.pod != pb.pod) continue;
      std::vector<int> common;
      std::set_intersection(pa.nodes.begin(), pa.nodes.end(), pb.nodes.begin(), pb.nodes.end(),
                            std::back_inserter(common));
      if (!common.empty()) return false;
    }
  return true;
}

}  // namespace

std::vector<Start> backfill_pass(const std::vector<const SchedJob*>& order, const SchedulingState& state,
                                 const BackfillHooks& hooks) {
  FreeNodes free = *state.free;
  std::vector<RunningJob> running = state.running;
  std::vector<Start> starts;
  const SchedJob* head = nullptr;
  std::optional<Reservation> reservation;  // the head's; nullopt: it waits for an unbounded job
  int tried = 0;

  auto start = [&](const SchedJob& job, Allocation allocation) {
    free.take(allocation);
    running.push_back({&job, allocation, state.now + job.estimated_runtime_s});
    starts.push_back({job.id, std::move(allocation)});
    if (hooks.started) hooks.started(job);
  };

  for (const SchedJob* job : order) {
    if (hooks.admissible && !hooks.admissible(*job)) continue;
    if (head && ++tried > kBackfillDepth) break;
    auto allocation = place_job(job->groups, free, *state.placement);
    if (!head) {
      if (allocation) {
        start(*job, std::move(*allocation));
        continue;
      }
      head = job;
      reservation = reserve(*job, running, free, *state.placement, state.now);
      continue;
    }
    if (!allocation) continue;
    // Behind the head: start only what leaves its reservation intact.
    if (!reservation || state.now + job->estimated_runtime_s <= reservation->time) {
      start(*job, std::move(*allocation));
      continue;
    }
    if (disjoint(*allocation, reservation->allocation)) {
      reservation->free_then.take(*allocation);
      start(*job, std::move(*allocation));
      continue;
    }
    // It would take some of the head's reserved nodes: fine if the head still fits then
    // on what is left.
    FreeNodes without = reservation->free_then;
    without.take(*allocation);
    if (auto moved = place_job(head->groups, without, *state.placement)) {
      reservation->allocation = std::move(*moved);
      reservation->free_then = std::move(without);
      start(*job, std::move(*allocation));
    }
  }
  return starts;
}

}  // namespace fleetsim
