// Serving models (serving_step, serving_schedule) against algebra written out by hand.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "models/disaggregation.hpp"
#include "models/serving_schedule.hpp"
#include "models/serving_step.hpp"
#include "models/synthetic_data.hpp"

using namespace fleetsim;

namespace {

// Llama 2 70B (meta-llama/Llama-2-70b-hf config.json), written out so the test does not
// move when the catalog does.
ModelSpec llama2_70b() {
  ModelSpec m;
  m.name = "llama2-70b";
  m.layers = 80;
  m.hidden = 8192;
  m.ffn_hidden = 28672;
  m.heads = 64;
  m.kv_heads = 8;
  m.vocab = 32000;
  return m;
}

// DeepSeek-V3 / R1 (deepseek-ai/DeepSeek-V3 config.json), Multi-head Latent Attention.
ModelSpec deepseek_v3() {
  ModelSpec m;
  m.name = "deepseek-v3";
  m.layers = 61;
  m.hidden = 7168;
  m.ffn_hidden = 18432;
  m.heads = 128;
  m.kv_heads = 128;
  m.vocab = 129280;
  m.experts = 256;
  m.top_k = 8;
  m.expert_ffn_hidden = 2048;
  m.shared_experts = 1;
  m.dense_layers = 3;
  m.q_lora_rank = 1536;
  m.kv_lora_rank = 512;
  m.qk_nope_head_dim = 128;
  m.qk_rope_head_dim = 64;
  m.v_head_dim = 128;
  return m;
}

// An H100-like accelerator with round numbers.
Accelerator test_gpu() {
  Accelerator a;
  a.name = "test-gpu";
  a.peak_bf16 = FlopRate(1000e12);
  a.peak_fp8 = FlopRate(2000e12);
  a.matmul_efficiency_bf16 = 0.8;
  a.matmul_efficiency_fp8 = 0.7;
  a.hbm_capacity = Bytes(80e9);
  a.hbm_bandwidth = ByteRate(3.35e12);
  return a;
}

const LinkLevel kNvlink{ByteRate(450e9), Seconds(3.4e-6)};

// Costs easy to follow: prefill 1 ms per prompt token, decode 10 ms + 1 ms per request.
class LinearCost : public IterationCost {
 public:
  Seconds prefill(double tokens, double, int) const override { return Seconds(0.001 * tokens); }
  Seconds decode(int batch, double) const override { return Seconds(0.010 + 0.001 * batch); }
};

}  // namespace

TEST_CASE("KV-cache bytes per token of Llama 2 70B") {
  // 2 (K and V) x 80 layers x 8 KV heads x (8192 / 64 = 128) x 2 bytes = 327,680 B = 320 KiB in bf16,
  // half that in fp8.
  const ModelSpec m = llama2_70b();
  CHECK(kv_bytes_per_token(m, Precision::BF16).value() == 327680.0);
  CHECK(kv_bytes_per_token(m, Precision::FP8).value() == 163840.0);
}

TEST_CASE("MLA: the KV cache holds the 576-value latent, whole on every TP rank") {
  const ModelSpec m = deepseek_v3();
  // (512 + 64) x 61 layers = 35,136 values per token: 35,136 B in fp8, 70,272 in bf16 (GQA
  // counting with 128 K/V heads of 56 gave 2 x 61 x 128 x 56 = 874,496 values, 24.9x).
  CHECK(kv_bytes_per_token(m, Precision::FP8).value() == 35136.0);
  CHECK(kv_bytes_per_token(m, Precision::BF16).value() == 70272.0);
  Accelerator gpu = test_gpu();
  gpu.hbm_capacity = Bytes(141e9);
  const ServingMemory mem = serving_memory({&m, &gpu, 8, 1, Precision::FP8});
  CHECK(mem.kv_per_token.value() == 35136.0);  // not divided by tp: the latent is every head's
  CHECK(serving_memory({&m, &gpu, 8, 2, Precision::FP8}).kv_per_token.value() == Approx(35136.0 / 2));
}

TEST_CASE("MLA decode attention: the absorbed form's FLOPs at the attention rate; prefill up-projected") {
  const ModelSpec m = deepseek_v3();
  Accelerator gpu = test_gpu();
  gpu.hbm_capacity = Bytes(141e9);
  gpu.attention_efficiency = 0.6;
  const ServingStepModel model({&m, &gpu, 8, 1, Precision::FP8}, {kNvlink, kNvlink});
  // 61 layers x 128 heads x 2 x (576 + 512) = 16,990,208 FLOPs per context token (FlashMLA's count).
  CHECK(mla_decode_flops_per_context_token(m) == 16990208.0);
  const double context = 256 * 4096.0;
  const DecodeBreakdown d = model.decode_breakdown(256, context);
  // KV read: 35,136 B x context / 3.0e12 B/s; FLOPs at 1000e12 x 0.6 x 8 = 4.8e15 FLOP/s:
  // 16,990,208 / 4.8e15 = 3.54 ns per token against 11.7 ns of read: memory-bound here...
  const double read = 35136.0 * context / 3.0e12, flops = 16990208.0 * context / 4.8e15;
  CHECK(d.attention.value() == Approx(std::max(read, flops)));
  // ...and compute-bound once the accelerator's BF16 peak is 4x lower relative to its HBM.
  Accelerator slow = gpu;
  slow.peak_bf16 = FlopRate(250e12);
  const ServingStepModel slow_model({&m, &slow, 8, 1, Precision::FP8}, {kNvlink, kNvlink});
  CHECK(slow_model.decode_breakdown(256, context).attention.value() == Approx(16990208.0 * context / 1.2e15));
  // Prefill attention: 0.5 x 61 x 81,920 FLOPs per (query, key) pair, causal, at 4.8e15 FLOP/s:
  // adding 1e8 squared prompt tokens (same tokens) adds 0.5 x 61 x 81,920 x 1e8 / 4.8e15.
  const double t = 65536;
  const Seconds base = model.prefill(t, 1e8, 16), more = model.prefill(t, 2e8, 16);
  CHECK((more - base).value() == Approx(0.5 * 61 * 81920 * 1e8 / 4.8e15));
}

TEST_CASE("serving memory of Llama 2 70B, fp8, tp 8") {
  const ModelSpec m = llama2_70b();
  const Accelerator gpu = test_gpu();
  const ServingMemory mem = serving_memory({&m, &gpu, 8, 1, Precision::FP8});
  // Per layer: attention 2 x 8192^2 + 2 x 8192 x 1024 = 150,994,944; SwiGLU 3 x 8192 x 28672 = 704,643,072;
  // 80 layers: 68,451,041,280. Embeddings 2 x 32000 x 8192 = 524,288,000, both on the only stage
  // and both BF16 in an FP8 checkpoint (only the layers' linear weights are quantized).
  // Per GPU: 68,451,041,280 / 8 x 1 byte + 524,288,000 / 8 x 2 bytes = 8,687,452,160 B.
  CHECK(mem.weights.value() == Approx(8687452160.0));
  // A decode step reads all of it but the input embedding table (one row per token):
  // 8,687,452,160 - 32,768,000 x 2 = 8,621,916,160 B.
  CHECK(mem.weights_read.value() == Approx(8621916160.0));
  // Per GPU per token: 2 x 80 layers x ceil(8 / 8) = 1 head x 128 x 1 byte = 20,480 B.
  CHECK(mem.kv_per_token.value() == 20480.0);
  // KV cache: 0.9 x (80e9 - 8,687,452,160 - 2 GiB) = 0.9 x 69,165,064,192 = 62,248,557,772.8 B;
  // / 20,480 B = 3,039,480.4 tokens per replica.
  CHECK(mem.kv_cache.value() == Approx(62248557772.8));
  CHECK(mem.kv_tokens == Approx(3039480.36).epsilon(1e-6));
  CHECK(mem.weights_fit());

  // tp 16 > 8 KV heads: each rank keeps a whole head, so KV per token per GPU does not halve again.
  const ServingMemory wide = serving_memory({&m, &gpu, 16, 1, Precision::FP8});
  CHECK(wide.kv_per_token.value() == 20480.0);
  // bf16 on one GPU: 2 x 68,975,329,280 B = 138 GB of weights > 80 GB.
  CHECK_FALSE(serving_memory({&m, &gpu, 1, 1, Precision::BF16}).weights_fit());
}

