// First-come-first-served gang scheduling: a job gets all the nodes it needs or waits;
// jobs start in submission order (no backfill; that and the other policies come with
// the shared-cluster issue, behind this same acquire/release interface).
//
// Placement (packed and topology-aware are the same for now): the fewest pods. If one
// pod of the job's accelerator type has room, the fullest such pod (best fit);
// otherwise pods in decreasing order of free nodes. Inside a pod, the lowest-numbered
// free nodes, so a job fills leaf switches in order.
#pragma once

#include <deque>
#include <optional>
#include <set>
#include <vector>

#include <simgrid/s4u/ConditionVariable.hpp>
#include <simgrid/s4u/Mutex.hpp>

#include "platform/fleet.hpp"

namespace fleetsim {

struct Allocation {
  struct Part {
    int pod = 0;
    std::vector<int> nodes;  // indices into FleetPod::hosts
  };
  std::vector<Part> parts;
  int node_count() const;
};

struct JobRequest {
  int id = 0;
  int accelerators = 0;
  std::optional<std::string> accelerator;  // required accelerator type, if any
};

class FifoScheduler {
 public:
  explicit FifoScheduler(const Fleet& fleet);

  // Blocks the calling actor until the job is at the head of the queue and fits.
  Allocation acquire(const JobRequest& job);
  void release(const Allocation& allocation);

  // Could the job ever fit on an empty fleet? (nodes it would need, or nullopt)
  std::optional<int> nodes_needed_on_empty_fleet(const JobRequest& job) const;

  int free_nodes(int pod) const { return int(free_[pod].size()); }
  const std::set<int>& free_node_set(int pod) const { return free_[pod]; }
  int queued() const { return int(queue_.size()); }

 private:
  std::optional<Allocation> place(const JobRequest& job) const;

  const Fleet& fleet_;
  std::vector<std::set<int>> free_;  // free node indices per pod
  std::deque<int> queue_;            // job ids waiting, in submission order
  simgrid::s4u::MutexPtr mutex_;
  simgrid::s4u::ConditionVariablePtr changed_;
};

}  // namespace fleetsim
