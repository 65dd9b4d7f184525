// The SimGrid host properties through which a platform says what its hosts are. The star
// builder and the XML writer both write them from here, and load_platform_file reads them
// back, so the three cannot drift apart.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "models/power.hpp"
#include "platform/topology.hpp"

namespace fleetsim::host_properties {

inline constexpr const char* kAccelerator = "accelerator";                 // catalog name
inline constexpr const char* kAcceleratorsPerNode = "accelerators_per_node";  // whole number
inline constexpr const char* kNodeType = "node_type";                     // catalog name, optional
inline constexpr const char* kPod = "pod";                                // pod instance name
inline constexpr const char* kRole = "role";                              // "pod-gateway" or absent
inline constexpr const char* kPodGateway = "pod-gateway";
// Read by SimGrid's host energy plugin when the host is sealed: "IDLE:BUSY" in watts, one
// pair per pstate. For a one-core host BUSY is the power with that core busy, which is how
// fleetsim models a node (one core at the node's aggregate speed).
inline constexpr const char* kWattagePerState = "wattage_per_state";
inline constexpr const char* kWattageOff = "wattage_off";
// The pstate a node is switched to while it runs a job (optional; fleetsim's generated
// platforms use 1, whose idle and busy wattage are both the node's full-load power). A
// platform without it keeps running nodes busy with executions instead.
inline constexpr const char* kRunningPstate = "running_pstate";
// Optional, with running_pstate: the pstates of a node serving requests (decode-dominated,
// models/power.hpp), at full utilisation first then lower ("6,7,8,9"), and the pstates of the compute phase at each DVFS level, full power
// first ("1,2,3,4,5"), which the power-cap controller steps through. Without them a node
// runs everything in running_pstate and cannot be throttled.
inline constexpr const char* kDecodePstate = "decode_pstate";
inline constexpr const char* kDvfsPstates = "dvfs_pstates";
// With a power cap and serving: decode_pstate lists the decode pstates of each DVFS level
// (level-major, full power first), decode_levels of them (absent: 1).
inline constexpr const char* kDecodeLevels = "decode_levels";

// Read by SimGrid's link energy plugin: "IDLE:BUSY" in watts, the link's power without
// traffic and at full load (linear between). fleetsim gives each pod one link that no route
// crosses, "<pod>-fabric", carrying the power of the pod's switch ports and optics
// (models/power.hpp), flat (IDLE = BUSY): docs/models/power.md, "Network".
inline constexpr const char* kWattageRange = "wattage_range";
std::string fabric_link_name(const PodInstance& pod);
// The pod's share of the fabric: its leaves (ports down to the nodes, uplink ports and the
// spine ports they land on) and, with more than one pod, its spine's uplinks to the core
// and the core ports they land on.
double fabric_watts(const Topology& topology, const PodInstance& pod);

// The shortest decimal text that reads back as exactly `value` ("1500", "7.9e+15", "3.3e-07").
std::string number_text(double value);

// The node's pstate table (models/power.hpp) as "IDLE:BUSY" pairs: pstate 0 "idle:full",
// then one flat "W:W" pair per compute level and one for decode (a node in them draws
// their power whether or not an execution runs on it).
std::string wattage_per_state(const NodePowerTable& table);
// The host speed of each pstate: the node's peak times the level's GEMM speed.
std::vector<double> pstate_speeds(const NodePowerTable& table, double peak_flops);
NodePowerTable power_table(const PodInstance& pod);

// The properties of every node host of `pod`, in a fixed order.
std::vector<std::pair<std::string, std::string>> node_properties(const PodInstance& pod);

}  // namespace fleetsim::host_properties
