// An inference service with `disaggregation`: prefill replicas and decode replicas on
// the service's nodes (prefill first, in allocation order), each prompt's KV cache sent
// from one to the other. The schedule of both pools and of the transfers is in C++
// (models/disaggregation.hpp); the nodes are busy in SimGrid as for any service.
#include <algorithm>
#include <cmath>
#include <optional>
#include <random>

#include "engine/simulation_impl.hpp"
#include "models/disaggregation.hpp"
#include "scenario/scenario_loader.hpp"

namespace fleetsim::engine_detail {

void Simulation::run_disaggregated_service(Job& job) {
  const WorkloadSpec& w = *job.spec;
  const DisaggregationSpec& ds = *w.disaggregation;
  acquire_nodes(job);
  hold_for_power_before_planning(job);
  const FleetPod& pod = fleet_.pods[job.allocation.parts.front().pod];
  const NodeType& node = *node_type_of(pod, catalog_);
  const Accelerator& acc = *pod.accelerator;
  WorkloadResult& r = *job.result;
  const double start = *r.start_s;
  const double run_end = scenario_.horizon.value();
  const double horizon = w.duration ? std::min(run_end, start + w.duration->value()) : run_end;

  // Each pool's replicas, with the links their TP groups and PP hand-offs use.
  const FabricView view = fabric_view(fleet_, job.allocation, node, w.gpus);
  auto fabric_for = [&](int tp, int pp) -> ServingFabric {
    return {tp <= view.scale_up_domain ? view.scale_up : across_domains(view.scale_out, view.scale_up_domain),
            tp * pp <= view.scale_up_domain ? view.scale_up : view.scale_out};
  };
  const int tp = w.parallelism.tp, pp = w.parallelism.pp;
  const ServingStepModel prefill(at_service_level(prefill_setup(w, acc), job), fabric_for(ds.prefill_tp, ds.prefill_pp));
  const ServingStepModel decode(at_service_level(serving_setup(w, acc), job), fabric_for(tp, pp));
  std::optional<ServingStepModel> verifier;  // reasoning: resident on the decode replicas
  if (w.scorer) verifier.emplace(at_service_level(scorer_setup(w, acc), job), fabric_for(tp, pp));
  const int prefill_replicas = ds.prefill_replicas(), decode_replicas = w.replicas();
  const int prefill_size = ds.prefill_tp * ds.prefill_pp, decode_size = tp * pp;

  // KV transfer: the prompt's KV is split over min(tp, kv_heads) x pp ranks of each
  // replica; the smaller split sends in parallel, each rank over its own link.
  auto shards = [&](int t, int p) { return std::min(t, w.model.kv_heads) * p; };
  const int senders = std::min(shards(ds.prefill_tp, ds.prefill_pp), shards(tp, pp));
  // Prefill replicas take the allocation's first prefill_gpus accelerators, decode
  // replicas the rest, in order: two replicas inside one scale-up domain use NVLink, two
  // in one pod the nodes' NICs, two in different pods the NICs at most at the pod uplink's
  // share (fabric_view's inter_pod level).
  const long domain = std::max(1, view.scale_up_domain);
  std::vector<std::pair<long, int>> pod_ends;  // (first accelerator past the part, its pod)
  long placed = 0;
  for (const auto& part : job.allocation.parts) {
    placed += long(part.nodes.size()) * fleet_.pods[std::size_t(part.pod)].accelerators_per_node;
    pod_ends.push_back({placed, part.pod});
  }
  auto pod_of = [&](long accelerator) {
    for (const auto& [end, pod_index] : pod_ends)
      if (accelerator < end) return pod_index;
    return pod_ends.back().second;
  };
  enum class Path { ScaleUp, ScaleOut, InterPod };
  auto path = [&](int from, int to) {
    const long first_p = long(from) * prefill_size, last_p = first_p + prefill_size - 1;
    const long first_d = ds.prefill_gpus + long(to) * decode_size, last_d = first_d + decode_size - 1;
    const long d = first_p / domain;
    if (last_p / domain == d && first_d / domain == d && last_d / domain == d) return Path::ScaleUp;
    return pod_of(first_p) == pod_of(first_d) ? Path::ScaleOut : Path::InterPod;
  };
  const KvTransferTime transfer = [&](int from, int to, double bytes) {
    const Path p = path(from, to);
    const LinkLevel& link = p == Path::ScaleUp ? view.scale_up : p == Path::ScaleOut ? view.scale_out : view.inter_pod;
    return point_to_point(Bytes(bytes / senders), link).value();
  };

  // Arrivals and routing. Streams with a count (and offline): round-robin over both pools,
  // every replica simulated. Open Poisson streams: K decode replicas simulated (K =
  // representative_replicas) and as many prefill replicas as feed them (at least K);
  // their prefilled requests go to a simulated decode replica with the probability that
  // keeps its rate at rate / decode_replicas, the others are prefilled and sent only.
  const RequestStreamSpec& q = w.requests;
  const bool open_stream = q.mode == ArrivalMode::Poisson && !q.count;
  int simulated_prefill = prefill_replicas, simulated_decode = decode_replicas;
  std::vector<std::vector<RoutedRequest>> per_prefill;
  std::size_t arrivals_count = 0;
  if (open_stream) {
    simulated_decode = ds.simulated_decode(decode_replicas, q.representative_replicas);
    simulated_prefill = ds.simulated_prefill(decode_replicas, q.representative_replicas);
    const double keep = double(simulated_decode) * prefill_replicas / (double(decode_replicas) * simulated_prefill);
    per_prefill.resize(std::size_t(simulated_prefill));
    for (int p = 0; p < simulated_prefill; ++p) {
      const std::uint64_t stream = (std::uint64_t(job.index) << 32) + std::uint64_t(p);
      const auto arrivals = poisson_arrivals(q.rate.value() / prefill_replicas, w.submit.value(), std::nullopt, horizon,
                                             scenario_.seed, stream, &q.diurnal);
      arrivals_count += arrivals.size();
      std::seed_seq seq{std::uint32_t(scenario_.seed), std::uint32_t(scenario_.seed >> 32), std::uint32_t(stream),
                        std::uint32_t(stream >> 32), 0xd15au};  // a tag: routing never reuses arrival draws
      std::mt19937_64 engine(seq);
      auto uniform = [&] { return double(engine() >> 11) * 0x1.0p-53; };
      for (const ServingRequest& request : requests_of(w, arrivals, scenario_.seed, stream)) {
        RoutedRequest routed{request, 0, -1};
        if (uniform() < keep) {
          routed.decode_slot = std::min(simulated_decode - 1, int(uniform() * simulated_decode));
          routed.decode_replica = routed.decode_slot;
        } else {
          routed.decode_replica = std::min(decode_replicas - 1, int(uniform() * decode_replicas));
        }
        per_prefill[std::size_t(p)].push_back(routed);
      }
    }
  } else {
    const std::vector<double> arrivals = q.mode == ArrivalMode::Offline
                                             ? std::vector<double>(std::size_t(*q.count), start)
                                             : poisson_arrivals(q.rate.value(), w.submit.value(), q.count, horizon,
                                                                scenario_.seed, std::uint64_t(job.index), &q.diurnal);
    arrivals_count = arrivals.size();
    per_prefill.resize(std::size_t(prefill_replicas));
    const auto requests = requests_of(w, arrivals, scenario_.seed, std::uint64_t(job.index));
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const int to = int(i % std::size_t(decode_replicas));
      per_prefill[i % per_prefill.size()].push_back({requests[i], to, to});
    }
  }

