#include "engine/simulation_impl.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include <simgrid/plugins/energy.h>

#include "core/log.hpp"
#include "models/parallelism_search.hpp"
#include "models/synthetic_data.hpp"
#include "models/video_step.hpp"
#include "platform/simgrid_platform.hpp"
#include "scenario/scenario_loader.hpp"

namespace fleetsim::engine_detail {

// Per-message latency of a send/receive (pipeline hand-offs, all-to-all): NCCL's ring
// Simple step, 3.4 us over NVLink, 14 us over the network (NCCL src/graph/tuning.cc,
// hwLat table). Also used for ICI and NeuronLink until issue 3 separates them.
// All-reduce, reduce-scatter and all-gather take NCCL's own tables (models/collectives.hpp).
constexpr double kScaleUpStepLatencyS = 3.4e-6;
constexpr double kScaleOutStepLatencyS = 14.0e-6;

double energy_of(const std::vector<sg4::Host*>& hosts) {
  // One kernel call for all the hosts rather than one per host not yet brought up to now.
  return simgrid::kernel::actor::simcall_answered([&hosts] {
    double joules = 0;
    for (auto* h : hosts) joules += sg_host_get_consumed_energy(h);
    return joules;
  });
}

// The fabric one accelerator of the job sees on its allocation.
FabricView fabric_view(const Fleet& fleet, const Allocation& allocation, const NodeType& node, int gpus) {
  FabricView view;
  const FleetPod& first = fleet.pods[allocation.parts.front().pod];
  view.scale_up_domain = node.scale_up_domain;
  view.accelerators_per_node = node.accelerators;
  view.scale_up_torus_dims = node.scale_up_torus_dims;
  view.scale_up = {node.scale_up_bandwidth, Seconds(kScaleUpStepLatencyS)};
  const ByteRate nic_share = node.nic_bandwidth * (double(node.nics) / node.accelerators);
  // Past one leaf, leaf uplinks are shared in the oversubscription ratio.
  const bool spans_leaves = first.nodes_per_leaf == 0 || allocation.node_count() > first.nodes_per_leaf;
  view.scale_out = {spans_leaves ? nic_share / first.oversubscription : nic_share, Seconds(kScaleOutStepLatencyS), kNetworkBandwidthEfficiency};
  int smallest_share = gpus;
  ByteRate inter_pod = view.scale_out.bandwidth;
  for (const auto& part : allocation.parts) {
    const FleetPod& pod = fleet.pods[part.pod];
    const int accelerators = int(part.nodes.size()) * pod.accelerators_per_node;
    smallest_share = std::min(smallest_share, accelerators);
    if (pod.pod_uplink_bytes_per_s > 0)
      inter_pod = min(inter_pod, ByteRate(pod.pod_uplink_bytes_per_s / accelerators));
  }
  view.accelerators_in_pod = allocation.parts.size() == 1 ? gpus : smallest_share;
  view.inter_pod = {inter_pod, Seconds(kScaleOutStepLatencyS), kNetworkBandwidthEfficiency};
  return view;
}

// A node type describing a pod's nodes: the platform's own, or for a hand-written
// platform the first catalog node type with the same accelerator and count.
const NodeType* node_type_of(const FleetPod& pod, const Catalog& catalog) {
  if (pod.node_type) return pod.node_type;
  for (const auto& name : catalog.node_type_names()) {
    const NodeType* t = catalog.node_type(name);
    if (t->accelerator == pod.accelerator->name && t->accelerators == pod.accelerators_per_node) return t;
  }
  for (const auto& name : catalog.node_type_names()) {
    const NodeType* t = catalog.node_type(name);
    if (t->accelerator == pod.accelerator->name) return t;
  }
  return nullptr;
}

std::vector<PodShape> pod_shapes(const Fleet& fleet) {
  std::vector<PodShape> shapes;
  for (const FleetPod& pod : fleet.pods)
    shapes.push_back({pod.accelerator->name, pod.accelerators_per_node, int(pod.hosts.size()), pod.nodes_per_leaf});
  return shapes;
}

SchedJob plan_job(const Scenario& scenario, int index, const Fleet& fleet, const Catalog& catalog,
                  ProblemList& problems) {
  const WorkloadSpec& w = scenario.workloads[std::size_t(index)];
  const std::string key = "workloads." + std::to_string(index);
  SchedJob job;
  job.id = index;
  job.submit_s = w.submit.value();
  // An autoscaled service starts with its minimum; its added replicas queue on their own.
  job.accelerators = w.autoscale ? w.autoscale->min_replicas * w.parallelism.tp * w.parallelism.pp : w.gpus;
  job.tenant = w.tenant;
  job.priority = w.priority;
  job.preemptible = w.kind == "pretrain" && w.preemptible;

  // Pods a job can mix: one accelerator type and node shape.
  std::map<std::pair<std::string, int>, std::vector<int>> shapes;
  for (std::size_t p = 0; p < fleet.pods.size(); ++p) {
    const FleetPod& pod = fleet.pods[p];
    if (w.accelerator && pod.accelerator->name != *w.accelerator) continue;
    shapes[{pod.accelerator->name, pod.accelerators_per_node}].push_back(int(p));
  }
  struct Candidate {
    PodGroup group;
    double runtime_s;
  };
  std::vector<Candidate> candidates;
  bool large_enough = false;
  std::string why;
  for (const auto& [shape, pods] : shapes) {
    const int need = (job.accelerators + shape.second - 1) / shape.second;
    long long nodes = 0;
    for (int p : pods) nodes += long(fleet.pods[std::size_t(p)].hosts.size());
    if (nodes * shape.second < w.gpus) continue;  // an autoscaled service must fit at its largest
    large_enough = true;
    const FleetPod& pod = fleet.pods[std::size_t(pods.front())];
    const NodeType* node = node_type_of(pod, catalog);
    if (!node) {
      problems.add(w.where, key, "no catalog node type has accelerator " + pod.accelerator->name);
      continue;
    }
    double runtime = kUnbounded;
    // Replicas of an autoscaled service are added and given back in whole nodes (the
    // scenario layer checks designs; this, hand-written platforms).
    if (const std::string packing = autoscale_fit_problem(w, pod.accelerator->name, shape.second); !packing.empty()) {
      problems.add(w.where, key + ".autoscale", packing);
      continue;
    }
    if (w.is_serving() || w.is_video()) {
      const std::string problem = inference_fit_problem(w, *pod.accelerator);
      if (!problem.empty()) {
        why = "a replica " + problem;
        continue;
      }
      if (w.duration) runtime = w.duration->value();  // a service that ends: backfill may count on it
    } else {
      // The estimate the scheduler may use: the step on one pod's nominal fabric.
      const int in_pod = int(pod.hosts.size()) * pod.accelerators_per_node;
      const FabricView fabric = nominal_fabric(*node, in_pod, pod.oversubscription);
      TrainingSetup setup = training_setup(w, *pod.accelerator);
      if (w.parallelism.automatic) {
        auto choice = search_parallelism(setup, w.gpus, fabric);
        if (!choice) {
          why = "no TP/PP/DP/CP split, micro-batch and recompute mode fits on " + pod.accelerator->name;
          continue;
        }
        setup = choice->setup;
      } else if (const MemoryBreakdown mem = training_memory(setup); !mem.fits()) {
        why = pod.accelerator->name + " needs " + std::to_string(mem.total().value() / 1e9) + " GB, largest term " +
              mem.largest_term();
        continue;
      }
      const StepBreakdown step = training_step(setup, fabric);
      if (w.tokens) runtime = std::ceil(*w.tokens / step.tokens_per_step) * step.step_time.value();
      if (w.duration) runtime = std::min(runtime, w.duration->value());
    }
    candidates.push_back({PodGroup{pods, need}, runtime});
  }
  if (!large_enough) {
    problems.add(w.where, key + ".gpus",
                 "expected at most the platform's " + std::to_string(fleet.accelerator_count()) + " accelerators" +
                     (w.accelerator ? " of type " + *w.accelerator : std::string()) +
                     " (in pods of one accelerator type), got " + std::to_string(w.gpus));
    return job;
  }
  if (candidates.empty()) {
    if (!why.empty())
      problems.add(w.where, key + ".parallelism", "expected a configuration that fits in accelerator memory: " + why);
    return job;
  }
  // Where it runs fastest first (services: in pod order).
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.runtime_s < b.runtime_s; });
  for (auto& c : candidates) job.groups.push_back(std::move(c.group));
  job.estimated_runtime_s = candidates.front().runtime_s;
  return job;
}

