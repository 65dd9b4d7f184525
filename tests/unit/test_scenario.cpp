// The scenario loader: valid files load, every bad input gets its exact error line.
#include <catch2/catch.hpp>

#include "scenario/scenario_loader.hpp"

using namespace fleetsim;

namespace {

// Line numbers below count from "name:" as line 1.
const std::string kBase =
    "name: unit\n"                                   // 1
    "seed: 3\n"                                      // 2
    "horizon: 2h\n"                                  // 3
    "cluster:\n"                                     // 4
    "  design:\n"                                    // 5
    "    pods:\n"                                    // 6
    "      - name: hopper\n"                         // 7
    "        count: 2\n"                             // 8
    "        nodes: 4\n"                             // 9
    "        node: dgx-h100\n"                       // 10
    "workloads:\n"                                   // 11
    "  - name: small\n"                              // 12
    "    kind: pretrain\n"                           // 13
    "    model: llama3-8b\n"                         // 14
    "    gpus: 64\n"                                 // 15
    "    parallelism: {tp: 8, pp: 1, dp: 8}\n"       // 16
    "    seq_len: 8192\n"                            // 17
    "    global_batch: 512\n";                       // 18

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// The error lines a scenario text produces (empty if it loads).
std::vector<std::string> errors(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    load_scenario_text(text, "s.yaml", overrides, Catalog::builtin());
  } catch (const InputError& e) {
    std::vector<std::string> lines;
    for (const auto& p : e.problems()) lines.push_back(p.to_string());
    return lines;
  }
  return {};
}

}  // namespace

TEST_CASE("a valid scenario loads with its defaults") {
  const Scenario s = load_scenario_text(kBase, "s.yaml", {}, Catalog::builtin());
  CHECK(s.name == "unit");
  CHECK(s.seed == 3);
  CHECK(s.horizon.value() == 7200);
  REQUIRE(s.cluster.design);
  CHECK(s.cluster.design->pods.at(0).count == 2);
  CHECK(s.cluster.design->pods.at(0).node->name == "dgx-h100");
  CHECK(s.cluster.facility.pue == 1.0);
  REQUIRE(s.workloads.size() == 1);
  const WorkloadSpec& w = s.workloads[0];
  CHECK(w.model.layers == 32);
  CHECK(w.parallelism.tp == 8);
  CHECK(w.parallelism.cp == 1);
  CHECK(w.micro_batch == 1);
  CHECK(w.precision == Precision::BF16);
  CHECK(w.recompute == RecomputeMode::None);
  CHECK(w.submit.value() == 0);
}

TEST_CASE("--set overrides keys, including inside lists") {
  const Scenario s = load_scenario_text(
      kBase, "s.yaml", {"workloads.0.parallelism.dp=4", "workloads.0.gpus=32", "cluster.facility.pue=1.2"},
      Catalog::builtin());
  CHECK(s.workloads[0].parallelism.dp == 4);
  CHECK(s.workloads[0].gpus == 32);
  CHECK(s.cluster.facility.pue == 1.2);
  CHECK(s.resolved_yaml.find("pue: 1.2") != std::string::npos);
}

TEST_CASE("bad input: exact error lines") {
  CHECK(errors(replace(kBase, "horizon: 2h\n", "horizon: 2h\nhorizn: 3h\n")) ==
        std::vector<std::string>{"s.yaml:4:1: horizn: unknown key 'horizn'; did you mean 'horizon'?"});
  CHECK(errors(replace(kBase, "horizon: 2h", "horizon: 7200")) ==
        std::vector<std::string>{"s.yaml:3:10: horizon: expected a duration with a unit (for example 30min), got "
                                 "the bare number 7200; append the unit, for example 7200s"});
  CHECK(errors(replace(kBase, "dp: 8", "dp: 3")) ==
        (std::vector<std::string>{"s.yaml:16:18: workloads.0.parallelism: expected tp x pp x dp x cp = gpus (64), "
                                  "got 8 x 1 x 3 x 1 = 24",
                                  "s.yaml:18:19: workloads.0.global_batch: expected a multiple of dp x micro_batch "
                                  "(3 x 1), got 512"}));
  CHECK(errors(replace(kBase, "node: dgx-h100", "node: dgx-h1000")) ==
        std::vector<std::string>{"s.yaml:10:15: cluster.design.pods.0.node: expected a node type from the "
                                 "catalog, got 'dgx-h1000'; did you mean 'dgx-h100'?"});
  CHECK(errors(replace(kBase, "gpus: 64", "gpus: 0")) ==
        std::vector<std::string>{"s.yaml:15:11: workloads.0.gpus: expected an integer of at least 1, got 0"});
  CHECK(errors(replace(kBase, "count: 2", "count: -1")) ==
        std::vector<std::string>{"s.yaml:8:16: cluster.design.pods.0.count: expected an integer of at least 1, got -1"});
  CHECK(errors(replace(kBase, "seq_len: 8192", "seq_len: long")) ==
        std::vector<std::string>{"s.yaml:17:14: workloads.0.seq_len: expected an integer of at least 1, got 'long'"});
}

TEST_CASE("pretrain: `zero` names the ZeRO stage; distributed_optimizer is stage 1 or 0") {
  auto stage = [](const std::string& keys) {
    return load_scenario_text(kBase + keys, "s.yaml", {}, Catalog::builtin()).workloads.at(0).training.zero_stage;
  };
  CHECK(stage("") == 1);
  CHECK(stage("    distributed_optimizer: false\n") == 0);
  CHECK(stage("    zero: 3\n") == 3);
  CHECK(stage("    distributed_optimizer: true\n    zero: 2\n") == 2);
  CHECK(load_scenario_text(kBase + "    rank_order: tp-cp-pp-dp\n", "s.yaml", {}, Catalog::builtin())
            .workloads.at(0)
            .training.rank_order == RankOrder::TpCpPpDp);
  CHECK(errors(kBase + "    zero: 4\n") ==
        std::vector<std::string>{"s.yaml:19:11: workloads.0.zero: expected a ZeRO stage 0, 1, 2 or 3, got 4"});
  CHECK(errors(kBase + "    distributed_optimizer: false\n    zero: 2\n") ==
        std::vector<std::string>{"s.yaml:20:11: workloads.0.zero: expected a stage that agrees with "
                                 "distributed_optimizer: false (zero: 0), got 2"});
}

