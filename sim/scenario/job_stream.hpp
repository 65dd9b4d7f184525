// Job streams: many jobs described at once, either by a trace file (CSV, one job per
// row, in the shape of the public GPU-cluster traces; columns in the README) or by a
// synthetic generator (arrival rate, size and duration distributions). Either way each
// job becomes a workload: a copy of the stream's `template` (workload keys of kind
// pretrain) with the row's name, size, submit time, duration or tokens, tenant, priority,
// and optionally accelerator and model filled in, read by the same code as a workload
// written out by hand. Internal to the scenario layer.
#pragma once

#include <functional>
#include <string>

#include "scenario/scenario.hpp"
#include "scenario/yaml_reader.hpp"

namespace fleetsim {

// The most jobs a scenario may generate (each is an actor while queued or running and a
// row of jobs.csv).
inline constexpr long long kMaxStreamJobs = 100000;

// Called with each generated workload (its YAML and its spec, read and checked): the
// loader checks it against the design and adds it to the scenario.
using AddWorkload = std::function<void(const YamlReader&, WorkloadSpec&&)>;

// `trace: {file, template}`; the file is relative to the scenario's folder.
void read_trace(const YamlReader& trace, const std::string& scenario_file, const Catalog& catalog,
                const AddWorkload& add);

// `streams: [{name, rate, jobs, start, gpus, duration, tenant, priority, template}]`,
// arrivals and draws from the scenario's seed; `jobs` caps the count, and arrivals after
// the horizon are not drawn.
void read_streams(const YamlReader& streams, std::uint64_t seed, Seconds horizon, const Catalog& catalog,
                  const AddWorkload& add);

}  // namespace fleetsim
