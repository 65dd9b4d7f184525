// Internal to the engine: the simulation object shared by simulation.cpp (the run,
// the time series, the end) and the per-kind workload actors (training_job.cpp,
// serving_service.cpp, video_service.cpp).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include <simgrid/s4u.hpp>
#include <simgrid/simix.hpp>
#include <spdlog/spdlog.h>

#include "core/log.hpp"
#include "engine/scheduler.hpp"
#include "platform/fleet.hpp"
#include "engine/simulation.hpp"
#include "models/serving_schedule.hpp"
#include "models/power.hpp"
#include "models/serving_step.hpp"

namespace fleetsim::engine_detail {

namespace sg4 = simgrid::s4u;

struct Job {
  int index = 0;
  int series = 0;  // its time-series column (shared by the jobs of a trace or stream)
  const WorkloadSpec* spec = nullptr;
  WorkloadResult* result = nullptr;
  SchedJob sched;  // what the scheduler knows of it: size, where it may run, estimate, tenant
  Allocation allocation;
  std::vector<sg4::Host*> hosts;
  bool running = false;
  std::vector<sg4::ExecPtr> busy;  // keeping its nodes busy where they have no running pstate
  int held_accelerators = 0;       // while it runs: its own, and an autoscaled service's added replicas
  // An autoscaled service (autoscaled_service.cpp): the replicas it added beyond the ones
  // it started with, each group queued at the scheduler as a job of its own.
  struct ReplicaGroup {
    SchedJob sched;  // replicas x (tp x pp) accelerators, the service's tenant and priority
    int replicas = 0;
    bool granted = false;  // set by the scheduler's callback; the service's actor starts it
    bool running = false;   // holds its nodes (and draws their power)
    bool serving = false;   // has loaded its weights: counts among the replicas
    double serving_from_s = 0;
    Allocation allocation;
    std::vector<sg4::Host*> hosts;
    std::vector<sg4::ExecPtr> busy;
    double requested_s = 0, started_s = 0, energy_at_start_j = 0;
  };
  std::vector<std::unique_ptr<ReplicaGroup>> replica_groups;  // in request order
  int replica_series = -1;  // its replicas column in the time series (autoscaled only)
  int replicas_now = 0;     // replicas running (autoscaled only)
  StepProfile replica_timeline;  // replicas running from each time on (autoscaled only)
  StepProfile wanted_timeline;   // replicas wanted from each decision on (autoscaled only)
  StepProfile held_timeline;     // replicas holding nodes (serving or loading weights) (autoscaled only)
  double energy_at_start_j = 0;
  double tokens_per_s = 0;
  // Power (models/power.hpp): the phase its nodes run in, whether the power-cap
  // controller may lower their clock (training jobs), and the GEMM speed it runs at now.
  PowerPhase phase = PowerPhase::Compute;
  bool throttleable = false;
  // A service under a facility cap: its nodes run at one DVFS level for its whole life,
  // `service_level`, the fastest that fits when it is admitted (power_cap.cpp), and its
  // schedule is planned at that level's GEMM speed `service_speed` (its prefill and the
  // compute-bound part of its decode slow; HBM-bound decode does not).
  bool decode_capped = false;
  int service_level = -1;  // -1: not admitted yet
  double service_speed = 1;
  // Its nodes are in their running pstate. A training job restarting after a failure
  // holds its nodes idle (pstate 0) through detection and restart, then powers up.
  bool powered = false;
  double speed = 1;
  double utilisation = 1;  // a service's replica busy share (its schedule's), for its decode pstate
  // A training job in one pod: its steps done in this run up to `progress_at`, and the
  // wall time of a step at its present speed (0 when not running steps).
  double progress_steps = 0, progress_at = 0, wall_step_s = 0;
  // A training job whose traffic leaves its pods runs in segments and counts its own
  // steps, to the horizon if it gets there (training_job.cpp); `wake` cuts a quiet
  // segment when another such job starts or stops on one of its pods.
  bool segmented = false;
  sg4::ConditionVariablePtr wake = sg4::ConditionVariable::create();
  long epoch = 0;  // bumped (under the lock) by every wake-up, so none is lost
  std::vector<sg4::CommPtr> flows;  // its inter-pod flows in flight
  // Evicted by a higher-priority job (scheduler preemption): its progress up to the last
  // checkpoint is kept (kept_steps, and kept_s of run time for a duration budget).
  bool preempted = false;
  double kept_steps = 0, kept_s = 0;
  // Stopped by a node failure (engine/failures.cpp) rather than evicted: its next run
  // first spends failures.restart_time (detection + restart) before steps resume.
  bool failed = false, restart_pending = false;
  double steps_from_s = 0;  // when the current run's steps began (after any restart)
  // This run's checkpoints (plan_checkpoints): every `checkpoint_interval_s` of step time
  // a write of `checkpoint_write_s`, spread over the steps: each takes `stretch` times
  // its step time of wall time (1 without checkpoints or when writes are free).
  double checkpoint_interval_s = 0, checkpoint_write_s = 0, stretch = 1;
  double run_start_s = 0;  // when its current run on nodes began
  // Its progress so far, and the segment in progress (since, steps per second, at most
  // how many steps), for the end of the run if the horizon interrupts it.
  double cross_done = 0, cross_held_s = 0;
  // The segment in progress: `steps` steps whose first part is `hidden_s` of compute per
  // step alongside its flows (`flow_bytes` each), then `rest_s` of compute per step
  // (from `rest_start`, -1 until then). A segment alone is all rest, from its start.
  struct Segment {
    double start = -1;  // -1: none in progress
    double steps = 0, hidden_s = 0, rest_s = 0, rest_start = -1;
    std::vector<double> flow_bytes;
    // Steps done by `now`: progress taken as even over the segment's projected length
    // (real steps interleave compute and traffic), the first part as long as its slower
    // half would take at the pace it has had.
    double done_by(double now, const std::vector<sg4::CommPtr>& flows) const;
  } segment;
};

struct CrossPodRun {
  double steps = 0;                 // whole steps done in this run
  bool stopped_by_horizon = false;  // still running at the horizon
};

// The step as it ran (step alone x contention slowdown): the delay is exposed communication.
void apply_contention(WorkloadResult& r);

// What a training job that spans pods sends between them, as the step model sees it
// alone on the fabric: per step, `comm_s` of inter-pod communication at its uncontended
// rate, of which `hidden_s` overlaps compute; `local_step_s` is the step were inter-pod
// traffic free, `alone_step_s` the step on the placement with the uplinks to itself.
struct CrossPodTraffic {
  double alone_step_s = 0;
  double local_step_s = 0;
  double comm_s = 0;
  double hidden_s = 0;
  struct Flow {
    sg4::Host* from = nullptr;
    sg4::Host* to = nullptr;
    double bytes_per_step = 0;  // at the uplinks' rate this takes comm_s
  };
  std::vector<Flow> flows;  // a ring over the pods' gateways
};

double energy_of(const std::vector<sg4::Host*>& hosts);

// The fabric one accelerator of the job sees on its allocation.
FabricView fabric_view(const Fleet& fleet, const Allocation& allocation, const NodeType& node, int gpus);

// A node type describing a pod's nodes: the platform's own, or for a hand-written
// platform the first catalog node type with the same accelerator and count.
const NodeType* node_type_of(const FleetPod& pod, const Catalog& catalog);

// What the scheduler needs to know of workload `index`: the pod groups (one accelerator
// type and node shape each) where it fits in count and memory, fastest first for
// training, and how long it would hold its nodes. Records a problem if it fits nowhere.
SchedJob plan_job(const Scenario& scenario, int index, const Fleet& fleet, const Catalog& catalog,
                  ProblemList& problems);

// The scheduler's view of the fleet's pods.
std::vector<PodShape> pod_shapes(const Fleet& fleet);

// The state only changes where a row was recorded (every job start and end), so the
// series is piecewise constant: rows at every multiple of `interval` are read off it
// (the last row at or before each grid time) and merged with the change rows.
std::vector<TimeseriesRow> on_grid(const std::vector<TimeseriesRow>& changes, double interval, double end);

// The requests of a stream: one per arrival, with lengths drawn per request when the
// workload gives distributions (fixed otherwise), from (seed, stream).
std::vector<ServingRequest> requests_of(const WorkloadSpec& w, const std::vector<double>& arrivals, std::uint64_t seed,
                                        std::uint64_t stream);

// A serving replica's step model on a service's placement, and its verifier's or
// filter's (resident on the same replica) if it has one.
struct ReplicaModels {
  ServingStepModel model;
  std::optional<ServingStepModel> scorer;
  const IterationCost* verifier() const { return scorer ? &*scorer : nullptr; }
};

// A service's replica schedules, summed (serving_service.cpp).
struct ReplicaTotals {
  double last_completion = 0;
  double busy_replica_s = 0, batch_sum = 0, decode_steps = 0;
};
// A representative replica of an autoscaled service sees its hours of few replicas more
// often than the service's requests do (its stream runs at rate(t) / R(t)): each request
// counts with probability `profile` (R(t) / the most replicas), drawn from (seed, stream),
// and busy time is weighted by it, so the figures stand for the service's requests.
struct RequestWeight {
  const StepProfile* profile = nullptr;
  std::uint64_t seed = 0, stream = 0;
};
// Only requests arriving from `counted_from` on count, and busy time between it and
// `counted_until` (a sampled window, after its warm-up). Returns the requests counted.
std::size_t tally_replica(const WorkloadSpec& w, const std::vector<ServingRequest>& requests,
                          const ScheduleResult& schedule, double horizon, ServingResult& out, ReplicaTotals& totals,
                          double counted_from = -1e300, double counted_until = 1e300,
                          const RequestWeight* weight = nullptr);

// The simulated replicas' counts and tokens, scaled to the whole stream; the mean batch.
void scale_to_stream(ServingResult& out, const ReplicaTotals& totals, double scale);

class Simulation {
 public:
  Simulation(const Scenario& scenario, const Catalog& catalog, Fleet fleet, const SimulationOptions& options)
      : scenario_(scenario),
        catalog_(catalog),
        fleet_(std::move(fleet)),
        options_(options),
        scheduler_(pod_shapes(fleet_), policy_config(scenario.scheduler), scenario.scheduler.placement) {}

