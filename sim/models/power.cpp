// Node power by phase and DVFS level. Model card (docs/models/power.md has the long form):
//
//   P_node(phase, level) = P_host + n x P_board(phase, level)       [W]
//   P_host               = max_power - n x TDP                       (CPUs, DRAM, NICs,
//                          NVSwitches, fans, PSU losses at load: the catalog's node maximum
//                          less its accelerators' board power)
//   P_board(compute, l)  = f_l x TDP                                 (power limit f_l)
//   P_board(decode)      = kDecodeBoardFraction x TDP
//   speed(l)             = ((f_l x TDP - P_idle) / (TDP - P_idle))^(1/3)
//   P_node(decode, u)    = P_idle + (P_node(decode) - P_idle) x u  (replica busy share u)
//   P_node(idle)         = idle_power (catalog)
//
// Assumptions: GEMM-bound phases (training, prefill, denoising) run at the board limit
// (Splitwise, ISCA'24, Fig. 8-9: prompt power climbs to the limit with batch); decode is
// memory-bound and draws a flat, lower power (same figures). Under a lower power limit the
// clock falls until the board fits: dynamic power ~ C V^2 f with V roughly proportional to
// f over the DVFS range, so dynamic power ~ f^3 above a static floor taken as the board's
// measured idle power; GEMM throughput ~ f. The host share does not change with the limit.
// Known error: the cube law ignores the voltage floor, so it is optimistic at deep limits
// (docs/models/power.md compares it with published figures).
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
constexpr double kPortOpticsW400G = 17.0 / 2.0;
constexpr double kPortOpticsWHdr = 6.0;
constexpr double kSwitchChassisWPerPort = 0.0;  // not found; see above
constexpr double kNdrPortBytesPerS = 400e9 / 8;

}  // namespace

std::vector<PowerLevel> dvfs_levels(const Accelerator& a) {
  std::vector<PowerLevel> levels;
  const double tdp = a.tdp.value(), idle = a.idle.value();
  for (double f : kLevelFractions) {
    const double dynamic = tdp > idle ? std::max(0.0, (f * tdp - idle) / (tdp - idle)) : 1.0;
    levels.push_back({f, std::cbrt(dynamic)});
  }
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
  const double decode = std::max(t.idle_w, host + n * decode_board_power(a).value());
  for (double u : kDecodeUtilisations) {
    t.decode_w.push_back(t.idle_w + (decode - t.idle_w) * u);
    t.decode_utilisation.push_back(u);
  }
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
