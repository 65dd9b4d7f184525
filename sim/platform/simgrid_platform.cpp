#include "platform/simgrid_platform.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <unordered_map>

#include <simgrid/Exception.hpp>
#include <simgrid/kernel/routing/NetPoint.hpp>
#include <simgrid/s4u/Engine.hpp>
#include <simgrid/s4u/Host.hpp>
#include <simgrid/s4u/Link.hpp>
#include <simgrid/s4u/NetZone.hpp>

#include "core/log.hpp"
#include "platform/host_properties.hpp"
#include "platform/platform_precheck.hpp"

namespace fleetsim {

namespace sg4 = simgrid::s4u;
namespace props = host_properties;

int Fleet::node_count() const {
  int total = 0;
  for (const FleetPod& pod : pods) total += static_cast<int>(pod.hosts.size());
  return total;
}

int Fleet::accelerator_count() const {
  int total = 0;
  for (const FleetPod& pod : pods) total += static_cast<int>(pod.hosts.size()) * pod.accelerators_per_node;
  return total;
}

// ---------------------------------------------------------------------------------------
// Building the star from a topology
// ---------------------------------------------------------------------------------------

namespace {

constexpr auto kUp = sg4::LinkInRoute::Direction::UP;

sg4::Link* create_link(sg4::NetZone* zone, const TopologyEdge& edge) {
  return zone->create_split_duplex_link(edge.name, edge.bandwidth.value())->set_latency(edge.latency.value())->seal();
}

}  // namespace

Fleet build_simgrid_platform(const Topology& topology) {
  auto* engine = sg4::Engine::get_instance();
  sg4::NetZone* const root = engine->get_netzone_root();
  // The first zone created becomes SimGrid's root; if the caller made one already, the
  // star hangs below it and routing to the rest of that platform is the caller's business.
  sg4::NetZone* zone = sg4::create_star_zone("fleet");
  if (root != nullptr) zone->set_parent(root);

  const TopologyGraph& g = topology.graph();
  Fleet fleet;
  fleet.pods.reserve(topology.pods().size());
  for (const PodInstance& pod : topology.pods()) {
    FleetPod fleet_pod;
    fleet_pod.name = pod.name;
    fleet_pod.node_type = pod.node_type;
    fleet_pod.accelerator = pod.accelerator;
    fleet_pod.accelerators_per_node = pod.node_type->accelerators;
    fleet_pod.node_idle_watts = pod.node_type->idle_power.value();
    fleet_pod.node_busy_watts = pod.node_type->max_power.value();
    const NodePowerTable power = props::power_table(pod);
    fleet_pod.running_pstate = power.compute_pstate(0);
    for (std::size_t k = 0; k < power.decode_w.size(); ++k) {
      fleet_pod.decode_pstates.push_back(power.decode_pstate(int(k)));
      fleet_pod.decode_utilisation.push_back(power.decode_utilisation[k % power.decode_utilisation.size()]);
    }
    fleet_pod.decode_levels = std::max(1, power.decode_levels);
    fleet_pod.pstate_watts = {power.idle_w};
    for (std::size_t l = 0; l < power.compute_w.size(); ++l) {
      fleet_pod.pstate_watts.push_back(power.compute_w[l]);
      fleet_pod.dvfs_pstates.push_back(power.compute_pstate(int(l)));
      fleet_pod.dvfs_speed.push_back(power.speed[l]);
    }
    for (double w : power.decode_w) fleet_pod.pstate_watts.push_back(w);
    fleet_pod.node_busy_watts = power.compute_w.front();
    fleet_pod.hosts.reserve(static_cast<std::size_t>(pod.nodes));

    sg4::Link* pod_up = create_link(zone, g[topology.uplink(pod.spine_vertex)]);
    // The pod's switch ports and optics as one link that no route crosses: fleetsim's flows
    // are the traffic between pods only, so link loads could not say how busy a leaf is,
    // and switch power hardly depends on load anyway (docs/models/power.md, "Network").
    // One link per pod, not one per switch: the energy plugin's bookkeeping stays O(pods).
    if (const double watts = props::fabric_watts(topology, pod); watts > 0) {
      sg4::Link* fabric = zone->create_link(props::fabric_link_name(pod), pod.pod_uplink.value());
      fabric->set_sharing_policy(sg4::Link::SharingPolicy::SHARED);
      fabric->set_property(props::kWattageRange, props::number_text(watts) + ":" + props::number_text(watts));
      fabric->seal();
      fleet.powered_links.push_back(fabric);
      fleet.network_watts += watts;
    }
    // The gateway stands for the pod's egress: it computes nothing (speed 1 FLOP/s is
    // SimGrid's smallest sensible value) and draws nothing.
    sg4::Host* gateway = zone->create_host(pod.name + "-gw", 1.0);
    gateway->set_property(props::kRole, props::kPodGateway);
    gateway->set_property(props::kPod, pod.name);
    gateway->set_property(props::kWattagePerState, "0:0");
    gateway->set_property(props::kWattageOff, "0");
    gateway->seal();
    zone->add_route(gateway->get_netpoint(), nullptr, nullptr, nullptr, {{pod_up, kUp}}, true);
    fleet_pod.gateway = gateway;

    const auto properties = props::node_properties(pod);
    TopologyGraph::vertex_descriptor current_leaf = topology.core_vertex();  // no leaf yet
    sg4::Link* leaf_up = nullptr;
    for (int n = 0; n < pod.nodes; ++n) {
      const auto node = topology.node_vertex(pod.first_node + n);
      const auto nic_edge = topology.uplink(node);
      const auto leaf = boost::target(nic_edge, g);
      if (leaf != current_leaf) {
        current_leaf = leaf;
        leaf_up = create_link(zone, g[topology.uplink(leaf)]);
      }
      // Properties go in before seal(): the energy plugin reads wattage_per_state when the
      // host is sealed.
      // Available, the compute phase at each DVFS level, decode (host_properties.hpp).
      sg4::Host* host = zone->create_host(g[node].name, props::pstate_speeds(power, pod.node_peak_bf16.value()));
      for (const auto& [key, value] : properties) host->set_property(key, value);
      host->seal();
      sg4::Link* nic = create_link(zone, g[nic_edge]);
      zone->add_route(host->get_netpoint(), nullptr, nullptr, nullptr, {{nic, kUp}, {leaf_up, kUp}, {pod_up, kUp}},
                      true);
      fleet_pod.hosts.push_back(host);
    }
    fleet.pods.push_back(std::move(fleet_pod));
  }
  zone->seal();
  layer_logger("platform")->info("built the SimGrid platform: {} pods, {} nodes, {} accelerators",
                                 fleet.pods.size(), fleet.node_count(), fleet.accelerator_count());
  return fleet;
}

// ---------------------------------------------------------------------------------------
// Loading and checking a platform file
// ---------------------------------------------------------------------------------------

namespace {

constexpr const char* kKeyPath = "cluster.platform";
// More problems than this and the rest is summarised: a file with 100k unlabelled hosts
// should not print 100k lines.
constexpr std::size_t kMaxProblems = 20;

std::string in_quotes(const std::string& text) { return "\"" + text + "\""; }

// Parses a whole string as a positive int; nullopt for "8.5", "eight", "0", "8 ".
std::optional<int> parse_count(const std::string& text) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 1) return std::nullopt;
  return value;
}

