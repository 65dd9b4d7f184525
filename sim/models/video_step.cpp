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

DitFlops dit_forward_flops(const ModelSpec& m, double s, int image_tokens) {
  const double L = m.layers, h = m.hidden, f = m.ffn_hidden;
  const double c = double(m.text_len) + double(image_tokens);  // context tokens the cross-attention reads
  const double mlp_matrices = m.mlp == MlpKind::SwiGLU ? 3.0 : 2.0;
  const double cross = c > 0 ? 1.0 : 0.0;
  DitFlops out;
  out.linear = s * L * (8.0 * h * h + cross * 4.0 * h * h + 2.0 * mlp_matrices * h * f) + c * L * 4.0 * h * h;
  out.self_attention = L * 4.0 * s * s * h;
  out.cross_attention = L * 4.0 * s * c * h;
  return out;
}

double dit_elementwise_bytes_per_element(const ModelSpec& m, bool image_to_video, int sp) {
  double bytes = kDitSelfAttentionElementwiseBytes + kDitMlpElementwiseBytes +
                 4.0 * double(m.ffn_hidden) / double(m.hidden);  // tanh GELU over s x f, bf16 in and out
  if (m.text_len > 0 || image_to_video) bytes += kDitCrossAttentionElementwiseBytes;
  if (m.text_len > 0 && image_to_video) bytes += kDitImageCrossAttentionElementwiseBytes;  // the second attention
  if (sp > 1) bytes += kUlyssesElementwiseBytesDelta;
  return bytes;
}

double dit_parameters(const ModelSpec& m, bool image_to_video) {
  const double h = m.hidden, mlp_matrices = m.mlp == MlpKind::SwiGLU ? 3.0 : 2.0;
  const double cross = m.text_len > 0 || image_to_video ? 4.0 * h * h : 0.0;  // q, k, v, o
  const double image = image_to_video && m.text_len > 0 ? 2.0 * h * h : 0.0;  // k_img, v_img beside k, v
  return double(m.layers) * (4.0 * h * h + cross + image + mlp_matrices * h * m.ffn_hidden);
}

double dit_rope_table_bytes_per_forward(const ModelSpec& m, double tokens, int sp) {
  const double table = tokens * (double(m.hidden) / m.heads / 2.0) * 16.0;  // complex128 per token
  return double(m.layers) * 2.0 * table * (sp > 1 ? 3.0 : 1.0);           // q and k
}

namespace {

// Pieces of the Wan-VAE (wan/modules/vae.py), each adding its FLOPs (2 per multiply-add)
// and its fp32 element-wise bytes to `c`. `px` pixels per frame, `t` frames at that stage.
constexpr double kF32 = 4.0;

void conv(VaeCost& c, double cin, double cout, double taps, double voxels) {
  c.flops += 2.0 * taps * cin * cout * voxels;
}

// One pre-norm unit of a ResidualBlock on the `ch`-channel input, per element (in passes
// over the tensor): RMS_norm 9 (F.normalize reads for the norm, then reads and writes the
// quotient; * scale, * gamma, + bias 0. each read and write), SiLU 2, the feature-cache
// clone of the last 2 of 4 frames 1, torch.cat with the cached frames 3 (1.5 read, 1.5
// written), F.pad 3, the convolution reading its padded input 1.5 and writing 1.
constexpr double kVaeUnitPasses = 20.5;

// ResidualBlock(cin, cout): two units (3x3x3 convs) and the residual add (2 reads, 1
// write); a 1x1x1 shortcut conv when the channels change.
void residual_block(VaeCost& c, double cin, double cout, double px, double t) {
  const double v = px * t;
  conv(c, cin, cout, 27, v);
  conv(c, cout, cout, 27, v);
  if (cin != cout) conv(c, cin, cout, 1, v);
  c.bytes += kF32 * v * (kVaeUnitPasses * cin + kVaeUnitPasses * cout + 3.0 * cout);
}

// AttentionBlock(ch): one head over the px pixels of each frame (1x1 qkv and proj convs,
// QK^T and AV); its norm and layout copies at about one unit's passes.
void attention_block(VaeCost& c, double ch, double px, double t) {
  c.flops += t * (2.0 * px * ch * 4.0 * ch + 4.0 * px * px * ch);
  c.bytes += kF32 * px * t * ch * kVaeUnitPasses;
}

// Resample upsample3d / upsample2d on a ch-channel input of px pixels and t frames: the
// temporal CausalConv3d(ch, 2ch, (3,1,1)) on every chunk but the first (3d only; its cat,
// pad and input read 7.5 passes over the input, its 2ch output written and re-stacked by
// torch.stack 6), then per frame: the rearrange copy (2), nearest-exact 2x upsampling (1
// read, 4 written), Conv2d(ch, ch/2, 3x3) at 4 px (4 read, 2 written) and the copy back
// (4): 17 passes in units of the ch x px x t_out input.
void upsample(VaeCost& c, double ch, double px, double t, bool temporal, double* t_out) {
  double to = t;
  if (temporal) {
    conv(c, ch, 2.0 * ch, 3, px * (t - 1.0));
    c.bytes += kF32 * ch * px * t * 13.5;
    to = 1.0 + 2.0 * (t - 1.0);  // the first chunk is not doubled ('Rep')
  }
  conv(c, ch, ch / 2.0, 9, 4.0 * px * to);
  c.bytes += kF32 * ch * px * to * 17.0;
  *t_out = to;
}

// Resample downsample2d / downsample3d: ZeroPad2d and Conv2d(ch, ch, 3x3, stride 2) per
// frame (rearrange copy 2, pad 2, conv read 1, write 0.25, copy back 0.5: 6 passes of the
// input), and for 3d the CausalConv3d(ch, ch, (3,1,1), stride 2) on the quarter-size
// frames (cat with the cached frame, clone, read, write: about 1 pass of the input).
void downsample(VaeCost& c, double ch, double px, double t, bool temporal, double* t_out) {
  conv(c, ch, ch, 9, px / 4.0 * t);
  c.bytes += kF32 * ch * px * t * 6.0;
  double to = t;
  if (temporal) {
    to = 1.0 + (t - 1.0) / 2.0;
    conv(c, ch, ch, 3, px / 4.0 * to);
    c.bytes += kF32 * ch * px * t * 1.0;
  }
  *t_out = to;
}

}  // namespace

