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
//                  + (c + ci) x L x 4 h^2 [cross k,v on the text; k_img, v_img on the image]
//     self-attn  = L x 4 s^2 h   (QK^T and AV, full bidirectional attention: no causal half)
//     cross-attn = L x 4 s (c + ci) h
//   ci = kClipImageTokens (257) with video.image_to_video (WanI2VCrossAttention), else 0.
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
// - DiT weights in fp32, cast to bf16 by autocast in every forward pass on every rank
//   (kDitWeightBytes, kDitWeightCastBytesPerForward below): counted in memory and, at the
//   element-wise HBM rate, in each forward's element-wise time.
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
// Accelerators: NVIDIA only (video_accelerator_problem): the byte counts, the TF32 VAE and
// its conv efficiency are Wan2.1's CUDA reference code; other vendors are refused.
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
// 6, output to fp32 6) and x + img_x (12): 24 more. Charged only when the block also
// attends to text (text_len > 0): with the image context alone the one cross-attention
// is the 80 bytes above, on the image tokens.
inline constexpr double kDitImageCrossAttentionElementwiseBytes = 24;

// Image tokens of Wan2.1 image-to-video: the CLIP ViT-H/14 image encoder (Wan2.1
// wan/configs/wan_i2v_14B.py clip_model 'clip_xlm_roberta_vit_h_14'; wan/modules/clip.py:
// image_size 224, patch_size 14) gives (224 / 14)^2 = 256 patch tokens + 1 class token;
// WanModel.forward (wan/modules/model.py) projects them with img_emb ("bs x 257 x dim") and
// concatenates them before the 512 text tokens; WanI2VCrossAttention splits them off
// (context.shape[1] - T5_CONTEXT_TOKEN_NUMBER) and runs k_img, v_img (two h x h linears)
// and a second attention over them. Counted when video.image_to_video is on.
inline constexpr int kClipImageTokens = 257;

// DiT weights in memory: fp32. Wan2.1 text2video.py and image2video.py load the DiT with
// WanModel.from_pretrained(checkpoint_dir), no torch_dtype; diffusers then gives every
// parameter the dtype of the module built under the default dtype, fp32 (diffusers
// src/diffusers/models/model_loading_utils.py load_model_dict_into_meta: with dtype None,
// param.to(old_param.dtype); older releases: dtype = dtype or torch.float32). The bf16 is
// autocast's (shared_config.py param_dtype = torch.bfloat16, amp.autocast(dtype=...)
// around the sampling loop), not the weights'.
inline constexpr double kDitWeightBytes = 4;
// Autocast re-casts every fp32 weight to bf16 in every forward pass: its weight-cast cache
// only holds tensors that require grad (PyTorch aten/src/ATen/autocast_mode.cpp,
// cached_cast: can_try_cache needs arg.requires_grad() && arg.is_leaf()), and Wan2.1 calls
// self.model.eval().requires_grad_(False). Each nn.Linear call thus reads 4 bytes and writes
// 2 per parameter: 6 bytes per parameter per forward, on every rank of a replicated DiT.
// (Under --dit_fsdp, which Wan2.1's multi-GPU command adds and fleetsim does not model,
// FSDP's MixedPrecision(param_dtype=bf16) casts the rank's 1/sp shard and all-gathers bf16
// weights instead: wan/distributed/fsdp.py.)
inline constexpr double kDitWeightCastBytesPerForward = 6;
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

// Parameters of the DiT's blocks (the weight matrices; biases, norms, modulation and the
// embeddings are < 0.5%): L x (4 h^2 self + 4 h^2 cross [if any context] + 2 h^2 k_img,
// v_img [image-to-video] + 2 or 3 h f MLP).
double dit_parameters(const ModelSpec& model, bool image_to_video);

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
// semantics: TensorFloat-32"). Dense TF32 is half of dense BF16 on every NVIDIA tensor
// core generation since Ampere, the only accelerators the video model accepts
// (video_accelerator_problem): A100 156 vs 312 TFLOPS (A100 datasheet); H100 SXM, H800,
// H200 494.7 vs 989.4 (H100 and H200 datasheets, 989 / 1,979 with sparsity, halved);
// H20 74 vs 148 (secondary listings, as the catalog's H20 peak); GB200 1,250 vs 2,500
// dense and HGX B200 1,100 vs 2,250 (0.49, taken as 0.5: 2% on its VAE convolutions)
// (glennklockwood.com/garden/processors/B200, NVIDIA's figures). TPUs have no TF32 and Trainium2 runs TF32 at its BF16 rate (AWS Neuron docs,
// trainium2.rst): neither gets this ratio; both are refused.
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

// FLOPs of one DiT forward pass over `tokens` latent tokens (whole model, all ranks), whose
// cross-attention reads model.text_len text tokens and `image_tokens` image tokens
// (kClipImageTokens for image-to-video, else 0).
DitFlops dit_forward_flops(const ModelSpec& model, double tokens, int image_tokens = 0);

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
  Seconds forward_elementwise;   // one forward pass's element-wise passes on one rank,
                                 // the weight casts included
  Seconds forward_weight_cast;   // of which the autocast fp32 -> bf16 weight casts
  Seconds denoise;               // steps x passes x (compute + comm)
  Seconds text_encoder;
  Seconds vae_encode;            // image-to-video only
  Seconds vae_decode;
  Seconds total;                 // one video, unloaded
};

// `sp_link`: the level of the fabric the sp ranks of a replica share (the scale-up link).
VideoTime video_generation_time(const VideoSetup& setup, const LinkLevel& sp_link);

// DiT weights per accelerator (replicated, fp32: kDitWeightBytes) and whether they fit
// with the runtime reserve of training_step.hpp: "" if they fit, else why not (an
// accelerator video_accelerator_problem refuses does not fit either).
Bytes video_weights_per_accelerator(const ModelSpec& model, bool image_to_video = false);
std::string video_fit_problem(const VideoSetup& setup);

// "" for an accelerator the video model has a basis for, else why not. The model is
// Wan2.1's reference code: eager PyTorch on CUDA (flash-attn, cuDNN TF32 for the fp32 VAE,
// the element-wise byte counts above), so only vendor NVIDIA is accepted; a TPU (no TF32,
// XLA fuses the element-wise chains) or a Trainium (TF32 at the BF16 rate, the Neuron
// compiler) would need its own VAE rate and byte counts, which no source gives.
std::string video_accelerator_problem(const Accelerator& accelerator);

}  // namespace fleetsim
