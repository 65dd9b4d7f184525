#include "report/report.hpp"
#include "report/cost.hpp"

#include <algorithm>
#include <map>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace fleetsim {
namespace {

using json = nlohmann::ordered_json;

json optional_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

// The p-th percentile (0..100) by linear interpolation between order statistics.
double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = p / 100.0 * double(values.size() - 1);
  const auto lo = std::size_t(std::floor(rank));
  const auto hi = std::min(values.size() - 1, lo + 1);
  return values[lo] + (values[hi] - values[lo]) * (rank - double(lo));
}

double mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return values.empty() ? 0 : sum / double(values.size());
}

const char* state_of(const WorkloadResult& r) {
  if (!r.start_s) return "queued";
  return r.completed ? "completed" : "running";
}

std::optional<double> wait_of(const WorkloadResult& r) {
  if (!r.start_s) return std::nullopt;
  return std::max(0.0, *r.start_s - r.submit_s);  // the clock can land an ulp before a submit time
}

// Job completion time over the time it ran: 1 for a job that never waited.
std::optional<double> slowdown_of(const WorkloadResult& r) {
  if (!r.completed || !r.start_s || *r.end_s <= *r.start_s) return std::nullopt;
  return (*r.end_s - r.submit_s) / (*r.end_s - *r.start_s);
}

std::string csv_number(const std::optional<double>& v) {
  if (!v) return "";
  // Shortest text that reads back as the same double: exact and deterministic.
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, *v).ptr;
  return std::string(text, end);
}

// The summary entry of a serving workload (SCENARIO.md's inference keys and extras).
// Keys every workload entry ends with (SCENARIO.md): times, state, failures.
void add_common_keys(json& entry, const WorkloadResult& r) {
  entry["submit_s"] = r.submit_s;
  entry["start_s"] = optional_number(r.start_s);
  entry["end_s"] = r.completed ? optional_number(r.end_s) : json(nullptr);
  entry["wait_s"] = optional_number(wait_of(r));
  entry["state"] = state_of(r);
  entry["interruptions"] = r.interruptions;
  entry["lost_gpu_hours"] = r.lost_gpu_hours;
}

// Keys inference and reasoning entries end with: how the replicas were used, then the
// common keys.
void add_replica_keys(json& entry, const WorkloadResult& r) {
  const ServingResult& s = r.serving;
  const bool started = r.start_s.has_value();
  if (const auto& as = r.spec->autoscale) {
    const AutoscaleResult& a = r.autoscale;
    json scaling = {{"min_replicas_allowed", as->min_replicas},
                    {"max_replicas_allowed", r.spec->replicas()},
                    {"target_utilization", as->target_utilization},
                    {"interval_s", as->interval.value()}};
    if (started) {
      scaling["replica_capacity_requests_per_s"] = a.capacity_requests_per_s;
      scaling["mean_replicas"] = a.mean_replicas;
      scaling["min_replicas"] = a.min_replicas;
      scaling["max_replicas"] = a.max_replicas;
      scaling["scale_ups"] = a.scale_ups;
      scaling["scale_downs"] = a.scale_downs;
      scaling["mean_scale_up_wait_s"] = a.mean_scale_up_wait_s;
      scaling["startup_s"] = a.startup_s;
      scaling["replicas_queued_at_end"] = a.replicas_queued;
      scaling["replicas_withdrawn_unstarted"] = a.replicas_withdrawn;
      scaling["request_sample_share"] = a.sampled_share;
    }
    entry["autoscale"] = std::move(scaling);
  }
  entry["gpu_hours"] = started ? json(r.accelerator_s / 3600.0) : json(nullptr);
  entry["mean_batch"] = started ? json(s.mean_batch) : json(nullptr);
  entry["replica_busy_fraction"] = started ? json(s.busy_fraction) : json(nullptr);
  entry["kv_cache_tokens_per_replica"] = started ? json(s.kv_tokens_per_replica) : json(nullptr);
  entry["kv_policy"] = r.spec->kv_policy == KvPolicy::Preempt ? "preempt" : "reserve";
  entry["engine"] = serving_engine_name(r.spec->engine);
  entry["kv_preempted_share"] = started && s.completed > 0 ? json(s.preempted / double(s.completed)) : json(nullptr);
  entry["weights_per_gpu_bytes"] = started ? json(s.weights_per_gpu_bytes) : json(nullptr);
  entry["service_s"] = started ? json(s.service_s) : json(nullptr);
  entry["completion_s"] = r.completed ? json(*r.end_s - r.submit_s) : json(nullptr);
  add_common_keys(entry, r);
}

