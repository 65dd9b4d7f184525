#include "engine/scheduler.hpp"

#include <algorithm>
#include <stdexcept>

#include <simgrid/s4u/Engine.hpp>

namespace fleetsim {

ClusterScheduler::ClusterScheduler(std::vector<PodShape> pods, const PolicyConfig& policy, const std::string& placement)
    : free_(std::move(pods)),
      policy_(make_policy(policy)),
      placement_(make_placement(placement)),
      mutex_(simgrid::s4u::Mutex::create()) {}

Allocation ClusterScheduler::acquire(const SchedJob& job) {
  std::unique_lock lock(*mutex_);
  Waiting waiting{&job, std::nullopt, simgrid::s4u::ConditionVariable::create(), nullptr};
  queue_.push_back(&waiting);
  reschedule();
  while (!waiting.granted) waiting.wake->wait(lock);
  return std::move(*waiting.granted);
}

void ClusterScheduler::submit(const SchedJob& job, std::function<void(Allocation)> granted) {
  std::unique_lock lock(*mutex_);
  auto waiting = std::make_unique<Waiting>(Waiting{&job, std::nullopt, nullptr, std::move(granted)});
  queue_.push_back(waiting.get());
  if (!submitted_.emplace(job.id, std::move(waiting)).second)
    throw std::logic_error("scheduler bug: job " + std::to_string(job.id) + " submitted twice");
  reschedule();
}

bool ClusterScheduler::withdraw(int job_id) {
  std::unique_lock lock(*mutex_);
  auto it = submitted_.find(job_id);
  if (it == submitted_.end()) return false;
  queue_.erase(std::find(queue_.begin(), queue_.end(), it->second.get()));
  submitted_.erase(it);
  // The queue is shorter: a job behind it may start now (a reservation held for it goes).
  reschedule();
  return true;
}

void ClusterScheduler::release(int job_id) {
  std::unique_lock lock(*mutex_);
  auto it = std::find_if(running_.begin(), running_.end(), [&](const RunningJob& r) { return r.job->id == job_id; });
  if (it == running_.end()) throw std::logic_error("scheduler bug: job " + std::to_string(job_id) + " released twice");
  free_.give_back(it->allocation);
  allocated_accelerators_ -= it->job->accelerators;
  running_.erase(it);
  reschedule();
}

void ClusterScheduler::set_evictable(int job_id, bool evictable) {
  for (RunningJob& r : running_)
    if (r.job->id == job_id) r.evictable = evictable;
}

bool ClusterScheduler::take_down(int pod, int node) {
  std::unique_lock lock(*mutex_);
  if (!free_.is_free(pod, node)) return false;
  free_.take(Allocation{{Allocation::Part{pod, {node}}}});
  return true;
}

void ClusterScheduler::bring_up(int pod, int node) {
  std::unique_lock lock(*mutex_);
  free_.give_back(Allocation{{Allocation::Part{pod, {node}}}});
  reschedule();
}

bool ClusterScheduler::interrupt(int job_id, int pod, int node) {
  std::unique_lock lock(*mutex_);
  auto it = std::find_if(running_.begin(), running_.end(), [&](const RunningJob& r) { return r.job->id == job_id; });
  if (it == running_.end() || !it->evictable) return false;
  Allocation rest = it->allocation;
  for (auto& part : rest.parts)
    if (part.pod == pod) part.nodes.erase(std::remove(part.nodes.begin(), part.nodes.end(), node), part.nodes.end());
  free_.give_back(rest);  // the failed node stays taken: it is down
  allocated_accelerators_ -= it->job->accelerators;
  running_.erase(it);
  if (on_preempt_) on_preempt_(job_id);
  reschedule();
  return true;
}

void ClusterScheduler::reschedule() {
  // A pass that evicts jobs may leave others that could now evict too: pass again until
  // one evicts nobody.
  if (queue_.empty()) {
    policy_->observe(simgrid::s4u::Engine::get_clock(), running_);
    return;
  }
  bool again = true;
  while (again && !queue_.empty()) {
    SchedulingState state;
    state.now = simgrid::s4u::Engine::get_clock();
    for (const Waiting* w : queue_) state.queue.push_back(w->job);
    state.running = running_;
    state.free = &free_;
    state.placement = placement_.get();
    Decision decision = policy_->schedule(state);
    again = !decision.preempt.empty();
    for (int victim : decision.preempt) {
      auto it = std::find_if(running_.begin(), running_.end(), [&](const RunningJob& r) { return r.job->id == victim; });
      if (it == running_.end()) throw std::logic_error("scheduler bug: policy evicted a job that is not running");
      free_.give_back(it->allocation);
      allocated_accelerators_ -= it->job->accelerators;
      running_.erase(it);
      if (on_preempt_) on_preempt_(victim);
    }
    for (Start& start : decision.starts) {
      auto it = std::find_if(queue_.begin(), queue_.end(), [&](const Waiting* w) { return w->job->id == start.job; });
      if (it == queue_.end()) throw std::logic_error("scheduler bug: policy started a job that is not waiting");
      Waiting* waiting = *it;
      queue_.erase(it);
      free_.take(start.allocation);  // throws if a node is already allocated
      allocated_accelerators_ += waiting->job->accelerators;
      running_.push_back({waiting->job, start.allocation, state.now + waiting->job->estimated_runtime_s, state.now});
      if (waiting->on_grant) {
        auto granted = std::move(waiting->on_grant);
        submitted_.erase(waiting->job->id);  // `waiting` is gone from here on
        granted(std::move(start.allocation));
      } else {
        waiting->granted = std::move(start.allocation);
        waiting->wake->notify_one();
      }
    }
  }
}

}  // namespace fleetsim
