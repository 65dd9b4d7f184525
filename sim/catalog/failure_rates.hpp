// The failure catalog: how often a node's components stop the job running on it, by
// component category, loaded from sim/catalog/data/failures.yaml (embedded into the
// binary like the rest of the catalog). Every rate is derived from one published record
// (the Llama 3 54-day snapshot): rate per node-day = events / (days x nodes); that file
// says how, and how other published figures differ. docs/models/failures.md is the model card.
#pragma once

#include <string>
#include <vector>

namespace fleetsim {

struct FailureComponent {
  std::string name;             // gpu, hbm, software, network, host, nic
  double events = 0;            // count in the record
  bool per_accelerator = false; // true: scales with a node's accelerators; false: per node
  std::string holds;            // the record's causes grouped here
};

struct FailureRates {
  std::string source;
  double record_days = 0;
  double record_nodes = 0;
  int record_accelerators_per_node = 0;
  std::vector<FailureComponent> components;

  // Failures per day of one node holding `accelerators` accelerators, for one component.
  double per_node_day(const FailureComponent& c, int accelerators) const {
    const double base = c.events / (record_days * record_nodes);
    return c.per_accelerator ? base * accelerators / record_accelerators_per_node : base;
  }
  // All components together.
  double per_node_day(int accelerators) const {
    double sum = 0;
    for (const auto& c : components) sum += per_node_day(c, accelerators);
    return sum;
  }

  // The failure catalog built into the binary.
  static const FailureRates& builtin();
  // Parses a failure YAML text (for tests); errors name catalog/failures.yaml, all at once.
  static FailureRates from_yaml(const std::string& failures_yaml);
};

}  // namespace fleetsim
