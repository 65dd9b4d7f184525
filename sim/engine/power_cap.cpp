// The facility power cap: a controller that keeps facility power (IT power x PUE) under
// `cluster.facility.power_cap` while the simulation runs. Model card: docs/models/power.md.
//
// Two levers, both acting on SimGrid state before any time passes:
// - throttling: every running training job's nodes sit in the compute pstate of one
//   shared DVFS level (models/power.hpp: 100% down to 50% of TDP per accelerator); the
//   controller picks the highest level at which the facility fits under the cap, switches
//   the hosts' pstates (so the energy plugin charges the lower wattage) and wakes the
//   jobs, whose steps then take throttled_step_s (compute / speed + exposed
//   communication) of simulated time;
// - holding: a job starts only if the facility would fit under the cap with every
//   training job (itself included) at the lowest level and every service at its own, at
//   the highest PUE of the profile; otherwise it keeps its nodes idle and waits until a
//   job ends.
// Services (inference, reasoning, synthetic data) are admitted at one DVFS level, the
// fastest that fits with training at the lowest, and keep it: their request schedules are
// computed ahead (serving_schedule.hpp) at that level's speed, prefill and compute-bound
// decode slowed, HBM-bound decode not (Splitwise, ISCA'24, section III-F). Video
// generation (denoising on a schedule computed ahead) is not throttled: it is held.
// The budget counts failed (switched-off) nodes at their idle power, so a repair never
// pushes the facility over the cap; with the admission rule above, every level change
// can be met by throttling alone, also when an hourly PUE rises.
#include "engine/simulation_impl.hpp"

#include <algorithm>
#include <cmath>

#include <simgrid/Exception.hpp>
#include <simgrid/simix.hpp>