// An inference service with separate prefill and decode pools: `replicas`, `mean_batch`
// and `kv_cache_tokens_per_replica` above are the decode pool's; this object has both.
void add_disaggregation_keys(json& entry, const WorkloadResult& r) {
  const WorkloadSpec& w = *r.spec;
  const DisaggregationSpec& ds = *w.disaggregation;
  json d;
  d["prefill_gpus"] = ds.prefill_gpus;
  d["decode_gpus"] = w.gpus - ds.prefill_gpus;
  d["prefill_parallelism"] = {{"tp", ds.prefill_tp}, {"pp", ds.prefill_pp}};
  d["decode_parallelism"] = {{"tp", w.parallelism.tp}, {"pp", w.parallelism.pp}};
  d["prefill_replicas"] = ds.prefill_replicas();
  d["decode_replicas"] = w.replicas();
  d["prefill_max_batch"] = ds.prefill_max_batch;
  const auto& s = r.serving.disaggregation;
  auto value = [&](double v) { return s ? json(v) : json(nullptr); };
  auto pct = [&](const std::vector<double>* v, double p) {
    return !v || v->empty() ? json(nullptr) : json(percentile(*v, p));
  };
  d["simulated_prefill_replicas"] = s ? json(s->simulated_prefill_replicas) : json(nullptr);
  d["simulated_decode_replicas"] = s ? json(s->simulated_decode_replicas) : json(nullptr);
  d["prefill_kv_cache_tokens_per_replica"] = value(s ? s->prefill_kv_tokens_per_replica : 0);
  d["prefill_busy_fraction"] = value(s ? s->prefill_busy_fraction : 0);
  d["decode_busy_fraction"] = value(s ? s->decode_busy_fraction : 0);
  d["prefill_mean_prompts"] = value(s ? s->prefill_mean_prompts : 0);
  d["decode_mean_batch"] = value(s ? s->decode_mean_batch : 0);
  d["kv_bytes_per_request"] = value(s ? s->kv_bytes_per_request : 0);
  d["kv_transfer_nvlink_share"] = value(s ? s->nvlink_share : 0);
  d["kv_transfer_cross_pod_share"] = value(s ? s->cross_pod_share : 0);
  d["kv_transfer_p50_s"] = pct(s ? &s->kv_transfer_s : nullptr, 50);
  d["kv_transfer_p99_s"] = pct(s ? &s->kv_transfer_s : nullptr, 99);
  d["prefill_done_p50_s"] = pct(s ? &s->prefill_wait_s : nullptr, 50);
  d["prefill_done_p99_s"] = pct(s ? &s->prefill_wait_s : nullptr, 99);
  entry["disaggregation"] = d;
}

void add_inference_keys(json& entry, const WorkloadResult& r) {
  const WorkloadSpec& w = *r.spec;
  const ServingResult& s = r.serving;
  const bool started = r.start_s.has_value();
  auto rate = [&](double amount) { return started && s.service_s > 0 ? json(amount / s.service_s) : json(nullptr); };
  auto pct = [&](const std::vector<double>& v, double p) { return v.empty() ? json(nullptr) : json(percentile(v, p)); };
  entry["replicas"] = w.replicas();
  entry["simulated_replicas"] = started ? json(s.simulated_replicas) : json(nullptr);
  entry["precision"] = precision_name(w.precision);
  entry["max_batch"] = w.max_batch;
  entry["output_tokens_per_s"] = rate(s.output_tokens);
  entry["requests_per_s"] = rate(double(s.completed));
  entry["ttft_p50_s"] = pct(s.ttft_s, 50);
  entry["ttft_p99_s"] = pct(s.ttft_s, 99);
  entry["tpot_p50_s"] = pct(s.tpot_s, 50);
  entry["tpot_p99_s"] = pct(s.tpot_s, 99);
  entry["ttft_mean_s"] = s.ttft_s.empty() ? json(nullptr) : json(mean(s.ttft_s));
  entry["tpot_mean_s"] = s.tpot_s.empty() ? json(nullptr) : json(mean(s.tpot_s));
  entry["energy_j"] = r.energy_j;
  entry["joules_per_output_token"] = s.output_tokens > 0 ? json(r.energy_j / s.output_tokens) : json(nullptr);
  entry["requests"] = s.requests;
  entry["completed_requests"] = s.completed;
  entry["output_tokens"] = s.output_tokens;
  entry["input_tokens_per_request"] = w.requests.input_tokens;
  entry["output_tokens_per_request"] = w.requests.output_tokens;
  add_replica_keys(entry, r);
  if (w.disaggregation) add_disaggregation_keys(entry, r);
}