// The state only changes where a row was recorded (every job start and end), so the
// series is piecewise constant: rows at every multiple of `interval` are read off it
// (the last row at or before each grid time) and merged with the change rows.
std::vector<TimeseriesRow> on_grid(const std::vector<TimeseriesRow>& changes, double interval, double end) {
  std::vector<TimeseriesRow> rows;
  // Several rows at one instant are the steps of one change (a job ends, the controller
  // re-levels, another starts): only the last held, so only it is kept.
  auto push = [&rows](const TimeseriesRow& row) {
    if (!rows.empty() && rows.back().time_s == row.time_s) rows.back() = row;
    else rows.push_back(row);
  };
  std::size_t next = 0;
  const auto steps = static_cast<long long>(std::floor(end / interval));
  for (long long k = 0; k <= steps; ++k) {
    const double t = double(k) * interval;
    while (next < changes.size() && changes[next].time_s < t) push(changes[next++]);
    // The state holding at t: the last change at or before t.
    std::size_t held = next;
    while (held < changes.size() && changes[held].time_s == t) push(changes[held++]);
    next = held;
    if (rows.empty() || rows.back().time_s != t) {
      TimeseriesRow row = rows.empty() ? changes.front() : rows.back();
      row.time_s = t;
      rows.push_back(row);
    }
  }
  while (next < changes.size()) push(changes[next++]);
  return rows;
}