VaeCost wan_vae_decode_cost(int width, int height, int frames, int vae_stride_t) {
  VaeCost c;
  const double px = double(width) * height;
  const double t0 = 1.0 + double((frames - 1) / vae_stride_t);  // latent frames
  const double p8 = px / 64.0;
  conv(c, 16, 384, 27, p8 * t0);           // conv1: z_dim 16 -> 384
  c.bytes += kF32 * 384.0 * p8 * t0;
  residual_block(c, 384, 384, p8, t0);     // middle: residual, attention, residual
  attention_block(c, 384, p8, t0);
  residual_block(c, 384, 384, p8, t0);
  for (int i = 0; i < 3; ++i) residual_block(c, 384, 384, p8, t0);  // stage 0 (1/8 size)
  double t1 = t0;
  upsample(c, 384, p8, t0, true, &t1);     // -> 192 channels, 1/4 size, 2x frames
  residual_block(c, 192, 384, px / 16.0, t1);  // stage 1 (1/4 size)
  for (int i = 0; i < 2; ++i) residual_block(c, 384, 384, px / 16.0, t1);
  double t2 = t1;
  upsample(c, 384, px / 16.0, t1, true, &t2);  // -> 192 channels, 1/2 size, 4x frames
  for (int i = 0; i < 3; ++i) residual_block(c, 192, 192, px / 4.0, t2);  // stage 2
  double t3 = t2;
  upsample(c, 192, px / 4.0, t2, false, &t3);  // -> 96 channels, full size
  for (int i = 0; i < 3; ++i) residual_block(c, 96, 96, px, t3);  // stage 3 (full size)
  conv(c, 96, 3, 27, px * t3);             // head: RMS_norm, SiLU, conv to RGB
  c.bytes += kF32 * 96.0 * px * t3 * kVaeUnitPasses;
  return c;
}

VaeCost wan_vae_encode_cost(int width, int height, int frames) {
  VaeCost c;
  const double px = double(width) * height;
  const double t0 = frames;
  conv(c, 3, 96, 27, px * t0);             // conv1: RGB -> 96
  c.bytes += kF32 * px * t0 * (3.0 * 6.0 + 96.0);
  for (int i = 0; i < 2; ++i) residual_block(c, 96, 96, px, t0);  // stage 0 (full size)
  double t1 = t0;
  downsample(c, 96, px, t0, false, &t1);
  residual_block(c, 96, 192, px / 4.0, t1);  // stage 1 (1/2 size)
  residual_block(c, 192, 192, px / 4.0, t1);
  double t2 = t1;
  downsample(c, 192, px / 4.0, t1, true, &t2);  // temperal_downsample [False, True, True]
  residual_block(c, 192, 384, px / 16.0, t2);  // stage 2 (1/4 size)
  residual_block(c, 384, 384, px / 16.0, t2);
  double t3 = t2;
  downsample(c, 384, px / 16.0, t2, true, &t3);
  for (int i = 0; i < 2; ++i) residual_block(c, 384, 384, px / 64.0, t3);  // stage 3 (1/8 size)
  residual_block(c, 384, 384, px / 64.0, t3);  // middle: residual, attention, residual
  attention_block(c, 384, px / 64.0, t3);
  residual_block(c, 384, 384, px / 64.0, t3);
  conv(c, 384, 32, 27, px / 64.0 * t3);    // head: to mean and log-variance (2 x z_dim)
  c.bytes += kF32 * 384.0 * px / 64.0 * t3 * kVaeUnitPasses;
  return c;
}

