#include "scenario/scenario_loader.hpp"

#include <cmath>
#include <cstdlib>
#include <cassert>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "models/parallelism_search.hpp"
#include "scenario/job_stream.hpp"
#include "scenario/workload_reader.hpp"
#include "scenario/yaml_reader.hpp"

namespace fleetsim {
namespace {

const std::vector<std::string> kAllKinds = {"pretrain", "inference", "reasoning", "synthetic-data",
                                            "video-generation"};

// Default pod-to-core latency when the scenario gives none: the value of SCENARIO.md's
// example (two to three switch hops and cable across a site).
constexpr double kDefaultInterconnectLatencySeconds = 5e-6;

// Bounds that keep a run on one machine: the largest design (measured: about 4.5 KB of
// SimGrid platform per node, so 1M nodes is about 4.7 GB) and the longest time series.
constexpr long long kMaxDesignNodes = 1048576;
constexpr double kMaxTimeseriesRows = 1e6;
// The largest PUE accepted: at 5 the building takes 80% of the power; the industry average
// is 1.58 (Uptime Institute, via ../shared/reference/calibration.yaml facility.google_pue_2023),
// so anything above is a typo, not a facility (1e308 made facility power infinite).
constexpr double kMaxPue = 5.0;

// ---- --set KEY.PATH=VALUE ---------------------------------------------------------

// Where a node of the scenario file is (1-based), for --set problems about it; the file
// itself (line 0) for a node --set made.
SourceLocation location_of(const YAML::Node& node, const std::string& file) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return {file, 0, 0};
  return {file, mark.line + 1, mark.column + 1};
}

void apply_override(YAML::Node& root, const std::string& assignment, const std::string& file,
                    ReaderContext& context) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    context.problems->add({file, 0, 0}, "--set", "expected KEY.PATH=VALUE, got '" + assignment + "'");
    return;
  }
  const std::string path = assignment.substr(0, eq);
  YAML::Node value;
  try {
    value = YAML::Load(assignment.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    context.problems->add({file, 0, 0}, path, "--set value is not valid YAML: " + e.msg);
    return;
  }
  std::vector<std::string> parts;
  std::stringstream stream(path);
  for (std::string part; std::getline(stream, part, '.');) parts.push_back(part);

  // Walk with a chain of nodes: yaml-cpp's operator= on a Node would rebind, not descend.
  std::vector<YAML::Node> chain{root};
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node current = chain.back();
    const std::string& part = parts[i];
    const bool is_index = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    if (current.IsSequence()) {
      if (!is_index || std::stoul(part) >= current.size()) {
        context.problems->add(location_of(current, file), path,
                              "--set: '" + part + "' is not an index of the list (0.." +
                                  std::to_string(current.size() == 0 ? 0 : current.size() - 1) + ")");
        return;
      }
      chain.push_back(current[std::stoul(part)]);
    } else if (current.IsScalar()) {
      break;  // reported below, with where the value is
    } else {
      if (!current[part]) current[part] = YAML::Node(YAML::NodeType::Map);
      chain.push_back(current[part]);
    }
  }
  YAML::Node parent = chain.back();
  if (parent.IsScalar() && chain.size() >= 2) {
    // A value where --set needs a mapping to go into: `model: llama3-8b` and
    // `--set workloads.0.model.dropout=false`, say.
    std::string at;
    for (std::size_t i = 0; i + 1 < chain.size(); ++i) at += (at.empty() ? "" : ".") + parts[i];
    context.problems->add(location_of(parent, file), path,
                          "--set: expected a mapping at " + at + " to set '" + parts[chain.size() - 1] +
                              "' in, got the value '" + parent.Scalar() + "'" +
                              (parts[chain.size() - 2] == "model"
                                   ? " (a catalog preset: write the model inline to change its fields)"
                                   : ""));
    return;
  }
  const std::string& last = parts.back();
  if (parent.IsSequence()) {
    const bool is_index = last.find_first_not_of("0123456789") == std::string::npos;
    if (!is_index || std::stoul(last) >= parent.size()) {
      context.problems->add(location_of(parent, file), path,
                            "--set: '" + last + "' is not an index of the list (0.." +
                                std::to_string(parent.size() == 0 ? 0 : parent.size() - 1) + ")");
      return;
    }
    parent[std::stoul(last)] = value;
  } else {
    parent[last] = value;
  }
  context.overridden.insert(path);
}