// kind reasoning: a query is `samples` samples of thinking + answer tokens from one shared
// prompt, optionally each scored by a verifier. output_tokens_per_s counts every decoded
// token (thinking and answer, every sample): what the replicas generate; the split follows.
void add_reasoning_keys(json& entry, const WorkloadResult& r) {
  const WorkloadSpec& w = *r.spec;
  const ServingResult& s = r.serving;
  const bool started = r.start_s.has_value();
  auto rate = [&](double amount) { return started && s.service_s > 0 ? json(amount / s.service_s) : json(nullptr); };
  auto pct = [&](const std::vector<double>& v, double p) { return v.empty() ? json(nullptr) : json(percentile(v, p)); };
  auto per_query = [&](double amount) { return s.completed > 0 ? json(amount / double(s.completed)) : json(nullptr); };
  entry["replicas"] = w.replicas();
  entry["simulated_replicas"] = started ? json(s.simulated_replicas) : json(nullptr);
  entry["precision"] = precision_name(w.precision);
  entry["max_batch"] = w.max_batch;
  entry["samples"] = w.requests.samples;
  entry["verifier"] = w.scorer ? json(w.scorer->name) : json(nullptr);
  entry["queries_per_s"] = rate(double(s.completed));
  entry["query_latency_p50_s"] = pct(s.latency_s, 50);
  entry["query_latency_p99_s"] = pct(s.latency_s, 99);
  entry["query_latency_mean_s"] = s.latency_s.empty() ? json(nullptr) : json(mean(s.latency_s));
  entry["output_tokens_per_s"] = rate(s.output_tokens);
  entry["thinking_tokens_per_s"] = rate(s.thinking_tokens);
  entry["answer_tokens_per_s"] = rate(s.answer_tokens);
  entry["ttft_p50_s"] = pct(s.ttft_s, 50);
  entry["ttft_p99_s"] = pct(s.ttft_s, 99);
  entry["tpot_p50_s"] = pct(s.tpot_s, 50);
  entry["tpot_p99_s"] = pct(s.tpot_s, 99);
  entry["energy_j"] = r.energy_j;
  entry["joules_per_query"] = per_query(r.energy_j);
  entry["joules_per_output_token"] = s.output_tokens > 0 ? json(r.energy_j / s.output_tokens) : json(nullptr);
  entry["input_tokens_per_query"] = w.requests.input_tokens;
  entry["thinking_tokens_per_query"] = double(w.requests.thinking_tokens) * w.requests.samples;
  entry["answer_tokens_per_query"] = double(w.requests.output_tokens) * w.requests.samples;
  entry["output_tokens_per_query"] = double(w.tokens_per_sample()) * w.requests.samples;
  entry["kv_tokens_per_query"] = w.kv_tokens_per_request();
  entry["queries"] = s.requests;
  entry["completed_queries"] = s.completed;
  entry["output_tokens"] = s.output_tokens;
  entry["thinking_tokens"] = s.thinking_tokens;
  entry["answer_tokens"] = s.answer_tokens;
  entry["verify_share"] = started && s.service_s > 0 ? json(s.verify_s / (s.service_s * s.replicas)) : json(nullptr);
  add_replica_keys(entry, r);
  if (w.disaggregation) add_disaggregation_keys(entry, r);
}

// kind synthetic-data: generate until target_tokens accepted tokens. Rates are over the
// time the job held its accelerators (start to target, or to the horizon).
void add_synthetic_data_keys(json& entry, const WorkloadResult& r) {
  const WorkloadSpec& w = *r.spec;
  const ServingResult& s = r.serving;
  const bool started = r.start_s.has_value();
  auto rate = [&](double amount) { return started && s.service_s > 0 ? json(amount / s.service_s) : json(nullptr); };
  entry["replicas"] = w.replicas();
  entry["precision"] = precision_name(w.precision);
  entry["max_batch"] = w.max_batch;
  entry["filter"] = w.scorer ? json(w.scorer->name) : json(nullptr);
  entry["accept_rate"] = w.accept_rate;
  entry["target_tokens"] = w.target_tokens;
  entry["accepted_tokens_per_s"] = rate(s.accepted_tokens);
  entry["generated_tokens_per_s"] = rate(s.output_tokens);
  entry["completion_s"] = r.completed ? json(*r.end_s - r.submit_s) : json(nullptr);
  entry["gpu_hours"] = started ? json(r.accelerator_s / 3600.0) : json(nullptr);
  entry["energy_j"] = r.energy_j;
  entry["joules_per_accepted_token"] = s.accepted_tokens > 0 ? json(r.energy_j / s.accepted_tokens) : json(nullptr);
  entry["accepted_tokens"] = s.accepted_tokens;
  entry["generated_tokens"] = s.output_tokens;
  entry["generated_samples"] = s.generated_samples;
  entry["accepted_samples"] = s.accepted_samples;
  entry["input_tokens_per_sample"] = w.requests.input_tokens;
  entry["output_tokens_per_sample"] = w.requests.output_tokens;
  entry["method"] = started ? json(s.extrapolated ? "extrapolated" : "full") : json(nullptr);
  entry["simulated_requests_per_replica"] = started ? json(s.simulated_requests) : json(nullptr);
  entry["filter_share"] = started && s.service_s > 0 ? json(s.verify_s / (s.service_s * s.replicas)) : json(nullptr);
  entry["mean_batch"] = started ? json(s.mean_batch) : json(nullptr);
  entry["kv_cache_tokens_per_replica"] = started ? json(s.kv_tokens_per_replica) : json(nullptr);
  entry["kv_policy"] = w.kv_policy == KvPolicy::Preempt ? "preempt" : "reserve";
  entry["engine"] = serving_engine_name(w.engine);
  entry["kv_preempted_share"] = started && s.completed > 0 ? json(s.preempted / double(s.completed)) : json(nullptr);
  entry["weights_per_gpu_bytes"] = started ? json(s.weights_per_gpu_bytes) : json(nullptr);
  entry["service_s"] = started ? json(s.service_s) : json(nullptr);
  add_common_keys(entry, r);
}

