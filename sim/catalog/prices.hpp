// The price catalog: what nodes, network, facility and energy cost, loaded from
// sim/catalog/data/prices.yaml (embedded into the binary like the rest of the catalog).
// Every figure is an estimate with its source and date beside it in that file; a
// scenario's `cost:` block overrides any of them (scenario/scenario.hpp, CostSpec).
#pragma once

#include <map>
#include <string>

namespace fleetsim {

struct PricedValue {
  double value = 0;
  std::string source;  // citation with its date, or how it was derived
};

struct PriceBook {
  PricedValue energy_usd_per_kwh;    // paid on facility energy
  PricedValue facility_usd_per_w;    // facility capex per watt of IT capacity (node max power)
  PricedValue network_usd_per_port;  // scale-out fabric per node NIC port
  PricedValue hardware_years;        // amortisation of nodes and network
  PricedValue facility_years;        // amortisation of the facility
  std::map<std::string, PricedValue> node_usd;  // node type -> USD per node

  // The price catalog built into the binary.
  static const PriceBook& builtin();
  // Parses a price YAML text (for tests); errors name catalog/prices.yaml, all at once.
  static PriceBook from_yaml(const std::string& prices_yaml);
};

}  // namespace fleetsim
