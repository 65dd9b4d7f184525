#include "models/serving_schedule.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <deque>
#include <random>

namespace fleetsim {
namespace {

struct Running {
  std::size_t index;  // into the requests
  int generated;      // output tokens produced so far
};

void mark_busy(std::vector<BusyInterval>& busy, double from, double to) {
  if (!busy.empty() && busy.back().end_s >= from) busy.back().end_s = to;
  else busy.push_back({from, to});
}

}  // namespace

ScheduleResult schedule_replica(const std::vector<ServingRequest>& requests, int max_batch,
                                double kv_capacity_tokens, const IterationCost& cost, double start_s,
                                const IterationCost* verifier) {
  assert(max_batch >= 1 && "max_batch is validated by the scenario layer");
  ScheduleResult out;
  out.requests.resize(requests.size());
  std::deque<std::size_t> waiting;
  std::vector<Running> running, admitted, verifying;
  running.reserve(std::size_t(max_batch));
  double now = start_s;
  double kv_reserved = 0;   // input + samples x output of every running request
  double context = 0;       // tokens currently in the KV cache of running requests
  int running_sequences = 0;  // samples of the running requests (what max_batch caps)
  std::size_t next = 0;

  auto samples = [&](std::size_t i) { return std::max(1, requests[i].samples); };
  auto reservation = [&](std::size_t i) {
    return double(requests[i].input_tokens) + double(samples(i)) * requests[i].output_tokens;
  };
  // A request leaves the replica: its reservation and its context go.
  auto finish = [&](const Running& r) {
    const ServingRequest& q = requests[r.index];
    out.requests[r.index].completion_s = now;
    kv_reserved -= reservation(r.index);
    context -= double(q.input_tokens) + double(samples(r.index)) * r.generated;
  };
  // Its samples are done: finish now, or after verification at the end of the iteration.
  auto samples_done = [&](const Running& r) {
    running_sequences -= samples(r.index);
    out.requests[r.index].decode_end_s = now;
    if (verifier) verifying.push_back(r);
    else finish(r);
  };

  while (next < requests.size() || !waiting.empty() || !running.empty()) {
    if (running.empty() && waiting.empty()) now = std::max(now, requests[next].arrival_s);
    while (next < requests.size() && requests[next].arrival_s <= now) waiting.push_back(next++);

    const double iteration_start = now;
    // Admission: FIFO while the batch (in sequences) and the KV reservation allow.
    admitted.clear();
    int admitted_sequences = 0;
    double prompt_tokens = 0, squared = 0;
    int prefill_prompts = 0;  // admitted requests that need a prefill
    // An idle replica always takes the head of the queue, so an oversized request (refused
    // by the scenario layer; possible only from direct calls) cannot stall the loop.
    while (!waiting.empty() &&
           ((running_sequences + admitted_sequences + samples(waiting.front()) <= max_batch &&
             kv_reserved + reservation(waiting.front()) <= kv_capacity_tokens) ||
            (running.empty() && admitted.empty()))) {
      const std::size_t i = waiting.front();
      waiting.pop_front();
      kv_reserved += reservation(i);
      admitted_sequences += samples(i);
      if (!requests[i].prefilled) {
        const double in = requests[i].input_tokens;
        prompt_tokens += in;
        squared += in * in;
        prefill_prompts++;
      }
      admitted.push_back({i, 0});
    }
    if (!admitted.empty()) {
      if (prefill_prompts > 0) now += cost.prefill(prompt_tokens, squared, prefill_prompts).value();
      for (Running r : admitted) {
        r.generated = 1;  // every sample's first token, drawn from the one prefill
        running_sequences += samples(r.index);
        context += double(requests[r.index].input_tokens) + samples(r.index);
        out.requests[r.index].first_token_s = requests[r.index].prefilled ? iteration_start : now;
        if (requests[r.index].output_tokens <= 1) samples_done(r);
        else running.push_back(r);
      }
    }
    if (!running.empty()) {
      const int batch = running_sequences;
      now += cost.decode(batch, context).value();
      out.decode_steps++;
      out.batch_sum += batch;
      context += batch;
      std::size_t kept = 0;
      for (Running& r : running) {
        r.generated++;
        if (r.generated >= requests[r.index].output_tokens) samples_done(r);
        else running[kept++] = r;
      }
      running.resize(kept);
    }
    if (!verifying.empty()) {
      // Each sample scored as one prompt of input + output tokens on the verifier.
      double tokens = 0, verify_squared = 0;
      int prompts = 0;
      for (const Running& r : verifying) {
        const double length = double(requests[r.index].input_tokens) + requests[r.index].output_tokens;
        tokens += samples(r.index) * length;
        verify_squared += samples(r.index) * length * length;
        prompts += samples(r.index);
      }
      const double took = verifier->prefill(tokens, verify_squared, prompts).value();
      now += took;
      out.verify_s += took;
      for (const Running& r : verifying) finish(r);
      verifying.clear();
    }
    if (now > iteration_start) {
      out.iterations++;
      mark_busy(out.busy, iteration_start, now);
    } else if (admitted.empty() && running.empty() && waiting.empty() && next < requests.size()) {
      continue;  // idle: the next pass jumps to the next arrival
    } else {
      // A zero-cost iteration (only from degenerate test costs): still progress.
      out.iterations++;
    }
  }
  return out;
}

namespace {

constexpr double kHour = 3600.0;

// Relative load in force at time t, normalised so the profile averages 1.
double load_at(const std::vector<double>& hourly, double mean, double t) {
  const auto hour = static_cast<long long>(std::floor(t / kHour));
  return hourly[std::size_t(((hour % 24) + 24) % 24)] / mean;
}

double mean_of(const std::vector<double>& hourly) {
  double sum = 0;
  for (double v : hourly) sum += v;
  return sum / double(hourly.size());
}

}  // namespace

std::vector<double> poisson_arrivals(double rate_per_s, double begin_s, std::optional<long long> count,
                                     double until_s, std::uint64_t seed, std::uint64_t stream,
                                     const std::vector<double>* hourly, const StepProfile* share) {
  assert(rate_per_s > 0 && "the rate is validated by the scenario layer");
  // seed_seq and mt19937_64 are specified exactly by the standard (unlike the
  // distributions), which keeps the draws identical across standard libraries.
  std::seed_seq seq{std::uint32_t(seed), std::uint32_t(seed >> 32), std::uint32_t(stream), std::uint32_t(stream >> 32)};
  std::mt19937_64 engine(seq);
  auto uniform = [&] { return double(engine() >> 11) * 0x1.0p-53; };  // in [0, 1)
  const bool daily = hourly && !hourly->empty();
  const bool varying = daily || share;
  const double mean = daily ? mean_of(*hourly) : 1.0;
  const double peak =
      (daily ? *std::max_element(hourly->begin(), hourly->end()) / mean : 1.0) * (share ? share->max() : 1.0);
  auto load = [&](double at) { return (daily ? load_at(*hourly, mean, at) : 1.0) * (share ? share->at(at) : 1.0); };
  std::vector<double> times;
  if (count) times.reserve(std::size_t(*count));
  double t = begin_s;
  while (true) {
    t += -std::log1p(-uniform()) / (rate_per_s * peak);
    if (varying && uniform() * peak >= load(t)) {
      if (!count && t >= until_s) break;
      continue;  // thinned out: this hour runs below the peak
    }
    if (count ? (long long)(times.size()) >= *count : t >= until_s) break;
    times.push_back(t);
  }
  return times;
}

std::vector<int> draw_lengths(const LengthDistribution& d, std::size_t n, std::uint64_t seed, std::uint64_t stream) {
  std::vector<int> out(n, std::max(1, int(std::lround(d.mean))));
  if (d.fixed()) return out;
  std::seed_seq seq{std::uint32_t(seed), std::uint32_t(seed >> 32), std::uint32_t(stream), std::uint32_t(stream >> 32),
                    0x1e57u};  // a tag so lengths never reuse the arrival stream's draws
  std::mt19937_64 engine(seq);
  auto uniform = [&] { return (double(engine() >> 11) + 0.5) * 0x1.0p-53; };  // in (0, 1)
  const double mu = std::log(d.mean) - d.sigma * d.sigma / 2;  // so the mean is d.mean before truncation
  for (auto& length : out) {
    const double z = std::sqrt(-2 * std::log(uniform())) * std::cos(2 * M_PI * uniform());
    length = int(std::clamp(std::lround(std::exp(mu + d.sigma * z)), 1L, long(d.max)));
  }
  return out;
}

double expected_arrivals(double rate_per_s, double begin_s, double end_s, const std::vector<double>* hourly) {
  if (end_s <= begin_s) return 0;
  if (!hourly || hourly->empty()) return rate_per_s * (end_s - begin_s);
  const double mean = mean_of(*hourly);
  double total = 0;
  for (double t = begin_s; t < end_s;) {
    const double next = std::min(end_s, (std::floor(t / kHour) + 1) * kHour);
    total += rate_per_s * load_at(*hourly, mean, t) * (next - t);
    t = next;
  }
  return total;
}

double peak_rate(double rate_per_s, double begin_s, double end_s, const std::vector<double>* hourly) {
  if (!hourly || hourly->empty()) return rate_per_s;
  const double mean = mean_of(*hourly);
  double peak = 0;
  for (double t = begin_s; t < end_s || t == begin_s;) {
    peak = std::max(peak, rate_per_s * load_at(*hourly, mean, t));
    if (t - begin_s >= 24 * kHour) break;  // every hour of the day seen
    t = (std::floor(t / kHour) + 1) * kHour;
  }
  return peak;
}

double StepProfile::at(double t) const {
  const auto after = std::upper_bound(times.begin(), times.end(), t);
  return after == times.begin() ? values.front() : values[std::size_t(after - times.begin()) - 1];
}

double StepProfile::max() const { return *std::max_element(values.begin(), values.end()); }

double StepProfile::integral(double from, double to) const {
  double total = 0;
  for (std::size_t i = 0; i <= times.size() && from < to; ++i) {
    const double end = i < times.size() ? std::min(to, times[i]) : to;
    if (end > from) {
      total += (end - from) * values[i == 0 ? 0 : i - 1];
      from = end;
    }
  }
  return total;
}

double saturated_requests_per_s(const ServingRequest& typical, int max_batch, double kv_capacity_tokens,
                                const IterationCost& cost, const IterationCost* verifier) {
  const double reserve = double(typical.input_tokens) + double(typical.samples) * typical.output_tokens;
  const int at_once = std::max(1, std::min(max_batch / typical.samples, int(kv_capacity_tokens / reserve)));
  const long long k = std::max<long long>(32, 4LL * at_once);
  ServingRequest queued = typical;
  queued.arrival_s = 0;
  const ScheduleResult r =
      schedule_replica(std::vector<ServingRequest>(std::size_t(3 * k), queued), max_batch, kv_capacity_tokens, cost, 0,
                       verifier);
  std::vector<double> done;
  for (const auto& timing : r.requests) done.push_back(timing.completion_s);
  std::sort(done.begin(), done.end());
  const double t1 = done[std::size_t(k - 1)], t2 = done[std::size_t(2 * k - 1)];
  // Completions come in waves of identical requests; count whole waves.
  const auto n1 = std::upper_bound(done.begin(), done.end(), t1) - done.begin();
  const auto n2 = std::upper_bound(done.begin(), done.end(), t2) - done.begin();
  return t2 > t1 ? double(n2 - n1) / (t2 - t1) : double(3 * k) / done.back();
}

}  // namespace fleetsim
