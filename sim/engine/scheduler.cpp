#include "engine/scheduler.hpp"

#include <algorithm>
#include <map>

namespace fleetsim {

int Allocation::node_count() const {
  int n = 0;
  for (const auto& p : parts) n += int(p.nodes.size());
  return n;
}

FifoScheduler::FifoScheduler(const Fleet& fleet)
    : fleet_(fleet),
      free_(fleet.pods.size()),
      mutex_(simgrid::s4u::Mutex::create()),
      changed_(simgrid::s4u::ConditionVariable::create()) {
  for (std::size_t p = 0; p < fleet.pods.size(); ++p)
    for (int n = 0; n < int(fleet.pods[p].hosts.size()); ++n) free_[p].insert(n);
}

namespace {

int nodes_for(int accelerators, int per_node) { return (accelerators + per_node - 1) / per_node; }

// Pods grouped by what a job cannot mix: accelerator type and accelerators per node.
std::map<std::pair<std::string, int>, std::vector<int>> pod_groups(const Fleet& fleet,
                                                                   const std::optional<std::string>& type) {
  std::map<std::pair<std::string, int>, std::vector<int>> groups;
  for (std::size_t p = 0; p < fleet.pods.size(); ++p) {
    const FleetPod& pod = fleet.pods[p];
    if (type && pod.accelerator->name != *type) continue;
    groups[{pod.accelerator->name, pod.accelerators_per_node}].push_back(int(p));
  }
  return groups;
}

}  // namespace

std::optional<int> FifoScheduler::nodes_needed_on_empty_fleet(const JobRequest& job) const {
  for (const auto& [key, pods] : pod_groups(fleet_, job.accelerator)) {
    long long nodes = 0;
    for (int p : pods) nodes += long(fleet_.pods[p].hosts.size());
    const int need = nodes_for(job.accelerators, key.second);
    if (need <= nodes) return need;
  }
  return std::nullopt;
}

std::optional<Allocation> FifoScheduler::place(const JobRequest& job) const {
  for (const auto& [key, pods] : pod_groups(fleet_, job.accelerator)) {
    const int need = nodes_for(job.accelerators, key.second);
    long long available = 0;
    for (int p : pods) available += long(free_[p].size());
    if (available < need) continue;

    Allocation allocation;
    auto take = [&](int pod, int count) {
      Allocation::Part part{pod, {}};
      for (auto it = free_[pod].begin(); it != free_[pod].end() && int(part.nodes.size()) < count; ++it)
        part.nodes.push_back(*it);
      allocation.parts.push_back(std::move(part));
    };
    // Best fit in a single pod if possible.
    int best = -1;
    for (int p : pods)
      if (int(free_[p].size()) >= need && (best < 0 || free_[p].size() < free_[best].size())) best = p;
    if (best >= 0) {
      take(best, need);
      return allocation;
    }
    // Otherwise the emptiest pods first, to span as few as possible.
    std::vector<int> order = pods;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return free_[a].size() > free_[b].size(); });
    int remaining = need;
    for (int p : order) {
      if (remaining == 0) break;
      const int count = std::min(remaining, int(free_[p].size()));
      if (count == 0) continue;
      take(p, count);
      remaining -= count;
    }
    return allocation;
  }
  return std::nullopt;
}

Allocation FifoScheduler::acquire(const JobRequest& job) {
  std::unique_lock lock(*mutex_);
  queue_.push_back(job.id);
  std::optional<Allocation> allocation;
  while (queue_.front() != job.id || !(allocation = place(job))) changed_->wait(lock);
  for (const auto& part : allocation->parts)
    for (int n : part.nodes) free_[part.pod].erase(n);
  queue_.pop_front();
  changed_->notify_all();  // the next job in line may fit too
  return *allocation;
}

void FifoScheduler::release(const Allocation& allocation) {
  std::unique_lock lock(*mutex_);
  for (const auto& part : allocation.parts)
    for (int n : part.nodes) free_[part.pod].insert(n);
  changed_->notify_all();
}

}  // namespace fleetsim
