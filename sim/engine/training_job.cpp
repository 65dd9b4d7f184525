#include "engine/simulation_impl.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include <simgrid/plugins/energy.h>

#include "core/log.hpp"
#include "models/parallelism_search.hpp"
#include "models/synthetic_data.hpp"
#include "models/video_step.hpp"
#include "platform/simgrid_platform.hpp"
#include "scenario/scenario_loader.hpp"

namespace fleetsim::engine_detail {

void Simulation::run_job(Job& job) {
  if (job.spec->is_video()) {
    run_video_service(job);
    return;
  }
  if (job.spec->is_synthetic_data()) {
    run_synthetic_data_job(job);
    return;
  }
  if (job.spec->is_serving()) {
    run_service(job);
    return;
  }
  const WorkloadSpec& w = *job.spec;
  acquire_nodes(job);
  const FleetPod& pod = fleet_.pods[job.allocation.parts.front().pod];
  const NodeType& node = *node_type_of(pod, catalog_);
  WorkloadResult& r = *job.result;
  const FabricView fabric = fabric_view(fleet_, job.allocation, node, w.gpus);
  r.setup = training_setup(w, *pod.accelerator);
  if (w.parallelism.automatic) {
    // Choose for the placement the job got; the loader checked that something fits.
    const auto choice = search_parallelism(r.setup, w.gpus, fabric);
    assert(choice && "parallelism: auto was checked at load time");
    r.setup = choice->setup;
    logger_->info("{}: parallelism auto chose tp {} pp {} dp {} cp {} ep {}, micro-batch {} ({} of {} candidates fit)",
                  w.name, r.setup.parallelism.tp, r.setup.parallelism.pp, r.setup.parallelism.dp,
                  r.setup.parallelism.cp, r.setup.parallelism.ep, r.setup.micro_batch, choice->fitting,
                  choice->candidates);
  }
  r.step = training_step(r.setup, fabric);
  job.tokens_per_s = r.step.tokens_per_step / r.step.step_time.value();
  start_running(job);

  const double step_s = r.step.step_time.value();
  // Run to the token target or for the duration, whichever ends first, or past the
  // horizon (run_until stops the clock there).
  const double to_target = w.tokens ? std::ceil(*w.tokens / r.step.tokens_per_step) * step_s : kUnbounded;
  double run_s = w.duration ? std::min(to_target, w.duration->value()) : to_target;
  if (!std::isfinite(run_s)) run_s = (std::ceil((scenario_.horizon.value() - *r.start_s) / step_s) + 1) * step_s;
  logger_->info("{} starts on {} nodes ({} pods) of {}: step {:.3f} s, {:.4g} tokens/s", w.name, r.nodes,
                r.pods_spanned, pod.accelerator->name, step_s, job.tokens_per_s);
  run_segment(job.hosts, run_s);

  r.steps_done = run_s == to_target ? std::ceil(*w.tokens / r.step.tokens_per_step) : std::floor(run_s / step_s);
  r.tokens_done = r.steps_done * r.step.tokens_per_step;
  stop_running(job);
  logger_->info("{} done: {:.4g} tokens", w.name, r.tokens_done);
}

// Keeps `hosts` busy for `duration_s`: parallel executions of at most kHostsPerTask
// hosts each, whose work is the hosts' speed times the duration.
void Simulation::run_segment(const std::vector<sg4::Host*>& hosts, double duration_s) {
  std::vector<sg4::ExecPtr> tasks;
  for (std::size_t first = 0; first < hosts.size(); first += kHostsPerTask) {
    const std::size_t last = std::min(hosts.size(), first + kHostsPerTask);
    std::vector<sg4::Host*> group(hosts.begin() + long(first), hosts.begin() + long(last));
    std::vector<double> flops;
    flops.reserve(group.size());
    for (auto* h : group) flops.push_back(h->get_speed() * duration_s);
    tasks.push_back(sg4::this_actor::exec_init(group, flops, {}));
    tasks.back()->start();
  }
  for (auto& t : tasks) t->wait();
}

}  // namespace fleetsim::engine_detail
