// Writes a topology as a SimGrid platform file (DTD version 4.1) that SimGrid 3.32 loads
// with Engine::load_platform, and that `cluster.platform` accepts back.
//
// Layout: one top zone routed by DijkstraCache; one <cluster> per pod instance (its
// hosts with the node's properties, a private link per node for its NICs, a backbone
// for the pod fabric's bisection); a core zone with one router; one zoneRoute per pod
// to the core over the pod's uplink. O(pods) routes, so it stays small at 1M GPUs.
#pragma once

#include <ostream>

#include "platform/topology.hpp"

namespace fleetsim {

void write_platform_xml(const Topology& topology, std::ostream& out);

}  // namespace fleetsim