class ProblemCollector {
 public:
  explicit ProblemCollector(std::string file) : where_{std::move(file), 0, 0} {}
  // Where the next problems are: a host's declaration, or the file as a whole (line 0).
  void locate(SourceLocation where) { where_ = std::move(where); }
  void add(const std::string& message) { problems_.push_back({where_, kKeyPath, message}); }
  void add(Problem problem) { problems_.push_back(std::move(problem)); }
  void throw_if_any() {
    if (problems_.empty()) return;
    if (problems_.size() > kMaxProblems) {
      const std::size_t more = problems_.size() - kMaxProblems;
      problems_.resize(kMaxProblems);
      add("and " + std::to_string(more) + " more problem" + (more == 1 ? "" : "s") + " like these");
    }
    throw InputError(std::move(problems_));
  }

 private:
  SourceLocation where_;
  std::vector<Problem> problems_;
};

// Line and column (1-based) of the element that declares `host` in the platform text: its
// own <host id="...">, or else the <cluster> (or zone) whose id is the host's netzone, since
// a cluster's hosts have no element of their own and take its properties. Line 0 when
// neither is found (a host made by a construct this search does not know).
// Offset of the element <tag id="id" ...> (one of `tags`) in the platform text, or npos.
std::size_t element_with_id(std::string_view text, const std::string& id, std::initializer_list<std::string_view> tags) {
  const std::string needle = "id=\"" + id + "\"";
  for (std::size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1)) {
    const std::size_t open = text.rfind('<', at);
    if (open == std::string_view::npos) continue;
    for (std::string_view tag : tags)
      if (text.compare(open + 1, tag.size(), tag) == 0) return open;
  }
  return std::string_view::npos;
}

