#include "platform/host_properties.hpp"

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

std::string wattage_per_state(Watts idle, Watts busy) {
  return number_text(idle.value()) + ":" + number_text(busy.value()) + "," + number_text(busy.value()) + ":" +
         number_text(busy.value());
}

std::vector<std::pair<std::string, std::string>> node_properties(const PodInstance& pod) {
  return {
      {kAccelerator, pod.accelerator->name},
      {kAcceleratorsPerNode, std::to_string(pod.node_type->accelerators)},
      {kNodeType, pod.node_type->name},
      {kPod, pod.name},
      {kWattagePerState, wattage_per_state(pod.node_type->idle_power, pod.node_type->max_power)},
      {kRunningPstate, "1"},
      // A node that is off draws nothing the facility has to supply.
      {kWattageOff, "0"},
  };
}

}  // namespace fleetsim::host_properties
