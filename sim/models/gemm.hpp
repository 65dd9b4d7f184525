// Time of one GEMM of a given shape on one accelerator: the tile-and-wave model.
//
// Model card
// Units: seconds. C (m x n) = A (m x k) B (k x n); 2 m n k FLOPs.
// - Without a tiling description in the catalog (TPU, Trainium: no
//   `streaming_multiprocessors`), a GEMM runs at peak(precision) x matmul_efficiency,
//   whatever its shape.
// - On an NVIDIA GPU, cuBLAS cuts C into output tiles of kTileM x kTileN (256 x 128,
//   the tile the NVIDIA Matrix Multiplication Background guide gives as cuBLAS's most
//   efficient, sec. 2.3) and runs one tile per SM at a time: waves = ceil(tiles / SMs),
//   tiles = ceil(m / 256) x ceil(n / 128) (or 128 x 256, whichever needs fewer waves).
//   This charges tile quantization (a partial tile costs a full one) and wave
//   quantization (a partial last wave costs a full one), as the guide describes (sec. 3).
// - Each tile: the main loop over k at the SM's share of the measured large-GEMM rate,
//   2 x 256 x 128 x k / (peak x matmul_efficiency / SMs), then the write-back of the
//   tile's output at the SM's share of the HBM bandwidth, 256 x 128 x out_bytes /
//   (hbm_bandwidth / SMs), not overlapped with the main loop (a non-persistent kernel).
//   The write-back costs the equivalent of k0 = out_bytes x peak x eff / (2 x
//   hbm_bandwidth) more k-steps: about 240 (bf16 out) on H100, 130 on A100, so a GEMM
//   with k = 2048 runs at about 0.9 of the large-GEMM rate on H100.
// - out_bytes: 2 for a bf16 output; 8 for a weight-gradient GEMM that accumulates into
//   Megatron-LM's fp32 main gradient (read and write 4 bytes: gradient-accumulation
//   fusion, --gradient-accumulation-fusion, on by default).
// Known error: the best-shape rate matmul_efficiency already contains its own
// write-back; Hopper's persistent warp-specialised kernels partly hide the write-back
// behind the next tile (so this model is pessimistic there); cuBLAS may pick smaller
// tiles or split k for GEMMs with fewer tiles than SMs (not modelled).
#pragma once

#include "catalog/catalog.hpp"
#include "core/units.hpp"

namespace fleetsim {

inline constexpr double kGemmTileM = 256;
inline constexpr double kGemmTileN = 128;

struct GemmShape {
  double m = 0, n = 0, k = 0;
  double out_bytes = 2.0;  // per element of C written back (8: fp32 main-gradient accumulation)
};

Seconds gemm_time(const GemmShape& shape, const Accelerator& acc, Precision precision);

}  // namespace fleetsim
