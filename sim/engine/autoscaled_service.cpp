// An inference or reasoning service whose replicas follow its load (`autoscale`).
//
// In SimGrid: the service starts with min_replicas (its own gang, like any job) and every
// `interval` sizes itself for the coming interval's peak arrival rate: replicas =
// ceil(peak rate / (capacity x target_utilization)), between min_replicas and
// gpus / (tp x pp), where capacity is one replica's saturated throughput on the serving
// schedule (models/serving_schedule.hpp). It asks the scheduler for the difference as a
// few replica groups, each a gang queued beside the batch jobs under the same policy,
// tenant and priority (so a high-priority service evicts preemptible batch work under
// `preemption: true`, and waits behind it otherwise); it withdraws queued groups and
// gives back running ones when the load falls. Added nodes draw busy power from the
// instant they start, so the energy plugin charges exactly the replicas that ran.
//
// Requests: after the run, from the replica count R(t) as it was. An open Poisson stream
// split at random over R(t) replicas gives each a Poisson stream of rate(t) / R(t); K
// representative replicas (requests.representative_replicas) are scheduled request by
// request on such streams, and the counts scaled to the whole stream (ratio estimator, as
// for fixed services). A replica short of capacity because its added replicas queue
// shows it in its TTFT and latency. An added group holds (and powers) its nodes while it
// loads its weights and serves only after `startup_time`; the first replicas serve from
// the service's start, as a fixed service's do. Not modelled: the drain of a replica given
// back (its queue is taken to finish elsewhere).
#include "engine/simulation_impl.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "scenario/scenario_loader.hpp"

