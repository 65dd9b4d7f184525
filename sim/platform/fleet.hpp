// The cluster as the engine sees it once the SimGrid platform exists: pods of hosts,
// one SimGrid host per node, whatever way the platform was built (generated from a
// design or loaded from a hand-written file).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "catalog/catalog.hpp"

namespace simgrid::s4u {
class Host;
class Engine;
class Link;
}  // namespace simgrid::s4u

namespace fleetsim {

struct FleetPod {
  std::string name;
  const NodeType* node_type = nullptr;  // may be nullptr for a hand-written platform
  const Accelerator* accelerator = nullptr;
  int accelerators_per_node = 0;
  std::vector<simgrid::s4u::Host*> hosts;  // one per node
  // The host that stands for the pod's egress: traffic that leaves the pod is sent
  // from here (one activity per pod, never one per node). Has no accelerators.
  simgrid::s4u::Host* gateway = nullptr;
  double node_idle_watts = 0;  // per node, from the host's wattage_per_state
  double node_busy_watts = 0;
  // The pstate a node is put in while it runs a job (host property running_pstate), so
  // that the energy plugin charges it full power without an execution on it; -1: the
  // platform has none, and running nodes are kept busy with executions.
  int running_pstate = -1;
  // What each pstate draws on a node with no execution on it (the plugin's idle value of
  // the pstate), in W; the decode pstate (serving), and the compute pstates at each DVFS
  // level, full power first, with the GEMM speed each leaves (1 first). A platform that
  // does not name them runs everything in running_pstate.
  std::vector<double> pstate_watts;
  std::vector<int> decode_pstates;       // per DVFS level (decode_levels blocks), full utilisation first
  std::vector<double> decode_utilisation;  // of each: (its watts - idle) / (its level's first's - idle)
  int decode_levels = 1;
  std::vector<int> dvfs_pstates;
  std::vector<double> dvfs_speed;
  // The GEMM speed at DVFS level `level` (the deepest past the last; 1 without levels).
  double speed_at(int level) const {
    return dvfs_speed.empty() ? 1.0 : dvfs_speed[std::size_t(std::min(level, int(dvfs_speed.size()) - 1))];
  }
  // Fabric figures the step-time model needs; a hand-written platform leaves them at
  // their defaults (non-blocking, no pod uplink limit).
  double oversubscription = 1.0;
  int nodes_per_leaf = 0;        // 0: unknown
  double pod_uplink_bytes_per_s = 0;  // 0: unknown, treated as non-blocking
};

struct Fleet {
  std::vector<FleetPod> pods;
  // The links that carry network power (a wattage_range property, SimGrid's link energy
  // plugin) and their power: generated platforms have one per pod, "<pod>-fabric", with
  // IDLE = BUSY; a platform file may have any. The time series and the power cap count
  // `network_watts` (the links' IDLE values); the energy is the plugin's.
  std::vector<simgrid::s4u::Link*> powered_links;
  double network_watts = 0;
  int node_count() const;
  int accelerator_count() const;
};

}  // namespace fleetsim
