// What the file keeps of the topology, and what it drops:
// - each pod is a SimGrid <cluster>: a private split-duplex link per node (the node's NICs,
//   bw = nics x nic_bandwidth) and a shared backbone that all traffic inside the pod and
//   out of it crosses (bb_bw = nodes x node bandwidth / oversubscription). The leaf level
//   is folded into that backbone: SimGrid's flat cluster has no leaves, and its FAT_TREE
//   cluster loads superlinearly (75 s at 131,072 hosts, DESIGN.md "Scale facts").
// - the pod's gateway is the cluster's router, not a host; load_platform_file then takes
//   the pod's first node as its gateway.
// - one zoneRoute per pod into a core zone over the pod's uplink: O(pods) routes.
// Numbers are written with their units, SimGrid-style ("5e+10Bps", "3.3e-07s"), in the
// shortest text that reads back as the same double.
#include "platform/platform_xml.hpp"

#include <string>

#include "platform/host_properties.hpp"

namespace fleetsim {

namespace {

namespace props = host_properties;

std::string escaped(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

constexpr const char* kCoreZone = "core";
constexpr const char* kCoreRouter = "core-router";

std::string gateway_name(const PodInstance& pod) { return pod.name + "-gw"; }

}  // namespace

void write_platform_xml(const Topology& topology, std::ostream& out) {
  const TopologyGraph& g = topology.graph();
  out << "<?xml version='1.0'?>\n"
         "<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
         "<!-- Written by fleetsim from a cluster design: "
      << topology.pods().size() << " pods, " << topology.node_count() << " nodes, " << topology.accelerator_count()
      << " accelerators.\n"
         "     One <cluster> per pod (a link per node, a backbone for the pod fabric), one zoneRoute per pod\n"
         "     to the core over the pod's uplink. Host properties say what each node is. -->\n"
         "<platform version=\"4.1\">\n"
         "  <zone id=\"fleet\" routing=\"DijkstraCache\">\n";

  // One speed per pstate (host_properties.hpp), in FLOP/s.
  auto speeds_text = [](const PodInstance& pod) {
    std::string text;
    for (double s : props::pstate_speeds(props::power_table(pod), pod.node_peak_bf16.value()))
      text += (text.empty() ? "" : ",") + props::number_text(s) + "f";
    return text;
  };
  for (const PodInstance& pod : topology.pods()) {
    // Latencies from the graph: the first node's NIC edge, and its leaf's uplink for the
    // backbone (the leaf and spine hops folded into one).
    const auto first_node = topology.node_vertex(pod.first_node);
    const std::string lat = props::number_text(g[topology.uplink(first_node)].latency.value()) + "s";
    const auto leaf = topology.parent(first_node);
    const std::string bb_lat = props::number_text(g[topology.uplink(leaf)].latency.value()) + "s";
    out << "    <cluster id=\"" << escaped(pod.name) << "\" prefix=\"" << escaped(pod.name) << "-n\" suffix=\"\""
        << " radical=\"0-" << pod.nodes - 1 << "\" speed=\"" << speeds_text(pod) << "\" core=\"1\"\n"
        << "             bw=\"" << props::number_text(pod.node_uplink.value()) << "Bps\" lat=\"" << lat
        << "\" sharing_policy=\"SPLITDUPLEX\" bb_bw=\"" << props::number_text(pod.bisection().value())
        << "Bps\" bb_lat=\"" << bb_lat << "\" router_id=\"" << escaped(gateway_name(pod)) << "\">\n";
    for (const auto& [key, value] : props::node_properties(pod))
      out << "      <prop id=\"" << key << "\" value=\"" << escaped(value) << "\"/>\n";
    out << "    </cluster>\n";
  }

  out << "    <zone id=\"" << kCoreZone << "\" routing=\"Full\">\n"
      << "      <router id=\"" << kCoreRouter << "\"/>\n"
      << "    </zone>\n";
  for (const PodInstance& pod : topology.pods()) {
    const TopologyEdge& up = g[topology.uplink(pod.spine_vertex)];
    out << "    <link id=\"" << escaped(up.name) << "\" bandwidth=\"" << props::number_text(up.bandwidth.value())
        << "Bps\" latency=\"" << props::number_text(up.latency.value()) << "s\" sharing_policy=\"SPLITDUPLEX\"/>\n";
  }
  // The pod's switch ports and optics: a link no route crosses, for the link energy plugin
  // (the star builder makes the same one; host_properties.hpp).
  for (const PodInstance& pod : topology.pods()) {
    const double watts = props::fabric_watts(topology, pod);
    if (watts <= 0) continue;
    out << "    <link id=\"" << escaped(props::fabric_link_name(pod)) << "\" bandwidth=\""
        << props::number_text(pod.pod_uplink.value()) << "Bps\" latency=\"0s\" sharing_policy=\"SHARED\">"
        << "<prop id=\"" << props::kWattageRange << "\" value=\"" << props::number_text(watts) << ":"
        << props::number_text(watts) << "\"/></link>\n";
  }
  for (const PodInstance& pod : topology.pods()) {
    const TopologyEdge& up = g[topology.uplink(pod.spine_vertex)];
    out << "    <zoneRoute src=\"" << escaped(pod.name) << "\" dst=\"" << kCoreZone << "\" gw_src=\""
        << escaped(gateway_name(pod)) << "\" gw_dst=\"" << kCoreRouter << "\">"
        << "<link_ctn id=\"" << escaped(up.name) << "\" direction=\"UP\"/></zoneRoute>\n";
  }
  out << "  </zone>\n"
         "</platform>\n";
}

}  // namespace fleetsim