TEST_CASE("pretrain: Megatron-Core's gradient, weight and optimizer precision keys") {
  auto training = [](const std::string& keys) {
    return load_scenario_text(kBase + keys, "s.yaml", {}, Catalog::builtin()).workloads.at(0).training;
  };
  const TrainingOptions defaults = training("");
  CHECK(defaults.grad_reduce_in_fp32);
  CHECK_FALSE(defaults.fp8_param_gather);
  CHECK_FALSE(defaults.optimizer.precision_aware);
  CHECK(defaults.optimizer.exp_avg == StateDtype::FP32);
  CHECK_FALSE(training("    grad_reduce_in_fp32: false\n").grad_reduce_in_fp32);
  // A bf16 main gradient is a bf16 gradient buffer unless the workload says otherwise.
  const TrainingOptions bf16 =
      training("    optimizer: {use_precision_aware_optimizer: true, main_grads_dtype: bf16, exp_avg_dtype: fp8,\n"
               "                exp_avg_sq_dtype: bf16, main_params_dtype: fp16, store_param_remainders: false}\n");
  CHECK_FALSE(bf16.grad_reduce_in_fp32);
  CHECK(bf16.optimizer.precision_aware);
  CHECK(bf16.optimizer.main_grads == StateDtype::BF16);
  CHECK(bf16.optimizer.main_params == StateDtype::FP16);
  CHECK(bf16.optimizer.exp_avg == StateDtype::FP8);
  CHECK(bf16.optimizer.exp_avg_sq == StateDtype::BF16);
  CHECK_FALSE(bf16.optimizer.store_param_remainders);
  CHECK(training("    precision: fp8\n    fp8_param_gather: true\n").fp8_param_gather);

  CHECK(errors(kBase + "    optimizer: {exp_avg_dtype: bf16}\n") ==
        std::vector<std::string>{"s.yaml:19:32: workloads.0.optimizer.exp_avg_dtype: expected fp32 without "
                                 "use_precision_aware_optimizer: true (Megatron-Core keeps optimizer state in fp32 "
                                 "otherwise), got bf16"});
  CHECK(errors(kBase + "    optimizer:\n      exp_avg_dtype: fp4\n") ==
        std::vector<std::string>{"s.yaml:20:22: workloads.0.optimizer.exp_avg_dtype: expected one of fp32 fp16 bf16 "
                                 "fp8, got 'fp4'; did you mean 'fp8'?"});
  CHECK(errors(kBase + "    fp8_param_gather: true\n") ==
        std::vector<std::string>{"s.yaml:19:23: workloads.0.fp8_param_gather: expected precision: fp8 (FP8 primary "
                                 "weights need an FP8 recipe), got bf16"});
  CHECK(errors(kBase + "    precision: fp8\n    zero: 0\n    fp8_param_gather: true\n") ==
        std::vector<std::string>{"s.yaml:21:23: workloads.0.fp8_param_gather: expected zero >= 1 (Megatron-LM "
                                 "supports --fp8-param-gather only with a distributed optimizer or FSDP), got zero: 0"});
  CHECK(errors(kBase + "    zero: 3\n    optimizer: {use_precision_aware_optimizer: true}\n") ==
        std::vector<std::string>{"s.yaml:20:48: workloads.0.optimizer.use_precision_aware_optimizer: expected zero: 1 "
                                 "(Megatron-Core's precision-aware optimizer runs only inside its distributed "
                                 "optimizer; Megatron-FSDP turns it off), got zero: 3"});
  CHECK(errors(kBase + "    grad_reduce_in_fp32: true\n"
                       "    optimizer: {use_precision_aware_optimizer: true, main_grads_dtype: bf16}\n") ==
        std::vector<std::string>{"s.yaml:19:26: workloads.0.grad_reduce_in_fp32: expected false (or no key) with "
                                 "optimizer.main_grads_dtype: bf16, got true"});
  CHECK(errors(kBase + "    precision: fp8\n    fp8_recipe: tensorwise\n    fp8_param_gather: true\n"
                       "    optimizer: {use_precision_aware_optimizer: true, main_params_dtype: fp16}\n") ==
        std::vector<std::string>{"s.yaml:21:23: workloads.0.fp8_param_gather: expected false with "
                                 "optimizer.main_params_dtype other than fp32 under fp8_recipe other than delayed "
                                 "(Megatron-Core's precision-aware optimizer derives its fp16 main parameters from the "
                                 "model's parameter shards, which FP8 primary weights do not keep under that recipe), "
                                 "got true"});
  // One error per mistake: a bad precision or a bad use_precision_aware_optimizer does not
  // also fail the keys that depend on it.
  CHECK(errors(kBase + "    precision: fp4\n    fp8_param_gather: true\n").size() == 1);
  CHECK(errors(kBase + "    optimizer: {use_precision_aware_optimizer: maybe, exp_avg_dtype: bf16}\n").size() == 1);
  CHECK(errors(kBase + "    optimizer: {adam: true}\n") ==
        std::vector<std::string>{"s.yaml:19:17: workloads.0.optimizer.adam: unknown key 'adam'; expected one of: "
                                 "use_precision_aware_optimizer main_grads_dtype main_params_dtype exp_avg_dtype "
                                 "exp_avg_sq_dtype store_param_remainders"});
}

TEST_CASE("pretrain: `fp8_recipe` names Megatron-LM's --fp8-recipe (default delayed)") {
  auto recipe = [](const std::string& keys) {
    return load_scenario_text(kBase + keys, "s.yaml", {}, Catalog::builtin()).workloads.at(0).training.fp8_recipe;
  };
  CHECK(recipe("    precision: fp8\n") == Fp8Recipe::Delayed);
  CHECK(recipe("    precision: fp8\n    fp8_recipe: tensorwise\n") == Fp8Recipe::Tensorwise);
  CHECK(recipe("    precision: fp8\n    fp8_recipe: blockwise\n") == Fp8Recipe::Blockwise);
  CHECK(errors(kBase + "    fp8_recipe: tensorwise\n") ==
        std::vector<std::string>{"s.yaml:19:17: workloads.0.fp8_recipe: expected precision: fp8 (an FP8 scaling "
                                 "recipe needs FP8 GEMMs), got bf16"});
  CHECK(errors(kBase + "    precision: fp8\n    fp8_recipe: current\n") ==
        std::vector<std::string>{"s.yaml:20:17: workloads.0.fp8_recipe: expected one of delayed tensorwise "
                                 "blockwise mxfp8, got 'current'"});
  // Said at the key, not as a memory problem: H100 has no MXFP8 tensor cores.
  const std::vector<std::string> mx = errors(kBase + "    precision: fp8\n    fp8_recipe: mxfp8\n");
  REQUIRE(mx.size() == 1);
  CHECK(mx[0].find("workloads.0.fp8_recipe: expected an NVIDIA GPU with MXFP8 tensor cores (Blackwell: B200, "
                   "GB200), got H100") != std::string::npos);
}

TEST_CASE("pretrain: `zero_group` shards the ZeRO stage within groups of DP ranks") {
  auto group = [](const std::string& keys) {
    return load_scenario_text(kBase + keys, "s.yaml", {}, Catalog::builtin()).workloads.at(0).training.zero_group;
  };
  CHECK(group("") == 0);  // all of dp
  CHECK(group("    zero_group: 4\n") == 4);
  CHECK(group("    zero_group: 8\n") == 8);
  CHECK(errors(kBase + "    zero_group: 3\n") ==
        std::vector<std::string>{"s.yaml:19:17: workloads.0.zero_group: expected a number of DP ranks dividing dp "
                                 "(8), got 3"});
  CHECK(errors(kBase + "    zero_group: 16\n") ==
        std::vector<std::string>{"s.yaml:19:17: workloads.0.zero_group: expected a number of DP ranks dividing dp "
                                 "(8), got 16"});
  CHECK(errors(kBase + "    zero_group: auto\n") ==
        std::vector<std::string>{"s.yaml:19:17: workloads.0.zero_group: expected a number of DP ranks dividing dp "
                                 "(8); 'auto' needs parallelism: auto, got auto"});
  CHECK(errors(kBase + "    zero: 0\n    zero_group: 4\n") ==
        std::vector<std::string>{"s.yaml:20:17: workloads.0.zero_group: expected zero >= 1 with zero_group "
                                 "(ZeRO-0 shards nothing), got zero: 0"});
  CHECK(errors(kBase + "    zero_group: 0\n") ==
        std::vector<std::string>{"s.yaml:19:17: workloads.0.zero_group: expected an integer of at least 1, got 0"});
}

TEST_CASE("bad input: malformed YAML names the line") {
  const auto lines = errors(replace(kBase, "kind: pretrain", "kind: [pretrain"));
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("s.yaml:", 0) == 0);
  CHECK(lines[0].find("malformed YAML") != std::string::npos);
}

