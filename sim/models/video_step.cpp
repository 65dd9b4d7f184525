#include "models/video_step.hpp"

#include <cstdio>
#include <string>

#include "models/training_step.hpp"

namespace fleetsim {

LatentGrid latent_grid(const ModelSpec& m, int width, int height, int frames) {
  LatentGrid g;
  const int latent_frames = 1 + (frames - 1) / m.vae_stride_t;  // causal VAE: the first frame alone
  g.frames = latent_frames / m.patch_t;
  g.height = height / (m.vae_stride_s * m.patch_s);
  g.width = width / (m.vae_stride_s * m.patch_s);
  return g;
}

DitFlops dit_forward_flops(const ModelSpec& m, double s) {
  const double L = m.layers, h = m.hidden, f = m.ffn_hidden, c = m.text_len;
  const double mlp_matrices = m.mlp == MlpKind::SwiGLU ? 3.0 : 2.0;
  const double cross = c > 0 ? 1.0 : 0.0;
  DitFlops out;
  out.linear = s * L * (8.0 * h * h + cross * 4.0 * h * h + 2.0 * mlp_matrices * h * f) + c * L * 4.0 * h * h;
  out.self_attention = L * 4.0 * s * s * h;
  out.cross_attention = L * 4.0 * s * c * h;
  return out;
}

VideoTime video_generation_time(const VideoSetup& v, const LinkLevel& sp_link) {
  const ModelSpec& m = *v.model;
  const Accelerator& acc = *v.accelerator;
  VideoTime t;
  t.tokens = latent_grid(m, v.width, v.height, v.frames).tokens();
  t.passes_per_step = v.cfg ? 2 : 1;
  const DitFlops flops = dit_forward_flops(m, t.tokens);
  const FlopRate matmul = acc.peak(Precision::BF16) * acc.matmul_efficiency(Precision::BF16);
  const FlopRate attention = acc.peak(Precision::BF16) * acc.attention_efficiency;
  t.forward_compute = Flops(flops.linear / v.sp) / matmul +
                      Flops((flops.self_attention + flops.cross_attention) / v.sp) / attention;
  // Ulysses: 4 all-to-alls per self-attention layer of the rank's s/sp tokens x h, 16-bit.
  const Bytes shard(t.tokens / v.sp * m.hidden * 2.0);
  t.forward_comm = all_to_all(shard, v.sp, sp_link) * (4.0 * m.layers);
  t.denoise = (t.forward_compute + t.forward_comm) * (double(v.steps) * t.passes_per_step);
  t.text_encoder = Flops(2.0 * kTextEncoderParams * m.text_len * t.passes_per_step) / matmul;
  t.vae_decode = Flops(kVaeDecodeFlopsPerPixel * double(v.width) * v.height * v.frames) / matmul;
  t.total = t.text_encoder + t.denoise + t.vae_decode;
  return t;
}

Bytes video_weights_per_accelerator(const ModelSpec& m) {
  const double h = m.hidden, mlp_matrices = m.mlp == MlpKind::SwiGLU ? 3.0 : 2.0;
  const double cross = m.text_len > 0 ? 4.0 * h * h : 0.0;
  return Bytes(double(m.layers) * (4.0 * h * h + cross + mlp_matrices * h * m.ffn_hidden) * 2.0);
}

std::string video_fit_problem(const VideoSetup& v) {
  const Bytes weights = video_weights_per_accelerator(*v.model);
  const Bytes capacity = v.accelerator->hbm_capacity;
  if (weights + Bytes(kRuntimeReserveBytes) < capacity) return "";
  char text[256];
  std::snprintf(text, sizeof text,
                "needs %.1f GB of DiT weights per accelerator on %s (plus a %.1f GB runtime reserve), which has "
                "%.1f GB (sequence parallelism replicates the weights)",
                weights.value() / 1e9, v.accelerator->name.c_str(), kRuntimeReserveBytes / 1e9,
                capacity.value() / 1e9);
  return text;
}

}  // namespace fleetsim
