#include "engine/simulation_impl.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include <simgrid/Exception.hpp>
#include <simgrid/plugins/energy.h>

#include "core/log.hpp"
#include "catalog/failure_rates.hpp"
#include "models/parallelism_search.hpp"
#include "models/transformer.hpp"
#include "models/synthetic_data.hpp"
#include "models/video_step.hpp"
#include "platform/simgrid_platform.hpp"
#include "scenario/scenario_loader.hpp"

namespace fleetsim::engine_detail {

// Work per segment of a job whose traffic leaves its pods: short enough that the time
// series and the horizon see its rate change within the hour, long enough that a 30-day
// job is 720 segments of 3 activities per pod spanned, not one per step.
constexpr double kSegmentS = 3600;

void Simulation::run_job(Job& job) {
  if (job.spec->is_video()) {
    run_video_service(job);
    return;
  }
  if (job.spec->is_synthetic_data()) {
    run_synthetic_data_job(job);
    return;
  }
  if (job.spec->autoscale) {
    run_autoscaled_service(job);
    return;
  }
  if (job.spec->is_serving()) {
    run_service(job);
    return;
  }
  const WorkloadSpec& w = *job.spec;
  // Jobs of a trace or stream log at debug level: thousands of them would bury the rest.
  const auto level = w.stream.empty() ? spdlog::level::info : spdlog::level::debug;
  WorkloadResult& r = *job.result;
  // One pass per run on nodes: an eviction sends it back to the queue, from its last
  // checkpoint (job.kept_steps), with whatever placement it gets next.
  while (true) {
    acquire_nodes(job);
    const FleetPod& pod = fleet_.pods[job.allocation.parts.front().pod];
    const NodeType& node = *node_type_of(pod, catalog_);
    const FabricView fabric = fabric_view(fleet_, job.allocation, node, w.gpus);
    r.setup = training_setup(w, *pod.accelerator);
    if (w.parallelism.automatic) {
      // Choose for the placement the job got; the loader checked that something fits.
      const auto choice = search_parallelism(r.setup, w.gpus, fabric);
      assert(choice && "parallelism: auto was checked at load time");
      r.setup = choice->setup;
      logger_->log(level,
                   "{}: parallelism auto chose tp {} pp {} dp {} cp {} ep {}, micro-batch {}, zero {} over {} ranks "
                   "({} of {} candidates fit)",
                   w.name, r.setup.parallelism.tp, r.setup.parallelism.pp, r.setup.parallelism.dp,
                   r.setup.parallelism.cp, r.setup.parallelism.ep, r.setup.micro_batch, r.setup.options.zero_stage,
                   zero_group_size(r.setup),
                   choice->fitting,
                   choice->candidates);
    }
    r.step = training_step(r.setup, fabric);
    r.contention_applied = false;
    r.contention_slowdown = 1;
    plan_checkpoints(job, pod);
    job.tokens_per_s = job.restart_pending ? 0.0 : r.step.tokens_per_step / (r.step.step_time.value() * job.stretch);
    start_running(job);
    if (job.restart_pending) {
      // After a node failure: detection and restart (loading the checkpoint) on these
      // nodes before the steps resume. Another failure meanwhile loses nothing more.
      if (!hold_until(job, sg4::Engine::get_clock() + scenario_.failures.restart_time.value())) {
        job.preempted = job.failed = false;
        continue;
      }
      job.restart_pending = false;
      power_up_job(job);  // back to work: its nodes leave idle
      job.steps_from_s = sg4::Engine::get_clock();
      job.tokens_per_s = r.step.tokens_per_step / (r.step.step_time.value() * job.stretch);
      sample();
    }

    const double step_s = r.step.step_time.value();
    r.step_alone_s = step_s;
    // Run to the token target or for the duration, whichever ends first, or past the
    // horizon (the horizon actor stops the clock there).
    const double start = sg4::Engine::get_clock();
    // (`duration` counts step time: checkpoint writes stretch it.)
    const double until = !w.duration       ? kUnbounded
                         : job.stretch == 1 ? start + w.duration->value() - job.kept_s
                                            : start + (w.duration->value() - job.kept_s) * job.stretch;
    const double target_steps = w.tokens ? std::ceil(*w.tokens / r.step.tokens_per_step) - job.kept_steps
                                         : std::ceil((scenario_.horizon.value() - start) / step_s) + 1;
    logger_->log(level, "{} starts on {} nodes ({} pods) of {}: step {:.3f} s, {:.4g} tokens/s", w.name, r.nodes,
                 r.pods_spanned, pod.accelerator->name, step_s, job.tokens_per_s);
    double done = 0;  // steps of this run
    if (auto traffic = cross_pod_traffic(job, fabric)) {
      job.segmented = true;
      r.inter_pod_comm_s = traffic->comm_s;
      // Checkpoint writes spread over the steps: each step's compute takes `stretch` times
      // as long (its traffic between pods does not change).
      CrossPodTraffic stretched = *traffic;
      stretched.alone_step_s *= job.stretch;
      stretched.local_step_s *= job.stretch;
      stretched.hidden_s *= job.stretch;
      const CrossPodRun run = run_cross_pod(job, job.stretch == 1 ? *traffic : stretched, target_steps, until);
      done = run.steps;
      r.steps_done = job.kept_steps + done;
      r.tokens_done = r.steps_done * r.step.tokens_per_step;
      apply_contention(r);
      if (run.stopped_by_horizon) return;  // still running: the end of the run reports it
    } else {
      job.segmented = false;
      r.inter_pod_comm_s = 0;
      // Steps at the speed the power-cap controller leaves it (1 without a cap), with their
      // share of checkpoint writes; a change of speed wakes it to re-plan the rest.
      const double exposed_s = r.step.exposed_comm.value();
      job.progress_steps = 0;
      job.progress_at = start;
      bool reached = false;  // the token target, at the planned end
      double wall_step_s = step_s * job.stretch;
      while (true) {
        wall_step_s = throttled_step_s(step_s, exposed_s, job.speed) * job.stretch;
        job.wall_step_s = wall_step_s;
        const long epoch = job.epoch;
        const double left = target_steps - job.progress_steps;
        const bool to_target = job.progress_at + left * wall_step_s <= until;
        const double end = to_target ? job.progress_at + left * wall_step_s : until;
        const bool timed_out = job.preempted || sg4::Engine::get_clock() >= end || wait_on(job, end, epoch);
        const double now = sg4::Engine::get_clock();
        if (job.preempted) break;
        if (timed_out && now >= end) {
          reached = to_target;
          job.progress_steps = to_target ? target_steps : job.progress_steps + (end - job.progress_at) / wall_step_s;
          job.progress_at = now;
          break;
        }
        job.progress_steps += (now - job.progress_at) / wall_step_s;
        job.progress_at = now;
      }
      if (job.preempted)
        job.progress_steps += (sg4::Engine::get_clock() - job.progress_at) / wall_step_s;
      done = reached ? target_steps : std::floor(job.progress_steps);
      job.wall_step_s = 0;
      r.steps_done = job.kept_steps + done;
      r.tokens_done = r.steps_done * r.step.tokens_per_step;
    }
    if (!job.preempted) break;

    // Evicted: back to its last checkpoint. Work since then is lost.
    // Checkpoints complete every interval + write time of the run; what counts towards
    // `duration` is their step time.
    const double ran_s = sg4::Engine::get_clock() - start;
    const double interval = job.checkpoint_interval_s, cycle = interval + job.checkpoint_write_s;
    const double cycles = interval > 0 ? std::floor(ran_s / cycle) : 0.0;
    const double saved_wall_s = cycles * cycle, saved_s = cycles * interval;
    const double saved_steps = ran_s > 0 ? std::min(done, std::floor(done * saved_wall_s / ran_s)) : 0.0;
    r.lost_gpu_hours += (ran_s - saved_wall_s) * w.gpus / 3600.0;
    job.kept_steps += saved_steps;
    job.kept_s += saved_s;
    r.steps_done = job.kept_steps;
    r.tokens_done = r.steps_done * r.step.tokens_per_step;
    job.preempted = false;
    const bool failed = job.failed;
    job.restart_pending = job.restart_pending || failed;
    job.failed = false;
    // What is left, for the scheduler's estimate: the steps still to do at this run's step
    // (or the duration still to run).
    if (w.tokens) job.sched.estimated_runtime_s = (std::ceil(*w.tokens / r.step.tokens_per_step) - job.kept_steps) * step_s;
    if (w.duration)
      job.sched.estimated_runtime_s = std::min(w.tokens ? job.sched.estimated_runtime_s : kUnbounded,
                                               w.duration->value() - job.kept_s);
    logger_->log(level, "{} {} after {:.0f} s: {:.0f} steps kept from its last checkpoint, {:.4g} GPU-hours lost",
                 w.name, failed ? "stopped by a node failure" : "evicted", ran_s, saved_steps,
                 (ran_s - saved_wall_s) * w.gpus / 3600.0);
  }
  stop_running(job);
  logger_->log(level, "{} done: {:.4g} tokens", w.name, r.tokens_done);
}

// Checkpoint size: Megatron-LM's distributed optimizer keeps bf16 parameters and fp32
// master weights, Adam momentum and variance: 2 + 12 bytes per parameter, the memory
// model's weights + optimizer state summed over the whole model (training_step.cpp).
constexpr double kCheckpointBytesPerParameter = 2.0 + 12.0;
// Storage bandwidth for checkpoint writes unless the workload gives one: Meta's Tectonic
// file system as Llama 3 used it, 2 TB/s sustained (7 TB/s peak), Llama 3 paper section
// 3.3.1 (arXiv 2407.21783).
constexpr double kCheckpointBytesPerS = 2e12;

void Simulation::plan_checkpoints(Job& job, const FleetPod& pod) {
  const WorkloadSpec& w = *job.spec;
  WorkloadResult& r = *job.result;
  double interval = w.checkpoint_interval ? w.checkpoint_interval->value() : 0.0, write_s = 0;
  // Writes cost time where a storage bandwidth is given, or where failures are simulated
  // (then at Tectonic's); elsewhere checkpoints stay free, as before failures existed.
  const bool costed = w.checkpoint_bandwidth || (scenario_.failures.enabled && (interval > 0 || w.checkpoint_auto));
  if (costed) {
    const double bytes = count_parameters(*r.setup.model).total() * kCheckpointBytesPerParameter;
    write_s = bytes / w.checkpoint_bandwidth.value_or(kCheckpointBytesPerS);
  }
  if (w.checkpoint_auto) {
    // Young's optimum, sqrt(2 x write time x the job's MTBF) (Young 1974; Daly 2006 shows
    // it is within a few percent of the exact optimum while the write is short against
    // the MTBF). The job's MTBF: its nodes' failure rate from the catalog.
    const double per_node_day =
        FailureRates::builtin().per_node_day(pod.accelerators_per_node) * scenario_.failures.rate_scale;
    // No failures (rate_scale 0): no checkpoint is worth its write.
    interval = per_node_day > 0 ? std::sqrt(2.0 * write_s * 86400.0 / (per_node_day * std::max(1, r.nodes))) : 0.0;
  }
  job.checkpoint_interval_s = interval;
  job.checkpoint_write_s = interval > 0 ? write_s : 0.0;
  job.stretch = interval > 0 ? 1.0 + job.checkpoint_write_s / interval : 1.0;
  r.checkpoint_interval_s = interval;
  r.checkpoint_write_s = job.checkpoint_write_s;
  r.checkpoint_costed = costed;
}

// The step as it ran (r.step_alone_s x r.contention_slowdown): the delay is exposed
// communication.
void apply_contention(WorkloadResult& r) {
  if (r.contention_applied) return;
  r.contention_applied = true;
  const double delay = r.step_alone_s * (r.contention_slowdown - 1);
  r.step.step_time = Seconds(r.step_alone_s + delay);
  r.step.exposed_comm = r.step.exposed_comm + Seconds(delay);
  r.step.total_comm = r.step.total_comm + Seconds(delay);
}

std::optional<CrossPodTraffic> Simulation::cross_pod_traffic(const Job& job, const FabricView& fabric) const {
  const auto& parts = job.allocation.parts;
  if (parts.size() < 2) return std::nullopt;
  for (const auto& part : parts) {
    const FleetPod& pod = fleet_.pods[std::size_t(part.pod)];
    if (!pod.gateway || pod.pod_uplink_bytes_per_s <= 0) return std::nullopt;
  }
  const TrainingSetup& setup = job.result->setup;
  const StepBreakdown alone = job.result->step;
  // The same step with inter-pod links as fast as the scale-up fabric: what the uplinks cost.
  FabricView local = fabric;
  local.inter_pod.bandwidth = ByteRate(1e30);
  const StepBreakdown free = training_step(setup, local);
  CrossPodTraffic t;
  t.alone_step_s = alone.step_time.value();
  t.local_step_s = std::min(free.step_time.value(), t.alone_step_s);
  t.comm_s = std::max(0.0, (alone.total_comm - free.total_comm).value());
  if (t.comm_s <= 0) return std::nullopt;
  // The part of it the step hides: all of it but what lengthened the step. Any slowdown
  // of the flows is exposed (no slack assumed in the overlap).
  t.hidden_s = std::clamp(t.comm_s - (t.alone_step_s - t.local_step_s), 0.0, t.local_step_s);
  // A ring over the pods' gateways; each flow alone takes comm_s per step at the slower
  // of the two uplinks it crosses (split-duplex: out on one, in on the other).
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const FleetPod& a = fleet_.pods[std::size_t(parts[i].pod)];
    const FleetPod& b = fleet_.pods[std::size_t(parts[(i + 1) % parts.size()].pod)];
    t.flows.push_back({a.gateway, b.gateway, t.comm_s * std::min(a.pod_uplink_bytes_per_s, b.pod_uplink_bytes_per_s)});
  }
  return t;
}