namespace fleetsim::engine_detail {

namespace {

// A scale-up asks for its replicas in at most this many groups, each a gang of its own:
// the scheduler can start part of it when the whole does not fit, and the queue holds a
// few entries per service rather than one per replica.
constexpr int kGroupsPerScaleUp = 4;

// Representative replicas stop being added once this many requests were simulated: a
// replica sized near its capacity takes millions of requests a week, and the 99th
// percentile of 200,000 is already within a few percent (about 2,000 requests above it).
constexpr double kEnoughSimulatedRequests = 200000;

// Past this many requests for one replica over the run (a replica near its capacity for
// weeks: tens of millions), its stream is sampled by window instead: about
// kSampledRequests requests' worth of `interval`-long windows, drawn at random from the
// seed, each simulated after a warm-up of the window before it, so that a backlog built
// up before the window is there when it starts.
constexpr double kFullReplicaRequests = 1e6;
constexpr double kSampledRequests = 4e5;

// How fast a node loads a replica's weights from its local SSD into its GPUs, when the
// scenario does not give `startup_time`: ServerlessLLM (Fu et al., OSDI'24, arXiv
// 2401.14351, section 1) measured LLaMA-2-70B's 130 GB checkpoint taking 84 s to load into
// GPU memory with the standard (PyTorch/Safetensors) loaders: 1.55 GB/s per server. Its own
// loader is 3.6-8.2x faster, and a download from remote storage comes first on a node that
// has never held the model: `startup_time` sets either case.
constexpr double kNodeWeightLoadBytesPerS = 130e9 / 84.0;

// Expected arrivals of a stream of rate x hourly profile x share(t) over [begin, end).
double expected_shared(double rate, double begin, double end, const std::vector<double>* hourly,
                       const StepProfile& share) {
  double total = 0;
  for (std::size_t i = 0; i <= share.times.size(); ++i) {
    const double from = std::max(begin, i == 0 ? -1e300 : share.times[i - 1]);
    const double to = std::min(end, i < share.times.size() ? share.times[i] : 1e300);
    if (to > from) total += expected_arrivals(rate, from, to, hourly) * share.values[i == 0 ? 0 : i - 1];
  }
  return total;
}

// A uniform draw in [0, 1) per (seed, stream, index): where the windows drawn start.
double window_draw(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  std::seed_seq seq{std::uint32_t(seed), std::uint32_t(seed >> 32), std::uint32_t(stream), std::uint32_t(stream >> 32),
                    std::uint32_t(index), std::uint32_t(index >> 32), 0x5a3du};
  std::mt19937_64 engine(seq);
  return double(engine() >> 11) * 0x1.0p-53;
}

// Output tokens of one request (every sample's thinking and answer tokens).
double tokens_per_request(const WorkloadSpec& w) { return double(w.tokens_per_sample()) * w.requests.samples; }

}  // namespace

void Simulation::run_autoscaled_service(Job& job) {
  const WorkloadSpec& w = *job.spec;
  const AutoscaleSpec& as = *w.autoscale;
  const RequestStreamSpec& q = w.requests;
  acquire_nodes(job);
  const int home = job.allocation.parts.front().pod;
  const FleetPod& pod = fleet_.pods[std::size_t(home)];
  const ReplicaModels models = replica_models(job);
  AutoscaleResult& a = job.result->autoscale;
  a.capacity_requests_per_s =
      saturated_requests_per_s({0.0, q.input_tokens, w.tokens_per_sample(), q.samples}, w.max_batch,
                               models.model.memory().kv_tokens, models.model, models.verifier(), w.kv_policy);
  // Added replicas run on pods of the same accelerator and node shape as its first ones.
  std::vector<int> pods;
  for (const PodGroup& g : job.sched.groups)
    if (std::find(g.pods.begin(), g.pods.end(), home) != g.pods.end()) pods = g.pods;
  const int per_replica = w.parallelism.tp * w.parallelism.pp;
  // Replicas come in steps that fill whole nodes (plan_job checks that they can).
  const int per_node = fleet_.pods[std::size_t(home)].accelerators_per_node;
  const int step = per_replica < per_node ? per_node / per_replica : 1;
  // It serves until the run's horizon, or for its `duration`.
  const double horizon = scenario_.horizon.value();
  const double until = w.duration ? std::min(horizon, sg4::Engine::get_clock() + w.duration->value()) : horizon;
  // Every GPU of an added node loads its shard of the weights from the node's storage.
  a.startup_s = as.startup_time ? as.startup_time->value()
                                : models.model.memory().weights.value() * per_node / kNodeWeightLoadBytesPerS;

  job.replicas_now = as.min_replicas;
  start_running(job);
  job.replica_timeline = {{sg4::Engine::get_clock()}, {double(as.min_replicas)}};
  job.held_timeline = job.replica_timeline;
  logger_->info("{} starts on {} nodes of {}: {} of at most {} replicas, each serving {:.4g} requests/s saturated",
                w.name, job.result->nodes, pod.accelerator->name, as.min_replicas, w.replicas(),
                a.capacity_requests_per_s);
  double next_decision = sg4::Engine::get_clock();
  // Runs until the horizon actor stops it (an open stream has no end of its own), or to
  // the end of its duration.
  while (true) {
    const long epoch = job.epoch;
    const double now = sg4::Engine::get_clock();
    double next_ready = kUnbounded;  // the next group to finish loading its weights
    for (auto& group : job.replica_groups) {
      if (group->granted && !group->running) start_group(job, *group);
      if (group->running && !group->serving) {
        if (now >= group->serving_from_s) {
          group->serving = true;
          record_replicas(job, group->replicas);
        } else {
          next_ready = std::min(next_ready, group->serving_from_s);
        }
      }
    }
    if (until < horizon && now >= until) break;
    if (now >= next_decision) {
      const double peak = peak_rate(q.rate.value(), now, std::min(now + as.interval.value(), until), &q.diurnal);
      // Clamped as a double: a tiny target utilisation must not overflow the int.
      const double need = std::ceil(peak / (a.capacity_requests_per_s * as.target_utilization) - 1e-9);
      int wanted = int(std::clamp(need, double(as.min_replicas), double(w.replicas())));
      wanted = std::min(w.replicas(), (wanted + step - 1) / step * step);  // whole nodes
      job.wanted_timeline.times.push_back(now);
      job.wanted_timeline.values.push_back(wanted);
      resize_service(job, wanted, per_replica, step, pods);
      record_replicas(job, 0);  // the offered load changes with the hour (a row only if it did)
      next_decision = now + as.interval.value();
    }
    wait_on(job, std::min({next_decision, next_ready, until < horizon ? until : horizon + 1.0}), epoch);
  }
  // Its duration is over: everything it added goes back, then its first replicas.
  for (auto& group : job.replica_groups) {
    if (group->running) stop_group(job, *group);
    else if (!group->granted) scheduler_.withdraw(group->sched.id);
    else scheduler_.release(group->sched.id);  // granted at this instant, never started
  }
  job.replica_groups.clear();
  finish_autoscaled_service(job, until);
  stop_running(job);
}

void Simulation::resize_service(Job& job, int wanted, int per_replica, int step, const std::vector<int>& pods) {
  const WorkloadSpec& w = *job.spec;
  // Running, about to (granted at this instant, started at the next look), and queued.
  int starting = 0, queued = 0;
  for (const auto& group : job.replica_groups) {
    if (group->granted && !group->serving) starting += group->replicas;  // or loading its weights
    if (!group->granted) queued += group->replicas;
  }
  const int have = job.replicas_now + starting;
  if (wanted > have + queued) {
    // In steps of whole nodes, at most kGroupsPerScaleUp groups.
    const int steps = (wanted - have - queued + step - 1) / step;
    const int groups = std::min(steps, kGroupsPerScaleUp);
    const int per_node = fleet_.pods[std::size_t(pods.front())].accelerators_per_node;
    for (int i = 0; i < groups; ++i) {
      auto group = std::make_unique<Job::ReplicaGroup>();
      group->replicas = (steps / groups + (i < steps % groups ? 1 : 0)) * step;
      group->requested_s = sg4::Engine::get_clock();
      SchedJob& s = group->sched;
      s.id = next_group_id_++;
      s.submit_s = group->requested_s;
      s.accelerators = group->replicas * per_replica;
      s.groups = {PodGroup{pods, (s.accelerators + per_node - 1) / per_node}};
      s.tenant = w.tenant;
      s.priority = w.priority;
      Job::ReplicaGroup* g = group.get();
      job.replica_groups.push_back(std::move(group));
      // Called by whichever actor's call lets it start: record, and wake the service.
      scheduler_.submit(g->sched, [this, &job, g](Allocation allocation) {
        g->allocation = std::move(allocation);
        g->granted = true;
        wake(job);
      });
    }
    return;
  }
  // Fewer wanted: withdraw queued groups, newest first, while the rest still covers what is
  // wanted (all of them if the running replicas do); then give back running ones, newest
  // first, while the running rest covers it (the first replicas are never given back).
  for (auto it = job.replica_groups.rbegin(); it != job.replica_groups.rend(); ++it) {
    Job::ReplicaGroup& g = **it;
    if (g.granted || have + queued - g.replicas < wanted) continue;
    // Withdrawing one may let another of ours start at once: that one is granted now.
    if (scheduler_.withdraw(g.sched.id)) {
      queued -= g.replicas;
      job.result->autoscale.replicas_withdrawn += g.replicas;
      g.replicas = 0;  // gone; erased below
    }
  }
  int running = have;
  for (auto it = job.replica_groups.rbegin(); it != job.replica_groups.rend(); ++it) {
    Job::ReplicaGroup& g = **it;
    if (!g.running || running - g.replicas < wanted) continue;
    running -= g.replicas;
    stop_group(job, g);
    g.replicas = 0;
  }
  auto& groups = job.replica_groups;
  groups.erase(std::remove_if(groups.begin(), groups.end(), [](const auto& g) { return g->replicas == 0; }),
               groups.end());
}

void Simulation::start_group(Job& job, Job::ReplicaGroup& group) {
  for (const auto& part : group.allocation.parts)
    for (int n : part.nodes) group.hosts.push_back(fleet_.pods[std::size_t(part.pod)].hosts[std::size_t(n)]);
  group.started_s = sg4::Engine::get_clock();
  group.energy_at_start_j = energy_of(group.hosts);
  power_up(group.allocation, group.busy);
  group.running = true;
  job.held_accelerators += group.sched.accelerators;
  AutoscaleResult& a = job.result->autoscale;
  a.mean_scale_up_wait_s += group.started_s - group.requested_s;  // a sum until the end
  a.scale_ups++;
  group.serving_from_s = group.started_s + a.startup_s;
  step_held(job, group.started_s, group.replicas);
  if (a.startup_s <= 0) {
    group.serving = true;
    record_replicas(job, group.replicas);
  } else {
    sample();  // its nodes draw power from now on
  }
}

void Simulation::stop_group(Job& job, Job::ReplicaGroup& group) {
  WorkloadResult& r = *job.result;
  const double now = sg4::Engine::get_clock();
  const double energy = energy_of(group.hosts);
  // Its account is closed before the calls into SimGrid below (a kill at the horizon may
  // come in any of them), so the end of the run does not count it again.
  group.running = false;
  job.held_accelerators -= group.sched.accelerators;
  r.energy_j += energy - group.energy_at_start_j;
  r.accelerator_s += (now - group.started_s) * group.sched.accelerators;
  power_down(group.allocation, group.busy);
  step_held(job, now, -group.replicas);
  r.autoscale.scale_downs++;
  scheduler_.release(group.sched.id);
  // After the release: the row's allocation is right.
  if (group.serving) record_replicas(job, -group.replicas);
  else sample();
  group.serving = false;
}

void Simulation::step_held(Job& job, double at, int delta) {
  StepProfile& held = job.held_timeline;
  const double now_held = held.values.back() + delta;
  if (held.times.back() == at) held.values.back() = now_held;
  else {
    held.times.push_back(at);
    held.values.push_back(now_held);
  }
}

void Simulation::record_replicas(Job& job, int delta) {
  const WorkloadSpec& w = *job.spec;
  const double now = sg4::Engine::get_clock();
  job.replicas_now += delta;
  StepProfile& timeline = job.replica_timeline;
  if (delta != 0 && timeline.times.back() == now) {
    timeline.values.back() = job.replicas_now;
  } else if (delta != 0) {
    timeline.times.push_back(now);
    timeline.values.push_back(job.replicas_now);
  }
  // The series' throughput: the load offered now, up to what the running replicas serve
  // (the requests themselves are scheduled after the run).
  const double offered = peak_rate(w.requests.rate.value(), now, now, &w.requests.diurnal);
  const double tokens_per_s =
      std::min(offered, job.replicas_now * job.result->autoscale.capacity_requests_per_s) * tokens_per_request(w);
  if (delta == 0 && tokens_per_s == job.tokens_per_s) return;  // nothing to record
  job.tokens_per_s = tokens_per_s;
  sample();
}

bool Simulation::short_of_wanted(const Job& job, double from, double to) const {
  // Short means its added replicas queued at the scheduler; a group loading its weights
  // has its nodes and is coming (its start-up shows in the requests, not in this choice of
  // windows, which would otherwise take every window with a scale-up).
  const StepProfile& running = job.held_timeline;
  const StepProfile& wanted = job.wanted_timeline;
  if (wanted.times.empty()) return false;
  // Both are step functions: compare them at `from` and at every step inside the window.
  std::vector<double> at = {from};
  for (const StepProfile* p : {&running, &wanted})
    for (auto it = std::upper_bound(p->times.begin(), p->times.end(), from); it != p->times.end() && *it < to; ++it)
      at.push_back(*it);
  return std::any_of(at.begin(), at.end(), [&](double t) { return t >= wanted.times.front() && wanted.at(t) > running.at(t); });
}

void Simulation::finish_autoscaled_service(Job& job, double now) {
  const WorkloadSpec& w = *job.spec;
  const RequestStreamSpec& q = w.requests;
  WorkloadResult& r = *job.result;
  AutoscaleResult& a = r.autoscale;
  for (auto& group : job.replica_groups) {
    if (group->running) {
      r.energy_j += energy_of(group->hosts) - group->energy_at_start_j;
      r.accelerator_s += (now - group->started_s) * group->sched.accelerators;
    } else {
      a.replicas_queued += group->replicas;  // still queued (or granted at the last instant)
    }
  }
  a.mean_scale_up_wait_s = a.scale_ups > 0 ? a.mean_scale_up_wait_s / a.scale_ups : 0;
  const StepProfile& timeline = job.replica_timeline;
  const double start = *r.start_s;
  double replica_s = 0;
  for (std::size_t i = 0; i < timeline.times.size(); ++i) {
    const double until = i + 1 < timeline.times.size() ? timeline.times[i + 1] : now;
    replica_s += timeline.values[i] * (until - timeline.times[i]);
  }
  a.mean_replicas = now > start ? replica_s / (now - start) : timeline.values.front();
  a.min_replicas = int(*std::min_element(timeline.values.begin(), timeline.values.end()));
  a.max_replicas = int(timeline.max());

  // Each representative replica's stream: rate(t) / R(t); its requests count with
  // probability R(t) / max R (and its busy time so weighted), as the service's do.
  StepProfile share = timeline, weight = timeline;
  for (double& v : share.values) v = 1.0 / v;
  for (double& v : weight.values) v /= timeline.max();
  const ReplicaModels models = replica_models(job);
  const ServingStepModel& model = models.model;
  ServingResult& out = r.serving;
  out.replicas = w.replicas();
  out.kv_tokens_per_replica = model.memory().kv_tokens;
  out.weights_per_gpu_bytes = model.memory().weights.value();
  const IterationCost* verifier = models.verifier();
  const double submit = w.submit.value();
  ReplicaTotals totals;
  std::size_t arrivals_count = 0;
  // Replica time counted in the figures (weighted), sampled, and simulated (warm-ups too).
  double counted_s = 0, sampled_s = 0, simulated_s = 0;
  int simulated = 0;
  // One representative replica's stream from `begin` to `end`, its requests counted from
  // `from` to `to` with probability `counts` (R(t) / max R, times a window's factor).
  auto simulate = [&](double begin, double end, std::uint64_t stream, const StepProfile& counts, double from,
                      double to) {
    const auto arrivals =
        poisson_arrivals(q.rate.value(), begin, std::nullopt, end, scenario_.seed, stream, &q.diurnal, &share);
    const auto requests = requests_of(w, arrivals, scenario_.seed, stream);
    const ScheduleResult schedule =
        schedule_replica(requests, w.max_batch, out.kv_tokens_per_replica, model, start, verifier, w.kv_policy);
    const RequestWeight weighting{&counts, scenario_.seed, stream};
    arrivals_count += tally_replica(w, requests, schedule, now, out, totals, from, to, &weighting);
  };
  // Requests one replica's stream brings over the run.
  const double per_replica = expected_shared(q.rate.value(), submit, now, &q.diurnal, share);
  if (per_replica <= kFullReplicaRequests) {
    // Whole replicas over the whole run, until enough requests were seen.
    const int most =
        q.representative_replicas > 0 ? std::min(w.replicas(), q.representative_replicas) : w.replicas();
    for (int k = 0; k < most && double(arrivals_count) < kEnoughSimulatedRequests; ++k, ++simulated) {
      simulate(submit, now, (std::uint64_t(job.index) << 32) + std::uint64_t(k), weight, -1e300, 1e300);
      counted_s += weight.integral(start, now);
      simulated_s += now - start;
    }
  } else {
    // One replica's stream, sampled by window.
    const double window = w.autoscale->interval.value();
    const auto windows = static_cast<std::uint64_t>(std::ceil((now - submit) / window));
    const double keep = std::min(1.0, kSampledRequests / per_replica);
    const std::uint64_t tag = (std::uint64_t(job.index) << 32) | (std::uint64_t(1) << 31);
    simulated = 1;
    a.sampled_share = 0;
    // Which windows: drawn with probability `keep`, except that windows in which the
    // service ran short of what it wanted (its added replicas queued), and the window
    // after each (its backlog drains), are rare and decide its worst latencies: always
    // simulated, their requests counted with probability `keep` too so that they weigh
    // as much as the drawn ones.
    // The drawn ones systematically: one every 1 / keep windows from a random offset, so
    // that the share drawn is `keep` exactly (a tail percentile moves with the share of
    // short windows in the sample) and the hours of the day are all visited.
    std::vector<double> factor(windows, 0.0);  // 0: not simulated
    const double offset = window_draw(scenario_.seed, tag, 0);
    for (std::uint64_t i = 0; i < windows; ++i) {
      const double from = submit + double(i) * window, to = std::min(now, from + window);
      if (short_of_wanted(job, std::max(submit, from - window), to)) factor[i] = keep;
      else if (std::floor(double(i + 1) * keep + offset) > std::floor(double(i) * keep + offset)) factor[i] = 1;
    }
    if (std::all_of(factor.begin(), factor.end(), [](double f) { return f == 0; })) factor.back() = 1;
    // Consecutive windows run as one stretch (a backlog longer than a window carries
    // over), after a warm-up of the window before it.
    for (std::uint64_t i = 0; i < windows;) {
      if (factor[i] == 0) {
        ++i;
        continue;
      }
      std::uint64_t last = i;
      while (last + 1 < windows && factor[last + 1] > 0) ++last;
      const double from = submit + double(i) * window, to = std::min(now, submit + double(last + 1) * window);
      // Each window's requests weighted by its factor.
      StepProfile scaled;
      for (std::uint64_t k = i; k <= last; ++k) {
        const double begin = submit + double(k) * window, end = std::min(now, begin + window);
        scaled.times.push_back(begin);
        scaled.values.push_back(weight.at(begin) * factor[k]);
        for (auto t = std::upper_bound(weight.times.begin(), weight.times.end(), begin);
             t != weight.times.end() && *t < end; ++t) {
          scaled.times.push_back(*t);
          scaled.values.push_back(weight.at(*t) * factor[k]);
        }
      }
      const double warm = std::max(submit, from - window);
      simulate(warm, to, tag + i, scaled, from, to);
      sampled_s += std::max(0.0, to - std::max(from, start));
      counted_s += scaled.integral(std::max(from, start), std::max(to, start));
      simulated_s += std::max(0.0, to - std::max(warm, start));
      i = last + 1;
    }
    a.sampled_share = now > submit ? sampled_s / std::max(1e-300, now - std::max(submit, start)) : 1;
  }
  out.simulated_replicas = simulated;
  // Scale to the whole stream by its expected arrivals over the simulated ones.
  const double expected = expected_arrivals(q.rate.value(), w.submit.value(), now, &q.diurnal);
  const double scale = arrivals_count > 0 ? expected / double(arrivals_count) : 0;
  scale_to_stream(out, totals, scale);
  out.service_s = std::max(0.0, now - start);
  // So that verify_share is a replica's share of time spent verifying.
  out.verify_s = simulated_s > 0 ? out.verify_s / simulated_s * out.service_s * out.replicas : 0;
  // Each representative replica stands for a replica that is up the whole time.
  out.busy_fraction = counted_s > 0 ? totals.busy_replica_s / counted_s : 0;
  r.tokens_done = out.output_tokens;
}

}  // namespace fleetsim::engine_detail
