// fleetsim's command line: the only place that prints to the user and exits.
//   fleetsim run SCENARIO.yaml [--out DIR] [--set KEY.PATH=VALUE ...] [--quiet]
//   fleetsim check SCENARIO.yaml [--set ...]
//   fleetsim platform SCENARIO.yaml -o FILE.xml [--set ...]
//   fleetsim catalog
// Exit codes: 0 success, 2 bad input (one FILE:LINE:COL: key: message line per problem),
// 1 an internal error (a bug).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>

#include "catalog/failure_rates.hpp"
#include "models/power.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "engine/simulation.hpp"
#include "models/parallelism_search.hpp"
#include "platform/host_properties.hpp"
#include "platform/platform_xml.hpp"
#include "report/report.hpp"
#include "scenario/scenario_loader.hpp"

namespace fs = std::filesystem;
using namespace fleetsim;

namespace {

constexpr int kExitBadInput = 2;
constexpr int kExitInternal = 1;

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// Writes every output into a fresh sibling folder, then moves the files into `dir`, so
// an interrupted or failed run never leaves a half-written summary behind.
void write_outputs(const fs::path& dir, const Scenario& scenario, const RunResult& run, const Topology* topology) {
  fs::path staging = dir;
  staging += ".partial-" + std::to_string(::getpid());
  fs::remove_all(staging);
  fs::create_directories(staging);
  write_file(staging / "jobs.csv", jobs_csv(run));
  write_file(staging / "timeseries.csv", timeseries_csv(run));
  if (run.failures_enabled) write_file(staging / "failures.csv", failures_csv(run));
  write_file(staging / "scenario.yaml", scenario.resolved_yaml);
  if (topology) {
    std::ofstream xml(staging / "platform.xml");
    write_platform_xml(*topology, xml);
  } else {
    fs::copy_file(*scenario.cluster.platform_file, staging / "platform.xml");
  }
  write_file(staging / "summary.json", summary_json(scenario, run).dump(2) + "\n");
  fs::create_directories(dir);
  for (const char* name : {"jobs.csv", "timeseries.csv", "scenario.yaml", "platform.xml", "summary.json"})
    fs::rename(staging / name, dir / name);
  if (run.failures_enabled) fs::rename(staging / "failures.csv", dir / "failures.csv");
  else fs::remove(dir / "failures.csv");  // from an earlier run of the same folder
  fs::remove_all(staging);
}

std::string check_report(const Scenario& scenario, const Catalog& catalog) {
  std::ostringstream out;
  out << scenario.source_file << ": scenario '" << scenario.name << "' is valid\n";
  if (scenario.cluster.design) {
    long long nodes = 0, accelerators = 0;
    for (const auto& pod : scenario.cluster.design->pods) {
      nodes += static_cast<long long>(pod.count) * pod.nodes;
      accelerators += static_cast<long long>(pod.count) * pod.nodes * pod.node->accelerators;
      out << "  pods: " << pod.count << " x " << pod.name << " of " << pod.nodes << " " << pod.node->name
          << " nodes (" << pod.node->accelerators << " x " << pod.node->accelerator << " each)\n";
    }
    out << "  cluster: " << nodes << " nodes, " << accelerators << " accelerators\n";
    {
      // Facility power idle and with every node training at full clock (docs/models/power.md),
      // at the highest PUE, against the cap.
      double idle_w = 0, full_w = 0, lowest_w = 0;
      for (const auto& pod : scenario.cluster.design->pods) {
        const NodePowerTable t = node_power_table(*pod.node, *catalog.accelerator(pod.node->accelerator));
        const double n = double(pod.count) * pod.nodes;
        idle_w += n * t.idle_w;
        full_w += n * t.compute_w.front();
        lowest_w += n * t.compute_w.back();
      }
      // The fabric's switch ports and optics draw the same in every state (docs/models/power.md).
      const Topology topology = Topology::from_design(*scenario.cluster.design, catalog);
      double network_w = 0;
      for (const PodInstance& pod : topology.pods()) network_w += host_properties::fabric_watts(topology, pod);
      idle_w += network_w;
      full_w += network_w;
      lowest_w += network_w;
      const auto& f = scenario.cluster.facility;
      const double pue = f.max_pue();
      char line[240];
      std::snprintf(line, sizeof line,
                    "  facility: %s idle, %s with every node training (%s at the lowest DVFS level), at PUE %.3g%s",
                    format_quantity(idle_w * pue, Dimension::Power).c_str(),
                    format_quantity(full_w * pue, Dimension::Power).c_str(),
                    format_quantity(lowest_w * pue, Dimension::Power).c_str(), pue,
                    f.pue_hourly.empty() ? "" : " (the profile's highest)");
      out << line;
      out << " (the fabric's optics " << format_quantity(network_w * pue, Dimension::Power) << " in each)";
      if (f.power_cap) out << "; cap " << format_quantity(f.power_cap->value(), Dimension::Power);
      out << "\n";
    }
    if (scenario.failures.enabled) {
      // What the failure catalog predicts for this design over the horizon.
      double per_day = 0;
      for (const auto& pod : scenario.cluster.design->pods)
        per_day += double(pod.count) * pod.nodes * FailureRates::builtin().per_node_day(pod.node->accelerators);
      per_day *= scenario.failures.rate_scale;
      char line[200];
      std::snprintf(line, sizeof line,
                    "  failures: %.3g a day over the fleet (%.0f expected over the horizon), restart %s, repair %s\n",
                    per_day, per_day * scenario.horizon.value() / 86400.0,
                    format_quantity(scenario.failures.restart_time.value(), Dimension::Duration).c_str(),
                    format_quantity(scenario.failures.repair_time.value(), Dimension::Duration).c_str());
      out << line;
    }
  } else {
    if (scenario.failures.enabled) out << "  failures: enabled (catalog rates per node)\n";
    // Loading the file and planning the workloads on it finds what `run` would refuse.
    const PlatformSize size = check_on_platform_file(scenario, catalog);
    out << "  cluster: platform file " << *scenario.cluster.platform_file << ": " << size.pods << " pods, "
        << size.nodes << " nodes, " << size.accelerators << " accelerators\n";
  }
  out << "  horizon: " << format_quantity(scenario.horizon.value(), Dimension::Duration) << "\n";
  out << "  scheduler: " << scenario.scheduler.policy << ", placement " << scenario.scheduler.placement;
  for (const auto& [name, t] : scenario.scheduler.tenants) {
    out << "; tenant " << name << " share " << t.share;
    if (t.quota) out << " quota " << *t.quota;
  }
  if (scenario.scheduler.fair_share_half_life)
    out << "; fair share decays with a half-life of "
        << format_quantity(scenario.scheduler.fair_share_half_life->value(), Dimension::Duration);
  out << "\n";
  // Jobs of a trace or stream: the first in full as an example, the rest summed up.
  struct StreamSummary {
    int jobs = 0, smallest = 0, largest = 0;
    double first_submit = 0, last_submit = 0;
    std::set<std::string> tenants;
  };
  std::map<std::string, StreamSummary> streams;
  for (const auto& w : scenario.workloads) {
    if (w.stream.empty()) continue;
    StreamSummary& s = streams[w.stream];
    if (s.jobs++ == 0) s.smallest = s.largest = w.gpus, s.first_submit = w.submit.value();
    s.smallest = std::min(s.smallest, w.gpus);
    s.largest = std::max(s.largest, w.gpus);
    s.last_submit = std::max(s.last_submit, w.submit.value());
    s.tenants.insert(w.tenant);
  }
  std::set<std::string> shown;
  for (const auto& w : scenario.workloads) {
    if (!w.stream.empty() && !shown.insert(w.stream).second) continue;
    if (!w.stream.empty()) {
      const StreamSummary& s = streams[w.stream];
      std::string tenants;
      for (const auto& t : s.tenants) tenants += (tenants.empty() ? "" : ", ") + t;
      out << "  " << (w.stream == "trace" ? std::string("trace") : "stream " + w.stream) << ": " << s.jobs
          << " jobs of " << s.smallest << " to " << s.largest << " accelerators, submitted from "
          << format_quantity(s.first_submit, Dimension::Duration) << " to "
          << format_quantity(s.last_submit, Dimension::Duration) << ", tenants " << tenants
          << "; the first, as an example:\n";
    }
    const auto& p = w.parallelism;
    out << "  workload " << w.name << ": " << w.kind << " of " << w.model.name << " on " << w.gpus
        << " accelerators, ";
    if (w.is_video())
      out << w.replicas() << " replicas of sp " << w.sp();
    else if (w.disaggregation)
      out << w.disaggregation->prefill_replicas() << " prefill replicas of tp " << w.disaggregation->prefill_tp << " pp "
          << w.disaggregation->prefill_pp << " on " << w.disaggregation->prefill_gpus << " accelerators and "
          << w.replicas() << " decode replicas of tp " << p.tp << " pp " << p.pp << " on the other "
          << w.gpus - w.disaggregation->prefill_gpus << " (precision " << precision_name(w.precision) << ")";
    else if (w.is_serving())
      out << (w.autoscale ? std::to_string(w.autoscale->min_replicas) + " to " : std::string()) << w.replicas()
          << " replicas of tp " << p.tp << " pp " << p.pp
          << (w.autoscale ? " (autoscaled every " + format_quantity(w.autoscale->interval.value(), Dimension::Duration) +
                                " for " + std::to_string(int(std::lround(w.autoscale->target_utilization * 100))) +
                                "% of a replica's throughput)"
                          : std::string());
    else if (p.automatic)
      out << "parallelism chosen at placement (auto)";
    else
      out << "tp " << p.tp << " pp " << p.pp << " dp " << p.dp << " cp " << p.cp << " ep " << p.ep;
    if (w.accelerator) out << " on " << *w.accelerator;
    out << "\n";
    if (scenario.cluster.design)
      for (const auto& pod : scenario.cluster.design->pods) {
        const Accelerator* acc = catalog.accelerator(pod.node->accelerator);
        if (w.accelerator && *w.accelerator != acc->name) continue;
        char line[200];
        if (w.is_video()) {
          std::snprintf(line, sizeof line, "    per %s: fp32 DiT weights %.1f GB of %.1f GB (replicated over sp %d)\n",
                        acc->name.c_str(), video_weights_per_accelerator(w.model, w.video.image_to_video).value() / 1e9,
                        acc->hbm_capacity.value() / 1e9, w.sp());
          out << line;
          continue;
        }
        if (w.is_serving()) {
          const ServingMemory mem = serving_memory(serving_setup(w, *acc));
          std::snprintf(line, sizeof line,
                        "    per %s: weights %.1f GB of %.1f GB; KV cache %.0f tokens per replica of %d x %d\n",
                        acc->name.c_str(), mem.weights.value() / 1e9, mem.capacity.value() / 1e9, mem.kv_tokens,
                        w.parallelism.tp, w.parallelism.pp);
          out << line;
          if (w.disaggregation) {
            const ServingMemory pre = serving_memory(prefill_setup(w, *acc));
            std::snprintf(line, sizeof line,
                          "    prefill pool: weights %.1f GB; KV cache %.0f tokens per replica of %d x %d; each "
                          "prompt sends %.1f MB of KV cache to the decode pool\n",
                          pre.weights.value() / 1e9, pre.kv_tokens, w.disaggregation->prefill_tp,
                          w.disaggregation->prefill_pp,
                          kv_bytes_per_token(w.model, w.precision).value() * w.requests.input_tokens / 1e6);
            out << line;
          }
          continue;
        }
        TrainingSetup setup = training_setup(w, *acc);
        if (w.parallelism.automatic) {
          // What the search would choose on this pod type, before placement.
          const auto choice = search_parallelism(
              setup, w.gpus, nominal_fabric(*pod.node, pod.nodes * pod.node->accelerators, pod.fabric.oversubscription));
          if (!choice) {
            out << "    on " << acc->name << ": no split that fits\n";
            continue;
          }
          setup = choice->setup;
          const Parallelism& c = setup.parallelism;
          std::snprintf(line, sizeof line,
                        "    auto on %s: tp %d pp %d dp %d cp %d ep %d, micro-batch %d, zero %d over %d ranks, step "
                        "%.3f s (%d of %d candidates fit)\n",
                        acc->name.c_str(), c.tp, c.pp, c.dp, c.cp, c.ep, setup.micro_batch, setup.options.zero_stage,
                        zero_group_size(setup),
                        choice->step.step_time.value(), choice->fitting, choice->candidates);
          out << line;
        }
        const MemoryBreakdown mem = training_memory(setup);
        std::snprintf(line, sizeof line, "    memory per %s: %.1f of %.1f GB (largest: %s)\n", acc->name.c_str(),
                      mem.total().value() / 1e9, mem.capacity.value() / 1e9, mem.largest_term().c_str());
        out << line;
      }
  }
  return out.str();
}

int report_input_error(const InputError& e) {
  for (const auto& problem : e.problems()) std::cerr << problem.to_string() << "\n";
  return kExitBadInput;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fleetsim: GPU-cluster scheduling and capacity-planning simulator"};
  app.require_subcommand(1);

  std::string scenario_path, out_dir, platform_out;
  std::vector<std::string> overrides;
  bool quiet = false;

  auto* run = app.add_subcommand("run", "Simulate a scenario and write results/<name>/");
  run->add_option("scenario", scenario_path, "Scenario YAML file")->required();
  run->add_option("--out", out_dir, "Output folder (default results/<name>/)");
  run->add_option("--set", overrides, "Override a key: --set workloads.0.parallelism.tp=4");
  run->add_flag("--quiet", quiet, "Print nothing but errors");

  auto* check = app.add_subcommand("check", "Validate a scenario and print what would run");
  check->add_option("scenario", scenario_path, "Scenario YAML file")->required();
  check->add_option("--set", overrides, "Override a key");

  auto* platform = app.add_subcommand("platform", "Write the SimGrid platform of a scenario's design");
  platform->add_option("scenario", scenario_path, "Scenario YAML file")->required();
  platform->add_option("-o,--output", platform_out, "Platform XML file to write")->required();
  platform->add_option("--set", overrides, "Override a key");

  app.add_subcommand("catalog", "List accelerators, node types and model presets");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitBadInput;
  }

