#include "models/synthetic_data.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <random>
#include <vector>

namespace fleetsim {
namespace {

struct Simulated {
  std::vector<double> completions;  // sorted
  double mean_batch = 0;
  double filter_share = 0;
  double preempted_share = 0;
};

Simulated simulate(const SyntheticDataJob& job, long long requests, const IterationCost& generator,
                   const IterationCost* filter) {
  const std::vector<ServingRequest> stream(std::size_t(requests),
                                           ServingRequest{0.0, job.input_tokens, job.output_tokens, 1});
  const ScheduleResult r =
      schedule_replica(stream, job.max_batch, job.kv_capacity_tokens, generator, 0, filter, job.kv_policy);
  Simulated out;
  out.completions.reserve(r.requests.size());
  long long preempted = 0;
  for (const auto& t : r.requests) {
    out.completions.push_back(t.completion_s);
    if (t.preemptions > 0) preempted++;
  }
  out.preempted_share = r.requests.empty() ? 0 : double(preempted) / double(r.requests.size());
  std::sort(out.completions.begin(), out.completions.end());
  out.mean_batch = r.decode_steps > 0 ? r.batch_sum / double(r.decode_steps) : 0;
  const double span = out.completions.empty() ? 0 : out.completions.back();
  out.filter_share = span > 0 ? r.verify_s / span : 0;
  return out;
}

// Requests done by time t: the index past the last completion at or before t.
double done_by(const std::vector<double>& c, double t) {
  return double(std::upper_bound(c.begin(), c.end(), t) - c.begin());
}

SyntheticDataRun run_full(const SyntheticDataJob& job, const IterationCost& generator, const IterationCost* filter,
                          double until_s, double expected_per_replica) {
  long long requests = (long long)(std::ceil(expected_per_replica * 1.2)) + job.max_batch + 16;
  while (true) {
    const Simulated sim = simulate(job, requests, generator, filter);
    std::seed_seq seq{std::uint32_t(job.seed), std::uint32_t(job.seed >> 32), std::uint32_t(job.stream),
                      std::uint32_t(job.stream >> 32)};
    std::mt19937_64 engine(seq);
    SyntheticDataRun run;
    run.simulated_requests = requests;
    run.mean_batch = sim.mean_batch;
    run.filter_share = sim.filter_share;
    run.preempted_share = sim.preempted_share;
    const auto& c = sim.completions;
    double reached_at = -1;
    for (std::size_t i = 0; i < c.size(); ++i) {
      if (c[i] > until_s || (reached_at >= 0 && c[i] > reached_at)) break;
      for (int r = 0; r < job.replicas; ++r) {
        run.generated_samples++;
        const double u = double(engine() >> 11) * 0x1.0p-53;  // uniform in [0, 1)
        if (u < job.accept_rate) run.accepted_samples++;
      }
      if (reached_at < 0 && run.accepted_samples * job.output_tokens >= job.target_tokens) reached_at = c[i];
    }
    if (reached_at >= 0 || c.back() > until_s) {
      run.reached = reached_at >= 0;
      run.end_s = run.reached ? reached_at : until_s;
      run.steady_requests_per_s = run.end_s > 0 ? run.generated_samples / job.replicas / run.end_s : 0;
      return run;
    }
    requests *= 2;  // an unlucky run of rejections: simulate a longer stream
  }
}

SyntheticDataRun run_extrapolated(const SyntheticDataJob& job, const IterationCost& generator,
                                  const IterationCost* filter, double until_s, double expected_per_replica) {
  const long long k = std::max<long long>(2000, 8LL * job.max_batch);
  const Simulated sim = simulate(job, 3 * k, generator, filter);
  const auto& c = sim.completions;
  const double n1 = done_by(c, c[std::size_t(k - 1)]), n2 = done_by(c, c[std::size_t(2 * k - 1)]);
  const double t1 = c[std::size_t(n1) - 1], t2 = c[std::size_t(n2) - 1];
  const double rate = (n2 - n1) / (t2 - t1);
  SyntheticDataRun run;
  run.extrapolated = true;
  run.simulated_requests = 3 * k;
  run.steady_requests_per_s = rate;
  run.mean_batch = sim.mean_batch;
  run.filter_share = sim.filter_share;
  run.preempted_share = sim.preempted_share;
  auto time_for = [&](double n) {  // time by which n requests per replica are done
    return n <= n2 ? c[std::size_t(std::max(1.0, std::ceil(n))) - 1] : t2 + (n - n2) / rate;
  };
  auto done_at = [&](double t) { return t <= t2 ? done_by(c, t) : n2 + (t - t2) * rate; };
  const double end = time_for(expected_per_replica);
  run.reached = end <= until_s;
  run.end_s = run.reached ? end : until_s;
  const double per_replica = run.reached ? expected_per_replica : done_at(until_s);
  run.generated_samples = per_replica * job.replicas;
  run.accepted_samples = run.generated_samples * job.accept_rate;
  return run;
}

}  // namespace

SyntheticDataRun run_synthetic_data(const SyntheticDataJob& job, const IterationCost& generator,
                                    const IterationCost* filter, double until_s, SyntheticMethod method) {
  assert(job.accept_rate > 0 && job.accept_rate <= 1 && job.target_tokens > 0 && job.replicas >= 1);
  const double expected_total = job.target_tokens / (double(job.output_tokens) * job.accept_rate);
  const double expected_per_replica = expected_total / job.replicas;
  if (method == SyntheticMethod::Auto)
    method = expected_per_replica * 1.2 <= kFullRequestsPerReplica && expected_total * 1.2 <= kFullDraws
                 ? SyntheticMethod::Full
                 : SyntheticMethod::Extrapolate;
  return method == SyntheticMethod::Full ? run_full(job, generator, filter, until_s, expected_per_replica)
                                         : run_extrapolated(job, generator, filter, until_s, expected_per_replica);
}

}  // namespace fleetsim
