// Runs a scenario on SimGrid: builds (or loads) the platform, starts one actor per
// workload, and runs the discrete-event engine until the last job ends or the horizon.
//
// Why these SimGrid choices (measured, see DESIGN.md and sim/platform):
// - Host model ptask_L07, so a job's compute is a few parallel executions spanning its
//   nodes instead of one execution per node. L07 updates a parallel task's constraints
//   recursively, costing O(hosts^2) per task (131,072 hosts in one task: 115 s and a
//   stack overflow), so a segment is split into tasks of at most kHostsPerTask hosts:
//   activities per segment grow with nodes / kHostsPerTask, not with GPUs.
// - One-core hosts with the node's aggregate speed: the energy plugin then draws the
//   node's busy wattage while a segment runs, its idle wattage otherwise.
// - No periodic monitor actor: every SimGrid event re-solves the L07 system over all
//   busy hosts (measured: 56 ms per event at 131,072 busy nodes, so 500 samples cost
//   30 s). The time series is recorded at each change of state instead (job submit,
//   start, end), which is exact, and put on the output grid afterwards.
#pragma once

#include "catalog/catalog.hpp"
#include "engine/results.hpp"
#include "platform/topology.hpp"
#include "scenario/scenario.hpp"

namespace fleetsim {

inline constexpr int kHostsPerTask = 256;

struct SimulationOptions {
  bool show_progress = false;  // on a terminal: simulated time reached and rate, on stderr
};

// Throws InputError for problems only visible once the platform exists (a hand-written
// platform without enough accelerators, or too little memory on its accelerators).
// `topology` is the scenario's design already built (nullptr for a platform file).
RunResult run_simulation(const Scenario& scenario, const Catalog& catalog, const Topology* topology,
                         const SimulationOptions& options);

}  // namespace fleetsim
