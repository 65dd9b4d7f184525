// Step-time and memory models against algebra written out by hand.
#include <catch2/catch.hpp>

#include "models/collectives.hpp"
#include "models/gemm.hpp"
#include "models/parallelism_search.hpp"
#include "models/serving_step.hpp"
#include "models/training_step.hpp"
#include "models/transformer.hpp"
#include "catalog/catalog.hpp"

using namespace fleetsim;

namespace {

ModelSpec llama3_405b() {
  ModelSpec m;
  m.name = "llama3-405b";
  m.layers = 126;
  m.hidden = 16384;
  m.ffn_hidden = 53248;
  m.heads = 128;
  m.kv_heads = 8;
  m.vocab = 128256;
  return m;
}

// A small GPT-style model whose numbers are easy to follow by hand.
ModelSpec tiny_gpt() {
  ModelSpec m;
  m.layers = 4;
  m.hidden = 1024;
  m.ffn_hidden = 4096;
  m.heads = 16;
  m.kv_heads = 16;
  m.vocab = 1000;
  m.mlp = MlpKind::GeLU;
  return m;
}

Accelerator test_gpu() {
  Accelerator a;
  a.name = "test-gpu";
  a.peak_bf16 = FlopRate(1000e12);
  a.peak_fp8 = FlopRate(2000e12);
  a.matmul_efficiency_bf16 = 0.5;
  a.matmul_efficiency_fp8 = 0.5;
  a.attention_efficiency = 0.25;
  a.hbm_capacity = Bytes(80e9);
  a.hbm_bandwidth = ByteRate(3e12);
  return a;
}

FabricView test_fabric() {
  FabricView f;
  f.scale_up_domain = 8;
  f.scale_up = {ByteRate(450e9), Seconds(0)};
  f.accelerators_in_pod = 1024;
  f.scale_out = {ByteRate(50e9), Seconds(0)};
  f.inter_pod = {ByteRate(25e9), Seconds(0)};
  return f;
}

// Pods of 64 accelerators in nodes of 8, with a pod uplink of 1 GB/s per accelerator.
FabricView thin_uplink_pods_of_64() {
  FabricView f = test_fabric();
  f.accelerators_per_node = 8;
  f.accelerators_in_pod = 64;
  f.inter_pod = {ByteRate(1e9), Seconds(0)};
  return f;
}

}  // namespace

TEST_CASE("Llama 3 405B has 405B parameters") {
  // Per layer: attention q,o 2*16384^2 = 536,870,912; k,v 2*16384*(8*128) = 33,554,432;
  // SwiGLU 3*16384*53248 = 2,617,245,696; total 3,187,671,040; x126 = 401,646,551,040.
  // Embeddings 2*128256*16384 = 4,202,692,608. Total 405,849,243,648.
  const ParameterCount p = count_parameters(llama3_405b());
  CHECK(p.non_embedding_total == Approx(401646551040.0));
  CHECK(p.total() == Approx(405849243648.0));
  CHECK(p.non_embedding_active == p.non_embedding_total);
}

TEST_CASE("model FLOPs per token follow SCENARIO.md's convention") {
  // 6 * 401,646,551,040 + 12 * 126 * 16384 * 8192 = 2.40988e12 + 2.02937e11
  CHECK(model_flops_per_token(llama3_405b(), 8192) == Approx(6 * 401646551040.0 + 12.0 * 126 * 16384 * 8192));
  // Hardware FLOPs add the LM head (6 * vocab * h) and, under full recompute, one more
  // forward pass (2 * N + 4 * L * h * s).
  const double base = model_flops_per_token(llama3_405b(), 8192) + 6.0 * 128256 * 16384;
  CHECK(hardware_flops_per_token(llama3_405b(), 8192, RecomputeMode::None) == Approx(base));
  CHECK(hardware_flops_per_token(llama3_405b(), 8192, RecomputeMode::Full) ==
        Approx(base + 2 * 401646551040.0 + 4.0 * 126 * 16384 * 8192));
}

TEST_CASE("MoE counts active and total experts apart") {
  ModelSpec m = tiny_gpt();
  m.mlp = MlpKind::SwiGLU;
  m.experts = 8;
  m.top_k = 2;
  m.expert_ffn_hidden = 512;
  m.shared_experts = 1;
  m.dense_layers = 1;
  const ParameterCount p = count_parameters(m);
  const double expert = 3.0 * 1024 * 512;  // one SwiGLU expert
  const double router = 1024.0 * 8;
  CHECK(p.moe_mlp_per_layer_total == Approx(9 * expert + router));
  CHECK(p.moe_mlp_per_layer_active == Approx(3 * expert + router));
  // 1 dense layer + 3 MoE layers; attention 4 * 1024^2 per layer.
  CHECK(p.non_embedding_active == Approx(4 * 4.0 * 1024 * 1024 + 3.0 * 1024 * 4096 + 3 * (3 * expert + router)));
}

TEST_CASE("collectives: NCCL's pick, Simple for large messages, LL for small") {
  // NCCL 2.20.3 tuning.cc figures (models/collectives.hpp). 1 GB over 8 ranks of one NVLink
  // domain, 450 GB/s x 370/450: ring/Simple = 8.4 us base + 14 steps x 3.4 us + 2*7/8 * 1e9
  // / 370e9 = 4.7297 ms + 56.0 us. Ring/LL128 pays 1/0.92 of that bandwidth term (5.14 ms),
  // ring/LL 1/4 capped at 87.7 GB/s (20 ms), tree/Simple 1/(0.92 x 0.5) per byte (5.9 ms).
  const LinkLevel nvlink{ByteRate(450e9), Seconds(3.4e-6)};
  const CollectiveChoice big = best_collective(CollectiveKind::AllReduce, Bytes(1e9), 8, nvlink);
  CHECK(big.algorithm == CollectiveAlgorithm::Ring);
  CHECK(big.protocol == CollectiveProtocol::Simple);
  CHECK(all_reduce(Bytes(1e9), 8, nvlink).value() == Approx(1.75e9 / 370e9 + 8.4e-6 + 14 * 3.4e-6));
  // Reduce-scatter: ring only, 8.4 + 7 x 3.4 us.
  CHECK(reduce_scatter(Bytes(1e9), 8, nvlink).value() == Approx(0.875e9 / 370e9 + 8.4e-6 + 7 * 3.4e-6));
  CHECK(collective_time(CollectiveKind::ReduceScatter, CollectiveAlgorithm::Tree, CollectiveProtocol::Simple,
                        Bytes(1e9), 8, nvlink).value() < 0);
  // A 16 KB TP all-reduce in decode (batch 1, hidden 8192, bf16), TP 8: ring/LL =
  // 6.6 + 14 x 0.6 = 15.0 us + 16384 / (87.7 GB/s x 8/14) = 0.327 us. Ring/Simple would
  // take 56.1 us, tree/LL 15.2 us + 16384 / (87.7 x 0.7 x 0.5 GB/s) = 15.73 us.
  const CollectiveChoice small = best_collective(CollectiveKind::AllReduce, Bytes(16384), 8, nvlink);
  CHECK(small.algorithm == CollectiveAlgorithm::Ring);
  CHECK(small.protocol == CollectiveProtocol::LL);
  CHECK(small.time.value() == Approx(15.0e-6 + 16384 / (87.7e9 * 8 / 14)));
  CHECK(collective_time(CollectiveKind::AllReduce, CollectiveAlgorithm::Tree, CollectiveProtocol::LL, Bytes(16384),
                        8, nvlink)
            .value() == Approx(15.2e-6 + 16384 / (87.7e9 * 0.7 * 0.5)));
  CHECK(point_to_point(Bytes(1e9), nvlink).value() == Approx(1e9 / 370e9 + 3.4e-6));
  CHECK(all_reduce(Bytes(1e9), 1, nvlink).value() == 0);
}

TEST_CASE("collectives: a group across domains counts NVLink and network steps apart") {
  // 32 ranks, 8 in each of 4 domains; empty messages leave the latency alone.
  LinkLevel net{ByteRate(400e9), Seconds(14e-6), kNetworkBandwidthEfficiency};
  net.ranks_per_domain = 8;
  auto lat = [&](CollectiveKind k, CollectiveAlgorithm a, CollectiveProtocol p) {
    return collective_time(k, a, p, Bytes(0), 32, net).value() * 1e6;
  };
  using K = CollectiveKind;
  using A = CollectiveAlgorithm;
  using P = CollectiveProtocol;
  // Ring all-reduce: 62 steps, 2 x 4 = 8 of them between domains, 54 inside (3.4 us, above
  // the 3 x 1 us network post overhead), then x1.4 for the multi-node ring plateau:
  // (8.4 + 54 x 3.4 + 8 x 14) x 1.4 = 425.6 us.
  CHECK(lat(K::AllReduce, A::Ring, P::Simple) == Approx((8.4 + 54 * 3.4 + 8 * 14) * 1.4));
  // LL: an intra-domain step costs at least the 1 us post overhead: 6.6 + 54 x 1 + 8 x 2.7.
  CHECK(lat(K::AllReduce, A::Ring, P::LL) == Approx(6.6 + 54 * 1.0 + 8 * 2.7));
  // Reduce-scatter: 31 steps, 3 between domains, no plateau: 8.4 + 28 x 3.4 + 3 x 14.
  CHECK(lat(K::ReduceScatter, A::Ring, P::Simple) == Approx(8.4 + 28 * 3.4 + 3 * 14));
  // Tree: 2 x (7 NVLink hops + log2(4) = 2 network hops): 6.8 + 2 x (7 x 0.6 + 2 x 5).
  CHECK(lat(K::AllReduce, A::Tree, P::LL) == Approx(6.8 + 2 * (7 * 0.6 + 2 * 5.0)));
  CHECK(lat(K::AllReduce, A::Tree, P::Simple) == Approx(2 * (7 * 28.0 + 2 * 28.0)));
  // The same 32 ranks inside one domain: all 62 steps over NVLink.
  net.ranks_per_domain = 0;
  CHECK(lat(K::AllReduce, A::Ring, P::Simple) == Approx(8.4 + 62 * 3.4));
}

