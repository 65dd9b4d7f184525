// The power models by hand (models/power.hpp, docs/models/power.md).
#include <catch2/catch.hpp>

#include <cmath>

#include "catalog/catalog.hpp"
#include "models/power.hpp"

using namespace fleetsim;

namespace {
const Accelerator& h100() { return *Catalog::builtin().accelerator("H100-SXM"); }
}  // namespace

TEST_CASE("compute-bound speed under a power limit follows the Splitwise H100 point") {
  // The point alpha comes from: a 70% limit (490 W of 700 W, 70 W idle) leaves prefill
  // 1/1.30 as fast (splitwise-sim data/perf_model.csv, h100-80gb-pcap rows).
  CHECK(compute_speed(0.7, h100()) == Approx(1 / 1.30).epsilon(1e-12));
  CHECK(compute_speed(1.0, h100()) == 1.0);
  // Between the voltage-floor bound (alpha 1: the dynamic share itself) and the cube law.
  for (double f : {0.85, 0.7, 0.6, 0.5}) {
    const double dynamic = (f * 700 - 70) / 630;
    CHECK(compute_speed(f, h100()) > dynamic);
    CHECK(compute_speed(f, h100()) < std::cbrt(dynamic));
  }
  // Cross-check against the secondary source (10-15% slower at 600 W): 10.6%.
  CHECK(1 - compute_speed(600.0 / 700, h100()) == Approx(0.106).margin(0.001));
  // The levels offered carry these speeds.
  const auto levels = dvfs_levels(h100());
  REQUIRE(levels.size() == 5);
  CHECK(levels[2].board_fraction == 0.7);
  CHECK(levels[2].speed == Approx(1 / 1.30));
  CHECK(levels[4].speed == Approx(std::pow(280.0 / 630, std::log(1 / 1.30) / std::log(420.0 / 630))));
}

TEST_CASE("decode pstates: each level's wattage by hand (DGX H100)") {
  // P_host = 10,200 - 8 x 700 = 4,600 W; decode boards draw min(600 W, the level's limit);
  // at utilisation u: idle + (decode - idle) x u, idle 1,560 W.
  const NodePowerTable t = node_power_table(*Catalog::builtin().node_type("dgx-h100"), h100());
  REQUIRE(t.decode_levels == 5);
  REQUIRE(t.decode_utilisation.size() == 4);
  REQUIRE(t.decode_w.size() == 20);
  const double by_hand[] = {4600 + 8 * 600.0, 4600 + 8 * 595.0, 4600 + 8 * 490.0, 4600 + 8 * 420.0, 4600 + 8 * 350.0};
  for (int level = 0; level < 5; ++level)
    for (std::size_t k = 0; k < 4; ++k) {
      const double u = t.decode_utilisation[k];
      CHECK(t.decode_w[std::size_t(level) * 4 + k] == Approx(1560 + (by_hand[level] - 1560) * u).epsilon(1e-12));
    }
  CHECK(t.decode_w[0] == Approx(9400));   // full power, u = 1
  CHECK(t.decode_w[16] == Approx(7400));  // 350 W boards, u = 1
  // Pstate numbering: idle, 5 compute, then the decode blocks level-major.
  CHECK(t.decode_pstate(0) == 6);
  CHECK(t.pstate_count() == 26);
}

TEST_CASE("fabric ports by hand") {
  const ByteRate ndr = ByteRate(400e9 / 8), hdr = ByteRate(200e9 / 8);
  CHECK(switch_port_power(ndr).value() == 8.5);
  CHECK(switch_port_power(hdr).value() == 6.0);
  // 32 DGX H100 under one leaf at 1:1: 256 ports down, 256 up, 256 on the spine.
  CHECK(leaf_network_power(32, 8, 1.0, ndr).value() == Approx(768 * 8.5));
  // At 2:1 the leaf cables half as many uplinks.
  CHECK(leaf_network_power(32, 8, 2.0, ndr).value() == Approx(512 * 8.5));
  // A pod's 51.2 Tb/s uplink: 128 ports at the spine and 128 at the core; no core in a one-pod design.
  CHECK(pod_network_power(ByteRate(51.2e12 / 8), ndr, true).value() == Approx(256 * 8.5));
  CHECK(pod_network_power(ByteRate(51.2e12 / 8), ndr, false).value() == 0.0);
}