TEST_CASE("decode step time of Llama 2 70B, fp8, tp 8, batch 64 of 1,000 tokens of context") {
  const ModelSpec m = llama2_70b();
  const Accelerator gpu = test_gpu();
  const ServingStepModel model({&m, &gpu, 8, 1, Precision::FP8}, {kNvlink, kNvlink});
  const DecodeBreakdown d = model.decode_breakdown(64, 64000);
  // HBM: (8,621,916,160 weights + 20,480 x 64,000 = 1,310,720,000 KV) B / (3.35e12 x 3000/3350 = 3.0e12 B/s)
  //    = 9,932,636,160 / 3.0e12 = 3.31088 ms.
  CHECK(d.hbm.value() == Approx(9932636160.0 / 3.0e12));
  // Compute: 2 x 68,451,041,280 x 64 + 4 x 80 x 8192 x 64,000 = 8,761,733,283,840 +
  //    167,772,160,000 FLOP / (2000e12 x 0.7 x 8 = 1.12e16 FLOP/s), plus the BF16 LM head
  //    2 x 262,144,000 x 64 = 33,554,432,000 FLOP / (1000e12 x 0.8 x 8 = 6.4e15) = 0.80256 ms:
  //    memory-bound.
  CHECK(d.compute.value() == Approx(8929505443840.0 / 1.12e16 + 33554432000.0 / 6.4e15));
  // TP: 2 x 80 ring all-reduces of 64 x 8192 x 2 = 1,048,576 B over 8 ranks:
  //    2 x 7/8 x 1,048,576 / (450e9 x 370/450 = 370e9) + 14 x 3.4 us = 4.9595 + 47.6 = 52.5595 us; x 160 = 8.40952 ms.
  // 1 MiB over TP 8: NCCL's ring/LL, 6.6 + 14 x 0.6 us, at 370 / 4 GB/s capped at LL's
  // 87.7 GB/s (models/collectives.hpp; ring/LL128 would take 46.0 us, ring/Simple 61.0).
  const double all_reduce = 2.0 * 7 / 8 * 1048576 / 87.7e9 + (6.6 + 14 * 0.6) * 1e-6;
  CHECK(d.tp_comm.value() == Approx(160 * all_reduce));
  CHECK(d.pp_comm.value() == 0);
  CHECK(d.total.value() == Approx(9932636160.0 / 3.0e12 + 160 * all_reduce));  // 9.0587 ms
  CHECK(model.decode(64, 64000).value() == d.total.value());

  // A bigger batch never decodes faster, and its context costs HBM time.
  CHECK(model.decode(128, 128000) > model.decode(64, 64000));
  CHECK(model.decode(64, 128000) > model.decode(64, 64000));
}

TEST_CASE("prefill is compute-bound: FLOPs at the achievable rate") {
  const ModelSpec m = llama2_70b();
  const Accelerator gpu = test_gpu();
  const ServingStepModel model({&m, &gpu, 8, 1, Precision::FP8}, {kNvlink, kNvlink});
  // One 1,000-token prompt: 2 x 68,451,041,280 x 1000 + 2 x 80 x 8192 x 1000^2 + 2 x 262,144,000
  //    = 136,902,082,560,000 + 1,310,720,000,000 + 524,288,000 = 138,213,326,848,000 FLOP / 1.12e16 = 12.3405 ms,
  // plus TP: 160 all-reduces of 1000 x 8192 x 2 = 16,384,000 B: 2 x 7/8 x 16,384,000 / 370e9 + 47.6 us = 125.095 us.
  // ~16 MB over TP 8: NCCL's ring/LL128, 14 + 14 x 1.9 us, at 370 x 0.92 GB/s (124.8 us;
  // ring/Simple would take 8.4 + 14 x 3.4 us + 77.5 us = 133.5 us).
  const double all_reduce = 2.0 * 7 / 8 * 16384000 / (370e9 * 0.92) + (14 + 14 * 1.9) * 1e-6;
  CHECK(model.prefill(1000, 1e6, 1).value() == Approx(138213326848000.0 / 1.12e16 + 160 * all_reduce));
  CHECK(model.prefill(0, 0, 0).value() == 0);
}

TEST_CASE("prefill GEMMs pay tile and wave quantization; attention runs at FlashAttention's rate") {
  const ModelSpec m = llama2_70b();
  Accelerator gpu = test_gpu();
  gpu.streaming_multiprocessors = 100;
  gpu.attention_efficiency = 0.5;
  const ServingStepModel model({&m, &gpu, 8, 1, Precision::FP8}, {kNvlink, kNvlink});
  // One 1,000-token prompt, TP 8, fp8: 1.4e15 FLOP/s per GPU, 1.4e13 per SM; a 256 x 128 tile
  // of depth k takes 2 x 256 x 128 x k / 1.4e13 s plus its write-back 256 x 128 x 2 B at
  // 3.35e12 / 100 B/s = 1.9563 us.
  const double wb = 256.0 * 128 * 2 / (3.35e12 / 100);
  auto tile = [&](double k) { return 2.0 * 256 * 128 * k / 1.4e13 + wb; };
  // QKV 1000 x 1280 x 8192: 4 x 10 = 40 tiles, one wave. O 1000 x 8192 x 1024: 256 tiles, 3 waves.
  // MLP in 1000 x 7168 x 8192: 224 tiles, 3 waves. MLP out 1000 x 8192 x 3584: 256 tiles, 3 waves.
  const double layer = tile(8192) + 3 * tile(1024) + 3 * tile(8192) + 3 * tile(3584);
  // LM head on the prompt's last token: 1 x 4000 x 8192, 32 tiles, one wave, in BF16 (the head
  // stays BF16 in an FP8 checkpoint): 8e14 FLOP/s per GPU, 8e12 per SM.
  auto bf16_tile = [&](double k) { return 2.0 * 256 * 128 * k / 8e12 + wb; };
  const double gemms = 80 * layer + bf16_tile(8192);
  // Attention 2 x 80 x 8192 x 1000^2 FLOPs at 1000e12 (bf16) x 0.5 x 8 GPUs.
  const double attention = 2.0 * 80 * 8192 * 1e6 / (1000e12 * 0.5 * 8);
  // ~16 MB over TP 8: NCCL's ring/LL128, 14 + 14 x 1.9 us, at 370 x 0.92 GB/s (124.8 us;
  // ring/Simple would take 8.4 + 14 x 3.4 us + 77.5 us = 133.5 us).
  const double all_reduce = 2.0 * 7 / 8 * 16384000 / (370e9 * 0.92) + (14 + 14 * 1.9) * 1e-6;
  CHECK(model.prefill(1000, 1e6, 1).value() == Approx(gemms + attention + 160 * all_reduce));
  // 1.57 times the time of the same FLOPs at the large-GEMM rate: the QKV GEMM fills 40 of 100 SMs.
  CHECK(gemms / (2.0 * 68451041280.0 * 1000 / 1.12e16) == Approx(1.57).epsilon(0.015));
}