// The requests of a stream: one per arrival, with lengths drawn per request when the
// workload gives distributions (fixed otherwise), from (seed, stream).
std::vector<ServingRequest> requests_of(const WorkloadSpec& w, const std::vector<double>& arrivals, std::uint64_t seed,
                                        std::uint64_t stream) {
  const RequestStreamSpec& q = w.requests;
  const std::vector<int> inputs = draw_lengths(q.input_lengths, arrivals.size(), seed, 2 * stream);
  const std::vector<int> outputs = draw_lengths(q.output_lengths, arrivals.size(), seed, 2 * stream + 1);
  std::vector<ServingRequest> requests;
  requests.reserve(arrivals.size());
  for (std::size_t i = 0; i < arrivals.size(); ++i) {
    const int input = q.input_lengths.fixed() ? q.input_tokens : inputs[i];
    const int output = q.output_lengths.fixed() ? q.output_tokens : outputs[i];
    requests.push_back({arrivals[i], input, q.thinking_tokens + output, q.samples});
  }
  return requests;
}

PolicyConfig Simulation::policy_config(const SchedulerSpec& spec) {
  PolicyConfig config;
  config.name = spec.policy;
  config.preemption = spec.preemption;
  if (spec.fair_share_half_life) config.fair_share_half_life_s = spec.fair_share_half_life->value();
  for (const auto& [name, tenant] : spec.tenants) config.tenants[name] = TenantLimits{tenant.share, tenant.quota};
  return config;
}