  RunResult run();

 private:
  static PolicyConfig policy_config(const SchedulerSpec& spec);

  // Submit, queue, and wait for the job's nodes (the scenario's policy and placement,
  // gang allocation); fills the placement.
  void acquire_nodes(Job& job);

  // The actor body of every workload: services go to their kind's runner below; a
  // training job runs here (training_job.cpp).
  void run_job(Job& job);

  // An inference or reasoning service of gpus / (tp x pp) replicas: requests go
  // round-robin by arrival (offline, or Poisson with a count), or each replica gets its own
  // Poisson stream and only representative replicas are simulated (open streams); each
  // replica's continuous batching runs in C++ (serving_schedule.hpp) and
  // the nodes stay busy in SimGrid from the start to the last completion (or to the
  // horizon), so the energy plugin charges them. No SimGrid event per request or token.
  void run_service(Job& job);
  // An inference service with `disaggregation`: a prefill pool and a decode pool, each
  // prompt's KV cache sent between them (disaggregated_service.cpp, models/disaggregation.hpp).
  void run_disaggregated_service(Job& job);

  // A video-generation service: gpus / sp replicas, each generating one video at a time in
  // arrival order (requests go to the replica free first); the time of one video comes
  // from models/video_step.hpp, the queue runs in C++, and the nodes stay busy in SimGrid
  // from the start to the last completion (or the horizon) so the energy plugin charges
  // them. No SimGrid event per request or denoising step.
  void run_video_service(Job& job);

