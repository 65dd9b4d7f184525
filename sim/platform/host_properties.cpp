#include "platform/host_properties.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>

namespace fleetsim::host_properties {

std::string number_text(double value) {
  std::array<char, 32> buffer{};
  auto [end, error] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  assert(error == std::errc() && "32 characters hold any double");
  return std::string(buffer.data(), end);
}

std::string wattage_per_state(const NodePowerTable& t) {
  std::string text = number_text(t.idle_w) + ":" + number_text(t.compute_w.front());
  for (double w : t.compute_w) text += "," + number_text(w) + ":" + number_text(w);
  for (double w : t.decode_w) text += "," + number_text(w) + ":" + number_text(w);
  return text;
}

std::vector<double> pstate_speeds(const NodePowerTable& t, double peak_flops) {
  std::vector<double> speeds = {peak_flops};
  for (double s : t.speed) speeds.push_back(peak_flops * s);
  // Decode pstates carry the peak: no execution runs on them (the engine only sets them),
  // and a service's speed at its level is its serving model's (ServingSetup::compute_speed).
  for (std::size_t k = 0; k < t.decode_w.size(); ++k) speeds.push_back(peak_flops);
  return speeds;
}

NodePowerTable power_table(const PodInstance& pod) {
  NodePowerTable t = node_power_table(*pod.node_type, *pod.accelerator);
  if (!pod.dvfs_pstates) {  // full power only
    t.compute_w.resize(1);
    t.speed.resize(1);
    t.decode_w.resize(t.decode_utilisation.size());
    t.decode_levels = 1;
  }
  if (!pod.decode_pstates) {
    t.decode_w.clear();
    t.decode_utilisation.clear();
    t.decode_levels = 0;
  }
  return t;
}

namespace {
std::string dvfs_text(const NodePowerTable& t) {
  std::string text;
  for (std::size_t l = 0; l < t.compute_w.size(); ++l) text += (l ? "," : "") + std::to_string(t.compute_pstate(int(l)));
  return text;
}
std::string decode_text(const NodePowerTable& t) {
  std::string text;
  for (std::size_t k = 0; k < t.decode_w.size(); ++k) text += (k ? "," : "") + std::to_string(t.decode_pstate(int(k)));
  return text;
}
}  // namespace

std::string fabric_link_name(const PodInstance& pod) { return pod.name + "-fabric"; }

double fabric_watts(const Topology& topology, const PodInstance& pod) {
  const ByteRate port = pod.node_type->nic_bandwidth;
  double watts = 0;
  for (int l = 0; l < pod.leaves; ++l) {
    const int nodes = std::min(pod.nodes_per_leaf, pod.nodes - l * pod.nodes_per_leaf);
    watts += leaf_network_power(nodes, pod.node_type->nics, pod.oversubscription, port).value();
  }
  // Core ports as cabled: the pod's uplink, at most what its nodes send through the leaves
  // (the default uplink provisions whole leaves, also a partly filled last one).
  const ByteRate used = min(pod.pod_uplink, pod.bisection());
  return watts + pod_network_power(used, port, topology.pods().size() > 1).value();
}

std::vector<std::pair<std::string, std::string>> node_properties(const PodInstance& pod) {
  std::vector<std::pair<std::string, std::string>> properties = {
      {kAccelerator, pod.accelerator->name},
      {kAcceleratorsPerNode, std::to_string(pod.node_type->accelerators)},
      {kNodeType, pod.node_type->name},
      {kPod, pod.name},
      {kWattagePerState, wattage_per_state(power_table(pod))},
      {kRunningPstate, std::to_string(power_table(pod).compute_pstate(0))},
      {kDecodePstate, decode_text(power_table(pod))},
      {kDecodeLevels, power_table(pod).decode_levels > 1 ? std::to_string(power_table(pod).decode_levels) : ""},
      {kDvfsPstates, dvfs_text(power_table(pod))},
      // A node that is off draws nothing the facility has to supply.
      {kWattageOff, "0"},
  };
  // A platform without decode pstates (no serving in the scenario) says nothing of them.
  properties.erase(std::remove_if(properties.begin(), properties.end(), [](const auto& p) { return p.second.empty(); }),
                   properties.end());
  return properties;
}

}  // namespace fleetsim::host_properties
