#include "models/disaggregation.hpp"

#include <algorithm>
#include <cassert>
#include <tuple>

namespace fleetsim {

DisaggregatedSchedule schedule_disaggregated(const std::vector<std::vector<RoutedRequest>>& per_prefill,
                                             int decode_slots, const DisaggregatedPools& pools,
                                             const KvTransferTime& transfer_time, double start_s) {
  assert(pools.prefill && pools.decode && "both pools have a cost model");
  DisaggregatedSchedule out;
  out.timing.resize(per_prefill.size());

  // 1. Prefill: every request cut to its prompt and first token.
  struct Sent {
    double ready;
    std::size_t replica, index;
  };
  std::vector<Sent> sends;
  for (std::size_t p = 0; p < per_prefill.size(); ++p) {
    std::vector<ServingRequest> prompts;
    prompts.reserve(per_prefill[p].size());
    for (const RoutedRequest& r : per_prefill[p]) {
      ServingRequest prompt = r.request;
      prompt.output_tokens = 1;
      prompts.push_back(prompt);
    }
    out.prefill.push_back(
        schedule_replica(prompts, pools.prefill_max_batch, pools.prefill_kv_tokens, *pools.prefill, start_s));
    out.timing[p].resize(prompts.size());
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      out.timing[p][i].prefill_end_s = out.prefill.back().requests[i].first_token_s;
      sends.push_back({out.timing[p][i].prefill_end_s, p, i});
    }
  }

  // 2. KV transfers, FIFO in the order prefills end, each holding the prefill replica's
  // sending link and the decode replica's receiving link.
  std::sort(sends.begin(), sends.end(), [](const Sent& a, const Sent& b) {
    return std::tie(a.ready, a.replica, a.index) < std::tie(b.ready, b.replica, b.index);
  });
  std::vector<double> sending_free(per_prefill.size(), start_s);
  std::vector<double> receiving_free(static_cast<std::size_t>(decode_slots), start_s);
  std::vector<std::vector<std::pair<std::size_t, std::size_t>>> arrivals(static_cast<std::size_t>(decode_slots));
  for (const Sent& s : sends) {
    const RoutedRequest& r = per_prefill[s.replica][s.index];
    DisaggregatedTiming& t = out.timing[s.replica][s.index];
    double begin = std::max(s.ready, sending_free[s.replica]);
    if (r.decode_slot >= 0) begin = std::max(begin, receiving_free[std::size_t(r.decode_slot)]);
    const double bytes = pools.kv_bytes_per_token * r.request.input_tokens;
    const double end = begin + transfer_time(int(s.replica), r.decode_replica, bytes);
    t.transfer_start_s = begin;
    t.kv_ready_s = t.decode_start_s = t.decode_end_s = t.completion_s = end;
    sending_free[s.replica] = end;
    if (r.decode_slot >= 0) {
      receiving_free[std::size_t(r.decode_slot)] = end;
      arrivals[std::size_t(r.decode_slot)].push_back({s.replica, s.index});
    }
  }

  // 3. Decode: requests arrive with their KV; no prefill iterations.
  for (auto& list : arrivals) {
    std::stable_sort(list.begin(), list.end(), [&](const auto& a, const auto& b) {
      return out.timing[a.first][a.second].kv_ready_s < out.timing[b.first][b.second].kv_ready_s;
    });
    std::vector<ServingRequest> requests;
    requests.reserve(list.size());
    for (const auto& [p, i] : list) {
      ServingRequest request = per_prefill[p][i].request;
      request.arrival_s = out.timing[p][i].kv_ready_s;
      request.prefilled = true;
      requests.push_back(request);
    }
    out.decode.push_back(schedule_replica(requests, pools.decode_max_batch, pools.decode_kv_tokens, *pools.decode,
                                          start_s, pools.verifier));
    for (std::size_t k = 0; k < list.size(); ++k) {
      DisaggregatedTiming& t = out.timing[list[k].first][list[k].second];
      t.decoded = true;
      t.decode_start_s = out.decode.back().requests[k].first_token_s;
      t.decode_end_s = out.decode.back().requests[k].decode_end_s;
      t.completion_s = out.decode.back().requests[k].completion_s;
    }
  }
  return out;
}

}  // namespace fleetsim