TEST_CASE("collectives: the tree overtakes the ring for a data-parallel group of thousands") {
  // 64 MiB all-reduce; 8 ranks per domain; 376 GB/s per rank (8 pooled 50 GB/s NICs at
  // 47/50, as group_level gives DP with TP 1 on a DGX).
  LinkLevel dp{ByteRate(400e9), Seconds(14e-6), kNetworkBandwidthEfficiency};
  dp.ranks_per_domain = 8;
  const Bytes size(67108864.0);
  const double bus = 400e9 * 47 / 50;
  // 16 ranks (2 domains): ring/LL128 = 14 + 26 x 1.9 + 4 x 4.0 = 79.4 us
  // + 2^26 x 30/16 / (0.92 x 376 GB/s) = 363.8 us; tree/LL128 = 14 + 2 x (7 x 1.25 + 8.5)
  // = 48.5 us + 2^26 / (0.92 x 120/128 x 0.9 (size correction) x 0.5 x 376 GB/s) = 459.9 us.
  const CollectiveChoice sixteen = best_collective(CollectiveKind::AllReduce, size, 16, dp);
  CHECK(sixteen.algorithm == CollectiveAlgorithm::Ring);
  CHECK(sixteen.protocol == CollectiveProtocol::LL128);
  CHECK(sixteen.time.value() == Approx(79.4e-6 + 67108864.0 * 30 / 16 / (0.92 * bus)));
  // 8192 ranks (1024 domains): the ring's latency alone is (8.4 + 14334 x 3.4 + 2048 x 14)
  // x 1.4 = 108 ms; tree/LL128 = 14 + 2 x (7 x 1.25 + 10 x 8.5) = 201.5 us + 459.9 us.
  const CollectiveChoice fleet = best_collective(CollectiveKind::AllReduce, size, 8192, dp);
  CHECK(fleet.algorithm == CollectiveAlgorithm::Tree);
  CHECK(fleet.protocol == CollectiveProtocol::LL128);
  CHECK(fleet.time.value() == Approx(201.5e-6 + 67108864.0 / (0.92 * 120.0 / 128 * 0.9 * 0.5 * bus)));
  CHECK(collective_time(CollectiveKind::AllReduce, CollectiveAlgorithm::Ring, CollectiveProtocol::Simple, size, 8192,
                        dp)
            .value() > 0.108);
  // Reduce-scatter has no tree in NCCL 2.20: its ring latency grows with n regardless.
  // (its best, ring/LL, pays 6.6 + 7168 x 1 + 1023 x 2.7 us = 9.9 ms of latency).
  CHECK(reduce_scatter(size, 8192, dp).value() > 9.9e-3);
}

TEST_CASE("GEMM tile-and-wave model, by hand") {
  Accelerator gpu = test_gpu();  // 1000 TFLOP/s x 0.5, 3 TB/s
  // Without an SM count every shape runs at the measured rate.
  CHECK(gemm_time({4096, 4096, 4096}, gpu, Precision::BF16).value() == Approx(2.0 * 4096 * 4096 * 4096 / 500e12));
  gpu.streaming_multiprocessors = 100;
  // 4096 x 4096 output: 16 x 32 = 512 tiles of 256 x 128 -> 6 waves of 100 (5.12 rounded
  // up). Per tile: main loop 2 x 256 x 128 x 4096 / (500e12 / 100) = 53.7 us, write-back
  // 256 x 128 x 2 bytes / (3e12 / 100) = 2.18 us.
  const double tile_main = 2.0 * 256 * 128 * 4096 / 5e12, tile_store = 256.0 * 128 * 2 / 3e10;
  CHECK(gemm_time({4096, 4096, 4096}, gpu, Precision::BF16).value() == Approx(6 * (tile_main + tile_store)));
  // One row more costs a seventeenth row of tiles: 17 x 32 = 544 tiles, still 6 waves.
  CHECK(gemm_time({4097, 4096, 4096}, gpu, Precision::BF16).value() == Approx(6 * (tile_main + tile_store)));
  // A weight-gradient GEMM writes fp32 read-modify-write: 8 bytes per output element.
  CHECK(gemm_time({4096, 4096, 4096, 8.0}, gpu, Precision::BF16).value() ==
        Approx(6 * (tile_main + 4 * tile_store)));
  // 128 x 256 tiles where they need fewer waves: m = 128, n = 25600 -> 100 tiles of
  // 128 x 256 (1 wave) against 1 x 200 of 256 x 128 (2 waves).
  const double k = 1024;
  CHECK(gemm_time({128, 25600, k}, gpu, Precision::BF16).value() ==
        Approx(2.0 * 256 * 128 * k / 5e12 + tile_store));
}

TEST_CASE("context parallelism splits the queries, not the keys each query meets") {
  // Same 1024 query tokens per rank and micro-batch: seq 1024 without CP, seq 2048 over
  // cp = 2. Each query meets s keys, so the attention core costs twice as much per rank
  // (the first model divided the keys by cp too, and undercounted it cp times).
  const ModelSpec model = tiny_gpt();
  const Accelerator gpu = test_gpu();
  TrainingSetup plain{&model, &gpu, {1, 1, 8, 1, 1}, 1024, 64, 1, Precision::BF16, RecomputeMode::None, {}};
  TrainingSetup context{&model, &gpu, {1, 1, 4, 2, 1}, 2048, 32, 1, Precision::BF16, RecomputeMode::None, {}};
  const StepBreakdown a = training_step(plain, test_fabric()), b = training_step(context, test_fabric());
  REQUIRE(a.micro_batches == b.micro_batches);
  CHECK(b.compute_attention.value() == Approx(2 * a.compute_attention.value()));
  CHECK(b.compute_matmul.value() == Approx(a.compute_matmul.value()));
}

TEST_CASE("step time of a data-parallel job, by hand") {
  // tiny_gpt (L 4, h 1024, F 4096 GeLU, V 1000), 8 GPUs dp=8, seq 1024, global batch 64,
  // micro batch 1 -> m = 8 micro-batches of 1024 tokens. No recompute: 3 passes.
  const ModelSpec model = tiny_gpt();
  const Accelerator gpu = test_gpu();
  TrainingSetup s{&model, &gpu, {1, 1, 8, 1, 1}, 1024, 64, 1, Precision::BF16, RecomputeMode::None, {}};
  const StepBreakdown b = training_step(s, test_fabric());
  const ParameterCount p = count_parameters(model);
  const double tokens = 1024, L = 4, h = 1024, F = 4096, V = 1000;
  // GEMMs: 2 x params per layer x layers x tokens x 3 passes, plus the LM head 6 V h per
  // token, at 1000 TFLOP/s x 0.5.
  const double matmul = (2 * p.non_embedding_active * tokens * 3 + 6 * V * h * tokens) / 500e12;
  // Attention core: 4 h s per token and layer and pass, at 1000 TFLOP/s x 0.25.
  const double attention = 4 * h * 1024 * L * tokens * 3 / 250e12;
  // Element-wise: (22 h + 4 F) bytes per token, layer and pass, plus 52 V per token for
  // the fp32 cross entropy (its kernels, counted in training_step.cpp), at 3 TB/s x 0.9.
  const double elementwise = ((22 * h + 4 * F) * L * tokens * 3 + 52 * V * tokens) / 2.7e12;
  const double per_micro_batch = matmul + attention + elementwise;
  CHECK(b.micro_batches == 8);
  CHECK(b.compute_matmul.value() == Approx(8 * matmul));
  CHECK(b.compute_attention.value() == Approx(8 * attention));
  CHECK(b.compute_elementwise.value() == Approx(8 * elementwise));
  CHECK(b.compute.value() == Approx(8 * per_micro_batch));
  CHECK(b.bubble.value() == 0);
  CHECK(b.tp_comm.value() == 0);
  // DP over 8 ranks inside the scale-up domain (450 GB/s x 370/450 = 370 GB/s):
  // reduce-scatter of fp32 gradients 7/8 x 4 P, all-gather of bf16 parameters 7/8 x 2 P,
  // each NCCL's ring/Simple with its latency 8.4 us + 7 steps x 3.4 us.
  const double params = p.non_embedding_total + 2.0 * V * h;
  const double ring_latency = (8.4 + 7 * 3.4) * 1e-6;
  const double reduce_scatter = 7.0 / 8 * params * 4 / 370e9 + ring_latency;
  const double all_gather = 7.0 / 8 * params * 2 / 370e9 + ring_latency;
  CHECK(b.dp_comm.value() == Approx(reduce_scatter + all_gather));
  // Overlapped: the reduce-scatter with one backward (2/3 of a micro-batch), the
  // all-gather with one forward (1/3).
  CHECK(b.exposed_comm.value() == Approx(std::max(0.0, reduce_scatter - per_micro_batch * 2 / 3) +
                                         std::max(0.0, all_gather - per_micro_batch / 3)));
  // Optimizer: 30 bytes per parameter of the 1/8 shard at 3 TB/s x 0.9.
  CHECK(b.optimizer.value() == Approx(params / 8 * 30 / 2.7e12));
  CHECK(b.step_time.value() == Approx(b.compute.value() + b.exposed_comm.value() + b.optimizer.value()));

  // Without overlap every DP byte is exposed; without the distributed optimizer it is
  // one all-reduce of fp32 gradients and the whole optimizer runs on every rank.
  s.options.overlap_grad_reduce = s.options.overlap_param_gather = false;
  CHECK(training_step(s, test_fabric()).exposed_comm.value() == Approx(reduce_scatter + all_gather));
  s.options.zero_stage = 0;
  const StepBreakdown plain = training_step(s, test_fabric());
  CHECK(plain.dp_comm.value() == Approx(2 * 7.0 / 8 * params * 4 / 370e9 + (8.4 + 14 * 3.4) * 1e-6));
  CHECK(plain.optimizer.value() == Approx(params * 30 / 2.7e12));
}

