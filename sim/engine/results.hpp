// What a simulation produced, before it is written out (report layer).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "models/training_step.hpp"
#include "scenario/scenario.hpp"

namespace fleetsim {

// The two pools of a disaggregated inference service (models/disaggregation.hpp).
struct DisaggregationResult {
  int prefill_replicas = 0, decode_replicas = 0;
  int simulated_prefill_replicas = 0, simulated_decode_replicas = 0;
  double prefill_kv_tokens_per_replica = 0;
  double prefill_busy_fraction = 0;   // share of the prefill replicas' time spent in prefills
  double decode_busy_fraction = 0;    // share of the decode replicas' time spent in decode steps
  double prefill_mean_prompts = 0;    // prompts per prefill iteration
  double decode_mean_batch = 0;       // sequences per decode step
  double kv_bytes_per_request = 0;    // mean over the simulated requests
  double nvlink_share = 0;            // of the transfers, those inside a scale-up domain
  double cross_pod_share = 0;         // of the transfers, those between pods
  std::vector<double> kv_transfer_s;  // per prefilled request: transfer end - prefill end (queueing included)
  std::vector<double> prefill_wait_s; // per prefilled request: prefill end - arrival
};

// What a serving workload (kind: inference) did, from the per-replica schedules.
struct ServingResult {
  int replicas = 0;
  int simulated_replicas = 0;        // request by request; the rest are scaled from them
  double kv_tokens_per_replica = 0;  // KV-cache capacity of one replica, tokens
  double weights_per_gpu_bytes = 0;
  long long requests = 0;            // arrived before the service ended (or the horizon)
  long long completed = 0;           // finished by the service's end (or the horizon)
  double output_tokens = 0;          // of the completed requests
  double service_s = 0;              // start to last completion, or to the horizon
  double mean_batch = 0;             // requests per decode step, over all replicas
  double busy_fraction = 0;          // share of replica-time spent in iterations
  std::vector<double> ttft_s;        // per completed request: first token - arrival
  std::vector<double> tpot_s;        // per completed request with > 1 output token
  // Reasoning (and every serving kind): a request is a query of `samples` samples.
  std::vector<double> latency_s;     // per completed request: completion (after verification) - arrival
  double thinking_tokens = 0;        // of the completed requests, every sample (in output_tokens too)
  double answer_tokens = 0;          // of the completed requests, every sample (in output_tokens too)
  double verify_s = 0;               // replica time spent scoring samples (verifier or filter)
  // Synthetic-data: the job until its target of accepted tokens (or the horizon).
  double generated_samples = 0;      // samples generated (and scored) by the end
  double accepted_samples = 0;       // kept by the filter
  double accepted_tokens = 0;        // their output tokens
  bool extrapolated = false;         // steady-state extrapolation rather than every request simulated
  long long simulated_requests = 0;  // requests run through the schedule, per replica
  double preempted = 0;              // completed requests preempted for KV space at least once
  std::optional<DisaggregationResult> disaggregation;  // inference with separate prefill and decode pools
};

// How an autoscaled service's replicas followed its load (engine/autoscaled_service.cpp).
struct AutoscaleResult {
  double capacity_requests_per_s = 0;  // one replica's saturated throughput (what it is sized by)
  double mean_replicas = 0;            // time-weighted, from its start
  int min_replicas = 0, max_replicas = 0;  // reached
  int scale_ups = 0, scale_downs = 0;      // replica groups started and given back
  double mean_scale_up_wait_s = 0;     // request to start, over the groups that started
  double startup_s = 0;                // start to serving of an added replica group (weights loaded)
  int replicas_queued = 0;             // asked for and still queued at the end
  int replicas_withdrawn = 0;          // asked for and withdrawn unstarted (the load fell first)
  double sampled_share = 1;            // of the service's time simulated request by request (1: all of it)
};

// What a video-generation workload (kind video-generation) did.
struct VideoResult {
  int replicas = 0;
  VideoTime unloaded;                // one video on an idle replica (models/video_step.hpp)
  long long requests = 0;            // arrived before the service ended (or the horizon)
  long long completed = 0;           // finished by the service's end (or the horizon)
  double service_s = 0;              // start to last completion, or to the horizon
  double busy_fraction = 0;          // share of replica-time spent generating
  std::vector<double> latency_s;     // per completed request: done - arrival
};

struct WorkloadResult {
  const WorkloadSpec* spec = nullptr;
  const Accelerator* accelerator = nullptr;  // where it ran; nullptr if it never started
  int nodes = 0;
  int pods_spanned = 0;
  double submit_s = 0;
  std::optional<double> start_s;
  std::optional<double> end_s;  // nullopt while still running (or queued) at the horizon
  bool completed = false;        // reached its `tokens` target
  TrainingSetup setup;  // as run: parallelism, micro-batch and recompute (chosen by the search under auto)
  StepBreakdown step;  // as it ran: under contention on shared uplinks, the exposed communication grew
  double step_alone_s = 0;          // the step with the uplinks to itself (the model's)
  double contention_slowdown = 1;   // step as it ran / step alone (1 unless it shared uplinks)
  double inter_pod_comm_s = 0;      // per step, alone: communication over the pod uplinks (0 in one pod)
  bool contention_applied = false;  // step and breakdown updated from it (once)
  double steps_done = 0;  // whole steps finished (fractional progress is not counted)
  double tokens_done = 0;
  double energy_j = 0;    // energy of its nodes while it held them (SimGrid host energy plugin)
  double busy_s = 0;      // wall time it held its accelerators (every run, if evicted)
  double accelerator_s = 0;  // accelerator-seconds held (an autoscaled service's replicas as they came and went)
  int interruptions = 0;      // times it was evicted or stopped by a node failure
  double lost_gpu_hours = 0;  // work since the last checkpoint lost to them
  // Checkpoints of its last run (training): interval of step time, and the time a write
  // takes; reported when writes cost time (a storage bandwidth, or failures on).
  bool checkpoint_costed = false;
  double checkpoint_interval_s = 0, checkpoint_write_s = 0;
  // Under a facility power cap (engine/power_cap.cpp): time its nodes waited for power
  // before it started, time it ran below full clock, and the steps that throttling cost
  // (steps at full clock minus steps done, over the throttled time).
  double power_held_s = 0, power_throttled_s = 0, power_lost_steps = 0;
  ServingResult serving;  // kind: inference only
  VideoResult video;      // kind: video-generation only
  AutoscaleResult autoscale;  // inference and reasoning with `autoscale` only
};

struct TimeseriesRow {
  double time_s = 0;
  int busy_accelerators = 0;
  long long allocated_accelerators = 0;  // held by jobs, running or about to
  double fragmentation = 0;              // FreeNodes::fragmentation(): free nodes outside the freest pod
  int running_workloads = 0;
  int queued_workloads = 0;
  std::vector<int> replicas;  // per RunResult::replica_series
  double it_power_w = 0;
  double facility_power_w = 0;
  std::vector<double> tokens_per_s;  // per RunResult::series
};

// One node failure (engine/failures.cpp): when, where, which component, and what it did.
struct FailureEvent {
  double time_s = 0;
  std::string pod;
  int node = 0;            // index in its pod
  std::string component;   // a failure catalog category
  std::string job;         // the workload holding the node, "" if free
  std::string effect;      // interrupted (the job stopped), down (a free node), none (a service kept it)
};

// Nodes of one catalog node type in the fleet (pods of a hand-written platform file take
// the node type their hosts name, or the catalog's with the same accelerator and count per
// node; none if no such type: the run then has no cost keys).
struct FleetNodes {
  const NodeType* type = nullptr;
  long long count = 0;
};

struct RunResult {
  double simulated_s = 0;
  double wall_s = 0;
  int nodes = 0;
  int accelerators = 0;
  std::vector<FleetNodes> fleet_nodes;  // by node type, in order of first pod
  double it_energy_j = 0;
  // IT energy x PUE: the constant PUE, or the profile's hour-by-hour PUE weighted by the
  // IT power of the time series (whose integral is the plugin's IT energy).
  double facility_energy_j = 0;
  // Of it_energy_j, the scale-out fabric's (SimGrid's link energy plugin), and its power.
  double network_energy_j = 0, network_power_w = 0;
  double peak_it_power_w = 0, peak_facility_power_w = 0;  // over states that lasted (not instants between two changes)
  // The largest change of facility power within facility.swing_window (time-series rows
  // at every change of state), up or down, and when the window it was seen in began.
  double max_swing_w = 0, max_swing_at_s = 0;
  // Power cap: time spent with training throttled below full clock, accelerator-seconds
  // of GEMM throughput it cost (accelerators x (1 - speed) x time), jobs held for power.
  double power_throttled_s = 0, power_lost_accelerator_s = 0, power_held_s = 0;
  // Power cap: time during which a running service was held at a DVFS level below full power.
  double power_service_limited_s = 0;
  int power_held_jobs = 0;
  double busy_accelerator_s = 0;
  std::vector<WorkloadResult> workloads;
  // Time-series throughput columns: each workload written out, then each trace or stream
  // once (the sum over its jobs), in order of first appearance.
  std::vector<std::string> series;
  std::vector<TimeseriesRow> timeseries;
  std::vector<std::string> replica_series;  // autoscaled services: replicas over time
  bool failures_enabled = false;
  std::vector<std::string> failure_components;  // the catalog's categories, in order
  std::vector<FailureEvent> failure_events;     // in time order
};

}  // namespace fleetsim