TEST_CASE("bad input: more GPUs than the cluster, and models that do not fit") {
  // 2 pods x 4 nodes x 8 = 64 H100.
  CHECK(errors(replace(replace(kBase, "gpus: 64", "gpus: 128"), "dp: 8", "dp: 16")) ==
        std::vector<std::string>{"s.yaml:15:11: workloads.0.gpus: expected at most the cluster's 64 accelerators "
                                 "(64 in all), got 128"});
  const auto lines =
      errors(replace(replace(kBase, "model: llama3-8b", "model: llama3-405b"), "tp: 8, pp: 1, dp: 8", "tp: 1, pp: 1, dp: 64"));
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("s.yaml:16:18: workloads.0.parallelism: expected a configuration that fits in accelerator "
                       "memory, but it needs ", 0) == 0);
  CHECK(lines[0].find("H100-SXM") != std::string::npos);
}

namespace {

// A video-generation service: 16 A100 as 2 replicas of sp 8; line numbers count from
// "name:" as line 1.
const std::string kVideo =
    "name: unit\n"                                                           // 1
    "seed: 3\n"                                                              // 2
    "horizon: 2h\n"                                                          // 3
    "cluster:\n"                                                             // 4
    "  design:\n"                                                            // 5
    "    pods:\n"                                                            // 6
    "      - name: ampere\n"                                                 // 7
    "        count: 1\n"                                                     // 8
    "        nodes: 2\n"                                                     // 9
    "        node: dgx-a100\n"                                               // 10
    "workloads:\n"                                                           // 11
    "  - name: clips\n"                                                      // 12
    "    kind: video-generation\n"                                           // 13
    "    model: wan2.1-14b\n"                                                // 14
    "    gpus: 16\n"                                                         // 15
    "    parallelism: {sp: 8}\n"                                             // 16
    "    video: {width: 1280, height: 720, frames: 81, steps: 50}\n"         // 17
    "    requests: {mode: offline, count: 4}\n";                             // 18

}  // namespace

TEST_CASE("a video-generation workload loads with SCENARIO.md's keys") {
  const Scenario s = load_scenario_text(kVideo, "s.yaml", {}, Catalog::builtin());
  REQUIRE(s.workloads.size() == 1);
  const WorkloadSpec& w = s.workloads[0];
  CHECK(w.is_video());
  CHECK(!w.is_serving());
  CHECK(w.model.kind == "dit");
  CHECK(w.sp() == 8);
  CHECK(w.replicas() == 2);  // gpus / sp
  CHECK(w.parallelism.product() == 16);
  CHECK(w.video.width == 1280);
  CHECK(w.video.height == 720);
  CHECK(w.video.frames == 81);
  CHECK(w.video.steps == 50);
  CHECK(w.video.cfg);  // default: classifier-free guidance on
  CHECK(w.requests.mode == ArrivalMode::Offline);
  CHECK(*w.requests.count == 4);
  const Scenario off = load_scenario_text(replace(kVideo, "steps: 50}", "steps: 50, cfg: false}"), "s.yaml", {},
                                          Catalog::builtin());
  CHECK(!off.workloads[0].video.cfg);
  CHECK(!w.video.image_to_video);  // default: text-to-video
  const Scenario i2v = load_scenario_text(replace(kVideo, "steps: 50}", "steps: 50, image_to_video: true}"),
                                          "s.yaml", {}, Catalog::builtin());
  CHECK(i2v.workloads[0].video.image_to_video);
  // SCENARIO.md's example: 64 GPUs, sp 8, 512 offline requests.
  const Scenario big = load_scenario_text(
      replace(replace(replace(kVideo, "nodes: 2", "nodes: 8"), "gpus: 16", "gpus: 64"), "count: 4", "count: 512"),
      "s.yaml", {}, Catalog::builtin());
  CHECK(big.workloads[0].replicas() == 8);
}

TEST_CASE("bad input: video-generation keys get their exact error lines") {
  using V = std::vector<std::string>;
  CHECK(errors(replace(kVideo, "sp: 8", "sp: 16")) ==
        V{"s.yaml:16:18: workloads.0.parallelism: expected sp to divide the model's attention heads (40: Ulysses "
          "sequence parallelism splits them), got sp = 16"});
  CHECK(errors(replace(kVideo, "sp: 8", "sp: 3")) ==
        V{"s.yaml:16:18: workloads.0.parallelism: expected sp to divide gpus (16), got sp = 3",
          "s.yaml:16:18: workloads.0.parallelism: expected sp to divide the model's attention heads (40: Ulysses "
          "sequence parallelism splits them), got sp = 3"});
  CHECK(errors(replace(kVideo, "width: 1280", "width: 1000")) ==
        V{"s.yaml:17:20: workloads.0.video.width: expected a multiple of 16 (vae_stride_s 8 x patch_s 2), got 1000"});
  CHECK(errors(replace(kVideo, "frames: 81", "frames: 80")) ==
        V{"s.yaml:17:47: workloads.0.video.frames: expected 1 + a multiple of vae_stride_t (4) frames giving a "
          "multiple of patch_t (1) latent frames, got 80"});
  CHECK(errors(replace(kVideo, "model: wan2.1-14b", "model: llama3-8b")) ==
        V{"s.yaml:14:12: workloads.0.model: expected a diffusion transformer (kind dit) for video-generation, got a "
          "llm"});
  CHECK(errors(replace(kVideo, "steps: 50", "steps: 0")) ==
        V{"s.yaml:17:58: workloads.0.video.steps: expected an integer of at least 1, got 0"});
  CHECK(errors(replace(kVideo, "sp: 8", "tp: 8")) ==
        V{"s.yaml:16:19: workloads.0.parallelism.tp: unknown key 'tp'; did you mean 'sp'?"});
  CHECK(errors(replace(kVideo, "steps: 50}", "steps: 50, cfg: maybe}")) ==
        V{"s.yaml:17:67: workloads.0.video.cfg: expected true or false, got 'maybe'"});
  CHECK(errors(replace(kVideo, "steps: 50}", "steps: 50, image_to_video: 1}")) ==
        V{"s.yaml:17:78: workloads.0.video.image_to_video: expected true or false, got '1'"});
  CHECK(errors(replace(kVideo, "mode: offline, count: 4", "mode: offline")) ==
        V{"s.yaml:18:15: workloads.0.requests.count: expected an integer of at least 1, got nothing (the key is "
          "required)"});
  CHECK(errors(replace(kVideo, "count: 4}", "count: 4, input_tokens: 3}")) ==
        V{"s.yaml:18:41: workloads.0.requests.input_tokens: unknown key 'input_tokens'; expected one of: mode count "
          "rate diurnal"});
  // A key of another serving kind is refused, not ignored.
  CHECK(errors(replace(kVideo, "    gpus: 16\n", "    gpus: 16\n    max_batch: 4\n")) ==
        V{"s.yaml:16:5: workloads.0.max_batch: unknown key 'max_batch'; expected one of: name kind model gpus "
          "parallelism video requests submit accelerator tenant priority"});
  CHECK(errors(replace(kVideo, "gpus: 16", "gpus: 32")) ==
        V{"s.yaml:15:11: workloads.0.gpus: expected at most the cluster's 16 accelerators (16 in all), got 32"});
  // An inline DiT ten times Wan2.1-14B's depth cannot hold its replicated weights.
  const std::string deep =
      "model: {kind: dit, layers: 400, hidden: 5120, ffn_hidden: 13824, heads: 40, mlp: gelu, vae_stride_t: 4, "
      "vae_stride_s: 8, patch_t: 1, patch_s: 2, text_len: 512}";
  CHECK(errors(replace(kVideo, "model: wan2.1-14b", deep)) ==
        V{"s.yaml:16:18: workloads.0.parallelism: expected a replica that fits in accelerator memory, but it needs "
          "562.0 GB of fp32 DiT weights per accelerator on A100-SXM-80G (plus a 2.1 GB runtime reserve), which has "
          "85.9 GB (sequence parallelism replicates the weights)"});
  // Another VAE compression: the VAE is timed from the Wan-VAE's 4 x 8 x 8 layers.
  const std::string stride8 =
      "model: {kind: dit, layers: 40, hidden: 5120, ffn_hidden: 13824, heads: 40, mlp: gelu, vae_stride_t: 8, "
      "vae_stride_s: 8, patch_t: 1, patch_s: 2, text_len: 512}";
  CHECK(errors(replace(kVideo, "model: wan2.1-14b", stride8)) ==
        V{"s.yaml:14:105: workloads.0.model.vae_stride_t: expected 4 (fleetsim times the VAE from the Wan-VAE's "
          "layers: 4x in time, 8x in space), got 8"});
  const std::string no_patch =
      "model: {kind: dit, layers: 40, hidden: 5120, ffn_hidden: 13824, heads: 40, mlp: gelu, vae_stride_t: 4, "
      "vae_stride_s: 8, patch_t: 1, text_len: 512}";
  CHECK(errors(replace(kVideo, "model: wan2.1-14b", no_patch)) ==
        V{"s.yaml:14:12: workloads.0.model.patch_s: expected an integer of at least 1, got nothing (the key is "
          "required)"});
  // The video model (Wan2.1's CUDA code, a TF32 VAE at an NVIDIA-measured rate) has no basis on
  // a TPU: refused at the accelerator key, or at the replica when the cluster offers only TPUs.
  const std::string why =
      "cannot run on TPU-v5p (vendor Google): the video model is Wan2.1's CUDA reference code (TF32 VAE "
      "convolutions at an NVIDIA-measured rate, eager-PyTorch element-wise passes), which has no source on other "
      "accelerators; use an NVIDIA one";
  const std::string tpu = replace(replace(kVideo, "node: dgx-a100", "node: tpu-v5p-host"), "gpus: 16", "gpus: 8");
  CHECK(errors(tpu) ==
        V{"s.yaml:16:18: workloads.0.parallelism: expected a replica that fits in accelerator memory, but it " + why});
  CHECK(errors(replace(tpu, "    gpus: 8\n", "    gpus: 8\n    accelerator: TPU-v5p\n")) ==
        V{"s.yaml:16:18: workloads.0.accelerator: expected an NVIDIA accelerator for video-generation; a replica " +
          why});
}

