// Node power by phase and DVFS level. Model card (docs/models/power.md has the long form):
//
//   P_node(phase, level) = P_host + n x P_board(phase, level)       [W]
//   P_host               = max_power - n x TDP                       (CPUs, DRAM, NICs,
//                          NVSwitches, fans, PSU losses at load: the catalog's node maximum
//                          less its accelerators' board power)
//   P_board(compute, l)  = f_l x TDP                                 (power limit f_l)
//   P_board(decode)      = kDecodeBoardFraction x TDP
//   speed(l)             = ((f_l x TDP - P_idle) / (TDP - P_idle))^(1/alpha), alpha = 1.55
//   P_node(decode, u)    = P_idle + (P_node(decode) - P_idle) x u  (replica busy share u)
//   P_node(idle)         = idle_power (catalog)
//
// Assumptions: GEMM-bound phases (training, prefill, denoising) run at the board limit
// (Splitwise, ISCA'24, Fig. 8-9: prompt power climbs to the limit with batch); decode is
// memory-bound and draws a flat, lower power (same figures). Under a lower power limit the
// clock falls until the board fits: dynamic power ~ C V^2 f above a static floor (the
// board's measured idle power), GEMM throughput ~ f, so dynamic power ~ f^alpha with alpha
// between 1 (voltage at its floor) and 3 (voltage proportional to f). alpha is taken from
// the Splitwise authors' simulator data (kDvfsAlpha below), not from the cube law. A
// service's HBM-bound decode does not slow with the limit, its compute-bound work does
// (serving model, ServingSetup::compute_speed). The host
// share does not change with the limit (docs/models/power.md compares with sources).
#include "models/power.hpp"

#include <algorithm>
#include <cmath>

