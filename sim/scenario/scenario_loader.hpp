// Loads a scenario YAML file into a validated Scenario.
#pragma once

#include <string>
#include <vector>

#include "scenario/scenario.hpp"

namespace fleetsim {

// Parses `path`, applies `overrides` ("workloads.0.parallelism.tp=4", as --set takes
// them) and validates everything against `catalog`. Throws InputError listing every
// problem found, each as FILE:LINE:COL: key.path: expected ..., got ...
Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides, const Catalog& catalog);

// Same, from text already in memory; `file_name` is what errors call the file.
Scenario load_scenario_text(const std::string& text, const std::string& file_name,
                            const std::vector<std::string>& overrides, const Catalog& catalog);

// The accelerators of a workload, and whether its configuration fits their memory.
// Used at load time for designs and again by the engine for hand-written platforms.
TrainingSetup training_setup(const WorkloadSpec& workload, const Accelerator& accelerator);

// The same for an inference workload: one replica's setup, and why it does not fit the
// accelerator's memory (weights, or one request's KV cache), or "" if it fits.
// With a verifier or filter, the replica's setup counts its weights as co-resident.
ServingSetup serving_setup(const WorkloadSpec& workload, const Accelerator& accelerator);
// A disaggregated service's prefill replica: serving_setup with the prefill pool's tp and pp.
ServingSetup prefill_setup(const WorkloadSpec& workload, const Accelerator& accelerator);
// The verifier's (reasoning) or filter's (synthetic-data) setup on the same replica.
ServingSetup scorer_setup(const WorkloadSpec& workload, const Accelerator& accelerator);
// For a video-generation workload, the DiT's weights on each of its accelerators.
std::string inference_fit_problem(const WorkloadSpec& workload, const Accelerator& accelerator);

// An autoscaled service adds and gives back replicas in whole nodes: "" if its replicas
// fill nodes of `per_node` accelerators (tp x pp divides it or is a multiple of it, and
// min_replicas and the most replicas come in whole nodes), else what is expected.
std::string autoscale_fit_problem(const WorkloadSpec& workload, const std::string& accelerator, int per_node);
// One video-generation replica (sp accelerators) on `accelerator`.
VideoSetup video_setup(const WorkloadSpec& workload, const Accelerator& accelerator);

}  // namespace fleetsim