TEST_CASE("decode at large batch: GEMMs then attention, each at its own roofline; full waves of tiles") {
  const ModelSpec m = llama2_70b();
  Accelerator gpu = test_gpu();
  gpu.streaming_multiprocessors = 100;
  const ServingStepModel model({&m, &gpu, 8, 1, Precision::FP8}, {kNvlink, kNvlink});
  // Batch 1,024 holding 512,000 tokens of context, TP 8, fp8: 1.4e15 FLOP/s per GPU, 1.4e13 per SM.
  const double wb = 256.0 * 128 * 2 / (3.35e12 / 100);
  auto tile = [&](double k) { return 2.0 * 256 * 128 * k / 1.4e13 + wb; };
  // QKV 1024 x 1280 x 8192: 4 x 10 = 40 tiles < 100 SMs: at the large-GEMM rate.
  const double qkv = 2.0 * 1024 * 1280 * 8192 / 1.4e15;
  // O 1024 x 8192 x 1024 (256 tiles), MLP in 1024 x 7168 x 8192 (224), MLP out 1024 x 8192 x 3584
  // (256): 3 waves each. LM head 1024 x 4000 x 8192: 4 x 32 = 128 tiles, 2 waves, in BF16
  // (8e12 FLOP/s per SM: the head stays BF16 in an FP8 checkpoint).
  auto bf16_tile = [&](double k) { return 2.0 * 256 * 128 * k / 8e12 + wb; };
  const double gemms = 80 * (qkv + 3 * tile(1024) + 3 * tile(8192) + 3 * tile(3584)) + 2 * bf16_tile(8192);  // 17.15 ms
  // The read: every weight but the input embedding (one row per token): 8,621,916,160 B.
  const double weights = 8621916160.0 / 3.0e12;                                                     // 2.87 ms
  // Attention reads 20,480 B x 512,000 = 10.49 GB of KV (3.50 ms); its 4 x 80 x 8192 x 512,000 FLOPs
  // take 0.12 ms at 1.12e16: memory-bound. It runs after the GEMMs, so the times add.
  const double kv = 20480.0 * 512000 / 3.0e12;
  // 16 MiB over TP 8: NCCL's ring/LL128 (see above).
  const double all_reduce = 2.0 * 7 / 8 * (1024.0 * 8192 * 2) / (370e9 * 0.92) + (14 + 14 * 1.9) * 1e-6;
  const DecodeBreakdown d = model.decode_breakdown(1024, 512000);
  CHECK(d.gemm.value() == Approx(gemms));
  CHECK(d.attention.value() == Approx(kv));
  CHECK(d.total.value() == Approx(gemms + kv + 160 * all_reduce));
  // With the old overlap, max(all bytes, all FLOPs), the step would be 3.50 ms shorter (the KV read
  // hid under the GEMMs) and the GEMMs would run at the large-GEMM rate.
  CHECK(d.total.value() > std::max(d.hbm.value(), d.compute.value()) + d.tp_comm.value());
  // Batch 1: everything memory-bound, the step is the whole read, as before.
  const DecodeBreakdown one = model.decode_breakdown(1, 1000);
  CHECK(one.total.value() == Approx(one.hbm.value() + one.tp_comm.value()));
  // Also at TP 1, where the wide GEMMs (MLP in: 1 x 57,344 x 8,192) have hundreds of tiles: a
  // batch of 1 is not billed whole 256-row tiles (that made int4 decode 2.75x its weight read).
  const ServingStepModel tp1({&m, &gpu, 1, 1, Precision::FP8}, {kNvlink, kNvlink});
  const DecodeBreakdown lone = tp1.decode_breakdown(1, 1000);
  CHECK(lone.compute.value() < 0.01 * lone.hbm.value());
  CHECK(lone.total.value() == Approx(lone.hbm.value()));
}

TEST_CASE("pipeline parallelism reads the weights once per micro-batch") {
  const ModelSpec m = llama2_70b();
  const Accelerator gpu = test_gpu();
  const ServingStepModel tp8({&m, &gpu, 8, 1, Precision::FP8}, {kNvlink, kNvlink});
  const ServingStepModel tp4pp2({&m, &gpu, 4, 2, Precision::FP8}, {kNvlink, kNvlink});
  // Same 8 GPUs: tp 4 x pp 2 holds the same weights per GPU (but one embedding per stage), and an
  // iteration reads each stage's weights twice, so the weight part of its HBM time is about that of
  // tp 4 alone: 2 x W/8 = W/4.
  // (Embedding tables BF16, 2 bytes; a stage of the pipeline holds one, the head of the last
  // is read whole; at pp 1 a step skips the input table but for a row per token.)
  const double w8 = tp8.memory().weights_read.value(), w42 = tp4pp2.memory().weights.value();
  CHECK(w42 == Approx(68451041280.0 / 8 + 262144000.0 / 4 * 2));
  CHECK(tp4pp2.memory().weights_read.value() == Approx(w42));
  CHECK(tp4pp2.decode_breakdown(1, 0).hbm.value() == Approx(2 * w42 / 3.0e12));
  CHECK(tp8.decode_breakdown(1, 0).hbm.value() == Approx(w8 / 3.0e12));
  CHECK(tp4pp2.decode_breakdown(64, 0).pp_comm.value() > 0);
}

TEST_CASE("serving engine: an eager PyTorch engine adds its host time to every decode step, not to prefill") {
  const ModelSpec m = llama2_70b();
  const Accelerator gpu = test_gpu();
  ServingSetup ideal{&m, &gpu, 8, 1, Precision::BF16};
  ServingSetup eager = ideal;
  eager.engine = ServingEngine::PytorchEager;
  ServingSetup trt = ideal;
  trt.engine = ServingEngine::TensorRtLlm;
  const ServingStepModel a(ideal, {kNvlink, kNvlink}), b(eager, {kNvlink, kNvlink}), c(trt, {kNvlink, kNvlink});
  // TP 8: metaseq#270's (95 - 66) ms over OPT-175B's 96 layers, 0.30208 ms per layer, x 80 layers
  // = 24.167 ms per decode step, whatever the batch and context.
  const double per_step = 80 * (0.095 - 0.066) / 96;
  CHECK(per_step == Approx(0.0241667).epsilon(1e-5));
  for (int batch : {1, 64}) {
    CHECK(b.decode_breakdown(batch, 1000.0 * batch).host.value() == Approx(per_step));
    CHECK(b.decode(batch, 1000.0 * batch).value() == Approx(a.decode(batch, 1000.0 * batch).value() + per_step));
  }
  CHECK(b.prefill(1500, 1500.0 * 1500, 1).value() == a.prefill(1500, 1500.0 * 1500, 1).value());
  // TensorRT-LLM: no sourced per-step host figure, so nothing is added (the same as ideal).
  CHECK(c.decode(1, 1000).value() == a.decode(1, 1000).value());
  CHECK(a.decode_breakdown(1, 1000).host.value() == 0);
  // One accelerator: vllm#1440's (1.2 - 1.05) s / 100 tokens / 32 layers = 0.046875 ms per layer.
  CHECK(decode_host_overhead(ServingEngine::PytorchEager, 80, 1).value() == Approx(80 * 0.046875e-3));
  CHECK(decode_host_overhead(ServingEngine::PytorchEager, 80, 2).value() == Approx(per_step));
}