RunResult Simulation::run() {
  ProblemList problems;
  jobs_.resize(scenario_.workloads.size());
  for (std::size_t i = 0; i < jobs_.size(); ++i) jobs_[i].sched = plan_job(scenario_, int(i), fleet_, catalog_, problems);
  result_.nodes = fleet_.node_count();
  result_.accelerators = fleet_.accelerator_count();
  for (const FleetPod& pod : fleet_.pods) {
    // Priced as the node type the hosts name, or a catalog type with the same accelerator
    // and count per node; nothing else would price them right (4-GPU hosts are not DGXs).
    const NodeType* type = node_type_of(pod, catalog_);
    if (!pod.node_type && type && type->accelerators != pod.accelerators_per_node) type = nullptr;
    auto same = std::find_if(result_.fleet_nodes.begin(), result_.fleet_nodes.end(),
                             [type](const FleetNodes& n) { return n.type == type; });
    if (same == result_.fleet_nodes.end()) same = result_.fleet_nodes.insert(same, FleetNodes{type, 0});
    same->count += static_cast<long long>(pod.hosts.size());
  }
  result_.workloads.resize(scenario_.workloads.size());
  running_nodes_.assign(fleet_.pods.size(), 0);
  exec_nodes_.assign(fleet_.pods.size(), 0);
  throttled_nodes_.assign(fleet_.pods.size(), 0);
  for (const FleetPod& pod : fleet_.pods) {
    pstate_nodes_.emplace_back(pod.pstate_watts.size(), 0);
    lowest_level_ = std::max(lowest_level_, int(pod.dvfs_pstates.size()) - 1);
  }
  if (const auto& facility = scenario_.cluster.facility; facility.power_cap) {
    // The idle fleet must fit under the cap at the highest PUE, or nothing could start.
    double idle_w = fleet_.network_watts;
    for (const FleetPod& pod : fleet_.pods) idle_w += double(pod.hosts.size()) * pod.node_idle_watts;
    if (idle_w * facility.max_pue() > facility.power_cap->value())
      problems.add(facility.power_cap_where, "cluster.facility.power_cap",
                   "expected at least the idle fleet's facility power (" + std::to_string(idle_w * facility.max_pue() / 1e6) +
                       " MW at PUE " + std::to_string(facility.max_pue()) + "), got " +
                       std::to_string(facility.power_cap->value() / 1e6) + " MW");
    for (const WorkloadSpec& w : scenario_.workloads)
      if (w.autoscale)
        problems.add(facility.power_cap_where, "cluster.facility.power_cap",
                     "expected no autoscaled service with a facility power cap (its replicas are not yet held "
                     "for power), got workload " + w.name + " with autoscale");
  }
  off_nodes_.assign(fleet_.pods.size(), 0);
  problems.throw_if_any();
  for (const FleetPod& pod : fleet_.pods) {
    node_owner_.emplace_back(pod.hosts.size(), -1);
    down_.emplace_back(pod.hosts.size(), 0);
  }
  cross_pod_jobs_.assign(fleet_.pods.size(), {});
  sg4::Host* anchor = fleet_.pods.front().gateway ? fleet_.pods.front().gateway : fleet_.pods.front().hosts.front();
  anchor_ = anchor;
  std::vector<Job*> by_submit;
  std::map<std::string, int> stream_series;
  for (std::size_t i = 0; i < jobs_.size(); ++i) {
    Job& job = jobs_[i];
    job.index = int(i);
    job.spec = &scenario_.workloads[i];
    // A time-series column per workload written out, one per trace or stream (its jobs summed).
    const std::string& stream = job.spec->stream;
    if (stream.empty() || !stream_series.count(stream)) {
      job.series = int(result_.series.size());
      result_.series.push_back(stream.empty() ? job.spec->name : stream);
      if (!stream.empty()) stream_series[stream] = job.series;
    } else {
      job.series = stream_series[stream];
    }
    job.result = &result_.workloads[i];
    job.result->spec = job.spec;
    job.result->submit_s = job.spec->submit.value();
    if (job.spec->autoscale) {
      job.replica_series = int(result_.replica_series.size());
      result_.replica_series.push_back(job.spec->name);
    }
    by_submit.push_back(&job);
  }
  std::stable_sort(by_submit.begin(), by_submit.end(),
                   [](const Job* a, const Job* b) { return a->spec->submit.value() < b->spec->submit.value(); });
  // A job's actor is created at its submit time (an actor per job ever submitted would
  // hold a stack each from the start: job streams have tens of thousands).
  sg4::Actor::create("submit", anchor, [this, anchor, by_submit] {
    for (Job* job : by_submit) {
      sg4::this_actor::sleep_until(job->spec->submit.value());
      if (job->spec->submit.value() > 0) queued_++;  // those at 0 are counted from the start
      sg4::Actor::create(job->spec->name, anchor, [this, job] { run_job(*job); });
    }
  });
  if (options_.show_progress)
    sg4::Engine::on_time_advance_cb([this](double) { show_progress(); });
  next_group_id_ = int(jobs_.size());
  scheduler_.on_preempt([this](int id) {
    if (std::size_t(id) >= jobs_.size()) throw std::logic_error("engine bug: a service's replicas were evicted");
    preempt(jobs_[std::size_t(id)]);
  });
  // The run ends when the last job ends, or at the horizon, whichever comes first.
  sg4::Actor::create("horizon", anchor, [this] {
    sg4::this_actor::sleep_until(scenario_.horizon.value());
    // Jobs that span pods stop themselves at the horizon (their flows must be cancelled
    // by their own actor); let those woken at this instant run first.
    sg4::this_actor::yield();
    sg4::Actor::kill_all();
  })->daemonize();

  // Failures: one daemon actor for the whole fleet (failures.cpp); the run still ends
  // when the last job does.
  result_.failures_enabled = scenario_.failures.enabled;
  if (scenario_.failures.enabled) sg4::Actor::create("failures", anchor, [this] { run_failures(); })->daemonize();

  // The hourly PUE changes facility power between job events: re-level and record then.
  if (!scenario_.cluster.facility.pue_hourly.empty())
    sg4::Actor::create("power-controller", anchor, [this] { run_power_controller(); })->daemonize();

  for (const Job& job : jobs_) queued_ += job.spec->submit.value() <= 0 ? 1 : 0;
  sample();  // the idle cluster at time 0
  wall_start_ = std::chrono::steady_clock::now();
  sg4::Engine::get_instance()->run();
  finish();
  return std::move(result_);
}

// Submit, queue, and wait for the job's nodes (FIFO gang scheduling); fills the placement.
void Simulation::acquire_nodes(Job& job) {
  const WorkloadSpec& w = *job.spec;
  if (w.submit.value() > 0) sample();  // it joins the queue
  job.allocation = scheduler_.acquire(job.sched);
  job.hosts.clear();
  for (const auto& part : job.allocation.parts)
    for (int n : part.nodes) {
      job.hosts.push_back(fleet_.pods[part.pod].hosts[n]);
      node_owner_[std::size_t(part.pod)][std::size_t(n)] = job.index;
    }
  const FleetPod& pod = fleet_.pods[job.allocation.parts.front().pod];
  WorkloadResult& r = *job.result;
  r.accelerator = pod.accelerator;
  r.nodes = job.allocation.node_count();
  r.pods_spanned = int(job.allocation.parts.size());
  if (!r.start_s) {  // the first start (an evicted job restarts)
    r.start_s = sg4::Engine::get_clock();
    queued_--;
  }
}

