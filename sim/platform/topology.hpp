// The physical topology of a cluster design as a Boost.Graph: nodes, leaf switches,
// one aggregate spine per pod, pod gateways and the inter-pod core, with a link per edge.
// It is the single description from which the SimGrid platform (simgrid_platform.hpp)
// and the platform XML (platform_xml.hpp) are both produced, and which placement and
// the step-time models query (which pod and leaf a node sits under).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <boost/graph/adjacency_list.hpp>

#include "scenario/scenario.hpp"

namespace fleetsim {

// Ordered from the edge of the fabric to its centre: a vertex's uplink leads to the next kind.
enum class VertexKind { Node, Leaf, Spine, Core };

// Latency of one hop through the scale-out fabric (a node to its leaf, a leaf to its pod's
// spine): one cut-through switch traversal, port to port. 330 ns is the figure given for
// NVIDIA Quantum-2 (InfiniBand NDR, 64 x 400 Gb/s, the leaf and spine of DGX H100
// SuperPODs) by https://yobitel.com/knowledge-base/nvidia-quantum-2 ("Cut-through latency
// ~330 ns port-to-port"). Confidence: secondary. NVIDIA's QM9700 manual states no latency;
// other third-party pages give "< 400 ns" (systemspecbase.com) and "under 150 ns"
// (router-switch.com), so the hop is known to within about a factor of two. It only
// matters for small messages: 400 Gb/s moves 16 KB in 330 ns.
inline constexpr Seconds kSwitchHopLatency = Seconds(330e-9);

struct TopologyVertex {
  VertexKind kind = VertexKind::Node;
  int pod = -1;  // pod instance index; -1 for the core
  std::string name;
};

struct TopologyEdge {
  ByteRate bandwidth;  // per direction
  Seconds latency;
  std::string name;
};

using TopologyGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, TopologyVertex, TopologyEdge>;

// One instance of a pod (a PodSpec with count 16 gives 16 instances).
struct PodInstance {
  std::string name;  // "hopper-3"
  const NodeType* node_type = nullptr;
  const Accelerator* accelerator = nullptr;
  int first_node = 0;  // index of its first node in Topology::node_vertices
  int nodes = 0;
  int nodes_per_leaf = 0;
  int leaves = 0;            // ceil(nodes / nodes_per_leaf); the last may be partly filled
  double oversubscription = 1.0;
  FlopRate node_peak_bf16;   // accelerators x dense BF16 peak: the SimGrid host speed
  bool dvfs_pstates = true, decode_pstates = true;  // ClusterDesign's: which pstates it gets
  ByteRate node_uplink;      // one node's NICs together (nics x nic_bandwidth), per direction
  ByteRate leaf_uplink;  // aggregate uplink of one leaf to the pod spine
  ByteRate pod_uplink;   // aggregate uplink of the pod to the inter-pod core
  TopologyGraph::vertex_descriptor spine_vertex = 0;  // the pod's aggregate spine

  // What the pod fabric carries when every node sends at once: nodes x node_uplink /
  // oversubscription (the bb_bw of the pod's SimGrid cluster, whose backbone all traffic
  // inside the pod crosses).
  ByteRate bisection() const { return node_uplink * (nodes / oversubscription); }
};

class Topology {
 public:
  // Resolves each node type's accelerator in the built-in catalog.
  static Topology from_design(const ClusterDesign& design);
  static Topology from_design(const ClusterDesign& design, const Catalog& catalog);
  // For tests and callers that hold accelerators outside a Catalog.
  using AcceleratorLookup = std::function<const Accelerator*(const std::string& name)>;
  static Topology from_design(const ClusterDesign& design, const AcceleratorLookup& accelerator_named);

  const TopologyGraph& graph() const { return graph_; }
  const std::vector<PodInstance>& pods() const { return pods_; }
  int node_count() const;
  int accelerator_count() const;
  // Vertex of node i (nodes are numbered pod by pod).
  TopologyGraph::vertex_descriptor node_vertex(int node) const;
  TopologyGraph::vertex_descriptor core_vertex() const { return core_; }
  // The edge from v one level towards the core: a node's NIC link, a leaf's uplink to its
  // pod spine, a spine's uplink to the core. v must not be the core.
  TopologyGraph::edge_descriptor uplink(TopologyGraph::vertex_descriptor v) const;
  // The vertex at the other end of uplink(v): a node's leaf, a leaf's spine, a spine's core.
  TopologyGraph::vertex_descriptor parent(TopologyGraph::vertex_descriptor v) const;

 private:
  TopologyGraph graph_;
  std::vector<PodInstance> pods_;
  std::vector<TopologyGraph::vertex_descriptor> node_vertices_;
  TopologyGraph::vertex_descriptor core_ = 0;
};

}  // namespace fleetsim