std::optional<ClusterDesign> read_design(const YamlReader& d, const Catalog& catalog) {
  if (!d.expect_map({"pods", "interconnect"})) return std::nullopt;
  ClusterDesign design;
  YamlReader pods = d.child("pods");
  if (!d.has("pods")) {
    d.problem_at("pods", "expected a list of pods, got nothing");
    return std::nullopt;
  }
  if (!pods.expect_sequence()) return std::nullopt;
  if (pods.node().size() == 0) pods.problem("expected at least one pod, got an empty list");
  std::set<std::string> names;
  bool ok = true;
  for (std::size_t i = 0; i < pods.node().size(); ++i) {
    YamlReader pod = pods.element(i);
    if (!pod.expect_map({"name", "count", "nodes", "node", "fabric"})) {
      ok = false;
      continue;
    }
    PodSpec spec;
    spec.where = pod.location();
    auto name = pod.string("name", true);
    auto count = pod.integer("count", 1, false);
    auto nodes = pod.integer("nodes", 1, true);
    auto node = pod.string("node", true);
    if (name && !names.insert(*name).second) pod.problem_at("name", "expected a unique pod name, got '" + *name + "' again");
    if (node && !catalog.node_type(*node)) {
      std::string message = "expected a node type from the catalog, got '" + *node + "'";
      const std::string close = closest_match(*node, catalog.node_type_names());
      if (!close.empty()) message += "; did you mean '" + close + "'?";
      pod.problem_at("node", message);
      node.reset();
    }
    if (pod.has("fabric")) {
      YamlReader fabric = pod.child("fabric");
      if (fabric.expect_map({"topology", "oversubscription", "nodes_per_leaf"})) {
        spec.fabric.topology = fabric.choice("topology", {"fat-tree"}, false).value_or("fat-tree");
        spec.fabric.oversubscription = fabric.number("oversubscription", 1, false).value_or(1);
        spec.fabric.nodes_per_leaf = int(fabric.integer("nodes_per_leaf", 1, false).value_or(32));
      }
    }
    if (!name || !nodes || !node) {
      ok = false;
      continue;
    }
    spec.name = *name;
    spec.count = int(count.value_or(1));
    spec.nodes = int(*nodes);
    spec.node = catalog.node_type(*node);
    design.pods.push_back(spec);
  }
  design.interconnect.latency = Seconds(kDefaultInterconnectLatencySeconds);
  if (d.has("interconnect")) {
    YamlReader ic = d.child("interconnect");
    if (ic.expect_map({"bandwidth_per_pod", "latency"})) {
      design.interconnect.bandwidth_per_pod =
          ByteRate(ic.quantity("bandwidth_per_pod", Dimension::Bandwidth, true, false).value_or(0));
      design.interconnect.latency =
          Seconds(ic.quantity("latency", Dimension::Duration, false, false).value_or(kDefaultInterconnectLatencySeconds));
    }
  }
  if (!ok) return std::nullopt;
  long long nodes = 0;
  for (const auto& pod : design.pods) nodes += static_cast<long long>(pod.count) * pod.nodes;
  if (nodes > kMaxDesignNodes) {
    pods.problem("expected at most " + std::to_string(kMaxDesignNodes) + " nodes in all (8M GPUs in 8-GPU nodes; " +
                 "the SimGrid platform takes about 4.5 KB per node), got " + std::to_string(nodes));
    return std::nullopt;
  }
  return design;
}