TEST_CASE("continuous batching of three hand-made requests") {
  const LinearCost cost;
  // A and B arrive at 0, C at 0.05 s; max_batch 2, a KV cache that never binds.
  const std::vector<ServingRequest> requests = {{0.0, 100, 3}, {0.0, 200, 2}, {0.05, 100, 2}};
  const ScheduleResult r = schedule_replica(requests, 2, 1e9, cost);
  // Iteration 1 (t = 0): A and B admitted (C has not arrived); prefill 300 tokens = 0.300 s: first tokens
  //   of A and B at 0.300. Decode of 2: 0.012 s -> 0.312: A has 2 tokens, B 2 of 2: B done at 0.312.
  // Iteration 2 (t = 0.312): C admitted (batch 1 < 2); prefill 100 tokens = 0.100 -> C's first token at
  //   0.412. Decode of A and C: 0.012 -> 0.424: A has 3 of 3, C 2 of 2: both done at 0.424.
  REQUIRE(r.requests.size() == 3);
  CHECK(r.requests[0].first_token_s == Approx(0.300));
  CHECK(r.requests[0].completion_s == Approx(0.424));
  CHECK(r.requests[1].first_token_s == Approx(0.300));
  CHECK(r.requests[1].completion_s == Approx(0.312));
  CHECK(r.requests[2].first_token_s == Approx(0.412));
  CHECK(r.requests[2].completion_s == Approx(0.424));
  // TTFT of C = 0.412 - 0.05 = 0.362 s; TPOT of A = (0.424 - 0.300) / (3 - 1) = 0.062 s.
  CHECK(r.requests[2].first_token_s - requests[2].arrival_s == Approx(0.362));
  CHECK((r.requests[0].completion_s - r.requests[0].first_token_s) / 2 == Approx(0.062));
  CHECK(r.iterations == 2);
  CHECK(r.decode_steps == 2);
  CHECK(r.batch_sum == 4);
  REQUIRE(r.busy.size() == 1);
  CHECK(r.busy[0].start_s == 0);
  CHECK(r.busy[0].end_s == Approx(0.424));
}

TEST_CASE("the KV cache limits admission, first come first served") {
  const LinearCost cost;
  const std::vector<ServingRequest> requests = {{0.0, 100, 3}, {0.0, 200, 2}, {0.05, 100, 2}};
  // 250 tokens of KV: A reserves 103, B would need 202 more (305 > 250), C 102.
  const ScheduleResult r = schedule_replica(requests, 2, 250, cost);
  // It 1 (t = 0): A alone; prefill 0.100 -> A first 0.100; decode of 1: 0.011 -> 0.111.
  // It 2 (t = 0.111): B heads the queue and does not fit beside A; C waits behind B (no overtaking).
  //   Decode of A -> 0.122: A done.
  // It 3 (t = 0.122): B admitted; C would make 304 > 250. Prefill 0.200 -> B first 0.322; decode -> 0.333: B done.
  // It 4 (t = 0.333): C; prefill 0.100 -> 0.433; decode -> 0.444: C done.
  CHECK(r.requests[0].first_token_s == Approx(0.100));
  CHECK(r.requests[0].completion_s == Approx(0.122));
  CHECK(r.requests[1].first_token_s == Approx(0.322));
  CHECK(r.requests[1].completion_s == Approx(0.333));
  CHECK(r.requests[2].first_token_s == Approx(0.433));
  CHECK(r.requests[2].completion_s == Approx(0.444));
  CHECK(r.iterations == 4);
}

TEST_CASE("an idle replica waits for the next arrival; busy intervals show the gap") {
  const LinearCost cost;
  // One-token answers finish at their prefill. A at 0: busy 0 .. 0.010. B at 1.0: busy 1.0 .. 1.020.
  const std::vector<ServingRequest> requests = {{0.0, 10, 1}, {1.0, 20, 1}};
  const ScheduleResult r = schedule_replica(requests, 8, 1e9, cost);
  CHECK(r.requests[0].completion_s == Approx(0.010));
  CHECK(r.requests[1].first_token_s == Approx(1.020));
  CHECK(r.requests[1].completion_s == Approx(1.020));
  REQUIRE(r.busy.size() == 2);
  CHECK(r.busy[1].start_s == 1.0);
  CHECK(r.decode_steps == 0);
  // A replica that starts at 5 s finds both waiting and prefills them together (30 tokens: 0.030 s):
  // TTFT includes the wait, 5.030 - 0 and 5.030 - 1.0.
  const ScheduleResult late = schedule_replica(requests, 8, 1e9, cost, 5.0);
  CHECK(late.requests[0].first_token_s == Approx(5.030));
  CHECK(late.requests[1].first_token_s == Approx(5.030));
  CHECK(late.iterations == 1);
}

TEST_CASE("Poisson arrivals: deterministic, at the rate asked") {
  const auto a = poisson_arrivals(50, 0, 20000, 0, 7, 0);
  const auto b = poisson_arrivals(50, 0, 20000, 0, 7, 0);
  const auto c = poisson_arrivals(50, 0, 20000, 0, 7, 1);
  REQUIRE(a.size() == 20000);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(std::is_sorted(a.begin(), a.end()));
  // 20,000 arrivals at 50/s take 400 s; the standard deviation of their sum is sqrt(20000)/50 = 2.8 s.
  CHECK(a.back() == Approx(400).margin(15));
  // Without a count: every arrival before `until`, after `begin`.
  const auto d = poisson_arrivals(50, 10, std::nullopt, 110, 7, 0);
  CHECK(d.front() > 10);
  CHECK(d.back() < 110);
  CHECK(double(d.size()) == Approx(5000).margin(300));  // 100 s x 50/s, sd sqrt(5000) = 71
}

TEST_CASE("2,000 requests of 1,024 tokens on one replica schedule in well under a second") {
  const ModelSpec m = llama2_70b();
  const Accelerator gpu = test_gpu();
  const ServingStepModel model({&m, &gpu, 8, 1, Precision::FP8}, {kNvlink, kNvlink});
  const std::vector<ServingRequest> requests(2000, ServingRequest{0.0, 1024, 1024});
  const auto t0 = std::chrono::steady_clock::now();
  const ScheduleResult r = schedule_replica(requests, 256, model.memory().kv_tokens, model);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(wall < 0.5);
  for (const auto& t : r.requests) {
    REQUIRE(t.first_token_s > 0);
    REQUIRE(t.completion_s > t.first_token_s);
  }
  // 2,000 x 1,023 decode tokens at up to 256 per step: at least 7,992 decode steps.
  CHECK(r.batch_sum == 2000.0 * 1023);
  CHECK(r.decode_steps >= 7992);
}

namespace {

// Records every call, with LinearCost's times: prefill 1 ms per prompt token, decode 10 ms + 1 ms per sequence.
class RecordingCost : public IterationCost {
 public:
  struct Prefill {
    double tokens, squared;
    int prompts;
  };
  struct Decode {
    int batch;
    double context;
  };
  Seconds prefill(double tokens, double squared, int prompts) const override {
    prefills.push_back({tokens, squared, prompts});
    return Seconds(0.001 * tokens);
  }
  Seconds decode(int batch, double context) const override {
    decodes.push_back({batch, context});
    return Seconds(0.010 + 0.001 * batch);
  }
  mutable std::vector<Prefill> prefills;
  mutable std::vector<Decode> decodes;
};

}  // namespace