TEST_CASE("group members on one node pool its NICs, up to the scale-up bandwidth") {
  const ModelSpec model = tiny_gpt();
  const Accelerator gpu = test_gpu();
  FabricView fabric = test_fabric();
  fabric.accelerators_per_node = 8;
  // DP 64 with TP 1: 8 ranks per node share 8 NICs -> 8 x 50 = 400 GB/s per rank.
  TrainingSetup tp1{&model, &gpu, {1, 1, 64, 1, 1}, 1024, 64, 1, Precision::BF16, RecomputeMode::None, {}};
  // DP 16 with TP 4: 2 ranks of each DP group per node -> 100 GB/s.
  TrainingSetup tp4{&model, &gpu, {4, 1, 16, 1, 1}, 1024, 64, 1, Precision::BF16, RecomputeMode::None, {}};
  const double p1 = parameters_per_accelerator(tp1), p4 = parameters_per_accelerator(tp4);
  // ZeRO-1: reduce-scatter 4 P and all-gather 2 P over that bandwidth, the group spanning
  // nodes with 8 (TP 1) or 2 (TP 4) of its ranks in each (the collectives' step counts).
  CHECK(training_step(tp1, fabric).dp_comm.value() ==
        Approx(reduce_scatter(Bytes(p1 * 4), 64, across_domains({ByteRate(400e9), Seconds(0)}, 8)).value() +
               all_gather(Bytes(p1 * 2), 64, across_domains({ByteRate(400e9), Seconds(0)}, 8)).value()));
  CHECK(training_step(tp4, fabric).dp_comm.value() ==
        Approx(reduce_scatter(Bytes(p4 * 4), 16, across_domains({ByteRate(100e9), Seconds(0)}, 2)).value() +
               all_gather(Bytes(p4 * 2), 16, across_domains({ByteRate(100e9), Seconds(0)}, 2)).value()));
  // Their bandwidth terms alone: 63/64 x 6 P / (400 GB/s x 370/450), below the total.
  CHECK(training_step(tp1, fabric).dp_comm.value() > 63.0 / 64 * p1 * 6 / (400e9 * 370 / 450));
}

TEST_CASE("a ring across pods pools its members' uplink shares, up to their NICs") {
  const ModelSpec model = tiny_gpt();
  const Accelerator gpu = test_gpu();
  FabricView fabric = thin_uplink_pods_of_64();  // 1 GB/s per accelerator of the pod uplink
  // TP 8, DP 16: the DP ring (stride 8) spans 128 ranks, two pods; 8 of its members are in
  // each pod and share the 64 GPUs' uplink: 8 x 1 GB/s, below their one NIC each (50).
  TrainingSetup s{&model, &gpu, {8, 1, 16, 1, 1}, 1024, 64, 1, Precision::BF16, RecomputeMode::None, {}};
  // One member per node: every ring step leaves a node.
  const double P = parameters_per_accelerator(s);
  auto zero1 = [&](double line_rate) {
    const LinkLevel level = across_domains({ByteRate(line_rate), Seconds(0)}, 1);
    return reduce_scatter(Bytes(P * 4), 16, level).value() + all_gather(Bytes(P * 2), 16, level).value();
  };
  CHECK(training_step(s, fabric).dp_comm.value() == Approx(zero1(8e9)));
  // A generous uplink: the NIC is the limit (one member per node, 50 GB/s).
  fabric.inter_pod = {ByteRate(100e9), Seconds(0)};
  CHECK(training_step(s, fabric).dp_comm.value() == Approx(zero1(50e9)));
}

TEST_CASE("rank order tp-cp-pp-dp keeps the pipeline inside a pod and spreads DP across pods") {
  const ModelSpec model = tiny_gpt();
  const Accelerator gpu = test_gpu();
  FabricView fabric = test_fabric();
  fabric.accelerators_per_node = 8;
  fabric.accelerators_in_pod = 32;
  fabric.inter_pod = {ByteRate(1e9), Seconds(0)};
  // TP 8, PP 4, DP 2 on 64 GPUs in two pods of 32.
  TrainingSetup s{&model, &gpu, {8, 4, 2, 1, 1}, 1024, 16, 1, Precision::BF16, RecomputeMode::None, {}};
  const StepBreakdown megatron = training_step(s, fabric);  // PP stride 16: crosses pods
  s.options.rank_order = RankOrder::TpCpPpDp;                 // PP stride 8: inside a pod
  const StepBreakdown llama = training_step(s, fabric);
  CHECK(llama.pp_comm.value() == Approx(megatron.pp_comm.value() * 1e9 / 50e9));
  CHECK(llama.dp_comm > megatron.dp_comm);  // DP (stride 32) now crosses the pods
}

TEST_CASE("pipeline bubble is (pp - 1) / m of the compute") {
  const ModelSpec model = tiny_gpt();
  const Accelerator gpu = test_gpu();
  // pp 4, dp 2, global batch 32 -> m = 16.
  TrainingSetup s{&model, &gpu, {1, 4, 2, 1, 1}, 1024, 32, 1, Precision::BF16, RecomputeMode::None, {}};
  const StepBreakdown b = training_step(s, test_fabric());
  CHECK(b.micro_batches == 16);
  // The last stage (1 layer + LM head + loss) is the slowest and sets the pace.
  CHECK(b.bubble.value() == Approx(b.compute.value() * 3 / 16));
  // Interleaving with 2 virtual stages halves the bubble and doubles the sends.
  s.options.virtual_stages = 2;
  const StepBreakdown interleaved = training_step(s, test_fabric());
  CHECK(interleaved.bubble.value() == Approx(b.bubble.value() / 2));
  CHECK(interleaved.pp_comm.value() == Approx(2 * b.pp_comm.value()));
  CHECK(b.pp_comm.value() > 0);
  // Plain 1F1B waits for its sends; interleaved sends overlap the next model chunk's
  // forward (Megatron's overlap_p2p_comm, Llama 3's asynchronous sends). Here each send is
  // shorter than a chunk's forward, so none of the (doubled) sends is exposed.
  CHECK(b.exposed_comm.value() >= b.pp_comm.value());
  CHECK(interleaved.exposed_comm.value() == Approx(b.exposed_comm.value() - b.pp_comm.value()));
  CHECK(interleaved.exposed_comm <= interleaved.total_comm);
  // overlap.pp_comm: false (Megatron's --no-overlap-p2p-communication) exposes all of them.
  s.options.overlap_pp_comm = false;
  const StepBreakdown waiting = training_step(s, test_fabric());
  CHECK(waiting.exposed_comm.value() == Approx(interleaved.exposed_comm.value() + interleaved.pp_comm.value()));
}

TEST_CASE("an uneven pipeline split is paced by its full stages") {
  const Accelerator gpu = test_gpu();
  auto compute = [&](int layers) {
    ModelSpec model = tiny_gpt();
    model.layers = layers;
    TrainingSetup s{&model, &gpu, {1, 4, 2, 1, 1}, 1024, 32, 1, Precision::BF16, RecomputeMode::None, {}};
    return training_step(s, test_fabric()).compute.value();
  };
  // 8 layers on 4 stages: 2 each, the last also runs the LM head and the loss. 6 layers:
  // 1, 2, 2, 1 -- a full stage of 2 layers is the slowest; 5 layers: 1, 2, 1, 1 (the ends
  // never go below one layer; the rest of the shortfall comes off a middle stage), still
  // paced by the full stage of 2.
  CHECK(compute(6) < compute(8));
  CHECK(compute(5) == Approx(compute(6)));
}

TEST_CASE("exposed communication never exceeds total communication") {
  const ModelSpec model = tiny_gpt();
  const Accelerator gpu = test_gpu();
  for (int tp : {1, 2, 8, 16})
    for (int pp : {1, 2, 4})
      for (int cp : {1, 2})
        for (auto rc : {RecomputeMode::None, RecomputeMode::Full}) {
          TrainingSetup s{&model, &gpu, {tp, pp, 4, cp, 1}, 2048, 64, 1, Precision::BF16, rc, {}};
          const StepBreakdown b = training_step(s, test_fabric());
          INFO("tp " << tp << " pp " << pp << " cp " << cp);
          CHECK(b.exposed_comm <= b.total_comm);
          CHECK(b.step_time.value() > b.compute.value());
        }
}

TEST_CASE("TP beyond the scale-up domain pays the scale-out bandwidth") {
  const ModelSpec model = tiny_gpt();
  const Accelerator gpu = test_gpu();
  TrainingSetup inside{&model, &gpu, {8, 1, 2, 1, 1}, 1024, 16, 1, Precision::BF16, RecomputeMode::None, {}};
  TrainingSetup across{&model, &gpu, {16, 1, 1, 1, 1}, 1024, 16, 1, Precision::BF16, RecomputeMode::None, {}};
  const Seconds per_pair_inside = training_step(inside, test_fabric()).tp_comm;
  const Seconds per_pair_across = training_step(across, test_fabric()).tp_comm;
  // Both run 4 collectives x 4 layers x m micro-batches; across the node the bandwidth
  // is 50 instead of 450 GB/s (and m is 16 instead of 8).
  // (TP 16 spans two 8-GPU domains: NCCL's two-level step count.)
  const Bytes activations(1024.0 * 1024 * 2);
  const double inside_one = all_reduce(activations, 8, {ByteRate(450e9), Seconds(0)}).value();
  const double across_one = all_reduce(activations, 16, across_domains({ByteRate(50e9), Seconds(0)}, 8)).value();
  CHECK(across_one > 2.0 * 15 / 16 * 1024 * 1024 * 2 / (50e9 * 370 / 450));
  CHECK(per_pair_inside.value() == Approx(inside_one * 4 * 4 * 8));
  CHECK(per_pair_across.value() == Approx(across_one * 4 * 4 * 16));
}

