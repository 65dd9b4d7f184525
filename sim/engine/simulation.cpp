#include "engine/simulation.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>

#include <simgrid/plugins/energy.h>
#include <simgrid/s4u.hpp>

#include "core/log.hpp"
#include "engine/scheduler.hpp"
#include "models/parallelism_search.hpp"
#include "models/serving_schedule.hpp"
#include "models/synthetic_data.hpp"
#include "platform/simgrid_platform.hpp"
#include "scenario/scenario_loader.hpp"

namespace sg4 = simgrid::s4u;

namespace fleetsim {
namespace {

// Per-step latency of NCCL's ring algorithm with the Simple protocol (the one large
// messages use): 3.4 us over NVLink, 14 us over the network (NCCL src/graph/tuning.cc,
// hwLat table). Also used for ICI and NeuronLink until issue 3 separates them.
constexpr double kScaleUpStepLatencyS = 3.4e-6;
constexpr double kScaleOutStepLatencyS = 14.0e-6;

struct Job {
  int index = 0;
  const WorkloadSpec* spec = nullptr;
  WorkloadResult* result = nullptr;
  Allocation allocation;
  std::vector<sg4::Host*> hosts;
  bool running = false;
  double energy_at_start_j = 0;
  double tokens_per_s = 0;
};

double energy_of(const std::vector<sg4::Host*>& hosts) {
  double joules = 0;
  for (auto* h : hosts) joules += sg_host_get_consumed_energy(h);
  return joules;
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
  view.scale_out = {spans_leaves ? nic_share / first.oversubscription : nic_share, Seconds(kScaleOutStepLatencyS)};
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
  view.inter_pod = {inter_pod, Seconds(kScaleOutStepLatencyS)};
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

// Checks that need the platform: every workload fits the fleet, in count and memory.
void check_workloads_against_fleet(const Scenario& scenario, const Fleet& fleet, const FifoScheduler& scheduler,
                                   const Catalog& catalog) {
  ProblemList problems;
  for (std::size_t i = 0; i < scenario.workloads.size(); ++i) {
    const WorkloadSpec& w = scenario.workloads[i];
    const std::string key = "workloads." + std::to_string(i);
    JobRequest request{int(i), w.gpus, w.accelerator};
    if (!scheduler.nodes_needed_on_empty_fleet(request)) {
      problems.add(w.where, key + ".gpus",
                   "expected at most the platform's " + std::to_string(fleet.accelerator_count()) +
                       " accelerators" + (w.accelerator ? " of type " + *w.accelerator : std::string()) +
                       " (in pods of one accelerator type), got " + std::to_string(w.gpus));
      continue;
    }
    bool fits_somewhere = false;
    std::string why;
    for (const auto& pod : fleet.pods) {
      if (w.accelerator && pod.accelerator->name != *w.accelerator) continue;
      if (w.is_serving() || w.is_video()) {
        const std::string problem = inference_fit_problem(w, *pod.accelerator);
        if (problem.empty()) fits_somewhere = true;
        else why = "a replica " + problem;
      } else {
        const NodeType* node = node_type_of(pod, catalog);
        if (w.parallelism.automatic) {
          const int in_pod = int(pod.hosts.size()) * pod.accelerators_per_node;
          if (node && search_parallelism(training_setup(w, *pod.accelerator), w.gpus,
                                         nominal_fabric(*node, in_pod, pod.oversubscription)))
            fits_somewhere = true;
          else
            why = "no TP/PP/DP/CP split, micro-batch and recompute mode fits on " + pod.accelerator->name;
          continue;
        }
        const MemoryBreakdown mem = training_memory(training_setup(w, *pod.accelerator));
        if (mem.fits()) fits_somewhere = true;
        else why = pod.accelerator->name + " needs " + std::to_string(mem.total().value() / 1e9) +
                   " GB, largest term " + mem.largest_term();
      }
      if (!node_type_of(pod, catalog))
        problems.add(w.where, key, "no catalog node type has accelerator " + pod.accelerator->name);
    }
    if (!fits_somewhere)
      problems.add(w.where, key + ".parallelism", "expected a configuration that fits in accelerator memory: " + why);
  }
  problems.throw_if_any();
}

// The state only changes where a row was recorded (every job start and end), so the
// series is piecewise constant: rows at every multiple of `interval` are read off it
// (the last row at or before each grid time) and merged with the change rows.
std::vector<TimeseriesRow> on_grid(const std::vector<TimeseriesRow>& changes, double interval, double end) {
  std::vector<TimeseriesRow> rows;
  std::size_t next = 0;
  const auto steps = static_cast<long long>(std::floor(end / interval));
  for (long long k = 0; k <= steps; ++k) {
    const double t = double(k) * interval;
    while (next < changes.size() && changes[next].time_s < t) rows.push_back(changes[next++]);
    // The state holding at t: the last change at or before t.
    std::size_t held = next;
    while (held < changes.size() && changes[held].time_s == t) rows.push_back(changes[held++]);
    next = held;
    if (rows.empty() || rows.back().time_s != t) {
      TimeseriesRow row = rows.empty() ? changes.front() : rows.back();
      row.time_s = t;
      rows.push_back(row);
    }
  }
  while (next < changes.size()) rows.push_back(changes[next++]);
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

class Simulation {
 public:
  Simulation(const Scenario& scenario, const Catalog& catalog, Fleet fleet, const SimulationOptions& options)
      : scenario_(scenario), catalog_(catalog), fleet_(std::move(fleet)), options_(options), scheduler_(fleet_) {}

  RunResult run() {
    check_workloads_against_fleet(scenario_, fleet_, scheduler_, catalog_);
    result_.nodes = fleet_.node_count();
    result_.accelerators = fleet_.accelerator_count();
    result_.workloads.resize(scenario_.workloads.size());
    running_nodes_.assign(fleet_.pods.size(), 0);
    jobs_.resize(scenario_.workloads.size());
    sg4::Host* anchor = fleet_.pods.front().gateway ? fleet_.pods.front().gateway : fleet_.pods.front().hosts.front();
    for (std::size_t i = 0; i < jobs_.size(); ++i) {
      Job& job = jobs_[i];
      job.index = int(i);
      job.spec = &scenario_.workloads[i];
      job.result = &result_.workloads[i];
      job.result->spec = job.spec;
      job.result->submit_s = job.spec->submit.value();
      sg4::Actor::create(job.spec->name, anchor, [this, &job] { run_job(job); });
    }
    if (options_.show_progress)
      sg4::Engine::on_time_advance_cb([this](double) { show_progress(); });
    // The run ends when the last job ends, or at the horizon, whichever comes first.
    sg4::Actor::create("horizon", anchor, [this] {
      sg4::this_actor::sleep_until(scenario_.horizon.value());
      sg4::Actor::kill_all();
    })->daemonize();

    sample();  // the idle cluster at time 0
    wall_start_ = std::chrono::steady_clock::now();
    sg4::Engine::get_instance()->run();
    finish();
    return std::move(result_);
  }

 private:
  // Submit, queue, and wait for the job's nodes (FIFO gang scheduling); fills the placement.
  void acquire_nodes(Job& job) {
    const WorkloadSpec& w = *job.spec;
    sg4::this_actor::sleep_until(w.submit.value());
    if (w.submit.value() > 0) sample();  // it joins the queue
    job.allocation = scheduler_.acquire(JobRequest{job.index, w.gpus, w.accelerator});
    for (const auto& part : job.allocation.parts)
      for (int n : part.nodes) job.hosts.push_back(fleet_.pods[part.pod].hosts[n]);
    const FleetPod& pod = fleet_.pods[job.allocation.parts.front().pod];
    WorkloadResult& r = *job.result;
    r.accelerator = pod.accelerator;
    r.nodes = job.allocation.node_count();
    r.pods_spanned = int(job.allocation.parts.size());
    r.start_s = sg4::Engine::get_clock();
  }

  void run_job(Job& job) {
    if (job.spec->is_video()) {
      run_video_service(job);
      return;
    }
    if (job.spec->is_synthetic_data()) {
      run_synthetic_data_job(job);
      return;
    }
    if (job.spec->is_serving()) {
      run_service(job);
      return;
    }
    const WorkloadSpec& w = *job.spec;
    acquire_nodes(job);
    const FleetPod& pod = fleet_.pods[job.allocation.parts.front().pod];
    const NodeType& node = *node_type_of(pod, catalog_);
    WorkloadResult& r = *job.result;
    const FabricView fabric = fabric_view(fleet_, job.allocation, node, w.gpus);
    r.setup = training_setup(w, *pod.accelerator);
    if (w.parallelism.automatic) {
      // Choose for the placement the job got; the loader checked that something fits.
      const auto choice = search_parallelism(r.setup, w.gpus, fabric);
      assert(choice && "parallelism: auto was checked at load time");
      r.setup = choice->setup;
      logger_->info("{}: parallelism auto chose tp {} pp {} dp {} cp {} ep {}, micro-batch {} ({} of {} candidates fit)",
                    w.name, r.setup.parallelism.tp, r.setup.parallelism.pp, r.setup.parallelism.dp,
                    r.setup.parallelism.cp, r.setup.parallelism.ep, r.setup.micro_batch, choice->fitting,
                    choice->candidates);
    }
    r.step = training_step(r.setup, fabric);
    job.tokens_per_s = r.step.tokens_per_step / r.step.step_time.value();
    job.energy_at_start_j = energy_of(job.hosts);
    job.running = true;
    for (const auto& part : job.allocation.parts) running_nodes_[std::size_t(part.pod)] += int(part.nodes.size());
    sample();  // a row at every change of state, so the series integrates exactly

    const double step_s = r.step.step_time.value();
    // Run to the token target, or past the horizon (run_until stops the clock there).
    const double steps = w.tokens ? std::ceil(*w.tokens / r.step.tokens_per_step)
                                  : std::ceil((scenario_.horizon.value() - *r.start_s) / step_s) + 1;
    logger_->info("{} starts on {} nodes ({} pods) of {}: step {:.3f} s, {:.4g} tokens/s", w.name, r.nodes,
                  r.pods_spanned, pod.accelerator->name, step_s, job.tokens_per_s);
    run_segment(job.hosts, steps * step_s);

    r.end_s = sg4::Engine::get_clock();
    r.completed = true;
    r.steps_done = steps;
    r.tokens_done = steps * r.step.tokens_per_step;
    r.busy_s = *r.end_s - *r.start_s;
    r.energy_j = energy_of(job.hosts) - job.energy_at_start_j;
    job.running = false;
    for (const auto& part : job.allocation.parts) running_nodes_[std::size_t(part.pod)] -= int(part.nodes.size());
    sample();
    scheduler_.release(job.allocation);
    logger_->info("{} done: {:.4g} tokens", w.name, r.tokens_done);
  }

  // An inference service: its requests go round-robin (by arrival) to gpus / (tp x pp)
  // replicas; each replica's continuous batching runs in C++ (serving_schedule.hpp) and
  // the nodes stay busy in SimGrid from the start to the last completion (or to the
  // horizon), so the energy plugin charges them. No SimGrid event per request or token.
  void run_service(Job& job) {
    const WorkloadSpec& w = *job.spec;
    acquire_nodes(job);
    const FleetPod& pod = fleet_.pods[job.allocation.parts.front().pod];
    const NodeType& node = *node_type_of(pod, catalog_);
    WorkloadResult& r = *job.result;
    const double start = *r.start_s;
    const double horizon = scenario_.horizon.value();

    const ServingFabric fabric = serving_fabric(job, node);
    const int tp = w.parallelism.tp, pp = w.parallelism.pp;
    const ServingStepModel model(serving_setup(w, *pod.accelerator), fabric);
    // A verifier (reasoning) or filter (synthetic-data) on the same replicas scores every sample.
    std::optional<ServingStepModel> scorer;
    if (w.scorer) scorer.emplace(scorer_setup(w, *pod.accelerator), fabric);
    const IterationCost* verifier = scorer ? &*scorer : nullptr;
    ServingResult& out = r.serving;
    out.replicas = w.replicas();
    out.kv_tokens_per_replica = model.memory().kv_tokens;
    out.weights_per_gpu_bytes = model.memory().weights.value();

    // Arrivals: offline, all at the start; poisson, from the submit time (requests that
    // arrive while the service waits for its nodes queue, and their TTFT shows it).
    const RequestStreamSpec& q = w.requests;
    std::vector<std::vector<ServingRequest>> per_replica;
    std::size_t arrivals_count = 0;
    // Scale from the simulated replicas to the whole service (1 unless representative).
    double scale = 1.0;
    const bool open_stream = q.mode == ArrivalMode::Poisson && !q.count;
    if (open_stream) {
      // An open Poisson stream split at random over R replicas is R independent Poisson
      // streams of rate / R. Only K of them are simulated (K = representative_replicas,
      // all if 0 or if R <= K) and the counts scaled up to the whole stream; latency
      // percentiles come from the K replicas' requests. No work at all for the others.
      const int all = out.replicas;
      const int simulated = q.representative_replicas > 0 ? std::min(all, q.representative_replicas) : all;
      per_replica.resize(std::size_t(simulated));
      for (int k = 0; k < simulated; ++k) {
        const auto arrivals = poisson_arrivals(q.rate.value() / all, w.submit.value(), std::nullopt, horizon,
                                               scenario_.seed, (std::uint64_t(job.index) << 32) + std::uint64_t(k),
                                               &q.diurnal);
        arrivals_count += arrivals.size();
        per_replica[std::size_t(k)] = requests_of(w, arrivals, scenario_.seed, (std::uint64_t(job.index) << 32) + std::uint64_t(k));
      }
      out.simulated_replicas = simulated;
      // Scale by the stream's expected arrivals over the simulated ones (a ratio
      // estimator): the K replicas' arrival-count noise then does not reach the totals.
      const double expected = expected_arrivals(q.rate.value(), w.submit.value(), horizon, &q.diurnal);
      if (simulated < all && arrivals_count > 0) scale = expected / double(arrivals_count);
    } else {
      const std::vector<double> arrivals =
          q.mode == ArrivalMode::Offline
              ? std::vector<double>(std::size_t(*q.count), start)
              : poisson_arrivals(q.rate.value(), w.submit.value(), q.count, horizon, scenario_.seed,
                                 std::uint64_t(job.index), &q.diurnal);
      arrivals_count = arrivals.size();
      // Round-robin by arrival; replicas that get identical request lists (always, for
      // offline) are scheduled once.
      per_replica.resize(std::size_t(out.replicas));
      const std::vector<ServingRequest> all_requests = requests_of(w, arrivals, scenario_.seed, std::uint64_t(job.index));
      for (std::size_t i = 0; i < all_requests.size(); ++i) per_replica[i % per_replica.size()].push_back(all_requests[i]);
      out.simulated_replicas = out.replicas;
    }
    double last_completion = start;
    double busy_replica_s = 0, batch_sum = 0, decode_steps = 0;
    std::map<std::size_t, ScheduleResult> offline_cache;  // by request count
    for (const auto& requests : per_replica) {
      ScheduleResult computed;
      const ScheduleResult* schedule = &computed;
      const bool identical_lists = q.input_lengths.fixed() && q.output_lengths.fixed();
      if (q.mode == ArrivalMode::Offline && identical_lists) {
        auto it = offline_cache.find(requests.size());
        if (it == offline_cache.end())
          it = offline_cache
                   .emplace(requests.size(), schedule_replica(requests, w.max_batch, out.kv_tokens_per_replica,
                                                              model, start, verifier))
                   .first;
        schedule = &it->second;
      } else {
        computed = schedule_replica(requests, w.max_batch, out.kv_tokens_per_replica, model, start, verifier);
      }
      for (std::size_t i = 0; i < requests.size(); ++i) {
        const ServingRequest& request = requests[i];
        const RequestTiming& timing = schedule->requests[i];
        if (request.arrival_s < horizon) out.requests++;
        if (timing.completion_s > horizon) continue;  // unfinished when the run stops
        out.completed++;
        out.output_tokens += double(request.output_tokens) * request.samples;
        out.thinking_tokens += double(q.thinking_tokens) * request.samples;
        out.answer_tokens += double(request.output_tokens - q.thinking_tokens) * request.samples;
        last_completion = std::max(last_completion, timing.completion_s);
        out.ttft_s.push_back(timing.first_token_s - request.arrival_s);
        out.latency_s.push_back(timing.completion_s - request.arrival_s);
        // TPOT: the decode span per token of a sample (the verification, if any, excluded).
        if (request.output_tokens > 1)
          out.tpot_s.push_back((timing.decode_end_s - timing.first_token_s) / (request.output_tokens - 1));
      }
      out.verify_s += schedule->verify_s;
      for (const auto& busy : schedule->busy)
        busy_replica_s += std::max(0.0, std::min(busy.end_s, horizon) - std::min(busy.start_s, horizon));
      batch_sum += schedule->batch_sum;
      decode_steps += double(schedule->decode_steps);
    }
    out.mean_batch = decode_steps > 0 ? batch_sum / decode_steps : 0;
    out.requests = static_cast<long long>(std::llround(double(out.requests) * scale));
    out.completed = static_cast<long long>(std::llround(double(out.completed) * scale));
    out.output_tokens *= scale;
    out.thinking_tokens *= scale;
    out.answer_tokens *= scale;
    out.verify_s *= scale;
    busy_replica_s *= scale;
    // The service lasts until its last request is done; with an open-ended stream, until the horizon.
    const bool open_ended = open_stream;
    const double end = open_ended ? horizon : std::min(horizon, last_completion);
    out.service_s = std::max(0.0, end - start);
    out.busy_fraction = out.service_s > 0 ? busy_replica_s / (out.service_s * out.replicas) : 0;
    job.tokens_per_s = out.service_s > 0 ? out.output_tokens / out.service_s : 0;

    job.energy_at_start_j = energy_of(job.hosts);
    job.running = true;
    for (const auto& part : job.allocation.parts) running_nodes_[std::size_t(part.pod)] += int(part.nodes.size());
    sample();
    logger_->info("{} starts on {} nodes of {}: {} replicas of tp {} pp {}, {} requests, KV {:.4g} tokens per replica",
                  w.name, r.nodes, pod.accelerator->name, out.replicas, tp, pp, arrivals_count,
                  out.kv_tokens_per_replica);
    // An unfinished stream runs past the horizon, where the horizon actor stops it.
    run_segment(job.hosts, open_ended || last_completion > horizon ? horizon - start + 1.0 : end - start);

    r.end_s = sg4::Engine::get_clock();
    r.completed = true;
    r.tokens_done = out.output_tokens;
    r.busy_s = *r.end_s - start;
    r.energy_j = energy_of(job.hosts) - job.energy_at_start_j;
    job.running = false;
    for (const auto& part : job.allocation.parts) running_nodes_[std::size_t(part.pod)] -= int(part.nodes.size());
    sample();
    scheduler_.release(job.allocation);
    logger_->info("{} done: {} requests, {:.4g} output tokens", w.name, out.completed, out.output_tokens);
  }

  // A video-generation service: gpus / sp replicas, each generating one video at a time in
  // arrival order (requests go to the replica free first); the time of one video comes
  // from models/video_step.hpp, the queue runs in C++, and the nodes stay busy in SimGrid
  // from the start to the last completion (or the horizon) so the energy plugin charges
  // them. No SimGrid event per request or denoising step.
  void run_video_service(Job& job) {
    const WorkloadSpec& w = *job.spec;
    acquire_nodes(job);
    const FleetPod& pod = fleet_.pods[job.allocation.parts.front().pod];
    const NodeType& node = *node_type_of(pod, catalog_);
    WorkloadResult& r = *job.result;
    const double start = *r.start_s;
    const double horizon = scenario_.horizon.value();
    const FabricView view = fabric_view(fleet_, job.allocation, node, w.gpus);
    const LinkLevel sp_link = w.sp() <= view.scale_up_domain ? view.scale_up : view.scale_out;
    VideoResult& out = r.video;
    out.replicas = w.replicas();
    out.unloaded = video_generation_time(video_setup(w, *pod.accelerator), sp_link);
    const double per_video = out.unloaded.total.value();

    const RequestStreamSpec& q = w.requests;
    const std::vector<double> arrivals =
        q.mode == ArrivalMode::Offline
            ? std::vector<double>(std::size_t(*q.count), start)
            : poisson_arrivals(q.rate.value(), w.submit.value(), q.count, horizon, scenario_.seed,
                               std::uint64_t(job.index), &q.diurnal);
    // Identical replicas, FIFO: each request goes to the replica that frees up first.
    std::vector<double> free_at(std::size_t(out.replicas), start);
    double last_completion = start, busy_replica_s = 0;
    for (const double arrival : arrivals) {
      auto replica = std::min_element(free_at.begin(), free_at.end());
      const double begin = std::max(*replica, arrival), done = begin + per_video;
      *replica = done;
      if (arrival < horizon) out.requests++;
      busy_replica_s += std::max(0.0, std::min(done, horizon) - std::min(begin, horizon));
      if (done > horizon) continue;
      out.completed++;
      out.latency_s.push_back(done - arrival);
      last_completion = std::max(last_completion, done);
    }
    const bool open_ended = q.mode == ArrivalMode::Poisson && !q.count;
    const bool unfinished = out.completed < (long long)(arrivals.size());
    const double end = open_ended || unfinished ? horizon : last_completion;
    out.service_s = std::max(0.0, end - start);
    out.busy_fraction = out.service_s > 0 ? busy_replica_s / (out.service_s * out.replicas) : 0;

    job.energy_at_start_j = energy_of(job.hosts);
    job.running = true;
    for (const auto& part : job.allocation.parts) running_nodes_[std::size_t(part.pod)] += int(part.nodes.size());
    sample();
    logger_->info("{} starts on {} nodes of {}: {} replicas of sp {}, {} requests, {:.0f} latent tokens, {:.1f} s "
                  "per video",
                  w.name, r.nodes, pod.accelerator->name, out.replicas, w.sp(), arrivals.size(), out.unloaded.tokens,
                  per_video);
    // An unfinished stream runs past the horizon, where the horizon actor stops it.
    run_segment(job.hosts, open_ended || unfinished ? horizon - start + 1.0 : end - start);

    r.end_s = sg4::Engine::get_clock();
    r.completed = true;
    r.busy_s = *r.end_s - start;
    r.energy_j = energy_of(job.hosts) - job.energy_at_start_j;
    job.running = false;
    for (const auto& part : job.allocation.parts) running_nodes_[std::size_t(part.pod)] -= int(part.nodes.size());
    sample();
    scheduler_.release(job.allocation);
    logger_->info("{} done: {} videos", w.name, out.completed);
  }

  // The links a serving replica's TP group and PP hand-offs use on the job's placement.
  ServingFabric serving_fabric(const Job& job, const NodeType& node) const {
    const WorkloadSpec& w = *job.spec;
    const FabricView view = fabric_view(fleet_, job.allocation, node, w.gpus);
    const int tp = w.parallelism.tp, pp = w.parallelism.pp;
    return {tp <= view.scale_up_domain ? view.scale_up : view.scale_out,
            tp * pp <= view.scale_up_domain ? view.scale_up : view.scale_out};
  }

  // A synthetic-data job: replicas generate from an offline stream, the filter scores every
  // sample on the same replicas, and the job ends when the accepted tokens reach the target
  // (models/synthetic_data.hpp: full per-request simulation for small targets, steady-state
  // extrapolation for large ones). Its nodes are busy in SimGrid for that long.
  void run_synthetic_data_job(Job& job) {
    const WorkloadSpec& w = *job.spec;
    acquire_nodes(job);
    const FleetPod& pod = fleet_.pods[job.allocation.parts.front().pod];
    const NodeType& node = *node_type_of(pod, catalog_);
    WorkloadResult& r = *job.result;
    const double start = *r.start_s;
    const double horizon = scenario_.horizon.value();
    const ServingFabric fabric = serving_fabric(job, node);
    const ServingStepModel generator(serving_setup(w, *pod.accelerator), fabric);
    const ServingStepModel filter(scorer_setup(w, *pod.accelerator), fabric);
    ServingResult& out = r.serving;
    out.replicas = w.replicas();
    out.kv_tokens_per_replica = generator.memory().kv_tokens;
    out.weights_per_gpu_bytes = generator.memory().weights.value();

    SyntheticDataJob plan;
    plan.input_tokens = w.requests.input_tokens;
    plan.output_tokens = w.requests.output_tokens;
    plan.max_batch = w.max_batch;
    plan.kv_capacity_tokens = out.kv_tokens_per_replica;
    plan.replicas = out.replicas;
    plan.accept_rate = w.accept_rate;
    plan.target_tokens = w.target_tokens;
    plan.seed = scenario_.seed;
    plan.stream = std::uint64_t(job.index);
    const SyntheticDataRun run = run_synthetic_data(plan, generator, &filter, horizon - start);
    out.generated_samples = run.generated_samples;
    out.accepted_samples = run.accepted_samples;
    out.accepted_tokens = run.accepted_samples * w.requests.output_tokens;
    out.output_tokens = run.generated_samples * w.requests.output_tokens;
    out.requests = out.completed = (long long)(std::llround(run.generated_samples));
    out.extrapolated = run.extrapolated;
    out.simulated_requests = run.simulated_requests;
    out.mean_batch = run.mean_batch;
    out.busy_fraction = 1.0;  // an offline stream never lets a replica idle
    out.verify_s = run.filter_share * run.end_s * out.replicas;
    out.service_s = run.end_s;
    job.tokens_per_s = run.end_s > 0 ? out.accepted_tokens / run.end_s : 0;

    job.energy_at_start_j = energy_of(job.hosts);
    job.running = true;
    for (const auto& part : job.allocation.parts) running_nodes_[std::size_t(part.pod)] += int(part.nodes.size());
    sample();
    logger_->info("{} starts on {} nodes of {}: {} replicas of tp {} pp {}, {} ({} requests per replica simulated)",
                  w.name, r.nodes, pod.accelerator->name, out.replicas, w.parallelism.tp, w.parallelism.pp,
                  run.extrapolated ? "steady-state extrapolation" : "every request simulated", run.simulated_requests);
    // Unfinished at the horizon: run past it, where the horizon actor stops the job.
    run_segment(job.hosts, run.reached ? run.end_s : horizon - start + 1.0);

    r.end_s = sg4::Engine::get_clock();
    r.completed = true;
    r.tokens_done = out.accepted_tokens;
    r.busy_s = *r.end_s - start;
    r.energy_j = energy_of(job.hosts) - job.energy_at_start_j;
    job.running = false;
    for (const auto& part : job.allocation.parts) running_nodes_[std::size_t(part.pod)] -= int(part.nodes.size());
    sample();
    scheduler_.release(job.allocation);
    logger_->info("{} done: {:.4g} accepted tokens of {:.4g} generated", w.name, out.accepted_tokens, out.output_tokens);
  }

  // Keeps `hosts` busy for `duration_s`: parallel executions of at most kHostsPerTask
  // hosts each, whose work is the hosts' speed times the duration.
  static void run_segment(const std::vector<sg4::Host*>& hosts, double duration_s) {
    std::vector<sg4::ExecPtr> tasks;
    for (std::size_t first = 0; first < hosts.size(); first += kHostsPerTask) {
      const std::size_t last = std::min(hosts.size(), first + kHostsPerTask);
      std::vector<sg4::Host*> group(hosts.begin() + long(first), hosts.begin() + long(last));
      std::vector<double> flops;
      flops.reserve(group.size());
      for (auto* h : group) flops.push_back(h->get_speed() * duration_s);
      tasks.push_back(sg4::this_actor::exec_init(group, flops, {}));
      tasks.back()->start();
    }
    for (auto& t : tasks) t->wait();
  }

  void sample() {
    TimeseriesRow row;
    row.time_s = sg4::Engine::get_clock();
    row.tokens_per_s.assign(jobs_.size(), 0.0);
    for (const Job& job : jobs_) {
      if (job.running) {
        row.busy_accelerators += job.spec->gpus;
        row.running_workloads++;
        // Busy nodes draw the busy wattage the energy plugin charges them (same host property).
        for (const auto& part : job.allocation.parts)
          row.it_power_w += double(part.nodes.size()) * fleet_.pods[std::size_t(part.pod)].node_busy_watts;
        row.tokens_per_s[std::size_t(job.index)] = job.tokens_per_s;
      } else if (!job.result->start_s && row.time_s >= job.spec->submit.value()) {
        row.queued_workloads++;
      }
    }
    // Every node not running a job is idle (allocated ones too, until their job starts).
    for (std::size_t p = 0; p < fleet_.pods.size(); ++p)
      row.it_power_w += double(fleet_.pods[p].hosts.size() - std::size_t(running_nodes_[p])) * fleet_.pods[p].node_idle_watts;
    row.facility_power_w = row.it_power_w * scenario_.cluster.facility.pue;
    result_.timeseries.push_back(std::move(row));
  }

  // Progress on a terminal, at most once per wall second, from SimGrid's clock signal
  // (a periodic actor would add events, and each event re-solves every busy host).
  void show_progress() {
    auto now = std::chrono::steady_clock::now();
    if (now - last_progress_ < std::chrono::seconds(1)) return;
    last_progress_ = now;
    const double wall = std::chrono::duration<double>(now - wall_start_).count();
    std::fprintf(stderr, "\r  simulated %.1f h of %.1f h (%.0fx real time)   ", sg4::Engine::get_clock() / 3600,
                 scenario_.horizon.value() / 3600, sg4::Engine::get_clock() / std::max(wall, 1e-9));
  }

  void finish() {
    double now = sg4::Engine::get_clock();
    // sleep_until(horizon) can land an ulp short of it; report the horizon itself.
    if (std::fabs(now - scenario_.horizon.value()) <= 1e-9 * scenario_.horizon.value()) now = scenario_.horizon.value();
    result_.simulated_s = now;
    if (options_.show_progress) std::fprintf(stderr, "\r%70s\r", "");
    for (Job& job : jobs_) {
      WorkloadResult& r = *job.result;
      if (!job.running) continue;
      // Still running at the horizon: count whole steps done and the energy so far.
      r.busy_s = now - *r.start_s;
      r.energy_j = energy_of(job.hosts) - job.energy_at_start_j;
      if (job.spec->is_video()) continue;  // videos done by the horizon, counted at the start
      if (job.spec->is_serving()) {
        // Requests done by the horizon, counted at the start; synthetic-data counts accepted tokens.
        r.tokens_done = job.spec->is_synthetic_data() ? r.serving.accepted_tokens : r.serving.output_tokens;
        continue;
      }
      r.steps_done = std::floor(r.busy_s / r.step.step_time.value());
      r.tokens_done = r.steps_done * r.step.tokens_per_step;
    }
    if (result_.timeseries.empty() || result_.timeseries.back().time_s < now) sample();
    result_.timeseries = on_grid(result_.timeseries, scenario_.timeseries_interval.value(), now);
    for (const auto& r : result_.workloads) result_.busy_accelerator_s += r.busy_s * r.spec->gpus;
    sg_host_energy_update_all();
    for (const auto& pod : fleet_.pods) result_.it_energy_j += energy_of(pod.hosts);
    result_.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start_).count();
  }

  const Scenario& scenario_;
  const Catalog& catalog_;
  Fleet fleet_;
  SimulationOptions options_;
  FifoScheduler scheduler_;
  std::vector<Job> jobs_;
  std::vector<int> running_nodes_;  // per pod, nodes of running jobs
  RunResult result_;
  std::chrono::steady_clock::time_point wall_start_;
  std::chrono::steady_clock::time_point last_progress_;
  std::shared_ptr<spdlog::logger> logger_ = layer_logger("engine");
};

}  // namespace

RunResult run_simulation(const Scenario& scenario, const Catalog& catalog, const Topology* topology,
                         const SimulationOptions& options) {
  // L07 for parallel tasks. Our communications stand for the traffic of many flows
  // between pods, so the single-TCP-window bound (gamma / 2 RTT) must not cap them.
  std::vector<std::string> args = {"fleetsim", "--cfg=host/model:ptask_L07", "--cfg=network/TCP-gamma:1e18",
                                   "--log=root.thres:warning"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int argc = int(argv.size());
  sg4::Engine engine(&argc, argv.data());
  sg_host_energy_plugin_init();
  set_log_clock([] { return sg4::Engine::get_clock(); });

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
