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
//   The FLOPs of the patch embedding, head, time-step modulation and norms are left out
//   (< 0.1%); the memory traffic of norms, modulation and RoPE is counted below.
//   Wan2.1-14B at 720p: linear 1.81e15, self-attention 4.68e15 FLOPs: attention over the
//   75,600 tokens is 72% of the work.
// - Classifier-free guidance: 2 forward passes per step (conditional and unconditional;
//   Ho & Salimans 2022, arXiv 2207.12598; Wan2.1 wan/text2video.py runs the model on the
//   prompt and on the negative prompt every step, sample_guide_scale 5.0). `video.cfg:
//   false` models a guidance-distilled model with one pass.
// - Compute: linear FLOPs at peak_bf16 x matmul_efficiency, attention FLOPs (self and
//   cross) at peak_bf16 x attention_efficiency, both from the catalog (A100: 0.72, the
//   FlashAttention-2 forward kernel's rate at head dimension 128; see its source text).
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
// - Element-wise passes in the DiT blocks (HBM-bound, not overlapped with the GEMMs and
//   attention of the same stream): Wan2.1's reference code runs each block in eager PyTorch
//   with no fusion, keeps the residual stream and the modulation in fp32 and applies RoPE
//   in float64 complex numbers. Bytes read + written per element of the rank's s/sp x h
//   activation, per block, counted op by op from wan/modules/model.py and
//   wan/modules/attention.py (see the constants below), at hbm_bandwidth x
//   kElementwiseHbmEfficiency (training_step.hpp). Linear in s / sp: divides with sp.
// - VAE decode once per video, on one accelerator (Wan2.1 text2video.py decodes on rank 0
//   only), and for image-to-video also the VAE encode of the conditioning clip (the first
//   frame and F-1 black frames, Wan2.1 image2video.py): convolution FLOPs counted from the
//   Wan-VAE's layer shapes (wan/modules/vae.py), in fp32 (WanVAE dtype torch.float), so
//   TF32 tensor cores (PyTorch's cuDNN default allow_tf32) at kTf32PerBf16 of peak_bf16,
//   times the measured conv efficiency kVaeConvEfficiency; plus its fp32 element-wise
//   passes (RMS_norm, SiLU, cache cat, pad, residual) at the element-wise HBM rate.
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

// Element-wise bytes (read + written) per element of a rank's s/sp x h activation in one
// Wan2.1 DiT block, counted op by op from Wan-Video/Wan2.1 wan/modules/model.py
// (WanAttentionBlock, WanSelfAttention, WanT2VCrossAttention, WanRMSNorm, WanLayerNorm,
// rope_apply) and wan/modules/attention.py (flash_attention), under the bf16 autocast of
// text2video.py. The residual stream x is fp32 (x = x + y * e[i] runs with fp32 modulation
// e), linear outputs are bf16, parameters are fp32. Self-attention branch:
//   norm1 LayerNorm (fp32 in, fp32 out)                          8
//   * (1 + e[1]), + e[0] (fp32)                                  16
//   autocast fp32 -> bf16 cast of the input, once per q, k, v    18
//   WanRMSNorm on q and on k: x.float() 6, pow(2) 8, mean 4,
//     x * rsqrt 8, type_as 6, * weight (fp32) 6 = 38, twice      76
//   rope_apply on q and on k: to(float64) 12, complex multiply 16,
//     torch.cat 16, torch.stack 16, .float() 12 = 72, twice     144
//   flash_attention: q to bf16 6, k cat + to bf16 14, v cat 4,
//     output back to fp32 6                                      30
//   o projection: autocast cast of the fp32 input                6
//   x = x + y * e[2]: y * e 6, x + 12                             18   -> 316
inline constexpr double kDitSelfAttentionElementwiseBytes = 316;
// Cross-attention: norm3 (affine LayerNorm) 8, q cast 6, RMSNorm on q 38, flash_attention
// q to bf16 6 + output to fp32 6, o cast 6, x + y 10 = 80 (the text-side k, v are c x h).
inline constexpr double kDitCrossAttentionElementwiseBytes = 80;
// Image-to-video (WanI2VCrossAttention): a second flash_attention on the same q (q to bf16
// 6, output to fp32 6) and x + img_x (12): 24 more.
inline constexpr double kDitImageCrossAttentionElementwiseBytes = 24;
// MLP: norm2 8, * (1 + e[4]) 8, + e[3] 8, input cast 6, x = x + y * e[5] 18 = 48, plus
// the tanh GELU over the bf16 s x f hidden: 4 bytes per element of s x f (4 f / h here).
inline constexpr double kDitMlpElementwiseBytes = 48;
// Ulysses path (wan/distributed/xdit_context_parallel.py usp_attn_forward, xDiT's
// xFuserLongContextAttention): q, k to bf16 (12) instead of flash_attention's 30 and no o
// cast (-6), plus a transpose + contiguous copy of bf16 before and after each of the 4
// all-to-alls (DeepSpeed-Ulysses all_to_all_4D, as xDiT's yunchang does): 4 x 8 = 32.
// Net change at sp > 1: 12 + 32 - 36 = +8.
inline constexpr double kUlyssesElementwiseBytesDelta = 8;

