// Loads the price catalog (see prices.hpp and sim/catalog/data/prices.yaml). Like the
// rest of the catalog, every problem is collected with its line and key path and thrown
// at once; a value without a source is refused.
#include "catalog/prices.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "core/error.hpp"
#include "catalog/yaml_location.hpp"

namespace fleetsim {

namespace catalog_data {
extern const std::string prices;
}  // namespace catalog_data

namespace {

const char* const kPricesFile = "catalog/prices.yaml";

SourceLocation where(const YAML::Node& node) { return yaml_location(kPricesFile, node.Mark()); }

// One `{value, source}` entry; the value at least `minimum` (and above it when strict).
PricedValue read_entry(const YAML::Node& entry, const std::string& path, double minimum, bool strict,
                       ProblemList& problems) {
  PricedValue priced;
  if (!entry.IsMap()) {
    problems.add(where(entry), path, "expected {value: NUMBER, source: \"citation with its date\"}, got something else");
    return priced;
  }
  for (auto it = entry.begin(); it != entry.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (key != "value" && key != "source")
      problems.add(where(it->first), path + "." + key,
                   "expected only value and source, got '" + key + "'" +
                       (closest_match(key, {"value", "source"}).empty()
                            ? ""
                            : " (did you mean '" + closest_match(key, {"value", "source"}) + "'?)"));
  }
  const YAML::Node value = entry["value"];
  const YAML::Node source = entry["source"];
  if (!value || !value.IsScalar()) {
    problems.add(where(entry), path + ".value", "expected a number in US dollars (or years), got nothing");
  } else {
    char* end = nullptr;
    const std::string text = value.Scalar();
    priced.value = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(priced.value) || priced.value < minimum ||
        (strict && priced.value <= minimum))
      problems.add(where(value), path + ".value",
                   std::string("expected a number ") + (strict ? "above " : "of at least ") +
                       std::to_string(int(minimum)) + ", got '" + text + "'");
  }
  if (!source || !source.IsScalar() || source.Scalar().empty())
    problems.add(where(entry), path + ".source", "expected the figure's source and date, got nothing");
  else
    priced.source = source.Scalar();
  return priced;
}

}  // namespace

const PriceBook& PriceBook::builtin() {
  static const PriceBook book = from_yaml(catalog_data::prices);
  return book;
}

PriceBook PriceBook::from_yaml(const std::string& prices_yaml) {
  ProblemList problems;
  PriceBook book;
  YAML::Node root;
  try {
    root = YAML::Load(prices_yaml);
  } catch (const YAML::Exception& e) {
    SourceLocation at{kPricesFile, e.mark.line + 1, e.mark.column + 1};
    problems.add(at, "", "expected valid YAML, got a syntax error: " + e.msg);
    problems.throw_if_any();
  }
  if (!root.IsMap()) {
    problems.add({kPricesFile, 1, 1}, "", "expected a mapping with defaults: and nodes:, got something else");
    problems.throw_if_any();
  }
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (key != "defaults" && key != "nodes")
      problems.add(where(it->first), key, "expected only defaults and nodes at the top level, got '" + key + "'");
  }
  const YAML::Node defaults = root["defaults"];
  if (!defaults || !defaults.IsMap()) {
    problems.add({kPricesFile, 1, 1}, "defaults", "expected a mapping of default prices, got nothing");
  } else {
    const std::vector<std::string> known = {"energy_usd_per_kwh", "facility_usd_per_w", "network_usd_per_port",
                                            "hardware_years", "facility_years"};
    for (auto it = defaults.begin(); it != defaults.end(); ++it) {
      const std::string key = it->first.Scalar();
      bool found = false;
      for (const auto& k : known) found = found || k == key;
      if (!found) {
        const std::string match = closest_match(key, known);
        problems.add(where(it->first), "defaults." + key,
                     "expected one of the default prices, got '" + key + "'" +
                         (match.empty() ? "" : " (did you mean '" + match + "'?)"));
      }
    }
    auto entry = [&](const std::string& key, double minimum, bool strict) {
      const YAML::Node node = defaults[key];
      if (!node) {
        problems.add(where(defaults), "defaults." + key, "expected {value, source}, got nothing (the key is missing)");
        return PricedValue{};
      }
      return read_entry(node, "defaults." + key, minimum, strict, problems);
    };
    book.energy_usd_per_kwh = entry("energy_usd_per_kwh", 0, false);
    book.facility_usd_per_w = entry("facility_usd_per_w", 0, false);
    book.network_usd_per_port = entry("network_usd_per_port", 0, false);
    book.hardware_years = entry("hardware_years", 0, true);
    book.facility_years = entry("facility_years", 0, true);
  }
  const YAML::Node nodes = root["nodes"];
  if (!nodes || !nodes.IsMap()) {
    problems.add({kPricesFile, 1, 1}, "nodes", "expected a mapping of node types to prices, got nothing");
  } else {
    for (auto it = nodes.begin(); it != nodes.end(); ++it) {
      const std::string name = it->first.Scalar();
      book.node_usd[name] = read_entry(it->second, "nodes." + name, 0, false, problems);
    }
  }
  problems.throw_if_any();
  return book;
}

}  // namespace fleetsim
