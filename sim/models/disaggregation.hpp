// Prefill/decode disaggregation: a service split into a pool of prefill replicas and a
// pool of decode replicas, the KV cache of every prompt sent from one to the other.
// Pure C++ (no SimGrid): the schedule of both pools and of the transfers between them.
//
// Model card
// - Why (Splitwise, Patel et al., ISCA'24; DistServe, Zhong et al., OSDI'24): on a
//   co-located replica every admitted prompt's prefill runs in an iteration that the
//   running decodes wait for, so time between tokens (TPOT) swings with the prompts that
//   arrive; and prefill wants compute while decode wants HBM bandwidth. Separate pools
//   remove the interference and let each pool have its own parallelism, at the price of
//   moving each prompt's KV cache.
// - Prefill pool: each replica runs the continuous-batching schedule of
//   serving_schedule.hpp with every request cut to its prefill (one output token): FIFO
//   admission up to its max_batch and KV capacity, all admitted prompts prefilled
//   together; a prompt's KV leaves the replica's cache when its prefill ends.
// - KV transfer: bytes = KV bytes per token (whole model, at the KV precision) x the
//   prompt's tokens. The KV is split over the replica's ranks (each holds its layers'
//   share of min(tp, kv_heads) head groups), so min(shards of the prefill replica,
//   shards of the decode replica) ranks send in parallel, each as one point-to-point
//   transfer of collectives.hpp (its per-rank link, which the caller picks from the
//   placement: NVLink when the two replicas share a scale-up domain, the node's NICs
//   otherwise, capped by the pod uplink's share between pods; NCCL's achievable fraction
//   of line rate and step latency). A transfer starts when its prefill has ended and both the
//   prefill replica's sending link and the decode replica's receiving link are free
//   (FIFO in the order prefills end): transfers queue, they are not a formula.
// - Decode pool: each replica runs the same schedule on requests that arrive with their
//   KV (prefilled: no prefill cost, the first token already made), so its iterations are
//   decode steps only. KV admission (input + samples x output tokens) and max_batch as
//   co-located. A reasoning query's samples all decode on its decode replica (the prompt's
//   KV sent once), and a verifier, if any, is resident there and scores them as co-located.
// - Latency: TTFT = queueing at the prefill replica + prefill + transfer + any wait for a
//   decode slot (the first token reaches the user when a decode replica takes the request
//   into its batch, as when the decode side pulls the KV it has room for); TPOT = (last
//   token - decode admission) / (output - 1): the decode pool's batches alone.
// Assumptions: the KV of a prompt whose decode replica has no room waits without taking
// the prefill replica's KV cache (optimistic for the prefill pool); no layer-by-layer
// overlap of the transfer with the prefill (Splitwise overlaps it: pessimistic for TTFT);
// transfers of different replica pairs do not share links (no fabric contention beyond
// each replica's own links).
#pragma once

#include <functional>
#include <vector>

#include "models/serving_schedule.hpp"

namespace fleetsim {

// The two pools of a disaggregated service, as the schedule sees them.
struct DisaggregatedPools {
  const IterationCost* prefill = nullptr;
  int prefill_max_batch = 1;
  double prefill_kv_tokens = 0;  // KV-cache capacity of one prefill replica, tokens
  const IterationCost* decode = nullptr;
  int decode_max_batch = 1;
  double decode_kv_tokens = 0;    // of one decode replica
  double kv_bytes_per_token = 0;  // whole model, at the KV precision
  // A verifier resident on the decode replicas (kind reasoning): scores each query's
  // samples after they finish decoding, as serving_schedule.hpp describes.
  const IterationCost* verifier = nullptr;
};

// One request, routed: the decode replica it goes to (its index in the pool, which
// decides the link its KV crosses) and the simulated decode replica that schedules it
// (-1: none; under the representative-replica method only a share is decoded).
struct RoutedRequest {
  ServingRequest request;
  int decode_replica = 0;
  int decode_slot = -1;
};

struct DisaggregatedTiming {
  double prefill_end_s = 0;
  double transfer_start_s = 0;
  double kv_ready_s = 0;      // the transfer's end
  double decode_start_s = 0;  // admitted by its decode replica: the first token reaches the user
  double decode_end_s = 0;    // its last token (kv_ready_s for a one-token answer)
  double completion_s = 0;    // after verification, if any (decode_end_s without a verifier)
  bool decoded = false;       // scheduled on a simulated decode replica
};

struct DisaggregatedSchedule {
  std::vector<std::vector<DisaggregatedTiming>> timing;  // per prefill replica, per request, in input order
  std::vector<ScheduleResult> prefill;                   // per simulated prefill replica
  std::vector<ScheduleResult> decode;                    // per simulated decode replica
};

// Seconds one prompt's KV of `bytes` takes from prefill replica `from` to decode replica
// `to` on an idle link (the caller knows the placement).
using KvTransferTime = std::function<double(int from, int to, double bytes)>;

// `per_prefill[p]`: the requests of simulated prefill replica p, sorted by arrival.
// `decode_slots`: simulated decode replicas (every decode_slot is below it).
DisaggregatedSchedule schedule_disaggregated(const std::vector<std::vector<RoutedRequest>>& per_prefill,
                                             int decode_slots, const DisaggregatedPools& pools,
                                             const KvTransferTime& transfer_time, double start_s = 0);

}  // namespace fleetsim