// kind video-generation: seconds_per_video is one request on an idle replica, submit
// to done (the model's time, no queueing); rates are over the service's time held.
void add_video_keys(json& entry, const WorkloadResult& r) {
  const WorkloadSpec& w = *r.spec;
  const VideoResult& v = r.video;
  const bool started = r.start_s.has_value();
  const double per_video = v.unloaded.total.value();
  entry["replicas"] = w.replicas();
  entry["video"] = {{"width", w.video.width}, {"height", w.video.height}, {"frames", w.video.frames},
                    {"steps", w.video.steps}, {"cfg", w.video.cfg},
                    {"image_to_video", w.video.image_to_video}};
  entry["latent_tokens"] = started ? json(v.unloaded.tokens) : json(nullptr);
  entry["seconds_per_video"] = started ? json(per_video) : json(nullptr);
  entry["videos_per_hour"] = started && v.service_s > 0 ? json(double(v.completed) / v.service_s * 3600.0) : json(nullptr);
  entry["gpu_seconds_per_video"] = started ? json(per_video * w.sp()) : json(nullptr);
  entry["energy_j"] = r.energy_j;
  entry["joules_per_video"] = v.completed > 0 ? json(r.energy_j / double(v.completed)) : json(nullptr);
  const double passes = double(w.video.steps * v.unloaded.passes_per_step);
  entry["video_breakdown_s"] =
      started ? json{{"text_encoder", v.unloaded.text_encoder.value()},
                     {"vae_encode", v.unloaded.vae_encode.value()},
                     {"denoise_compute", (v.unloaded.forward_compute * passes).value()},
                     {"denoise_comm", (v.unloaded.forward_comm * passes).value()},
                     {"denoise_elementwise", (v.unloaded.forward_elementwise * passes).value()},
                     {"vae_decode", v.unloaded.vae_decode.value()}}
              : json(nullptr);
  auto pct = [&](double p) { return v.latency_s.empty() ? json(nullptr) : json(percentile(v.latency_s, p)); };
  entry["latency_p50_s"] = pct(50);
  entry["latency_p99_s"] = pct(99);
  entry["requests"] = v.requests;
  entry["completed_requests"] = v.completed;
  entry["replica_busy_fraction"] = started ? json(v.busy_fraction) : json(nullptr);
  entry["service_s"] = started ? json(v.service_s) : json(nullptr);
  entry["completion_s"] = r.completed ? json(*r.end_s - r.submit_s) : json(nullptr);
  add_common_keys(entry, r);
}

}  // namespace