bool Simulation::shares_uplinks(const Job& job) const {
  for (const auto& part : job.allocation.parts)
    if (cross_pod_jobs_[std::size_t(part.pod)].size() > 1) return true;
  return false;
}

void Simulation::announce_cross_pod(Job& job, bool joining) {
  std::set<int> others;
  for (const auto& part : job.allocation.parts) {
    auto& on_pod = cross_pod_jobs_[std::size_t(part.pod)];
    if (joining) on_pod.insert(job.index);
    else on_pod.erase(job.index);
    others.insert(on_pod.begin(), on_pod.end());
  }
  others.erase(job.index);
  for (int other : others) wake(jobs_[std::size_t(other)]);
}

double Job::Segment::done_by(double now, const std::vector<sg4::CommPtr>& flows) const {
  if (start < 0 || steps <= 0) return 0;
  double first_s = 0;
  if (rest_start >= 0) {
    first_s = rest_start - start;
  } else {
    double part = hidden_s > 0 ? std::min(1.0, (now - start) / (steps * hidden_s)) : 1.0;
    for (std::size_t k = 0; k < flows.size() && k < flow_bytes.size(); ++k)
      if (flow_bytes[k] > 0) part = std::min(part, 1.0 - flows[k]->get_remaining() / flow_bytes[k]);
    if (part <= 0) return 0;
    first_s = (now - start) / part;
  }
  const double projected = first_s + steps * rest_s;
  return projected > 0 ? std::min(1.0, (now - start) / projected) * steps : 0.0;
}