namespace {

// An inference service on the same 64 H100; line numbers count from "name:" as line 1.
const std::string kServing =
    "name: unit\n"                                                      // 1
    "seed: 3\n"                                                         // 2
    "horizon: 2h\n"                                                     // 3
    "cluster:\n"                                                        // 4
    "  design:\n"                                                       // 5
    "    pods:\n"                                                       // 6
    "      - {name: hopper, count: 2, nodes: 4, node: dgx-h100}\n"      // 7
    "workloads:\n"                                                      // 8
    "  - name: chat\n"                                                  // 9
    "    kind: inference\n"                                             // 10
    "    model: llama2-70b\n"                                           // 11
    "    gpus: 16\n"                                                    // 12
    "    parallelism: {tp: 8}\n"                                        // 13
    "    precision: fp8\n"                                              // 14
    "    requests:\n"                                                   // 15
    "      mode: offline\n"                                             // 16
    "      count: 100\n"                                                // 17
    "      input_tokens: 1024\n"                                        // 18
    "      output_tokens: 256\n"                                        // 19
    "    max_batch: 64\n";                                              // 20

}  // namespace

TEST_CASE("an inference workload loads with SCENARIO.md's keys") {
  const Scenario s = load_scenario_text(kServing, "s.yaml", {}, Catalog::builtin());
  REQUIRE(s.workloads.size() == 1);
  const WorkloadSpec& w = s.workloads[0];
  CHECK(w.is_inference());
  CHECK(w.parallelism.tp == 8);
  CHECK(w.parallelism.pp == 1);
  CHECK(w.replicas() == 2);  // 16 / (8 x 1)
  CHECK(w.parallelism.product() == 16);
  CHECK(w.precision == Precision::FP8);
  CHECK(w.requests.mode == ArrivalMode::Offline);
  CHECK(w.requests.count == 100);
  CHECK(w.requests.input_tokens == 1024);
  CHECK(w.requests.output_tokens == 256);
  CHECK(w.max_batch == 64);

  // Poisson: a rate with its unit, count optional.
  const Scenario p = load_scenario_text(
      replace(replace(kServing, "mode: offline", "mode: poisson"), "count: 100", "rate: 50/s"), "s.yaml", {},
      Catalog::builtin());
  CHECK(p.workloads[0].requests.mode == ArrivalMode::Poisson);
  CHECK(p.workloads[0].requests.rate.value() == 50);
  CHECK(!p.workloads[0].requests.count);
}

TEST_CASE("bad input: inference keys get their exact error lines") {
  CHECK(errors(replace(kServing, "tp: 8", "tp: 3")) ==
        (std::vector<std::string>{
            "s.yaml:13:18: workloads.0.parallelism: expected tp x pp to divide gpus (16), got 3 x 1 = 3",
            "s.yaml:13:18: workloads.0.parallelism: expected tp to divide the model's attention heads (64), got tp = 3"}));
  CHECK(errors(replace(kServing, "count: 100", "count: 0")) ==
        std::vector<std::string>{"s.yaml:17:14: workloads.0.requests.count: expected an integer of at least 1, got 0"});
  CHECK(errors(replace(kServing, "count: 100", "rate: 50/s")) ==
        (std::vector<std::string>{
            "s.yaml:16:7: workloads.0.requests.count: expected an integer of at least 1, got nothing (the key is "
            "required)",
            "s.yaml:17:13: workloads.0.requests.rate: expected `rate` only with mode: poisson (offline requests all "
            "arrive at the start)"}));
  CHECK(errors(replace(replace(kServing, "mode: offline", "mode: poisson"), "count: 100", "rate: 50")) ==
        std::vector<std::string>{"s.yaml:17:13: workloads.0.requests.rate: expected a rate with a unit (for example "
                                 "50/s), got the bare number 50; append the unit, for example 50/s"});
  CHECK(errors(replace(kServing, "mode: offline", "mode: burst")) ==
        std::vector<std::string>{"s.yaml:16:13: workloads.0.requests.mode: expected one of offline poisson, got "
                                 "'burst'"});
  CHECK(errors(replace(kServing, "max_batch: 64", "max_batch: 0")) ==
        std::vector<std::string>{"s.yaml:20:16: workloads.0.max_batch: expected an integer of at least 1, got 0"});
  CHECK(errors(replace(kServing, "max_batch: 64", "max_bach: 64")) ==
        (std::vector<std::string>{
            "s.yaml:20:5: workloads.0.max_bach: unknown key 'max_bach'; did you mean 'max_batch'?",
            "s.yaml:9:5: workloads.0.max_batch: expected an integer of at least 1, got nothing (the key is required)"}));
  CHECK(errors(replace(kServing, "input_tokens: 1024", "input_tokens: 1k")) ==
        std::vector<std::string>{"s.yaml:18:21: workloads.0.requests.input_tokens: expected an integer of at least 1, "
                                 "got '1k'"});
  CHECK(errors(replace(kServing, "parallelism: {tp: 8}", "parallelism: {tp: 8, dp: 2}")) ==
        std::vector<std::string>{"s.yaml:13:26: workloads.0.parallelism.dp: unknown key 'dp'; did you mean 'tp'?"});
}