json summary_json(const Scenario& scenario, const RunResult& run) {
  const double t = run.simulated_s;
  std::vector<double> waits, jcts;
  int completed = 0;
  for (const auto& r : run.workloads) {
    if (auto w = wait_of(r)) waits.push_back(*w);
    if (r.completed) {
      completed++;
      jcts.push_back(*r.end_s - r.submit_s);
    }
  }

  json cluster;
  cluster["accelerators"] = run.accelerators;
  cluster["nodes"] = run.nodes;
  cluster["utilization"] = t > 0 ? run.busy_accelerator_s / (double(run.accelerators) * t) : 0.0;
  cluster["it_energy_j"] = run.it_energy_j;
  cluster["facility_energy_j"] = run.facility_energy_j;
  cluster["avg_it_power_w"] = t > 0 ? run.it_energy_j / t : 0.0;
  cluster["peak_it_power_w"] = run.peak_it_power_w;
  cluster["avg_facility_power_w"] = t > 0 ? run.facility_energy_j / t : 0.0;
  cluster["peak_facility_power_w"] = run.peak_facility_power_w;
  // Of the IT figures above, the scale-out fabric's switch ports and optics.
  cluster["network_energy_j"] = run.network_energy_j;
  cluster["network_power_w"] = run.network_power_w;
  // docs/models/power.md: the PUE the IT energy saw (the constant, or the profile weighted
  // by IT power), and the largest facility power swing within the window.
  cluster["pue"] = run.it_energy_j > 0 ? run.facility_energy_j / run.it_energy_j : scenario.cluster.facility.pue_at(0);
  cluster["max_power_swing_w"] = run.max_swing_w;
  cluster["max_power_swing_at_s"] = run.max_swing_at_s;
  cluster["power_swing_window_s"] = scenario.cluster.facility.swing_window.value();
  if (scenario.cluster.facility.power_cap) {
    cluster["power_cap_w"] = scenario.cluster.facility.power_cap->value();
    cluster["power_throttled_s"] = run.power_throttled_s;
    cluster["power_service_limited_s"] = run.power_service_limited_s;
    cluster["power_cap_lost_gpu_hours"] = run.power_lost_accelerator_s / 3600.0;
    cluster["power_held_jobs"] = run.power_held_jobs;
    cluster["power_held_s"] = run.power_held_s;
  }
  cluster["jobs_completed"] = completed;
  cluster["mean_wait_s"] = waits.empty() ? json(nullptr) : json(mean(waits));
  cluster["p99_wait_s"] = waits.empty() ? json(nullptr) : json(percentile(waits, 99));
  cluster["mean_jct_s"] = jcts.empty() ? json(nullptr) : json(mean(jcts));
  cluster["failures"] = int(run.failure_events.size());
  if (run.failures_enabled) {
    // By component category, and what they did (failures.csv lists each one).
    json by_component = json::object();
    for (const auto& name : run.failure_components) by_component[name] = 0;
    int interrupting = 0;
    for (const auto& e : run.failure_events) {
      by_component[e.component] = by_component[e.component].get<int>() + 1;
      interrupting += e.effect == "interrupted" ? 1 : 0;
    }
    cluster["failures_by_component"] = std::move(by_component);
    cluster["failures_interrupting"] = interrupting;
  }
  std::vector<double> slowdowns;
  for (const auto& r : run.workloads)
    if (auto sd = slowdown_of(r)) slowdowns.push_back(*sd);
  cluster["mean_slowdown"] = slowdowns.empty() ? json(nullptr) : json(mean(slowdowns));
  cluster["jobs_submitted"] = int(run.workloads.size());
  cluster["jobs_running"] = int(std::count_if(run.workloads.begin(), run.workloads.end(),
                                              [](const WorkloadResult& r) { return r.start_s && !r.completed; }));
  cluster["jobs_queued"] = int(std::count_if(run.workloads.begin(), run.workloads.end(),
                                             [](const WorkloadResult& r) { return !r.start_s; }));
  cluster["scheduler"] = {{"policy", scenario.scheduler.policy}, {"placement", scenario.scheduler.placement}};
  double time_weighted_fragmentation = 0;
  for (std::size_t i = 0; i + 1 < run.timeseries.size(); ++i)
    time_weighted_fragmentation +=
        run.timeseries[i].fragmentation * (run.timeseries[i + 1].time_s - run.timeseries[i].time_s);
  cluster["mean_fragmentation"] = t > 0 ? time_weighted_fragmentation / t : 0.0;
  // Allocated (given to jobs) as well as busy (running): they part when a job holds nodes
  // it has not started on, which the engine only does within an instant today.
  double allocated_s = 0;
  for (std::size_t i = 0; i + 1 < run.timeseries.size(); ++i)
    allocated_s += double(run.timeseries[i].allocated_accelerators) *
                   (run.timeseries[i + 1].time_s - run.timeseries[i].time_s);
  cluster["allocated_utilization"] = t > 0 ? allocated_s / (double(run.accelerators) * t) : 0.0;
  // Per tenant: accelerator-hours held and their share of all held.
  std::map<std::string, std::pair<int, double>> tenants;
  double held_total = 0;
  for (const auto& r : run.workloads) {
    auto& [jobs, hours] = tenants[r.spec->tenant];
    jobs++;
    hours += r.accelerator_s / 3600.0;
    held_total += r.accelerator_s / 3600.0;
  }
  json tenant_json = json::object();
  for (const auto& [name, usage] : tenants)
    tenant_json[name] = {{"jobs", usage.first},
                         {"accelerator_hours", usage.second},
                         {"share", held_total > 0 ? json(usage.second / held_total) : json(nullptr)}};
  cluster["tenants"] = std::move(tenant_json);

  json workloads = json::array();
  for (const auto& r : run.workloads) {
    const WorkloadSpec& w = *r.spec;
    json entry;
    entry["name"] = w.name;
    entry["kind"] = w.kind;
    entry["gpus"] = w.gpus;
    entry["accelerator"] = r.accelerator ? json(r.accelerator->name) : json(nullptr);
    entry["nodes"] = r.nodes;
    entry["pods_spanned"] = r.pods_spanned;
    entry["parallelism"] = {{"tp", w.parallelism.tp},
                            {"pp", w.parallelism.pp},
                            {"dp", w.parallelism.dp},
                            {"cp", w.parallelism.cp},
                            {"ep", w.parallelism.ep}};
    if (w.is_video()) {
      entry["parallelism"] = {{"sp", w.sp()}};
      add_video_keys(entry, r);
      workloads.push_back(std::move(entry));
      continue;
    }
    if (w.is_serving()) {
      entry["parallelism"] = {{"tp", w.parallelism.tp}, {"pp", w.parallelism.pp}};
      if (w.parallelism.ep > 1) entry["parallelism"]["ep"] = w.parallelism.ep;
      if (w.is_reasoning()) add_reasoning_keys(entry, r);
      else if (w.is_synthetic_data()) add_synthetic_data_keys(entry, r);
      else add_inference_keys(entry, r);
      workloads.push_back(std::move(entry));
      continue;
    }
    if (w.parallelism.automatic) {
      // What the search chose for the placement (null if the job never started).
      const Parallelism& p = r.setup.parallelism;
      entry["parallelism"] = r.accelerator ? json{{"tp", p.tp}, {"pp", p.pp}, {"dp", p.dp}, {"cp", p.cp}, {"ep", p.ep}}
                                           : json(nullptr);
      entry["parallelism_auto"] = true;
    }
    if (r.accelerator) {
      entry["micro_batch"] = r.setup.micro_batch;
      entry["zero"] = r.setup.options.zero_stage;  // ZeRO stage over DP (chosen by the search under auto)
      // Hybrid sharding only: the DP ranks the stage shards over, when fewer than dp.
      if (const int group = zero_group_size(r.setup); group < r.setup.parallelism.dp) entry["zero_group"] = group;
      entry["recompute"] = r.setup.recompute == RecomputeMode::Full        ? "full"
                           : r.setup.recompute == RecomputeMode::Selective ? "selective"
                                                                           : "none";
    }
    if (r.accelerator) {
      const StepBreakdown& s = r.step;
      const double step_s = s.step_time.value();
      const double tokens_per_s = s.tokens_per_step / step_s;
      const double model_tflops = s.model_flops_per_step / step_s / w.gpus / 1e12;
      entry["step_time_s"] = step_s;
      entry["tokens_per_s"] = tokens_per_s;
      entry["model_tflops_per_gpu"] = model_tflops;
      entry["mfu"] = model_tflops * 1e12 / r.accelerator->peak(w.precision).value();
      entry["hardware_tflops_per_gpu"] = s.hardware_flops_per_step / step_s / w.gpus / 1e12;
      entry["step_breakdown_s"] = {{"compute", s.compute.value()},
                                   {"compute_matmul", s.compute_matmul.value()},
                                   {"compute_attention", s.compute_attention.value()},
                                   {"compute_elementwise", s.compute_elementwise.value()},
                                   {"exposed_comm", s.exposed_comm.value()},
                                   {"comm_interference", s.comm_interference.value()},
                                   {"bubble", s.bubble.value()},
                                   {"optimizer", s.optimizer.value()},
                                   {"total_comm", s.total_comm.value()},
                                   {"tp_comm", s.tp_comm.value()},
                                   {"cp_comm", s.cp_comm.value()},
                                   {"pp_comm", s.pp_comm.value()},
                                   {"dp_comm", s.dp_comm.value()},
                                   {"ep_comm", s.ep_comm.value()}};
      entry["micro_batches"] = s.micro_batches;
      entry["step_time_alone_s"] = r.step_alone_s;
      entry["contention_slowdown"] = r.contention_slowdown;
      entry["inter_pod_comm_s"] = r.inter_pod_comm_s;
    } else {
      for (const char* k : {"step_time_s", "tokens_per_s", "model_tflops_per_gpu", "mfu", "hardware_tflops_per_gpu"})
        entry[k] = nullptr;
    }
    entry["steps"] = r.steps_done;
    entry["tokens"] = r.tokens_done;
    entry["completion_s"] = r.completed ? json(*r.end_s - r.submit_s) : json(nullptr);
    entry["goodput"] = r.busy_s > 0 ? json(r.steps_done * r.step.step_time.value() / r.busy_s) : json(nullptr);
    if (r.checkpoint_costed) {
      entry["checkpoint_interval_s"] = r.checkpoint_interval_s > 0 ? json(r.checkpoint_interval_s) : json(nullptr);
      entry["checkpoint_write_s"] = r.checkpoint_write_s;
    }
    entry["energy_j"] = r.energy_j;
    add_common_keys(entry, r);
    workloads.push_back(std::move(entry));
  }

  if (scenario.cluster.facility.power_cap && workloads.size() == run.workloads.size())
    for (std::size_t i = 0; i < run.workloads.size(); ++i) {
      const WorkloadResult& r = run.workloads[i];
      workloads[i]["power_held_s"] = r.power_held_s;
      workloads[i]["power_throttled_s"] = r.power_throttled_s;
      if (r.spec->kind == "pretrain") workloads[i]["power_cap_lost_tokens"] = r.power_lost_steps * r.step.tokens_per_step;
    }

  json summary;
  summary["scenario"] = scenario.name;
  summary["seed"] = scenario.seed;
  summary["simulated_s"] = run.simulated_s;
  summary["wall_s"] = run.wall_s;
  add_cost_keys(scenario, run, PriceBook::builtin(), cluster, workloads);
  summary["cluster"] = std::move(cluster);
  summary["workloads"] = std::move(workloads);
  return summary;
}