TEST_CASE("reasoning: the samples of a query share one prefill and the prompt's KV cache") {
  // One query: a 100-token prompt, 4 samples of 3 tokens each.
  RecordingCost cost;
  const std::vector<ServingRequest> one = {{0.0, 100, 3, 4}};
  const ScheduleResult r = schedule_replica(one, 256, 1e9, cost);
  // Prefill once: 100 tokens, 100^2 = 10,000 squared, one prompt (one LM head): 0.100 s. Its logits give
  // every sample its first token.
  REQUIRE(cost.prefills.size() == 1);
  CHECK(cost.prefills[0].tokens == 100);
  CHECK(cost.prefills[0].squared == 10000);
  CHECK(cost.prefills[0].prompts == 1);
  // Decode 1: 4 sequences; context = prompt once + 4 samples x 1 token = 104 (not 4 x 101 = 404).
  // Decode 2: 4 sequences, 104 + 4 = 108. Each decode: 0.010 + 4 x 0.001 = 0.014 s.
  REQUIRE(cost.decodes.size() == 2);
  CHECK(cost.decodes[0].batch == 4);
  CHECK(cost.decodes[0].context == 104);
  CHECK(cost.decodes[1].batch == 4);
  CHECK(cost.decodes[1].context == 108);
  // Done after 0.100 + 2 x 0.014 = 0.128 s.
  CHECK(r.requests[0].first_token_s == Approx(0.100));
  CHECK(r.requests[0].completion_s == Approx(0.128));
  CHECK(r.batch_sum == 8);  // sequences, summed over the 2 decode steps

  // KV reservation: prompt once + 4 x 3 = 112 tokens per query. A cache of 224 holds two queries, so
  // the third (offline, all at 0) waits for both to finish:
  // It 1: A, B admitted (224 of 224); prefill 200 tokens 0.200; decode of 8 sequences 0.018 -> 0.218.
  // It 2: C would need 336 > 224; decode -> 0.236: A and B done (3 tokens each), 224 released.
  // It 3: C admitted; prefill 0.100 -> 0.336 (its first token); decode of 4: 0.014 -> 0.350. It 4: -> 0.364.
  const std::vector<ServingRequest> three(3, ServingRequest{0.0, 100, 3, 4});
  const ScheduleResult k = schedule_replica(three, 256, 224, cost);
  CHECK(k.requests[0].completion_s == Approx(0.236));
  CHECK(k.requests[1].completion_s == Approx(0.236));
  CHECK(k.requests[2].first_token_s == Approx(0.336));
  CHECK(k.requests[2].completion_s == Approx(0.364));
  // A cache one token short of 224 takes A alone first (B waits for A's 112).
  const ScheduleResult tight = schedule_replica(three, 256, 223, cost);
  CHECK(tight.requests[1].first_token_s > tight.requests[0].completion_s - 1e-12);
  // max_batch counts sequences: at max_batch 7, B's 4 samples do not fit beside A's 4, whatever the KV.
  const ScheduleResult capped = schedule_replica(three, 7, 1e9, cost);
  CHECK(capped.requests[1].first_token_s >= capped.requests[0].completion_s - 1e-12);
}

TEST_CASE("reasoning: the verifier scores each sample as a prefill of prompt + sample after it is done") {
  RecordingCost cost, verifier;
  const std::vector<ServingRequest> one = {{0.0, 100, 3, 4}};
  const ScheduleResult r = schedule_replica(one, 256, 1e9, cost, 0, &verifier);
  // Samples done at 0.128 (as without a verifier). Then 4 prompts of 100 + 3 = 103 tokens on the verifier:
  // 412 tokens, 4 x 103^2 = 42,436 squared, at 1 ms per token: 0.412 s. The query completes at 0.540.
  REQUIRE(verifier.prefills.size() == 1);
  CHECK(verifier.prefills[0].tokens == 412);
  CHECK(verifier.prefills[0].squared == 42436);
  CHECK(verifier.prefills[0].prompts == 4);
  CHECK(verifier.decodes.empty());
  CHECK(r.requests[0].decode_end_s == Approx(0.128));
  CHECK(r.requests[0].completion_s == Approx(0.540));
  CHECK(r.verify_s == Approx(0.412));
  REQUIRE(r.busy.size() == 1);
  CHECK(r.busy[0].end_s == Approx(0.540));
  // The verification holds the replica: a second query admitted with the first finishes in the same
  // iteration and is verified in the same prefill (8 prompts, 824 tokens).
  RecordingCost cost2, verifier2;
  const std::vector<ServingRequest> two(2, ServingRequest{0.0, 100, 3, 4});
  const ScheduleResult both = schedule_replica(two, 256, 1e9, cost2, 0, &verifier2);
  REQUIRE(verifier2.prefills.size() == 1);
  CHECK(verifier2.prefills[0].prompts == 8);
  CHECK(verifier2.prefills[0].tokens == 824);
  // 0.200 prefill + 2 x 0.018 decode + 0.824 verify = 1.060 s.
  CHECK(both.requests[1].completion_s == Approx(1.060));
}

TEST_CASE("reasoning: a verifier resident on the replica takes KV-cache memory, not decode bandwidth") {
  const ModelSpec m = llama2_70b();
  const Accelerator gpu = test_gpu();
  ServingSetup alone{&m, &gpu, 8, 1, Precision::FP8};
  ServingSetup with = alone;
  with.co_resident_weights = Bytes(1e9);  // 1 GB of a verifier's weights per GPU
  const ServingMemory a = serving_memory(alone), b = serving_memory(with);
  // KV cache: 0.9 x (80e9 - 8,621,916,160 - 2 GiB - 1e9) = 0.9 x 1e9 less than alone.
  CHECK(a.kv_cache.value() - b.kv_cache.value() == Approx(0.9e9));
  CHECK(b.co_resident.value() == 1e9);
  // Decode reads only the generator's weights.
  const ServingStepModel ma(alone, {kNvlink, kNvlink}), mb(with, {kNvlink, kNvlink});
  CHECK(ma.decode(64, 64000).value() == mb.decode(64, 64000).value());
  with.co_resident_weights = Bytes(80e9);
  CHECK_FALSE(serving_memory(with).weights_fit());
}

namespace {

// Llama 3 8B (meta-llama/Meta-Llama-3-8B config.json) as the filter.
ModelSpec llama3_8b() {
  ModelSpec m;
  m.name = "llama3-8b";
  m.layers = 32;
  m.hidden = 4096;
  m.ffn_hidden = 14336;
  m.heads = 32;
  m.kv_heads = 8;
  m.vocab = 128256;
  return m;
}

}  // namespace

TEST_CASE("synthetic-data: steady-state extrapolation within 2% of the full per-request simulation") {
  const ModelSpec gen = llama2_70b(), flt = llama3_8b();
  const Accelerator gpu = test_gpu();
  const ServingStepModel generator({&gen, &gpu, 8, 1, Precision::FP8}, {kNvlink, kNvlink});
  const ServingStepModel filter({&flt, &gpu, 8, 1, Precision::FP8}, {kNvlink, kNvlink});
  SyntheticDataJob job;
  job.input_tokens = 200;
  job.output_tokens = 200;
  job.max_batch = 128;
  job.kv_capacity_tokens = generator.memory().kv_tokens;
  job.replicas = 2;
  job.accept_rate = 0.5;
  // 15,000 requests per replica expected: 15,000 x 2 replicas x 200 tokens x 0.5 = 3e6 accepted tokens.
  job.target_tokens = 3e6;
  job.seed = 7;
  const SyntheticDataRun full = run_synthetic_data(job, generator, &filter, 1e9, SyntheticMethod::Full);
  const SyntheticDataRun extra = run_synthetic_data(job, generator, &filter, 1e9, SyntheticMethod::Extrapolate);
  REQUIRE(full.reached);
  REQUIRE(extra.reached);
  CHECK_FALSE(full.extrapolated);
  CHECK(extra.extrapolated);
  CHECK(extra.simulated_requests == 3 * 2000);  // k = max(2000, 8 x 128)
  // Full: the accepted tokens reach the target (30,000 samples generated on average, drawn one by one;
  // the binomial noise of the draws is sqrt(0.5 x 0.5 / 30,000) = 0.29% of the count).
  CHECK(full.accepted_samples * 200 >= 3e6);
  CHECK(full.generated_samples == Approx(30000).epsilon(0.02));
  // Extrapolated: the expected 30,000 samples, 15,000 accepted, exactly the target.
  CHECK(extra.generated_samples == Approx(30000));
  CHECK(extra.accepted_samples * 200 == Approx(3e6));
  // The time to the target: measured 0.16% apart (384.74 s full, 385.35 s extrapolated); the bound is 2%.
  const double error = extra.end_s / full.end_s - 1;
  INFO("full " << full.end_s << " s, extrapolated " << extra.end_s << " s, error " << 100 * error << "%");
  CHECK(std::abs(error) < 0.02);
  // Auto picks the full method for a case this small and the extrapolation for a 1e11-token target.
  CHECK_FALSE(run_synthetic_data(job, generator, &filter, 1e9).extrapolated);
  job.target_tokens = 1e11;
  const auto t0 = std::chrono::steady_clock::now();
  const SyntheticDataRun big = run_synthetic_data(job, generator, &filter, 1e12);
  CHECK(big.extrapolated);
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 1.0);
  // 1e11 / (200 x 0.5) = 1e9 samples at the steady rate of 2 replicas.
  CHECK(big.generated_samples == Approx(1e9));
  CHECK(big.end_s == Approx(1e9 / 2 / big.steady_requests_per_s).epsilon(0.01));
  // Cut at a horizon before the target: not reached; what was done by then.
  const SyntheticDataRun cut = run_synthetic_data(job, generator, &filter, big.end_s / 2);
  CHECK_FALSE(cut.reached);
  CHECK(cut.end_s == big.end_s / 2);
  CHECK(cut.generated_samples == Approx(big.generated_samples / 2).epsilon(0.01));
}