  try {
    // `check` prints a report on stdout: progress lines would only interleave with it.
    set_log_level(quiet || app.got_subcommand("check") ? spdlog::level::warn : spdlog::level::info);
    const Catalog& catalog = Catalog::builtin();
    if (app.got_subcommand("catalog")) {
      std::cout << catalog.describe();
      return 0;
    }
    const Scenario scenario = load_scenario(scenario_path, overrides, catalog);
    std::optional<Topology> topology;
    if (scenario.cluster.design) topology = Topology::from_design(*scenario.cluster.design);

    if (app.got_subcommand("check")) {
      std::cout << check_report(scenario, catalog);
      return 0;
    }
    if (app.got_subcommand("platform")) {
      if (!topology) {
        std::cerr << scenario_path << ":" << scenario.cluster.where.line << ":" << scenario.cluster.where.column
                  << ": cluster: expected a `design` to generate a platform from, got a platform file already ("
                  << *scenario.cluster.platform_file << ")\n";
        return kExitBadInput;
      }
      std::ofstream out(platform_out);
      if (!out) {
        std::cerr << platform_out << ": cannot write the platform file\n";
        return kExitBadInput;
      }
      write_platform_xml(*topology, out);
      return 0;
    }

    SimulationOptions options;
    options.show_progress = !quiet && ::isatty(STDOUT_FILENO);
    const RunResult result = run_simulation(scenario, catalog, topology ? &*topology : nullptr, options);
    const fs::path dir = out_dir.empty() ? fs::path("results") / scenario.name : fs::path(out_dir);
    write_outputs(dir, scenario, result, topology ? &*topology : nullptr);
    if (!quiet) std::cout << human_summary(scenario, result) << "  results in " << dir.string() << "/\n";
    return 0;
  } catch (const InputError& e) {
    return report_input_error(e);
  } catch (const fs::filesystem_error& e) {
    // The output folder is user input too (--out): a path that cannot be written is not a bug.
    std::cerr << (out_dir.empty() ? std::string("results") : out_dir)
              << ": cannot write the results there: " << e.code().message() << " (" << e.path1().string() << ")\n";
    return kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "fleetsim: internal error: " << e.what() << " (this is a bug; please report it with the scenario)\n";
    return kExitInternal;
  }
}