VideoTime video_generation_time(const VideoSetup& v, const LinkLevel& sp_link) {
  const ModelSpec& m = *v.model;
  const Accelerator& acc = *v.accelerator;
  VideoTime t;
  t.tokens = latent_grid(m, v.width, v.height, v.frames).tokens();
  t.passes_per_step = v.cfg ? 2 : 1;
  const DitFlops flops = dit_forward_flops(m, t.tokens, v.image_to_video ? kClipImageTokens : 0);
  const FlopRate matmul = acc.peak(Precision::BF16) * acc.matmul_efficiency(Precision::BF16);
  const FlopRate attention = acc.peak(Precision::BF16) * acc.attention_efficiency;
  t.forward_compute = Flops(flops.linear / v.sp) / matmul +
                      Flops((flops.self_attention + flops.cross_attention) / v.sp) / attention;
  // Ulysses: 4 all-to-alls per self-attention layer of the rank's s/sp tokens x h, 16-bit.
  const Bytes shard(t.tokens / v.sp * m.hidden * 2.0);
  t.forward_comm = all_to_all(shard, v.sp, sp_link) * (4.0 * m.layers);
  const ByteRate elementwise = acc.hbm_bandwidth * kElementwiseHbmEfficiency;
  // Autocast's fp32 -> bf16 weight casts: every rank holds and casts all the weights.
  t.forward_weight_cast = Bytes(dit_parameters(m, v.image_to_video) * kDitWeightCastBytesPerForward) / elementwise;
  t.forward_elementwise = Bytes(double(m.layers) * t.tokens / v.sp * double(m.hidden) *
                                    dit_elementwise_bytes_per_element(m, v.image_to_video, v.sp) +
                                dit_rope_table_bytes_per_forward(m, t.tokens, v.sp)) /
                              elementwise +
                          t.forward_weight_cast;
  t.denoise = (t.forward_compute + t.forward_comm + t.forward_elementwise) * (double(v.steps) * t.passes_per_step);
  t.text_encoder = Flops(2.0 * kTextEncoderParams * m.text_len * t.passes_per_step) / matmul;
  const FlopRate vae_conv = acc.peak(Precision::BF16) * (kTf32PerBf16 * kVaeConvEfficiency);
  const auto vae_time = [&](const VaeCost& c) { return Flops(c.flops) / vae_conv + Bytes(c.bytes) / elementwise; };
  t.vae_decode = vae_time(wan_vae_decode_cost(v.width, v.height, v.frames, m.vae_stride_t));
  t.vae_encode = v.image_to_video ? vae_time(wan_vae_encode_cost(v.width, v.height, v.frames))
                                  : Seconds(0);
  t.total = t.text_encoder + t.vae_encode + t.denoise + t.vae_decode;
  return t;
}

Bytes video_weights_per_accelerator(const ModelSpec& m, bool image_to_video) {
  return Bytes(dit_parameters(m, image_to_video) * kDitWeightBytes);
}

std::string video_accelerator_problem(const Accelerator& a) {
  if (a.vendor == "NVIDIA") return "";
  return "cannot run on " + a.name + " (vendor " + (a.vendor.empty() ? std::string("unknown") : a.vendor) +
         "): the video model is Wan2.1's CUDA reference code (TF32 VAE convolutions at an NVIDIA-measured "
         "rate, eager-PyTorch element-wise passes), which has no source on other accelerators; use an NVIDIA one";
}

std::string video_fit_problem(const VideoSetup& v) {
  if (std::string why = video_accelerator_problem(*v.accelerator); !why.empty()) return why;
  const Bytes weights = video_weights_per_accelerator(*v.model, v.image_to_video);
  const Bytes capacity = v.accelerator->hbm_capacity;
  if (weights + Bytes(kRuntimeReserveBytes) < capacity) return "";
  char text[256];
  std::snprintf(text, sizeof text,
                "needs %.1f GB of fp32 DiT weights per accelerator on %s (plus a %.1f GB runtime reserve), which "
                "has %.1f GB (sequence parallelism replicates the weights)",
                weights.value() / 1e9, v.accelerator->name.c_str(), kRuntimeReserveBytes / 1e9,
                capacity.value() / 1e9);
  return text;
}

}  // namespace fleetsim
