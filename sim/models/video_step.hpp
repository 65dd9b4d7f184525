// Time to generate one video with a diffusion transformer (DiT) on one replica of `sp`
// accelerators, and whether the replica holds the model. Pure functions: no SimGrid.
//
// Model card (first version, issue 4 item 5; kind video-generation)
// Units: seconds, bytes, FLOP. L layers, h hidden, f ffn_hidden, s latent tokens, c text
// tokens (text_len), sp accelerators per replica, n denoising steps.
// - Latent tokens: F frames of W x H pixels pass the VAE's causal temporal compression
//   (1 + (F - 1) / vae_stride_t latent frames) and spatial compression (H / vae_stride_s
//   by W / vae_stride_s), then the patch embedding (patch_t x patch_s x patch_s latent
//   cells per token): s = (1 + (F-1)/st)/pt x H/(ss ps) x W/(ss ps). Wan2.1 720p, 81
//   frames: 21 x 45 x 80 = 75,600 (Wan-Video/Wan2.1 wan/configs; tests/unit/test_video.cpp).
// - One DiT forward pass (Wan2.1 wan/modules/model.py WanAttentionBlock: self-attention,
//   cross-attention to the text, GELU MLP; 2 FLOPs per multiply-add):
//     linear     = s x L x (8 h^2 [self q,k,v,o] + 4 h^2 [cross q,o] + 4 h f [MLP])
//                  + c x L x 4 h^2 [cross k,v on the text tokens]
//     self-attn  = L x 4 s^2 h   (QK^T and AV, full bidirectional attention: no causal half)
//     cross-attn = L x 4 s c h
//   Patch embedding, head, time-step modulation and norms are left out (< 0.1%).
//   Wan2.1-14B at 720p: linear 1.81e15, self-attention 4.68e15 FLOPs: attention over the
//   75,600 tokens is 72% of the work.
// - Classifier-free guidance: 2 forward passes per step (conditional and unconditional;
//   Ho & Salimans 2022, arXiv 2207.12598; Wan2.1 wan/text2video.py runs the model on the
//   prompt and on the negative prompt every step, sample_guide_scale 5.0). `video.cfg:
//   false` models a guidance-distilled model with one pass.
// - Compute: linear FLOPs at peak_bf16 x matmul_efficiency, attention FLOPs (self and
//   cross) at peak_bf16 x attention_efficiency, both from the catalog (the catalog's
//   attention efficiency is FlashAttention's forward+backward figure; the forward alone is
//   about as efficient on A100: FlashAttention-2 paper, forward up to 73% of peak).
// - Sequence parallelism, Ulysses style (DeepSpeed-Ulysses, Jacobs et al. 2023, arXiv
//   2309.14509; Wan2.1's multi-GPU command uses --ulysses_size): each of the sp ranks holds
//   s / sp tokens for the linear layers and h / sp heads over all s tokens for attention, so
//   every FLOP above divides by sp. Per self-attention: 4 all-to-alls (Q, K, V in; output
//   back) of s / sp x h x 2 bytes per rank (all_to_all of collectives.hpp on the scale-up
//   link), not overlapped with compute. Cross-attention needs none (the text is
//   replicated). Requires sp to divide the heads. Weights are replicated on every rank.
// - Text encoder once per video: umT5-XXL encoder (Wan2.1 shared_config t5_model =
//   umt5_xxl; google/umt5-xxl config.json: d_model 4096, d_ff 10240 gated-GELU, 24 layers):
//   24 x (4 x 4096^2 + 3 x 4096 x 10240) = 4.63e9 parameters, 2 x that x c FLOPs per
//   prompt, 2 prompts with CFG; on one accelerator at matmul efficiency. Tiny (~0.04 s).
// - VAE decode once per video, on one accelerator (Wan2.1 text2video.py decodes on rank 0
//   only): kVaeDecodeFlopsPerPixel x W x H x F at matmul efficiency. ESTIMATE, not a
//   measurement: see the constant.
// Assumptions: batch 1 per replica (Wan2.1 generates one video at a time); no CPU
// offload (the published 1-GPU figure uses --offload_model, which fleetsim does not
// model); no FSDP weight gathers (the weights fit replicated); no scheduler, sampler or
// Python overhead between steps; all-to-alls exposed.
// Known error: measured against Wan2.1's published A800/A100 times on 1/2/4/8 GPUs in
// docs/models/video.md (scripts/validate --only video).
#pragma once

#include "catalog/catalog.hpp"
#include "models/collectives.hpp"

namespace fleetsim {

// umT5-XXL encoder parameters (non-embedding): 24 x (4 x 4096^2 + 3 x 4096 x 10240)
// (google/umt5-xxl config.json: d_model 4096, d_ff 10240, num_layers 24, gated-GELU).
inline constexpr double kTextEncoderParams = 24.0 * (4.0 * 4096 * 4096 + 3.0 * 4096 * 10240);

// VAE decoder FLOPs per output pixel (per frame). ESTIMATE from Wan2.1's decoder shape
// (wan/modules/vae.py: dim 96, dim_mult [1, 2, 4, 4], 3 residual blocks of two 3x3x3
// convolutions per stage): 6 convs of 96 channels at full resolution (2 x 27 x 96^2 =
// 0.50 MFLOP each per pixel: 3.0), 6 of 192 at 1/4 the pixels (3.0), 6 of 384 at 1/32
// (1.5), the middle block and lowest stage at 1/256 (0.3), upsampling convs (~0.2): about
// 8 MFLOP per pixel. No published decode time was found to check it against; it is
// under 1% of a 1-GPU video and about 1% of an 8-GPU one.
inline constexpr double kVaeDecodeFlopsPerPixel = 8e6;

struct LatentGrid {
  int frames = 0, height = 0, width = 0;  // in tokens, after the VAE and the patch embedding
  double tokens() const { return double(frames) * height * width; }
};

// Latent tokens of a video of `frames` frames of width x height pixels; requires the
// dimensions to divide (the scenario layer checks it).
LatentGrid latent_grid(const ModelSpec& model, int width, int height, int frames);

struct DitFlops {
  double linear = 0, self_attention = 0, cross_attention = 0;
  double total() const { return linear + self_attention + cross_attention; }
};

// FLOPs of one DiT forward pass over `tokens` latent tokens (whole model, all ranks).
DitFlops dit_forward_flops(const ModelSpec& model, double tokens);

struct VideoSetup {
  const ModelSpec* model = nullptr;
  const Accelerator* accelerator = nullptr;
  int sp = 1;
  int width = 0, height = 0, frames = 0, steps = 0;
  bool cfg = true;
};

struct VideoTime {
  double tokens = 0;             // latent tokens
  int passes_per_step = 0;       // 2 with CFG
  Seconds forward_compute;       // one forward pass on one rank
  Seconds forward_comm;          // one forward pass's all-to-alls
  Seconds denoise;               // steps x passes x (compute + comm)
  Seconds text_encoder;
  Seconds vae_decode;
  Seconds total;                 // one video, unloaded
};

// `sp_link`: the level of the fabric the sp ranks of a replica share (the scale-up link).
VideoTime video_generation_time(const VideoSetup& setup, const LinkLevel& sp_link);

// DiT weights per accelerator (replicated, bf16) and whether they fit with the runtime
// reserve of training_step.hpp: "" if they fit, else why not.
Bytes video_weights_per_accelerator(const ModelSpec& model);
std::string video_fit_problem(const VideoSetup& setup);

}  // namespace fleetsim