  // An inference or reasoning service with `autoscale`: it starts with min_replicas and
  // every interval asks the scheduler for the replicas the next interval's peak load needs
  // (groups queued beside batch jobs, under the same policy), or gives back the ones it
  // does not; the requests are scheduled on representative replicas after the run, from
  // the replica count as it was (finish_autoscaled_service).
  void run_autoscaled_service(Job& job);
  void resize_service(Job& job, int wanted, int per_replica, int step, const std::vector<int>& pods);
  void start_group(Job& job, Job::ReplicaGroup& group);
  void stop_group(Job& job, Job::ReplicaGroup& group);
  void step_held(Job& job, double at, int delta);
  void record_replicas(Job& job, int delta);
  void finish_autoscaled_service(Job& job, double now);
  // Did the service run fewer replicas than it wanted at some time in [from, to)?
  bool short_of_wanted(const Job& job, double from, double to) const;

  // Nodes of an allocation start or stop drawing their busy power (running pstate, or an
  // execution per node where the platform has none) and count as running in the series.
  // Services (the default) run in the decode pstate; training in the compute pstate of
  // the controller's present DVFS level when `throttleable`, else at full power.
  void power_up(const Allocation& allocation, std::vector<sg4::ExecPtr>& busy,
                PowerPhase phase = PowerPhase::Decode, bool throttleable = false, double utilisation = 1,
                int level = -1);  // level: the DVFS level to run at; -1 the controller's present one
  void power_down(const Allocation& allocation, std::vector<sg4::ExecPtr>& busy, bool throttleable = false);
  int pstate_for(const FleetPod& pod, PowerPhase phase, bool throttleable, int level, double utilisation = 1) const;

