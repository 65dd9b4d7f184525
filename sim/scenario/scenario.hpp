// A scenario: the typed, validated form of a scenario YAML file (../shared/SCENARIO.md).
// Everything a user can get wrong is caught while loading (scenario_loader.cpp) and
// reported as InputError with file, line, column and key path; code downstream may
// assume every field here is valid.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "core/error.hpp"
#include "core/units.hpp"
#include "models/serving_step.hpp"
#include "models/video_step.hpp"
#include "models/serving_schedule.hpp"
#include "models/training_step.hpp"

namespace fleetsim {

struct FabricSpec {
  std::string topology = "fat-tree";
  double oversubscription = 1.0;  // leaf downlink : uplink bandwidth
  int nodes_per_leaf = 32;        // nodes under one leaf switch
};

struct PodSpec {
  std::string name;
  int count = 1;  // identical pods
  int nodes = 0;  // nodes per pod
  const NodeType* node = nullptr;
  FabricSpec fabric;
  SourceLocation where;
};

struct InterconnectSpec {
  ByteRate bandwidth_per_pod;  // each pod's uplink into the inter-pod core, per direction; 0: non-blocking
  Seconds latency;
};

struct ClusterDesign {
  std::vector<PodSpec> pods;
  InterconnectSpec interconnect;
  // Which pstates beyond idle and full compute the platform gives its nodes: the DVFS
  // levels only a power cap uses, the decode levels only serving uses. Each pstate costs
  // the energy plugin three formatted messages per host at load (SimGrid 3.32's
  // HostEnergy::init_watts_range_list): ten pstates made a 1M-GPU run 2.1x slower, so the
  // loader keeps only what the scenario needs.
  bool dvfs_pstates = true;
  bool decode_pstates = true;
};

// The facility around the IT load (docs/models/power.md): facility power = IT power x
// PUE, the PUE either constant or one value per hour of the day (a 24-entry profile,
// hour 0 = the first hour of the run, repeating daily); a power cap on the facility power
// that a controller in the engine enforces; the window of the largest power swing.
struct FacilitySpec {
  double pue = 1.0;
  std::vector<double> pue_hourly;  // empty: the constant `pue`
  std::optional<Watts> power_cap;
  SourceLocation power_cap_where;
  Seconds swing_window = Seconds(300);
  double pue_at(double t_s) const {
    if (pue_hourly.empty()) return pue;
    const auto hour = static_cast<long long>(t_s / 3600.0);
    return pue_hourly[static_cast<std::size_t>(hour % 24)];
  }
  double max_pue() const {
    double m = pue;
    if (!pue_hourly.empty()) {
      m = pue_hourly.front();
      for (double v : pue_hourly) m = v > m ? v : m;
    }
    return m;
  }
};

struct ClusterSpec {
  std::optional<std::string> platform_file;  // resolved against the scenario's folder
  std::optional<ClusterDesign> design;
  FacilitySpec facility;
  SourceLocation where;
};

struct TenantSpec {
  double share = 1.0;         // fair-share weight (policy: priority)
  std::optional<int> quota;   // at most this many accelerators held at once
};

struct SchedulerSpec {
  std::string policy = "fifo";               // fifo | easy-backfill | priority
  std::string placement = "topology-aware";  // packed | spread | topology-aware
  bool preemption = false;
  std::map<std::string, TenantSpec> tenants;  // tenants not listed: share 1, no quota
  std::optional<Seconds> fair_share_half_life;  // priority only; absent: fair share by holdings now
};


// The request stream of a serving workload (kinds inference, reasoning, synthetic-data).
enum class ArrivalMode { Offline, Poisson };

struct RequestStreamSpec {
  ArrivalMode mode = ArrivalMode::Offline;
  std::optional<long long> count;  // offline: required; poisson: optional (default: until the horizon)
  Rate rate;                       // poisson only, requests per second
  int input_tokens = 0;            // the prompt's mean length
  int output_tokens = 0;           // the answer's mean length, the first token included
  // inference: lengths drawn per request (lognormal) when the scenario gives a mapping
  // {mean, sigma, max}; fixed at the mean otherwise.
  LengthDistribution input_lengths, output_lengths;
  int thinking_tokens = 0;         // reasoning: tokens each sample thinks before its answer
  int samples = 1;                 // reasoning: parallel answers per query, sharing the prompt's KV
  // Poisson streams without a count: how many replicas are simulated request by request;
  // the others are taken to behave like them (engine/simulation.cpp). 0: all of them.
  int representative_replicas = 16;
  // Poisson only: 24 relative loads, one per hour from the start of the run (empty: flat).
  std::vector<double> diurnal;
};

// kinds inference and reasoning with an open Poisson stream: `autoscale` makes `gpus` the
// most the service may hold; it starts with min_replicas and every `interval` asks the
// scheduler for the replicas the coming interval's peak load needs (engine/autoscaled_service.cpp).
struct AutoscaleSpec {
  int min_replicas = 1;
  // Load a replica is sized for, as a share of its saturated throughput (a policy the
  // planner sets, as on a real autoscaler: lower buys latency with accelerators).
  double target_utilization = 0.7;
  Seconds interval{900};  // 15 min: how often replicas are re-sized
  // From a replica group's start (its nodes held and powered) to its first request: the
  // weights loaded onto its GPUs. Absent: the weights on one node read at the loading rate
  // ServerlessLLM measured (engine/autoscaled_service.cpp).
  std::optional<Seconds> startup_time;
};

// kinds inference and reasoning: `disaggregation: {prefill_gpus, prefill_parallelism, prefill_max_batch}`
// splits the service's gpus into a prefill pool (prefill_gpus of them, replicas of the
// prefill parallelism) and a decode pool (the rest, replicas of `parallelism`); each
// prompt's KV cache crosses the fabric between them (models/disaggregation.hpp).
struct DisaggregationSpec {
  int prefill_gpus = 0;
  int prefill_tp = 1, prefill_pp = 1;  // default: the workload's tp and pp
  int prefill_max_batch = 0;           // prompts one prefill replica admits at once; default max_batch
  int prefill_replicas() const { return prefill_gpus / (prefill_tp * prefill_pp); }
  // An open stream with `representatives` = K (0: every replica) is simulated on K decode
  // replicas and the prefill replicas that feed them at their rate (at least K).
  int simulated_decode(int decode_replicas, int representatives) const {
    return representatives > 0 ? std::min(decode_replicas, representatives) : decode_replicas;
  }
  int simulated_prefill(int decode_replicas, int representatives) const {
    if (representatives <= 0) return prefill_replicas();
    const int decode = simulated_decode(decode_replicas, representatives);
    const int feeding = int((static_cast<long long>(decode) * prefill_replicas() + decode_replicas - 1) / decode_replicas);
    return std::min(prefill_replicas(), std::max(representatives, feeding));
  }
};

// kind video-generation: what one request generates (SCENARIO.md's `video` mapping).
struct VideoSpec {
  int width = 0, height = 0, frames = 0, steps = 0;
  bool cfg = true;  // classifier-free guidance: two DiT passes per step (models/video_step.hpp)
  bool image_to_video = false;  // conditioned on a first frame: VAE encode + image cross-attention
};

struct WorkloadSpec {
  std::string name;
  std::string kind;  // "pretrain", "inference", "reasoning" or "synthetic-data" (the kinds simulated so far)
  ModelSpec model;
  int gpus = 0;
  Parallelism parallelism;
  int seq_len = 0;
  int global_batch = 0;  // sequences per step
  int micro_batch = 1;
  Precision precision = Precision::BF16;
  RecomputeMode recompute = RecomputeMode::None;
  TrainingOptions training;  // attention kernel, overlaps, optimizer layout, virtual stages
  double weight_bytes_per_param = 0;  // serving: `weights: int4` gives 0.5; 0: the precision's size
  bool fp4_weights = false;           // serving: `weights: fp4` (NVFP4; needs FP4 tensor cores)
  std::optional<double> tokens;  // stop after this many tokens
  std::optional<Seconds> duration;  // pretrain: stop after holding its accelerators this long
  // pretrain: `checkpoint: {interval}`; an evicted job resumes from its last checkpoint
  // (none: from the start). `preemptible: false` keeps it from being evicted.
  std::optional<Seconds> checkpoint_interval;
  bool checkpoint_auto = false;  // `interval: auto`: Young's optimum from the failure rates
  std::optional<double> checkpoint_bandwidth;  // bytes/s of checkpoint storage (`checkpoint.bandwidth`)
  bool preemptible = true;
  Seconds submit;
  std::optional<std::string> accelerator;  // constrains placement
  std::string tenant = "default";  // who it runs for (quotas, fair share, per-tenant usage)
  int priority = 0;                // higher first under policy: priority
  std::string stream;              // "trace" or the stream's name for a generated job; "" if written out
  // kind: inference. parallelism.tp and .pp describe one replica; parallelism.dp holds
  // the replica count (gpus / (tp x pp)), so parallelism.product() == gpus for every kind.
  RequestStreamSpec requests;
  int max_batch = 0;  // sequences one replica decodes together at most (a request is `samples` sequences)
  KvPolicy kv_policy = KvPolicy::Reserve;  // `kv_policy: reserve | preempt` (models/serving_schedule.hpp)
  // `engine: ideal | pytorch-eager | tensorrt-llm`: the serving stack, and the host time it
  // adds to each decode step (models/serving_engine.hpp); ideal (none) by default.
  ServingEngine engine = ServingEngine::Ideal;
  // kind reasoning: the optional `verifier`; kind synthetic-data: the `filter`. Either way
  // a model resident on the same replicas that scores every sample (a prefill of its
  // prompt + its tokens) after the sample is generated.
  std::optional<ModelSpec> scorer;
  std::optional<AutoscaleSpec> autoscale;  // inference, reasoning: replicas follow the load
  // inference, reasoning: separate prefill and decode pools. parallelism then describes a decode
  // replica and parallelism.dp counts decode replicas ((gpus - prefill_gpus) / (tp x pp)).
  std::optional<DisaggregationSpec> disaggregation;
  double accept_rate = 1.0;    // synthetic-data: share of samples the filter keeps
  double target_tokens = 0;    // synthetic-data: accepted tokens after which the job ends
  // kind video-generation: parallelism.cp holds sp (the Ulysses sequence-parallel ranks
  // of one replica) and parallelism.dp the replicas (gpus / sp).
  VideoSpec video;
  SourceLocation where;