TEST_CASE("memory: distributed optimizer bytes and the largest term") {
  const ModelSpec model = llama3_405b();
  const Accelerator gpu = test_gpu();
  // 405B on 64 GPUs with no model parallelism cannot fit in 80 GB.
  TrainingSetup s{&model, &gpu, {1, 1, 64, 1, 1}, 8192, 512, 1, Precision::BF16, RecomputeMode::None, {}};
  const MemoryBreakdown m = training_memory(s);
  const double params = 405849243648.0;
  CHECK(m.weights.value() == Approx(2 * params));
  CHECK(m.gradients.value() == Approx(4 * params));
  CHECK(m.optimizer_state.value() == Approx(12 * params / 64));
  CHECK_FALSE(m.fits());
  CHECK(m.largest_term().rfind("gradients", 0) == 0);
  // tp 8, pp 16: the loaded stage holds 126/16 layers' parameters / 8 plus the embedding / 8.
  TrainingSetup big{&model, &gpu, {8, 16, 128, 1, 1}, 8192, 2048, 1, Precision::BF16, RecomputeMode::None, {}};
  const double stage = 401646551040.0 / 128 + 128256.0 * 16384 / 8;
  CHECK(parameters_per_accelerator(big) == Approx(stage));
}

TEST_CASE("precision options: bytes per parameter by hand (Megatron-Core's distributed optimizer table)") {
  const ModelSpec model = llama3_405b();
  const Accelerator gpu = test_gpu();
  TrainingSetup s{&model, &gpu, {1, 1, 64, 1, 1}, 8192, 512, 1, Precision::BF16, RecomputeMode::None, {}};
  auto same = [](const PrecisionBytes& b, double w, double g, double master, double m, double v, double copy,
                 double traffic) {
    CHECK(b.weight == w);
    CHECK(b.grad == g);
    CHECK(b.master == master);
    CHECK(b.exp_avg == m);
    CHECK(b.exp_avg_sq == v);
    CHECK(b.grad_copy == copy);
    CHECK(b.optimizer_traffic == traffic);
  };
  // Megatron-Core's defaults: bf16 weights, fp32 main gradients, fp32 master and moments
  // (6 + 12/d); Adam reads the gradient 4, reads and writes 12 twice, writes the weight 2.
  same(precision_bytes(s), 2, 4, 4, 4, 4, 0, 30);
  CHECK(precision_bytes(s).optimizer_state() == 12);
  // grad_reduce_in_fp32: false: a bf16 buffer (2), and the distributed optimizer's fp32 copy
  // of its shard (4): 2 + 2 + 16/d, the table's "16-bit parameters, 16-bit gradients" row.
  // Adam: the copy reads 2 and writes 4, then as before: 4 + 6 + 24 + 2 = 36.
  s.options.grad_reduce_in_fp32 = false;
  same(precision_bytes(s), 2, 2, 4, 4, 4, 4, 36);
  const double params = 405849243648.0;
  MemoryBreakdown m = training_memory(s);
  CHECK(m.weights.value() == Approx(2 * params));
  CHECK(m.gradients.value() == Approx(2 * params));
  // The copy is made at the optimizer step, after the activations are freed: it counts only
  // beyond them. Here 8192 tokens of activations (several GB per layer) hide it ...
  CHECK(m.activations.value() > 4 * params / 64);
  CHECK(m.optimizer_state.value() == Approx(12 * params / 64));
  // ... and 128 tokens under full recompute (128 x 126 x 2 x 16384 bytes of layer inputs,
  // 128 x 128256 x 4 of logits) do not: 12/64 plus the rest of the 4/64.
  TrainingSetup short_seq = s;
  short_seq.seq_len = 128;
  short_seq.recompute = RecomputeMode::Full;
  const MemoryBreakdown sm = training_memory(short_seq);
  CHECK(sm.activations.value() == Approx(128.0 * 126 * 2 * 16384));
  CHECK(sm.logits.value() == Approx(128.0 * 128256 * 4));
  CHECK(sm.optimizer_state.value() ==
        Approx(12 * params / 64 + 4 * params / 64 - sm.activations.value() - sm.logits.value()));
  // FP8 primary weights (fp8_param_gather): 1 byte stored, gathered and written by Adam.
  s.precision = Precision::FP8;
  s.options.fp8_param_gather = true;
  same(precision_bytes(s), 1, 2, 4, 4, 4, 4, 35);
  m = training_memory(s);
  CHECK(m.weights.value() == Approx(1 * params));
  CHECK(m.optimizer_state.value() == Approx(12 * params / 64));
  // The precision-aware optimizer in a bf16 run reads the bf16 shard in place (no copy),
  // keeps bf16 moments and the fp32 master as a 16-bit remainder beside the bf16 weight:
  // 2 + 2 + 2; Adam reads the gradient 2, reads and writes 6 twice, reads and writes the
  // weight 2 + 2: 18.
  s.precision = Precision::BF16;
  s.options.fp8_param_gather = false;
  s.options.optimizer.precision_aware = true;
  s.options.optimizer.exp_avg = s.options.optimizer.exp_avg_sq = StateDtype::BF16;
  same(precision_bytes(s), 2, 2, 2, 2, 2, 0, 18);
  CHECK(training_memory(s).optimizer_state.value() == Approx(6 * params / 64));
  // Without remainders the master is a whole fp32: 4 + 2 + 2; traffic 2 + 16 + 2 = 20.
  s.options.optimizer.store_param_remainders = false;
  same(precision_bytes(s), 2, 2, 4, 2, 2, 0, 20);
  // An FP8 run keeping an fp32 master goes through Megatron's own master and the fp32 copy
  // (use_precision_aware_optimizer_no_fp8_or_ds_fp8 is false): 4 + 1 + 1 + 4 with FP8
  // moments; traffic 4 + 6 + 12 + 2 = 24. An fp16 master reads the shard in place again:
  // 2 + 1 + 1; traffic 2 + 8 + 2 = 12.
  s.precision = Precision::FP8;
  s.options.optimizer.store_param_remainders = true;
  s.options.optimizer.exp_avg = s.options.optimizer.exp_avg_sq = StateDtype::FP8;
  same(precision_bytes(s), 2, 2, 4, 1, 1, 4, 24);
  s.options.optimizer.main_params = StateDtype::FP16;
  same(precision_bytes(s), 2, 2, 2, 1, 1, 0, 12);
}

TEST_CASE("precision options: DP collectives and the optimizer step move the configured bytes") {
  // tiny_gpt on 8 GPUs as in "step time of a data-parallel job, by hand": a bf16 gradient
  // reduce-scatter (2 bytes) and an FP8 parameter all-gather (1 byte) at 370 GB/s.
  const ModelSpec model = tiny_gpt();
  const Accelerator gpu = test_gpu();
  TrainingSetup s{&model, &gpu, {1, 1, 8, 1, 1}, 1024, 64, 1, Precision::FP8, RecomputeMode::None, {}};
  s.options.grad_reduce_in_fp32 = false;
  s.options.fp8_param_gather = true;
  const StepBreakdown b = training_step(s, test_fabric());
  const ParameterCount p = count_parameters(model);
  const double params = p.non_embedding_total + 2.0 * 1000 * 1024;
  // Each collective at NCCL's pick for DP 8 inside the node (bandwidth term 7/8 x bytes at
  // 370 GB/s, plus NCCL's latency: collectives.hpp, checked by hand in its own tests).
  const LinkLevel nvlink = test_fabric().scale_up;
  CHECK(b.dp_comm.value() == Approx((reduce_scatter(Bytes(params * 2), 8, nvlink) +
                                     all_gather(Bytes(params * 1), 8, nvlink)).value()));
  CHECK(b.dp_comm.value() == Approx(7.0 / 8 * params * 2 / 370e9 + 7.0 / 8 * params * 1 / 370e9).epsilon(0.25));
  // Adam: 35 bytes per parameter of the 1/8 shard at 3 TB/s x 0.9.
  CHECK(b.optimizer.value() == Approx(params / 8 * 35 / 2.7e12));
  // ZeRO-0: one all-reduce of the bf16 gradients, the whole optimizer on every rank.
  s.options.zero_stage = 0;
  const StepBreakdown plain = training_step(s, test_fabric());
  CHECK(plain.dp_comm.value() == Approx(all_reduce(Bytes(params * 2), 8, nvlink).value()));
  CHECK(plain.optimizer.value() == Approx(params * 35 / 2.7e12));
  // ZeRO-3: per micro-batch and layer, two FP8 gathers and a bf16 reduce-scatter.
  s.options.zero_stage = 3;
  TrainingSetup fp32 = s;
  fp32.options.grad_reduce_in_fp32 = true;
  fp32.options.fp8_param_gather = false;
  const double ratio = training_step(s, test_fabric()).dp_comm.value() / training_step(fp32, test_fabric()).dp_comm.value();
  CHECK(ratio < 1.0);
  // The weight-gradient GEMMs write a bf16 main gradient: never slower than into fp32.
  CHECK(b.compute_matmul.value() <= training_step(fp32, test_fabric()).compute_matmul.value());
}