  // Facility power cap (power_cap.cpp). IT power now, or with the throttleable nodes at
  // `level` and failed nodes counted at idle (what the controller budgets with).
  double it_power_w() const;
  double budget_it_power_w(int level) const;
  // What starting `job` would add to the budget with throttleable work at `level`.
  double added_power_w(const Job& job, int level) const;
  // Waits until the job's start fits under the cap (throttling everything to the lowest
  // level if need be); returns at once without a cap.
  void wait_for_power(Job& job);
  // A service planned from its start (its request schedule) waits for power first, at
  // full decode power, so that its schedule starts when it really does.
  void hold_for_power_before_planning(Job& job);
  // The controller: the highest DVFS level at which the facility fits under the cap now;
  // re-clocks the throttleable jobs' nodes (SimGrid pstates) and wakes their actors.
  void relevel();
  // The controller's decision and the pstate changes it makes, to run inside one kernel
  // call (simcall_answered) together with the change that prompted it, so that no actor
  // samples the fleet half-changed; true if the level changed (wake_throttleable then).
  bool relevel_state();
  void wake_throttleable();
  // Runs `change` in one kernel call where every host of the allocation has pstates (the
  // execution path of platforms without them needs an actor context).
  template <class F>
  void atomically(const Allocation& allocation, F&& change) {
    for (const auto& part : allocation.parts)
      if (fleet_.pods[std::size_t(part.pod)].running_pstate < 0) {
        change();
        return;
      }
    simgrid::kernel::actor::simcall_answered(std::forward<F>(change));
  }
  void run_power_controller();  // daemon: re-levels at every hour the PUE changes
  void account_throttle(double now);
  int lowest_level_ = 0;
  int level_ = 0;               // present DVFS level of throttleable work (0: full power)
  double level_since_ = 0;
  std::vector<std::vector<int>> pstate_nodes_;  // per pod and pstate: running nodes in it
  std::vector<int> exec_nodes_;                 // per pod: running nodes kept busy by executions
  std::vector<int> throttled_nodes_;            // per pod: nodes of throttleable running jobs
  sg4::MutexPtr power_mutex_ = sg4::Mutex::create();
  sg4::ConditionVariablePtr power_freed_ = sg4::ConditionVariable::create();

  // The links a serving replica's TP group and PP hand-offs use on the job's placement.
  ServingFabric serving_fabric(const Job& job, const NodeType& node) const;
  // The replica's step models on the accelerator and fabric of the job's first pod.
  ReplicaModels replica_models(const Job& job) const;
  // A serving replica's setup at the service's admitted DVFS level (its GEMM speed).
  ServingSetup at_service_level(ServingSetup setup, const Job& job) const {
    setup.compute_speed = job.service_speed;
    return setup;
  }

  // A synthetic-data job: replicas generate from an offline stream, the filter scores every
  // sample on the same replicas, and the job ends when the accepted tokens reach the target
  // (models/synthetic_data.hpp: full per-request simulation for small targets, steady-state
  // extrapolation for large ones). Its nodes are busy in SimGrid for that long.
  void run_synthetic_data_job(Job& job);