TEST_CASE("bad input: an inference replica that cannot hold its weights or one request") {
  // llama2-70b in bf16 on one H100: 2 bytes x 69.0e9 parameters = 138 GB > 85.5 GB.
  const auto weights = errors(replace(replace(kServing, "tp: 8", "tp: 1"), "precision: fp8", "precision: bf16"));
  REQUIRE(weights.size() == 1);
  CHECK(weights[0].rfind("s.yaml:13:18: workloads.0.parallelism: expected a replica that fits in accelerator "
                         "memory, but it needs 138.", 0) == 0);
  // fp8 on one H100: 69 GB of weights + 2.1 GB reserve leaves 0.9 x 14.4 GB = 13 GB of KV cache, at
  // 2 x 80 layers x 8 kv heads x 128 x 1 byte = 160 KiB per token: about 79,000 tokens.
  const auto kv = errors(replace(replace(kServing, "tp: 8", "tp: 1"), "input_tokens: 1024", "input_tokens: 100000"));
  REQUIRE(kv.size() == 1);
  CHECK(kv[0].rfind("s.yaml:13:18: workloads.0.parallelism: expected a replica that fits in accelerator memory, but "
                    "it leaves room for ", 0) == 0);
  CHECK(kv[0].find("less than one request's input + output (100256 tokens; raise tp or pp)") != std::string::npos);
}

TEST_CASE("bad input: unknown catalog model with a suggestion; several problems at once") {
  const auto lines = errors(replace(replace(kBase, "model: llama3-8b", "model: llama3-8B"), "seed: 3", "seed: x"));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "s.yaml:2:7: seed: expected an integer of at least 0, got 'x'");
  CHECK(lines[1] == "s.yaml:14:12: workloads.0.model: expected a model from the catalog (fleetsim catalog lists "
                    "them), got 'llama3-8B'; did you mean 'llama3-8b'?");
}

TEST_CASE("bad input: an unknown key given by --set points at the mapping it went into") {
  const auto lines = errors(kBase, {"workloads.0.bogus=2"});
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("s.yaml:12:5: workloads.0.bogus: unknown key 'bogus'", 0) == 0);
  CHECK(lines[0].find("(key given by --set workloads.0.bogus)") != std::string::npos);
  // A mapping --set made on the way to its value is marked too.
  const auto nested = errors(kBase, {"workloads.0.filter.accept_rate=0.5"});
  REQUIRE(nested.size() == 1);
  CHECK(nested[0].find("workloads.0.filter: unknown key 'filter'") != std::string::npos);
  CHECK(nested[0].find("(key given by --set workloads.0.filter.accept_rate)") != std::string::npos);
}

TEST_CASE("bad input: a bad value --set gives is placed at its key, or its mapping when the file lacks the key") {
  const auto lines = errors(kBase, {"workloads.0.micro_batch=banana"});
  REQUIRE(lines.size() == 1);
  // workloads.0 opens at line 12, column 5 (its first key); the value is nowhere in the file.
  CHECK(lines[0].rfind("s.yaml:12:5: workloads.0.micro_batch: expected ", 0) == 0);
  CHECK(lines[0].find("(value given by --set workloads.0.micro_batch)") != std::string::npos);
  // A key the file has: at that key (the value's own marks are of the --set text, line 1).
  const auto seq = errors(kBase, {"workloads.0.seq_len=banana"});
  REQUIRE(seq.size() == 1);
  CHECK(seq[0].rfind("s.yaml:17:5: workloads.0.seq_len: expected ", 0) == 0);
}

TEST_CASE("virtual stages: the first and last chunk may hold only the embedding and only the head") {
  // llama3-8b's 32 layers on pp 2: 17 chunks per stage is 34 chunks, 2 of them without layers
  // (Llama 3's split); 18 would leave layerless chunks inside the pipeline.
  const std::string pp2 = replace(kBase, "tp: 8, pp: 1, dp: 8}", "tp: 8, pp: 2, dp: 4}\n    virtual_stages: 17");
  CHECK(errors(pp2).empty());
  CHECK(errors(replace(pp2, "virtual_stages: 17", "virtual_stages: 18")) ==
        std::vector<std::string>{"s.yaml:17:21: workloads.0.virtual_stages: expected pp > 1 and at least one layer "
                                 "per virtual stage (layers 32 >= pp x virtual_stages - 2), got pp = 2, "
                                 "virtual_stages = 18"});
}

TEST_CASE("bad input: a key with an empty value is refused, not taken as absent") {
  const auto lines = errors(replace(kBase, "    global_batch: 512\n", "    global_batch: 512\n    zero:\n"));
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("s.yaml:19:5:", 0) == 0);  // at the key, not after it
  CHECK(lines[0].find("workloads.0.zero: expected ") != std::string::npos);
  CHECK(lines[0].find("got an empty value (remove the key to get its default)") != std::string::npos);
}

TEST_CASE("bad input: --set into a value that is not a mapping is an input error, not a crash") {
  const auto lines = errors(kBase, {"workloads.0.model.dropout=false"});
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "s.yaml:14:12: workloads.0.model.dropout: --set: expected a mapping at workloads.0.model to set "
                    "'dropout' in, got the value 'llama3-8b' (a catalog preset: write the model inline to change "
                    "its fields)");
}

TEST_CASE("bad input: --set on a missing list index names the override") {
  const auto lines = errors(kBase, {"workloads.3.gpus=8"});
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("workloads.3.gpus: --set: '3' is not an index of the list (0..0)") != std::string::npos);
  // At the list it looked in, not at 0:0.
  CHECK(lines[0].rfind("s.yaml:12:3:", 0) == 0);
}

namespace {

// A reasoning service on the same 64 H100; line numbers count from "name:" as line 1.
const std::string kReasoning =
    "name: unit\n"                                                      // 1
    "seed: 3\n"                                                         // 2
    "horizon: 2h\n"                                                     // 3
    "cluster:\n"                                                        // 4
    "  design:\n"                                                       // 5
    "    pods:\n"                                                       // 6
    "      - {name: hopper, count: 2, nodes: 4, node: dgx-h100}\n"      // 7
    "workloads:\n"                                                      // 8
    "  - name: think\n"                                                 // 9
    "    kind: reasoning\n"                                             // 10
    "    model: llama3-70b\n"                                           // 11
    "    gpus: 16\n"                                                    // 12
    "    parallelism: {tp: 4}\n"                                        // 13
    "    precision: fp8\n"                                              // 14
    "    requests:\n"                                                   // 15
    "      mode: poisson\n"                                             // 16
    "      rate: 2/s\n"                                                 // 17
    "      input_tokens: 1000\n"                                        // 18
    "      thinking_tokens: 2000\n"                                     // 19
    "      output_tokens: 300\n"                                        // 20
    "      samples: 4\n"                                                // 21
    "    verifier: {model: llama3-8b}\n";                               // 22

}  // namespace

TEST_CASE("a reasoning workload loads with SCENARIO.md's keys") {
  const Scenario s = load_scenario_text(kReasoning, "s.yaml", {}, Catalog::builtin());
  const WorkloadSpec& w = s.workloads.at(0);
  CHECK(w.is_reasoning());
  CHECK(w.is_serving());
  CHECK_FALSE(w.is_inference());
  CHECK(w.replicas() == 4);
  CHECK(w.requests.thinking_tokens == 2000);
  CHECK(w.requests.samples == 4);
  CHECK(w.tokens_per_sample() == 2300);
  // KV per query: the prompt once, each sample's own thinking + answer: 1000 + 4 x 2300 = 10,200.
  CHECK(w.kv_tokens_per_request() == 10200);
  CHECK(w.max_batch == 256);  // the default for reasoning (sequences)
  REQUIRE(w.scorer);
  CHECK(w.scorer->name == "llama3-8b");
  // The verifier is optional; samples defaults to 1.
  const Scenario bare = load_scenario_text(
      replace(replace(kReasoning, "    verifier: {model: llama3-8b}\n", ""), "      samples: 4\n", ""), "s.yaml", {},
      Catalog::builtin());
  CHECK_FALSE(bare.workloads[0].scorer);
  CHECK(bare.workloads[0].requests.samples == 1);
}