void Simulation::power_up(const Allocation& allocation, std::vector<sg4::ExecPtr>& busy, PowerPhase phase,
                          bool throttleable, double utilisation, int level) {
  for (const auto& part : allocation.parts) {
    const FleetPod& pod = fleet_.pods[std::size_t(part.pod)];
    const std::size_t p = std::size_t(part.pod);
    for (int n : part.nodes) {
      sg4::Host* host = pod.hosts[std::size_t(n)];
      if (pod.running_pstate >= 0) {
        const int pstate = pstate_for(pod, phase, throttleable, level < 0 ? level_ : level, utilisation);
        host->set_pstate(pstate);
        pstate_nodes_[p][std::size_t(pstate)]++;
      } else {
        // No running pstate: an execution keeps the node busy until the job stops it.
        // (Host::exec_init would run it on the calling actor's host in SimGrid 3.32.)
        busy.push_back(sg4::this_actor::exec_init(host->get_speed() * (scenario_.horizon.value() + 1.0)));
        busy.back()->set_host(host)->start();
        exec_nodes_[p]++;
      }
    }
    running_nodes_[p] += int(part.nodes.size());
    if (throttleable && phase == PowerPhase::Compute && pod.running_pstate >= 0) throttled_nodes_[p] += int(part.nodes.size());
  }
}

void Simulation::power_down(const Allocation& allocation, std::vector<sg4::ExecPtr>& busy, bool throttleable) {
  for (const auto& part : allocation.parts) {
    const FleetPod& pod = fleet_.pods[std::size_t(part.pod)];
    const std::size_t p = std::size_t(part.pod);
    if (pod.running_pstate >= 0) {
      for (int n : part.nodes) {
        sg4::Host* host = pod.hosts[std::size_t(n)];
        pstate_nodes_[p][std::size_t(host->get_pstate())]--;
        host->set_pstate(0);
      }
      if (throttleable) throttled_nodes_[p] -= int(part.nodes.size());
    } else {
      exec_nodes_[p] -= int(part.nodes.size());
    }
    running_nodes_[p] -= int(part.nodes.size());
  }
  for (auto& exec : busy) exec->cancel();
  busy.clear();
}

void Simulation::start_running(Job& job) {
  // Serving replicas spend most of their time decoding; training steps, prefill-heavy
  // work and denoising are GEMM-bound (models/power.hpp). Only training is throttled.
  job.phase = job.spec->is_serving() ? PowerPhase::Decode : PowerPhase::Compute;
  job.throttleable = job.spec->kind == "pretrain";
  // Under a facility cap a service runs at the DVFS level it was admitted at and planned
  // for (hold_for_power_before_planning, power_cap.cpp).
  job.decode_capped = job.phase == PowerPhase::Decode && scenario_.cluster.facility.power_cap.has_value();
  if (job.decode_capped && job.service_level < 0)
    throw std::logic_error("engine bug: capped service " + job.spec->name + " started without an admitted level");
  // A service's replicas decode their schedule's busy share of the time (computed before
  // it starts, serving_service.cpp) and idle the rest.
  job.utilisation = job.spec->is_serving() && job.result->serving.busy_fraction > 0 ? job.result->serving.busy_fraction : 1.0;
  {
    // Under a facility cap: until its start fits. A first start held for power starts
    // (and its wait ends) when the power is there, not when its nodes were granted.
    const double granted = sg4::Engine::get_clock();
    wait_for_power(job);
    WorkloadResult& r = *job.result;
    if (r.start_s && *r.start_s == granted) r.start_s = sg4::Engine::get_clock();
  }
  account_throttle(sg4::Engine::get_clock());
  job.run_start_s = sg4::Engine::get_clock();
  job.steps_from_s = job.run_start_s;
  // Restarting after a failure: its nodes wait idle through detection and restart.
  job.powered = !job.restart_pending;
  bool relevelled = false;
  atomically(job.allocation, [&] {
    if (job.powered)
      power_up(job.allocation, job.busy, job.phase, job.throttleable || job.decode_capped, job.utilisation,
               job.decode_capped ? job.service_level : -1);
    const FleetPod& pod = fleet_.pods[std::size_t(job.allocation.parts.front().pod)];
    job.speed = job.throttleable ? pod.speed_at(level_) : 1.0;
    job.running = true;
    job.held_accelerators += job.sched.accelerators;
    running_jobs_.insert(job.index);
    relevelled = relevel_state();
  });
  if (relevelled) wake_throttleable();
  // Read after the pstate change: the plugin brought every host up to now when its pstate
  // changed, so the read adds nothing at this instant (the same value as before it).
  job.energy_at_start_j = energy_of(job.hosts);
  sample();  // a row at every change of state, so the series integrates exactly
  scheduler_.set_evictable(job.index, true);
}