namespace fleetsim {

namespace {

// Power limits offered, as fractions of TDP: 700, 595, 490, 420 and 350 W on an H100.
// The range is the one Splitwise (Patel et al., ISCA'24, section III-F, Fig. 9) measured
// on H100 (700 W down to a 50% cap, 350 W); nvidia-smi accepts any limit from 200 W to
// 700 W on an H100 SXM, so the steps between are a choice of resolution, not a source.
constexpr double kLevelFractions[] = {1.0, 0.85, 0.7, 0.6, 0.5};

// Decode board power / TDP: 600 W of 700 W on an H100 SXM serving Llama-class models at
// large batch (ML.ENERGY Benchmark v3.0, H100-SXM5: 300 W at batch 1, 600 W at batch 128,
// as quoted by the vLLM semantic-router fleet-sim power-model page; secondary). Splitwise
// (Fig. 8) shows decode power flat in batch and below prompt power. Carried to every
// accelerator as a fraction of its TDP (no per-chip decode measurement found).
constexpr double kDecodeBoardFraction = 600.0 / 700.0;

// A serving replica decodes only part of the time (its schedule's busy fraction) and
// idles between: its nodes draw idle + (decode - idle) x utilisation on average. Offered
// at these utilisations (a choice of resolution; the engine takes the nearest).
constexpr double kDecodeUtilisations[] = {1.0, 0.75, 0.5, 0.25};

// One switch port of the scale-out fabric with its optics, by port speed. Every link of a
// DGX SuperPOD-style fat tree is optical at both ends; only the switch ends are counted
// here (the node end is in the node's max_power).
// - 400 Gb/s (NDR InfiniBand / 400GbE, Quantum-2 QM9700 and Spectrum-4 switches): the
//   switch takes twin-port OSFP transceivers, two 400G ports per cage, and "Twin port
//   OSFP single mode transceivers remain at 17 Watts for all configurations" (NVIDIA
//   MMS4X00-NM / MMS4X00-NS product specification, Application Overview); the QM97xx
//   user manual (Interfaces) rates the cages for "Class 8 (17W)" modules. 17 W / 2 ports.
// - 200 Gb/s and below (HDR generation): "An HDR cable can require 6W per port" (NVIDIA
//   DGX SuperPOD cabling design guide, Port Power).
// Switch chassis power (ASIC, fans, management, PSU losses) is NOT counted: no published
// figure for the QM9700 (or another fabric switch) was found in the stored sources, so
// this is the optics alone, a lower bound on the fabric's draw (docs/models/power.md).
// Both are InfiniBand parts; fleetsim applies them by port speed to every node type, also to
// the 100/200 GbE networks of the TPU and Trainium hosts: an assumption there (no figure found).
constexpr double kPortOpticsW400G = 17.0 / 2.0;
constexpr double kPortOpticsWHdr = 6.0;
constexpr double kSwitchChassisWPerPort = 0.0;  // not found; see above
constexpr double kNdrPortBytesPerS = 400e9 / 8;

// The exponent of dynamic power in clock: an ASSUMPTION read from simulator data, not a
// measurement. The Splitwise authors' simulator (Patel et
// al., ISCA'24; github.com/Mutinifni/splitwise-sim, data/perf_model.csv) gives every
// prompt (prefill) time of its capped H100 ("h100-80gb-pcap": the dgx-h100-pcap SKU, 7,140 W
// = 70% of the DGX H100's 10,200 W) as the uncapped time x 1.30, and every token (decode)
// time unchanged (e.g. BLOOM-176B, TP8, 512-token prompt: 77.14 ms -> 100.28 ms; token
// 36.11 ms both): one factor on every row, a multiplier the authors chose, the only H100
// compute-under-a-cap figure found. Read as a board limit of 70% of TDP (490 W) on an H100
// (70 W idle):
//   speed = 1/1.30 = ((0.7 x 700 - 70) / (700 - 70))^(1/alpha)  ->  alpha = 1.545
// It lies between the voltage-floor bound (alpha = 1: speed 0.667 there) and the cube law
// (alpha = 3: 0.874). Cross-check, not used to set it: factryze.ai (power capping page,
// secondary) reports 10-15% lower pretraining throughput on H100 at 600 W; alpha = 1.545
// gives 10.6% at 600 W (the cube law 5.6%).
const double kDvfsAlpha = std::log((0.7 * 700.0 - 70.0) / (700.0 - 70.0)) / std::log(1.0 / 1.30);

}  // namespace

double compute_speed(double board_fraction, const Accelerator& a) {
  const double tdp = a.tdp.value(), idle = a.idle.value();
  if (board_fraction >= 1) return 1.0;
  const double dynamic = tdp > idle ? std::max(0.0, (board_fraction * tdp - idle) / (tdp - idle)) : 1.0;
  return std::pow(dynamic, 1.0 / kDvfsAlpha);
}

std::vector<PowerLevel> dvfs_levels(const Accelerator& a) {
  std::vector<PowerLevel> levels;
  for (double f : kLevelFractions) levels.push_back({f, compute_speed(f, a)});
  return levels;
}

Watts decode_board_power(const Accelerator& a) { return Watts(kDecodeBoardFraction * a.tdp.value()); }

NodePowerTable node_power_table(const NodeType& node, const Accelerator& a) {
  NodePowerTable t;
  const double n = node.accelerators;
  const double host = std::max(0.0, node.max_power.value() - n * a.tdp.value());
  t.idle_w = node.idle_power.value();
  for (const PowerLevel& l : dvfs_levels(a)) {
    // Never below idle: a limit under the idle draw cannot be met by clocks alone.
    t.compute_w.push_back(std::max(t.idle_w, host + n * l.board_fraction * a.tdp.value()));
    t.speed.push_back(l.speed);
  }
  // Decode under a limit: the board draws the lower of its decode power and the limit.
  // What the limit costs a service's speed is its serving model's (compute_speed on its
  // compute-bound work, ServingSetup::compute_speed; docs/models/power.md).
  t.decode_levels = 0;
  for (double f : kLevelFractions) {
    const double board = std::min(decode_board_power(a).value(), f * a.tdp.value());
    const double decode = std::max(t.idle_w, host + n * board);
    for (double u : kDecodeUtilisations) t.decode_w.push_back(t.idle_w + (decode - t.idle_w) * u);
    t.decode_levels++;
  }
  for (double u : kDecodeUtilisations) t.decode_utilisation.push_back(u);
  return t;
}

double throttled_step_s(double step_s, double exposed_comm_s, double speed) {
  if (speed == 1) return step_s;  // exactly: no rounding where nothing is throttled
  const double comm = std::clamp(exposed_comm_s, 0.0, step_s);
  return (step_s - comm) / speed + comm;
}

Watts switch_port_power(ByteRate port_rate) {
  const double optics = port_rate.value() >= kNdrPortBytesPerS * (1 - 1e-9) ? kPortOpticsW400G : kPortOpticsWHdr;
  return Watts(optics + kSwitchChassisWPerPort);
}

double switch_ports(ByteRate bandwidth, ByteRate port_rate) {
  return port_rate.value() > 0 ? std::max(0.0, bandwidth.value() / port_rate.value()) : 0.0;
}

Watts leaf_network_power(int nodes, int nics, double oversubscription, ByteRate port_rate) {
  const double down = double(nodes) * nics;
  const double ports = down + 2 * down / std::max(oversubscription, 1.0);
  return Watts(ports * switch_port_power(port_rate).value());
}

Watts pod_network_power(ByteRate pod_uplink, ByteRate port_rate, bool has_core) {
  if (!has_core) return Watts(0);
  return Watts(2 * switch_ports(pod_uplink, port_rate) * switch_port_power(port_rate).value());
}

}  // namespace fleetsim