TEST_CASE("SCENARIO.md's reasoning example loads as written (on B200, where its bf16 weights fit)") {
  const std::string text =
      "name: contract\nhorizon: 1h\n"
      "cluster: {design: {pods: [{name: blackwell, count: 1, nodes: 128, node: dgx-b200}]}}\n"
      "workloads:\n"
      "  - name: think                # inference-time compute: reasoning models, best-of-N\n"
      "    kind: reasoning\n"
      "    model: deepseek-v3\n"
      "    gpus: 1024\n"
      "    parallelism: {tp: 8, ep: 8}\n"
      "    requests: {mode: poisson, rate: 200/s, input_tokens: 2000, thinking_tokens: 8000,\n"
      "               output_tokens: 1000, samples: 4}   # samples: parallel answers per query\n"
      "    verifier: {model: llama3-8b}                  # optional: scores every sample\n";
  const Scenario s = load_scenario_text(text, "s.yaml", {}, Catalog::builtin());
  CHECK(s.workloads.at(0).parallelism.ep == 8);
  CHECK(s.workloads.at(0).replicas() == 128);
}

TEST_CASE("bad input: reasoning keys get their exact error lines") {
  CHECK(errors(replace(kReasoning, "samples: 4", "samples: 0")) ==
        std::vector<std::string>{"s.yaml:21:16: workloads.0.requests.samples: expected an integer of at least 1, got 0"});
  CHECK(errors(replace(kReasoning, "thinking_tokens: 2000", "thinking_tokens: -5")) ==
        std::vector<std::string>{
            "s.yaml:19:24: workloads.0.requests.thinking_tokens: expected an integer of at least 0, got -5"});
  CHECK(errors(replace(kReasoning, "      thinking_tokens: 2000\n", "")) ==
        std::vector<std::string>{"s.yaml:16:7: workloads.0.requests.thinking_tokens: expected an integer of at least "
                                 "0, got nothing (the key is required)"});
  CHECK(errors(replace(kReasoning, "thinking_tokens: 2000", "thinking_tokns: 2000")) ==
        (std::vector<std::string>{"s.yaml:19:7: workloads.0.requests.thinking_tokns: unknown key 'thinking_tokns'; "
                                  "did you mean 'thinking_tokens'?",
                                  "s.yaml:16:7: workloads.0.requests.thinking_tokens: expected an integer of at "
                                  "least 0, got nothing (the key is required)"}));
  CHECK(errors(replace(kReasoning, "{model: llama3-8b}", "{model: llama3-8B}")) ==
        std::vector<std::string>{"s.yaml:22:23: workloads.0.verifier.model: expected a model from the catalog "
                                 "(fleetsim catalog lists them), got 'llama3-8B'; did you mean 'llama3-8b'?"});
  CHECK(errors(replace(kReasoning, "{model: llama3-8b}", "{model: llama3-8b, accept_rate: 0.5}")) ==
        std::vector<std::string>{"s.yaml:22:34: workloads.0.verifier.accept_rate: unknown key 'accept_rate'; "
                                 "expected one of: model"});
  CHECK(errors(replace(kReasoning, "{model: llama3-8b}", "llama3-8b")) ==
        std::vector<std::string>{"s.yaml:22:15: workloads.0.verifier: expected a mapping, got 'llama3-8b'"});
  CHECK(errors(replace(kReasoning, "samples: 4", "samples: 4\n    max_batch: 2")) ==
        std::vector<std::string>{"s.yaml:21:16: workloads.0.requests.samples: expected at most max_batch (2) "
                                 "samples: a query's samples decode in one batch, got 4"});
  CHECK(errors(replace(kReasoning, "tp: 4", "tp: 4, ep: 2")) ==
        std::vector<std::string>{"s.yaml:13:18: workloads.0.parallelism: expected ep = 1 for a dense model, got "
                                 "ep = 2"});
  // The verifier runs on the replica's tp: its heads must split that way (llama3-8b has 32).
  CHECK(errors(replace(replace(kReasoning, "tp: 4", "tp: 8"), "gpus: 16", "gpus: 64")) == std::vector<std::string>{});
  // A query's KV (1000 + 4 x (500,000 + 300) = 2,002,200) does not fit one replica (1.4M tokens).
  const auto kv = errors(replace(kReasoning, "thinking_tokens: 2000", "thinking_tokens: 500000"));
  REQUIRE(kv.size() == 1);
  CHECK(kv[0].rfind("s.yaml:13:18: workloads.0.parallelism: expected a replica that fits in accelerator memory, but "
                    "it leaves room for ", 0) == 0);
  CHECK(kv[0].find("less than one query's prompt + samples x (thinking + output) (2002200 tokens; raise tp or pp)") !=
        std::string::npos);
  // Inference does not take reasoning keys.
  CHECK(errors(replace(kServing, "output_tokens: 256", "output_tokens: 256\n      samples: 2")) ==
        std::vector<std::string>{"s.yaml:20:7: workloads.0.requests.samples: unknown key 'samples'; expected one of: "
                                 "mode count rate input_tokens output_tokens representative_replicas diurnal"});
}

namespace {

// A synthetic-data job on the same 64 H100; line numbers count from "name:" as line 1.
const std::string kSynthetic =
    "name: unit\n"                                                      // 1
    "seed: 3\n"                                                         // 2
    "horizon: 2h\n"                                                     // 3
    "cluster:\n"                                                        // 4
    "  design:\n"                                                       // 5
    "    pods:\n"                                                       // 6
    "      - {name: hopper, count: 2, nodes: 4, node: dgx-h100}\n"      // 7
    "workloads:\n"                                                      // 8
    "  - name: synth\n"                                                 // 9
    "    kind: synthetic-data\n"                                        // 10
    "    model: llama3-70b\n"                                           // 11
    "    gpus: 16\n"                                                    // 12
    "    parallelism: {tp: 4}\n"                                        // 13
    "    requests: {input_tokens: 500, output_tokens: 1500}\n"          // 14
    "    filter: {model: llama3-8b, accept_rate: 0.3}\n"                // 15
    "    target_tokens: 1e11\n";                                        // 16

}  // namespace

TEST_CASE("a synthetic-data workload loads with SCENARIO.md's keys") {
  const Scenario s = load_scenario_text(kSynthetic, "s.yaml", {}, Catalog::builtin());
  const WorkloadSpec& w = s.workloads.at(0);
  CHECK(w.is_synthetic_data());
  CHECK(w.is_serving());
  CHECK(w.replicas() == 4);
  CHECK(w.requests.input_tokens == 500);
  CHECK(w.requests.output_tokens == 1500);
  CHECK(w.accept_rate == 0.3);
  CHECK(w.target_tokens == 1e11);
  REQUIRE(w.scorer);
  CHECK(w.scorer->name == "llama3-8b");
  CHECK(w.max_batch == 256);
}

