// The Boost.Graph of a cluster design. Layout of the vertices (all vecS, so a descriptor is
// an index): the core first, then pod instance by pod instance its spine, its leaves and
// its nodes. One edge per link, per direction bandwidth:
//
//   node  -- leaf   node_uplink = nics x nic_bandwidth, latency kSwitchHopLatency
//   leaf  -- spine  leaf_uplink = nodes_per_leaf x node_uplink / oversubscription,
//                   latency kSwitchHopLatency
//   spine -- core   pod_uplink  = interconnect.bandwidth_per_pod (default: the leaves' uplinks), latency interconnect.latency
//
// The spine is the pod's whole spine layer as one vertex: traffic inside a pod is the
// step-time model's business, so only the leaf's and the pod's way out need a capacity.
#include "platform/topology.hpp"

#include <cassert>
#include <cstddef>

namespace fleetsim {

namespace {

std::string instance_name(const PodSpec& spec, int index) {
  return spec.count == 1 ? spec.name : spec.name + "-" + std::to_string(index);
}

int rank(VertexKind kind) { return static_cast<int>(kind); }

}  // namespace

Topology Topology::from_design(const ClusterDesign& design) {
  return from_design(design, Catalog::builtin());
}

Topology Topology::from_design(const ClusterDesign& design, const Catalog& catalog) {
  return from_design(design, [&catalog](const std::string& name) { return catalog.accelerator(name); });
}

Topology Topology::from_design(const ClusterDesign& design, const AcceleratorLookup& accelerator_named) {
  // Sized up front: one allocation of the vertex vector instead of ~17 regrowths at 131k nodes.
  std::size_t vertex_count = 1;
  for (const PodSpec& spec : design.pods) {
    assert(spec.node != nullptr && spec.nodes > 0 && spec.fabric.nodes_per_leaf > 0 &&
           "the scenario loader validates pods before a topology is built");
    const int leaves = (spec.nodes + spec.fabric.nodes_per_leaf - 1) / spec.fabric.nodes_per_leaf;
    vertex_count += static_cast<std::size_t>(spec.count) * (1 + static_cast<std::size_t>(leaves + spec.nodes));
  }

  Topology topology;
  TopologyGraph& g = topology.graph_;
  g = TopologyGraph(vertex_count);
  topology.core_ = 0;
  g[0] = TopologyVertex{VertexKind::Core, -1, "core"};

  TopologyGraph::vertex_descriptor next = 1;
  int node_index = 0;
  for (const PodSpec& spec : design.pods) {
    const NodeType& node_type = *spec.node;
    const Accelerator* accelerator = accelerator_named(node_type.accelerator);
    assert(accelerator != nullptr && "the catalog loader checks every node type's accelerator");

    for (int i = 0; i < spec.count; ++i) {
      PodInstance pod;
      pod.name = instance_name(spec, i);
      pod.node_type = &node_type;
      pod.accelerator = accelerator;
      pod.first_node = node_index;
      pod.nodes = spec.nodes;
      pod.nodes_per_leaf = spec.fabric.nodes_per_leaf;
      pod.leaves = (spec.nodes + spec.fabric.nodes_per_leaf - 1) / spec.fabric.nodes_per_leaf;
      pod.oversubscription = spec.fabric.oversubscription;
      pod.node_peak_bf16 = accelerator->peak_bf16 * node_type.accelerators;
      pod.dvfs_pstates = design.dvfs_pstates;
      pod.decode_pstates = design.decode_pstates;
      pod.node_uplink = node_type.nic_bandwidth * node_type.nics;
      // A partly filled last leaf keeps the uplinks of a full one: switches come whole.
      pod.leaf_uplink = pod.node_uplink * (pod.nodes_per_leaf / pod.oversubscription);
      // Without an interconnect bandwidth the pod's uplink matches what its leaves send
      // up (non-blocking above the pod, the SCENARIO.md default of a 1:1 fat tree).
      pod.pod_uplink = design.interconnect.bandwidth_per_pod.value() > 0
                           ? design.interconnect.bandwidth_per_pod
                           : pod.leaf_uplink * double(pod.leaves);

      const int pod_index = static_cast<int>(topology.pods_.size());
      pod.spine_vertex = next++;
      g[pod.spine_vertex] = TopologyVertex{VertexKind::Spine, pod_index, pod.name + "-spine"};
      boost::add_edge(pod.spine_vertex, topology.core_,
                      TopologyEdge{pod.pod_uplink, design.interconnect.latency, pod.name + "-up"}, g);

      const TopologyGraph::vertex_descriptor first_leaf = next;
      for (int l = 0; l < pod.leaves; ++l) {
        const auto leaf = next++;
        g[leaf] = TopologyVertex{VertexKind::Leaf, pod_index, pod.name + "-l" + std::to_string(l)};
        boost::add_edge(leaf, pod.spine_vertex, TopologyEdge{pod.leaf_uplink, kSwitchHopLatency, g[leaf].name + "-up"},
                        g);
      }
      for (int n = 0; n < pod.nodes; ++n) {
        const auto node = next++;
        const auto leaf = first_leaf + static_cast<std::size_t>(n / pod.nodes_per_leaf);
        g[node] = TopologyVertex{VertexKind::Node, pod_index, pod.name + "-n" + std::to_string(n)};
        boost::add_edge(node, leaf, TopologyEdge{pod.node_uplink, kSwitchHopLatency, g[node].name + "-nic"}, g);
        topology.node_vertices_.push_back(node);
      }
      node_index += pod.nodes;
      topology.pods_.push_back(std::move(pod));
    }
  }
  assert(next == vertex_count && "the vertex count above must match the loop");
  return topology;
}

int Topology::node_count() const { return static_cast<int>(node_vertices_.size()); }

int Topology::accelerator_count() const {
  int total = 0;
  for (const PodInstance& pod : pods_) total += pod.nodes * pod.node_type->accelerators;
  return total;
}

TopologyGraph::vertex_descriptor Topology::node_vertex(int node) const {
  assert(node >= 0 && node < node_count() && "node index out of range");
  return node_vertices_[static_cast<std::size_t>(node)];
}

TopologyGraph::edge_descriptor Topology::uplink(TopologyGraph::vertex_descriptor v) const {
  const int own = rank(graph_[v].kind);
  for (auto [it, end] = boost::out_edges(v, graph_); it != end; ++it) {
    if (rank(graph_[boost::target(*it, graph_)].kind) > own) return *it;
  }
  assert(false && "every vertex but the core has exactly one uplink");
  return {};
}

TopologyGraph::vertex_descriptor Topology::parent(TopologyGraph::vertex_descriptor v) const {
  return boost::target(uplink(v), graph_);
}

}  // namespace fleetsim
