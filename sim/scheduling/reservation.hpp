// EASY backfilling (Lifka, "The ANL/IBM SP scheduling system", JSSPP 1995), shared by
// the policies that backfill: jobs start in the given order while they fit; the first
// that does not gets a reservation (the earliest time enough nodes are free if running
// jobs end at their estimates, and which nodes); a later job may start now only if it
// leaves that reservation intact: it ends before the reservation time, or the head
// still fits then without its nodes.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "scheduling/policy.hpp"

namespace fleetsim {

// Jobs tried behind a blocked head per scheduling pass, as Slurm's backfill does
// (slurm.conf(5), SchedulerParameters bf_max_job_test, default 500): it bounds the cost
// of a pass over a long queue.
inline constexpr int kBackfillDepth = 500;

struct Reservation {
  double time = kUnbounded;
  Allocation allocation;  // the head's nodes at `time`
  FreeNodes free_then;    // the fleet's free nodes at `time`, backfilled jobs that outlive it removed
};

// When and where `job` could start at the earliest if the running jobs end at their
// estimated ends; nullopt if it cannot start before an unbounded job ends.
std::optional<Reservation> reserve(const SchedJob& job, const std::vector<RunningJob>& running,
                                   const FreeNodes& free_now, const Placement& placement, double now);

struct BackfillHooks {
  std::function<bool(const SchedJob&)> admissible;  // may the job start at all now (quotas)?
  std::function<void(const SchedJob&)> started;     // the pass started it
};

// One EASY pass over `order` (a permutation of the waiting jobs).
std::vector<Start> backfill_pass(const std::vector<const SchedJob*>& order, const SchedulingState& state,
                                 const BackfillHooks& hooks);

}  // namespace fleetsim