// Accelerators a design offers, per accelerator name.
std::map<std::string, long long> design_accelerators(const ClusterDesign& design) {
  std::map<std::string, long long> out;
  for (const auto& pod : design.pods)
    out[pod.node->accelerator] += static_cast<long long>(pod.count) * pod.nodes * pod.node->accelerators;
  return out;
}

void check_against_design(const YamlReader& w, const WorkloadSpec& spec, const ClusterDesign& design,
                          const Catalog& catalog) {
  const auto offered = design_accelerators(design);
  long long total = 0;
  for (const auto& [_, n] : offered) total += n;
  std::vector<std::string> candidates;
  for (const auto& [name, n] : offered)
    if ((!spec.accelerator || *spec.accelerator == name) && n >= spec.gpus) candidates.push_back(name);
  if (candidates.empty()) {
    std::string where = spec.accelerator ? " of type " + *spec.accelerator : "";
    long long have = spec.accelerator ? (offered.count(*spec.accelerator) ? offered.at(*spec.accelerator) : 0) : 0;
    if (!spec.accelerator) for (const auto& [_, n] : offered) have = std::max(have, n);
    w.problem_at("gpus", "expected at most the cluster's " + std::to_string(have) + " accelerators" + where +
                             " (" + std::to_string(total) + " in all), got " + std::to_string(spec.gpus));
    return;
  }
  // Memory: the workload must fit on at least one accelerator type that can hold it.
  std::string why;
  if (spec.is_video()) {
    for (const auto& name : candidates) {
      why = video_fit_problem(video_setup(spec, *catalog.accelerator(name)));
      if (why.empty()) return;
    }
    w.problem_at("parallelism", "expected a replica that fits in accelerator memory, but it " + why);
    return;
  }
  if (spec.is_serving()) {
    // FP4 compute or weights: only accelerators with FP4 tensor cores may serve it.
    if (spec.precision == Precision::FP4 || spec.fp4_weights) {
      std::vector<std::string> with_fp4;
      for (const auto& name : candidates)
        if (catalog.accelerator(name)->supports(Precision::FP4)) with_fp4.push_back(name);
      if (with_fp4.empty()) {
        std::string offered_names;
        for (const auto& name : candidates) offered_names += (offered_names.empty() ? "" : ", ") + name;
        w.problem_at(spec.fp4_weights && spec.precision != Precision::FP4 ? "weights" : "precision",
                     "expected an accelerator with FP4 tensor cores (peak_fp4 in the catalog: B200, GB200) for "
                     "fp4, got " + offered_names + ", which " + (candidates.size() > 1 ? "have" : "has") + " none");
        return;
      }
      candidates = with_fp4;
    }
    // An autoscaled service: on a pod whose nodes its replicas fill.
    std::string packing;
    for (const auto& pod : design.pods) {
      if (std::find(candidates.begin(), candidates.end(), pod.node->accelerator) == candidates.end()) continue;
      packing = autoscale_fit_problem(spec, pod.node->accelerator, pod.node->accelerators);
      if (packing.empty()) break;
    }
    if (!packing.empty()) {
      w.problem_at("autoscale", packing);
      return;
    }
    for (const auto& name : candidates) {
      why = serving_fit_problem(spec, *catalog.accelerator(name));
      if (why.empty()) return;
    }
    w.problem_at("parallelism", "expected a replica that fits in accelerator memory, but it " + why);
    return;
  }
  // fp8_recipe names a Transformer Engine recipe: NVIDIA GPUs only, and MXFP8 needs Blackwell's
  // block-scaled tensor cores (TE's MXFP8BlockScaling; the catalog's Blackwell parts are those
  // with FP4 tensor cores). Said at the key, before any memory question.
  if (spec.precision == Precision::FP8 && w.has("fp8_recipe")) {
    const bool mxfp8 = spec.training.fp8_recipe == Fp8Recipe::Mxfp8;
    std::vector<std::string> able;
    std::string offered_names;
    for (const auto& name : candidates) {
      const Accelerator* acc = catalog.accelerator(name);
      offered_names += (offered_names.empty() ? "" : ", ") + name;
      if (acc->vendor == "NVIDIA" && (!mxfp8 || acc->supports(Precision::FP4))) able.push_back(name);
    }
    if (able.empty()) {
      w.problem_at("fp8_recipe", std::string("expected ") +
                                     (mxfp8 ? "an NVIDIA GPU with MXFP8 tensor cores (Blackwell: B200, GB200)"
                                            : "an NVIDIA GPU (fp8_recipe names a Transformer Engine recipe; other "
                                              "accelerators' FP8 paths have no such key)") +
                                     ", got " + offered_names);
      return;
    }
    candidates = able;
  }
  for (const auto& name : candidates) {
    const Accelerator* acc = catalog.accelerator(name);
    if (spec.precision == Precision::FP8 && acc->peak_fp8.value() <= 0) {
      why = name + " has no FP8 support";
      continue;
    }
    if (spec.parallelism.automatic) {
      for (const auto& pod : design.pods) {
        if (pod.node->accelerator != name) continue;
        const FabricView fabric = nominal_fabric(*pod.node, pod.nodes * pod.node->accelerators, pod.fabric.oversubscription);
        if (search_parallelism(training_setup(spec, *acc), spec.gpus, fabric)) return;
      }
      why = "has no TP/PP/DP/CP split, micro-batch and recompute mode that fits on " + name;
      continue;
    }
    const MemoryBreakdown mem = training_memory(training_setup(spec, *acc));
    if (mem.fits()) return;
    char text[256];
    std::snprintf(text, sizeof text, "needs %.1f GB per accelerator on %s, which has %.1f GB; largest term: %s",
                  mem.total().value() / 1e9, name.c_str(), mem.capacity.value() / 1e9, mem.largest_term().c_str());
    why = text;
  }
  w.problem_at("parallelism", "expected a configuration that fits in accelerator memory, but it " + why +
                                  " (raise tp/pp, use recompute, a smaller micro_batch, or shard over dp with zero: 2 or 3)");
}

}  // namespace

