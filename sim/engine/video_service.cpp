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

// A video-generation service: gpus / sp replicas, each generating one video at a time in
// arrival order (requests go to the replica free first); the time of one video comes
// from models/video_step.hpp, the queue runs in C++, and the nodes stay busy in SimGrid
// from the start to the last completion (or the horizon) so the energy plugin charges
// them. No SimGrid event per request or denoising step.
void Simulation::run_video_service(Job& job) {
  const WorkloadSpec& w = *job.spec;
  acquire_nodes(job);
  hold_for_power_before_planning(job);
  const FleetPod& pod = fleet_.pods[job.allocation.parts.front().pod];
  const NodeType& node = *node_type_of(pod, catalog_);
  WorkloadResult& r = *job.result;
  const double start = *r.start_s;
  const double horizon = scenario_.horizon.value();
  const FabricView view = fabric_view(fleet_, job.allocation, node, w.gpus);
  const LinkLevel sp_link = w.sp() <= view.scale_up_domain ? view.scale_up : view.scale_out;
  VideoResult& out = r.video;
  out.replicas = w.replicas();
  out.unloaded = video_generation_time(video_setup(w, *pod.accelerator), sp_link);
  const double per_video = out.unloaded.total.value();

  const RequestStreamSpec& q = w.requests;
  const std::vector<double> arrivals =
      q.mode == ArrivalMode::Offline
          ? std::vector<double>(std::size_t(*q.count), start)
          : poisson_arrivals(q.rate.value(), w.submit.value(), q.count, horizon, scenario_.seed,
                             std::uint64_t(job.index), &q.diurnal);
  // Identical replicas, FIFO: each request goes to the replica that frees up first.
  std::vector<double> free_at(std::size_t(out.replicas), start);
  double last_completion = start, busy_replica_s = 0;
  for (const double arrival : arrivals) {
    auto replica = std::min_element(free_at.begin(), free_at.end());
    const double begin = std::max(*replica, arrival), done = begin + per_video;
    *replica = done;
    if (arrival < horizon) out.requests++;
    busy_replica_s += std::max(0.0, std::min(done, horizon) - std::min(begin, horizon));
    if (done > horizon) continue;
    out.completed++;
    out.latency_s.push_back(done - arrival);
    last_completion = std::max(last_completion, done);
  }
  const bool open_ended = q.mode == ArrivalMode::Poisson && !q.count;
  const bool unfinished = out.completed < (long long)(arrivals.size());
  const double end = open_ended || unfinished ? horizon : last_completion;
  out.service_s = std::max(0.0, end - start);
  out.busy_fraction = out.service_s > 0 ? busy_replica_s / (out.service_s * out.replicas) : 0;

  start_running(job);
  logger_->info("{} starts on {} nodes of {}: {} replicas of sp {}, {} requests, {:.0f} latent tokens, {:.1f} s "
                "per video",
                w.name, r.nodes, pod.accelerator->name, out.replicas, w.sp(), arrivals.size(), out.unloaded.tokens,
                per_video);
  // An unfinished stream runs past the horizon, where the horizon actor stops it.
  sg4::this_actor::sleep_for(open_ended || unfinished ? horizon - start + 1.0 : end - start);

  stop_running(job);
  logger_->info("{} done: {} videos", w.name, out.completed);
}

}  // namespace fleetsim::engine_detail
