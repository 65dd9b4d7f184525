// What a run costs: capital (nodes, scale-out network, facility) amortised over the run,
// and energy at facility power, from the price catalog (catalog/prices.hpp) with the
// scenario's `cost:` overrides. The keys it adds to summary.json are documented in
// docs/outputs.md ("Cost").
#pragma once

#include <nlohmann/json.hpp>

#include "catalog/prices.hpp"
#include "engine/results.hpp"

namespace fleetsim {

// The prices a run uses: the catalog's, overridden by the scenario's `cost:` block.
struct RunPrices {
  double energy_usd_per_kwh = 0;
  double facility_usd_per_w = 0;
  double network_usd_per_port = 0;
  double hardware_years = 0;
  double facility_years = 0;
  std::map<std::string, double> node_usd;  // every catalog node type with a price
};

RunPrices resolve_prices(const CostSpec& overrides, const PriceBook& book);

// Adds the cost keys to the summary's cluster object and to each workload entry (the
// entries already hold the kind's own keys: tokens, output_tokens, completed_queries...).
// Nodes are priced by their catalog node type (RunResult::fleet_nodes): on a hand-written
// platform, the type its hosts name or the catalog's with the same accelerator.
void add_cost_keys(const Scenario& scenario, const RunResult& run, const PriceBook& book, nlohmann::ordered_json& cluster,
                   nlohmann::ordered_json& workloads);

}  // namespace fleetsim