std::string autoscale_fit_problem(const WorkloadSpec& w, const std::string& accelerator, int per_node) {
  if (!w.autoscale) return "";
  const int per_replica = w.parallelism.tp * w.parallelism.pp;
  const int step = per_replica < per_node ? per_node / per_replica : 1;
  const bool packs = per_replica < per_node ? per_node % per_replica == 0 : per_replica % per_node == 0;
  if (packs && w.autoscale->min_replicas % step == 0 && w.replicas() % step == 0) return "";
  return "expected replicas that fill whole nodes of " + accelerator + " (" + std::to_string(per_node) +
         " per node): tp x pp (" + std::to_string(per_replica) + ") dividing or divided by " +
         std::to_string(per_node) +
         (packs ? ", and min_replicas and gpus / (tp x pp) multiples of " + std::to_string(step) : std::string()) +
         ", got min_replicas " + std::to_string(w.autoscale->min_replicas) + " of at most " +
         std::to_string(w.replicas());
}

ServingSetup serving_setup(const WorkloadSpec& w, const Accelerator& accelerator) {
  ServingSetup s;
  s.model = &w.model;
  s.accelerator = &accelerator;
  s.tp = w.parallelism.tp;
  s.pp = w.parallelism.pp;
  s.precision = w.precision;
  s.weight_bytes_per_param = w.weight_bytes_per_param;
  s.engine = w.engine;
  if (w.scorer) s.co_resident_weights = serving_memory(scorer_setup(w, accelerator)).weights;
  return s;
}

ServingSetup prefill_setup(const WorkloadSpec& w, const Accelerator& accelerator) {
  assert(w.disaggregation && "only for disaggregated services");
  ServingSetup s = serving_setup(w, accelerator);
  s.tp = w.disaggregation->prefill_tp;
  s.pp = w.disaggregation->prefill_pp;
  s.co_resident_weights = Bytes(0);  // a verifier lives on the decode replicas
  return s;
}