SourceLocation location_at(const std::string& file, std::string_view text, std::size_t offset) {
  if (offset == std::string_view::npos) return {file, 0, 0};
  const std::string_view before = text.substr(0, offset);
  const std::size_t line_start = before.rfind('\n');
  const int line = 1 + int(std::count(before.begin(), before.end(), '\n'));
  const int column = 1 + int(line_start == std::string_view::npos ? offset : offset - line_start - 1);
  return {file, line, column};
}

SourceLocation declaration_of(const std::string& file, std::string_view text, const sg4::Host* host) {
  std::size_t offset = element_with_id(text, host->get_name(), {"host "});
  if (offset == std::string_view::npos)
    offset = element_with_id(text, host->get_englobing_zone()->get_name(), {"cluster ", "zone "});
  return location_at(file, text, offset);
}

// Line and column of a link's own <link id="..."> element; line 0 when it has none (a
// link made by a <cluster>, whose properties it cannot carry anyway).
SourceLocation declaration_of(const std::string& file, std::string_view text, const sg4::Link* link) {
  return location_at(file, text, element_with_id(text, link->get_name(), {"link "}));
}

// Hosts in the order the file declares them (Engine::get_all_hosts() sorts by name, which
// puts "n10" before "n2"): zones depth first in creation order, then each zone's hosts by
// their netpoint id, which SimGrid hands out in creation order within a zone.
std::vector<sg4::Host*> hosts_in_file_order(const sg4::Engine& engine) {
  std::unordered_map<const sg4::NetZone*, std::size_t> zone_rank;
  std::vector<const sg4::NetZone*> stack{engine.get_netzone_root()};
  while (!stack.empty()) {
    const sg4::NetZone* zone = stack.back();
    stack.pop_back();
    zone_rank.emplace(zone, zone_rank.size());
    auto children = zone->get_children();
    for (auto it = children.rbegin(); it != children.rend(); ++it) stack.push_back(*it);
  }
  std::vector<sg4::Host*> hosts = engine.get_all_hosts();
  auto key = [&zone_rank](const sg4::Host* host) {
    return std::make_pair(zone_rank.at(host->get_englobing_zone()), host->get_netpoint()->id());
  };
  std::sort(hosts.begin(), hosts.end(), [&key](const sg4::Host* a, const sg4::Host* b) { return key(a) < key(b); });
  return hosts;
}

std::string property(const sg4::Host* host, const char* key) {
  const char* value = host->get_property(key);
  return value == nullptr ? std::string() : std::string(value);
}

// What makes two hosts the same kind of node; every node of a pod must agree on it.
struct NodeKind {
  std::string accelerator;
  std::string accelerators_per_node;
  std::string node_type;
  std::string wattage_per_state;
};

struct PodBeingBuilt {
  FleetPod pod;
  NodeKind kind;
  std::string first_host;
};

}  // namespace

