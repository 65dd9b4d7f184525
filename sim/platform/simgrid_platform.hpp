// Builds the SimGrid platform of a topology through the S4U API, and loads and checks
// hand-written SimGrid platform files.
//
// Why the API and one StarZone rather than loading the XML we write: SimGrid 3.32 looks
// every new host and link up by name through all zones, so a zone per pod costs
// O(nodes x pods) at load (measured: 128 pods x 1,024 nodes took 5.5 s through either
// XML clusters or API zones, against 1.3 s for one StarZone). In the star, a node's
// route is [NIC, leaf uplink, pod uplink]: exact for traffic between pods, which is the
// only traffic the engine sends through SimGrid (traffic inside a pod is in the
// step-time model). Each pod also gets a gateway host whose route is [pod uplink].
#pragma once

#include <string>

#include "platform/fleet.hpp"
#include "platform/topology.hpp"

namespace fleetsim {

// Creates the hosts, links and routes of `topology` in the current SimGrid engine.
// Host properties: accelerator, accelerators_per_node, node_type, pod,
// wattage_per_state ("IDLE:BUSY" in watts for the whole node), wattage_off.
// Host names are the topology's node names ("hopper-3-n17"), gateways "<pod>-gw"; link
// names are the topology's edge names plus SimGrid's "_UP"/"_DOWN". The zone is sealed on
// return. Call sg_host_energy_plugin_init() before, if energy is wanted: the plugin reads
// wattage_per_state as each host is sealed.
Fleet build_simgrid_platform(const Topology& topology);

// Loads a SimGrid platform file and checks that every host says what it is: the
// properties `accelerator` (a catalog name) and `accelerators_per_node`, plus
// `wattage_per_state` for the energy plugin. Hosts are grouped into pods by their
// `pod` property (hosts without it form one pod per netzone). A host with
// `role=pod-gateway` is its pod's gateway; a pod without one uses its first node. Hosts of
// a pod are in file order. Throws InputError naming the file, the host and the missing or
// wrong property (every problem found, at most 20 listed); a missing file and XML that
// SimGrid refuses are InputErrors too, never an abort (platform_precheck.hpp). The
// platform is sealed on return (Engine::seal_platform), which computes the routes between
// the file's zones.
Fleet load_platform_file(const std::string& path, const Catalog& catalog);

}  // namespace fleetsim