std::string jobs_csv(const RunResult& run) {
  std::ostringstream out;
  out << "name,kind,state,accelerator,gpus,nodes,pods_spanned,submit_s,start_s,end_s,wait_s,jct_s,steps,tokens,"
         "step_time_s,tokens_per_s,goodput,energy_j,tenant,priority,slowdown\n";
  for (const auto& r : run.workloads) {
    const bool serving = r.spec->is_serving() || r.spec->is_video();  // video: tokens 0, no rate
    const bool started = r.start_s.has_value() && !serving;  // step columns: training only
    const double step_s = r.step.step_time.value();
    // Serving: `tokens` and `tokens_per_s` are output tokens (every sample's thinking and answer
    // tokens for reasoning; accepted tokens for synthetic-data); no steps, no goodput.
    const std::optional<double> serving_rate =
        serving && r.start_s && r.serving.service_s > 0 ? std::optional<double>(r.tokens_done / r.serving.service_s)
                                                        : std::nullopt;
    out << r.spec->name << ',' << r.spec->kind << ',' << state_of(r) << ','
        << (r.accelerator ? r.accelerator->name : "") << ',' << r.spec->gpus << ',' << r.nodes << ','
        << r.pods_spanned << ',' << csv_number(r.submit_s) << ',' << csv_number(r.start_s) << ','
        << csv_number(r.completed ? r.end_s : std::nullopt) << ',' << csv_number(wait_of(r)) << ','
        << csv_number(r.completed ? std::optional<double>(*r.end_s - r.submit_s) : std::nullopt) << ','
        << csv_number(serving ? std::nullopt : std::optional<double>(r.steps_done)) << ','
        << csv_number(r.tokens_done) << ',' << csv_number(started ? std::optional<double>(step_s) : std::nullopt)
        << ','
        << csv_number(serving ? serving_rate
                              : started ? std::optional<double>(r.step.tokens_per_step / step_s) : std::nullopt)
        << ','
        << csv_number(!serving && r.busy_s > 0 ? std::optional<double>(r.steps_done * step_s / r.busy_s)
                                               : std::nullopt)
        << ',' << csv_number(r.energy_j) << ',' << r.spec->tenant << ',' << r.spec->priority << ','
        << csv_number(slowdown_of(r)) << '\n';
  }
  return out.str();
}

std::string failures_csv(const RunResult& run) {
  std::ostringstream out;
  out << "time_s,pod,node,component,job,effect\n";
  for (const auto& e : run.failure_events)
    out << csv_number(e.time_s) << ',' << e.pod << ',' << e.node << ',' << e.component << ',' << e.job << ','
        << e.effect << '\n';
  return out.str();
}