// Bytes of element-wise traffic per element of s x h in one block (the sum above).
double dit_elementwise_bytes_per_element(const ModelSpec& model, bool image_to_video, int sp);

// RoPE table: every rope_apply call (q and k, every block) builds the complex128 rotation
// table for ALL s tokens, head_dim / 2 numbers of 16 bytes per token (torch.cat of the
// frame, height and width tables), whatever sp is; the Ulysses path's rope_apply
// (xdit_context_parallel.py) then pads it to s with pad_freqs (another torch.cat: read and
// write) before taking the rank's slice: 1 pass of writes at sp 1, 3 at sp > 1. This part
// does not divide with sp.
double dit_rope_table_bytes_per_forward(const ModelSpec& model, double tokens, int sp);

// VAE convolutions run in fp32 (Wan2.1 WanVAE(dtype=torch.float); autocast to float32 is
// not a CUDA autocast type, so the convs see fp32 tensors) and PyTorch lets cuDNN use TF32
// tensor cores by default (torch.backends.cudnn.allow_tf32 = True, PyTorch docs "CUDA
// semantics: TensorFloat-32"). Dense TF32 is half of dense BF16 on the tensor cores this
// catalog holds: A100 156 vs 312 TFLOPS (A100 datasheet), H100 SXM 494.7 vs 989.4 (H100
// datasheet, sparsity halved), RTX 4090 82.6 vs 165.2 (Ada whitepaper, FP32 accumulate).
inline constexpr double kTf32PerBf16 = 0.5;

// Share of tensor peak that the Wan-VAE's 3-D convolutions reach: sgl-project/sglang PR
// #34125 (2026) profiles a Wan causal VAE decode of 704x1280x61 frames on an H200 (bf16):
// 1.26 s of convolution kernels; the decoder's layer shapes (wan_vae_decode_cost below)
// give 4.711e14 FLOPs for that clip: 4.711e14 / 1.26 s / 989e12 = 0.378. One measurement
// on one GPU, carried to every accelerator and to TF32 (an assumption: cuDNN's implicit
// GEMM for 3x3x3 convolutions over 96-384 channels stays well below a square GEMM's 0.8).
inline constexpr double kVaeConvEfficiency = 0.378;

// Convolution FLOPs and fp32 element-wise bytes of the Wan-VAE (Wan2.1 wan/modules/vae.py
// _video_vae: dim 96, dim_mult [1, 2, 4, 4], 2 residual blocks per encoder stage and 3 per
// decoder stage, temporal down/upsampling at the two lower stages, z_dim 16) for a clip of
// `frames` frames of width x height, processed one latent frame (4 frames) at a time.
// The decoder's latent frames are 1 + (frames - 1) / vae_stride_t.
struct VaeCost {
  double flops = 0, bytes = 0;
};
VaeCost wan_vae_decode_cost(int width, int height, int frames, int vae_stride_t);
VaeCost wan_vae_encode_cost(int width, int height, int frames);

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
  bool image_to_video = false;  // adds the VAE encode and the image cross-attention (Wan2.1 I2V)
};

struct VideoTime {
  double tokens = 0;             // latent tokens
  int passes_per_step = 0;       // 2 with CFG
  Seconds forward_compute;       // one forward pass on one rank
  Seconds forward_comm;          // one forward pass's all-to-alls
  Seconds forward_elementwise;   // one forward pass's element-wise passes on one rank
  Seconds denoise;               // steps x passes x (compute + comm)
  Seconds text_encoder;
  Seconds vae_encode;            // image-to-video only
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