TEST_CASE("FP8 quantization passes: bytes of one layer by hand (Transformer Engine)") {
  // tiny_gpt (h 1024, GeLU F 4096, 16 heads = 16 KV heads: QKV 3h wide) at TP 2 with
  // sequence parallelism on a Hopper-like GPU (no FP4: FP8 operands need transposes).
  // Per token of the micro-batch, tensorwise (current scaling), bytes per element: amax 2,
  // cast 3 (read 2, write 1), transposed copy 1 in the cast or 2 after an all-gather.
  // Forward: QKV input (norm output, amax fused): cast 3 x 512 + transpose of the gathered
  //   2 x 1024 = 3584; projection input (attention output): (2 + 3 + 1) x 512 = 3072; MLP-in
  //   input (norm): 3584; MLP-out input (GeLU output, amax fused): (3 + 1) x 2048 = 8192;
  //   18432 = 18h.
  // Backward: QKV output gradient (2 + 3 + 1) x 1536 = 9216; projection output gradient,
  //   quantized on 512 and gathered: 5 x 512 + 2 x 1024 = 4608; MLP-in output gradient
  //   6 x 2048 = 12288; MLP-out output gradient 4608; 30720 = 30h.
  // Weights: bf16 weights cast once per step: amax 2 + cast 3 + transpose 1 = 6 per weight.
  const ModelSpec model = tiny_gpt();
  Accelerator gpu = test_gpu();
  gpu.vendor = "NVIDIA";  // Transformer Engine's passes: NVIDIA GPUs only
  TrainingSetup s{&model, &gpu, {2, 1, 1, 1, 1}, 1024, 4, 1, Precision::FP8, RecomputeMode::None, {}};
  s.options.fp8_recipe = Fp8Recipe::Tensorwise;
  Fp8QuantizationBytes q = fp8_quantization_bytes(s);
  CHECK(q.forward_per_token == Approx(18432));
  CHECK(q.backward_per_token == Approx(30720));
  CHECK(q.weight_per_parameter == Approx(6));
  // The step: 4 micro-batches of 1024 tokens through 4 layers, plus the weights of the
  // 4 layers on this rank once, at 0.9 x 3 TB/s on top of the bf16 element-wise kernels.
  TrainingSetup bf16 = s;
  bf16.precision = Precision::BF16;
  const double layer_weights = count_parameters(model).non_embedding_total / 2;
  const double extra = (4 * 1024 * 4 * (18432.0 + 30720.0) + layer_weights * 6) / 2.7e12;
  CHECK(training_step(s, test_fabric()).compute_elementwise.value() -
            training_step(bf16, test_fabric()).compute_elementwise.value() ==
        Approx(extra));
  // FP8 primary weights (fp8_param_gather): only their transpose, read 1 + write 1.
  s.options.fp8_param_gather = true;
  CHECK(fp8_quantization_bytes(s).weight_per_parameter == Approx(2));
  s.options.fp8_param_gather = false;
  // Delayed scaling: no amax pass, and the norm and GeLU kernels write FP8 themselves; what
  // is left forward is the transposes (gathered 2 x 1024 twice, GeLU output 2 x 2048) and
  // the projection input's cast-transpose 4 x 512: 10240.
  s.options.fp8_recipe = Fp8Recipe::Delayed;
  CHECK(fp8_quantization_bytes(s).forward_per_token == Approx(10240));
  // Blackwell (FP4 tensor cores): per-tensor FP8 needs no transposes: 11776 and 23040.
  gpu.peak_fp4 = FlopRate(4000e12);
  s.options.fp8_recipe = Fp8Recipe::Tensorwise;
  q = fp8_quantization_bytes(s);
  CHECK(q.forward_per_token == Approx(11776));
  CHECK(q.backward_per_token == Approx(23040));
  CHECK(q.weight_per_parameter == Approx(5));
  // bf16 moves none of it, nor does a TPU's or Trainium's FP8 (not Transformer Engine).
  CHECK(fp8_quantization_bytes(bf16).forward_per_token == 0);
  gpu.vendor = "Google";
  CHECK(fp8_quantization_bytes(s).forward_per_token == 0);
  CHECK(fp8_quantization_bytes(s).weight_per_parameter == 0);
}

TEST_CASE("FP8 quantization passes follow the real GEMM inputs: MLA projections and full-width expert inputs") {
  // MLA (DeepSeek-V3's attention shapes on a small hidden size), TP 1, Hopper-like, delayed
  // scaling, no SP: forward inputs are the norm output for the two down projections (cast
  // fused into the norm: only the transpose, read 1 + write 1 per element each), the q latent (1536)
  // and kv latent (512) and O's input heads x v (cast-transpose 4 bytes each); backward the
  // output gradients of q down 1536, kv down 576, q up 128 x 192, kv up 128 x 256 and O h,
  // 4 bytes each.
  ModelSpec m = tiny_gpt();
  m.heads = 128;
  m.q_lora_rank = 1536;
  m.kv_lora_rank = 512;
  m.qk_nope_head_dim = 128;
  m.qk_rope_head_dim = 64;
  m.v_head_dim = 128;
  Accelerator gpu = test_gpu();
  gpu.vendor = "NVIDIA";
  TrainingSetup s{&m, &gpu, {1, 1, 1, 1, 1}, 1024, 4, 1, Precision::FP8, RecomputeMode::None, {}};
  const double h = m.hidden, F = m.ffn_hidden;
  const double mlp_fwd = 2 * h + 2 * F;   // MLP-in norm output, GeLU output: transposes only
  const double mlp_bwd = 4 * F + 4 * h;   // their output gradients: cast-transpose
  const Fp8QuantizationBytes q = fp8_quantization_bytes(s);
  CHECK(q.forward_per_token == Approx(2 * 2 * h + 4 * (1536 + 512 + 128 * 128) + mlp_fwd));
  CHECK(q.backward_per_token == Approx(4 * (1536 + 576 + 128 * 192 + 128 * 256 + h) + mlp_bwd));
  // MoE at TP 2: each routed copy's input is h wide on every rank (experts split by ffn only),
  // top_k x the load imbalance copies: doubling tp halves only the ffn-wide terms.
  ModelSpec moe = tiny_gpt();
  moe.experts = 8;
  moe.top_k = 2;
  moe.expert_ffn_hidden = 1024;
  moe.dense_layers = 0;
  TrainingSetup e{&moe, &gpu, {1, 1, 1, 1, 1}, 1024, 4, 1, Precision::FP8, RecomputeMode::None, {}};
  e.options.sequence_parallel = false;
  const double copies = 2 * kMoeLoadImbalance;
  auto expert_fwd = [&](double t) { return 4 * copies * moe.hidden + 4 * copies * 1024 / t; };
  TrainingSetup e2 = e;
  e2.parallelism.tp = 2;
  const double attn1 = fp8_quantization_bytes(e).forward_per_token - expert_fwd(1);
  const double attn2 = fp8_quantization_bytes(e2).forward_per_token - expert_fwd(2);
  // The attention part at TP 1: QKV input transpose 2h + O input cast-transpose 4h.
  CHECK(attn1 == Approx(2 * moe.hidden + 4 * moe.hidden));
  // At TP 2 without SP: QKV input whole (2h), O input 4 x h / 2.
  CHECK(attn2 == Approx(2 * moe.hidden + 4 * moe.hidden / 2));
}

TEST_CASE("FP8 runs keep the LM head in BF16 (Megatron-Core's FP8 context covers the transformer layers only)") {
  // Two models that differ only in their vocabulary: the extra LM-head GEMM time is the
  // same whether the layers run FP8 or BF16.
  ModelSpec small = tiny_gpt(), large = tiny_gpt();
  large.vocab = 64000;
  const Accelerator gpu = test_gpu();
  auto matmul = [&](const ModelSpec& m, Precision p) {
    const TrainingSetup s{&m, &gpu, {1, 1, 1, 1, 1}, 1024, 4, 1, p, RecomputeMode::None, {}};
    return training_step(s, test_fabric()).compute_matmul.value();
  };
  CHECK(matmul(large, Precision::FP8) - matmul(small, Precision::FP8) ==
        Approx(matmul(large, Precision::BF16) - matmul(small, Precision::BF16)));
  CHECK(matmul(small, Precision::FP8) < matmul(small, Precision::BF16));
}

TEST_CASE("memory: ZeRO stages shard gradients and parameters, keeping two layers whole") {
  const ModelSpec model = llama3_405b();
  const Accelerator gpu = test_gpu();
  TrainingSetup s{&model, &gpu, {8, 16, 128, 1, 1}, 8192, 2048, 1, Precision::BF16, RecomputeMode::None, {}};
  // One layer's TP shard: attention 2h^2 + 2 h kv (kv = 1024), SwiGLU 3 h F, over tp 8.
  const double h = 16384, layer = (2 * h * h + 2 * h * 1024 + 3 * h * 53248) / 8;
  // 126 layers on 16 stages: 7, 8 x 14, 7. The most loaded is the second stage: 8 layers
  // and 15 micro-batches in flight (the first: 7 layers, 16 micro-batches, embedding).
  const double P = 8 * layer;
  // Activations per token and layer (Korthikanti et al. generalised): norms 4h,
  // attention 7h + 4 kv, SwiGLU MLP 3h + 6F; 8192 tokens, / tp 8.
  const double per_token_layer = 14 * h + 4 * 1024 + 6 * 53248.0;
  CHECK(training_memory(s).activations.value() == Approx(15 * 8 * 8192 * per_token_layer / 8));
  // Without dropout the two 1-byte masks per hidden element are not stored.
  ModelSpec no_dropout = model;
  no_dropout.dropout = false;
  TrainingSetup nd = s;
  nd.model = &no_dropout;
  CHECK(training_memory(nd).activations.value() == Approx(15 * 8 * 8192 * (per_token_layer - 2 * h) / 8));
  // Without sequence parallelism the norms' inputs, the linear layers' inputs and the dropout
  // masks (10h per token and layer; 8h without dropout) stay whole on every TP rank
  // (Korthikanti et al. 2022, eq. 2): add 10h (or 8h) x (tp - 1) / tp.
  TrainingSetup s_nosp = s, nd_nosp = nd;
  s_nosp.options.sequence_parallel = false;
  nd_nosp.options.sequence_parallel = false;
  CHECK(training_memory(s_nosp).activations.value() ==
        Approx(15 * 8 * 8192 * (per_token_layer / 8 + 10 * h * 7 / 8)));
  CHECK(training_memory(nd_nosp).activations.value() ==
        Approx(15 * 8 * 8192 * ((per_token_layer - 2 * h) / 8 + 8 * h * 7 / 8)));
  s.options.zero_stage = 0;
  CHECK(training_memory(s).optimizer_state.value() == Approx(12 * P));
  s.options.zero_stage = 1;
  const MemoryBreakdown z1 = training_memory(s);
  CHECK(z1.gradients.value() == Approx(4 * P));
  CHECK(z1.optimizer_state.value() == Approx(12 * P / 128));
  s.options.zero_stage = 2;
  const MemoryBreakdown z2 = training_memory(s);
  CHECK(z2.weights.value() == Approx(2 * P));
  CHECK(z2.gradients.value() == Approx(4 * (P / 128 + 2 * layer)));
  s.options.zero_stage = 3;
  const MemoryBreakdown z3 = training_memory(s);
  CHECK(z3.weights.value() == Approx(2 * (P / 128 + 2 * layer)));
  CHECK(z3.activations.value() == Approx(z1.activations.value()));
  // Meta's layout (Llama 3, sec. 3.3.2: gradients and optimizer sharded) fits in 80 GB
  // without recompute; Megatron's distributed optimizer alone does not.
  CHECK(z2.total().value() < 85.5e9);
  CHECK(z1.total().value() > 85.5e9);
}