ServingSetup scorer_setup(const WorkloadSpec& w, const Accelerator& accelerator) {
  assert(w.scorer && "only for workloads with a verifier or filter");
  ServingSetup s;
  s.model = &*w.scorer;
  s.accelerator = &accelerator;
  s.tp = w.parallelism.tp;
  s.pp = w.parallelism.pp;
  s.precision = w.precision;
  s.engine = w.engine;
  return s;
}

VideoSetup video_setup(const WorkloadSpec& w, const Accelerator& accelerator) {
  VideoSetup s;
  s.model = &w.model;
  s.accelerator = &accelerator;
  s.sp = w.sp();
  s.width = w.video.width;
  s.height = w.video.height;
  s.frames = w.video.frames;
  s.steps = w.video.steps;
  s.cfg = w.video.cfg;
  s.image_to_video = w.video.image_to_video;
  return s;
}

std::string inference_fit_problem(const WorkloadSpec& w, const Accelerator& accelerator) {
  if (w.is_video()) return video_fit_problem(video_setup(w, accelerator));
  return serving_fit_problem(w, accelerator);
}

TrainingSetup training_setup(const WorkloadSpec& w, const Accelerator& accelerator) {
  TrainingSetup s;
  s.model = &w.model;
  s.accelerator = &accelerator;
  s.parallelism = w.parallelism;
  s.seq_len = w.seq_len;
  s.global_batch = w.global_batch;
  s.micro_batch = w.micro_batch;
  s.precision = w.precision;
  s.recompute = w.recompute;
  s.options = w.training;
  return s;
}

Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides, const Catalog& catalog) {
  std::ifstream in(path);
  if (!in) throw InputError(Problem{{path, 0, 0}, "", "cannot read the scenario file"});
  std::stringstream text;
  text << in.rdbuf();
  return load_scenario_text(text.str(), path, overrides, catalog);
}