Fleet load_platform_file(const std::string& path, const Catalog& catalog) {
  auto refuse = [&path](const std::string& message) { return InputError(Problem{{path, 0, 0}, kKeyPath, message}); };

  // Checked before SimGrid is asked, so the message says what is wrong in a user's words.
  std::error_code error;
  if (!std::filesystem::exists(path, error)) throw refuse("the SimGrid platform file does not exist");
  if (!std::filesystem::is_regular_file(path, error))
    throw refuse("expected a SimGrid platform file, got a directory or device");
  std::ifstream file(path);
  if (!file.good()) throw refuse("the SimGrid platform file cannot be read (check its permissions)");
  std::string file_text;
  {
    // What SimGrid would abort on rather than throw (platform_precheck.hpp) is looked for
    // first, in the text.
    std::ostringstream content;
    content << file.rdbuf();
    file_text = content.str();
    ProblemCollector early(path);
    for (Problem& problem : precheck_platform_xml(path, file_text)) early.add(std::move(problem));
    early.throw_if_any();
  }

  auto* engine = sg4::Engine::get_instance();
  try {
    engine->load_platform(path);
    // SimGrid seals the file's top zone only here (or when the simulation starts): before
    // that, its routes between sub-zones are not computed (route_to() between clusters
    // dies on an xbt_dynar index of -1). Sealing now also turns routing errors into
    // exceptions while we can still say which file caused them.
    engine->seal_platform();
  } catch (const simgrid::ParseError& e) {
    // "Parse error at FILE:LINE: message": keep the line, so the user lands on it.
    const std::string text = e.what();
    const std::string prefix = "Parse error at " + path + ":";
    int line = 0;
    std::string message = text;
    if (text.rfind(prefix, 0) == 0) {
      const char* begin = text.c_str() + prefix.size();
      auto [end, ec] = std::from_chars(begin, text.c_str() + text.size(), line);
      if (ec == std::errc() && text.compare(static_cast<std::size_t>(end - text.c_str()), 2, ": ") == 0)
        message = std::string(end + 2);
      else
        line = 0;
    }
    throw InputError(Problem{{path, line, 0}, kKeyPath, "SimGrid refused the platform: " + message});
  } catch (const std::exception& e) {
    throw refuse(std::string("SimGrid refused the platform: ") + e.what());
  }

  ProblemCollector problems(path);
  const std::vector<std::string> accelerator_names = catalog.accelerator_names();
  const std::vector<std::string> node_type_names = catalog.node_type_names();
  std::vector<PodBeingBuilt> pods;
  std::unordered_map<std::string, std::size_t> pod_index;

  auto unknown = [](const std::string& name, const std::vector<std::string>& known) {
    const std::string hint = closest_match(name, known);
    if (!hint.empty()) return "; did you mean " + in_quotes(hint) + "?";
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    return list.empty() ? std::string("; the catalog has none") : "; known: " + list;
  };

  for (sg4::Host* host : hosts_in_file_order(*engine)) {
    const std::string name = in_quotes(host->get_name());
    problems.locate(declaration_of(path, file_text, host));
    std::string pod_name = property(host, props::kPod);
    if (pod_name.empty()) pod_name = host->get_englobing_zone()->get_name();
    auto [slot, added] = pod_index.emplace(pod_name, pods.size());
    if (added) {
      pods.emplace_back();
      pods.back().pod.name = pod_name;
    }
    PodBeingBuilt& building = pods[slot->second];

    const std::string wattage_text = property(host, props::kWattagePerState);
    std::optional<std::vector<PstateWattage>> wattage;
    if (wattage_text.empty()) {
      problems.add("host " + name + ": property \"wattage_per_state\" is missing; expected \"IDLE:BUSY\" in " +
                   "watts for the whole node (for example 1500:10200), which SimGrid's energy plugin needs");
    } else if (!(wattage = parse_wattage_per_state(wattage_text))) {
      problems.add("host " + name + ": property \"wattage_per_state\" is " + in_quotes(wattage_text) +
                   "; expected \"IDLE:BUSY\" in watts for the whole node, for example 1500:10200");
    }

    if (property(host, props::kRole) == props::kPodGateway) {
      if (building.pod.gateway != nullptr) {
        problems.add("host " + name + ": pod " + in_quotes(pod_name) + " already has the gateway " +
                     in_quotes(building.pod.gateway->get_name()) + "; expected one host with role=pod-gateway per pod");
      }
      building.pod.gateway = host;
      continue;
    }

    NodeKind kind{property(host, props::kAccelerator), property(host, props::kAcceleratorsPerNode),
                  property(host, props::kNodeType), wattage_text};
    const Accelerator* accelerator = nullptr;
    if (kind.accelerator.empty()) {
      problems.add("host " + name + ": property \"accelerator\" is missing; expected the catalog name of the " +
                   "node's accelerators, for example <prop id=\"accelerator\" value=\"H100-SXM\"/>");
    } else if ((accelerator = catalog.accelerator(kind.accelerator)) == nullptr) {
      problems.add("host " + name + ": property \"accelerator\" is " + in_quotes(kind.accelerator) +
                   ", which is not a catalog accelerator" + unknown(kind.accelerator, accelerator_names));
    }
    std::optional<int> per_node;
    if (kind.accelerators_per_node.empty()) {
      problems.add("host " + name + ": property \"accelerators_per_node\" is missing; expected a whole number " +
                   "of accelerators per node, at least 1, for example <prop id=\"accelerators_per_node\" value=\"8\"/>");
    } else if (!(per_node = parse_count(kind.accelerators_per_node))) {
      problems.add("host " + name + ": property \"accelerators_per_node\" is " + in_quotes(kind.accelerators_per_node) +
                   "; expected a whole number of accelerators per node, at least 1");
    }
    const NodeType* node_type = nullptr;
    if (!kind.node_type.empty() && (node_type = catalog.node_type(kind.node_type)) == nullptr) {
      problems.add("host " + name + ": property \"node_type\" is " + in_quotes(kind.node_type) +
                   ", which is not a catalog node type" + unknown(kind.node_type, node_type_names));
    }

    FleetPod& pod = building.pod;
    if (pod.hosts.empty()) {
      building.kind = kind;
      building.first_host = host->get_name();
      pod.accelerator = accelerator;
      pod.node_type = node_type;
      pod.accelerators_per_node = per_node.value_or(0);
      if (wattage) {  // the first pstate: the one a node runs at unless the engine changes it
        pod.node_idle_watts = wattage->front().idle;
        pod.node_busy_watts = wattage->front().busy;
      }
      if (wattage)
        for (const auto& w : *wattage) pod.pstate_watts.push_back(w.idle);
      if (const char* running = host->get_property(props::kRunningPstate)) {
        const std::string text = running;
        const bool digits = !text.empty() && text.size() < 6 &&
                            std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
        const int index = digits ? std::stoi(text) : -1;
        if (index >= 0 && index < int(host->get_pstate_count()))
          pod.running_pstate = index;
        else
          problems.add("host " + name + ": property \"running_pstate\" is " + in_quotes(text) +
                       "; expected the index of one of its " + std::to_string(host->get_pstate_count()) + " pstates");
      }
      // Optional phase and DVFS pstates; without them everything runs in running_pstate.
      auto pstate_index = [&](const std::string& text, const char* key) {
        const bool digits = !text.empty() && text.size() < 6 &&
                            std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
        const int index = digits ? std::stoi(text) : -1;
        if (index < 1 || index >= int(host->get_pstate_count())) {
          problems.add("host " + name + ": property \"" + key + "\" names pstate " + in_quotes(text) +
                       "; expected the index of one of its " + std::to_string(host->get_pstate_count()) +
                       " pstates other than 0");
          return -1;
        }
        return index;
      };
      if (pod.running_pstate >= 0) {
        // "6,7,8,9": pstate indices, each checked; the running pstate where absent.
        auto index_list = [&](const char* key) {
          std::vector<int> out;
          const char* value = host->get_property(key);
          if (!value) return std::vector<int>{pod.running_pstate};
          const std::string text = value;
          for (std::size_t start = 0; start <= text.size();) {
            std::size_t comma = text.find(',', start);
            if (comma == std::string::npos) comma = text.size();
            const int index = pstate_index(text.substr(start, comma - start), key);
            out.push_back(index >= 0 ? index : pod.running_pstate);
            start = comma + 1;
          }
          return out;
        };
        pod.decode_pstates = index_list(props::kDecodePstate);
        if (const char* levels = host->get_property(props::kDecodeLevels)) {
          const std::optional<int> count = parse_count(levels);
          if (count && pod.decode_pstates.size() % std::size_t(*count) == 0)
            pod.decode_levels = *count;
          else
            problems.add("host " + name + ": property \"decode_levels\" is " + in_quotes(levels) +
                         "; expected a whole number that divides the " + std::to_string(pod.decode_pstates.size()) +
                         " decode pstates into equal blocks, one per DVFS level");
        }
        const auto watt = [&](int s) { return wattage && std::size_t(s) < wattage->size() ? (*wattage)[std::size_t(s)].idle : 0.0; };
        const double idle = wattage ? wattage->front().idle : 0.0;
        const std::size_t block = pod.decode_pstates.size() / std::size_t(pod.decode_levels);
        for (std::size_t i = 0; i < pod.decode_pstates.size(); ++i) {
          const double full_decode = watt(pod.decode_pstates[i - i % block]);
          pod.decode_utilisation.push_back(full_decode > idle ? (watt(pod.decode_pstates[i]) - idle) / (full_decode - idle) : 1.0);
        }
        const std::vector<int> levels = index_list(props::kDvfsPstates);
        const double full = host->get_pstate_speed(levels.front() >= 0 ? levels.front() : pod.running_pstate);
        for (int l : levels) {
          pod.dvfs_pstates.push_back(l >= 0 ? l : pod.running_pstate);
          pod.dvfs_speed.push_back(host->get_pstate_speed(pod.dvfs_pstates.back()) / full);
        }
        // A capped service at DVFS level l draws decode block l and is planned at the
        // speed of dvfs pstate l: the blocks must be one per DVFS level (or one for all).
        if (pod.decode_levels > 1 && std::size_t(pod.decode_levels) != pod.dvfs_pstates.size())
          problems.add("host " + name + ": property \"decode_levels\" is " + std::to_string(pod.decode_levels) +
                       " but \"dvfs_pstates\" lists " + std::to_string(pod.dvfs_pstates.size()) +
                       " DVFS level(s); expected 1 or as many decode blocks as DVFS levels");
      }

    } else {
      const std::pair<const char*, const std::string*> checks[] = {
          {props::kAccelerator, &kind.accelerator},
          {props::kAcceleratorsPerNode, &kind.accelerators_per_node},
          {props::kNodeType, &kind.node_type},
          {props::kWattagePerState, &kind.wattage_per_state}};
      const std::string* reference[] = {&building.kind.accelerator, &building.kind.accelerators_per_node,
                                        &building.kind.node_type, &building.kind.wattage_per_state};
      for (std::size_t i = 0; i < std::size(checks); ++i) {
        // A missing value is reported above; comparing it would only say the same twice.
        if (checks[i].second->empty() || reference[i]->empty() || *checks[i].second == *reference[i]) continue;
        problems.add("host " + name + ": property " + in_quotes(checks[i].first) + " is " + in_quotes(*checks[i].second) +
                     " but " + in_quotes(building.first_host) + ", the first host of pod " + in_quotes(pod_name) +
                     ", has " + in_quotes(*reference[i]) +
                     "; expected one kind of node per pod (give other nodes another \"pod\" property)");
      }
    }
    pod.hosts.push_back(host);
  }

  // Network power: links with a wattage_range (SimGrid's link energy plugin reads it).
  Fleet fleet;
  for (sg4::Link* link : engine->get_all_links()) {
    const char* range = link->get_property(props::kWattageRange);
    if (range == nullptr) continue;
    problems.locate(declaration_of(path, file_text, link));
    const auto watts = parse_wattage_per_state(range);
    if (!watts || watts->size() != 1 || std::count(range, range + std::strlen(range), ':') != 1) {
      problems.add("link " + in_quotes(link->get_name()) + ": property \"wattage_range\" is " + in_quotes(range) +
                   "; expected \"IDLE:BUSY\" in watts, one pair, for example 2000:2000");
      continue;
    }
    // fleetsim's flows are not a fabric's load (traffic inside a pod is the step-time
    // model's), so the time series and the cap count IDLE: a BUSY that differs would make
    // the plugin's energy disagree with them.
    if (watts->front().idle != watts->front().busy) {
      problems.add("link " + in_quotes(link->get_name()) + ": property \"wattage_range\" is " + in_quotes(range) +
                   "; expected IDLE equal to BUSY (a flat draw, for example 2000:2000): fleetsim counts a link's IDLE "
                   "in the time series and the power cap, and its flows are not the fabric's load");
      continue;
    }
    fleet.powered_links.push_back(link);
    fleet.network_watts += watts->front().idle;
  }
  problems.locate({path, 0, 0});
  for (PodBeingBuilt& building : pods) {
    if (building.pod.hosts.empty()) {
      problems.add("pod " + in_quotes(building.pod.name) + " has a gateway (" +
                   in_quotes(building.pod.gateway->get_name()) + ") but no node hosts; expected at least one");
    } else if (building.pod.gateway == nullptr) {
      building.pod.gateway = building.pod.hosts.front();
    }
  }
  if (pods.empty()) problems.add("the platform has no hosts; expected at least one node host");
  problems.throw_if_any();

  for (PodBeingBuilt& building : pods) fleet.pods.push_back(std::move(building.pod));
  layer_logger("platform")->info("loaded {}: {} pods, {} nodes, {} accelerators", path, fleet.pods.size(),
                                 fleet.node_count(), fleet.accelerator_count());
  return fleet;
}

}  // namespace fleetsim