TEST_CASE("bad input: synthetic-data keys get their exact error lines") {
  CHECK(errors(replace(kSynthetic, "accept_rate: 0.3", "accept_rate: 1.5")) ==
        std::vector<std::string>{"s.yaml:15:45: workloads.0.filter.accept_rate: expected a share of the samples kept, "
                                 "more than 0 and at most 1, got 1.5"});
  CHECK(errors(replace(kSynthetic, "accept_rate: 0.3", "accept_rate: 0")) ==
        std::vector<std::string>{"s.yaml:15:45: workloads.0.filter.accept_rate: expected a share of the samples kept, "
                                 "more than 0 and at most 1, got 0"});
  CHECK(errors(replace(kSynthetic, "accept_rate: 0.3", "accept_rate: 30%")) ==
        std::vector<std::string>{"s.yaml:15:45: workloads.0.filter.accept_rate: expected a number of at least 0, got "
                                 "'30%'"});
  CHECK(errors(replace(kSynthetic, "{model: llama3-8b, accept_rate: 0.3}", "{model: llama3-8b}")) ==
        std::vector<std::string>{"s.yaml:15:13: workloads.0.filter.accept_rate: expected a number of at least 0, got "
                                 "nothing (the key is required)"});
  CHECK(errors(replace(kSynthetic, "    filter: {model: llama3-8b, accept_rate: 0.3}\n", "")) ==
        std::vector<std::string>{"s.yaml:9:5: workloads.0.filter: expected a mapping {model, accept_rate}, got "
                                 "nothing"});
  CHECK(errors(replace(kSynthetic, "target_tokens: 1e11", "target_tokens: 100B")) ==
        std::vector<std::string>{"s.yaml:16:20: workloads.0.target_tokens: expected a number of at least 1, got "
                                 "'100B'"});
  CHECK(errors(replace(kSynthetic, "    target_tokens: 1e11\n", "")) ==
        std::vector<std::string>{"s.yaml:9:5: workloads.0.target_tokens: expected a number of at least 1, got "
                                 "nothing (the key is required)"});
  CHECK(errors(replace(kSynthetic, "output_tokens: 1500}", "output_tokens: 1500, mode: poisson}")) ==
        std::vector<std::string>{"s.yaml:14:56: workloads.0.requests.mode: unknown key 'mode'; expected one of: "
                                 "input_tokens output_tokens"});
  CHECK(errors(replace(kSynthetic, "{input_tokens: 500, ", "{")) ==
        std::vector<std::string>{"s.yaml:14:15: workloads.0.requests.input_tokens: expected an integer of at least 1, "
                                 "got nothing (the key is required)"});
  CHECK(errors(replace(kSynthetic, "model: llama3-8b,", "model: wan2.1-14b,")) ==
        std::vector<std::string>{"s.yaml:15:21: workloads.0.filter.model: expected a language model (kind llm) to "
                                 "score samples, got a dit"});
  // The filter's weights share the replica: llama3-405b beside llama3-70b on 4 H100 does not fit.
  const auto fit = errors(replace(kSynthetic, "model: llama3-8b,", "model: llama3-405b,"));
  REQUIRE(fit.size() == 1);
  CHECK(fit[0].rfind("s.yaml:13:18: workloads.0.parallelism: expected a replica that fits in accelerator memory, but "
                     "it needs 35.3 GB of weights per accelerator (plus ", 0) == 0);
  CHECK(fit[0].find("GB of the filter's) on H100-SXM") != std::string::npos);
}

TEST_CASE("bad input: sizes that would not fit one machine, and counts that overflow") {
  CHECK(errors(replace(kBase, "        count: 2\n        nodes: 4\n", "        count: 100000\n        nodes: 100000\n")) ==
        std::vector<std::string>{"s.yaml:7:7: cluster.design.pods: expected at most 1048576 nodes in all (8M GPUs in "
                                 "8-GPU nodes; the SimGrid platform takes about 4.5 KB per node), got 10000000000"});
  CHECK(errors(replace(kBase, "gpus: 64", "gpus: 99999999999")) ==
        std::vector<std::string>{"s.yaml:15:11: workloads.0.gpus: expected an integer of at least 1 and at most "
                                 "2147483647, got 99999999999"});
  CHECK(errors(kBase + "output:\n  timeseries_interval: 1ms\n") ==
        std::vector<std::string>{"s.yaml:20:3: output: expected at most 1000000 time-series rows over the horizon; "
                                 "raise output.timeseries_interval"});
}

TEST_CASE("bad input: a diurnal profile must be 24 non-negative loads on a Poisson stream") {
  const std::string poisson = replace(kServing, "      mode: offline\n      count: 100\n", "      mode: poisson\n      rate: 10/s\n");
  const auto lines = errors(replace(poisson, "rate: 10/s", "rate: 10/s\n      diurnal: [1, 2, 3]"));
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("workloads.0.requests.diurnal: expected a list of 24 relative loads (one per hour), got 3 "
                      "values") != std::string::npos);
  std::string hours = "[";
  for (int h = 0; h < 24; ++h) hours += h == 5 ? "-1, " : "1, ";
  hours.replace(hours.size() - 2, 2, "]");
  const auto negative = errors(replace(poisson, "rate: 10/s", "rate: 10/s\n      diurnal: " + hours));
  REQUIRE(negative.size() == 1);
  CHECK(negative[0].find("workloads.0.requests.diurnal.5: expected a relative load of at least 0 (a bare number), "
                         "got '-1'") != std::string::npos);
}

TEST_CASE("request length distributions: inference only, truncation at least the mean") {
  const Scenario s = load_scenario_text(
      replace(kServing, "input_tokens: 1024", "input_tokens: {distribution: lognormal, mean: 1024, sigma: 1, max: 8192}"),
      "s.yaml", {}, Catalog::builtin());
  CHECK(s.workloads[0].requests.input_tokens == 1024);
  CHECK(s.workloads[0].requests.input_lengths.sigma == 1.0);
  CHECK(s.workloads[0].kv_tokens_per_request() == 8192 + 256);  // the largest request
  CHECK(errors(replace(kServing, "input_tokens: 1024", "input_tokens: {mean: 1024, sigma: 1, max: 512}")) ==
        std::vector<std::string>{"s.yaml:18:49: workloads.0.requests.input_tokens.max: expected a truncation at "
                                 "least the mean (1024), got 512"});
}

TEST_CASE("serving weights: int4 is accepted, wider than the compute precision is not") {
  const Scenario s = load_scenario_text(replace(kServing, "precision: fp8", "precision: fp8\n    weights: int4"), "s.yaml",
                                        {}, Catalog::builtin());
  CHECK(s.workloads[0].weight_bytes_per_param == 0.5);
  CHECK(errors(replace(kServing, "precision: fp8", "precision: fp8\n    weights: bf16")) ==
        std::vector<std::string>{"s.yaml:15:14: workloads.0.weights: expected weights no wider than the compute "
                                 "precision (fp8), got bf16"});
}

TEST_CASE("FP4: precision and weights fp4 serve on B200, and are refused where there are no FP4 tensor cores") {
  const std::string blackwell = replace(kServing, "node: dgx-h100", "node: dgx-b200");
  const Scenario s = load_scenario_text(replace(blackwell, "precision: fp8", "precision: fp4"), "s.yaml", {},
                                        Catalog::builtin());
  CHECK(s.workloads[0].precision == Precision::FP4);
  const Scenario w = load_scenario_text(replace(blackwell, "precision: fp8", "precision: fp8\n    weights: fp4"),
                                        "s.yaml", {}, Catalog::builtin());
  CHECK(w.workloads[0].fp4_weights);
  CHECK(w.workloads[0].weight_bytes_per_param == 9.0 / 16.0);
  CHECK(errors(replace(kServing, "precision: fp8", "precision: fp4")) ==
        std::vector<std::string>{"s.yaml:14:16: workloads.0.precision: expected an accelerator with FP4 tensor cores "
                                 "(peak_fp4 in the catalog: B200, GB200) for fp4, got H100-SXM, which has none"});
  CHECK(errors(replace(kServing, "precision: fp8", "precision: fp8\n    weights: fp4")) ==
        std::vector<std::string>{"s.yaml:15:14: workloads.0.weights: expected an accelerator with FP4 tensor cores "
                                 "(peak_fp4 in the catalog: B200, GB200) for fp4, got H100-SXM, which has none"});
  // Training stays bf16 | fp8.
  const auto train = errors(kBase + "    precision: fp4\n");
  REQUIRE(train.size() == 1);
  CHECK(train[0].rfind("s.yaml:19:16: workloads.0.precision: expected one of", 0) == 0);
}