  bool is_inference() const { return kind == "inference"; }
  bool is_reasoning() const { return kind == "reasoning"; }
  bool is_synthetic_data() const { return kind == "synthetic-data"; }
  bool is_video() const { return kind == "video-generation"; }
  int sp() const { return parallelism.cp; }
  // The kinds run by the serving model: replicas of tp x pp, continuous batching.
  bool is_serving() const { return is_inference() || is_reasoning() || is_synthetic_data(); }
  int replicas() const { return parallelism.dp; }
  // Tokens each sample decodes (reasoning: thinking + answer; else the output).
  int tokens_per_sample() const { return requests.thinking_tokens + requests.output_tokens; }
  // KV-cache tokens the largest request reserves: its prompt once plus each sample's own tokens.
  double kv_tokens_per_request() const {
    const int input = requests.input_lengths.fixed() ? requests.input_tokens : requests.input_lengths.largest();
    const int output = requests.output_lengths.fixed() ? requests.output_tokens : requests.output_lengths.largest();
    return double(input) + double(requests.samples) * (requests.thinking_tokens + output);
  }
};

// `cost:`: overrides of the price catalog (catalog/prices.hpp); unset fields take the
// catalog's figure. US dollars, the unit in each key's name.
struct CostSpec {
  std::optional<double> energy_usd_per_kwh;
  std::optional<double> facility_usd_per_w;
  std::optional<double> network_usd_per_port;
  std::optional<double> hardware_years;
  std::optional<double> facility_years;
  std::map<std::string, double> node_usd;  // node type -> USD per node
};

// `failures:` (docs/models/failures.md). Node failures drawn from the failure catalog
// (catalog/failure_rates.hpp) and the scenario seed.
struct FailuresSpec {
  bool enabled = false;
  double rate_scale = 1.0;  // multiplies every catalog rate
  // From a failure to the job training again on its next nodes: detection (under 10 min)
  // plus restart and catch-up (under 15 min), MegaScale's figures (shared/reference/hardware.md).
  Seconds restart_time{1500};
  // A failed node is out of the scheduler's pool (and its SimGrid host off) this long.
  // ASSUMED: no stored source gives a repair time for these fleets.
  Seconds repair_time{86400};
};

struct Scenario {
  std::string name;
  std::uint64_t seed = 1;
  Seconds horizon;
  ClusterSpec cluster;
  SchedulerSpec scheduler;
  FailuresSpec failures;
  std::vector<WorkloadSpec> workloads;
  CostSpec cost;
  std::string source_file;    // the YAML path as given
  std::string resolved_yaml;  // the scenario after --set overrides, for replay
  Seconds timeseries_interval;  // `output.timeseries_interval`, default chosen from the horizon
};

}  // namespace fleetsim