std::string timeseries_csv(const RunResult& run) {
  std::ostringstream out;
  out << "time_s,busy_accelerators,allocated_accelerators,fragmentation,running_workloads,queued_workloads,"
         "it_power_w,facility_power_w";
  for (const auto& name : run.series) out << ",tokens_per_s:" << name;
  for (const auto& name : run.replica_series) out << ",replicas:" << name;
  out << '\n';
  for (const auto& row : run.timeseries) {
    out << csv_number(row.time_s) << ',' << row.busy_accelerators << ',' << row.allocated_accelerators << ','
        << csv_number(row.fragmentation) << ',' << row.running_workloads << ','
        << row.queued_workloads << ',' << csv_number(row.it_power_w) << ',' << csv_number(row.facility_power_w);
    for (double v : row.tokens_per_s) out << ',' << csv_number(v);
    for (int v : row.replicas) out << ',' << v;
    out << '\n';
  }
  return out.str();
}

// "16 replicas", or for an autoscaled service the range it ran over.
std::string replicas_text(const json& w) {
  char text[96];
  const auto it = w.find("autoscale");
  const auto split = w.find("disaggregation");
  if (split != w.end())
    std::snprintf(text, sizeof text, "%d prefill + %d decode replicas", (*split)["prefill_replicas"].get<int>(),
                  (*split)["decode_replicas"].get<int>());
  else if (it != w.end() && it->contains("mean_replicas"))
    std::snprintf(text, sizeof text, "autoscaled, %d to %d replicas (mean %.1f)", (*it)["min_replicas"].get<int>(),
                  (*it)["max_replicas"].get<int>(), (*it)["mean_replicas"].get<double>());
  else
    std::snprintf(text, sizeof text, "%d replicas", w["replicas"].get<int>());
  return text;
}