  DisaggregatedPools pools;
  pools.prefill = &prefill;
  pools.prefill_max_batch = ds.prefill_max_batch;
  pools.prefill_kv_tokens = prefill.memory().kv_tokens;
  pools.decode = &decode;
  pools.decode_max_batch = w.max_batch;
  pools.decode_kv_policy = w.kv_policy;
  pools.decode_kv_tokens = decode.memory().kv_tokens;
  pools.kv_bytes_per_token = kv_bytes_per_token(w.model, w.precision).value();
  pools.verifier = verifier ? &*verifier : nullptr;
  const DisaggregatedSchedule schedule = schedule_disaggregated(per_prefill, simulated_decode, pools, transfer, start);

  // The service's figures: TTFT from every prefilled request (to its decode admission, or
  // for one not decoded here to its KV's arrival), the rest from the decoded ones.
  ServingResult& out = r.serving;
  out.replicas = decode_replicas;
  out.simulated_replicas = simulated_decode;
  out.kv_tokens_per_replica = decode.memory().kv_tokens;
  out.weights_per_gpu_bytes = decode.memory().weights.value();
  DisaggregationResult pools_out;
  pools_out.prefill_replicas = prefill_replicas;
  pools_out.decode_replicas = decode_replicas;
  pools_out.simulated_prefill_replicas = simulated_prefill;
  pools_out.simulated_decode_replicas = simulated_decode;
  pools_out.prefill_kv_tokens_per_replica = prefill.memory().kv_tokens;
  double last_completion = start, decoded_arrivals = 0, bytes_sum = 0, sent = 0, nvlink = 0, cross_pod = 0;
  bool unfinished = false;
  for (std::size_t p = 0; p < per_prefill.size(); ++p) {
    for (std::size_t i = 0; i < per_prefill[p].size(); ++i) {
      const RoutedRequest& routed = per_prefill[p][i];
      const ServingRequest& request = routed.request;
      const DisaggregatedTiming& t = schedule.timing[p][i];
      if (t.decode_start_s <= horizon) {
        // TTFT only where a simulated decode replica admitted it: a request that no
        // representative decoded never waited for a slot, and would flatter the tail.
        if (t.decoded) out.ttft_s.push_back(t.decode_start_s - request.arrival_s);
        pools_out.kv_transfer_s.push_back(t.kv_ready_s - t.prefill_end_s);
        pools_out.prefill_wait_s.push_back(t.prefill_end_s - request.arrival_s);
        bytes_sum += pools.kv_bytes_per_token * request.input_tokens;
        sent++;
        const Path taken = path(int(p), routed.decode_replica);
        if (taken == Path::ScaleUp) nvlink++;
        if (taken == Path::InterPod) cross_pod++;
      }
      if (!t.decoded) continue;
      decoded_arrivals++;
      if (request.arrival_s < horizon) out.requests++;
      if (t.completion_s > horizon) {  // unfinished when the service stops
        unfinished = true;
        continue;
      }
      out.completed++;
      if (t.preemptions > 0) out.preempted++;
      out.output_tokens += double(request.output_tokens) * request.samples;
      out.thinking_tokens += double(w.requests.thinking_tokens) * request.samples;
      out.answer_tokens += double(request.output_tokens - w.requests.thinking_tokens) * request.samples;
      out.latency_s.push_back(t.completion_s - request.arrival_s);
      if (request.output_tokens > 1)
        out.tpot_s.push_back((t.decode_end_s - t.decode_start_s) / (request.output_tokens - 1));
      last_completion = std::max(last_completion, t.completion_s);
    }
  }
  pools_out.kv_bytes_per_request = sent > 0 ? bytes_sum / sent : 0;
  pools_out.nvlink_share = sent > 0 ? nvlink / sent : 0;
  pools_out.cross_pod_share = sent > 0 ? cross_pod / sent : 0;