TEST_CASE("synthetic-data: acceptance drawn from the seed, at the accept rate over seeds") {
  // A cost where every request takes the same time, so only the draws matter.
  const LinearCost cost;
  SyntheticDataJob job;
  job.input_tokens = 1;
  job.output_tokens = 1;
  job.max_batch = 1;  // one request per iteration: every completion at its own time
  job.kv_capacity_tokens = 1e9;
  job.replicas = 1;
  job.accept_rate = 0.3;
  job.target_tokens = 600;  // 600 accepted samples of one token: 2,000 generated on average
  double ratio_sum = 0;
  std::vector<double> generated;
  const int seeds = 40;
  for (int seed = 1; seed <= seeds; ++seed) {
    job.seed = std::uint64_t(seed);
    const SyntheticDataRun run = run_synthetic_data(job, cost, nullptr, 1e9, SyntheticMethod::Full);
    REQUIRE(run.reached);
    // Completions one at a time: the job ends at the sample that makes 600 (with waves of identical
    // requests ending together, a whole wave would count and pass the target by up to a wave).
    CHECK(run.accepted_samples == 600);
    // Per seed: accepted / generated is a binomial share; sd sqrt(0.3 x 0.7 / 2000) = 0.0102; 4 sd bound.
    const double share = run.accepted_samples / run.generated_samples;
    CHECK(std::abs(share - 0.3) < 4 * std::sqrt(0.3 * 0.7 / run.generated_samples));
    ratio_sum += share;
    generated.push_back(run.generated_samples);
  }
  // Over 40 seeds the mean share is within 4 x 0.0102 / sqrt(40) = 0.0065 of 0.3.
  CHECK(std::abs(ratio_sum / seeds - 0.3) < 0.0065);
  // Different seeds draw differently; the same seed draws the same.
  CHECK(std::set<double>(generated.begin(), generated.end()).size() > 10);
  job.seed = 1;
  CHECK(run_synthetic_data(job, cost, nullptr, 1e9, SyntheticMethod::Full).generated_samples == generated[0]);
}

TEST_CASE("diurnal Poisson arrivals follow their hourly profile") {
  // A day where hours 0-11 carry load 1 and hours 12-23 load 3: mean 2, so at a mean rate
  // of 2/s the first half-day runs at 1/s and the second at 3/s.
  std::vector<double> profile(24, 1.0);
  for (int h = 12; h < 24; ++h) profile[std::size_t(h)] = 3.0;
  const double day = 86400;
  const auto arrivals = poisson_arrivals(2.0, 0, std::nullopt, 10 * day, 11, 0, &profile);
  double first_half = 0, second_half = 0;
  for (double t : arrivals) (std::fmod(t, day) < day / 2 ? first_half : second_half) += 1;
  // Expected 10 days x 43,200 s x 1/s = 432,000 and x 3/s = 1,296,000 (sd about 0.15%).
  CHECK(first_half == Approx(432000).epsilon(0.01));
  CHECK(second_half == Approx(1296000).epsilon(0.01));
  CHECK(expected_arrivals(2.0, 0, day, &profile) == Approx(2.0 * day));
  CHECK(expected_arrivals(2.0, 0, day / 2, &profile) == Approx(day / 2));
  CHECK(expected_arrivals(2.0, 0, 3600, nullptr) == Approx(7200));
  // Same seed, same times.
  CHECK(poisson_arrivals(2.0, 0, std::nullopt, day, 11, 0, &profile) ==
        poisson_arrivals(2.0, 0, std::nullopt, day, 11, 0, &profile));
}

TEST_CASE("lognormal request lengths: mean, truncation, determinism") {
  // sigma 0.5, truncated far out (20x the mean): the sample mean is the mean within 1%
  // over 200,000 draws (the lognormal's sd is mean x sqrt(e^0.25 - 1) = 0.53 mean).
  const LengthDistribution d{1000, 0.5, 20000};
  const auto lengths = draw_lengths(d, 200000, 3, 7);
  double sum = 0;
  for (int l : lengths) {
    sum += l;
    REQUIRE(l >= 1);
    REQUIRE(l <= 20000);
  }
  CHECK(sum / double(lengths.size()) == Approx(1000).epsilon(0.01));
  CHECK(draw_lengths(d, 1000, 3, 7) == std::vector<int>(lengths.begin(), lengths.begin() + 1000));
  CHECK(draw_lengths(d, 1000, 3, 8) != std::vector<int>(lengths.begin(), lengths.begin() + 1000));
  // A tight truncation caps every draw.
  for (int l : draw_lengths(LengthDistribution{1000, 1.0, 1200}, 10000, 3, 7)) REQUIRE(l <= 1200);
  // Fixed lengths are the mean.
  CHECK(draw_lengths(LengthDistribution{256, 0, 256}, 3, 1, 1) == std::vector<int>{256, 256, 256});
}

TEST_CASE("weight-only INT4 stores a quarter of BF16's layer weight bytes and frees the rest for KV cache") {
  const Catalog& c = Catalog::builtin();
  ServingSetup bf16{c.model("llama2-70b"), c.accelerator("H100-SXM"), 2, 1, Precision::BF16, Bytes(0)};
  ServingSetup int4 = bf16;
  int4.weight_bytes_per_param = 0.5;
  const ServingMemory a = serving_memory(bf16), b = serving_memory(int4);
  // The two embedding tables (32000 x 8192 / tp 2 each) stay BF16: 524,288,000 B.
  const double tables = 2 * 32000.0 * 8192 / 2 * 2;
  CHECK(b.weights.value() == Approx((a.weights.value() - tables) / 4 + tables));
  CHECK(b.kv_per_token == a.kv_per_token);  // the KV cache stays at the compute precision
  CHECK(b.kv_tokens > a.kv_tokens);
}

TEST_CASE("autoscaling: a replica's saturated throughput on its own schedule") {
  const LinearCost cost;
  // Requests of 100 prompt and 10 output tokens, max_batch 4, a KV cache that never binds:
  // they run in waves of 4, each a prefill of 400 tokens (0.400 s) and 9 decode steps of
  // batch 4 (10 + 4 ms each, the first in the prefill's iteration): 0.526 s per 4 requests.
  CHECK(saturated_requests_per_s({0.0, 100, 10, 1}, 4, 1e9, cost) == Approx(4 / 0.526));
  // A KV cache of 250 tokens holds two such requests (110 each): waves of 2, a prefill of
  // 200 tokens and 9 decode steps of batch 2: 0.200 + 9 x 0.012 = 0.308 s per 2 requests.
  CHECK(saturated_requests_per_s({0.0, 100, 10, 1}, 4, 250, cost) == Approx(2 / 0.308));
}

