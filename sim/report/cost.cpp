// Cost model.
//
//   capex            = sum over node types t of n_t x (node_usd_t + nics_t x network_usd_per_port)
//                      + sum_t n_t x max_power_t x facility_usd_per_w
//   amortised / hour = hardware capex / (hardware_years x 8760 h) + facility capex / (facility_years x 8760 h)
//   energy opex      = facility energy (IT energy x PUE) in kWh x energy_usd_per_kwh
//   cost of the run  = amortised / hour x simulated hours + energy opex
//
// A workload pays for the accelerator-hours it held, at the amortised capex per
// accelerator-hour of the node type it ran on, plus the energy of its nodes while it held
// them (x PUE). Idle capacity and idle power are the cluster's, not any workload's, so
// the workloads' costs add up to less than the cluster's; the gap is what idle capacity
// costs.
//
// Assumptions: straight-line amortisation with no residual value, no cost of capital,
// no staff, maintenance, software or land; the facility is sized to every node's
// catalog maximum power (no oversubscription of power); network priced per node NIC port
// whatever its speed. Every price is an estimate (sim/catalog/data/prices.yaml gives the
// sources and dates), so these are figures for comparing designs, not quotes.
#include "report/cost.hpp"

#include <map>
#include <string>

#include "catalog/catalog.hpp"