  // The job's nodes start working (their running pstate, or executions): the time series
  // records the change and the job's energy is counted from here. While it runs, its
  // actor only sleeps or waits on flows.
  void start_running(Job& job);
  // A job that started idle (restarting after a failure) puts its nodes to work.
  void power_up_job(Job& job);
  // The job's work ended now: its end, held time and energy; its nodes go back to the
  // scheduler and the time series records the change.
  void stop_running(Job& job);
  // The part of stopping shared with an eviction: held time and energy of this run, the
  // nodes back to available, the time series.
  void leave_nodes(Job& job, bool record = true);


  // The inter-pod traffic of a training job on its placement, or nullopt if it stays in
  // one pod (or the platform does not say what its pod uplinks carry).
  std::optional<CrossPodTraffic> cross_pod_traffic(const Job& job, const FabricView& fabric) const;
  // Runs `steps` steps of a job that spans pods (or until `until_s`), in segments whose
  // inter-pod traffic is SimGrid communications between the pods' gateways: jobs that
  // share uplinks slow each other by SimGrid's bandwidth sharing.
  CrossPodRun run_cross_pod(Job& job, const CrossPodTraffic& traffic, double steps, double until_s);
  // Waits on the job's condition variable until `t` unless woken since it read `epoch`
  // (or evicted): true if it timed out.
  bool wait_on(Job& job, double t, long epoch);
  // Wakes the job's actor (another job on its uplinks, or an eviction).
  void wake(Job& job);
  // Holds the job's nodes until `t`; false if it was evicted first.
  bool hold_until(Job& job, double t);
  // Waits for the job's flows until `deadline`; false if cut by it or by an eviction.
  bool wait_flows(Job& job, double deadline);
  // The scheduler evicted the job: its nodes are already taken back; stop charging them
  // to it and wake its actor, which queues again from its last checkpoint.
  void preempt(Job& job);

  // Does another job that spans pods share one of this job's pods (and so its uplink)?
  bool shares_uplinks(const Job& job) const;
  // The job's flows start or stop using its pods' uplinks: the others there re-plan.
  void announce_cross_pod(Job& job, bool joining);

  void sample();

  // The job's checkpoint interval (given, or Young's optimum for `interval: auto`) and
  // write time on this run's placement (training_job.cpp).
  void plan_checkpoints(Job& job, const FleetPod& pod);

  // Node failures (failures.cpp): one actor draws them over the whole fleet and repairs
  // the failed nodes; fail_node returns true if the node went down (to be repaired).
  void run_failures();
  bool fail_node(int pod, int node, const std::string& component);
  void repair_node(int pod, int node);

  // Progress on a terminal, at most once per wall second, from SimGrid's clock signal
  // (a periodic actor would add events, and each event re-solves every busy host).
  void show_progress();

  void finish();
  // From the change rows of the time series (before they go on the grid): the PUE the IT
  // energy saw, the facility peak and the largest swing within facility.swing_window.
  void facility_figures(double end);
  double it_weighted_pue_ = 0;

  const Scenario& scenario_;
  const Catalog& catalog_;
  Fleet fleet_;
  SimulationOptions options_;
  ClusterScheduler scheduler_;
  std::vector<Job> jobs_;
  std::vector<int> running_nodes_;  // per pod, nodes of running jobs
  std::set<int> running_jobs_;      // indices of running jobs (in order, for sums)
  int queued_ = 0;                  // submitted and never started
  int next_group_id_ = 0;           // scheduler ids of replica groups, after the workloads'
  // Per pod, the running jobs whose traffic leaves their pods (training_job.cpp), and the
  // lock their segments wait under.
  std::vector<std::set<int>> cross_pod_jobs_;
  sg4::MutexPtr cross_pod_mutex_ = sg4::Mutex::create();
  RunResult result_;
  sg4::Host* anchor_ = nullptr;                 // where the actors live
  std::vector<std::vector<int>> node_owner_;    // per pod and node: the job holding it, -1 if none
  std::vector<std::vector<std::uint8_t>> down_; // per pod and node: failed, awaiting repair
  std::vector<int> off_nodes_;                  // per pod, failed nodes whose host is off
  std::chrono::steady_clock::time_point wall_start_;
  std::chrono::steady_clock::time_point last_progress_;
  std::shared_ptr<spdlog::logger> logger_ = layer_logger("engine");
};

}  // namespace fleetsim::engine_detail