TEST_CASE("hybrid sharding: memory divides by the ZeRO group, not by dp") {
  const ModelSpec model = llama3_405b();
  const Accelerator gpu = test_gpu();
  TrainingSetup s{&model, &gpu, {8, 16, 128, 1, 1}, 8192, 2048, 1, Precision::BF16, RecomputeMode::None, {}};
  // As above: the second stage holds 8 layers of one TP shard each.
  const double h = 16384, layer = (2 * h * h + 2 * h * 1024 + 3 * h * 53248) / 8, P = 8 * layer;
  s.options.zero_stage = 3;
  s.options.zero_group = 16;  // 8 groups of 16 DP ranks
  CHECK(zero_group_size(s) == 16);
  const MemoryBreakdown hybrid = training_memory(s);
  CHECK(hybrid.weights.value() == Approx(2 * (P / 16 + 2 * layer)));
  CHECK(hybrid.gradients.value() == Approx(4 * (P / 16 + 2 * layer)));
  CHECK(hybrid.optimizer_state.value() == Approx(12 * P / 16));
  s.options.zero_stage = 1;
  CHECK(training_memory(s).optimizer_state.value() == Approx(12 * P / 16));
  CHECK(training_memory(s).gradients.value() == Approx(4 * P));
  // A group of all dp is the plain ZeRO stage, to the byte; ZeRO-0 ignores the group.
  for (int zero : {1, 2, 3}) {
    TrainingSetup plain = s, whole = s;
    plain.options.zero_stage = whole.options.zero_stage = zero;
    plain.options.zero_group = 0;
    whole.options.zero_group = 128;
    CHECK(training_memory(whole).total().value() == training_memory(plain).total().value());
  }
  s.options.zero_stage = 0;
  CHECK(zero_group_size(s) == 128);
}

TEST_CASE("hybrid sharding: a group of all dp reproduces the ZeRO stage's step exactly") {
  const ModelSpec model = tiny_gpt();
  const Accelerator gpu = test_gpu();
  FabricView fabric = thin_uplink_pods_of_64();  // 1 GB/s per accelerator of the pod uplink
  for (int zero : {0, 1, 2, 3}) {
    for (bool overlap : {true, false}) {
      TrainingSetup plain{&model, &gpu, {8, 1, 16, 1, 1}, 1024, 64, 1, Precision::BF16, RecomputeMode::None, {}};
      plain.options.zero_stage = zero;
      plain.options.overlap_grad_reduce = plain.options.overlap_param_gather = overlap;
      TrainingSetup whole = plain;
      whole.options.zero_group = 16;
      const StepBreakdown a = training_step(plain, fabric), b = training_step(whole, fabric);
      CHECK(a.step_time.value() == b.step_time.value());
      CHECK(a.dp_comm.value() == b.dp_comm.value());
      CHECK(a.exposed_comm.value() == b.exposed_comm.value());
      CHECK(a.optimizer.value() == b.optimizer.value());
    }
  }
}

TEST_CASE("hybrid sharding: a group inside a pod beats rings across pods on a thin uplink") {
  const ModelSpec model = tiny_gpt();
  const Accelerator gpu = test_gpu();
  FabricView fabric = thin_uplink_pods_of_64();  // 1 GB/s per accelerator of the pod uplink
  // TP 8, DP 16 on 128 GPUs in two pods of 64; ZeRO-1, no overlap (every byte exposed).
  TrainingSetup all{&model, &gpu, {8, 1, 16, 1, 1}, 1024, 64, 1, Precision::BF16, RecomputeMode::None, {}};
  all.options.overlap_grad_reduce = all.options.overlap_param_gather = false;
  TrainingSetup pod = all;
  pod.options.zero_group = 8;  // 8 DP ranks x TP 8 = one pod
  const double P = parameters_per_accelerator(all), eff = 370.0 / 450;
  // All of dp: the ring of 16 (stride 8) crosses the pods; 8 members per pod pool their
  // uplink shares: 8 GB/s (see "a ring across pods ...").
  const LinkLevel pooled_uplink = across_domains({ByteRate(8e9), Seconds(0)}, 1);
  const double across = reduce_scatter(Bytes(P * 4), 16, pooled_uplink).value() +
                        all_gather(Bytes(P * 2), 16, pooled_uplink).value();
  CHECK(across > 15.0 / 16 * P * 6 / (8e9 * eff));
  CHECK(training_step(all, fabric).dp_comm.value() == Approx(across));
  // In groups of one pod: reduce-scatter (4 P) and all-gather (2 P) over 8 ranks on the
  // NICs (one member per node: 50 GB/s), then an all-reduce of the 1/8 fp32 shard between
  // the two pods' owners of it (stride 64: one member per pod, 1 GB/s):
  // 2 x (2 - 1) / 2 x 4 P / 8 bytes.
  const LinkLevel nic = across_domains({ByteRate(50e9), Seconds(0)}, 1);
  const LinkLevel uplink = across_domains({ByteRate(1e9), Seconds(0)}, 1);
  const double inside = reduce_scatter(Bytes(P * 4), 8, nic).value() + all_gather(Bytes(P * 2), 8, nic).value() +
                        all_reduce(Bytes(P * 4 / 8), 2, uplink).value();
  CHECK(inside > 7.0 / 8 * P * 6 / (50e9 * eff) + P * 4 / 8 / (1e9 * eff));
  const StepBreakdown hybrid = training_step(pod, fabric);
  CHECK(hybrid.dp_comm.value() == Approx(inside));
  // Every DP byte is exposed (the TP part is the same in both).
  CHECK(hybrid.exposed_comm.value() - training_step(all, fabric).exposed_comm.value() == Approx(inside - across));
  CHECK(inside < across);
  CHECK(hybrid.step_time < training_step(all, fabric).step_time);
  // Optimizer on the 1/8 shard instead of 1/16.
  CHECK(hybrid.optimizer.value() == Approx(2 * training_step(all, fabric).optimizer.value()));
  // ZeRO-3 (per-layer gathers and reductions) gains more: they all stay inside the pod.
  all.options.zero_stage = pod.options.zero_stage = 3;
  CHECK(training_step(pod, fabric).step_time < training_step(all, fabric).step_time);
  // With overlap the cross-pod all-reduce hides behind the last backward, excess exposed.
  all.options.overlap_grad_reduce = all.options.overlap_param_gather = true;
  pod.options.overlap_grad_reduce = pod.options.overlap_param_gather = true;
  for (int zero : {1, 2, 3}) {
    all.options.zero_stage = pod.options.zero_stage = zero;
    const StepBreakdown b = training_step(pod, fabric);
    CHECK(b.exposed_comm <= b.total_comm);
    CHECK(b.step_time < training_step(all, fabric).step_time);
  }
}

TEST_CASE("memory: interleaving holds (pp + (pp - 1) / v) micro-batches of a stage's layers") {
  const ModelSpec model = tiny_gpt();
  const Accelerator gpu = test_gpu();
  // pp 4, dp 1, global batch 16: m = 16, enough for the whole warm-up.
  TrainingSetup s{&model, &gpu, {1, 4, 1, 1, 1}, 1024, 16, 1, Precision::BF16, RecomputeMode::None, {}};
  const double plain = training_memory(s).activations.value();
  s.options.virtual_stages = 2;  // Korthikanti et al. 2022: L (1 + (p - 1) / (p v)) layers
  CHECK(training_memory(s).activations.value() == Approx(plain * (4 + 3.0 / 2) / 4));
  // With fewer micro-batches than that, the stage holds all of them and no more.
  s.global_batch = 2;
  CHECK(training_memory(s).activations.value() == Approx(plain * 2 / 4));
}

TEST_CASE("ZeRO-2 reduces every micro-batch; ZeRO-3 gathers each layer twice per micro-batch") {
  const ModelSpec model = tiny_gpt();
  const Accelerator gpu = test_gpu();
  // DP 8 inside the scale-up domain (370 GB/s effective, NCCL ring/Simple latency
  // 8.4 + 7 x 3.4 us), m = 4.
  TrainingSetup s{&model, &gpu, {1, 1, 8, 1, 1}, 1024, 32, 1, Precision::BF16, RecomputeMode::None, {}};
  const double P = parameters_per_accelerator(s), bw = 370e9, latency = (8.4 + 7 * 3.4) * 1e-6;
  const double reduce_scatter = 7.0 / 8 * P * 4 / bw + latency, all_gather = 7.0 / 8 * P * 2 / bw + latency;
  CHECK(training_step(s, test_fabric()).dp_comm.value() == Approx(reduce_scatter + all_gather));
  s.options.zero_stage = 2;
  const StepBreakdown z2 = training_step(s, test_fabric());
  CHECK(z2.dp_comm.value() == Approx(4 * reduce_scatter + all_gather));
  // Each of the first three reductions has one micro-batch (forward and backward) to
  // hide behind, the last only its backward; the gather the first forward.
  const double mb = z2.compute.value() / 4;
  CHECK(z2.exposed_comm.value() == Approx(3 * std::max(0.0, reduce_scatter - mb) +
                                          std::max(0.0, reduce_scatter - mb * 2 / 3) +
                                          std::max(0.0, all_gather - mb / 3)));
  s.options.zero_stage = 3;
  const StepBreakdown z3 = training_step(s, test_fabric());
  // One collective per layer (the FSDP unit), each paying NCCL's latency: units of the
  // largest layer's parameters, the embedding counting as units too.
  const double units = P / ((4.0 * 1024 * 1024 + 2.0 * 1024 * 4096));
  const LinkLevel nvlink{ByteRate(450e9), Seconds(0)};
  const double unit_gather = fleetsim::all_gather(Bytes(P / units * 2), 8, nvlink).value();
  const double unit_reduce = fleetsim::reduce_scatter(Bytes(P / units * 4), 8, nvlink).value();
  CHECK(z3.dp_comm.value() == Approx(4 * units * (2 * unit_gather + unit_reduce)));
  CHECK(z3.dp_comm.value() > 4 * (2 * all_gather + reduce_scatter));
  CHECK(z3.exposed_comm <= z3.total_comm);
  // Without overlap every byte is on the critical path.
  s.options.overlap_grad_reduce = s.options.overlap_param_gather = false;
  CHECK(training_step(s, test_fabric()).exposed_comm.value() == Approx(z3.dp_comm.value()));
}

