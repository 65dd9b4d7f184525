// Continuous batching of one serving replica, request by request and iteration by
// iteration, in plain C++ (no SimGrid events per token).
//
// Model card
// - Iteration-level scheduling (Orca, Yu et al., OSDI'22; vLLM and TensorRT-LLM's
//   in-flight batching): at the start of each iteration the replica admits waiting
//   requests in arrival order (FIFO, no overtaking) while the batch has fewer than
//   max_batch requests and the KV cache has room; it prefills the admitted prompts
//   together (cost.prefill), which yields each one's first token; then every running
//   request, the new ones included, decodes one token (cost.decode). A request is done
//   after its output_tokens tokens (the first from prefill, the rest from decode steps).
// - KV admission reserves input + output tokens up front and never preempts
//   (TensorRT-LLM's GUARANTEED_NO_EVICT policy): no request is ever swapped out, at the
//   price of admitting fewer requests than an optimistic policy would.
// - The replica idles only when nothing is running or waiting; it then jumps to the
//   next arrival.
// - Parallel samples (kind reasoning): a request of s samples is prefilled once (its
//   prompt's T and T^2, one LM head), after which it decodes s sequences per iteration.
//   max_batch counts sequences, so it is admitted only if s more fit. KV reservation:
//   input + s x output (the prompt once, each sample's own tokens); context while it
//   runs: input + s x (tokens generated per sample).
// - Verification (optional second cost: a verifier or filter model resident on the same
//   replica): in the iteration in which a request's samples finish decoding, the
//   replica then scores each sample as a prefill of input + output tokens on the
//   verifier (s prompts of that length). The request completes after it; its KV is held
//   until then. The running decodes wait for the verification (no overlap).
// Cost: O(iterations x batch); 2,000 requests x 1,024 tokens at batch 256 is about
// 10,000 iterations (a few milliseconds).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "models/serving_step.hpp"

namespace fleetsim {

struct ServingRequest {
  double arrival_s = 0;
  int input_tokens = 1;
  int output_tokens = 1;  // >= 1 per sample; the first comes from prefill
  // Parallel sequences decoded from one prompt (a reasoning query's best-of-N answers):
  // the prompt is prefilled once and its KV cache shared; each sample decodes its own
  // output_tokens and keeps its own KV for them. 1 for plain serving.
  int samples = 1;
  // Arrives with its prompt's KV cache already computed elsewhere (the decode pool of a
  // disaggregated service, disaggregation.hpp): admission costs no prefill, its first
  // token exists and is handed on when a slot takes it (first_token_s = its admission),
  // and it only decodes.
  bool prefilled = false;
};

struct RequestTiming {
  double first_token_s = 0;
  double decode_end_s = 0;  // its samples' last token (= completion_s without a verifier)
  double completion_s = 0;  // after verification, if any
};

struct BusyInterval {
  double start_s = 0;
  double end_s = 0;
};

struct ScheduleResult {
  std::vector<RequestTiming> requests;  // in the order of the input
  std::vector<BusyInterval> busy;       // merged, in time order
  long long iterations = 0;
  long long decode_steps = 0;
  double batch_sum = 0;  // sequences decoding, summed over decode steps (mean batch = batch_sum / decode_steps)
  double verify_s = 0;   // time spent in verification prefills
};

// `requests` must be sorted by arrival time; every request must fit the KV cache on its
// own (input + samples x output <= kv_capacity_tokens: the scenario layer refuses the
// others) and have samples <= max_batch.
// `start_s`: the replica serves nothing before it (requests arriving earlier wait).
// `verifier`: if given, every request's samples are scored on it after they finish (see above).
ScheduleResult schedule_replica(const std::vector<ServingRequest>& requests, int max_batch,
                                double kv_capacity_tokens, const IterationCost& cost, double start_s = 0,
                                const IterationCost* verifier = nullptr);

// Poisson arrival times from `begin_s`: exponential gaps of mean 1 / rate_per_s, drawn
// by inversion from a 64-bit Mersenne Twister seeded with (seed, stream), so the same
// seed gives the same times on every platform. `count` arrivals, or (without a count)
// every arrival before `until_s`.
//
// With `hourly` (24 relative loads, hour 0 starting at time 0, repeating daily) the
// stream is non-homogeneous: its rate in hour h is rate_per_s x hourly[h] / mean(hourly),
// drawn by thinning (Lewis & Shedler 1979) with a second uniform from the same engine.
//
// With `share` (a step function of time, e.g. 1 / replicas of an autoscaled service) the
// rate is multiplied by it too, by the same thinning.
struct StepProfile {
  std::vector<double> times;   // increasing; values[i] holds from times[i] on
  std::vector<double> values;  // values[0] also holds before times[0]
  double at(double t) const;
  double max() const;
  double integral(double from, double to) const;  // of the step function over [from, to]
};
std::vector<double> poisson_arrivals(double rate_per_s, double begin_s, std::optional<long long> count,
                                     double until_s, std::uint64_t seed, std::uint64_t stream,
                                     const std::vector<double>* hourly = nullptr,
                                     const StepProfile* share = nullptr);

// The highest rate of such a stream (without `share`) at any time in [begin_s, end_s).
double peak_rate(double rate_per_s, double begin_s, double end_s, const std::vector<double>* hourly = nullptr);

// Requests per second one replica completes when it is never short of work: its steady
// rate on an endless queue of `typical` requests (continuous batching as above, so
// max_batch, the KV capacity and the verifier all bound it). Measured on the schedule:
// the completions between the k-th and 2k-th request of a queue of 3k, k four times the
// requests the replica holds at once (at least 32), so the ramp-up is excluded.
double saturated_requests_per_s(const ServingRequest& typical, int max_batch, double kv_capacity_tokens,
                                const IterationCost& cost, const IterationCost* verifier = nullptr);

// Token lengths of requests: fixed, or lognormal with the given mean and shape sigma
// (the log of the length has standard deviation sigma), truncated at `max` and at 1.
// Lognormal is the usual fit to prompt and answer lengths of chat traces (e.g. the
// Splitwise paper's production traces, Patel et al. 2024, fig. 3, are long-tailed).
struct LengthDistribution {
  double mean = 1;
  double sigma = 0;  // 0: every request has the mean
  double max = 0;    // truncation (required when sigma > 0)
  bool fixed() const { return sigma <= 0; }
  int largest() const { return fixed() ? int(mean) : int(max); }
};

// Draws `n` lengths deterministically from (seed, stream): a 64-bit Mersenne Twister and
// Box-Muller, both exactly specified, so every platform draws the same lengths.
std::vector<int> draw_lengths(const LengthDistribution& d, std::size_t n, std::uint64_t seed, std::uint64_t stream);

// Expected arrivals of such a stream in [begin_s, end_s).
double expected_arrivals(double rate_per_s, double begin_s, double end_s, const std::vector<double>* hourly = nullptr);

}  // namespace fleetsim
