// Loads the failure catalog (failure_rates.hpp, sim/catalog/data/failures.yaml). Like the
// rest of the catalog, every problem is collected with its line and key path and thrown
// at once; the record must say where it comes from.
#include "catalog/failure_rates.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>

#include "core/error.hpp"
#include "catalog/yaml_location.hpp"

namespace fleetsim {

namespace catalog_data {
extern const std::string failures;
}  // namespace catalog_data

namespace {

const char* const kFailuresFile = "catalog/failures.yaml";

SourceLocation where(const YAML::Node& node) { return yaml_location(kFailuresFile, node.Mark()); }

double positive(const YAML::Node& parent, const std::string& key, const std::string& path, ProblemList& problems) {
  const YAML::Node n = parent[key];
  double value = 0;
  bool ok = n && n.IsScalar();
  if (ok) {
    try {
      value = n.as<double>();
    } catch (const YAML::Exception&) {
      ok = false;
    }
  }
  if (!ok || !std::isfinite(value) || value < 0) {
    problems.add(where(n ? n : parent), path + "." + key, "expected a number of at least 0, got " +
                                                              (n && n.IsScalar() ? "'" + n.Scalar() + "'" : "nothing"));
    return 0;
  }
  return value;
}

}  // namespace

const FailureRates& FailureRates::builtin() {
  static const FailureRates rates = from_yaml(catalog_data::failures);
  return rates;
}

FailureRates FailureRates::from_yaml(const std::string& failures_yaml) {
  ProblemList problems;
  FailureRates rates;
  YAML::Node root;
  try {
    root = YAML::Load(failures_yaml);
  } catch (const YAML::Exception& e) {
    problems.add({kFailuresFile, e.mark.line + 1, e.mark.column + 1}, "", "expected YAML, got: " + e.msg);
    problems.throw_if_any();
  }
  const YAML::Node record = root["record"];
  if (!record || !record.IsMap()) {
    problems.add(where(root), "record", "expected the record the rates derive from {source, days, nodes, "
                                        "accelerators_per_node}, got nothing");
  } else {
    if (!record["source"] || !record["source"].IsScalar() || record["source"].Scalar().empty())
      problems.add(where(record), "record.source", "expected the record's source, got nothing");
    else
      rates.source = record["source"].Scalar();
    rates.record_days = positive(record, "days", "record", problems);
    rates.record_nodes = positive(record, "nodes", "record", problems);
    rates.record_accelerators_per_node = int(positive(record, "accelerators_per_node", "record", problems));
    if (rates.record_days <= 0 || rates.record_nodes <= 0 || rates.record_accelerators_per_node <= 0)
      problems.add(where(record), "record", "expected days, nodes and accelerators_per_node above 0");
  }
  const YAML::Node components = root["components"];
  if (!components || !components.IsMap()) {
    problems.add(where(root), "components", "expected a mapping of component categories, got nothing");
  } else {
    for (const auto& entry : components) {
      const std::string name = entry.first.Scalar();
      const std::string path = "components." + name;
      const YAML::Node c = entry.second;
      if (!c.IsMap()) {
        problems.add(where(c), path, "expected {events, per, holds}, got something else");
        continue;
      }
      FailureComponent component;
      component.name = name;
      component.events = positive(c, "events", path, problems);
      const std::string per = c["per"] && c["per"].IsScalar() ? c["per"].Scalar() : "";
      if (per != "node" && per != "accelerator")
        problems.add(where(c), path + ".per", "expected node or accelerator, got '" + per + "'");
      component.per_accelerator = per == "accelerator";
      if (!c["holds"] || !c["holds"].IsScalar() || c["holds"].Scalar().empty())
        problems.add(where(c), path + ".holds", "expected the record's causes grouped here, got nothing");
      else
        component.holds = c["holds"].Scalar();
      rates.components.push_back(std::move(component));
    }
  }
  problems.throw_if_any();
  return rates;
}

}  // namespace fleetsim