bool Simulation::wait_on(Job& job, double t, long epoch) {
  std::unique_lock lock(*cross_pod_mutex_);
  bool timed_out = false;
  try {
    // The condition is read under the lock the waker takes: a wake-up between the
    // caller's look at the state and this wait is seen here, not lost.
    while (job.epoch == epoch && !job.preempted && !timed_out)
      timed_out = job.wake->wait_until(lock, t) == std::cv_status::timeout;
  } catch (const simgrid::ForcefulKillException&) {
    lock.release();  // killed at the horizon: unlocking would be a call into a dead actor
    throw;
  }
  lock.unlock();  // here, not in the destructor: a kill may arrive in any call into SimGrid
  return timed_out;
}

bool Simulation::hold_until(Job& job, double t) {
  while (!job.preempted && sg4::Engine::get_clock() < t) wait_on(job, t, job.epoch);
  return !job.preempted;
}

bool Simulation::wait_flows(Job& job, double deadline) {
  try {
    for (auto& c : job.flows) c->wait_for(std::max(0.0, deadline - sg4::Engine::get_clock()));
    return true;
  } catch (const simgrid::TimeoutException&) {
    return false;  // the caller cancels what is left
  } catch (const simgrid::Exception&) {
    if (job.preempted) return false;  // the eviction cancelled them
    throw;
  }
}