TEST_CASE("autoscaling: a stream shared by a changing number of replicas") {
  // The replica count steps from 1 to 4 at day 5: each replica's stream runs at the full
  // rate, then at a quarter of it.
  const double day = 86400;
  const StepProfile share{{0.0, 5 * day}, {1.0, 0.25}};
  CHECK(share.at(-1) == 1.0);
  CHECK(share.at(5 * day - 1) == 1.0);
  CHECK(share.at(5 * day) == 0.25);
  CHECK(share.max() == 1.0);
  const auto arrivals = poisson_arrivals(2.0, 0, std::nullopt, 10 * day, 3, 0, nullptr, &share);
  const auto early = std::count_if(arrivals.begin(), arrivals.end(), [&](double t) { return t < 5 * day; });
  // Expected 5 days x 2/s = 864,000, then 5 days x 0.5/s = 216,000 (sd under 0.2%).
  CHECK(double(early) == Approx(864000).epsilon(0.01));
  CHECK(double(arrivals.size() - std::size_t(early)) == Approx(216000).epsilon(0.01));
  // The highest rate a window sees, for sizing: hour 12 of this profile carries 3/s.
  std::vector<double> profile(24, 1.0);
  for (int h = 12; h < 24; ++h) profile[std::size_t(h)] = 3.0;
  CHECK(peak_rate(2.0, 0, 3600, &profile) == Approx(1.0));
  CHECK(peak_rate(2.0, 11.5 * 3600, 12.5 * 3600, &profile) == Approx(3.0));
  CHECK(peak_rate(2.0, 11.5 * 3600, 12 * 3600, &profile) == Approx(1.0));  // the window ends as hour 12 begins
  CHECK(peak_rate(2.0, 0, 3600, nullptr) == 2.0);
}

TEST_CASE("FP4: NVFP4 weights take 9/16 byte, the KV cache stays FP8, GEMMs run at the FP4 peak") {
  // NVFP4 stores 16 weights as 16 x 4 bits + one 8-bit scale = 9 bytes.
  CHECK(bytes_per_value(Precision::FP4) == 9.0 / 16.0);
  CHECK(kv_bytes_per_value(Precision::FP4) == 1.0);
  const ModelSpec m = llama2_70b();
  CHECK(kv_bytes_per_token(m, Precision::FP4).value() == 163840.0);  // as FP8: 2 x 80 x 8 x 128 x 1

  Accelerator gpu = test_gpu();
  gpu.peak_fp4 = FlopRate(4000e12);
  gpu.matmul_efficiency_fp4 = 0.7;
  CHECK(gpu.supports(Precision::FP4));
  CHECK_FALSE(test_gpu().supports(Precision::FP4));
  const ServingSetup fp8{&m, &gpu, 1, 1, Precision::FP8, Bytes(0)};
  ServingSetup fp4 = fp8;
  fp4.precision = Precision::FP4;
  const ServingMemory a = serving_memory(fp8), b = serving_memory(fp4);
  // The layers' weights take 9/16 of FP8's bytes; the two embedding tables (32000 x 8192 each)
  // stay BF16 at both precisions.
  const double table = 32000.0 * 8192 * 2;
  CHECK(b.weights.value() == Approx((a.weights.value() - 2 * table) * 9.0 / 16.0 + 2 * table));
  CHECK(b.kv_per_token == a.kv_per_token);
  CHECK(b.kv_tokens > a.kv_tokens);  // the weights' freed HBM goes to the KV cache

  // Prefill of 8 prompts of 4096 tokens on one accelerator is compute-bound at both
  // precisions (about 4.8e15 FLOPs: 3.4 s at FP8 against a weight read of 0.02 s), so FP4,
  // at twice the peak and the same efficiency, takes half the time.
  const ServingStepModel at_fp8(fp8, {kNvlink, kNvlink}), at_fp4(fp4, {kNvlink, kNvlink});
  const double tokens = 8 * 4096.0, squared = 8 * 4096.0 * 4096.0;
  CHECK(at_fp4.prefill(tokens, squared, 8).value() == Approx(at_fp8.prefill(tokens, squared, 8).value() / 2));
  // Decode of one request is bound by reading the weights: 9/16 of FP8's bytes for the layers,
  // the BF16 LM head (the one table a step reads whole) the same at both.
  const DecodeBreakdown d8 = at_fp8.decode_breakdown(1, 1000), d4 = at_fp4.decode_breakdown(1, 1000);
  const double rate = 3.35e12 * kDecodeHbmEfficiency;
  const double kv_s = 1000 * 163840.0 / rate, head_s = table / rate;
  CHECK(d4.hbm.value() - kv_s - head_s == Approx((d8.hbm.value() - kv_s - head_s) * 9.0 / 16.0));
}

TEST_CASE("disaggregation by hand: the decode pool no longer stalls for prefills; TTFT carries the KV transfer") {
  // Costs of LinearCost: prefill 1 ms per prompt token, decode step 10 ms + 1 ms per request.
  // A arrives at 0, B at 0.05 s; both 100 prompt tokens and 3 output tokens.
  const LinearCost cost;
  const std::vector<ServingRequest> requests{{0.0, 100, 3, 1}, {0.05, 100, 3, 1}};

  // Co-located, one replica: A prefills over [0, 0.1] (first token 0.1), decodes token 2 by
  // 0.111; the next iteration admits B, whose prefill stalls A over [0.111, 0.211], then one
  // decode step of both (12 ms) gives A its third token at 0.223 and B its second; B's
  // third comes at 0.234. A's time per output token: (0.223 - 0.1) / 2 = 61.5 ms.
  const ScheduleResult co = schedule_replica(requests, 8, 1e9, cost);
  CHECK(co.requests[0].first_token_s == Approx(0.1));
  CHECK(co.requests[0].decode_end_s == Approx(0.223));
  CHECK(co.requests[1].first_token_s == Approx(0.211));
  CHECK(co.requests[1].decode_end_s == Approx(0.234));

  // Disaggregated, one prefill replica and one decode replica. The prefill replica ends A at
  // 0.1 and B at 0.2 (B waits for A's iteration). Each KV transfer takes 2 ms + 1e7 B / 1 GB/s
  // (100 tokens x 1e5 B) = 12 ms: A's KV is at the decode replica at 0.112, B's at 0.212.
  // The decode replica only decodes: A's tokens 2 and 3 at 0.123 and 0.134 (batch 1,
  // 11 ms each), B's at 0.223 and 0.234.
  DisaggregatedPools pools;
  pools.prefill = &cost;
  pools.prefill_max_batch = 8;
  pools.prefill_kv_tokens = 1e9;
  pools.decode = &cost;
  pools.decode_max_batch = 8;
  pools.decode_kv_tokens = 1e9;
  pools.kv_bytes_per_token = 1e5;
  const KvTransferTime transfer = [](int, int, double bytes) { return 0.002 + bytes / 1e9; };
  const std::vector<std::vector<RoutedRequest>> routed{{{requests[0], 0, 0}, {requests[1], 0, 0}}};
  const DisaggregatedSchedule d = schedule_disaggregated(routed, 1, pools, transfer);
  const DisaggregatedTiming& a = d.timing[0][0];
  const DisaggregatedTiming& b = d.timing[0][1];
  CHECK(a.prefill_end_s == Approx(0.1));
  CHECK(a.kv_ready_s == Approx(0.112));
  CHECK(a.decode_end_s == Approx(0.134));
  CHECK(b.prefill_end_s == Approx(0.2));
  CHECK(b.transfer_start_s == Approx(0.2));
  CHECK(b.kv_ready_s == Approx(0.212));
  CHECK(b.decode_end_s == Approx(0.234));
  CHECK(a.decoded);
  // TTFT = queueing + prefill + transfer: A 0.112 s, B 0.212 - 0.05 = 0.162 s.
  // A's time per output token: (0.134 - 0.112) / 2 = 11 ms, against 61.5 ms co-located.
  const double tpot_co = (co.requests[0].decode_end_s - co.requests[0].first_token_s) / 2;
  const double tpot_disaggregated = (a.decode_end_s - a.kv_ready_s) / 2;
  CHECK(tpot_co == Approx(0.0615));
  CHECK(tpot_disaggregated == Approx(0.011));
  // The decode pool ran only decode steps: 4 of batch 1, busy 0.112-0.134 and 0.212-0.234.
  REQUIRE(d.decode.size() == 1);
  CHECK(d.decode[0].decode_steps == 4);
  CHECK(d.decode[0].batch_sum == 4);
  REQUIRE(d.decode[0].busy.size() == 2);
  CHECK(d.decode[0].busy[0].start_s == Approx(0.112));
  CHECK(d.decode[0].busy[1].end_s == Approx(0.234));
}

