#include "engine/simulation_impl.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <random>

#include <simgrid/plugins/energy.h>

#include "core/log.hpp"
#include "models/parallelism_search.hpp"
#include "models/synthetic_data.hpp"
#include "models/video_step.hpp"
#include "platform/simgrid_platform.hpp"
#include "scenario/scenario_loader.hpp"

namespace fleetsim::engine_detail {

// Adds one replica's schedule to the service's figures: requests that arrived before the
// horizon, those done by it (tokens, TTFT, TPOT, latency), and the replica's busy time.
std::size_t tally_replica(const WorkloadSpec& w, const std::vector<ServingRequest>& requests, const ScheduleResult& schedule,
                   double horizon, ServingResult& out, ReplicaTotals& totals, double counted_from,
                   double counted_until, const RequestWeight* weight) {
  std::optional<std::mt19937_64> engine;
  if (weight) {
    std::seed_seq seq{std::uint32_t(weight->seed), std::uint32_t(weight->seed >> 32), std::uint32_t(weight->stream),
                      std::uint32_t(weight->stream >> 32), 0x3e16u};
    engine.emplace(seq);
  }
  std::size_t counted = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const ServingRequest& request = requests[i];
    const RequestTiming& timing = schedule.requests[i];
    if (request.arrival_s < counted_from) continue;
    // Kept with probability weight(arrival): one draw per request, in arrival order.
    if (engine && double((*engine)() >> 11) * 0x1.0p-53 >= weight->profile->at(request.arrival_s)) continue;
    counted++;
    if (request.arrival_s < horizon) out.requests++;
    if (timing.completion_s > horizon) continue;  // unfinished when the run stops
    out.completed++;
    if (timing.preemptions > 0) out.preempted++;
    out.output_tokens += double(request.output_tokens) * request.samples;
    out.thinking_tokens += double(w.requests.thinking_tokens) * request.samples;
    out.answer_tokens += double(request.output_tokens - w.requests.thinking_tokens) * request.samples;
    totals.last_completion = std::max(totals.last_completion, timing.completion_s);
    out.ttft_s.push_back(timing.first_token_s - request.arrival_s);
    out.latency_s.push_back(timing.completion_s - request.arrival_s);
    // TPOT: the decode span per token of a sample (the verification, if any, excluded).
    if (request.output_tokens > 1)
      out.tpot_s.push_back((timing.decode_end_s - timing.first_token_s) / (request.output_tokens - 1));
  }
  out.verify_s += schedule.verify_s;
  const double until = std::min(horizon, counted_until);
  for (const auto& busy : schedule.busy) {
    const double from = std::clamp(busy.start_s, counted_from, until), to = std::min(busy.end_s, until);
    if (to > from) totals.busy_replica_s += weight ? weight->profile->integral(from, to) : to - from;
  }
  totals.batch_sum += schedule.batch_sum;
  totals.decode_steps += double(schedule.decode_steps);
  return counted;
}

void scale_to_stream(ServingResult& out, const ReplicaTotals& totals, double scale) {
  out.mean_batch = totals.decode_steps > 0 ? totals.batch_sum / totals.decode_steps : 0;
  out.requests = static_cast<long long>(std::llround(double(out.requests) * scale));
  out.completed = static_cast<long long>(std::llround(double(out.completed) * scale));
  out.preempted *= scale;
  out.output_tokens *= scale;
  out.thinking_tokens *= scale;
  out.answer_tokens *= scale;
}

// An inference service: its requests go round-robin (by arrival) to gpus / (tp x pp)
// replicas; each replica's continuous batching runs in C++ (serving_schedule.hpp) and
// the nodes stay busy in SimGrid from the start to the last completion (or to the
// horizon), so the energy plugin charges them. No SimGrid event per request or token.
void Simulation::run_service(Job& job) {
  if (job.spec->disaggregation) {
    run_disaggregated_service(job);
    return;
  }
  const WorkloadSpec& w = *job.spec;
  acquire_nodes(job);
  hold_for_power_before_planning(job);
  const FleetPod& pod = fleet_.pods[job.allocation.parts.front().pod];
  WorkloadResult& r = *job.result;
  const double start = *r.start_s;
  // A service with a `duration` ends then, before the run does: its nodes go back and
  // what is unfinished stays so. `horizon` below is the service's own end.
  const double run_end = scenario_.horizon.value();
  const double horizon = w.duration ? std::min(run_end, start + w.duration->value()) : run_end;

  const int tp = w.parallelism.tp, pp = w.parallelism.pp;
  // A verifier (reasoning) or filter (synthetic-data) on the same replicas scores every sample.
  const ReplicaModels models = replica_models(job);
  const ServingStepModel& model = models.model;
  const IterationCost* verifier = models.verifier();
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
  ReplicaTotals totals;
  totals.last_completion = start;
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
                                                            model, start, verifier, w.kv_policy))
                 .first;
      schedule = &it->second;
    } else {
      computed = schedule_replica(requests, w.max_batch, out.kv_tokens_per_replica, model, start, verifier,
                                  w.kv_policy);
    }
    tally_replica(w, requests, *schedule, horizon, out, totals);
  }
  const double last_completion = totals.last_completion;
  double busy_replica_s = totals.busy_replica_s;
  scale_to_stream(out, totals, scale);
  out.verify_s *= scale;
  busy_replica_s *= scale;
  // The service lasts until its last request is done; with an open-ended stream, until the horizon.
  const bool open_ended = open_stream;
  const double end = open_ended ? horizon : std::min(horizon, last_completion);
  out.service_s = std::max(0.0, end - start);
  out.busy_fraction = out.service_s > 0 ? busy_replica_s / (out.service_s * out.replicas) : 0;
  job.tokens_per_s = out.service_s > 0 ? out.output_tokens / out.service_s : 0;

  start_running(job);
  logger_->info("{} starts on {} nodes of {}: {} replicas of tp {} pp {}, {} requests, KV {:.4g} tokens per replica",
                w.name, r.nodes, pod.accelerator->name, out.replicas, tp, pp, arrivals_count,
                out.kv_tokens_per_replica);
  // An unfinished stream runs past the horizon, where the horizon actor stops it, unless
  // its duration ends it first.
  const double until = horizon < run_end ? horizon : run_end + 1.0;
  sg4::this_actor::sleep_for(open_ended || last_completion > horizon ? until - start : end - start);

  r.tokens_done = out.output_tokens;
  stop_running(job);
  logger_->info("{} done: {} requests, {:.4g} output tokens", w.name, out.completed, out.output_tokens);
}