void Simulation::power_up_job(Job& job) {
  if (job.powered) return;
  account_throttle(sg4::Engine::get_clock());
  bool relevelled = false;
  atomically(job.allocation, [&] {
    power_up(job.allocation, job.busy, job.phase, job.throttleable || job.decode_capped, job.utilisation,
               job.decode_capped ? job.service_level : -1);
    job.powered = true;
    const FleetPod& pod = fleet_.pods[std::size_t(job.allocation.parts.front().pod)];
    if (job.throttleable && !pod.dvfs_speed.empty()) job.speed = pod.speed_at(level_);
    relevelled = relevel_state();
  });
  if (relevelled) wake_throttleable();
}

void Simulation::stop_running(Job& job) {
  scheduler_.set_evictable(job.index, false);  // first: what follows may let other actors run
  WorkloadResult& r = *job.result;
  r.end_s = sg4::Engine::get_clock();
  r.completed = true;
  leave_nodes(job, false);
  scheduler_.release(job.index);
  sample();  // after the release, so the row's allocated accelerators are right too
}

void Simulation::preempt(Job& job) {
  WorkloadResult& r = *job.result;
  job.preempted = true;
  r.interruptions++;
  leave_nodes(job);
  for (auto& flow : job.flows)
    if (flow->get_state() == sg4::Activity::State::STARTED) flow->cancel();
  wake(job);
}

void Simulation::wake(Job& job) {
  std::unique_lock lock(*cross_pod_mutex_);
  job.epoch++;
  job.wake->notify_all();
}

void Simulation::leave_nodes(Job& job, bool record) {
  WorkloadResult& r = *job.result;
  const double held_s = sg4::Engine::get_clock() - job.run_start_s;
  r.busy_s += held_s;
  r.accelerator_s += held_s * job.sched.accelerators;
  account_throttle(sg4::Engine::get_clock());
  bool relevelled = false;
  atomically(job.allocation, [&] {
    if (job.powered) power_down(job.allocation, job.busy, job.throttleable);
    job.powered = false;
    for (const auto& part : job.allocation.parts)
      for (int n : part.nodes)
        if (int& owner = node_owner_[std::size_t(part.pod)][std::size_t(n)]; owner == job.index) owner = -1;
    job.running = false;
    job.held_accelerators -= job.sched.accelerators;
    running_jobs_.erase(job.index);
    job.wall_step_s = 0;
    relevelled = relevel_state();
  });
  r.energy_j += energy_of(job.hosts) - job.energy_at_start_j;  // after the pstate change: see start_running
  if (relevelled) wake_throttleable();
  power_freed_->notify_all();  // jobs held for power look again
  if (record) sample();
}

void Simulation::sample() {
  TimeseriesRow row;
  row.time_s = sg4::Engine::get_clock();
  row.tokens_per_s.assign(result_.series.size(), 0.0);
  row.allocated_accelerators = scheduler_.allocated_accelerators();
  row.fragmentation = scheduler_.free().fragmentation();
  // From what is running now, not from every job ever submitted: a row is written at
  // every change, and streams have tens of thousands of jobs.
  for (int index : running_jobs_) {
    const Job& job = jobs_[std::size_t(index)];
    row.busy_accelerators += job.held_accelerators;
    row.running_workloads++;
    row.tokens_per_s[std::size_t(job.series)] += job.tokens_per_s;
  }
  row.queued_workloads = queued_;
  row.replicas.assign(result_.replica_series.size(), 0);
  for (int index : running_jobs_)
    if (const Job& job = jobs_[std::size_t(index)]; job.replica_series >= 0)
      row.replicas[std::size_t(job.replica_series)] = job.replicas_now;
  // What the energy plugin charges the nodes now (power_cap.cpp): running nodes their
  // pstate's wattage, idle ones the idle wattage, failed ones nothing.
  row.it_power_w = it_power_w();
  row.facility_power_w = row.it_power_w * scenario_.cluster.facility.pue_at(row.time_s);
  result_.timeseries.push_back(std::move(row));
}

