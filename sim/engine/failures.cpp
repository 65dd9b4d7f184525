// Node failures as SimGrid events. Model card: docs/models/failures.md.
//
// Every node that is up fails at a constant rate: the sum over component categories of
// the failure catalog's rates (catalog/failure_rates.hpp; derived from Llama 3's 54-day
// record), times `failures.rate_scale`. One actor draws the fleet's failures as one
// Poisson process of the total rate (nodes x per-node rate, summed over pods): the next
// failure comes after an exponential gap, on a pod drawn in proportion to its share of
// the rate, a node drawn uniformly in it, a component drawn in proportion to its rate.
// A node drawn while it is down is skipped, which thins the process to the nodes that
// are up (still Poisson, at their rate). The same actor brings failed nodes back after
// `failures.repair_time`. So a run costs O(failures) events whatever the fleet's size:
// no actor, timer or draw per node.
//
// What a failure does:
// - on a node of a running training job: the job stops (the preemption path: its work
//   since its last checkpoint is lost, `interruptions` + 1), its other nodes go back to
//   the scheduler at once, and it queues again; on its next nodes it spends
//   `failures.restart_time` (detection + restart) before its steps resume from the
//   checkpoint;
// - on a free node: the node leaves the scheduler's pool;
// - either way the node is then down: its SimGrid host is turned off (the energy plugin
//   charges it its `wattage_off`, 0 W unless the platform says otherwise) until its
//   repair, when it comes back on and returns to the pool;
// - on a node of a service (or of a job in the instant it starts or ends): counted, and
//   nothing else: services keep their capacity (not modelled: a lost replica).
#include "engine/simulation_impl.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <queue>
#include <random>

#include "catalog/failure_rates.hpp"

namespace fleetsim::engine_detail {

namespace {

// A uniform double in [0, 1) from 53 random bits: mt19937_64 is specified exactly by the
// standard, std::uniform_real_distribution is not, and outputs must not depend on the
// standard library.
double uniform01(std::mt19937_64& engine) { return double(engine() >> 11) * 0x1.0p-53; }

// The index i with cumulative[i - 1] <= u * total < cumulative[i].
std::size_t pick(const std::vector<double>& cumulative, double u) {
  const double x = u * cumulative.back();
  std::size_t i = 0;
  while (i + 1 < cumulative.size() && cumulative[i] <= x) ++i;
  return i;
}

}  // namespace

void Simulation::run_failures() {
  const FailuresSpec& spec = scenario_.failures;
  const FailureRates& rates = FailureRates::builtin();
  for (const auto& c : rates.components) result_.failure_components.push_back(c.name);
  // Per pod: the cumulative rate of its nodes (per second), and its components' cumulative rates.
  std::vector<double> pod_cumulative;
  std::vector<std::vector<double>> component_cumulative;
  double total = 0;
  for (const FleetPod& pod : fleet_.pods) {
    std::vector<double> cumulative;
    double per_node = 0;
    for (const auto& c : rates.components) {
      per_node += rates.per_node_day(c, pod.accelerators_per_node) * spec.rate_scale / 86400.0;
      cumulative.push_back(per_node);
    }
    component_cumulative.push_back(std::move(cumulative));
    total += per_node * double(pod.hosts.size());
    pod_cumulative.push_back(total);
  }
  if (total <= 0) return;
  // A stream of its own, so failures do not shift any other draw of the seed.
  std::seed_seq seq{std::uint32_t(scenario_.seed), std::uint32_t(scenario_.seed >> 32), 0xfa11u, 0x0de5u};
  std::mt19937_64 engine(seq);
  const double horizon = scenario_.horizon.value();
  struct Repair {
    double at;
    int pod, node;
    bool operator>(const Repair& o) const { return at > o.at; }
  };
  std::priority_queue<Repair, std::vector<Repair>, std::greater<>> repairs;
  double next_failure = -std::log1p(-uniform01(engine)) / total;
  while (true) {
    const double next_repair = repairs.empty() ? std::numeric_limits<double>::infinity() : repairs.top().at;
    const double next = std::min(next_failure, next_repair);
    if (next >= horizon) return;
    sg4::this_actor::sleep_until(next);
    if (next_repair <= next_failure) {
      const Repair r = repairs.top();
      repairs.pop();
      repair_node(r.pod, r.node);
      continue;
    }
    // Every draw is made whatever the state, so the failure times depend on the seed alone.
    const auto p = pick(pod_cumulative, uniform01(engine));
    const FleetPod& pod = fleet_.pods[p];
    const int node = std::min(int(uniform01(engine) * double(pod.hosts.size())), int(pod.hosts.size()) - 1);
    const auto component = pick(component_cumulative[p], uniform01(engine));
    next_failure += -std::log1p(-uniform01(engine)) / total;
    if (fail_node(int(p), node, rates.components[component].name))
      repairs.push({next + spec.repair_time.value(), int(p), node});
  }
}

bool Simulation::fail_node(int p, int node, const std::string& component) {
  if (down_[std::size_t(p)][std::size_t(node)]) return false;  // down already: it cannot fail
  const FleetPod& pod = fleet_.pods[std::size_t(p)];
  FailureEvent event{sg4::Engine::get_clock(), pod.name, node, component, "", "none"};
  bool down = false;
  const int owner = node_owner_[std::size_t(p)][std::size_t(node)];
  if (owner >= 0) {
    Job& job = jobs_[std::size_t(owner)];
    event.job = job.spec->name;
    if (job.spec->kind == "pretrain" && job.running) {
      job.failed = true;  // read by preempt(), which the scheduler calls from interrupt()
      down = scheduler_.interrupt(owner, p, node);
      if (down) event.effect = "interrupted";
      job.failed = down;
    }
  } else {
    down = scheduler_.take_down(p, node);
  }
  if (down) {
    if (event.effect == "none") event.effect = "down";
    down_[std::size_t(p)][std::size_t(node)] = 1;
    sg4::Host* host = pod.hosts[std::size_t(node)];
    // Actors live on the anchor host and flows leave from gateways: those stay on (out of
    // the pool all the same), every other failed node is switched off.
    if (host != anchor_ && host != pod.gateway) {
      host->turn_off();
      off_nodes_[std::size_t(p)]++;
    }
    sample();
  }
  result_.failure_events.push_back(std::move(event));
  return down;
}

void Simulation::repair_node(int p, int node) {
  const FleetPod& pod = fleet_.pods[std::size_t(p)];
  sg4::Host* host = pod.hosts[std::size_t(node)];
  down_[std::size_t(p)][std::size_t(node)] = 0;
  if (!host->is_on()) {
    host->turn_on();
    off_nodes_[std::size_t(p)]--;
  }
  scheduler_.bring_up(p, node);  // waiting jobs may start on it
  sample();
}

}  // namespace fleetsim::engine_detail
