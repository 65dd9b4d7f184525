// The video-generation model (models/video_step.hpp) against algebra written out by hand.
#include <catch2/catch.hpp>

#include "models/video_step.hpp"

using namespace fleetsim;

namespace {

// Wan2.1-14B (Wan-Video/Wan2.1 wan/configs/wan_t2v_14B.py, shared_config.py), written out
// so the test does not move when the catalog does.
ModelSpec wan14b() {
  ModelSpec m;
  m.name = "wan2.1-14b";
  m.kind = "dit";
  m.layers = 40;
  m.hidden = 5120;
  m.ffn_hidden = 13824;
  m.heads = 40;
  m.kv_heads = 40;
  m.vocab = 0;
  m.mlp = MlpKind::GeLU;
  m.vae_stride_t = 4;
  m.vae_stride_s = 8;
  m.patch_t = 1;
  m.patch_s = 2;
  m.text_len = 512;
  return m;
}

// Round numbers: 1000 TFLOP/s peak, 80% for GEMMs, 50% for attention.
Accelerator test_gpu() {
  Accelerator a;
  a.name = "test-gpu";
  a.vendor = "NVIDIA";
  a.peak_bf16 = FlopRate(1000e12);
  a.matmul_efficiency_bf16 = 0.8;
  a.attention_efficiency = 0.5;
  a.hbm_capacity = Bytes(80e9);
  a.hbm_bandwidth = ByteRate(2e12);
  return a;
}

const LinkLevel kNvlink{ByteRate(450e9), Seconds(3.4e-6)};

VideoSetup wan720p(const ModelSpec& m, const Accelerator& a, int sp) {
  VideoSetup v;
  v.model = &m;
  v.accelerator = &a;
  v.sp = sp;
  v.width = 1280;
  v.height = 720;
  v.frames = 81;
  v.steps = 50;
  return v;
}

}  // namespace

TEST_CASE("latent tokens: Wan2.1 720p x 81 frames is 21 x 45 x 80 = 75,600") {
  const ModelSpec m = wan14b();
  // frames: 1 + (81 - 1) / 4 = 21 latent frames, patch_t 1 -> 21;
  // height: 720 / (8 x 2) = 45; width: 1280 / (8 x 2) = 80.
  const LatentGrid g = latent_grid(m, 1280, 720, 81);
  CHECK(g.frames == 21);
  CHECK(g.height == 45);
  CHECK(g.width == 80);
  CHECK(g.tokens() == 75600);
  // 480p (832 x 480): 21 x 30 x 52 = 32,760 (Wan2.1's 480p size).
  CHECK(latent_grid(m, 832, 480, 81).tokens() == 32760);
}

TEST_CASE("DiT forward FLOPs: linear layers, self-attention over all tokens, cross-attention to the text") {
  const ModelSpec m = wan14b();
  const DitFlops f = dit_forward_flops(m, 75600);
  // linear = s L (8h^2 + 4h^2 + 4hf) + c L 4h^2
  //        = 75600 x 40 x (12 x 5120^2 + 4 x 5120 x 13824) + 512 x 40 x 4 x 5120^2
  //        = 75600 x 40 x 597,688,320 + 2.147e12 = 1.809557e15
  CHECK(f.linear == Approx(75600.0 * 40 * (12.0 * 5120 * 5120 + 4.0 * 5120 * 13824) + 512.0 * 40 * 4 * 5120 * 5120));
  CHECK(f.linear == Approx(1.809557e15).epsilon(1e-6));
  // self-attention = L x 4 s^2 h = 40 x 4 x 75600^2 x 5120 = 4.682023e15
  CHECK(f.self_attention == Approx(4.682023e15).epsilon(1e-6));
  // cross-attention = L x 4 s c h = 40 x 4 x 75600 x 512 x 5120 = 3.170894e13
  CHECK(f.cross_attention == Approx(3.170894e13).epsilon(1e-6));
  // Attention over the 75,600 tokens is most of the work: 4.682e15 / 6.523e15 = 0.718.
  CHECK(f.self_attention / f.total() == Approx(0.7177).epsilon(1e-3));
}

TEST_CASE("element-wise bytes per block: Wan2.1's fp32 residual, fp32 norms and float64 RoPE, op by op") {
  const ModelSpec m = wan14b();
  // self-attention 316 + MLP 48 + GELU 4 x 13824 / 5120 = 10.8 + cross-attention 80 = 454.8
  CHECK(dit_elementwise_bytes_per_element(m, false, 1) == Approx(316 + 48 + 10.8 + 80));
  // image-to-video: a second attention on the same q and its sum, 24 more
  CHECK(dit_elementwise_bytes_per_element(m, true, 1) == Approx(454.8 + 24));
  // Ulysses: no cat / fp32 output (-24 + ... ) but layout copies around 4 all-to-alls: net +8
  CHECK(dit_elementwise_bytes_per_element(m, false, 8) == Approx(454.8 + 8));
}