void Simulation::facility_figures(double end) {
  // The series is piecewise constant between change rows; rows at one instant are the
  // steps of one change (a job ends, another starts): only the last one holds.
  std::vector<std::pair<double, double>> steps;  // time, facility power
  std::vector<double> it;                         // IT power
  for (const TimeseriesRow& row : result_.timeseries) {
    if (!steps.empty() && steps.back().first == row.time_s) {
      steps.back().second = row.facility_power_w;
      it.back() = row.it_power_w;
    } else {
      steps.emplace_back(row.time_s, row.facility_power_w);
      it.push_back(row.it_power_w);
    }
  }
  double it_j = 0, facility_j = 0;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const double t0 = steps[i].first, t1 = i + 1 < steps.size() ? steps[i + 1].first : end;
    facility_j += steps[i].second * (t1 - t0);  // rows fall on every hour the PUE changes
    it_j += it[i] * (t1 - t0);
    // A level that never lasted (the row at the end of the run) is not a peak.
    if (t1 > t0 || steps.size() == 1) {
      result_.peak_facility_power_w = std::max(result_.peak_facility_power_w, steps[i].second);
      result_.peak_it_power_w = std::max(result_.peak_it_power_w, it[i]);
    }
  }
  it_weighted_pue_ = it_j > 0 ? facility_j / it_j : 0.0;
  // The largest swing: power levels i and j (i before j) both seen within one window,
  // level i holds until t_{i+1}, so it and level j are both seen within a window when
  // t_j - t_{i+1} < window.
  const double window = scenario_.cluster.facility.swing_window.value();
  for (std::size_t j = 1; j < steps.size(); ++j)
    for (std::size_t i = j; i-- > 0;) {
      if (steps[j].first - steps[i + 1].first >= window) break;
      const double swing = std::fabs(steps[j].second - steps[i].second);
      if (swing > result_.max_swing_w) {
        result_.max_swing_w = swing;
        result_.max_swing_at_s = steps[i + 1].first;
      }
    }
}

// Progress on a terminal, at most once per wall second, from SimGrid's clock signal
// (a periodic actor would add events, and each event re-solves every busy host).
void Simulation::show_progress() {
  auto now = std::chrono::steady_clock::now();
  if (now - last_progress_ < std::chrono::seconds(1)) return;
  last_progress_ = now;
  const double wall = std::chrono::duration<double>(now - wall_start_).count();
  std::fprintf(stderr, "\r  simulated %.1f h of %.1f h (%.0fx real time)   ", sg4::Engine::get_clock() / 3600,
               scenario_.horizon.value() / 3600, sg4::Engine::get_clock() / std::max(wall, 1e-9));
}

void Simulation::finish() {
  double now = sg4::Engine::get_clock();
  // sleep_until(horizon) can land an ulp short of it; report the horizon itself.
  if (std::fabs(now - scenario_.horizon.value()) <= 1e-9 * scenario_.horizon.value()) now = scenario_.horizon.value();
  result_.simulated_s = now;
  if (options_.show_progress) std::fprintf(stderr, "\r%70s\r", "");
  sg_host_energy_update_all();  // one pass over the hosts: the reads below are lookups
  for (Job& job : jobs_) {
    WorkloadResult& r = *job.result;
    if (!job.running) continue;
    // Still running at the horizon: count whole steps done and the energy so far.
    r.busy_s += now - job.run_start_s;
    r.accelerator_s += (now - job.run_start_s) * job.sched.accelerators;
    r.energy_j += energy_of(job.hosts) - job.energy_at_start_j;
    if (job.spec->autoscale) {
      finish_autoscaled_service(job, now);
      continue;
    }
    if (job.spec->is_video()) continue;  // videos done by the horizon, counted at the start
    if (job.spec->is_serving()) {
      // Requests done by the horizon, counted at the start; synthetic-data counts accepted tokens.
      r.tokens_done = job.spec->is_synthetic_data() ? r.serving.accepted_tokens : r.serving.output_tokens;
      continue;
    }
    // A job that spans pods counted its own steps and contention by segment; if the
    // horizon interrupted one, its steps at the rate it was running at.
    if (job.segmented && job.segment.start >= 0) {
      const double elapsed = now - job.segment.start;
      const double steps = job.cross_done + job.segment.done_by(now, job.flows);
      r.steps_done = job.kept_steps + std::floor(steps + 1e-9);
      if (steps > 0)
        r.contention_slowdown = std::max(1.0, (job.cross_held_s + elapsed) / (steps * r.step_alone_s * job.stretch));
    }
    if (job.segmented) apply_contention(r);
    else if (job.wall_step_s > 0)  // its steps so far, at the speeds it ran at
      r.steps_done = job.kept_steps + std::floor(job.progress_steps + (now - job.progress_at) / job.wall_step_s);
    else
      r.steps_done = job.kept_steps + std::floor(std::max(0.0, now - job.steps_from_s) /
                                                 (r.step.step_time.value() * job.stretch));
    r.tokens_done = r.steps_done * r.step.tokens_per_step;
  }
  if (result_.timeseries.empty() || result_.timeseries.back().time_s < now) sample();
  // The row at the end closes the run: it shows the state that held up to it, at the PUE of
  // the hour that ends there (not the next hour's, which no one drew power in).
  if (now > 0 && !result_.timeseries.empty() && result_.timeseries.back().time_s == now) {
    TimeseriesRow& last = result_.timeseries.back();
    last.facility_power_w = last.it_power_w * scenario_.cluster.facility.pue_at(std::nextafter(now, 0.0));
  }
  account_throttle(now);
  facility_figures(now);
  result_.timeseries = on_grid(result_.timeseries, scenario_.timeseries_interval.value(), now);
  for (const auto& r : result_.workloads) result_.busy_accelerator_s += r.accelerator_s;
  for (const auto& pod : fleet_.pods) result_.it_energy_j += energy_of(pod.hosts);
  // The fabric's energy from SimGrid's link energy plugin, part of the IT energy.
  for (const sg4::Link* link : fleet_.powered_links) result_.network_energy_j += sg_link_get_consumed_energy(link);
  result_.network_power_w = fleet_.network_watts;
  result_.it_energy_j += result_.network_energy_j;
  // Facility energy: the plugin's IT energy x the PUE the IT energy saw (the profile's
  // hours weighted by the time series' IT power; exactly x PUE when it is constant).
  result_.facility_energy_j = it_weighted_pue_ > 0 ? result_.it_energy_j * it_weighted_pue_
                                                   : result_.it_energy_j * scenario_.cluster.facility.pue_at(0);
  result_.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start_).count();
}

}  // namespace fleetsim::engine_detail