ReplicaModels Simulation::replica_models(const Job& job) const {
  const WorkloadSpec& w = *job.spec;
  const FleetPod& pod = fleet_.pods[std::size_t(job.allocation.parts.front().pod)];
  const ServingFabric fabric = serving_fabric(job, *node_type_of(pod, catalog_));
  ReplicaModels models{ServingStepModel(at_service_level(serving_setup(w, *pod.accelerator), job), fabric), std::nullopt};
  if (w.scorer) models.scorer.emplace(at_service_level(scorer_setup(w, *pod.accelerator), job), fabric);
  return models;
}

// The links a serving replica's TP group and PP hand-offs use on the job's placement.
ServingFabric Simulation::serving_fabric(const Job& job, const NodeType& node) const {
  const WorkloadSpec& w = *job.spec;
  const FabricView view = fabric_view(fleet_, job.allocation, node, w.gpus);
  const int tp = w.parallelism.tp, pp = w.parallelism.pp;
  return {tp <= view.scale_up_domain ? view.scale_up : across_domains(view.scale_out, view.scale_up_domain),
          tp * pp <= view.scale_up_domain ? view.scale_up : view.scale_out};
}

// A synthetic-data job: replicas generate from an offline stream, the filter scores every
// sample on the same replicas, and the job ends when the accepted tokens reach the target
// (models/synthetic_data.hpp: full per-request simulation for small targets, steady-state
// extrapolation for large ones). Its nodes are busy in SimGrid for that long.
void Simulation::run_synthetic_data_job(Job& job) {
  const WorkloadSpec& w = *job.spec;
  acquire_nodes(job);
  hold_for_power_before_planning(job);
  const FleetPod& pod = fleet_.pods[job.allocation.parts.front().pod];
  const NodeType& node = *node_type_of(pod, catalog_);
  WorkloadResult& r = *job.result;
  const double start = *r.start_s;
  const double horizon = scenario_.horizon.value();
  const ServingFabric fabric = serving_fabric(job, node);
  const ServingStepModel generator(at_service_level(serving_setup(w, *pod.accelerator), job), fabric);
  const ServingStepModel filter(at_service_level(scorer_setup(w, *pod.accelerator), job), fabric);
  ServingResult& out = r.serving;
  out.replicas = w.replicas();
  out.kv_tokens_per_replica = generator.memory().kv_tokens;
  out.weights_per_gpu_bytes = generator.memory().weights.value();

  SyntheticDataJob plan;
  plan.input_tokens = w.requests.input_tokens;
  plan.output_tokens = w.requests.output_tokens;
  plan.max_batch = w.max_batch;
  plan.kv_capacity_tokens = out.kv_tokens_per_replica;
  plan.kv_policy = w.kv_policy;
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
  out.preempted = run.preempted_share * double(out.completed);  // the simulated schedule's share
  out.extrapolated = run.extrapolated;
  out.simulated_requests = run.simulated_requests;
  out.mean_batch = run.mean_batch;
  out.busy_fraction = 1.0;  // an offline stream never lets a replica idle
  out.verify_s = run.filter_share * run.end_s * out.replicas;
  out.service_s = run.end_s;
  job.tokens_per_s = run.end_s > 0 ? out.accepted_tokens / run.end_s : 0;

  start_running(job);
  logger_->info("{} starts on {} nodes of {}: {} replicas of tp {} pp {}, {} ({} requests per replica simulated)",
                w.name, r.nodes, pod.accelerator->name, out.replicas, w.parallelism.tp, w.parallelism.pp,
                run.extrapolated ? "steady-state extrapolation" : "every request simulated", run.simulated_requests);
  // Unfinished at the horizon: run past it, where the horizon actor stops the job.
  sg4::this_actor::sleep_for(run.reached ? run.end_s : horizon - start + 1.0);

  r.tokens_done = out.accepted_tokens;
  stop_running(job);
  logger_->info("{} done: {:.4g} accepted tokens of {:.4g} generated", w.name, out.accepted_tokens, out.output_tokens);
}

}  // namespace fleetsim::engine_detail