TEST_CASE("Wan-VAE decode FLOPs from the decoder's layer shapes: 720p x 81 frames") {
  // px = 921,600 pixels; latent frames 21, after the two temporal upsamplings 41 and 81.
  const double v8 = 14400.0 * 21, v4 = 57600.0 * 41, v2 = 230400.0 * 81, v1 = 921600.0 * 81;
  const double c384 = 2.0 * 27 * 384 * 384, c192 = 2.0 * 27 * 192 * 192, c96 = 2.0 * 27 * 96 * 96;
  const double expected =
      2.0 * 27 * 16 * 384 * v8                                                        // conv1
      + 2 * 2 * c384 * v8 + 21 * (2.0 * 14400 * 384 * 4 * 384 + 4.0 * 14400 * 14400 * 384)  // middle
      + 3 * 2 * c384 * v8                                                             // stage 0
      + 2.0 * 3 * 384 * 768 * 14400 * 20 + 2.0 * 9 * 384 * 192 * v4                  // upsample3d
      + (2.0 * 27 * 192 * 384 + c384 + 2.0 * 192 * 384) * v4 + 2 * 2 * c384 * v4      // stage 1
      + 2.0 * 3 * 384 * 768 * 57600 * 40 + 2.0 * 9 * 384 * 192 * v2                  // upsample3d
      + 3 * 2 * c192 * v2                                                             // stage 2
      + 2.0 * 9 * 192 * 96 * v1                                                       // upsample2d
      + 3 * 2 * c96 * v1 + 2.0 * 27 * 96 * 3 * v1;                                    // stage 3, head
  const VaeCost d = wan_vae_decode_cost(1280, 720, 81, 4);
  CHECK(d.flops == Approx(expected));
  // 6.39e14 FLOPs, 8.56 MFLOP per output pixel; the two full- and half-size stages are 70%.
  CHECK(d.flops == Approx(6.392e14).epsilon(1e-3));
  // The encoder (for image-to-video) is lighter: 2 residual blocks per stage.
  const VaeCost e = wan_vae_encode_cost(1280, 720, 81);
  CHECK(e.flops < 0.7 * d.flops);
  CHECK(e.flops > 0.5 * d.flops);
}

