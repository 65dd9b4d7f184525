#include "models/gemm.hpp"

#include <algorithm>
#include <cmath>

namespace fleetsim {

Seconds gemm_time(const GemmShape& g, const Accelerator& acc, Precision precision) {
  const FlopRate rate = acc.peak(precision) * acc.matmul_efficiency(precision);
  if (g.m <= 0 || g.n <= 0 || g.k <= 0) return Seconds(0);
  const int sms = acc.streaming_multiprocessors;
  if (sms <= 0) return Flops(2.0 * g.m * g.n * g.k) / rate;
  auto waves = [&](double tile_m, double tile_n) {
    return std::ceil(std::ceil(g.m / tile_m) * std::ceil(g.n / tile_n) / sms);
  };
  const double w = std::min(waves(kGemmTileM, kGemmTileN), waves(kGemmTileN, kGemmTileM));
  const Seconds main_loop = Flops(2.0 * kGemmTileM * kGemmTileN * g.k) / (rate / double(sms));
  const Seconds write_back = Bytes(kGemmTileM * kGemmTileN * g.out_bytes) / (acc.hbm_bandwidth / double(sms));
  return (main_loop + write_back) * w;
}

}  // namespace fleetsim
