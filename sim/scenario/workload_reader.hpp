// Reading one workload of a scenario, per kind (internal to the scenario layer; the
// loader in scenario_loader.cpp reads the rest of the file and calls these).
#pragma once

#include <optional>
#include <string>

#include "scenario/scenario.hpp"
#include "scenario/yaml_reader.hpp"

namespace fleetsim {

// A catalog model name or an inline model mapping under `model`.
std::optional<ModelSpec> read_model(const YamlReader& workload, const Catalog& catalog);

// kind pretrain: model, parallelism (or auto), batch, precision, recompute, training options.
void read_pretrain(const YamlReader& w, WorkloadSpec& spec, const Catalog& catalog);

// kinds inference, reasoning, synthetic-data: model, replicas, requests, scorer.
void read_inference(const YamlReader& w, WorkloadSpec& spec, const Catalog& catalog);

// kind video-generation: a diffusion transformer, sp, video geometry, requests.
void read_video(const YamlReader& w, WorkloadSpec& spec, const Catalog& catalog);

// Refuses request streams that would simulate more requests than one machine holds.
void check_request_volume(const YamlReader& w, const WorkloadSpec& spec, Seconds horizon);

// Why a serving replica of `spec` does not fit on `acc` ("" if it does).
std::string serving_fit_problem(const WorkloadSpec& spec, const Accelerator& acc);
// "" unless the workload asks for FP4 (precision or weights) on an accelerator without it.
std::string fp4_support_problem(const WorkloadSpec& spec, const Accelerator& acc);

}  // namespace fleetsim