TEST_CASE("one video on one accelerator: steps x 2 CFG passes, plus text encoder and VAE decode") {
  const ModelSpec m = wan14b();
  const Accelerator a = test_gpu();
  const VideoTime t = video_generation_time(wan720p(m, a, 1), kNvlink);
  // forward = 1.809557e15 / (1000e12 x 0.8) + (4.682023e15 + 3.170894e13) / (1000e12 x 0.5)
  //         = 2.261946 + 9.427464 = 11.689410 s
  CHECK(t.forward_compute.value() == Approx(1.809557e15 / 800e12 + 4.7137319e15 / 500e12).epsilon(1e-6));
  CHECK(t.forward_comm.value() == 0);  // sp = 1: no all-to-all
  // element-wise: 40 blocks x 75,600 x 5120 x 454.8 bytes / (2e12 x 0.9) = 3.911893 s, plus the
  // RoPE tables: 40 x 2 x 75,600 tokens x 64 x 16 bytes = 6.193 GB, 0.003441 s, plus the
  // autocast weight casts: 40 x 351,272,960 parameters x 6 bytes = 84.305 GB, 0.046836 s
  CHECK(dit_rope_table_bytes_per_forward(m, 75600, 1) == Approx(40.0 * 2 * 75600 * 64 * 16));
  CHECK(t.forward_weight_cast.value() == Approx(40.0 * 351272960 * 6 / 1.8e12));
  CHECK(t.forward_weight_cast.value() == Approx(0.046836).epsilon(1e-4));
  CHECK(t.forward_elementwise.value() ==
        Approx((40.0 * 75600 * 5120 * 454.8 + 40.0 * 2 * 75600 * 64 * 16 + 40.0 * 351272960 * 6) / 1.8e12));
  CHECK(t.passes_per_step == 2);
  // denoise = 50 steps x 2 passes x (11.689410 + 3.911893)
  CHECK(t.denoise.value() == Approx(100 * (t.forward_compute.value() + t.forward_elementwise.value())));
  // text encoder: 2 x 4.6305e9 x 512 tokens x 2 prompts / 800e12 = 0.011854 s
  CHECK(t.text_encoder.value() == Approx(2.0 * kTextEncoderParams * 512 * 2 / 800e12));
  CHECK(kTextEncoderParams == Approx(4.6305e9).epsilon(1e-4));
  // VAE decode: its FLOPs at 1000e12 x 0.5 (TF32) x 0.378, its bytes at 2e12 x 0.9
  const VaeCost d = wan_vae_decode_cost(1280, 720, 81, 4);
  CHECK(t.vae_decode.value() == Approx(d.flops / (1000e12 * 0.5 * 0.378) + d.bytes / 1.8e12));
  CHECK(t.vae_encode.value() == 0);  // text-to-video
  CHECK(t.total.value() == Approx(t.denoise.value() + t.text_encoder.value() + t.vae_decode.value()));

  // Without CFG, one pass per step: the denoising halves, the text encoder too (one prompt).
  VideoSetup no_cfg = wan720p(m, a, 1);
  no_cfg.cfg = false;
  const VideoTime u = video_generation_time(no_cfg, kNvlink);
  CHECK(u.denoise.value() == Approx(t.denoise.value() / 2));
  CHECK(u.text_encoder.value() == Approx(t.text_encoder.value() / 2));

  // Image-to-video adds the VAE encode, 24 bytes per element per block, the 257 image
  // tokens in the cross-attention and the k_img, v_img weights (cast every pass too).
  VideoSetup i2v = wan720p(m, a, 1);
  i2v.image_to_video = true;
  const VideoTime w = video_generation_time(i2v, kNvlink);
  const VaeCost e = wan_vae_encode_cost(1280, 720, 81);
  CHECK(w.vae_encode.value() == Approx(e.flops / (1000e12 * 0.5 * 0.378) + e.bytes / 1.8e12));
  // parameters: 40 x (351,272,960 + 2 x 5120^2) = 40 x 403,701,760 = 16.148 G
  CHECK(w.forward_weight_cast.value() == Approx(40.0 * 403701760 * 6 / 1.8e12));
  CHECK(w.forward_elementwise.value() ==
        Approx((40.0 * 75600 * 5120 * (454.8 + 24) + 40.0 * 2 * 75600 * 64 * 16 + 40.0 * 403701760 * 6) / 1.8e12));
  // compute: linear + (769 x 40 x 4 x 5120^2 - 512 x ...) more; cross-attention over 769 tokens
  const DitFlops fi = dit_forward_flops(m, 75600, kClipImageTokens);
  CHECK(w.forward_compute.value() == Approx(fi.linear / 800e12 + (fi.self_attention + fi.cross_attention) / 500e12));
  CHECK(w.forward_compute.value() > t.forward_compute.value());
}

TEST_CASE("image-to-video: the 257 CLIP image tokens in the cross-attention, as Wan2.1's I2V model reads them") {
  const ModelSpec m = wan14b();
  CHECK(kClipImageTokens == (224 / 14) * (224 / 14) + 1);  // ViT-H/14 at 224 px: 16 x 16 patches + class token
  const DitFlops t2v = dit_forward_flops(m, 75600);
  const DitFlops i2v = dit_forward_flops(m, 75600, 257);
  // k_img, v_img on 257 tokens: 257 x 40 x 4 x 5120^2 = 1.077936e12 FLOPs more in the linear layers
  CHECK(i2v.linear - t2v.linear == Approx(257.0 * 40 * 4 * 5120 * 5120));
  CHECK(i2v.linear - t2v.linear == Approx(1.077936e12).epsilon(1e-6));
  // attention over them: 40 x 4 x 75,600 x 257 x 5120 = 1.591617e13 FLOPs more
  CHECK(i2v.cross_attention - t2v.cross_attention == Approx(40.0 * 4 * 75600 * 257 * 5120));
  CHECK(i2v.self_attention == t2v.self_attention);
  // The same FLOPs as a DiT whose text context is 512 + 257 = 769 tokens (how validate ran before).
  ModelSpec wide = m;
  wide.text_len = 769;
  const DitFlops w = dit_forward_flops(wide, 75600);
  CHECK(i2v.linear == Approx(w.linear));
  CHECK(i2v.cross_attention == Approx(w.cross_attention));
  // A DiT without text cross-attention (text_len 0) reading only the image: one cross-attention
  // (q, k, v, o and 80 element-wise bytes), not the second attention's 24.
  ModelSpec no_text = m;
  no_text.text_len = 0;
  const DitFlops img_only = dit_forward_flops(no_text, 75600, 257);
  CHECK(img_only.linear == Approx(75600.0 * 40 * (12.0 * 5120 * 5120 + 4.0 * 5120 * 13824) + 257.0 * 40 * 4 * 5120 * 5120));
  CHECK(dit_elementwise_bytes_per_element(no_text, false, 1) == Approx(316 + 48 + 10.8));
  CHECK(dit_elementwise_bytes_per_element(no_text, true, 1) == Approx(316 + 48 + 10.8 + 80));
  CHECK(dit_elementwise_bytes_per_element(m, true, 1) == Approx(316 + 48 + 10.8 + 80 + 24));
  // Parameters: 40 x (4 + 4 + 2) x 5120^2 + 40 x 2 x 5120 x 13824 with the image, 4 h^2 fewer without text.
  CHECK(dit_parameters(m, true) == Approx(40.0 * (10.0 * 5120 * 5120 + 2.0 * 5120 * 13824)));
  CHECK(dit_parameters(no_text, true) == Approx(dit_parameters(m, false)));
  CHECK(dit_parameters(no_text, false) == Approx(40.0 * (4.0 * 5120 * 5120 + 2.0 * 5120 * 13824)));
}