Scenario load_scenario_text(const std::string& text, const std::string& file_name,
                            const std::vector<std::string>& overrides, const Catalog& catalog) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw InputError(Problem{{file_name, e.mark.line + 1, e.mark.column + 1}, "", "malformed YAML: " + e.msg});
  }
  ProblemList problems;
  ReaderContext context{file_name, &problems, {}, std::nullopt};
  if (!root.IsMap()) {
    problems.add({file_name, 1, 1}, "", "expected a scenario mapping (name, horizon, cluster, workloads), got " +
                                            describe_yaml(root));
    problems.throw_if_any();
  }
  for (const auto& assignment : overrides) apply_override(root, assignment, file_name, context);
  problems.throw_if_any();

  Scenario scenario;
  scenario.source_file = file_name;
  YAML::Emitter emitter;
  emitter << root;
  scenario.resolved_yaml = std::string(emitter.c_str()) + "\n";

  YamlReader top(root, "", &context);
  top.expect_map({"name", "seed", "horizon", "cluster", "scheduler", "failures", "workloads", "trace", "streams",
                  "output", "cost"});
  scenario.name = top.string("name", true).value_or("");
  if (!scenario.name.empty() && scenario.name.find_first_of("/\\") != std::string::npos)
    top.problem_at("name", "expected a name without slashes (it names the results folder), got '" + scenario.name + "'");
  scenario.seed = static_cast<std::uint64_t>(top.integer("seed", 0, false).value_or(1));
  scenario.horizon = Seconds(top.quantity("horizon", Dimension::Duration, true, true).value_or(0));

  // Time-series interval: by default about 500 rows over the horizon, never under 1 s.
  scenario.timeseries_interval = Seconds(std::max(1.0, scenario.horizon.value() / 500.0));
  if (top.has("output")) {
    YamlReader output = top.child("output");
    if (output.expect_map({"timeseries_interval"}))
      if (auto interval = output.quantity("timeseries_interval", Dimension::Duration, true, false))
        scenario.timeseries_interval = Seconds(*interval);
  if (scenario.horizon.value() / scenario.timeseries_interval.value() > kMaxTimeseriesRows)
    top.problem_at("output", "expected at most " + std::to_string(long(kMaxTimeseriesRows)) +
                                 " time-series rows over the horizon; raise output.timeseries_interval");
  }

  // cluster
  if (!top.has("cluster")) top.problem_at("cluster", "expected a cluster with a design or a platform, got nothing");
  YamlReader cluster = top.child("cluster");
  if (top.has("cluster") && cluster.expect_map({"platform", "design", "facility"})) {
    scenario.cluster.where = cluster.location();
    const bool has_platform = cluster.has("platform"), has_design = cluster.has("design");
    if (has_platform == has_design)
      cluster.problem("expected exactly one of `platform` (a SimGrid platform file) or `design`, got " +
                      std::string(has_platform ? "both" : "neither"));
    if (has_platform) {
      if (auto platform = cluster.string("platform", true)) {
        std::filesystem::path p(*platform);
        if (p.is_relative()) p = std::filesystem::path(file_name).parent_path() / p;
        if (!std::filesystem::exists(p))
          cluster.problem_at("platform", "expected a SimGrid platform file, but '" + p.string() + "' does not exist");
        scenario.cluster.platform_file = p.string();
      }
    }
    if (has_design) scenario.cluster.design = read_design(cluster.child("design"), catalog);
    if (cluster.has("facility")) {
      YamlReader facility = cluster.child("facility");
      if (facility.expect_map({"pue", "power_cap", "swing_window"})) {
        FacilitySpec& f = scenario.cluster.facility;
        if (facility.has("pue") && facility.child("pue").node().IsSequence()) {
          // An hourly profile: 24 numbers of at least 1, hour 0 first.
          YamlReader profile = facility.child("pue");
          if (profile.node().size() != 24)
            profile.problem("expected 24 hourly PUE values (hour 0 first) or one number, got a list of " +
                            std::to_string(profile.node().size()));
          for (std::size_t h = 0; h < profile.node().size(); ++h) {
            YamlReader v = profile.element(h);
            const std::string value_text = v.node().IsScalar() ? v.node().Scalar() : std::string();
            char* end = nullptr;
            const double value = std::strtod(value_text.c_str(), &end);
            if (!v.node().IsScalar() || value_text.empty() || *end != '\0' || !std::isfinite(value) || value < 1.0 ||
                value > kMaxPue)
              v.problem("expected a number from 1 to 5 (a PUE), got " +
                        (v.node().IsScalar() ? "'" + value_text + "'" : std::string("a ") +
                                                                        (v.node().IsSequence() ? "list" : "mapping")));
            else
              f.pue_hourly.push_back(value);
          }
          if (f.pue_hourly.size() != 24) f.pue_hourly.clear();
        } else {
          f.pue = facility.number("pue", 1.0, false).value_or(1.0);
          if (f.pue > kMaxPue) {
            facility.problem_at("pue", "expected a PUE from 1 to 5, got " + facility.child("pue").node().Scalar());
            f.pue = 1.0;
          }
        }
        if (auto cap = facility.quantity("power_cap", Dimension::Power, true, false)) {
          f.power_cap = Watts(*cap);
          f.power_cap_where = facility.location_of("power_cap");
        }
        if (auto window = facility.quantity("swing_window", Dimension::Duration, true, false))
          f.swing_window = Seconds(*window);
      }
    }
  }

  // cost: overrides of the price catalog
  if (top.has("cost")) {
    YamlReader c = top.child("cost");
    if (c.expect_map({"energy_usd_per_kwh", "facility_usd_per_w", "network_usd_per_port", "hardware_years",
                      "facility_years", "nodes"})) {
      scenario.cost.energy_usd_per_kwh = c.number("energy_usd_per_kwh", 0, false);
      scenario.cost.facility_usd_per_w = c.number("facility_usd_per_w", 0, false);
      scenario.cost.network_usd_per_port = c.number("network_usd_per_port", 0, false);
      for (const char* key : {"hardware_years", "facility_years"}) {
        auto years = c.number(key, 0, false);
        if (years && *years <= 0) {
          c.problem_at(key, "expected a number of years above 0, got 0");
          years.reset();
        }
        (std::string(key) == "hardware_years" ? scenario.cost.hardware_years : scenario.cost.facility_years) = years;
      }
      if (c.has("nodes")) {
        YamlReader nodes = c.child("nodes");
        if (nodes.expect_map(catalog.node_type_names()))
          for (const auto& entry : nodes.node()) {
            const std::string name = entry.first.Scalar();
            if (!catalog.node_type(name)) continue;  // reported by expect_map
            if (auto usd = nodes.number(name, 0, false)) scenario.cost.node_usd[name] = *usd;
          }
      }
    }
  }

  // scheduler
  if (top.has("scheduler")) {
    YamlReader s = top.child("scheduler");
    if (s.expect_map({"policy", "placement", "preemption", "tenants", "fair_share_half_life"})) {
      scenario.scheduler.policy = s.choice("policy", {"fifo", "easy-backfill", "priority"}, false).value_or("fifo");
      scenario.scheduler.placement =
          s.choice("placement", {"packed", "spread", "topology-aware"}, false).value_or("topology-aware");
      scenario.scheduler.preemption = s.boolean("preemption", false).value_or(false);
      if (scenario.scheduler.preemption && scenario.scheduler.policy != "priority")
        s.problem_at("preemption", "expected preemption only with policy: priority (a job evicts lower-priority "
                                   "ones), got policy " + scenario.scheduler.policy);
      if (auto half_life = s.quantity("fair_share_half_life", Dimension::Duration, true, false)) {
        scenario.scheduler.fair_share_half_life = Seconds(*half_life);
        if (scenario.scheduler.policy != "priority")
          s.problem_at("fair_share_half_life", "expected fair_share_half_life only with policy: priority (the only "
                                               "policy that orders by fair share), got policy " +
                                                   scenario.scheduler.policy);
      }
      if (s.has("tenants")) {
        YamlReader tenants = s.child("tenants");
        if (!tenants.node().IsMap()) tenants.problem("expected a mapping of tenant names to {share, quota}, got " +
                                                     describe_yaml(tenants.node()));
        else
          for (const auto& entry : tenants.node()) {
            const std::string name = entry.first.Scalar();
            YamlReader t = tenants.child(name);
            if (!t.expect_map({"share", "quota"})) continue;
            TenantSpec spec;
            spec.share = t.number("share", 0, false).value_or(1.0);
            if (spec.share <= 0) t.problem_at("share", "expected a fair-share weight above 0, got 0");
            if (auto quota = t.integer("quota", 1, false)) spec.quota = int(*quota);
            scenario.scheduler.tenants[name] = spec;
          }
      }
    }
  }

  // failures
  if (top.has("failures")) {
    YamlReader f = top.child("failures");
    if (f.expect_map({"enabled", "rate_scale", "restart_time", "repair_time"})) {
      FailuresSpec& spec = scenario.failures;
      spec.enabled = f.boolean("enabled", false).value_or(false);
      spec.rate_scale = f.number("rate_scale", 0, false).value_or(1.0);
      if (auto t = f.quantity("restart_time", Dimension::Duration, false, false)) spec.restart_time = Seconds(*t);
      if (auto t = f.quantity("repair_time", Dimension::Duration, false, false)) spec.repair_time = Seconds(*t);
    }
  }

  // workloads
  const bool has_stream = top.has("trace") || top.has("streams");
  if (!top.has("workloads") && !has_stream)
    top.problem_at("workloads", "expected a list of workloads (or a trace or streams of jobs), got nothing");
  YamlReader workloads = top.child("workloads");
  std::set<std::string> names;
  if (top.has("workloads") && workloads.expect_sequence()) {
    if (workloads.node().size() == 0 && !has_stream)
      workloads.problem("expected at least one workload, got an empty list");
    for (std::size_t i = 0; i < workloads.node().size(); ++i) {
      YamlReader w = workloads.element(i);
      if (!w.node().IsMap()) {
        w.problem("expected a workload mapping, got " + describe_yaml(w.node()));
        continue;
      }
      WorkloadSpec spec;
      spec.where = w.location();
      spec.name = w.string("name", true).value_or("");
      if (!spec.name.empty() && !names.insert(spec.name).second)
        w.problem_at("name", "expected a unique workload name, got '" + spec.name + "' again");
      auto kind = w.choice("kind", kAllKinds, true);
      if (!kind) continue;
      spec.kind = *kind;
      const std::size_t before = problems.empty() ? 0 : 1;
      if (spec.is_video()) {
        read_video(w, spec, catalog);
        check_request_volume(w, spec, scenario.horizon);
      } else if (spec.is_serving()) {
        read_inference(w, spec, catalog);
        check_request_volume(w, spec, scenario.horizon);
      } else {
        read_pretrain(w, spec, catalog);
      }
      if (before == 0 && problems.empty() && scenario.cluster.design && spec.gpus > 0)
        check_against_design(w, spec, *scenario.cluster.design, catalog);
      scenario.workloads.push_back(std::move(spec));
    }
  }
  // Job streams: each job read like a workload, checked against the design, added.
  const AddWorkload add = [&](const YamlReader& w, WorkloadSpec&& spec) {
    if (!names.insert(spec.name).second)
      w.problem_at("name", "expected a unique workload name, got '" + spec.name + "' again");
    if (problems.empty() && scenario.cluster.design && spec.gpus > 0)
      check_against_design(w, spec, *scenario.cluster.design, catalog);
    scenario.workloads.push_back(std::move(spec));
  };
  if (top.has("trace") && problems.empty()) read_trace(top.child("trace"), file_name, catalog, add);
  if (top.has("streams") && problems.empty())
    read_streams(top.child("streams"), scenario.seed, scenario.horizon, catalog, add);
  if (problems.empty() && scenario.workloads.empty())
    top.problem_at("workloads", "expected at least one job, got none (the streams drew no arrival before the horizon)");

  // `checkpoint: {interval: auto}` takes the job's MTBF from the failure rates.
  for (std::size_t i = 0; i < scenario.workloads.size(); ++i)
    if (scenario.workloads[i].checkpoint_auto && !scenario.failures.enabled)
      problems.add(scenario.workloads[i].where, "workloads." + std::to_string(i) + ".checkpoint.interval",
                   "expected a duration (for example 30min), or auto with failures: {enabled: true} (auto takes "
                   "the job's mean time between failures from the failure rates), got auto without failures");

  // A job larger than its tenant's quota could never start (an autoscaled service: its
  // first replicas; the quota then caps how far it grows).
  for (std::size_t i = 0; i < scenario.workloads.size(); ++i) {
    const WorkloadSpec& w = scenario.workloads[i];
    auto t = scenario.scheduler.tenants.find(w.tenant);
    const int first = w.autoscale ? w.autoscale->min_replicas * w.parallelism.tp * w.parallelism.pp : w.gpus;
    if (t != scenario.scheduler.tenants.end() && t->second.quota && *t->second.quota < first)
      problems.add(w.where, "workloads." + std::to_string(i) + (w.autoscale ? ".autoscale.min_replicas" : ".gpus"),
                   "expected at most tenant '" + w.tenant + "''s quota of " + std::to_string(*t->second.quota) +
                       " accelerators" + (w.autoscale ? " for its first replicas" : "") + ", got " +
                       std::to_string(first));
  }
  if (scenario.cluster.design) {
    scenario.cluster.design->dvfs_pstates = scenario.cluster.facility.power_cap.has_value();
    scenario.cluster.design->decode_pstates =
        std::any_of(scenario.workloads.begin(), scenario.workloads.end(),
                    [](const WorkloadSpec& w) { return w.is_serving() || w.is_synthetic_data(); });
  }
  problems.throw_if_any();
  return scenario;
}

}  // namespace fleetsim