// ---- properties a planner relies on (issue 3, item 7), on catalog hardware ---------

namespace {

const Catalog& catalog() { return Catalog::builtin(); }

// A DGX-like fabric for `accelerator`: 8 per node on NVLink, 400 Gb/s NICs per GPU.
FabricView dgx_fabric(double oversubscription = 1.0) {
  FabricView f;
  f.scale_up_domain = 8;
  f.accelerators_per_node = 8;
  f.scale_up = {ByteRate(450e9), Seconds(3.4e-6)};
  f.accelerators_in_pod = 1024;
  f.scale_out = {ByteRate(50e9 / oversubscription), Seconds(14e-6)};
  f.inter_pod = f.scale_out;
  return f;
}

TrainingSetup llama_setup(const std::string& accelerator, Parallelism p, int global_batch) {
  return TrainingSetup{catalog().model("llama3-8b"), catalog().accelerator(accelerator), p, 8192, global_batch, 1,
                       Precision::BF16, RecomputeMode::None, {}};
}

double tokens_per_s(const TrainingSetup& s, const FabricView& f) {
  const StepBreakdown b = training_step(s, f);
  return b.tokens_per_step / b.step_time.value();
}

}  // namespace

TEST_CASE("H20 training throughput follows its FLOP deficit") {
  // H20: 148 of H100's 989 dense BF16 TFLOPS (15%), with more HBM bandwidth. Training is
  // compute-bound, so it keeps about that share (a little more: its communication and
  // element-wise kernels do not slow down).
  const Parallelism p{1, 1, 64, 1, 1};
  const double ratio = tokens_per_s(llama_setup("H20", p, 512), dgx_fabric()) /
                       tokens_per_s(llama_setup("H100-SXM", p, 512), dgx_fabric());
  CHECK(ratio > 0.15);
  CHECK(ratio < 0.22);
}

TEST_CASE("TP spanning nodes is slower than TP inside a node") {
  FabricView f = dgx_fabric();
  const double inside = tokens_per_s(llama_setup("H100-SXM", {8, 1, 8, 1, 1}, 512), f);
  f.scale_up_domain = 4;  // the same TP 8 group now crosses a node boundary
  f.accelerators_per_node = 4;
  const double across = tokens_per_s(llama_setup("H100-SXM", {8, 1, 8, 1, 1}, 512), f);
  CHECK(across < 0.8 * inside);
}

TEST_CASE("a larger DP batch amortises communication") {
  const Parallelism p{2, 1, 32, 1, 1};
  const StepBreakdown small = training_step(llama_setup("H100-SXM", p, 32), dgx_fabric(4));
  const StepBreakdown large = training_step(llama_setup("H100-SXM", p, 256), dgx_fabric(4));
  CHECK(large.exposed_comm / large.step_time < small.exposed_comm / small.step_time);
  CHECK(large.tokens_per_step / large.step_time.value() > small.tokens_per_step / small.step_time.value());
}

TEST_CASE("an oversubscribed fabric slows a DP-heavy job and not a TP-only one") {
  // TP 8 x DP 8 with one micro-batch: each DP ring has one rank per node (one NIC) and
  // only one backward pass to hide its 4 GB of gradients behind.
  const TrainingSetup dp_heavy = llama_setup("H100-SXM", {8, 1, 8, 1, 1}, 8);
  const TrainingSetup tp_only = llama_setup("H100-SXM", {8, 1, 1, 1, 1}, 8);
  CHECK(tokens_per_s(dp_heavy, dgx_fabric(4)) < 0.97 * tokens_per_s(dp_heavy, dgx_fabric(1)));
  CHECK(tokens_per_s(tp_only, dgx_fabric(4)) == Approx(tokens_per_s(tp_only, dgx_fabric(1))));
}

TEST_CASE("FP8 is faster than BF16, by less than 2x") {
  TrainingSetup bf16 = llama_setup("H100-SXM", {2, 1, 32, 1, 1}, 256);
  TrainingSetup fp8 = bf16;
  fp8.precision = Precision::FP8;
  const double speedup = tokens_per_s(fp8, dgx_fabric()) / tokens_per_s(bf16, dgx_fabric());
  CHECK(speedup > 1.1);
  CHECK(speedup < 2.0);
}

TEST_CASE("more GPUs at a fixed batch (strong scaling) lowers MFU") {
  // Llama 3 70B, TP 8, PP 4, 256 sequences per step: DP 2, 8, 32 leaves 128, 32 and 8
  // micro-batches per pipeline, so the bubble (3/m of the compute) and the share of
  // communication grow.
  double previous_mfu = 1.0;
  for (int dp : {2, 8, 32}) {
    const TrainingSetup s{catalog().model("llama3-70b"), catalog().accelerator("H100-SXM"), {8, 4, dp, 1, 1}, 8192,
                          256, 1, Precision::BF16, RecomputeMode::None, {}};
    const StepBreakdown b = training_step(s, dgx_fabric());
    const double mfu = b.model_flops_per_step / b.step_time.value() / (32.0 * dp) / 989e12;
    INFO("dp " << dp << " mfu " << mfu);
    CHECK(mfu < previous_mfu);
    previous_mfu = mfu;
  }
}

TEST_CASE("parallelism: auto finds the fastest split that fits, and nothing when nothing fits") {
  const NodeType& dgx = *catalog().node_type("dgx-h100");
  TrainingSetup base{catalog().model("llama3-405b"), catalog().accelerator("H100-SXM"), {}, 8192, 2048, 1,
                     Precision::BF16, RecomputeMode::None, {}};
  const auto choice = search_parallelism(base, 16384, nominal_fabric(dgx, 1024, 1.0));
  REQUIRE(choice);
  const Parallelism& p = choice->setup.parallelism;
  CHECK(p.product() == 16384);
  CHECK(training_memory(choice->setup).fits());
  CHECK(choice->fitting > 0);
  CHECK(choice->fitting <= choice->candidates);
  // Nothing it evaluated beats it: the Llama 3 layout with full recompute is no faster.
  TrainingSetup llama3 = base;
  llama3.parallelism = {8, 16, 128, 1, 1};
  llama3.recompute = RecomputeMode::Full;
  CHECK(choice->step.step_time <= training_step(llama3, nominal_fabric(dgx, 1024, 1.0)).step_time);
  // 405B on 8 GPUs: even fully sharded (ZeRO-3), 16 x 405B / 8 = 810 GB per GPU.
  CHECK_FALSE(search_parallelism(base, 8, nominal_fabric(dgx, 1024, 1.0)));
  // The search shards deeper when that is faster or the only way to fit, never less
  // than the workload asks.
  TrainingSetup sharded = base;
  sharded.options.zero_stage = 2;
  const auto deeper = search_parallelism(sharded, 16384, nominal_fabric(dgx, 1024, 1.0));
  REQUIRE(deeper);
  CHECK(deeper->setup.options.zero_stage >= 2);
  CHECK(deeper->candidates < choice->candidates);
  // `zero_group: auto` adds one pod's DP ranks as a ZeRO group wherever that is fewer
  // than dp; the choice is then never slower, and a fixed group is used as given.
  TrainingSetup hybrid = base;
  hybrid.options.zero_group = kZeroGroupAuto;
  FabricView thin = nominal_fabric(dgx, 1024, 1.0);
  thin.inter_pod.bandwidth = thin.inter_pod.bandwidth * (1.0 / 8);
  const auto plain_thin = search_parallelism(base, 16384, thin);
  const auto grouped = search_parallelism(hybrid, 16384, thin);
  REQUIRE(plain_thin);
  REQUIRE(grouped);
  CHECK(grouped->candidates > plain_thin->candidates);
  CHECK(grouped->step.step_time <= plain_thin->step.step_time);
  CHECK(training_memory(grouped->setup).fits());
  TrainingSetup fixed = base;
  fixed.options.zero_group = 8;
  const auto fixed_choice = search_parallelism(fixed, 16384, thin);
  REQUIRE(fixed_choice);
  CHECK(fixed_choice->setup.options.zero_group == 8);
  CHECK(fixed_choice->setup.parallelism.dp % 8 == 0);
}

TEST_CASE("MoE: node-limited routing and FP8 dispatch shrink the all-to-all; overlap hides it") {
  // DeepSeek-V3 layout: EP 64 over 8 nodes of 8, no TP; top-8 routing, at most 4 nodes.
  const ModelSpec& dsv3 = *catalog().model("deepseek-v3");
  FabricView f = dgx_fabric();
  f.scale_out.latency = f.inter_pod.latency = Seconds(0);  // compare the bandwidth terms
  TrainingSetup s{&dsv3, catalog().accelerator("H800"), {1, 16, 128, 1, 64}, 4096, 15360, 1, Precision::BF16,
                  RecomputeMode::Selective, {}};
  const StepBreakdown bf16 = training_step(s, f);
  ModelSpec unlimited = dsv3;
  unlimited.max_routed_nodes = 0;
  s.model = &unlimited;
  const StepBreakdown eight_copies = training_step(s, f);
  // Per token and MoE layer: 8 copies x (2 + 2 + 4) bytes x h without the node limit,
  // 4 copies with it: half the all-to-all.
  CHECK(bf16.ep_comm.value() == Approx(eight_copies.ep_comm.value() / 2));
  s.model = &dsv3;
  s.precision = Precision::FP8;
  const StepBreakdown fp8 = training_step(s, f);
  // FP8 dispatch: (1 + 2 + 4) instead of (2 + 2 + 4) bytes.
  CHECK(fp8.ep_comm.value() == Approx(bf16.ep_comm.value() * 7 / 8));
  s.options.overlap_ep_comm = true;
  const StepBreakdown overlapped = training_step(s, f);
  CHECK(overlapped.exposed_comm < fp8.exposed_comm);
  CHECK(overlapped.exposed_comm <= overlapped.total_comm);
}