namespace fleetsim {

using engine_detail::Simulation;
namespace sg4 = simgrid::s4u;

namespace {

// The SimGrid engine of one run (SimGrid allows one per process) with the host energy plugin.
std::unique_ptr<sg4::Engine> make_engine() {
  // CM02 without cross-traffic: a flow takes bytes / bandwidth + latency (simulation.hpp),
  // and does not take the reverse direction's bandwidth for acknowledgements (SimGrid's
  // default charges that, which would slow the flows going the other way). Our
  // communications stand for the traffic of many flows between pods, so the
  // single-TCP-window bound (gamma / 2 RTT) must not cap them either.
  std::vector<std::string> args = {"fleetsim", "--cfg=network/model:CM02", "--cfg=network/crosstraffic:0",
                                   "--cfg=network/TCP-gamma:1e18", "--log=root.thres:warning"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int argc = int(argv.size());
  auto engine = std::make_unique<sg4::Engine>(&argc, argv.data());
  sg_host_energy_plugin_init();
  sg_link_energy_plugin_init();  // network power: the fabric links' wattage_range
  set_log_clock([] { return sg4::Engine::get_clock(); });
  return engine;
}

}  // namespace

PlatformSize check_on_platform_file(const Scenario& scenario, const Catalog& catalog) {
  const auto engine = make_engine();
  const Fleet fleet = load_platform_file(*scenario.cluster.platform_file, catalog);
  ProblemList problems;
  for (std::size_t i = 0; i < scenario.workloads.size(); ++i) engine_detail::plan_job(scenario, int(i), fleet, catalog, problems);
  problems.throw_if_any();
  return {fleet.pods.size(), fleet.node_count(), fleet.accelerator_count()};
}

RunResult run_simulation(const Scenario& scenario, const Catalog& catalog, const Topology* topology,
                         const SimulationOptions& options) {
  const auto engine = make_engine();
  Fleet fleet;
  if (topology) {
    fleet = build_simgrid_platform(*topology);
    // The fabric figures the step-time model needs, from the design.
    for (std::size_t p = 0; p < fleet.pods.size() && p < topology->pods().size(); ++p) {
      const PodInstance& pod = topology->pods()[p];
      fleet.pods[p].nodes_per_leaf = pod.nodes_per_leaf;
      fleet.pods[p].pod_uplink_bytes_per_s = pod.pod_uplink.value();
      const double node_bandwidth = pod.node_type->nic_bandwidth.value() * pod.node_type->nics;
      fleet.pods[p].oversubscription = node_bandwidth * pod.nodes_per_leaf / pod.leaf_uplink.value();
    }
  } else {
    fleet = load_platform_file(*scenario.cluster.platform_file, catalog);
  }
  return Simulation(scenario, catalog, std::move(fleet), options).run();
}

}  // namespace fleetsim