std::string human_summary(const Scenario& scenario, const RunResult& run) {
  const json s = summary_json(scenario, run);
  const json& c = s["cluster"];
  char line[512];
  std::ostringstream out;
  // Small runs take milliseconds: two significant digits there, not "0.00 s".
  std::snprintf(line, sizeof line,
                run.wall_s < 0.1 ? "%s: %d accelerators on %d nodes, simulated %.1f h in %.2g s\n"
                                 : "%s: %d accelerators on %d nodes, simulated %.1f h in %.2f s\n",
                scenario.name.c_str(), run.accelerators, run.nodes, run.simulated_s / 3600, run.wall_s);
  out << line;
  std::snprintf(line, sizeof line, "  cluster: utilisation %.1f%%, IT power avg %.3f MW (peak %.3f MW), facility %.3f MW, %.1f MWh\n",
                100 * c["utilization"].get<double>(), c["avg_it_power_w"].get<double>() / 1e6,
                c["peak_it_power_w"].get<double>() / 1e6, c["avg_facility_power_w"].get<double>() / 1e6,
                c["facility_energy_j"].get<double>() / 3.6e9);
  out << line;
  if (c.contains("cost_usd")) {
    auto money = [](const json& v) {
      char text[32];
      const double x = v.is_null() ? 0.0 : v.get<double>();
      if (x >= 1e9) std::snprintf(text, sizeof text, "$%.3gB", x / 1e9);
      else if (x >= 1e6) std::snprintf(text, sizeof text, "$%.3gM", x / 1e6);
      else if (x >= 1e3) std::snprintf(text, sizeof text, "$%.3gk", x / 1e3);
      else std::snprintf(text, sizeof text, "$%.3g", x);
      return std::string(text);
    };
    std::snprintf(line, sizeof line,
                  "  cost (estimates): capex %s, this run %s (%s amortised capex + %s energy), %s per accelerator-hour\n",
                  money(c["capex_usd"]).c_str(), money(c["cost_usd"]).c_str(), money(c["amortised_capex_usd"]).c_str(),
                  money(c["energy_opex_usd"]).c_str(), money(c["cost_per_gpu_hour_usd"]).c_str());
    out << line;
  }
  // Jobs of a trace or stream: one line per stream.
  struct StreamLine {
    int jobs = 0, completed = 0, running = 0, queued = 0;
    double wait_s = 0, gpu_hours = 0;
  };
  std::map<std::string, StreamLine> streams;
  std::vector<std::string> stream_order;
  for (const auto& r : run.workloads) {
    const std::string& name = r.spec->stream;
    if (name.empty()) continue;
    if (!streams.count(name)) stream_order.push_back(name);
    StreamLine& l = streams[name];
    l.jobs++;
    if (r.completed) l.completed++;
    else if (r.start_s) l.running++;
    else l.queued++;
    if (auto w = wait_of(r)) l.wait_s += *w;
    l.gpu_hours += r.accelerator_s / 3600.0;
  }
  for (const auto& name : stream_order) {
    const StreamLine& l = streams[name];
    const int started = l.completed + l.running;
    std::snprintf(line, sizeof line,
                  "  %s (%d jobs): %d completed, %d running, %d queued at the end; mean wait %.2f h; %.4g GPU-hours\n",
                  name == "trace" ? "trace" : ("stream " + name).c_str(), l.jobs, l.completed, l.running, l.queued,
                  started > 0 ? l.wait_s / started / 3600 : 0.0, l.gpu_hours);
    out << line;
  }
  std::size_t index = 0;
  for (const auto& w : s["workloads"]) {
    if (!run.workloads[index++].spec->stream.empty()) continue;  // summed up above
    if (w["kind"] == "inference" && !w["start_s"].is_null()) {
      char progress[96];
      if (w["completion_s"].is_null())
        std::snprintf(progress, sizeof progress, "still serving at the horizon");
      else
        std::snprintf(progress, sizeof progress, "done after %.2f h", w["completion_s"].get<double>() / 3600);
      auto number = [](const json& v) { return v.is_null() ? 0.0 : v.get<double>(); };
      std::snprintf(line, sizeof line,
                    "  %s (inference, %d x %s, %s): %.4g output tokens/s, %.4g requests/s, TTFT p50 %.3f s "
                    "p99 %.3f s, TPOT p50 %.1f ms p99 %.1f ms, %.3g J per output token, %s\n",
                    w["name"].get<std::string>().c_str(), w["gpus"].get<int>(),
                    w["accelerator"].get<std::string>().c_str(), replicas_text(w).c_str(),
                    number(w["output_tokens_per_s"]), number(w["requests_per_s"]), number(w["ttft_p50_s"]),
                    number(w["ttft_p99_s"]), 1e3 * number(w["tpot_p50_s"]), 1e3 * number(w["tpot_p99_s"]),
                    number(w["joules_per_output_token"]), progress);
      out << line;
      continue;
    }
    auto value = [](const json& v) { return v.is_null() ? 0.0 : v.get<double>(); };
    auto ending = [&](char* text, std::size_t size) {
      if (w["completion_s"].is_null()) std::snprintf(text, size, "still running at the horizon");
      else std::snprintf(text, size, "done after %.2f h", w["completion_s"].get<double>() / 3600);
    };
    if (w["kind"] == "reasoning" && !w["start_s"].is_null()) {
      char progress[96];
      ending(progress, sizeof progress);
      std::snprintf(line, sizeof line,
                    "  %s (reasoning, %d x %s, %s, %d samples per query): %.4g queries/s, query latency "
                    "p50 %.2f s p99 %.2f s, %.4g output tokens/s (%.4g thinking), %.4g J per query, %s\n",
                    w["name"].get<std::string>().c_str(), w["gpus"].get<int>(),
                    w["accelerator"].get<std::string>().c_str(), replicas_text(w).c_str(), w["samples"].get<int>(),
                    value(w["queries_per_s"]), value(w["query_latency_p50_s"]), value(w["query_latency_p99_s"]),
                    value(w["output_tokens_per_s"]), value(w["thinking_tokens_per_s"]), value(w["joules_per_query"]),
                    progress);
      out << line;
      continue;
    }
    if (w["kind"] == "video-generation" && !w["start_s"].is_null()) {
      char progress[96];
      ending(progress, sizeof progress);
      std::snprintf(line, sizeof line,
                    "  %s (video-generation, %d x %s, %d replicas of sp %d): %.1f s per video, %.4g videos/hour, "
                    "%.4g GPU-seconds and %.3g J per video, %s\n",
                    w["name"].get<std::string>().c_str(), w["gpus"].get<int>(),
                    w["accelerator"].get<std::string>().c_str(), w["replicas"].get<int>(),
                    w["parallelism"]["sp"].get<int>(), value(w["seconds_per_video"]), value(w["videos_per_hour"]),
                    value(w["gpu_seconds_per_video"]), value(w["joules_per_video"]), progress);
      out << line;
      continue;
    }
    if (w["kind"] == "synthetic-data" && !w["start_s"].is_null()) {
      char progress[96];
      ending(progress, sizeof progress);
      std::snprintf(line, sizeof line,
                    "  %s (synthetic-data, %d x %s, %d replicas): %.4g accepted tokens/s of %.4g generated, %.4g "
                    "GPU-hours, %.3g J per accepted token (%s), %s\n",
                    w["name"].get<std::string>().c_str(), w["gpus"].get<int>(),
                    w["accelerator"].get<std::string>().c_str(), w["replicas"].get<int>(),
                    value(w["accepted_tokens_per_s"]), value(w["generated_tokens_per_s"]), value(w["gpu_hours"]),
                    value(w["joules_per_accepted_token"]), w["method"].get<std::string>().c_str(), progress);
      out << line;
      continue;
    }
    if (w["start_s"].is_null()) {
      std::snprintf(line, sizeof line, "  %s (%s, %d GPUs): never started (queued at the horizon)\n",
                    w["name"].get<std::string>().c_str(), w["kind"].get<std::string>().c_str(), w["gpus"].get<int>());
      out << line;
      continue;
    }
    char progress[128];
    if (w["completion_s"].is_null())
      std::snprintf(progress, sizeof progress, "still running at the horizon after %.4g tokens",
                    w["tokens"].get<double>());
    else
      std::snprintf(progress, sizeof progress, "done after %.2f h", w["completion_s"].get<double>() / 3600);
    std::snprintf(line, sizeof line,
                  "  %s (%s, %d x %s): step %.3f s, %.4g tokens/s, MFU %.1f%%, %.0f model TFLOP/s per GPU, %s\n",
                  w["name"].get<std::string>().c_str(), w["kind"].get<std::string>().c_str(), w["gpus"].get<int>(),
                  w["accelerator"].get<std::string>().c_str(), w["step_time_s"].get<double>(),
                  w["tokens_per_s"].get<double>(), 100 * w["mfu"].get<double>(),
                  w["model_tflops_per_gpu"].get<double>(), progress);
    out << line;
  }
  return out.str();
}

}  // namespace fleetsim
