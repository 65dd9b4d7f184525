// Runs a scenario on SimGrid: builds (or loads) the platform, starts one actor per
// workload, and runs the discrete-event engine until the last job ends or the horizon.
//
// Why these SimGrid choices (measured, see DESIGN.md and sim/platform):
// - A node running a job is switched to its running pstate (host property
//   running_pstate; generated platforms: pstate 1, whose idle and busy wattage are both
//   the node's full-load power), so SimGrid's energy plugin charges it full power with no
//   execution on it. Job durations come from the step models, so executions only ever
//   served to mark nodes busy, and they cost: with one parallel execution per 256 nodes
//   (host model ptask_L07) every SimGrid event re-solved the L07 system over all busy
//   hosts (56 ms per event at 131,072 busy nodes; a 30-day stream of 2,000 jobs on 1M
//   GPUs spent 54% of its 150 s there). With pstates no computation is in SimGrid's
//   solver at all; the only activities are the inter-pod flows of jobs that share
//   uplinks. A platform file without running_pstate falls back to one execution per node.
// - Network model CM02 (no bandwidth or latency correction factors), so a flow alone on
//   its links takes exactly bytes / bandwidth + latency, as the step model assumes.
// - No periodic monitor actor: the time series is recorded at each change of state
//   instead (job submit, start, end, a change of rate under contention), which is exact,
//   and put on the output grid afterwards.
#pragma once

#include "catalog/catalog.hpp"
#include "engine/results.hpp"
#include "platform/topology.hpp"
#include "scenario/scenario.hpp"

namespace fleetsim {

struct SimulationOptions {
  bool show_progress = false;  // on a terminal: simulated time reached and rate, on stderr
};

// Throws InputError for problems only visible once the platform exists (a hand-written
// platform without enough accelerators, or too little memory on its accelerators).
// `topology` is the scenario's design already built (nullptr for a platform file).
RunResult run_simulation(const Scenario& scenario, const Catalog& catalog, const Topology* topology,
                         const SimulationOptions& options);

// What `fleetsim check` learns of a scenario on a hand-written platform file without
// running it: the file is loaded into SimGrid and every workload planned on it, with the
// same checks as `run` (hosts' properties, accelerator counts, memory fit). Throws
// InputError; returns the platform's size for the report.
struct PlatformSize {
  std::size_t pods = 0;
  int nodes = 0;
  int accelerators = 0;
};
PlatformSize check_on_platform_file(const Scenario& scenario, const Catalog& catalog);

}  // namespace fleetsim