  // Scale to the whole stream (open streams simulated on representatives only).
  double scale = 1.0;
  if (open_stream && simulated_decode < decode_replicas && decoded_arrivals > 0)
    scale = expected_arrivals(q.rate.value(), w.submit.value(), horizon, &q.diurnal) / decoded_arrivals;
  const double end = open_stream || unfinished ? horizon : std::min(horizon, last_completion);
  out.service_s = std::max(0.0, end - start);
  auto busy_s = [&](const std::vector<ScheduleResult>& schedules) {
    double total = 0;
    for (const ScheduleResult& s : schedules)
      for (const BusyInterval& b : s.busy) total += std::max(0.0, std::min(b.end_s, end) - std::max(b.start_s, start));
    return total;
  };
  const double prefill_busy = busy_s(schedule.prefill), decode_busy = busy_s(schedule.decode);
  double prefill_iterations = 0, prompts = 0, batch_sum = 0, decode_steps = 0;
  for (const ScheduleResult& s : schedule.prefill) {
    prefill_iterations += double(s.iterations);
    prompts += double(s.requests.size());
  }
  for (const ScheduleResult& s : schedule.decode) {
    batch_sum += s.batch_sum;
    decode_steps += double(s.decode_steps);
    out.verify_s += s.verify_s;
  }
  if (out.service_s > 0) {
    pools_out.prefill_busy_fraction = prefill_busy / (simulated_prefill * out.service_s);
    pools_out.decode_busy_fraction = decode_busy / (std::max(1, simulated_decode) * out.service_s);
    // Busy accelerator-time over held accelerator-time, both pools.
    out.busy_fraction = (pools_out.prefill_busy_fraction * ds.prefill_gpus +
                         pools_out.decode_busy_fraction * (w.gpus - ds.prefill_gpus)) /
                        w.gpus;
  }
  pools_out.prefill_mean_prompts = prefill_iterations > 0 ? prompts / prefill_iterations : 0;
  pools_out.decode_mean_batch = decode_steps > 0 ? batch_sum / decode_steps : 0;
  ReplicaTotals decode_totals;  // the decode pool's steps give the service's mean batch
  decode_totals.batch_sum = batch_sum;
  decode_totals.decode_steps = decode_steps;
  scale_to_stream(out, decode_totals, scale);
  out.verify_s *= scale;  // to the whole stream, as the tokens (verify_share divides by all decode replicas)
  out.disaggregation = std::move(pools_out);
  job.tokens_per_s = out.service_s > 0 ? out.output_tokens / out.service_s : 0;

  start_running(job);
  logger_->info(
      "{} starts on {} nodes of {}: {} prefill replicas of tp {} pp {} and {} decode replicas of tp {} pp {}, "
      "{} requests, KV {:.4g} tokens per decode replica",
      w.name, r.nodes, acc.name, prefill_replicas, ds.prefill_tp, ds.prefill_pp, decode_replicas, tp, pp,
      arrivals_count, out.kv_tokens_per_replica);
  const double until = horizon < run_end ? horizon : run_end + 1.0;
  sg4::this_actor::sleep_for(open_stream || unfinished ? until - start : end - start);

  r.tokens_done = out.output_tokens;
  stop_running(job);
  logger_->info("{} done: {} requests, {:.4g} output tokens", w.name, out.completed, out.output_tokens);
}

}  // namespace fleetsim::engine_detail
