// Writes a run's results: summary.json (the contract of SCENARIO.md), jobs.csv and
// timeseries.csv (columns documented in docs/outputs.md), and the human summary.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "engine/results.hpp"

namespace fleetsim {

nlohmann::ordered_json summary_json(const Scenario& scenario, const RunResult& run);
std::string jobs_csv(const RunResult& run);
std::string timeseries_csv(const RunResult& run);
// One row per node failure (only written when failures are enabled).
std::string failures_csv(const RunResult& run);
// A few lines a planner reads on the terminal.
std::string human_summary(const Scenario& scenario, const RunResult& run);

}  // namespace fleetsim