TEST_CASE("Ulysses sequence parallelism: compute / sp plus 4 all-to-alls per layer; faster, never sp times") {
  const ModelSpec m = wan14b();
  const Accelerator a = test_gpu();
  const VideoTime one = video_generation_time(wan720p(m, a, 1), kNvlink);
  const VideoTime two = video_generation_time(wan720p(m, a, 2), kNvlink);
  CHECK(two.forward_compute.value() == Approx(one.forward_compute.value() / 2));
  // all-to-all of s/sp x h x 2 bytes = 37,800 x 5120 x 2 = 387.072 MB per rank:
  // (2-1)/2 x 387.072e6 / (450e9 x 370/450) + 1 x 3.4e-6 = 5.230703e-4 + 3.4e-6 = 5.264703e-4 s;
  // 4 per layer x 40 layers = 160 per forward: 0.08423524 s.
  CHECK(two.forward_comm.value() == Approx(160 * (0.5 * 387.072e6 / 370e9 + 3.4e-6)));
  // Element-wise passes divide with the tokens, plus the Ulysses layout copies (+8 bytes); the
  // RoPE tables do not divide, and pad_freqs triples them.
  // The weight casts do not divide either: every rank holds and casts all the fp32 weights.
  CHECK(two.forward_weight_cast.value() == Approx(one.forward_weight_cast.value()));
  CHECK(two.forward_elementwise.value() ==
        Approx((40.0 * 37800 * 5120 * (454.8 + 8) + 3 * 40.0 * 2 * 75600 * 64 * 16 + 40.0 * 351272960 * 6) / 1.8e12));
  // The text encoder and the VAE decode do not split: speed-up below 2.
  const double speedup = one.total.value() / two.total.value();
  CHECK(speedup > 1.9);
  CHECK(speedup < 2.0);
  const VideoTime eight = video_generation_time(wan720p(m, a, 8), kNvlink);
  CHECK(one.total.value() / eight.total.value() < 8.0);
}

TEST_CASE("replicated DiT weights: Wan2.1-14B is 56.2 GB in fp32 (as Wan2.1 loads them); a 48 GB card cannot hold them") {
  const ModelSpec m = wan14b();
  // 40 x (4h^2 self + 4h^2 cross + 2hf GELU MLP) x 4 bytes
  // = 40 x (8 x 26,214,400 + 2 x 5120 x 13824) x 4 = 40 x 351,272,960 x 4 = 56.2037 GB
  CHECK(video_weights_per_accelerator(m).value() == Approx(56.2036736e9));
  // I2V-14B: + 40 x 2 x 5120^2 (k_img, v_img) x 4 = 64.5923 GB
  CHECK(video_weights_per_accelerator(m, true).value() == Approx(40.0 * 403701760 * 4));
  Accelerator a = test_gpu();
  CHECK(video_fit_problem(wan720p(m, a, 1)).empty());  // 56.2 + 2.1 < 80
  a.hbm_capacity = Bytes(48e9);
  CHECK(video_fit_problem(wan720p(m, a, 1))
            .rfind("needs 56.2 GB of fp32 DiT weights per accelerator on test-gpu", 0) == 0);
}

TEST_CASE("accelerators: the video model (Wan2.1's CUDA code, TF32 VAE) runs on NVIDIA only") {
  const ModelSpec m = wan14b();
  Accelerator a = test_gpu();
  CHECK(video_accelerator_problem(a).empty());
  for (const char* vendor : {"Google", "AWS", ""}) {
    a.vendor = vendor;
    const std::string why = video_accelerator_problem(a);
    CHECK(why.rfind("cannot run on test-gpu (vendor ", 0) == 0);
    CHECK(video_fit_problem(wan720p(m, a, 1)) == why);  // refused before memory is looked at
  }
}