TEST_CASE("disaggregation: a prefill pool taken from gpus, the decode pool in replicas of parallelism") {
  const Scenario s = load_scenario_text(
      replace(kServing, "    max_batch: 64\n",
              "    max_batch: 64\n    disaggregation: {prefill_gpus: 8, prefill_parallelism: {tp: 4}, prefill_max_batch: 16}\n"),
      "s.yaml", {}, Catalog::builtin());
  const WorkloadSpec& w = s.workloads[0];
  REQUIRE(w.disaggregation);
  CHECK(w.disaggregation->prefill_gpus == 8);
  CHECK(w.disaggregation->prefill_tp == 4);
  CHECK(w.disaggregation->prefill_replicas() == 2);
  CHECK(w.disaggregation->prefill_max_batch == 16);
  CHECK(w.replicas() == 1);  // (16 - 8) / tp 8 decode replicas
  // Defaults: the workload's tp and pp, and its max_batch.
  const Scenario d = load_scenario_text(replace(kServing, "    max_batch: 64\n", "    max_batch: 64\n    disaggregation: {prefill_gpus: 8}\n"),
                                        "s.yaml", {}, Catalog::builtin());
  CHECK(d.workloads[0].disaggregation->prefill_tp == 8);
  CHECK(d.workloads[0].disaggregation->prefill_max_batch == 64);
}

TEST_CASE("bad input: disaggregation") {
  auto with = [](const std::string& mapping) {
    return errors(replace(kServing, "    max_batch: 64\n", "    max_batch: 64\n    disaggregation: " + mapping + "\n"));
  };
  CHECK(with("{prefill_gpus: 16}") ==
        std::vector<std::string>{"s.yaml:21:36: workloads.0.disaggregation.prefill_gpus: expected fewer than gpus "
                                 "(16): the others form the decode pool, got 16"});
  CHECK(with("{prefill_gpus: 6, prefill_parallelism: {tp: 4}}") ==
        std::vector<std::string>{"s.yaml:21:36: workloads.0.disaggregation.prefill_gpus: expected a multiple of the "
                                 "prefill replica's tp x pp (4 x 1 = 4), got 6"});
  CHECK(with("{prefill_gpus: 4, prefill_parallelism: {tp: 4}}") ==
        std::vector<std::string>{"s.yaml:13:18: workloads.0.parallelism: expected tp x pp to divide the decode "
                                 "pool's gpus - prefill_gpus (12), got 8 x 1 = 8"});
  CHECK(with("{prefill_gpus: 6, prefill_parallelism: {tp: 3}}") ==
        std::vector<std::string>{"s.yaml:21:60: workloads.0.disaggregation.prefill_parallelism: expected a prefill tp "
                                 "that divides the model's attention heads (64), got tp = 3"});
  const auto unknown = with("{prefill_gpu: 8}");
  REQUIRE(unknown.size() >= 1);
  CHECK(unknown[0].find("workloads.0.disaggregation.prefill_gpu: unknown key 'prefill_gpu'; did you mean "
                        "'prefill_gpus'?") != std::string::npos);
  // Reasoning takes it (a query's samples need that many prompts per prefill batch);
  // synthetic-data and autoscaling do not.
  const std::string reasoning =
      replace(replace(kServing, "kind: inference", "kind: reasoning"), "      output_tokens: 256\n",
              "      output_tokens: 256\n      thinking_tokens: 100\n      samples: 4\n    disaggregation: {prefill_gpus: 8}\n");
  CHECK(load_scenario_text(reasoning, "s.yaml", {}, Catalog::builtin()).workloads[0].disaggregation->prefill_gpus == 8);
  CHECK(errors(replace(reasoning, "{prefill_gpus: 8}", "{prefill_gpus: 8, prefill_max_batch: 2}")) ==
        std::vector<std::string>{"s.yaml:22:58: workloads.0.disaggregation.prefill_max_batch: expected a "
                                 "prefill_max_batch of at least the samples of one query (4): a query's samples are "
                                 "prefilled together, got 2"});
  const std::string autoscaled =
      replace(replace(kServing, "      mode: offline\n      count: 100\n", "      mode: poisson\n      rate: 10/s\n"),
              "    max_batch: 64\n", "    max_batch: 64\n    disaggregation: {prefill_gpus: 8}\n    autoscale: {}\n");
  CHECK(errors(autoscaled) ==
        std::vector<std::string>{"s.yaml:22:16: workloads.0.autoscale: expected no `autoscale` with `disaggregation` "
                                 "(autoscaled prefill and decode pools are not modelled)"});
}

TEST_CASE("disaggregation: the request-volume bound counts every request of the simulated prefill replicas") {
  // 64 H100 as replicas of tp 1 at 3,000 requests/s for 2 h (21.6M requests). Co-located,
  // 16 of 64 replicas are simulated: 5.4M requests, accepted. Disaggregated with 8 prefill
  // replicas, all 8 feed the 16 simulated decode replicas, so every request is prefilled
  // in the simulation: refused.
  const std::string open = replace(replace(replace(replace(kServing, "gpus: 16", "gpus: 64"), "tp: 8", "tp: 1"),
                                           "      mode: offline\n      count: 100\n", "      mode: poisson\n      rate: 3000/s\n"),
                                   "input_tokens: 1024", "input_tokens: 256");
  CHECK(errors(open).empty());
  const auto lines = errors(replace(open, "    max_batch: 64\n", "    max_batch: 64\n    disaggregation: {prefill_gpus: 8}\n"));
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("s.yaml:17:13: workloads.0.requests.rate: expected at most 10000000 requests per workload", 0) == 0);
}

TEST_CASE("disaggregation: a prefill replica that does not fit is refused with its figures") {
  // Llama 2 70B in BF16 on one H100 (prefill tp 1): 138 GB of weights; the decode replicas
  // of tp 8 fit.
  const auto lines = errors(replace(replace(kServing, "precision: fp8", "precision: bf16"), "    max_batch: 64\n",
                                    "    max_batch: 64\n    disaggregation: {prefill_gpus: 8, prefill_parallelism: {tp: 1}}\n"));
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("s.yaml:13:18: workloads.0.parallelism: expected a replica that fits in accelerator memory, but "
                       "it needs ", 0) == 0);
  CHECK(lines[0].find("GB of weights per accelerator in a prefill replica (tp 1, pp 1) on H100-SXM") != std::string::npos);
  CHECK(lines[0].find("(raise disaggregation.prefill_parallelism)") != std::string::npos);
}

TEST_CASE("an inline model takes Multi-head Latent Attention's keys, all four together") {
  using V = std::vector<std::string>;
  const std::string mla =
      "model: {layers: 4, hidden: 1024, ffn_hidden: 4096, heads: 8, vocab: 1000, q_lora_rank: 256, "
      "kv_lora_rank: 128, qk_nope_head_dim: 64, qk_rope_head_dim: 32, v_head_dim: 64}";
  const Scenario s = load_scenario_text(replace(kServing, "model: llama2-70b", mla), "s.yaml", {}, Catalog::builtin());
  const ModelSpec& m = s.workloads.at(0).model;
  CHECK(m.is_mla());
  CHECK(m.q_lora_rank == 256);
  CHECK(m.kv_lora_rank == 128);
  CHECK(m.qk_nope_head_dim == 64);
  CHECK(m.qk_rope_head_dim == 32);
  CHECK(m.v_head_dim == 64);
  const std::string partial =
      "model: {layers: 4, hidden: 1024, ffn_hidden: 4096, heads: 8, vocab: 1000, kv_lora_rank: 128, "
      "qk_nope_head_dim: 64, qk_rope_head_dim: 32}";
  CHECK(errors(replace(kServing, "model: llama2-70b", partial)) ==
        V{"s.yaml:11:12: workloads.0.model.v_head_dim: expected a whole number of at least 1 (Multi-head Latent "
          "Attention needs kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim and v_head_dim together), got nothing"});
  CHECK(errors(replace(kServing, "model: llama2-70b", replace(mla, "v_head_dim: 64", "v_head_dim: 0"))) ==
        V{"s.yaml:11:172: workloads.0.model.v_head_dim: expected an integer of at least 1, got 0"});
}