CrossPodRun Simulation::run_cross_pod(Job& job, const CrossPodTraffic& traffic, double steps, double until_s) {
  WorkloadResult& r = *job.result;
  const double tokens_per_step = r.step.tokens_per_step;
  // It stops at its duration or at the horizon, whichever comes first; at the horizon it
  // is still running (the caller does not end it).
  const double deadline = std::min(until_s, scenario_.horizon.value());
  // The nodes are running (start_running); a segment's activities are its flows, one per
  // pod spanned, whatever the job's size.
  announce_cross_pod(job, true);
  job.cross_done = job.cross_held_s = 0;
  double done = 0, held_s = 0;  // steps (fractional while the job is alone), and their time
  double slowdown = 1;          // of the last segment with flows
  auto account = [&](double steps_now, double seconds) {
    done += steps_now;
    held_s += seconds;
    job.cross_done = done;
    job.cross_held_s = held_s;
    job.segment.start = -1;
    r.steps_done = job.kept_steps + std::floor(done + 1e-9);
    if (done > 0) r.contention_slowdown = std::max(1.0, held_s / (done * traffic.alone_step_s));
  };
  auto stop = [&](bool horizon) {
    announce_cross_pod(job, false);
    return CrossPodRun{std::floor(done + 1e-9), horizon};
  };
  while (done < steps - 1e-9) {
    const double now = sg4::Engine::get_clock();
    if (now >= deadline) return stop(deadline < until_s);
    const long epoch = job.epoch;  // before looking: a job arriving after this wakes the wait below
    // Under a power cap the compute slows by the job's speed (read once per segment: a
    // segment that shares uplinks takes a new speed at its end, within kSegmentS).
    const double sp = job.speed;
    CrossPodTraffic slowed = traffic;
    slowed.local_step_s = traffic.local_step_s / sp;
    slowed.hidden_s = traffic.hidden_s / sp;
    if (sp != 1) slowed.alone_step_s = traffic.alone_step_s - traffic.local_step_s + slowed.local_step_s;
    // Seconds of a segment, as the unthrottled job would have spent them: throttling is
    // not contention (contention_slowdown compares with traffic.alone_step_s).
    const double unthrottle = traffic.alone_step_s / slowed.alone_step_s;
    if (!shares_uplinks(job)) {
      // Alone on its uplinks: nothing can slow it, so no flows; it runs at its own rate
      // until it is done or another job that spans pods arrives on one of its pods.
      const double alone_rate = tokens_per_step / slowed.alone_step_s;
      if (std::fabs(alone_rate - job.tokens_per_s) > 1e-9 * alone_rate) {
        job.tokens_per_s = alone_rate;
        sample();  // back to its own rate
      }
      const double end = std::min(deadline, now + (steps - done) * slowed.alone_step_s);
      job.segment = {now, steps - done, 0.0, slowed.alone_step_s, now, {}};
      const bool woken = !wait_on(job, end, epoch);
      const double took = sg4::Engine::get_clock() - now;
      account(woken || end < now + (steps - done) * slowed.alone_step_s ? took / slowed.alone_step_s
                                                                          : steps - done,
              took * unthrottle);
      if (job.preempted) return stop(false);
      if (!woken && end >= deadline && done < steps - 1e-9) return stop(deadline < until_s);
      continue;
    }
    // Sharing: segments of about kSegmentS of work whose inter-pod bytes are SimGrid
    // flows; SimGrid re-shares the uplinks whenever a flow starts or ends.
    // (The last segment may be a fraction of a step: progress is fractional after a
    // stretch alone.)
    double n = std::min(steps - done, std::max(1.0, std::floor(kSegmentS / slowed.alone_step_s)));
    const double fit = (deadline - now) / (slowed.alone_step_s * slowdown);  // steps before the deadline
    n = n < 1 ? (fit >= n ? n : 0.0) : std::min(n, std::floor(fit));
    if (n <= 0) {
      hold_until(job, deadline);  // less than a step left: busy until the deadline
      account(0, (sg4::Engine::get_clock() - now) * unthrottle);
      return stop(!job.preempted && deadline < until_s);
    }
    // The flows carry the segment's inter-pod bytes while the hidden part of the step's
    // compute runs; whatever they take beyond it is exposed; then the rest of the compute.
    job.segment = {now, n, slowed.hidden_s, slowed.local_step_s - slowed.hidden_s, -1.0, {}};
    for (const auto& f : traffic.flows) job.segment.flow_bytes.push_back(n * f.bytes_per_step);
    for (const auto& f : traffic.flows)
      job.flows.push_back(sg4::Comm::sendto_async(f.from, f.to, std::uint64_t(std::llround(n * f.bytes_per_step))));
    bool finished = hold_until(job, std::min(now + n * slowed.hidden_s, deadline)) &&
                    now + n * slowed.hidden_s <= deadline && wait_flows(job, deadline);
    // If cut here, the progress is read now, while the flows still say how far they got.
    const double cut_progress = finished ? 0.0 : job.segment.done_by(sg4::Engine::get_clock(), job.flows);
    for (auto& c : job.flows)
      if (c->get_state() == sg4::Activity::State::STARTED) c->cancel();
    job.flows.clear();
    const double rest_start = sg4::Engine::get_clock();
    job.segment.rest_start = rest_start;
    const double rest_end = rest_start + n * (slowed.local_step_s - slowed.hidden_s);
    const bool reached_rest = finished;
    finished = finished && hold_until(job, std::min(rest_end, deadline)) && rest_end <= deadline;
    const double took = sg4::Engine::get_clock() - now;
    if (!finished) {
      // Cut by the deadline or an eviction.
      account(reached_rest ? job.segment.done_by(sg4::Engine::get_clock(), job.flows) : cut_progress, took * unthrottle);
      return stop(!job.preempted && deadline < until_s);
    }
    account(n, took * unthrottle);
    slowdown = std::max(1.0, took / (n * slowed.alone_step_s));
    const double rate = n * tokens_per_step / took;
    if (std::fabs(rate - job.tokens_per_s) > 1e-9 * rate) {
      job.tokens_per_s = rate;
      sample();  // the job's rate changed
    }
  }
  return stop(false);
}

}  // namespace fleetsim::engine_detail
