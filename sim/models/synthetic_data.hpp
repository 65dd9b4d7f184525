// Synthetic-data generation (kind synthetic-data): replicas generate samples from an
// offline stream of prompts, a filter (or reward) model on the same replicas scores
// each one, and the job ends when the accepted samples hold `target_tokens` tokens.
//
// Model card
// - Each replica runs the continuous-batching schedule of serving_schedule.hpp on an
//   offline stream (every prompt available from the start), with the filter as the
//   schedule's verifier: a sample completes after its decode and a prefill of its
//   prompt + output tokens on the filter model.
// - Acceptance: each completed sample is kept with probability accept_rate, drawn from
//   a 64-bit Mersenne Twister seeded with (seed, stream), in completion order (request
//   index, then replica). Accepted tokens are the output tokens of kept samples (the
//   prompt is not counted). The job ends at the completion time at which they reach
//   the target; all samples completing at that instant count.
// - Replicas get identical streams (round-robin of identical prompts), so one replica
//   is scheduled and its completion times stand for all.
// - Full method: every request up to the target is simulated and every acceptance drawn.
// - Extrapolated method (targets like 1e11 tokens, far too many requests to simulate):
//   a representative stream of 3k requests (k = max(2000, 8 x max_batch)) is scheduled;
//   with c(n) the time by which n requests are done, the steady rate is
//   (n2 - n1) / (c(n2) - c(n1)), n1 and n2 the ends of the completion groups holding
//   requests k and 2k (whole groups, so waves of identical requests are counted whole;
//   the ramp-up before n1 and the drain after n2 are excluded). The time to R requests
//   per replica is c(n2) + (R - n2) / rate, with R = target / (output x accept_rate) /
//   replicas: the expected count (acceptances are not drawn one by one).
//   Error against the full method on a small case (tests/unit/test_serving.cpp):
//   measured there, bound 2%.
// - Auto (what the engine uses): full when at most kFullRequestsPerReplica requests per
//   replica and kFullDraws acceptance draws are expected, else extrapolated.
#pragma once

#include <cstdint>

#include "models/serving_schedule.hpp"

namespace fleetsim {

inline constexpr double kFullRequestsPerReplica = 20000;
inline constexpr double kFullDraws = 4e6;

struct SyntheticDataJob {
  int input_tokens = 1;
  int output_tokens = 1;
  int max_batch = 1;
  double kv_capacity_tokens = 0;  // per replica
  KvPolicy kv_policy = KvPolicy::Reserve;
  int replicas = 1;
  double accept_rate = 1;
  double target_tokens = 0;  // accepted tokens
  std::uint64_t seed = 1;
  std::uint64_t stream = 0;
};

enum class SyntheticMethod { Auto, Full, Extrapolate };

struct SyntheticDataRun {
  bool reached = false;            // the target was met by `until_s`
  double end_s = 0;                // from the start: when the target was met, else until_s
  double generated_samples = 0;    // completed (generated and scored) by end_s, all replicas
  double accepted_samples = 0;
  bool extrapolated = false;
  long long simulated_requests = 0;  // per replica, run through the schedule
  double steady_requests_per_s = 0;  // per replica (extrapolated method; else the mean)
  double mean_batch = 0;             // sequences per decode step in the simulated schedule
  double filter_share = 0;           // share of replica time spent in filter prefills
  double preempted_share = 0;        // simulated samples preempted for KV space at least once
};

// `until_s`: the time from the start at which the run is cut (the horizon).
SyntheticDataRun run_synthetic_data(const SyntheticDataJob& job, const IterationCost& generator,
                                    const IterationCost* filter, double until_s,
                                    SyntheticMethod method = SyntheticMethod::Auto);

}  // namespace fleetsim