TEST_CASE("disaggregation: KV transfers queue on a replica's link, first prefilled first sent") {
  // Two prefill replicas each prefill one 100-token prompt at t = 0 (both end at 0.1 s) and
  // send it to the same decode replica, whose receiving link takes one transfer at a time:
  // replica 0's KV is there at 0.112, replica 1's starts then and is there at 0.124.
  const LinearCost cost;
  DisaggregatedPools pools;
  pools.prefill = pools.decode = &cost;
  pools.prefill_max_batch = pools.decode_max_batch = 8;
  pools.prefill_kv_tokens = pools.decode_kv_tokens = 1e9;
  pools.kv_bytes_per_token = 1e5;
  const KvTransferTime transfer = [](int, int, double bytes) { return 0.002 + bytes / 1e9; };
  const ServingRequest one{0.0, 100, 2, 1};
  const DisaggregatedSchedule d = schedule_disaggregated({{{one, 0, 0}}, {{one, 0, 0}}}, 1, pools, transfer);
  CHECK(d.timing[0][0].kv_ready_s == Approx(0.112));
  CHECK(d.timing[1][0].transfer_start_s == Approx(0.112));
  CHECK(d.timing[1][0].kv_ready_s == Approx(0.124));
  // The decode replica admits the first at 0.112 (one step, 11 ms: done 0.123); the second
  // arrives at 0.124 and is done at 0.135.
  CHECK(d.timing[0][0].decode_end_s == Approx(0.123));
  CHECK(d.timing[1][0].decode_end_s == Approx(0.135));
  // A request routed to no simulated decode replica is prefilled and sent, not decoded.
  const DisaggregatedSchedule sent_only = schedule_disaggregated({{{one, 5, -1}}}, 0, pools, transfer);
  CHECK(sent_only.timing[0][0].kv_ready_s == Approx(0.112));
  CHECK_FALSE(sent_only.timing[0][0].decoded);
  CHECK(sent_only.decode.empty());
}

TEST_CASE("disaggregation: a request waiting for a decode slot gets its first token when admitted") {
  // Two prompts prefilled at once on two prefill replicas (0.1 s each), sent to one decode
  // replica of max_batch 1: A's KV is there at 0.112, B's at 0.124 (the receiving link is
  // FIFO). A decodes tokens 2 and 3 by 0.134 (11 ms each); only then is B admitted: its
  // first token reaches the user at 0.134 (TTFT 0.134 s, the slot's wait included) and its
  // time per output token is the decode pool's alone, (0.156 - 0.134) / 2 = 11 ms.
  const LinearCost cost;
  DisaggregatedPools pools;
  pools.prefill = pools.decode = &cost;
  pools.prefill_max_batch = 8;
  pools.decode_max_batch = 1;
  pools.prefill_kv_tokens = pools.decode_kv_tokens = 1e9;
  pools.kv_bytes_per_token = 1e5;
  const KvTransferTime transfer = [](int, int, double bytes) { return 0.002 + bytes / 1e9; };
  const ServingRequest one{0.0, 100, 3, 1};
  const DisaggregatedSchedule d = schedule_disaggregated({{{one, 0, 0}}, {{one, 0, 0}}}, 1, pools, transfer);
  const DisaggregatedTiming& a = d.timing[0][0];
  const DisaggregatedTiming& b = d.timing[1][0];
  CHECK(a.decode_start_s == Approx(0.112));
  CHECK(a.decode_end_s == Approx(0.134));
  CHECK(b.kv_ready_s == Approx(0.124));
  CHECK(b.decode_start_s == Approx(0.134));
  CHECK(b.decode_end_s == Approx(0.156));
  CHECK((b.decode_end_s - b.decode_start_s) / 2 == Approx(0.011));
}

TEST_CASE("KV policy preempt: admit on the context, preempt the newest, recompute it on return") {
  // A and B at 0: 10-token prompts, 5 output tokens; a cache of 26 tokens. Costs as LinearCost:
  // prefill 1 ms per token, decode 10 ms + 1 ms per sequence.
  const std::vector<ServingRequest> two(2, ServingRequest{0.0, 10, 5, 1});
  RecordingCost cost;
  // reserve: A reserves 15, B would make 30 > 26: B waits for A.
  // A: prefill 0.010, decodes of 1 (0.011 each) at 0.021 .. 0.054 (tokens 2-5). B: prefill -> 0.064,
  // decodes -> 0.075, 0.086, 0.097, 0.108.
  const ScheduleResult reserve = schedule_replica(two, 256, 26, cost, 0, nullptr, KvPolicy::Reserve);
  CHECK(reserve.requests[0].completion_s == Approx(0.054));
  CHECK(reserve.requests[1].first_token_s == Approx(0.064));
  CHECK(reserve.requests[1].completion_s == Approx(0.108));
  CHECK(reserve.preemptions == 0);
  // preempt: A's context 11 and the next step's token, 12 <= 26; B's 11 + 11 + 2 = 24 <= 26: both in.
  // It 1: prefill 20 tokens -> 0.020 (both first tokens); context 22, 22 + 2 <= 26: decode of 2 (0.012)
  //       -> 0.032, context 24. It 2: 24 + 2 <= 26: decode -> 0.044, context 26, 3 tokens each.
  // It 3: 26 + 2 > 26: B (the newest) is preempted with its 3 tokens (13 of context freed); A decodes
  //       alone -> 0.055 (4 tokens). It 4: B needs 14 + 13 + 2 > 26, waits; A -> 0.066, done, 15 freed.
  // It 5: B back: its prompt and 3 tokens prefilled anew (13 tokens) -> 0.079; decodes -> 0.090, 0.101.
  cost.prefills.clear();
  const ScheduleResult preempt = schedule_replica(two, 256, 26, cost, 0, nullptr, KvPolicy::Preempt);
  CHECK(preempt.requests[0].completion_s == Approx(0.066));
  CHECK(preempt.requests[1].first_token_s == Approx(0.020));  // not produced again
  CHECK(preempt.requests[1].completion_s == Approx(0.101));
  CHECK(preempt.preemptions == 1);
  CHECK(preempt.requests[1].preemptions == 1);
  CHECK(preempt.requests[0].preemptions == 0);
  REQUIRE(cost.prefills.size() == 2);
  CHECK(cost.prefills[0].tokens == 20);
  CHECK(cost.prefills[1].tokens == 13);
  CHECK(cost.prefills[1].squared == 169);
  // Never more than the cache: a long offline queue under preempt keeps every decode's context
  // plus its new tokens within it.
  cost.decodes.clear();
  const std::vector<ServingRequest> many(50, ServingRequest{0.0, 100, 200, 1});
  const ScheduleResult busy = schedule_replica(many, 64, 3000, cost, 0, nullptr, KvPolicy::Preempt);
  for (const auto& d : cost.decodes) CHECK(d.context + d.batch <= 3000);
  for (const auto& t : busy.requests) CHECK(t.completion_s > 0);
  CHECK(busy.preemptions > 0);
}
