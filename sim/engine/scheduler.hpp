// The scheduler as the engine runs it: the policy and placement of the scenario
// (scheduling/) over the fleet's free nodes, called at every submit and every release.
// A job's actor blocks in acquire() until the policy starts it; gang allocation, so it
// gets all its nodes at once.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include <simgrid/s4u/ConditionVariable.hpp>
#include <simgrid/s4u/Mutex.hpp>

#include "scheduling/placement.hpp"
#include "scheduling/policy.hpp"

namespace fleetsim {

class ClusterScheduler {
 public:
  ClusterScheduler(std::vector<PodShape> pods, const PolicyConfig& policy, const std::string& placement);

  // Queues `job` (which must outlive its run) and blocks the calling actor until the
  // policy starts it; returns its nodes.
  Allocation acquire(const SchedJob& job);
  // Queues `job` (which must outlive its run) without blocking: `granted` is called with
  // its nodes at the instant the policy starts it, from whichever actor's call let it start
  // (so it must only record them and wake its owner). The replicas an autoscaled service
  // adds are such jobs.
  void submit(const SchedJob& job, std::function<void(Allocation)> granted);
  // Takes a job queued by submit() out of the queue; false if it is not waiting.
  bool withdraw(int job_id);
  // The job's nodes are free again; waiting jobs may start.
  void release(int job_id);
  // The engine says when a running job's run has begun (true) and begins to end (false):
  // only in between may the policy evict it.
  void set_evictable(int job_id, bool evictable);
  // Called when the policy evicts a running job, after its nodes were taken back and
  // before the jobs that take them start: the engine stops it (it queues again itself).
  void on_preempt(std::function<void(int job_id)> callback) { on_preempt_ = std::move(callback); }

  // Node failures (engine/failures.cpp). A free node goes out of the pool until
  // bring_up(); false if it is not free (allocated, or already down).
  bool take_down(int pod, int node);
  void bring_up(int pod, int node);
  // A node of a running, evictable job failed: the job loses its allocation, the failed
  // node goes out of the pool (until bring_up), the rest is free again, and the engine
  // hears of it through on_preempt before waiting jobs start. False if the job is not
  // running or not evictable (starting or ending): then nothing changes.
  bool interrupt(int job_id, int pod, int node);

  const FreeNodes& free() const { return free_; }
  long long allocated_accelerators() const { return allocated_accelerators_; }

 private:
  struct Waiting {
    const SchedJob* job = nullptr;
    std::optional<Allocation> granted;
    simgrid::s4u::ConditionVariablePtr wake;       // acquire(): the blocked actor
    std::function<void(Allocation)> on_grant;      // submit(): called instead
  };
  void reschedule();

  FreeNodes free_;
  std::unique_ptr<SchedulingPolicy> policy_;
  std::unique_ptr<Placement> placement_;
  std::vector<Waiting*> queue_;      // in submission order
  std::map<int, std::unique_ptr<Waiting>> submitted_;  // queued by submit(), by job id
  std::vector<RunningJob> running_;
  long long allocated_accelerators_ = 0;
  std::function<void(int)> on_preempt_;
  simgrid::s4u::MutexPtr mutex_;
};

}  // namespace fleetsim
