// Unit tests of the platform layer: the Boost.Graph topology, the SimGrid star built from
// it, the platform XML and the checks on loaded platform files.
//
// SimGrid allows one Engine per process. The test that builds the star owns this
// process's Engine; every test that loads a platform file runs in a child process: this
// same executable, started with the name of a hidden ([.]) test case, which then creates
// the only Engine of that child.
#include <catch2/catch.hpp>

#include <cmath>

#include <unistd.h>  // readlink, getpid (not <sys/wait.h>: its base_value macro breaks units.hpp)

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>  // WIFEXITED and friends
#include <filesystem>
#include <fstream>
#include <sstream>

#include <simgrid/plugins/energy.h>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Link.hpp>
#include <xbt/log.h>

#include "platform/platform_precheck.hpp"
#include "platform/platform_xml.hpp"
#include "platform/simgrid_platform.hpp"
#include "platform/topology.hpp"

using namespace fleetsim;
namespace fs = std::filesystem;

namespace {

// A made-up accelerator and node with round numbers, so the expected values below can be
// worked out by hand.
Accelerator test_accelerator() {
  Accelerator a;
  a.name = "TestGPU";
  a.peak_bf16 = FlopRate(1e15);  // 1 PFLOP/s
  a.tdp = Watts(1000);
  a.idle = Watts(100);
  return a;
}

NodeType test_node() {
  NodeType n;
  n.name = "test-node";
  n.accelerator = "TestGPU";
  n.accelerators = 8;
  n.nics = 8;
  n.nic_bandwidth = ByteRate(50e9);  // 400 Gb/s per NIC
  n.idle_power = Watts(1500);
  n.max_power = Watts(10200);
  return n;
}

const Accelerator kAccelerator = test_accelerator();
const NodeType kNode = test_node();

const Accelerator* find_test_accelerator(const std::string& name) {
  return name == kAccelerator.name ? &kAccelerator : nullptr;
}

// Two pods of 4 nodes, 3 nodes per leaf, 2:1 oversubscribed, 1 TB/s and 5 us per pod into
// the core. By hand:
//   pods:     "a-0", "a-1" (count 2, so each instance is numbered)
//   leaves:   ceil(4 / 3) = 2 per pod: "a-0-l0" over n0 n1 n2, "a-0-l1" over n3
//   vertices: 1 core + 2 spines + 2 x 2 leaves + 2 x 4 nodes = 15
//   edges:    8 node-leaf + 4 leaf-spine + 2 spine-core = 14 (a tree: vertices - 1)
//   node-leaf:   8 NICs x 50 GB/s = 400 GB/s, 330 ns (kSwitchHopLatency)
//   leaf-spine:  3 nodes x 400 GB/s / 2 = 600 GB/s, 330 ns (the partly filled leaf too)
//   spine-core:  1 TB/s, 5 us
//   host speed:  8 x 1 PFLOP/s = 8 PFLOP/s; accelerators: 8 nodes x 8 = 64
ClusterDesign small_design() {
  PodSpec pod;
  pod.name = "a";
  pod.count = 2;
  pod.nodes = 4;
  pod.node = &kNode;
  pod.fabric.oversubscription = 2;
  pod.fabric.nodes_per_leaf = 3;
  ClusterDesign design;
  design.pods.push_back(pod);
  design.interconnect.bandwidth_per_pod = ByteRate(1e12);
  design.interconnect.latency = Seconds(5e-6);
  return design;
}

// 1M accelerators: 128 pods x 1,024 eight-GPU nodes, 32 nodes per leaf.
ClusterDesign million_gpu_design() {
  ClusterDesign design = small_design();
  design.pods[0].name = "hopper";
  design.pods[0].count = 128;
  design.pods[0].nodes = 1024;
  design.pods[0].fabric.nodes_per_leaf = 32;
  design.pods[0].fabric.oversubscription = 1;
  design.interconnect.bandwidth_per_pod = ByteRate(6.4e12);  // 51.2 Tb/s
  return design;
}

std::size_t count_kind(const TopologyGraph& g, VertexKind kind) {
  std::size_t n = 0;
  for (auto [it, end] = boost::vertices(g); it != end; ++it) n += g[*it].kind == kind ? 1 : 0;
  return n;
}

const TopologyEdge& edge_between(const Topology& t, const std::string& a, const std::string& b) {
  const TopologyGraph& g = t.graph();
  for (auto [it, end] = boost::edges(g); it != end; ++it) {
    const std::string& s = g[boost::source(*it, g)].name;
    const std::string& d = g[boost::target(*it, g)].name;
    if ((s == a && d == b) || (s == b && d == a)) return g[*it];
  }
  FAIL("no edge between " << a << " and " << b);
  throw std::logic_error("unreachable");
}

// A directory of this process's own, removed when the process exits.
fs::path scratch_dir() {
  struct Scratch {
    fs::path path = fs::temp_directory_path() / ("fleetsim-test-platform-" + std::to_string(::getpid()));
    Scratch() { fs::create_directories(path); }
    ~Scratch() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  };
  static const Scratch scratch;
  return scratch.path;
}

fs::path write_file(const std::string& name, const std::string& text) {
  fs::path path = scratch_dir() / name;
  std::ofstream(path) << text;
  return path;
}

std::string read_file(const fs::path& path) {
  std::ostringstream text;
  text << std::ifstream(path).rdbuf();
  return text.str();
}

// Runs the hidden test case `name` of this executable in a child process.
struct ChildRun {
  int exit_code = -1;
  std::string output;
};

ChildRun run_child(const std::string& name) {
  std::array<char, 4096> self{};
  const ssize_t length = ::readlink("/proc/self/exe", self.data(), self.size() - 1);
  REQUIRE(length > 0);
  const std::string command = "'" + std::string(self.data(), static_cast<std::size_t>(length)) + "' '" + name + "' 2>&1";
  ChildRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buffer{};
  std::size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) run.output.append(buffer.data(), got);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

// A child passes when its test case ran, passed, and got to its last line.
constexpr const char* kChildDone = "CHILD-DONE";

void require_child_passes(const std::string& name) {
  const ChildRun run = run_child(name);
  INFO("child '" << name << "' exited with " << run.exit_code << ", output:\n" << run.output);
  REQUIRE(run.exit_code == 0);
  REQUIRE(run.output.find(kChildDone) != std::string::npos);
}

// The message load_platform_file gives for `path`, or "" if it accepted the file.
std::string load_error(const fs::path& path, const Catalog& catalog) {
  try {
    load_platform_file(path.string(), catalog);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

// The first built-in node type whose accelerator is in the built-in catalog (nullptr if the
// catalog is empty; the tests that need one fail saying so). Loading a file checks names
// against the catalog, so these tests cannot use the made-up TestGPU.
const NodeType* first_builtin_node_type() {
  const Catalog& catalog = Catalog::builtin();
  for (const std::string& name : catalog.node_type_names()) {
    const NodeType* node = catalog.node_type(name);
    if (node != nullptr && catalog.accelerator(node->accelerator) != nullptr) return node;
  }
  return nullptr;
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

const char* const kXmlHeader =
    "<?xml version='1.0'?>\n"
    "<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
    "<platform version=\"4.1\">\n";

}  // namespace

// ---------------------------------------------------------------------------------------
// Topology
// ---------------------------------------------------------------------------------------

TEST_CASE("topology of 2 pods x 4 nodes with 3 nodes per leaf, counted by hand", "[platform][topology]") {
  const Topology t = Topology::from_design(small_design(), find_test_accelerator);
  const TopologyGraph& g = t.graph();

  CHECK(boost::num_vertices(g) == 15);
  CHECK(boost::num_edges(g) == 14);
  CHECK(count_kind(g, VertexKind::Node) == 8);
  CHECK(count_kind(g, VertexKind::Leaf) == 4);
  CHECK(count_kind(g, VertexKind::Spine) == 2);
  CHECK(count_kind(g, VertexKind::Core) == 1);
  CHECK(t.node_count() == 8);
  CHECK(t.accelerator_count() == 64);

  REQUIRE(t.pods().size() == 2);
  const PodInstance& pod1 = t.pods()[1];
  CHECK(t.pods()[0].name == "a-0");
  CHECK(pod1.name == "a-1");
  CHECK(pod1.first_node == 4);
  CHECK(pod1.leaves == 2);
  CHECK(pod1.accelerator == &kAccelerator);
  CHECK(pod1.node_peak_bf16.value() == 8e15);
  CHECK(pod1.node_uplink.value() == 400e9);
  CHECK(pod1.leaf_uplink.value() == 600e9);
  CHECK(pod1.pod_uplink.value() == 1e12);
  CHECK(pod1.bisection().value() == 4 * 400e9 / 2);

  // Node 7 is the 4th node of pod a-1: under its second leaf.
  const auto n7 = t.node_vertex(7);
  CHECK(g[n7].name == "a-1-n3");
  CHECK(g[n7].kind == VertexKind::Node);
  CHECK(g[n7].pod == 1);
  CHECK(g[t.parent(n7)].name == "a-1-l1");
  CHECK(g[t.parent(t.parent(n7))].name == "a-1-spine");
  CHECK(t.parent(t.parent(t.parent(n7))) == t.core_vertex());
  CHECK(g[t.core_vertex()].pod == -1);
  CHECK(g[t.node_vertex(2)].name == "a-0-n2");
  CHECK(g[t.parent(t.node_vertex(2))].name == "a-0-l0");

  const TopologyEdge& nic = edge_between(t, "a-1-n3", "a-1-l1");
  CHECK(nic.name == "a-1-n3-nic");
  CHECK(nic.bandwidth.value() == 400e9);
  CHECK(nic.latency.value() == kSwitchHopLatency.value());
  const TopologyEdge& leaf_up = edge_between(t, "a-1-l1", "a-1-spine");
  CHECK(leaf_up.name == "a-1-l1-up");
  CHECK(leaf_up.bandwidth.value() == 600e9);
  CHECK(leaf_up.latency.value() == kSwitchHopLatency.value());
  const TopologyEdge& pod_up = edge_between(t, "a-1-spine", "core");
  CHECK(pod_up.name == "a-1-up");
  CHECK(pod_up.bandwidth.value() == 1e12);
  CHECK(pod_up.latency.value() == 5e-6);
}

TEST_CASE("a pod with count 1 keeps its name", "[platform][topology]") {
  ClusterDesign design = small_design();
  design.pods[0].count = 1;
  design.pods[0].name = "solo";
  const Topology t = Topology::from_design(design, find_test_accelerator);
  REQUIRE(t.pods().size() == 1);
  CHECK(t.pods()[0].name == "solo");
  CHECK(t.graph()[t.node_vertex(3)].name == "solo-n3");
}

TEST_CASE("a 131072-node design builds with the right counts", "[platform][topology]") {
  const auto start = std::chrono::steady_clock::now();
  const Topology t = Topology::from_design(million_gpu_design(), find_test_accelerator);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Measured on a 2-core machine: 0.05 s optimised, 0.5 s in a Debug build with ASan and
  // UBSan. The bound leaves room for a loaded CI machine and still catches anything
  // quadratic (which would take minutes).
  INFO("131,072-node topology built in " << seconds << " s");
  CHECK(seconds < 2.0);

  // 128 pods x (1 spine + 1024 / 32 = 32 leaves + 1024 nodes) + 1 core = 135,297 vertices;
  // a tree, so 135,296 edges.
  CHECK(t.node_count() == 131072);
  CHECK(t.accelerator_count() == 1048576);
  CHECK(t.pods().size() == 128);
  CHECK(boost::num_vertices(t.graph()) == 135297);
  CHECK(boost::num_edges(t.graph()) == 135296);
  CHECK(count_kind(t.graph(), VertexKind::Leaf) == 4096);
  CHECK(t.graph()[t.node_vertex(131071)].name == "hopper-127-n1023");
  CHECK(t.graph()[t.parent(t.node_vertex(131071))].name == "hopper-127-l31");
}

// ---------------------------------------------------------------------------------------
// The SimGrid star: one test case, because it owns this process's only Engine.
// ---------------------------------------------------------------------------------------

TEST_CASE("the SimGrid star of the small design", "[platform][simgrid]") {
  static simgrid::s4u::Engine engine("test_platform");
  sg_host_energy_plugin_init();  // reads wattage_per_state as each host is sealed
  xbt_log_control_set("host_energy.thresh:warning");  // no per-host energy lines at exit

  const Topology t = Topology::from_design(small_design(), find_test_accelerator);
  const Fleet fleet = build_simgrid_platform(t);

  // 8 nodes and a gateway per pod.
  CHECK(engine.get_host_count() == 10);
  REQUIRE(fleet.pods.size() == 2);
  CHECK(fleet.node_count() == 8);
  CHECK(fleet.accelerator_count() == 64);
  const FleetPod& pod0 = fleet.pods[0];
  CHECK(pod0.name == "a-0");
  CHECK(pod0.node_type == &kNode);
  CHECK(pod0.accelerator == &kAccelerator);
  CHECK(pod0.accelerators_per_node == 8);
  CHECK(pod0.node_idle_watts == 1500);
  CHECK(pod0.node_busy_watts == 10200);
  REQUIRE(pod0.hosts.size() == 4);
  CHECK(pod0.hosts[3]->get_name() == "a-0-n3");
  REQUIRE(pod0.gateway != nullptr);
  CHECK(pod0.gateway->get_name() == "a-0-gw");

  const simgrid::s4u::Host* n0 = simgrid::s4u::Host::by_name("a-0-n0");
  CHECK(n0->get_speed() == 8e15);
  CHECK(n0->get_core_count() == 1);
  CHECK(std::string(n0->get_property("accelerator")) == "TestGPU");
  CHECK(std::string(n0->get_property("accelerators_per_node")) == "8");
  CHECK(std::string(n0->get_property("node_type")) == "test-node");
  CHECK(std::string(n0->get_property("pod")) == "a-0");
  // Idle, then the compute phase at 100/85/70/60/50% of TDP: host share 10200 - 8 x 1000
  // = 2200 W plus 8 x the limit; then decode at 600/700 of TDP (models/power.cpp).
  CHECK(std::string(n0->get_property("wattage_per_state"))
            .rfind("1500:10200,10200:10200,9000:9000,7800:7800,7000:7000,6200:6200,", 0) == 0);
  CHECK(std::string(n0->get_property("running_pstate")) == "1");
  // Decode at each of the 5 DVFS levels (a power cap and serving), 4 utilisations each.
  CHECK(std::string(n0->get_property("decode_pstate")) == "6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25");
  CHECK(std::string(n0->get_property("decode_levels")) == "5");
  CHECK(std::string(n0->get_property("dvfs_pstates")) == "1,2,3,4,5");
  CHECK(n0->get_pstate_count() == 26);
  CHECK(sg_host_get_wattmin_at(n0, 6) == Approx(2200 + 8 * 1000 * 600.0 / 700.0));
  // The speed each level leaves: ((limit - idle) / (TDP - idle))^(1/alpha), alpha from the
  // Splitwise H100 point (70% cap: prefill x 1.30) = ln(420/630) / ln(1/1.3); 50%: (400/900)^(1/alpha).
  const double alpha = std::log(420.0 / 630.0) / std::log(1 / 1.3);
  CHECK(n0->get_pstate_speed(1) == 8e15);
  CHECK(n0->get_pstate_speed(5) == Approx(8e15 * std::pow(400.0 / 900.0, 1 / alpha)));
  CHECK(n0->get_pstate_speed(6) == 8e15);
  CHECK(pod0.dvfs_pstates == std::vector<int>{1, 2, 3, 4, 5});
  CHECK(pod0.decode_pstates.size() == 20);
  CHECK(pod0.decode_pstates.front() == 6);
  CHECK(pod0.decode_levels == 5);
  // Decode under a limit: the board's decode power (600/700 of TDP = 857 W here) or the
  // limit, the lower; at 70% (700 W) the limit: host 2200 + 8 x 700, full speed.
  CHECK(sg_host_get_wattmin_at(n0, 6 + 2 * 4) == Approx(2200 + 8 * 700.0));
  CHECK(sg_host_get_wattmin_at(n0, 6 + 1 * 4) == Approx(2200 + 8 * 850.0));
  CHECK(n0->get_pstate_speed(6 + 4 * 4) == 8e15);
  // Decode at utilisation u: idle + (decode - idle) x u.
  CHECK(sg_host_get_wattmin_at(n0, 8) == Approx(1500 + (2200 + 8 * 1000 * 600.0 / 700.0 - 1500) * 0.5));
  CHECK(pod0.decode_utilisation[2] == Approx(0.5));
  CHECK(pod0.pstate_watts[6] < pod0.pstate_watts[1]);
  CHECK(std::string(n0->get_property("wattage_off")) == "0");
  CHECK(n0->get_property("role") == nullptr);
  // The energy plugin read the node's power when the host was sealed.
  CHECK(sg_host_get_wattmin_at(n0, 0) == 1500);
  CHECK(sg_host_get_wattmax_at(n0, 0) == 10200);
  CHECK(std::string(pod0.gateway->get_property("role")) == "pod-gateway");
  CHECK(sg_host_get_wattmax_at(pod0.gateway, 0) == 0);

  // Between pods: up through n0's NIC, its leaf and its pod, down through the other pod,
  // the other leaf and the NIC of a-1-n3 (which sits under a-1-l1).
  std::vector<simgrid::s4u::Link*> links;
  double latency = 0;
  n0->route_to(simgrid::s4u::Host::by_name("a-1-n3"), links, &latency);
  std::vector<std::string> names;
  std::vector<double> bandwidths;
  for (const auto* link : links) {
    names.emplace_back(link->get_name());
    bandwidths.push_back(link->get_bandwidth());
  }
  CHECK(names == std::vector<std::string>{"a-0-n0-nic_UP", "a-0-l0-up_UP", "a-0-up_UP", "a-1-up_DOWN",
                                          "a-1-l1-up_DOWN", "a-1-n3-nic_DOWN"});
  CHECK(bandwidths == std::vector<double>{400e9, 600e9, 1e12, 1e12, 600e9, 400e9});
  // 4 switch hops of 330 ns and 2 pod uplinks of 5 us.
  CHECK(latency == Approx(4 * 330e-9 + 2 * 5e-6).epsilon(1e-12));

  // The gateways' route is just the two pod uplinks.
  links.clear();
  latency = 0;
  fleet.pods[0].gateway->route_to(fleet.pods[1].gateway, links, &latency);
  REQUIRE(links.size() == 2);
  CHECK(links[0]->get_name() == "a-0-up_UP");
  CHECK(links[1]->get_name() == "a-1-up_DOWN");
  CHECK(latency == Approx(10e-6).epsilon(1e-12));
}

// ---------------------------------------------------------------------------------------
// Platform XML
// ---------------------------------------------------------------------------------------

TEST_CASE("the platform XML of the small design holds a cluster per pod", "[platform][xml]") {
  const Topology t = Topology::from_design(small_design(), find_test_accelerator);
  const fs::path path = scratch_dir() / "small.xml";
  {
    std::ofstream out(path);
    write_platform_xml(t, out);
  }
  const std::string xml = read_file(path);
  CHECK(xml.rfind("<?xml version='1.0'?>\n<!DOCTYPE platform", 0) == 0);
  CHECK(xml.find("<platform version=\"4.1\">") != std::string::npos);
  CHECK(xml.find("<zone id=\"fleet\" routing=\"DijkstraCache\">") != std::string::npos);
  // 8 PFLOP/s per node; 400 GB/s per node; backbone 4 x 400 GB/s / 2 = 800 GB/s.
  CHECK(xml.find("<cluster id=\"a-0\" prefix=\"a-0-n\" suffix=\"\" radical=\"0-3\" speed=\"8e+15f,8e+15f,") !=
        std::string::npos);
  CHECK(xml.find("bw=\"4e+11Bps\" lat=\"3.3e-07s\" sharing_policy=\"SPLITDUPLEX\" bb_bw=\"8e+11Bps\"") !=
        std::string::npos);
  CHECK(xml.find("<cluster id=\"a-1\"") != std::string::npos);
  CHECK(xml.find("<prop id=\"wattage_per_state\" value=\"1500:10200,10200:10200,9000:9000,") != std::string::npos);
  CHECK(xml.find("<prop id=\"dvfs_pstates\" value=\"1,2,3,4,5\"/>") != std::string::npos);
  CHECK(xml.find("<link id=\"a-1-up\" bandwidth=\"1e+12Bps\" latency=\"5e-06s\"") != std::string::npos);
  CHECK(xml.find("<zoneRoute src=\"a-1\" dst=\"core\" gw_src=\"a-1-gw\" gw_dst=\"core-router\">") !=
        std::string::npos);
  CHECK(xml.rfind("</platform>\n") == xml.size() - 12);
}

TEST_CASE("the platform XML of 131072 nodes is small", "[platform][xml]") {
  const Topology t = Topology::from_design(million_gpu_design(), find_test_accelerator);
  std::ostringstream out;
  write_platform_xml(t, out);
  // O(pods): 128 clusters of about 1,500 bytes (26 pstates each) and 3 x 128 links and zoneRoutes.
  CHECK(out.str().size() < 300000);
  CHECK(out.str().find("radical=\"0-1023\"") != std::string::npos);
  CHECK(out.str().find("<cluster id=\"hopper-127\"") != std::string::npos);
}

// ---------------------------------------------------------------------------------------
// Loading platform files (each load in its own child process)
// ---------------------------------------------------------------------------------------

TEST_CASE("a missing platform file is an input error", "[platform][load]") {
  // Refused before SimGrid is asked, so this may run in this process.
  const fs::path path = scratch_dir() / "no-such-platform.xml";
  CHECK(load_error(path, Catalog::builtin()) ==
        path.string() + ":0:0: cluster.platform: the SimGrid platform file does not exist");
}

TEST_CASE("what SimGrid would abort on is refused before SimGrid reads the file", "[platform][load]") {
  // SimGrid 3.32 kills the process on each of these (platform_precheck.hpp); they are
  // refused before SimGrid is asked, so this may run in this process.
  const fs::path path = write_file("aborts.xml", std::string(kXmlHeader) +
                                                     "  <zone id=\"lab\" routing=\"Star\">\n"
                                                     "    <!-- <host id=\"commented\" core=\"0\"/> is ignored -->\n"
                                                     "    <host id=\"n0\" speed=\"1Pf\" core=\"0\">\n"
                                                     "      <prop id=\"wattage_per_state\" value=\"1:x\"/>\n"
                                                     "    </host>\n"
                                                     "  </zone>\n"
                                                     "</platform>\n");
  const std::string file = path.string();
  CHECK(load_error(path, Catalog::builtin()) ==
        file + ":4:3: cluster.platform: zone \"lab\": routing \"Star\" is not one SimGrid 3.32 knows; expected one "
               "of Full, Floyd, Dijkstra, DijkstraCache, None, Vivaldi, Cluster, ClusterTorus, ClusterFatTree, "
               "ClusterDragonfly, Wifi\n" +
            file + ":6:5: cluster.platform: host \"n0\": attribute \"core\" is \"0\"; expected a whole number of "
                   "cores, at least 1\n" +
            file + ":7:7: cluster.platform: host \"n0\": property \"wattage_per_state\" is \"1:x\"; expected "
                   "\"IDLE:BUSY\" in watts per pstate (pstates separated by commas), for example 1500:10200");
}

TEST_CASE("a pstate count that differs from the speed list is refused", "[platform][load]") {
  const std::string xml = std::string(kXmlHeader) +
                          "  <cluster id=\"c\" prefix=\"n\" suffix=\"\" radical=\"0-3\" speed=\"1Pf,0.5Pf\" bw=\"1GBps\" "
                          "lat=\"1us\">\n"
                          "    <prop id=\"wattage_per_state\" value=\"100:200\"/>\n"
                          "  </cluster>\n</platform>\n";
  const auto problems = precheck_platform_xml("f.xml", xml);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].to_string() ==
        "f.xml:5:5: cluster.platform: cluster \"c\": property \"wattage_per_state\" gives 1 pstate(s) but the speed "
        "\"1Pf,0.5Pf\" gives 2; expected one IDLE:BUSY pair per speed");
}

TEST_CASE("wattage_per_state is read as SimGrid's energy plugin reads it", "[platform][load]") {
  const auto two = parse_wattage_per_state("1500:10200");
  REQUIRE(two.has_value());
  REQUIRE(two->size() == 1);
  CHECK((*two)[0].idle == 1500);
  CHECK((*two)[0].busy == 10200);
  // IDLE:EPSILON:ALL_CORES, then a second pstate.
  const auto three = parse_wattage_per_state("100:120:200,50:60");
  REQUIRE(three.has_value());
  REQUIRE(three->size() == 2);
  CHECK((*three)[0].idle == 100);
  CHECK((*three)[0].busy == 200);
  CHECK((*three)[1].busy == 60);
  CHECK_FALSE(parse_wattage_per_state("1:2,").has_value());
  CHECK_FALSE(parse_wattage_per_state("1500").has_value());
  CHECK_FALSE(parse_wattage_per_state("1:2:3:4").has_value());
  CHECK_FALSE(parse_wattage_per_state("1:2 ").has_value());
}

TEST_CASE("load_platform_file refuses a host without an accelerator", "[platform][load]") {
  require_child_passes("child: host without accelerator");
}

TEST_CASE("child: host without accelerator", "[.][child]") {
  static simgrid::s4u::Engine engine("test_platform-child");
  const fs::path path = write_file("no-accelerator.xml", std::string(kXmlHeader) +
                                                             "  <zone id=\"lab\" routing=\"Full\">\n"
                                                             "    <host id=\"node-a\" speed=\"1Pf\">\n"
                                                             "      <prop id=\"accelerators_per_node\" value=\"8\"/>\n"
                                                             "      <prop id=\"wattage_per_state\" value=\"1000:6000\"/>\n"
                                                             "    </host>\n"
                                                             "  </zone>\n"
                                                             "</platform>\n");
  CHECK(load_error(path, Catalog::builtin()) ==
        path.string() +
            ":5:5: cluster.platform: host \"node-a\": property \"accelerator\" is missing; expected the catalog "
            "name of the node's accelerators, for example <prop id=\"accelerator\" value=\"H100-SXM\"/>");
  std::puts(kChildDone);
}

TEST_CASE("load_platform_file collects every problem and caps the list", "[platform][load]") {
  require_child_passes("child: many problems");
}

TEST_CASE("child: many problems", "[.][child]") {
  static simgrid::s4u::Engine engine("test_platform-child");
  // n0: a wrong count and no wattage; n1..n24: nothing at all (3 problems each).
  std::string xml = std::string(kXmlHeader) + "  <zone id=\"lab\" routing=\"Full\">\n";
  xml += "    <host id=\"n0\" speed=\"1Pf\"><prop id=\"accelerators_per_node\" value=\"8.5\"/></host>\n";
  for (int i = 1; i < 25; ++i) xml += "    <host id=\"n" + std::to_string(i) + "\" speed=\"1Pf\"/>\n";
  xml += "  </zone>\n</platform>\n";
  const fs::path path = write_file("many-problems.xml", xml);
  try {
    load_platform_file(path.string(), Catalog::builtin());
    FAIL("the file was accepted");
  } catch (const InputError& e) {
    // 3 for n0 (wattage, accelerator, count) + 3 x 24 = 75: 20 shown and a summary line.
    const auto& problems = e.problems();
    REQUIRE(problems.size() == 21);
    CHECK(problems[0].message ==
          "host \"n0\": property \"wattage_per_state\" is missing; expected \"IDLE:BUSY\" in watts for the whole "
          "node (for example 1500:10200), which SimGrid's energy plugin needs");
    CHECK(problems[2].message ==
          "host \"n0\": property \"accelerators_per_node\" is \"8.5\"; expected a whole number of accelerators per "
          "node, at least 1");
    // File order, not name order: n2 comes before n10.
    CHECK(problems[6].message.rfind("host \"n2\":", 0) == 0);
    // Each at its host's line: n0 on line 5, so n2 on line 7.
    CHECK(problems[6].where.line == 7);
    CHECK(problems[6].where.column == 5);
    CHECK(problems[20].message == "and 55 more problems like these");
    for (const Problem& p : problems) {
      CHECK(p.where.file == path.string());
      CHECK(p.key_path == "cluster.platform");
    }
  }
  std::puts(kChildDone);
}

TEST_CASE("XML that SimGrid refuses is an input error with its line", "[platform][load]") {
  require_child_passes("child: broken XML");
}

TEST_CASE("child: broken XML", "[.][child]") {
  static simgrid::s4u::Engine engine("test_platform-child");
  const fs::path path = write_file("broken.xml", std::string(kXmlHeader) +
                                                     "  <zone id=\"lab\" routing=\"Full\">\n"
                                                     "    <host id=\"n0\" speed=\"1Pf\">\n"
                                                     "  </zone>\n"
                                                     "</platform>\n");
  try {
    load_platform_file(path.string(), Catalog::builtin());
    FAIL("the file was accepted");
  } catch (const InputError& e) {
    REQUIRE(e.problems().size() == 1);
    const Problem& p = e.problems()[0];
    INFO(e.what());
    CHECK(p.where.file == path.string());
    CHECK(p.where.line == 6);
    CHECK(p.key_path == "cluster.platform");
    CHECK(p.message.rfind("SimGrid refused the platform: ", 0) == 0);
  }
  std::puts(kChildDone);
}

TEST_CASE("an unknown accelerator gets a did-you-mean", "[platform][load]") {
  require_child_passes("child: unknown accelerator");
}

TEST_CASE("child: unknown accelerator", "[.][child]") {
  static simgrid::s4u::Engine engine("test_platform-child");
  const NodeType* node = first_builtin_node_type();
  if (node == nullptr) FAIL("the built-in catalog has no node type yet");
  const std::string typo = node->accelerator + "x";
  const fs::path path = write_file("typo.xml", std::string(kXmlHeader) +
                                                   "  <zone id=\"lab\" routing=\"Full\">\n"
                                                   "    <host id=\"node-a\" speed=\"1Pf\">\n"
                                                   "      <prop id=\"accelerator\" value=\"" + typo + "\"/>\n"
                                                   "      <prop id=\"accelerators_per_node\" value=\"8\"/>\n"
                                                   "      <prop id=\"wattage_per_state\" value=\"1000:6000\"/>\n"
                                                   "    </host>\n"
                                                   "  </zone>\n"
                                                   "</platform>\n");
  CHECK(load_error(path, Catalog::builtin()) ==
        path.string() + ":5:5: cluster.platform: host \"node-a\": property \"accelerator\" is \"" + typo +
            "\", which is not a catalog accelerator; did you mean \"" + node->accelerator + "\"?");
  std::puts(kChildDone);
}

TEST_CASE("a link drawing more busy than idle, and decode blocks not one per DVFS level, are refused with their lines",
          "[platform][load]") {
  require_child_passes("child: link wattage_range and decode_levels");
}

TEST_CASE("child: link wattage_range and decode_levels", "[.][child]") {
  static simgrid::s4u::Engine engine("test_platform-child");
  const fs::path path = write_file("link-decode.xml", std::string(kXmlHeader) +
                                   "  <zone id=\"lab\" routing=\"Full\">\n"                                       // 4
                                   "    <host id=\"node-a\" speed=\"1Pf,1Pf,1Pf,1Pf,1Pf,1Pf\">\n"                 // 5
                                   "      <prop id=\"accelerator\" value=\"H100-SXM\"/>\n"
                                   "      <prop id=\"accelerators_per_node\" value=\"8\"/>\n"
                                   "      <prop id=\"wattage_per_state\" value=\"1560:10200,10200:10200,9360:9360,"
                                   "8520:8520,9400:9400,8520:8520\"/>\n"
                                   "      <prop id=\"running_pstate\" value=\"1\"/>\n"
                                   "      <prop id=\"dvfs_pstates\" value=\"1,2,3\"/>\n"
                                   "      <prop id=\"decode_pstate\" value=\"4,5\"/>\n"
                                   "      <prop id=\"decode_levels\" value=\"2\"/>\n"
                                   "    </host>\n"
                                   "    <link id=\"fab\" bandwidth=\"1GBps\" latency=\"0\">\n"                   // 14
                                   "      <prop id=\"wattage_range\" value=\"100:200\"/>\n"
                                   "    </link>\n"
                                   "  </zone>\n"
                                   "</platform>\n");
  const std::string error = load_error(path, Catalog::builtin());
  INFO(error);
  CHECK(error.find(path.string() + ":5:5: cluster.platform: host \"node-a\": property \"decode_levels\" is 2 but "
                   "\"dvfs_pstates\" lists 3 DVFS level(s)") != std::string::npos);
  CHECK(error.find(path.string() + ":14:5: cluster.platform: link \"fab\": property \"wattage_range\" is \"100:200\"; "
                   "expected IDLE equal to BUSY") != std::string::npos);
  std::puts(kChildDone);
}

TEST_CASE("the platform XML loads in SimGrid and passes load_platform_file", "[platform][load][xml]") {
  require_child_passes("child: load the written XML");
}

TEST_CASE("child: load the written XML", "[.][child]") {
  static simgrid::s4u::Engine engine("test_platform-child");
  sg_host_energy_plugin_init();
  const Catalog& catalog = Catalog::builtin();
  const NodeType* node = first_builtin_node_type();
  if (node == nullptr) FAIL("the built-in catalog has no node type yet");
  ClusterDesign design = small_design();
  design.pods[0].node = node;
  const Topology t = Topology::from_design(design, catalog);
  const fs::path path = scratch_dir() / "written.xml";
  {
    std::ofstream out(path);
    write_platform_xml(t, out);
  }

  const Fleet fleet = load_platform_file(path.string(), catalog);
  CHECK(engine.get_host_count() == 8);  // the gateways are cluster routers, not hosts
  REQUIRE(fleet.pods.size() == 2);
  CHECK(fleet.node_count() == 8);
  CHECK(fleet.accelerator_count() == 8 * node->accelerators);
  for (int p = 0; p < 2; ++p) {
    const FleetPod& pod = fleet.pods[static_cast<std::size_t>(p)];
    const std::string name = "a-" + std::to_string(p);
    CHECK(pod.name == name);
    CHECK(pod.node_type == node);
    CHECK(pod.accelerator == catalog.accelerator(node->accelerator));
    CHECK(pod.accelerators_per_node == node->accelerators);
    CHECK(pod.node_idle_watts == node->idle_power.value());
    CHECK(pod.node_busy_watts == node->max_power.value());
    REQUIRE(pod.hosts.size() == 4);
    for (int i = 0; i < 4; ++i) CHECK(pod.hosts[static_cast<std::size_t>(i)]->get_name() == name + "-n" + std::to_string(i));
    CHECK(pod.gateway == pod.hosts[0]);
    CHECK(pod.hosts[0]->get_speed() == Approx(t.pods()[0].node_peak_bf16.value()));
  }
  CHECK(sg_host_get_wattmax_at(fleet.pods[0].hosts[0], 0) == node->max_power.value());

  // Through the XML the route has the NIC, the pod backbone (standing in for the leaves and
  // the spine) and the pod uplinks: 4 switch hops and 2 x 5 us, as in the star.
  std::vector<simgrid::s4u::Link*> links;
  double latency = 0;
  fleet.pods[0].hosts[0]->route_to(fleet.pods[1].hosts[3], links, &latency);
  std::vector<std::string> names;
  for (const auto* link : links) names.emplace_back(link->get_name());
  INFO("route: " << joined(names));
  CHECK(links.size() == 6);
  CHECK(std::find(names.begin(), names.end(), "a-0-up_UP") != names.end());
  CHECK(std::find(names.begin(), names.end(), "a-1-up_DOWN") != names.end());
  CHECK(latency == Approx(4 * 330e-9 + 2 * 5e-6).epsilon(1e-12));
  std::puts(kChildDone);
}