TEST_CASE("on a torus, a group uses only the links of the dimensions it spans") {
  // 3D torus of 4096 chips (16 x 16 x 16), 270 GB/s over all 6 links: a TP group of 8
  // spans one dimension (2 of 6 links: 90 GB/s), a DP group of 256 with stride 16 spans
  // 4096 ranks, i.e. all three (270 GB/s).
  FabricView f;
  f.scale_up_domain = 4096;
  f.scale_up_torus_dims = 3;
  f.accelerators_per_node = 4;
  f.scale_up = {ByteRate(270e9), Seconds(0)};
  f.accelerators_in_pod = 4096;
  f.scale_out = f.inter_pod = {ByteRate(12.5e9), Seconds(0)};
  const ModelSpec model = tiny_gpt();
  const Accelerator gpu = test_gpu();
  TrainingSetup s{&model, &gpu, {8, 1, 2, 1, 1}, 1024, 16, 1, Precision::BF16, RecomputeMode::None, {}};
  const Bytes activations(1024.0 * 1024 * 2);
  // 4 collectives x 4 layers x 8 micro-batches on one dimension's links.
  CHECK(training_step(s, f).tp_comm.value() ==
        Approx(all_reduce(activations, 8, {ByteRate(90e9), Seconds(0)}).value() * 4 * 4 * 8));
  f.scale_up_torus_dims = 0;  // the same chips on a switch: the full 270 GB/s
  CHECK(training_step(s, f).tp_comm.value() ==
        Approx(all_reduce(activations, 8, {ByteRate(270e9), Seconds(0)}).value() * 4 * 4 * 8));
}

// ---- the H20 question (inference issue, item 8) -----------------------------------

TEST_CASE("H20 keeps a far larger share of H100 throughput in decode-heavy serving than in training") {
  // H20: 148 of H100's 989 dense BF16 TFLOPS (15%), but 4.0 against 3.35 TB/s of HBM.
  // Training is bound by FLOPs; decode by reading weights and KV cache from HBM.
  const Parallelism p{8, 1, 8, 1, 1};
  const double training_share = tokens_per_s(llama_setup("H20", p, 512), dgx_fabric()) /
                                tokens_per_s(llama_setup("H100-SXM", p, 512), dgx_fabric());

  // Llama 3 70B in FP8 on one TP 8 replica, 64 requests decoding with 2,048 tokens of
  // context each: output tokens per second of the replica.
  auto decode_rate = [&](const std::string& accelerator) {
    const ServingSetup setup{catalog().model("llama3-70b"), catalog().accelerator(accelerator), 8, 1, Precision::FP8,
                             Bytes(0)};
    const ServingFabric fabric{{ByteRate(450e9), Seconds(3.4e-6)}, {ByteRate(50e9), Seconds(14e-6)}};
    const ServingStepModel model(setup, fabric);
    return 64.0 / model.decode(64, 64.0 * 2048).value();
  };
  const double serving_share = decode_rate("H20") / decode_rate("H100-SXM");
  INFO("training share " << training_share << ", decode share " << serving_share);
  CHECK(training_share < 0.25);
  CHECK(serving_share > 0.7);
  CHECK(serving_share > 3 * training_share);
}

TEST_CASE("DeepSeek-V3 with Multi-head Latent Attention: 671B parameters, 37B activated") {
  const ModelSpec& m = *catalog().model("deepseek-v3");
  REQUIRE(m.is_mla());
  // Per layer: q down 7168 x 1536 = 11,010,048; q up 1536 x 128 x (128 + 64) = 37,748,736;
  // kv down 7168 x (512 + 64) = 4,128,768; kv up 512 x 128 x (128 + 128) = 16,777,216;
  // o 128 x 128 x 7168 = 117,440,512: 187,105,280.
  CHECK(attention_parameters_per_layer(m) == 187105280.0);
  const ParameterCount p = count_parameters(m);
  CHECK(p.attention_per_layer == 187105280.0);
  // 61 x 187,105,280 + 3 dense SwiGLU layers x 3 x 7168 x 18432 + 58 MoE layers x (257 experts x
  // 3 x 7168 x 2048 + router 7168 x 256) + embeddings 2 x 129280 x 7168 = 671,025,397,760: the
  // report's 671B (arXiv 2412.19437 sec. 4.2, the MTP module not included) within 0.01%.
  CHECK(p.total() == 671025397760.0);
  CHECK(p.total() == Approx(671e9).epsilon(0.01));
  // Active (8 routed + 1 shared expert): 37,551,276,032 with both embedding matrices, +1.5% of
  // the rounded 37B; 36.6B without the input embedding (a lookup, no FLOPs), -1.0%.
  CHECK(p.total() - p.non_embedding_total + p.non_embedding_active == 37551276032.0);
  CHECK(p.non_embedding_active + p.embedding == Approx(37e9).epsilon(0.02));
  CHECK(p.non_embedding_active + p.embedding / 2 == Approx(37e9).epsilon(0.011));
}

TEST_CASE("MLA: attention-core FLOPs, KV widths and model FLOPs from the latent shapes") {
  const ModelSpec& m = *catalog().model("deepseek-v3");
  // Q and K 128 x (128 + 64) = 24,576 wide, V 128 x 128 = 16,384: 2 x 40,960 = 81,920 FLOPs
  // per (query, key) pair and layer, forward; GQA counting gave 4 x 7168 = 28,672.
  CHECK(attention_core_flops_per_pair(m) == 81920.0);
  CHECK(attention_kv_width(m) == 40960.0);
  CHECK(kv_cache_values_per_token_layer(m) == 576.0);
  ModelSpec gqa = m;
  gqa.kv_lora_rank = 0;  // the old GQA-equivalent reading: 128 K/V heads of 56
  CHECK(attention_core_flops_per_pair(gqa) == 28672.0);
  CHECK(kv_cache_values_per_token_layer(gqa) == 2.0 * 128 * 56);
  // Model FLOPs: 6 N_active + 3 passes x 61 layers x 81,920 x s.
  const ParameterCount p = count_parameters(m);
  CHECK(model_flops_per_token(m, 4096) == Approx(6 * p.non_embedding_active + 3.0 * 61 * 81920 * 4096));
  // Hardware FLOPs under selective recompute: + the LM head, the attention core again and
  // the up projections' forward again (q up 1536 x 128 x 192, kv up 512 x 128 x 256).
  CHECK(hardware_flops_per_token(m, 4096, RecomputeMode::Selective) ==
        Approx(model_flops_per_token(m, 4096) + 6.0 * 129280 * 7168 + 61.0 * 81920 * 4096 +
               2.0 * 61 * (1536.0 * 128 * 192 + 512.0 * 128 * 256)));
  // MLA's down projections (q 7168 x 1536, kv 7168 x 576) are replicated on every TP rank:
  // at TP 8 each rank holds them whole, 7/8 of them more than an even split.
  TrainingSetup one{&m, nullptr, {1, 1, 1, 1, 1}, 4096, 1, 1, Precision::BF16, RecomputeMode::None, {}};
  TrainingSetup eight = one;
  eight.parallelism.tp = 8;
  const double down = 61.0 * 7168 * (1536 + 576);
  CHECK(parameters_per_accelerator(eight) == Approx((parameters_per_accelerator(one) - down) / 8 + down));
}

TEST_CASE("MLA in a training step: attention core 2.86x GQA's, activations from the latent shapes") {
  const ModelSpec& m = *catalog().model("deepseek-v3");
  ModelSpec gqa = m;
  gqa.kv_lora_rank = 0;
  const Accelerator& h800 = *catalog().accelerator("H800");
  TrainingSetup mla_setup{&m, &h800, {1, 16, 128, 1, 64}, 4096, 15360, 1, Precision::FP8, RecomputeMode::Selective, {}};
  TrainingSetup gqa_setup = mla_setup;
  gqa_setup.model = &gqa;
  const StepBreakdown a = training_step(mla_setup, dgx_fabric()), b = training_step(gqa_setup, dgx_fabric());
  // Same layers per stage, tokens and kernel rate: the attention core scales with its FLOPs.
  CHECK(a.compute_attention.value() == Approx(b.compute_attention.value() * 81920.0 / 28672.0));
  // Activations on one stage of all 61 layers, one micro-batch of 4096 tokens, no TP. Per token
  // and layer, without recompute MLA stores 3h + 4 x 1536 + 2 x 576 + 2 x 512 + 4 x 24,576 +
  // 4 x 16,384 = 193,664 bytes where GQA counting stored 7h + 4h = 78,848 (no dropout in either);
  // under selective recompute (norms and up projections recomputed, DeepSeek-V3 sec. 3.2.3)
  // 3h + 2 x 1536 + 2 x 576 + 2 x 16,384 = 58,496.
  TrainingSetup one_stage = mla_setup;
  one_stage.parallelism = {1, 1, 2048, 1, 1};
  one_stage.global_batch = 2048;
  TrainingSetup one_stage_gqa = one_stage;
  one_stage_gqa.model = &gqa;
  auto activations = [](const TrainingSetup& setup) { return training_memory(setup).activations.value(); };
  CHECK(activations(one_stage) - activations(one_stage_gqa) == Approx(4096.0 * 61 * (58496 - 78848)));
  one_stage.recompute = one_stage_gqa.recompute = RecomputeMode::None;
  CHECK(activations(one_stage) - activations(one_stage_gqa) == Approx(4096.0 * 61 * (193664 - 78848)));
}