namespace fleetsim::engine_detail {

int Simulation::pstate_for(const FleetPod& pod, PowerPhase phase, bool throttleable, int level,
                           double utilisation) const {
  if (phase == PowerPhase::Decode && !pod.decode_pstates.empty()) {
    // The block of its DVFS level (a capped service's admitted level, a caller passes it;
    // otherwise full power), and in it the decode pstate whose utilisation is nearest the replica's (the
    // first on a tie).
    const std::size_t block = pod.decode_pstates.size() / std::size_t(std::max(1, pod.decode_levels));
    const std::size_t first = block * std::size_t(throttleable ? std::clamp(level, 0, pod.decode_levels - 1) : 0);
    std::size_t best = first;
    for (std::size_t k = first + 1; k < first + block; ++k)
      if (std::fabs(pod.decode_utilisation[k] - utilisation) < std::fabs(pod.decode_utilisation[best] - utilisation))
        best = k;
    return pod.decode_pstates[best];
  }
  if (pod.dvfs_pstates.empty()) return pod.running_pstate;
  return pod.dvfs_pstates[std::size_t(throttleable ? std::min(level, int(pod.dvfs_pstates.size()) - 1) : 0)];
}

double Simulation::it_power_w() const {
  // The fabric's switch ports and optics draw the same whatever runs (flat wattage_range).
  double watts = fleet_.network_watts;
  for (std::size_t p = 0; p < fleet_.pods.size(); ++p) {
    const FleetPod& pod = fleet_.pods[p];
    if (std::size_t(running_nodes_[p]) > pod.hosts.size())
      throw std::logic_error("engine bug: more running nodes than pod " + pod.name + " has");
    // The energy plugin charges a node in a pstate its idle value (no execution runs on
    // it), a node kept busy by an execution the busy value of pstate 0, and a node that
    // is off its wattage_off (0 W).
    for (std::size_t s = 0; s < pstate_nodes_[p].size(); ++s)
      if (pstate_nodes_[p][s] > 0) watts += double(pstate_nodes_[p][s]) * pod.pstate_watts[s];
    watts += double(exec_nodes_[p]) * pod.node_busy_watts;
    watts += double(pod.hosts.size() - std::size_t(running_nodes_[p]) - std::size_t(off_nodes_[p])) *
             pod.node_idle_watts;
  }
  return watts;
}

double Simulation::budget_it_power_w(int level) const {
  double watts = it_power_w();
  // Jobs restarting after a failure hold idle nodes they will soon power up: reserved.
  for (int index : running_jobs_)
    if (const Job& job = jobs_[std::size_t(index)]; !job.powered) watts += added_power_w(job, level);
  // Capped services stay at their admitted level: counted as they draw now (it_power_w).
  for (std::size_t p = 0; p < fleet_.pods.size(); ++p) {
    const FleetPod& pod = fleet_.pods[p];
    watts += double(off_nodes_[p]) * pod.node_idle_watts;
    if (throttled_nodes_[p] > 0 && pod.running_pstate >= 0)
      watts += double(throttled_nodes_[p]) * (pod.pstate_watts[std::size_t(pstate_for(pod, PowerPhase::Compute, true, level))] -
                                               pod.pstate_watts[std::size_t(pstate_for(pod, PowerPhase::Compute, true, level_))]);
  }
  return watts;
}

double Simulation::added_power_w(const Job& job, int level) const {
  double watts = 0;
  for (const auto& part : job.allocation.parts) {
    const FleetPod& pod = fleet_.pods[std::size_t(part.pod)];
    const double running = pod.running_pstate >= 0
                               ? pod.pstate_watts[std::size_t(pstate_for(
                                     pod, job.phase, job.throttleable || job.decode_capped,
                                     job.decode_capped && job.service_level >= 0 ? job.service_level : level, job.utilisation))]
                               : pod.node_busy_watts;
    watts += double(part.nodes.size()) * (running - pod.node_idle_watts);
  }
  return watts;
}

void Simulation::hold_for_power_before_planning(Job& job) {
  if (!scenario_.cluster.facility.power_cap) return;
  job.phase = job.spec->is_serving() ? PowerPhase::Decode : PowerPhase::Compute;
  job.throttleable = false;
  job.decode_capped = job.phase == PowerPhase::Decode;  // admitted if it fits at the lowest level's decode power
  job.utilisation = 1.0;  // its busy share is not known before its schedule: the most it can draw
  job.service_level = -1;
  const double granted = sg4::Engine::get_clock();
  wait_for_power(job);
  WorkloadResult& r = *job.result;
  if (r.start_s && *r.start_s == granted) r.start_s = sg4::Engine::get_clock();
  if (!job.decode_capped) return;
  // The fastest DVFS level at which it fits with every training job throttled to the
  // lowest level and every other service at its own, at the highest PUE: the admission
  // rule's budget, so the controller can still restore the cap by throttling training.
  // It keeps that level (and its nodes that power) for its whole life, and its schedule
  // is planned at the level's GEMM speed (ServingSetup::compute_speed): its prefill and
  // the compute-bound part of its decode slow down, its HBM-bound decode does not.
  const double limit = scenario_.cluster.facility.power_cap->value() / scenario_.cluster.facility.max_pue();
  const double others = budget_it_power_w(lowest_level_);
  int level = lowest_level_;  // job.service_level stays -1 here: added_power_w then takes `l`
  for (int l = 0; l < lowest_level_; ++l)
    if (others + added_power_w(job, l) <= limit * (1 + 1e-12)) {
      level = l;
      break;
    }
  job.service_level = level;
  const FleetPod& pod = fleet_.pods[std::size_t(job.allocation.parts.front().pod)];
  job.service_speed = pod.speed_at(job.service_level);
  logger_->debug("{} admitted at DVFS level {} (GEMM speed {:.4g})", job.spec->name, job.service_level, job.service_speed);
}

void Simulation::wait_for_power(Job& job) {
  const auto& facility = scenario_.cluster.facility;
  if (!facility.power_cap) return;
  const double limit = facility.power_cap->value() / facility.max_pue();
  const double from = sg4::Engine::get_clock();
  bool held = false;
  std::unique_lock lock(*power_mutex_);
  try {
    while (budget_it_power_w(lowest_level_) + added_power_w(job, lowest_level_) > limit * (1 + 1e-12)) {
      if (!held) {
        held = true;
        result_.power_held_jobs++;
        logger_->debug("{} waits for power: {:.4g} W more would exceed the cap", job.spec->name,
                       added_power_w(job, lowest_level_));
      }
      power_freed_->wait(lock);
    }
  } catch (const simgrid::ForcefulKillException&) {
    lock.release();  // killed at the horizon while held
    job.result->power_held_s += sg4::Engine::get_clock() - from;
    result_.power_held_s += sg4::Engine::get_clock() - from;
    throw;
  }
  lock.unlock();
  job.result->power_held_s += sg4::Engine::get_clock() - from;
  result_.power_held_s += sg4::Engine::get_clock() - from;
}

void Simulation::account_throttle(double now) {
  const double dt = now - level_since_;
  level_since_ = now;
  if (dt <= 0) return;
  // Throttled: while a powered training job runs below full clock (not merely while the
  // level is above 0: no training may be running). Services limited: while a powered
  // service runs at an admitted level below full power.
  bool training = false, services = false;
  for (int index : running_jobs_) {
    Job& job = jobs_[std::size_t(index)];
    if (job.decode_capped && job.powered && job.service_level > 0) services = true;
    if (!job.throttleable || !job.powered || job.speed >= 1) continue;
    training = true;
    WorkloadResult& r = *job.result;
    r.power_throttled_s += dt;
    result_.power_lost_accelerator_s += double(job.sched.accelerators) * (1 - job.speed) * dt;
    const double base = r.step_alone_s > 0 ? r.step_alone_s : r.step.step_time.value();
    if (job.restart_pending || base <= 0) continue;
    const double full = base * job.stretch;
    const double slow = throttled_step_s(base, r.step.exposed_comm.value(), job.speed) * job.stretch;
    r.power_lost_steps += dt / full - dt / slow;
  }
  if (training) result_.power_throttled_s += dt;
  if (services) result_.power_service_limited_s += dt;
}

bool Simulation::relevel_state() {
  const auto& facility = scenario_.cluster.facility;
  if (!facility.power_cap) return false;
  const double now = sg4::Engine::get_clock();
  const double cap = facility.power_cap->value(), pue = facility.pue_at(now);
  int level = lowest_level_;
  for (int l = 0; l <= lowest_level_; ++l)
    if (budget_it_power_w(l) * pue <= cap * (1 + 1e-12)) {
      level = l;
      break;
    }
  if (level == level_) return false;
  account_throttle(now);
  for (int index : running_jobs_) {
    Job& job = jobs_[std::size_t(index)];
    if (!job.throttleable || !job.powered) continue;
    for (const auto& part : job.allocation.parts) {
      const FleetPod& pod = fleet_.pods[std::size_t(part.pod)];
      if (pod.running_pstate < 0) continue;
      const int from = pstate_for(pod, PowerPhase::Compute, true, level_);
      const int to = pstate_for(pod, PowerPhase::Compute, true, level);
      if (from == to) continue;
      for (int n : part.nodes) pod.hosts[std::size_t(n)]->set_pstate(to);
      pstate_nodes_[std::size_t(part.pod)][std::size_t(from)] -= int(part.nodes.size());
      pstate_nodes_[std::size_t(part.pod)][std::size_t(to)] += int(part.nodes.size());
    }
  }
  logger_->debug("power cap: training from DVFS level {} to {} (facility budget {:.4g} W of {:.4g} W)", level_, level,
                 budget_it_power_w(level) * pue, cap);
  level_ = level;
  for (int index : running_jobs_) {
    Job& job = jobs_[std::size_t(index)];
    if (!job.throttleable) continue;
    const FleetPod& pod = fleet_.pods[std::size_t(job.allocation.parts.front().pod)];
    const double speed = pod.speed_at(level_);
    if (speed == job.speed) continue;
    job.speed = speed;
    // Its rate in the time series until its actor re-plans (at once for a job in one pod).
    const WorkloadResult& r = *job.result;
    const double base = r.step_alone_s > 0 ? r.step_alone_s : r.step.step_time.value();
    if (!job.restart_pending && base > 0 && job.tokens_per_s > 0)
      job.tokens_per_s = r.step.tokens_per_step / (throttled_step_s(base, r.step.exposed_comm.value(), speed) * job.stretch);
  }
  return true;
}

void Simulation::wake_throttleable() {
  for (int index : std::set<int>(running_jobs_))
    if (Job& job = jobs_[std::size_t(index)]; job.throttleable) wake(job);
}

void Simulation::relevel() {
  // One kernel call: no other actor sees the fleet between two of its hosts' changes.
  if (simgrid::kernel::actor::simcall_answered([this] { return relevel_state(); })) wake_throttleable();
}

void Simulation::run_power_controller() {
  const auto& facility = scenario_.cluster.facility;
  // Only the hourly PUE changes the facility's power between job events.
  for (double hour = 1;; ++hour) {
    const double t = hour * 3600.0;
    if (t >= scenario_.horizon.value()) return;
    if (facility.pue_at(t) == facility.pue_at(t - 3600.0)) continue;
    sg4::this_actor::sleep_until(t);
    relevel();
    sample();
  }
}

}  // namespace fleetsim::engine_detail