namespace fleetsim {

using json = nlohmann::ordered_json;

namespace {

constexpr double kHoursPerYear = 8760;  // 365 days
constexpr double kJoulesPerKwh = 3.6e6;

struct NodeCost {
  const NodeType* type = nullptr;
  long long count = 0;
  double node_usd = 0;       // per node
  double network_usd = 0;    // per node: its NIC ports
  double facility_usd = 0;   // per node: facility sized to its max power
  // Amortised capex per node-hour.
  double usd_per_node_hour(const RunPrices& p) const {
    return (node_usd + network_usd) / (p.hardware_years * kHoursPerYear) +
           facility_usd / (p.facility_years * kHoursPerYear);
  }
};

json per_unit(double cost, double units, double scale = 1) {
  return units > 0 ? json(cost / units * scale) : json(nullptr);
}

double number_or_zero(const json& entry, const char* key) {
  auto it = entry.find(key);
  return it != entry.end() && it->is_number() ? it->get<double>() : 0.0;
}

}  // namespace

RunPrices resolve_prices(const CostSpec& overrides, const PriceBook& book) {
  RunPrices p;
  p.energy_usd_per_kwh = overrides.energy_usd_per_kwh.value_or(book.energy_usd_per_kwh.value);
  p.facility_usd_per_w = overrides.facility_usd_per_w.value_or(book.facility_usd_per_w.value);
  p.network_usd_per_port = overrides.network_usd_per_port.value_or(book.network_usd_per_port.value);
  p.hardware_years = overrides.hardware_years.value_or(book.hardware_years.value);
  p.facility_years = overrides.facility_years.value_or(book.facility_years.value);
  for (const auto& [name, priced] : book.node_usd) p.node_usd[name] = priced.value;
  for (const auto& [name, usd] : overrides.node_usd) p.node_usd[name] = usd;
  return p;
}

void add_cost_keys(const Scenario& scenario, const RunResult& run, const PriceBook& book, json& cluster,
                   json& workloads) {
  const RunPrices prices = resolve_prices(scenario.cost, book);
  // The PUE the IT energy saw (constant, or an hourly profile weighted by IT power).
  const double pue = run.it_energy_j > 0 ? run.facility_energy_j / run.it_energy_j : scenario.cluster.facility.pue_at(0);

  // Node types in pod order, each with its count and per-node costs.
  std::map<std::string, NodeCost> by_type;
  std::vector<std::string> order;
  for (const FleetNodes& nodes : run.fleet_nodes) {
    const NodeType* t = nodes.type;
    if (t == nullptr) return;  // a pod no catalog node type describes: nothing to price it by
    if (!by_type.count(t->name)) {
      order.push_back(t->name);
      NodeCost& c = by_type[t->name];
      c.type = t;
      auto price = prices.node_usd.find(t->name);
      c.node_usd = price != prices.node_usd.end() ? price->second : 0.0;
      c.network_usd = t->nics * prices.network_usd_per_port;
      c.facility_usd = t->max_power.value() * prices.facility_usd_per_w;
    }
    by_type[t->name].count += nodes.count;
  }
  double nodes_usd = 0, network_usd = 0, facility_usd = 0, per_hour = 0;
  json node_prices = json::object();
  for (const auto& name : order) {
    const NodeCost& c = by_type[name];
    const double n = double(c.count);
    nodes_usd += n * c.node_usd;
    network_usd += n * c.network_usd;
    facility_usd += n * c.facility_usd;
    per_hour += n * c.usd_per_node_hour(prices);
    node_prices[name] = c.node_usd;
  }
  const double hours = run.simulated_s / 3600.0;
  const double amortised = per_hour * hours;
  const double energy_kwh = run.it_energy_j * pue / kJoulesPerKwh;
  const double energy_usd = energy_kwh * prices.energy_usd_per_kwh;
  const double total = amortised + energy_usd;

  cluster["capex_usd"] = nodes_usd + network_usd + facility_usd;
  cluster["capex_nodes_usd"] = nodes_usd;
  cluster["capex_network_usd"] = network_usd;
  cluster["capex_facility_usd"] = facility_usd;
  cluster["amortised_capex_usd_per_h"] = per_hour;
  cluster["amortised_capex_usd"] = amortised;
  cluster["energy_opex_usd"] = energy_usd;
  cluster["cost_usd"] = total;
  cluster["cost_usd_per_day"] = hours > 0 ? json(total / hours * 24) : json(nullptr);
  cluster["cost_per_gpu_hour_usd"] = per_unit(total, double(run.accelerators) * hours);
  cluster["cost_per_busy_gpu_hour_usd"] = per_unit(total, run.busy_accelerator_s / 3600.0);
  cluster["cost_inputs"] = {{"energy_usd_per_kwh", prices.energy_usd_per_kwh},
                            {"facility_usd_per_w", prices.facility_usd_per_w},
                            {"network_usd_per_port", prices.network_usd_per_port},
                            {"hardware_years", prices.hardware_years},
                            {"facility_years", prices.facility_years},
                            {"node_usd", node_prices}};

  // Per workload: the accelerator-hours it held at its node type's rate, plus its energy.
  for (std::size_t i = 0; i < run.workloads.size() && i < workloads.size(); ++i) {
    const WorkloadResult& r = run.workloads[i];
    json& entry = workloads[i];
    if (!r.accelerator) {
      entry["cost_usd"] = nullptr;
      continue;
    }
    const NodeCost* node = nullptr;
    for (const auto& name : order)
      if (by_type[name].type->accelerator == r.accelerator->name) {
        node = &by_type[name];
        break;
      }
    const double gpu_hours = r.accelerator_s / 3600.0;
    const double capex_share =
        node ? gpu_hours * node->usd_per_node_hour(prices) / node->type->accelerators : 0.0;
    const double energy_share = r.energy_j * pue / kJoulesPerKwh * prices.energy_usd_per_kwh;
    const double cost = capex_share + energy_share;
    entry["cost_usd"] = cost;
    entry["amortised_capex_usd"] = capex_share;
    entry["energy_opex_usd"] = energy_share;
    entry["cost_per_gpu_hour_usd"] = per_unit(cost, gpu_hours);
    const WorkloadSpec& w = *r.spec;
    if (w.is_video()) {
      entry["cost_per_video_usd"] = per_unit(cost, number_or_zero(entry, "completed_requests"));
      continue;
    }
    // Tokens: trained (pretrain), output (inference; reasoning counts thinking and answer
    // tokens of every sample), accepted (synthetic-data).
    const double tokens = w.is_synthetic_data() ? number_or_zero(entry, "accepted_tokens")
                          : w.is_serving()      ? number_or_zero(entry, "output_tokens")
                                                : number_or_zero(entry, "tokens");
    entry["cost_per_million_tokens_usd"] = per_unit(cost, tokens, 1e6);
    if (w.is_reasoning()) entry["cost_per_query_usd"] = per_unit(cost, number_or_zero(entry, "completed_queries"));
    if (w.is_inference()) entry["cost_per_request_usd"] = per_unit(cost, number_or_zero(entry, "completed_requests"));
  }
}

}  // namespace fleetsim
