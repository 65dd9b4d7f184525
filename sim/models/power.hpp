// Node power by phase and DVFS level: the wattage of every pstate fleetsim gives a node.
// Model card: docs/models/power.md. Pure functions; the platform layer writes the table
// as SimGrid pstates (wattage_per_state, speed per pstate) and the engine switches hosts
// between them, so the host energy plugin does the accounting.
#pragma once

#include <vector>

#include "catalog/catalog.hpp"

namespace fleetsim {

// What a running node does, as far as its power goes.
enum class PowerPhase {
  Compute,  // GEMM-bound: training steps, prefill, diffusion denoising
  Decode,   // memory-bound token generation (a serving replica's steady state)
};

// One DVFS level of a compute phase: the board power limit and the clock it leaves.
struct PowerLevel {
  double board_fraction = 1;  // power limit / TDP
  double speed = 1;           // GEMM throughput / throughput at TDP
};

// A node's pstate table. Pstate 0 is available (idle; an execution on it draws the full
// compute power), pstates 1..levels are the compute phase at each DVFS level (1 = full
// power, the engine's running pstate), the last ones the decode phase at each DVFS level
// (level-major, full power first) and, within a level, at each replica utilisation (full
// first). A decode pstate's board power is the lower of its own draw and the level's
// limit; what the level costs a service's speed is in its serving model
// (ServingSetup::compute_speed).
struct NodePowerTable {
  double idle_w = 0;
  std::vector<double> compute_w;  // per level, full power first
  std::vector<double> speed;      // per level, 1 first
  // The decode phase at each level and replica utilisation (decoding that share of the
  // time, idle the rest: the time-average of the two): decode_levels blocks of
  // decode_utilisation.size() entries.
  std::vector<double> decode_w;
  std::vector<double> decode_utilisation;
  int decode_levels = 1;
  int compute_pstate(int level) const { return 1 + level; }
  int decode_pstate(int k = 0) const { return 1 + int(compute_w.size()) + k; }
  int pstate_count() const { return 1 + int(compute_w.size() + decode_w.size()); }
};

// The DVFS levels fleetsim offers every accelerator (power limit as a fraction of TDP)
// and the GEMM throughput each leaves, from the accelerator's idle and TDP.
std::vector<PowerLevel> dvfs_levels(const Accelerator& accelerator);

// GEMM throughput at a board power limit of `board_fraction` x TDP, relative to full
// power: what a compute-bound phase (training, prefill, denoising, the FLOP side of a
// decode roofline) keeps (docs/models/power.md). HBM-bound work keeps full speed.
double compute_speed(double board_fraction, const Accelerator& accelerator);

NodePowerTable node_power_table(const NodeType& node, const Accelerator& accelerator);

// Board power of an accelerator in the decode phase.
Watts decode_board_power(const Accelerator& accelerator);

// A compute-bound step at GEMM speed `speed`: its compute (everything but exposed
// communication) takes 1/speed as long; exposed communication does not change.
double throttled_step_s(double step_s, double exposed_comm_s, double speed);

// Scale-out fabric power (docs/models/power.md, "Network"): what one switch port of the
// leaf/spine/core fat tree draws with its pluggable optics, for ports of `port_rate` (a
// node's NIC speed, per direction). The node's own NIC ports and their transceivers are in
// the node's wattage (nodes.yaml max_power); the switch end of every link is counted here.
Watts switch_port_power(ByteRate port_rate);

// The switch ports, at each end of a link, that carry `bandwidth` (per direction) in ports
// of `port_rate`: fractional when a leaf's uplinks are not a whole number of ports.
double switch_ports(ByteRate bandwidth, ByteRate port_rate);

// What the fabric above one leaf's nodes draws: the leaf's ports down to its `nodes` nodes
// (`nics` each), the uplink ports they need at `oversubscription` (nodes x nics /
// oversubscription: ports are counted as cabled, so a partly filled leaf cables fewer) and
// the spine ports those land on.
Watts leaf_network_power(int nodes, int nics, double oversubscription, ByteRate port_rate);

// What a pod's way to the other pods draws: its spine's ports up to the core and the core
// ports they land on, for `pod_uplink` of bandwidth. A design of one pod has no core: 0.
Watts pod_network_power(ByteRate pod_uplink, ByteRate port_rate, bool has_core);

}  // namespace fleetsim
