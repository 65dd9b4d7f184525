// Micro-benchmark: how long one training step-time evaluation takes (issue 3 asks for at
// most 50 us, so that sweeps of 100,000 configurations take seconds). Prints the median
// over batches; it is not a test and runs by hand: build/bench/step_time_bench
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "models/training_step.hpp"

using namespace fleetsim;

int main() {
  const Catalog& catalog = Catalog::builtin();
  FabricView fabric;
  fabric.scale_up_domain = 8;
  fabric.accelerators_per_node = 8;
  fabric.scale_up = {ByteRate(450e9), Seconds(3.4e-6)};
  fabric.accelerators_in_pod = 1024;
  fabric.scale_out = {ByteRate(50e9), Seconds(14e-6)};
  fabric.inter_pod = {ByteRate(25e9), Seconds(19e-6)};

  // Llama 3 405B on 16,384 H100 (TP 8, PP 16, DP 128), varying DP so nothing is hoisted.
  TrainingSetup setup{catalog.model("llama3-405b"), catalog.accelerator("H100-SXM"), {8, 16, 128, 1, 1}, 8192, 2048, 1,
                      Precision::BF16, RecomputeMode::Full, {}};
  constexpr int kBatch = 20000, kBatches = 15;
  std::vector<double> per_eval_us;
  double sink = 0;
  for (int b = 0; b < kBatches; ++b) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kBatch; ++i) {
      setup.parallelism.dp = 64 + (i & 63);
      sink += training_step(setup, fabric).step_time.value();
      sink += training_memory(setup).total().value();
    }
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    per_eval_us.push_back(us / kBatch);
  }
  std::sort(per_eval_us.begin(), per_eval_us.end());
  std::printf("step time + memory evaluation: median %.3f us, min %.3f us, max %.3f us over %d batches of %d "
              "(target: at most 50 us)\n",
              per_eval_us[kBatches / 2], per_eval_us.front(), per_eval_us.back(), kBatches, kBatch);
  return sink > 0 ? 0 : 1;
}
