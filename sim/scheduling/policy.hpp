// Scheduling policies: which waiting jobs start now. One interface, one file per policy:
//   fifo           strict submission order; the head blocks everyone behind it (fifo.cpp)
//   easy-backfill  FIFO with a reservation for the head; later jobs may jump ahead if
//                  they do not delay it (EASY, Lifka 1995; easy_backfill.cpp)
//   priority       by priority, then tenant fair share, within tenant quotas, with EASY
//                  backfill behind the first blocked job (priority.cpp)
// The engine calls schedule() at every submit and every release; a policy only decides,
// the engine takes the nodes and starts the jobs.
#pragma once

#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "scheduling/placement.hpp"

namespace fleetsim {

inline constexpr double kUnbounded = std::numeric_limits<double>::infinity();

struct SchedJob {
  int id = 0;                  // unique; ties in every ordering break by it
  double submit_s = 0;
  int accelerators = 0;
  std::vector<PodGroup> groups;  // where it may run, in preference order
  std::string tenant = "default";
  int priority = 0;            // higher first (policy priority)
  // How long it holds its nodes once started, as the policy may assume (the step model's
  // estimate for a job with a token target or a duration); kUnbounded for services and
  // open-ended jobs. Backfill is only as good as this, as with user estimates on real
  // schedulers.
  double estimated_runtime_s = kUnbounded;
  // May a higher-priority job evict it (policy priority with preemption)? Batch training
  // jobs, which resume from their last checkpoint; services are never evicted.
  bool preemptible = false;
};

struct RunningJob {
  const SchedJob* job = nullptr;
  Allocation allocation;
  double estimated_end_s = kUnbounded;
  double start_s = 0;
  // Has its run begun (and not begun to end)? Only such a job may be evicted: one granted
  // nodes whose actor has not started yet, or one finishing, is left alone.
  bool evictable = false;
};

struct TenantLimits {
  double share = 1.0;          // fair-share weight
  std::optional<int> quota;    // at most this many accelerators held at once
};

struct SchedulingState {
  double now = 0;
  std::vector<const SchedJob*> queue;  // waiting, in submission order
  std::vector<RunningJob> running;
  const FreeNodes* free = nullptr;
  const Placement* placement = nullptr;
};

struct Start {
  int job = 0;
  Allocation allocation;
};

// What a pass decides: running jobs to evict first (their nodes are free for the
// starts), then jobs to start.
struct Decision {
  std::vector<int> preempt;
  std::vector<Start> starts;
};

class SchedulingPolicy {
 public:
  virtual ~SchedulingPolicy() = default;
  virtual const char* name() const = 0;
  // The jobs to start now, with their nodes, in start order; every allocation is free
  // in `state.free` once the preempted jobs' nodes are given back, and disjoint from the
  // others.
  virtual Decision schedule(const SchedulingState& state) = 0;
};

struct PolicyConfig {
  std::string name = "fifo";                    // fifo | easy-backfill | priority
  std::map<std::string, TenantLimits> tenants;  // tenants not listed: share 1, no quota
  bool preemption = false;                      // priority only: evict lower-priority batch jobs
  double fair_share_half_life_s = 0;            // priority only: 0 = fair share by holdings now
};

std::unique_ptr<SchedulingPolicy> make_policy(const PolicyConfig& config);

}  // namespace fleetsim
