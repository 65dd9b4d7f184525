#include "scenario/workload_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <set>
#include <tuple>

#include "models/parallelism_search.hpp"
#include "scenario/scenario_loader.hpp"

namespace fleetsim {

// ---- pieces of the scenario ---------------------------------------------------------

// `accelerator`: the catalog accelerator a workload must run on (optional).
static void read_accelerator(const YamlReader& w, WorkloadSpec& spec, const Catalog& catalog) {
  auto accelerator = w.string("accelerator", false);
  if (!accelerator) return;
  if (catalog.accelerator(*accelerator)) {
    spec.accelerator = *accelerator;
    return;
  }
  std::string message = "expected an accelerator from the catalog, got '" + *accelerator + "'";
  const std::string close = closest_match(*accelerator, catalog.accelerator_names());
  if (!close.empty()) message += "; did you mean '" + close + "'?";
  w.problem_at("accelerator", message);
}

// What the scheduler needs beside the size: `accelerator`, `tenant`, `priority`.
static void read_scheduling_keys(const YamlReader& w, WorkloadSpec& spec, const Catalog& catalog) {
  read_accelerator(w, spec, catalog);
  if (auto tenant = w.string("tenant", false)) {
    const bool valid = !tenant->empty() && std::all_of(tenant->begin(), tenant->end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
    if (valid) spec.tenant = *tenant;
    else w.problem_at("tenant", "expected a tenant name of letters, digits, '_', '-' or '.', got '" + *tenant + "'");
  }
  spec.priority = int(w.integer("priority", 0, false).value_or(0));
}

std::optional<ModelSpec> read_model(const YamlReader& workload, const Catalog& catalog) {
  if (!workload.has("model")) {
    workload.problem_at("model", "expected a catalog model name or an inline model mapping, got nothing");
    return std::nullopt;
  }
  YamlReader m = workload.child("model");
  if (m.node().IsScalar()) {
    const std::string name = m.node().Scalar();
    if (const ModelSpec* preset = catalog.model(name)) return *preset;
    std::string message = "expected a model from the catalog (fleetsim catalog lists them), got '" + name + "'";
    const std::string close = closest_match(name, catalog.model_names());
    if (!close.empty()) message += "; did you mean '" + close + "'?";
    m.problem(message);
    return std::nullopt;
  }
  if (!m.expect_map({"layers", "hidden", "ffn_hidden", "heads", "kv_heads", "vocab", "mlp", "dropout", "experts", "top_k",
                     "expert_ffn_hidden", "shared_experts", "dense_layers", "kind", "vae_stride_t", "vae_stride_s",
                     "patch_t", "patch_s", "text_len", "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim",
                     "qk_rope_head_dim", "v_head_dim"}))
    return std::nullopt;
  ModelSpec spec;
  spec.name = "inline";
  spec.kind = m.choice("kind", {"llm", "dit"}, false).value_or("llm");
  spec.layers = int(m.integer("layers", 1, true).value_or(0));
  spec.hidden = int(m.integer("hidden", 1, true).value_or(0));
  spec.ffn_hidden = int(m.integer("ffn_hidden", 1, !m.has("experts")).value_or(0));
  spec.heads = int(m.integer("heads", 1, true).value_or(0));
  spec.kv_heads = int(m.integer("kv_heads", 1, false).value_or(spec.heads));
  spec.vocab = int(m.integer("vocab", spec.kind == "dit" ? 0 : 1, spec.kind != "dit").value_or(0));
  spec.mlp = m.choice("mlp", {"swiglu", "gelu"}, false).value_or("swiglu") == "gelu" ? MlpKind::GeLU
                                                                                      : MlpKind::SwiGLU;
  spec.dropout = m.boolean("dropout", false).value_or(true);
  spec.experts = int(m.integer("experts", 1, false).value_or(0));
  // A diffusion transformer's VAE compression and patch size (models/video_step.hpp).
  if (spec.kind == "dit") {
    spec.vae_stride_t = int(m.integer("vae_stride_t", 1, true).value_or(1));
    spec.vae_stride_s = int(m.integer("vae_stride_s", 1, true).value_or(1));
    spec.patch_t = int(m.integer("patch_t", 1, true).value_or(1));
    spec.patch_s = int(m.integer("patch_s", 1, true).value_or(1));
    spec.text_len = int(m.integer("text_len", 0, false).value_or(0));
    // The VAE is timed from the Wan-VAE's layers (video_step.hpp), whose stages are those of
    // a 4x temporal, 8x spatial compression (as are HunyuanVideo's and CogVideoX's VAEs):
    // other strides would be timed as a VAE that does not exist.
    for (auto [key, value, expected] : {std::tuple{"vae_stride_t", spec.vae_stride_t, 4},
                                        std::tuple{"vae_stride_s", spec.vae_stride_s, 8}})
      if (m.has(key) && value != expected)
        m.problem_at(key, "expected " + std::to_string(expected) +
                              " (fleetsim times the VAE from the Wan-VAE's layers: 4x in time, 8x in space), got " +
                              std::to_string(value));
  } else {
    for (const char* key : {"vae_stride_t", "vae_stride_s", "patch_t", "patch_s", "text_len"})
      if (m.has(key)) m.problem_at(key, "expected only with kind: dit (a diffusion transformer)");
  }
  if (spec.experts > 0) {
    spec.top_k = int(m.integer("top_k", 1, true).value_or(1));
    spec.expert_ffn_hidden = int(m.integer("expert_ffn_hidden", 1, true).value_or(0));
    spec.shared_experts = int(m.integer("shared_experts", 0, false).value_or(0));
    spec.dense_layers = int(m.integer("dense_layers", 0, false).value_or(0));
    if (spec.top_k > spec.experts) m.problem_at("top_k", "expected top_k <= experts (" + std::to_string(spec.experts) + ")");
    if (spec.dense_layers > spec.layers) m.problem_at("dense_layers", "expected dense_layers <= layers");
  } else {
    for (const char* key : {"top_k", "expert_ffn_hidden", "shared_experts", "dense_layers"})
      if (m.has(key)) m.problem_at(key, "expected only with `experts` (a mixture-of-experts model)");
  }
  // Multi-head Latent Attention (catalog.hpp): kv_lora_rank and the three head dimensions
  // together, q_lora_rank optional; an llm option only.
  {
    const char* keys[] = {"q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"};
    bool any = false;
    for (const char* key : keys) any = any || m.has(key);
    if (any && spec.kind == "dit") {
      for (const char* key : keys)
        if (m.has(key)) m.problem_at(key, "expected only with kind: llm (Multi-head Latent Attention)");
    } else if (any) {
      spec.q_lora_rank = int(m.integer("q_lora_rank", 1, false).value_or(0));
      const char* together =
          " (Multi-head Latent Attention needs kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim and v_head_dim "
          "together)";
      for (const char* key : {"kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"})
        if (!m.has(key)) m.problem_at(key, std::string("expected a whole number of at least 1") + together + ", got nothing");
      spec.kv_lora_rank = int(m.integer("kv_lora_rank", 1, false).value_or(0));
      spec.qk_nope_head_dim = int(m.integer("qk_nope_head_dim", 1, false).value_or(0));
      spec.qk_rope_head_dim = int(m.integer("qk_rope_head_dim", 1, false).value_or(0));
      spec.v_head_dim = int(m.integer("v_head_dim", 1, false).value_or(0));
    }
  }
  if (spec.heads > 0 && spec.hidden % spec.heads != 0)
    m.problem_at("heads", "expected heads to divide hidden (" + std::to_string(spec.hidden) + "), got " +
                              std::to_string(spec.heads));
  if (spec.heads > 0 && spec.kv_heads > 0 && spec.heads % spec.kv_heads != 0)
    m.problem_at("kv_heads", "expected kv_heads to divide heads (" + std::to_string(spec.heads) + "), got " +
                                 std::to_string(spec.kv_heads));
  return spec;
}

static std::optional<Parallelism> read_parallelism(const YamlReader& workload) {
  if (!workload.has("parallelism")) {
    workload.problem_at("parallelism", "expected a mapping {tp, pp, dp, cp, ep} or 'auto', got nothing");
    return std::nullopt;
  }
  YamlReader p = workload.child("parallelism");
  if (p.node().IsScalar() && p.node().Scalar() == "auto") {
    Parallelism automatic;  // chosen when the job is placed (models/parallelism_search.hpp)
    automatic.automatic = true;
    return automatic;
  }
  if (!p.expect_map({"tp", "pp", "dp", "cp", "ep"})) return std::nullopt;
  Parallelism par;
  par.tp = int(p.integer("tp", 1, false).value_or(1));
  par.pp = int(p.integer("pp", 1, false).value_or(1));
  par.dp = int(p.integer("dp", 1, false).value_or(1));
  par.cp = int(p.integer("cp", 1, false).value_or(1));
  par.ep = int(p.integer("ep", 1, false).value_or(1));
  return par;
}

void read_pretrain(const YamlReader& w, WorkloadSpec& spec, const Catalog& catalog) {
  w.expect_map({"name", "kind", "model", "gpus", "parallelism", "seq_len", "global_batch", "micro_batch",
                "precision", "recompute", "tokens", "duration", "submit", "accelerator", "tenant", "priority", "checkpoint", "preemptible", "attention", "overlap",
                "distributed_optimizer", "zero", "zero_group", "sequence_parallel", "virtual_stages", "rank_order",
                "grad_reduce_in_fp32", "fp8_param_gather", "fp8_recipe", "optimizer"});
  TrainingOptions& opt = spec.training;
  opt.attention = w.choice("attention", {"flash", "standard"}, false).value_or("flash") == "standard"
                      ? AttentionKernel::Standard
                      : AttentionKernel::Flash;
  if (w.has("overlap")) {
    YamlReader o = w.child("overlap");
    if (o.expect_map({"grad_reduce", "param_gather", "tp_comm", "ep_comm", "pp_comm"})) {
      opt.overlap_grad_reduce = o.boolean("grad_reduce", false).value_or(true);
      opt.overlap_param_gather = o.boolean("param_gather", false).value_or(true);
      opt.overlap_tp_comm = o.boolean("tp_comm", false).value_or(true);
      opt.overlap_ep_comm = o.boolean("ep_comm", false).value_or(false);
      opt.overlap_pp_comm = o.boolean("pp_comm", false).value_or(true);
    }
  }
  // `zero: 0-3` names the ZeRO stage; `distributed_optimizer: true|false` (the older key)
  // is stage 1 or 0, and both together must agree.
  const std::optional<bool> distributed_optimizer = w.boolean("distributed_optimizer", false);
  opt.zero_stage = distributed_optimizer.value_or(true) ? 1 : 0;
  if (w.has("zero")) {
    if (auto zero = w.integer("zero", 0, false)) {
      if (*zero > 3)
        w.problem_at("zero", "expected a ZeRO stage 0, 1, 2 or 3, got " + std::to_string(*zero));
      else if (distributed_optimizer && (*zero >= 1) != *distributed_optimizer)
        w.problem_at("zero", "expected a stage that agrees with distributed_optimizer: " +
                                 std::string(*distributed_optimizer ? "true (zero >= 1)" : "false (zero: 0)") +
                                 ", got " + std::to_string(*zero));
      else
        opt.zero_stage = int(*zero);
    }
  }
  // `zero_group: N` shards the ZeRO stage within groups of N consecutive DP ranks and
  // replicates across them (hybrid sharding; checked against dp below); `auto` lets
  // `parallelism: auto` choose between all of dp and one pod's DP ranks.
  const YAML::Node zero_group_node = w.node()["zero_group"];
  if (zero_group_node && zero_group_node.IsScalar() && zero_group_node.Scalar() == "auto")
    opt.zero_group = kZeroGroupAuto;
  else if (auto group = w.integer("zero_group", 1, false))
    opt.zero_group = int(*group);
  opt.sequence_parallel = w.boolean("sequence_parallel", false).value_or(true);
  opt.virtual_stages = int(w.integer("virtual_stages", 1, false).value_or(1));
  opt.rank_order = w.choice("rank_order", {"tp-cp-dp-pp", "tp-cp-pp-dp"}, false).value_or("tp-cp-dp-pp") ==
                           "tp-cp-pp-dp"
                       ? RankOrder::TpCpPpDp
                       : RankOrder::TpCpDpPp;
  // Megatron-Core's precision options (training_step.hpp, PrecisionBytes), by its names.
  const std::optional<bool> grad_reduce_in_fp32 = w.boolean("grad_reduce_in_fp32", false);
  opt.fp8_param_gather = w.boolean("fp8_param_gather", false).value_or(false);
  if (w.has("optimizer")) {
    YamlReader o = w.child("optimizer");
    if (o.expect_map({"use_precision_aware_optimizer", "main_grads_dtype", "main_params_dtype", "exp_avg_dtype",
                      "exp_avg_sq_dtype", "store_param_remainders"})) {
      OptimizerPrecision& op = opt.optimizer;
      const std::optional<bool> aware = o.boolean("use_precision_aware_optimizer", false);
      op.precision_aware = aware.value_or(false);
      // A bad use_precision_aware_optimizer has its own error: no second one about the dtypes.
      const bool aware_known = aware.has_value() || !o.has("use_precision_aware_optimizer");
      auto dtype = [&](const char* key, const std::vector<std::string>& allowed) {
        const std::string name = o.choice(key, allowed, false).value_or("fp32");
        const StateDtype d = name == "bf16"   ? StateDtype::BF16
                             : name == "fp16" ? StateDtype::FP16
                             : name == "fp8"  ? StateDtype::FP8
                                              : StateDtype::FP32;
        // Megatron-Core's OptimizerConfig asserts every dtype is fp32 without the
        // precision-aware optimizer.
        if (d != StateDtype::FP32 && !op.precision_aware && aware_known)
          o.problem_at(key, "expected fp32 without use_precision_aware_optimizer: true (Megatron-Core keeps "
                            "optimizer state in fp32 otherwise), got " + name);
        return d;
      };
      op.main_grads = dtype("main_grads_dtype", {"fp32", "bf16"});
      op.main_params = dtype("main_params_dtype", {"fp32", "fp16"});
      op.exp_avg = dtype("exp_avg_dtype", {"fp32", "fp16", "bf16", "fp8"});
      op.exp_avg_sq = dtype("exp_avg_sq_dtype", {"fp32", "fp16", "bf16", "fp8"});
      op.store_param_remainders = o.boolean("store_param_remainders", false).value_or(true);
      if (op.precision_aware && opt.zero_stage != 1)
        o.problem_at("use_precision_aware_optimizer",
                     "expected zero: 1 (Megatron-Core's precision-aware optimizer runs only inside its distributed "
                     "optimizer; Megatron-FSDP turns it off), got zero: " + std::to_string(opt.zero_stage));
      // A bf16 main gradient is a bf16 gradient buffer (megatron/training/arguments.py leaves
      // accumulate_allreduce_grads_in_fp32 off and asserts against it then).
      if (op.main_grads == StateDtype::BF16 && grad_reduce_in_fp32.value_or(false))
        w.problem_at("grad_reduce_in_fp32", "expected false (or no key) with optimizer.main_grads_dtype: bf16, got true");
    }
  }
  opt.grad_reduce_in_fp32 = grad_reduce_in_fp32.value_or(opt.optimizer.main_grads != StateDtype::BF16);
  auto model = read_model(w, catalog);
  auto gpus = w.integer("gpus", 1, true);
  auto parallelism = read_parallelism(w);
  auto seq_len = w.integer("seq_len", 1, true);
  auto global_batch = w.integer("global_batch", 1, true);
  spec.micro_batch = int(w.integer("micro_batch", 1, false).value_or(1));
  const std::optional<std::string> precision_name = w.choice("precision", {"bf16", "fp8"}, false);
  spec.precision = precision_name.value_or("bf16") == "fp8" ? Precision::FP8 : Precision::BF16;
  const std::string recompute = w.choice("recompute", {"none", "selective", "full"}, false).value_or("none");
  spec.recompute = recompute == "full"        ? RecomputeMode::Full
                   : recompute == "selective" ? RecomputeMode::Selective
                                              : RecomputeMode::None;
  if (auto tokens = w.number("tokens", 1, false)) spec.tokens = *tokens;
  if (auto duration = w.quantity("duration", Dimension::Duration, true, false)) spec.duration = Seconds(*duration);
  if (w.has("checkpoint")) {
    YamlReader c = w.child("checkpoint");
    if (c.expect_map({"interval", "bandwidth"})) {
      const YAML::Node interval_node = c.node()["interval"];
      if (interval_node && interval_node.IsScalar() && interval_node.Scalar() == "auto")
        spec.checkpoint_auto = true;
      else if (auto interval = c.quantity("interval", Dimension::Duration, true, true))
        spec.checkpoint_interval = Seconds(*interval);
      if (auto bandwidth = c.quantity("bandwidth", Dimension::Bandwidth, true, false))
        spec.checkpoint_bandwidth = *bandwidth;
    }
  }
  // Megatron-LM's --fp8-recipe (default delayed): which Transformer Engine scaling recipe
  // quantizes the GEMM inputs (training_step.hpp, Fp8Recipe).
  if (const auto recipe = w.choice("fp8_recipe", {"delayed", "tensorwise", "blockwise", "mxfp8"}, false)) {
    opt.fp8_recipe = *recipe == "tensorwise"  ? Fp8Recipe::Tensorwise
                     : *recipe == "blockwise" ? Fp8Recipe::Blockwise
                     : *recipe == "mxfp8"     ? Fp8Recipe::Mxfp8
                                              : Fp8Recipe::Delayed;
    if (spec.precision != Precision::FP8 && (precision_name || !w.has("precision")))
      w.problem_at("fp8_recipe", "expected precision: fp8 (an FP8 scaling recipe needs FP8 GEMMs), got bf16");
  }
  // Only when precision itself was read: a bad precision has its own error already.
  if (opt.fp8_param_gather && spec.precision != Precision::FP8 && (precision_name || !w.has("precision")))
    w.problem_at("fp8_param_gather", "expected precision: fp8 (FP8 primary weights need an FP8 recipe), got bf16");
  // Megatron-Core's distributed optimizer keeps no model-parameter shard for FP8 primary
  // weights under a non-delayed recipe (distrib_optimizer.py, _build_model_and_main_param_groups:
  // shard_model_param = None), and the precision-aware optimizer's fp16 main parameters are
  // built from those shards: the combination cannot run.
  if (opt.fp8_param_gather && opt.optimizer.precision_aware && opt.optimizer.main_params != StateDtype::FP32 &&
      opt.fp8_recipe != Fp8Recipe::Delayed)
    w.problem_at("fp8_param_gather", "expected false with optimizer.main_params_dtype other than fp32 under fp8_recipe "
                                     "other than delayed (Megatron-Core's precision-aware optimizer derives its fp16 "
                                     "main parameters from the model's parameter shards, which FP8 primary weights "
                                     "do not keep under that recipe), got true");
  if (opt.fp8_param_gather && opt.zero_stage == 0)
    w.problem_at("fp8_param_gather", "expected zero >= 1 (Megatron-LM supports --fp8-param-gather only with a "
                                     "distributed optimizer or FSDP), got zero: 0");
  spec.preemptible = w.boolean("preemptible", false).value_or(true);
  spec.submit = Seconds(w.quantity("submit", Dimension::Duration, false, false).value_or(0));
  read_scheduling_keys(w, spec, catalog);
  if (!model || !gpus || !parallelism || !seq_len || !global_batch) return;
  spec.model = *model;
  if (spec.model.kind != "llm") {
    w.problem_at("model", "expected a language model (kind llm) for pretraining, got a " + spec.model.kind);
    return;
  }
  spec.gpus = int(*gpus);
  spec.parallelism = *parallelism;
  spec.seq_len = int(*seq_len);
  spec.global_batch = int(*global_batch);

  const Parallelism& p = spec.parallelism;
  if (opt.zero_group != 0 && opt.zero_stage == 0)
    w.problem_at("zero_group", "expected zero >= 1 with zero_group (ZeRO-0 shards nothing), got zero: 0");
  if (p.automatic) {
    if (opt.virtual_stages > 1)
      w.problem_at("virtual_stages", "expected no virtual_stages with parallelism: auto (the search uses plain 1F1B)");
    return;  // the search only proposes valid splits; whether one fits is checked against the cluster
  }
  if (opt.zero_group == kZeroGroupAuto)
    w.problem_at("zero_group", "expected a number of DP ranks dividing dp (" + std::to_string(p.dp) +
                                   "); 'auto' needs parallelism: auto, got auto");
  else if (opt.zero_group > 0 && (p.dp % opt.zero_group != 0))
    w.problem_at("zero_group", "expected a number of DP ranks dividing dp (" + std::to_string(p.dp) + "), got " +
                                   std::to_string(opt.zero_group));
  if (p.product() != spec.gpus) {
    w.problem_at("parallelism", "expected tp x pp x dp x cp = gpus (" + std::to_string(spec.gpus) + "), got " +
                                    std::to_string(p.tp) + " x " + std::to_string(p.pp) + " x " +
                                    std::to_string(p.dp) + " x " + std::to_string(p.cp) + " = " +
                                    std::to_string(p.product()));
  }
  if (spec.global_batch % (p.dp * spec.micro_batch) != 0)
    w.problem_at("global_batch", "expected a multiple of dp x micro_batch (" + std::to_string(p.dp) + " x " +
                                     std::to_string(spec.micro_batch) + "), got " +
                                     std::to_string(spec.global_batch));
  if (spec.model.heads % p.tp != 0)
    w.problem_at("parallelism", "expected tp to divide the model's attention heads (" +
                                    std::to_string(spec.model.heads) + "), got tp = " + std::to_string(p.tp));
  if (spec.seq_len % p.cp != 0)
    w.problem_at("parallelism", "expected cp to divide seq_len (" + std::to_string(spec.seq_len) +
                                    "), got cp = " + std::to_string(p.cp));
  // Megatron-Core spreads layers that do not divide evenly over the first and last
  // stages (--decoder-first/last-pipeline-num-layers; Llama 3 ran 126 layers on 16
  // stages with one fewer on each end): every virtual stage needs at least one layer,
  // except the very first and last, which may hold only the embedding and only the LM
  // head and loss (Llama 3 paper, arXiv 2407.21783, sec. 3.3.2: "the first model chunk on
  // the first stage has only the embedding, and the last model chunk on the last stage
  // has only output projection and loss calculation").
  if (opt.virtual_stages > 1 && (p.pp == 1 || spec.model.layers < p.pp * opt.virtual_stages - 2))
    w.problem_at("virtual_stages", "expected pp > 1 and at least one layer per virtual stage (layers " +
                                       std::to_string(spec.model.layers) + " >= pp x virtual_stages - 2), got pp = " +
                                       std::to_string(p.pp) + ", virtual_stages = " +
                                       std::to_string(opt.virtual_stages));
  if (p.pp > spec.model.layers)
    w.problem_at("parallelism", "expected pp <= the model's layers (" + std::to_string(spec.model.layers) +
                                    "), got pp = " + std::to_string(p.pp));
  if (p.ep > 1 && !spec.model.is_moe())
    w.problem_at("parallelism", "expected ep = 1 for a dense model, got ep = " + std::to_string(p.ep));
  if (spec.model.is_moe() && (spec.model.experts % p.ep != 0 || p.dp % p.ep != 0))
    w.problem_at("parallelism", "expected ep to divide both the experts (" + std::to_string(spec.model.experts) +
                                    ") and dp (" + std::to_string(p.dp) + "), got ep = " + std::to_string(p.ep));
}

// Sequences one replica decodes together when a reasoning or synthetic-data workload
// gives no max_batch (SCENARIO.md's examples give none; inference requires it): the
// gpu_batch_size range of NVIDIA's MLPerf v4.0 llama2-70b configs is 806-896 on 80-141 GB
// parts at short contexts; at reasoning lengths the KV cache binds far earlier anyway.
constexpr int kDefaultServingMaxBatch = 256;

// The scoring model of a reasoning (`verifier: {model}`) or synthetic-data (`filter:
// {model, accept_rate}`) workload: a language model resident on the same replicas.
static bool read_scorer(const YamlReader& w, WorkloadSpec& spec, const Catalog& catalog) {
  const bool filter = spec.is_synthetic_data();
  const std::string key = filter ? "filter" : "verifier";
  if (!w.has(key)) {
    if (filter) w.problem_at(key, "expected a mapping {model, accept_rate}, got nothing");
    return !filter;
  }
  YamlReader s = w.child(key);
  if (!s.expect_map(filter ? std::vector<std::string>{"model", "accept_rate"} : std::vector<std::string>{"model"}))
    return false;
  auto model = read_model(s, catalog);
  bool ok = model.has_value();
  if (model && model->kind != "llm") {
    s.problem_at("model", "expected a language model (kind llm) to score samples, got a " + model->kind);
    ok = false;
  }
  if (filter) {
    auto rate = s.number("accept_rate", 0, true);
    if (rate && (*rate <= 0 || *rate > 1)) {
      s.problem_at("accept_rate", "expected a share of the samples kept, more than 0 and at most 1, got " +
                                      s.node()["accept_rate"].Scalar());
      rate.reset();
    }
    if (rate) spec.accept_rate = *rate;
    ok = ok && rate.has_value();
  }
  if (ok) spec.scorer = *model;
  return ok;
}

// A request length: a count of tokens, or (kind inference) a lognormal distribution
// {mean, sigma, max} drawn per request (models/serving_schedule.hpp).
static bool read_length(const YamlReader& r, const std::string& key, bool distributions_allowed, int& mean,
                        LengthDistribution& distribution) {
  if (r.has(key) && r.child(key).node().IsMap()) {
    YamlReader d = r.child(key);
    if (!distributions_allowed) {
      d.problem("expected a number of tokens (length distributions are for kind inference only), got a mapping");
      return false;
    }
    if (!d.expect_map({"distribution", "mean", "sigma", "max"})) return false;
    d.choice("distribution", {"lognormal"}, false);
    auto m = d.number("mean", 1, true);
    auto sigma = d.number("sigma", 0, true);
    auto max = d.integer("max", 1, true);
    if (!m || !sigma || !max) return false;
    if (double(*max) < *m) {
      d.problem_at("max", "expected a truncation at least the mean (" + std::to_string(long(*m)) + "), got " +
                              std::to_string(*max));
      return false;
    }
    mean = int(std::lround(*m));
    distribution = LengthDistribution{*m, *sigma, double(*max)};
    return true;
  }
  auto value = r.integer(key, 1, true);
  if (!value) return false;
  mean = int(*value);
  distribution = LengthDistribution{double(*value), 0, double(*value)};
  return true;
}

// `diurnal`: 24 relative loads, one per hour of the day from the start of the run, that
// shape a Poisson stream's rate around its mean `rate` (models/serving_schedule.hpp).
static bool read_diurnal(const YamlReader& r, RequestStreamSpec& q, bool poisson) {
  if (!r.has("diurnal")) return true;
  YamlReader d = r.child("diurnal");
  if (!poisson) {
    d.problem("expected `diurnal` only with mode: poisson");
    return false;
  }
  const YAML::Node& list = d.node();
  if (!list.IsSequence() || list.size() != 24) {
    d.problem("expected a list of 24 relative loads (one per hour), got " +
              (list.IsSequence() ? std::to_string(list.size()) + " values" : describe_yaml(list)));
    return false;
  }
  std::vector<double> hourly;
  double sum = 0;
  for (std::size_t h = 0; h < 24; ++h) {
    YamlReader value = d.element(h);
    char* end = nullptr;
    const std::string text = list[h].IsScalar() ? list[h].Scalar() : "";
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(v) || v < 0) {
      value.problem("expected a relative load of at least 0 (a bare number), got " + describe_yaml(list[h]));
      return false;
    }
    hourly.push_back(v);
    sum += v;
  }
  if (sum <= 0) {
    d.problem("expected at least one hour with a load above 0, got 24 zeros");
    return false;
  }
  q.diurnal = std::move(hourly);
  return true;
}

// `autoscale: {min_replicas, target_utilization, interval, startup_time}` (all optional): the replicas
// follow the load of an open Poisson stream, between min_replicas and gpus / (tp x pp).
static void read_autoscale(const YamlReader& w, WorkloadSpec& spec) {
  YamlReader a = w.child("autoscale");
  if (a.node().IsNull()) {  // `autoscale:` alone: every default
    spec.autoscale = AutoscaleSpec{};
  } else if (!a.expect_map({"min_replicas", "target_utilization", "interval", "startup_time"})) {
    return;
  } else {
    AutoscaleSpec as;
    auto min_replicas = a.integer("min_replicas", 1, false);
    auto target = a.number("target_utilization", 0, false);
    auto interval = a.quantity("interval", Dimension::Duration, true, false);
    auto startup = a.quantity("startup_time", Dimension::Duration, false, false);
    if (startup && *startup < 0) {
      a.problem_at("startup_time", "expected a duration of 0 s or more, got " + describe_yaml(a.node()["startup_time"]));
      startup.reset();
    }
    if (startup) as.startup_time = Seconds(*startup);
    if (min_replicas) as.min_replicas = int(*min_replicas);
    if (target) as.target_utilization = *target;
    if (interval) as.interval = Seconds(*interval);
    if (interval && *interval < 1) {
      // Each decision is an event and may be a time-series row.
      a.problem_at("interval", "expected an interval of at least 1 s, got " + describe_yaml(a.node()["interval"]));
      interval.reset();
    }
    bool ok = (min_replicas || !a.has("min_replicas")) && (target || !a.has("target_utilization")) &&
              (interval || !a.has("interval")) && (startup || !a.has("startup_time"));
    if (target && (*target < 0.01 || *target > 1)) {
      a.problem_at("target_utilization", "expected a share of a replica's throughput in [0.01, 1], got " +
                                             describe_yaml(a.node()["target_utilization"]));
      ok = false;
    }
    if (ok && as.min_replicas > spec.replicas()) {
      a.problem_at("min_replicas", "expected at most the replicas gpus allows (" + std::to_string(spec.gpus) +
                                       " / (tp x pp) = " + std::to_string(spec.replicas()) + "), got " +
                                       std::to_string(as.min_replicas));
      ok = false;
    }
    if (!ok) return;
    spec.autoscale = as;
  }
  const RequestStreamSpec& q = spec.requests;
  if (q.mode != ArrivalMode::Poisson || q.count)
    a.problem("expected `autoscale` only on an open stream (requests: {mode: poisson} without a count): "
              "replicas follow its rate");
}

// `disaggregation: {prefill_gpus, prefill_parallelism: {tp, pp}, prefill_max_batch}`
// (kinds inference and reasoning): the prefill pool; the decode pool is the rest of gpus,
// in replicas of `parallelism`. Read after parallelism and max_batch, the defaults.
static bool read_disaggregation(const YamlReader& w, WorkloadSpec& spec) {
  YamlReader d = w.child("disaggregation");
  if (!spec.is_inference() && !spec.is_reasoning()) {
    d.problem("expected `disaggregation` only with kinds inference and reasoning (separate prefill and decode pools "
              "are not modelled for " + spec.kind + ")");
    return false;
  }
  if (!d.expect_map({"prefill_gpus", "prefill_parallelism", "prefill_max_batch"})) return false;
  DisaggregationSpec ds;
  ds.prefill_tp = spec.parallelism.tp;
  ds.prefill_pp = spec.parallelism.pp;
  ds.prefill_max_batch = spec.max_batch;
  auto gpus = d.integer("prefill_gpus", 1, true);
  bool ok = gpus.has_value();
  if (gpus) ds.prefill_gpus = int(*gpus);
  if (d.has("prefill_parallelism")) {
    YamlReader p = d.child("prefill_parallelism");
    if (!p.expect_map({"tp", "pp"})) return false;
    auto tp = p.integer("tp", 1, false);
    auto pp = p.integer("pp", 1, false);
    if (tp) ds.prefill_tp = int(*tp);
    if (pp) ds.prefill_pp = int(*pp);
    ok = ok && (tp || !p.has("tp")) && (pp || !p.has("pp"));
  }
  if (auto batch = d.integer("prefill_max_batch", 1, false)) ds.prefill_max_batch = int(*batch);
  else ok = ok && !d.has("prefill_max_batch");
  if (!ok) return false;
  const int per_replica = ds.prefill_tp * ds.prefill_pp;
  if (ds.prefill_gpus >= spec.gpus) {
    d.problem_at("prefill_gpus", "expected fewer than gpus (" + std::to_string(spec.gpus) +
                                     "): the others form the decode pool, got " + std::to_string(ds.prefill_gpus));
    return false;
  }
  if (ds.prefill_gpus % per_replica != 0) {
    d.problem_at("prefill_gpus", "expected a multiple of the prefill replica's tp x pp (" + std::to_string(ds.prefill_tp) +
                                     " x " + std::to_string(ds.prefill_pp) + " = " + std::to_string(per_replica) +
                                     "), got " + std::to_string(ds.prefill_gpus));
    return false;
  }
  const std::string where = d.has("prefill_parallelism") ? "prefill_parallelism" : "prefill_gpus";
  if (spec.model.heads % ds.prefill_tp != 0) {
    d.problem_at(where, "expected a prefill tp that divides the model's attention heads (" +
                            std::to_string(spec.model.heads) + "), got tp = " + std::to_string(ds.prefill_tp));
    return false;
  }
  if (ds.prefill_pp > spec.model.layers) {
    d.problem_at(where, "expected a prefill pp of at most the model's layers (" + std::to_string(spec.model.layers) +
                            "), got pp = " + std::to_string(ds.prefill_pp));
    return false;
  }
  if (ds.prefill_max_batch < spec.requests.samples) {
    d.problem_at(d.has("prefill_max_batch") ? "prefill_max_batch" : "prefill_gpus",
                 "expected a prefill_max_batch of at least the samples of one query (" +
                     std::to_string(spec.requests.samples) + "): a query's samples are prefilled together, got " +
                     std::to_string(ds.prefill_max_batch));
    return false;
  }
  if (spec.parallelism.ep > 1 && per_replica % spec.parallelism.ep != 0) {
    d.problem_at(where, "expected a prefill replica whose tp x pp (" + std::to_string(per_replica) +
                            ") ep (" + std::to_string(spec.parallelism.ep) + ") divides, got tp = " +
                            std::to_string(ds.prefill_tp) + ", pp = " + std::to_string(ds.prefill_pp));
    return false;
  }
  spec.disaggregation = ds;
  return true;
}

// kinds inference, reasoning and synthetic-data (SCENARIO.md): a service of
// gpus / (tp x pp) identical replicas; the kind decides the request keys.
void read_inference(const YamlReader& w, WorkloadSpec& spec, const Catalog& catalog) {
  std::vector<std::string> keys = {"name", "kind", "model", "gpus", "parallelism", "precision", "weights",
                                   "requests", "max_batch", "kv_policy", "engine", "submit", "accelerator",
                                   "tenant", "priority"};
  if (spec.is_reasoning()) keys.push_back("verifier");
  if (spec.is_synthetic_data()) keys.insert(keys.end(), {"filter", "target_tokens"});
  else keys.insert(keys.end(), {"autoscale", "duration", "disaggregation"});
  w.expect_map(keys);
  auto model = read_model(w, catalog);
  auto gpus = w.integer("gpus", 1, true);
  auto max_batch = w.integer("max_batch", 1, spec.is_inference());
  if (!max_batch && !w.has("max_batch")) max_batch = kDefaultServingMaxBatch;
  // How a replica shares its KV cache: reserve every request's whole length at admission
  // (TensorRT-LLM's default) or admit on the current context and preempt (vLLM's default).
  if (w.choice("kv_policy", {"reserve", "preempt"}, false).value_or("reserve") == "preempt")
    spec.kv_policy = KvPolicy::Preempt;
  // The serving stack the replicas run: the host time it adds to every decode step
  // (models/serving_engine.hpp). ideal: none, the GPU time alone.
  const std::string engine = w.choice("engine", {"ideal", "pytorch-eager", "tensorrt-llm"}, false).value_or("ideal");
  spec.engine = engine == "pytorch-eager"  ? ServingEngine::PytorchEager
                : engine == "tensorrt-llm" ? ServingEngine::TensorRtLlm
                                           : ServingEngine::Ideal;
  const bool scorer_ok = spec.is_inference() || read_scorer(w, spec, catalog);
  bool target_ok = true;
  if (spec.is_synthetic_data()) {
    auto target = w.number("target_tokens", 1, true);
    if (target) spec.target_tokens = *target;
    target_ok = target.has_value();
  }
  // Compute precision; fp4 (Blackwell's NVFP4 tensor cores) only for the serving kinds,
  // refused on accelerators without FP4 (scenario_loader.cpp, serving_fit_problem).
  const std::string precision = w.choice("precision", {"bf16", "fp8", "fp4"}, false).value_or("bf16");
  spec.precision = precision == "fp4" ? Precision::FP4 : precision == "fp8" ? Precision::FP8 : Precision::BF16;
  // Stored weight precision: the compute precision's by default; int4 for weight-only
  // quantised serving (0.5 bytes per weight); fp4 for NVFP4 weights (9/16 byte, FP4
  // hardware only) under FP8 or BF16 compute.
  if (auto weights = w.choice("weights", {"bf16", "fp8", "fp4", "int4"}, false)) {
    if (*weights == "int4") spec.weight_bytes_per_param = 0.5;
    else if (*weights == "fp4") spec.weight_bytes_per_param = kNvfp4BytesPerValue;
    else if (*weights == "fp8") spec.weight_bytes_per_param = 1.0;
    else spec.weight_bytes_per_param = 2.0;
    spec.fp4_weights = *weights == "fp4";
    if (spec.weight_bytes_per_param > bytes_per_value(spec.precision))
      w.problem_at("weights", "expected weights no wider than the compute precision (" +
                                  std::string(precision_name(spec.precision)) + "), got " + *weights);
  }
  spec.submit = Seconds(w.quantity("submit", Dimension::Duration, false, false).value_or(0));
  // A service may end before the horizon: it holds its nodes this long once started.
  if (auto duration = w.quantity("duration", Dimension::Duration, true, false)) spec.duration = Seconds(*duration);
  read_scheduling_keys(w, spec, catalog);

  // parallelism: {tp, pp} of one replica, and ep: how many of its accelerators the
  // experts of an MoE model are spread over (a divisor of tp x pp; see the model card).
  bool parallelism_ok = false;
  if (!w.has("parallelism")) {
    w.problem_at("parallelism", "expected a mapping {tp, pp} for one replica, got nothing");
  } else {
    YamlReader p = w.child("parallelism");
    if (p.expect_map({"tp", "pp", "ep"})) {
      auto tp = p.integer("tp", 1, false);
      auto pp = p.integer("pp", 1, false);
      auto ep = p.integer("ep", 1, false);
      if ((tp || !p.has("tp")) && (pp || !p.has("pp")) && (ep || !p.has("ep"))) {  // absent means 1
        spec.parallelism.tp = int(tp.value_or(1));
        spec.parallelism.pp = int(pp.value_or(1));
        spec.parallelism.ep = int(ep.value_or(1));
        parallelism_ok = true;
      }
    }
  }

  // requests: {mode, count, rate, input_tokens, output_tokens}; reasoning adds
  // thinking_tokens and samples; synthetic-data has only the lengths (an offline stream
  // that lasts until the target is met).
  bool requests_ok = false;
  const std::string request_keys =
      spec.is_synthetic_data() ? "{input_tokens, output_tokens}"
      : spec.is_reasoning()    ? "{mode, count, rate, input_tokens, thinking_tokens, output_tokens, samples}"
                               : "{mode, count, rate, input_tokens, output_tokens}";
  if (!w.has("requests")) {
    w.problem_at("requests", "expected a mapping " + request_keys + ", got nothing");
  } else if (spec.is_synthetic_data()) {
    YamlReader r = w.child("requests");
    if (r.expect_map({"input_tokens", "output_tokens"})) {
      auto input = r.integer("input_tokens", 1, true);
      auto output = r.integer("output_tokens", 1, true);
      if (input) spec.requests.input_tokens = int(*input);
      if (output) spec.requests.output_tokens = int(*output);
      requests_ok = input && output;
    }
  } else {
    YamlReader r = w.child("requests");
    std::vector<std::string> allowed = {"mode", "count", "rate", "input_tokens", "output_tokens",
                                        "representative_replicas", "diurnal"};
    if (spec.is_reasoning()) allowed.insert(allowed.end(), {"thinking_tokens", "samples"});
    if (r.expect_map(allowed)) {
      RequestStreamSpec& q = spec.requests;
      bool reasoning_ok = true;
      if (spec.is_reasoning()) {
        auto thinking = r.integer("thinking_tokens", 0, true);
        auto samples = r.integer("samples", 1, false);
        if (thinking) q.thinking_tokens = int(*thinking);
        if (samples) q.samples = int(*samples);
        reasoning_ok = thinking && (samples || !r.has("samples"));
      }
      auto mode = r.choice("mode", {"offline", "poisson"}, false);
      const bool poisson = mode && *mode == "poisson";
      q.mode = poisson ? ArrivalMode::Poisson : ArrivalMode::Offline;
      auto count = r.integer("count", 1, !poisson);
      if (count) q.count = *count;
      const bool count_ok = count || (poisson && !r.has("count"));
      auto rate = r.quantity("rate", Dimension::EventRate, true, poisson);
      if (rate) q.rate = Rate(*rate);
      if (!poisson && r.has("rate"))
        r.problem_at("rate", "expected `rate` only with mode: poisson (offline requests all arrive at the start)");
      const bool input = read_length(r, "input_tokens", spec.is_inference(), q.input_tokens, q.input_lengths);
      const bool output = read_length(r, "output_tokens", spec.is_inference(), q.output_tokens, q.output_lengths);
      if (auto representatives = r.integer("representative_replicas", 0, false))
        q.representative_replicas = int(*representatives);
      const bool diurnal_ok = read_diurnal(r, q, poisson);
      if (r.has("representative_replicas") && !(poisson && !r.has("count")))
        r.problem_at("representative_replicas",
                     "expected only with mode: poisson and no count (other streams simulate every replica)");
      requests_ok = (mode || !r.has("mode")) && count_ok && (rate || !poisson) && input && output && reasoning_ok &&
                    diurnal_ok;
    }
  }

  if (!model || !gpus || !max_batch || !parallelism_ok || !requests_ok || !scorer_ok || !target_ok) return;
  spec.model = *model;
  if (spec.model.kind != "llm") {
    w.problem_at("model", "expected a language model (kind llm) for " + spec.kind + ", got a " + spec.model.kind);
    return;
  }
  spec.gpus = int(*gpus);
  spec.max_batch = int(*max_batch);
  Parallelism& p = spec.parallelism;
  const int per_replica = p.tp * p.pp;
  const bool disaggregated = w.has("disaggregation") && read_disaggregation(w, spec);
  if (w.has("disaggregation") && !disaggregated) return;
  // Disaggregated: the replicas of `parallelism` are the decode pool's, on what prefill leaves.
  const int serving_gpus = disaggregated ? spec.gpus - spec.disaggregation->prefill_gpus : spec.gpus;
  if (serving_gpus % per_replica != 0) {
    w.problem_at("parallelism", "expected tp x pp to divide " +
                                    std::string(disaggregated ? "the decode pool's gpus - prefill_gpus (" : "gpus (") +
                                    std::to_string(serving_gpus) + "), got " + std::to_string(p.tp) + " x " +
                                    std::to_string(p.pp) + " = " + std::to_string(per_replica));
  } else {
    p.dp = serving_gpus / per_replica;
  }
  if (spec.model.heads % p.tp != 0)
    w.problem_at("parallelism", "expected tp to divide the model's attention heads (" +
                                    std::to_string(spec.model.heads) + "), got tp = " + std::to_string(p.tp));
  if (p.pp > spec.model.layers)
    w.problem_at("parallelism", "expected pp <= the model's layers (" + std::to_string(spec.model.layers) +
                                    "), got pp = " + std::to_string(p.pp));
  if (p.ep > 1 && !spec.model.is_moe())
    w.problem_at("parallelism", "expected ep = 1 for a dense model, got ep = " + std::to_string(p.ep));
  else if (p.ep > 1 && (per_replica % p.ep != 0 || spec.model.experts % p.ep != 0))
    w.problem_at("parallelism", "expected ep to divide both the replica's accelerators (tp x pp = " +
                                    std::to_string(per_replica) + ") and the experts (" +
                                    std::to_string(spec.model.experts) + "), got ep = " + std::to_string(p.ep));
  if (w.has("autoscale") && disaggregated)
    w.problem_at("autoscale", "expected no `autoscale` with `disaggregation` (autoscaled prefill and decode pools "
                              "are not modelled)");
  else if (w.has("autoscale"))
    read_autoscale(w, spec);
  if (spec.requests.samples > spec.max_batch)
    w.child("requests").problem_at("samples", "expected at most max_batch (" + std::to_string(spec.max_batch) +
                                                  ") samples: a query's samples decode in one batch, got " +
                                                  std::to_string(spec.requests.samples));
  if (spec.scorer) {
    const std::string key = spec.is_synthetic_data() ? "filter" : "verifier";
    if (spec.scorer->heads % p.tp != 0)
      w.child(key).problem_at("model", "expected a model whose attention heads (" +
                                           std::to_string(spec.scorer->heads) +
                                           ") tp divides: it runs on the same replicas, got tp = " +
                                           std::to_string(p.tp));
    if (p.pp > spec.scorer->layers)
      w.child(key).problem_at("model", "expected a model with at least pp (" + std::to_string(p.pp) +
                                           ") layers: it runs on the same replicas, got " +
                                           std::to_string(spec.scorer->layers));
  }
}

// kind video-generation (SCENARIO.md): gpus / sp replicas of a diffusion transformer,
// each generating one video at a time (models/video_step.hpp).
void read_video(const YamlReader& w, WorkloadSpec& spec, const Catalog& catalog) {
  w.expect_map({"name", "kind", "model", "gpus", "parallelism", "video", "requests", "submit", "accelerator", "tenant", "priority"});
  auto model = read_model(w, catalog);
  auto gpus = w.integer("gpus", 1, true);
  spec.submit = Seconds(w.quantity("submit", Dimension::Duration, false, false).value_or(0));
  read_scheduling_keys(w, spec, catalog);
  // The video model has a basis on NVIDIA accelerators only (models/video_step.hpp).
  if (spec.accelerator)
    if (const Accelerator* acc = catalog.accelerator(*spec.accelerator))
      if (std::string why = video_accelerator_problem(*acc); !why.empty())
        w.problem_at("accelerator", "expected an NVIDIA accelerator for video-generation; a replica " + why);
  // parallelism: {sp}, the accelerators that generate one video together (absent: 1).
  bool parallelism_ok = false;
  if (!w.has("parallelism")) {
    w.problem_at("parallelism", "expected a mapping {sp} for one replica, got nothing");
  } else {
    YamlReader p = w.child("parallelism");
    if (p.expect_map({"sp"})) {
      auto sp = p.integer("sp", 1, false);
      if (sp || !p.has("sp")) {
        spec.parallelism.cp = int(sp.value_or(1));
        parallelism_ok = true;
      }
    }
  }
  bool video_ok = false;
  if (!w.has("video")) {
    w.problem_at("video", "expected a mapping {width, height, frames, steps, cfg, image_to_video}, got nothing");
  } else {
    YamlReader v = w.child("video");
    if (v.expect_map({"width", "height", "frames", "steps", "cfg", "image_to_video"})) {
      auto width = v.integer("width", 1, true);
      auto height = v.integer("height", 1, true);
      auto frames = v.integer("frames", 1, true);
      auto steps = v.integer("steps", 1, true);
      auto cfg = v.boolean("cfg", false);
      auto image = v.boolean("image_to_video", false);
      if (width) spec.video.width = int(*width);
      if (height) spec.video.height = int(*height);
      if (frames) spec.video.frames = int(*frames);
      if (steps) spec.video.steps = int(*steps);
      spec.video.cfg = cfg.value_or(true);
      spec.video.image_to_video = image.value_or(false);
      video_ok = width && height && frames && steps && (cfg || !v.has("cfg")) &&
                 (image || !v.has("image_to_video"));
    }
  }
  // requests: {mode, count, rate}: one request is one video.
  bool requests_ok = false;
  if (!w.has("requests")) {
    w.problem_at("requests", "expected a mapping {mode, count, rate}, got nothing");
  } else {
    YamlReader r = w.child("requests");
    if (r.expect_map({"mode", "count", "rate", "diurnal"})) {
      RequestStreamSpec& q = spec.requests;
      auto mode = r.choice("mode", {"offline", "poisson"}, false);
      const bool poisson = mode && *mode == "poisson";
      q.mode = poisson ? ArrivalMode::Poisson : ArrivalMode::Offline;
      auto count = r.integer("count", 1, !poisson);
      if (count) q.count = *count;
      const bool count_ok = count || (poisson && !r.has("count"));
      auto rate = r.quantity("rate", Dimension::EventRate, true, poisson);
      if (rate) q.rate = Rate(*rate);
      if (!poisson && r.has("rate"))
        r.problem_at("rate", "expected `rate` only with mode: poisson (offline requests all arrive at the start)");
      const bool diurnal_ok = read_diurnal(r, q, poisson);
      requests_ok = (mode || !r.has("mode")) && count_ok && (rate || !poisson) && diurnal_ok;
    }
  }
  if (!model || !gpus || !parallelism_ok || !video_ok || !requests_ok) return;
  spec.model = *model;
  if (spec.model.kind != "dit") {
    w.problem_at("model", "expected a diffusion transformer (kind dit) for video-generation, got a " +
                              spec.model.kind);
    return;
  }
  spec.gpus = int(*gpus);
  Parallelism& p = spec.parallelism;
  if (spec.gpus % p.cp != 0)
    w.problem_at("parallelism", "expected sp to divide gpus (" + std::to_string(spec.gpus) + "), got sp = " +
                                    std::to_string(p.cp));
  else
    p.dp = spec.gpus / p.cp;
  if (spec.model.heads % p.cp != 0)
    w.problem_at("parallelism", "expected sp to divide the model's attention heads (" +
                                    std::to_string(spec.model.heads) +
                                    ": Ulysses sequence parallelism splits them), got sp = " + std::to_string(p.cp));
  const ModelSpec& m = spec.model;
  YamlReader v = w.child("video");
  const int pixels_per_token = m.vae_stride_s * m.patch_s;
  for (const char* key : {"width", "height"}) {
    const int value = std::string(key) == "width" ? spec.video.width : spec.video.height;
    if (value % pixels_per_token != 0)
      v.problem_at(key, "expected a multiple of " + std::to_string(pixels_per_token) + " (vae_stride_s " +
                            std::to_string(m.vae_stride_s) + " x patch_s " + std::to_string(m.patch_s) + "), got " +
                            std::to_string(value));
  }
  const int latent_frames = 1 + (spec.video.frames - 1) / m.vae_stride_t;
  if ((spec.video.frames - 1) % m.vae_stride_t != 0 || latent_frames % m.patch_t != 0)
    v.problem_at("frames", "expected 1 + a multiple of vae_stride_t (" + std::to_string(m.vae_stride_t) +
                               ") frames giving a multiple of patch_t (" + std::to_string(m.patch_t) +
                               ") latent frames, got " + std::to_string(spec.video.frames));
}

// Every simulated request costs a few tens of bytes; past this many the memory would grow
// without bound, so such a stream is refused rather than attempted. An open-ended Poisson
// stream only simulates its representative replicas' share.
constexpr double kMaxSimulatedRequests = 1e7;

void check_request_volume(const YamlReader& w, const WorkloadSpec& spec, Seconds horizon) {
  const RequestStreamSpec& q = spec.requests;
  if (!w.has("requests") || spec.gpus == 0) return;
  double expected = q.count ? double(*q.count) : q.rate * (horizon - spec.submit);
  std::string per = "per workload in this version", fix = "a smaller count, rate or horizon";
  const int replicas = spec.replicas();
  if (spec.autoscale) {
    // Its requests are simulated on one replica at a time, by window when there are many
    // (engine/autoscaled_service.cpp): the bound is a sampled window and its warm-up with
    // the service at its smallest (its added replicas might never start).
    expected = q.rate * std::min(horizon - spec.submit, 2 * spec.autoscale->interval) / spec.autoscale->min_replicas;
    per = "per replica in two autoscale intervals";
    fix = "a smaller rate or interval, or more min_replicas";
  } else if (!q.count && spec.disaggregation) {
    // Every request of a simulated prefill replica is simulated (its decode only for some).
    const DisaggregationSpec& d = *spec.disaggregation;
    expected *= double(d.simulated_prefill(replicas, q.representative_replicas)) / d.prefill_replicas();
  } else if (!q.count && q.representative_replicas > 0 && replicas > q.representative_replicas) {
    expected *= double(q.representative_replicas) / replicas;
  }
  if (expected <= kMaxSimulatedRequests) return;
  char text[300];
  std::snprintf(text, sizeof text, "expected at most %.0f requests %s (each one is simulated), got about %.4g%s; give %s",
                kMaxSimulatedRequests, per.c_str(), expected, spec.autoscale ? " at min_replicas" : "", fix.c_str());
  w.child("requests").problem_at(q.count ? "count" : "rate", text);
}

// FP4 compute or NVFP4 weights need FP4 tensor cores (peak_fp4 in the catalog).
// Returns "" if the accelerator has them or the workload does not ask for FP4.
std::string fp4_support_problem(const WorkloadSpec& spec, const Accelerator& acc) {
  if ((spec.precision != Precision::FP4 && !spec.fp4_weights) || acc.supports(Precision::FP4)) return "";
  return acc.name + " has no FP4 tensor cores (" + std::string(spec.fp4_weights ? "weights" : "precision") +
         ": fp4 needs an accelerator with peak_fp4 in the catalog, e.g. B200)";
}

// An inference replica must hold its weights and at least one request's KV cache.
// Returns "" if it does, else why not.
std::string serving_fit_problem(const WorkloadSpec& spec, const Accelerator& acc) {
  if (spec.precision == Precision::FP8 && acc.peak_fp8.value() <= 0) return acc.name + " has no FP8 support";
  if (const std::string why = fp4_support_problem(spec, acc); !why.empty()) return why;
  const ServingMemory mem = serving_memory(serving_setup(spec, acc));
  char text[400];
  if (!mem.weights_fit()) {
    char scorer[96] = "";
    if (mem.co_resident > Bytes(0))
      std::snprintf(scorer, sizeof scorer, " (plus %.1f GB of the %s's)", mem.co_resident.value() / 1e9,
                    spec.is_synthetic_data() ? "filter" : "verifier");
    std::snprintf(text, sizeof text,
                  "needs %.1f GB of weights per accelerator%s on %s (plus a %.1f GB runtime reserve), which has "
                  "%.1f GB (raise tp or pp)",
                  mem.weights.value() / 1e9, scorer, acc.name.c_str(), mem.runtime_reserve.value() / 1e9,
                  mem.capacity.value() / 1e9);
    return text;
  }
  if (spec.disaggregation) {
    // The prefill pool: its weights and one prompt's KV cache.
    const ServingMemory pre = serving_memory(prefill_setup(spec, acc));
    const int prompt = spec.requests.input_lengths.fixed() ? spec.requests.input_tokens
                                                           : spec.requests.input_lengths.largest();
    if (!pre.weights_fit()) {
      std::snprintf(text, sizeof text,
                    "needs %.1f GB of weights per accelerator in a prefill replica (tp %d, pp %d) on %s (plus a "
                    "%.1f GB runtime reserve), which has %.1f GB (raise disaggregation.prefill_parallelism)",
                    pre.weights.value() / 1e9, spec.disaggregation->prefill_tp, spec.disaggregation->prefill_pp,
                    acc.name.c_str(), pre.runtime_reserve.value() / 1e9, pre.capacity.value() / 1e9);
      return text;
    }
    if (pre.kv_tokens < prompt + 1) {
      std::snprintf(text, sizeof text,
                    "leaves room for %.0f tokens of KV cache in a prefill replica (tp %d, pp %d) on %s, less than "
                    "one prompt (%d tokens; raise disaggregation.prefill_parallelism)",
                    pre.kv_tokens, spec.disaggregation->prefill_tp, spec.disaggregation->prefill_pp, acc.name.c_str(),
                    prompt + 1);
      return text;
    }
  }
  const double one_request = spec.kv_tokens_per_request();
  if (mem.kv_tokens < one_request) {
    std::snprintf(text, sizeof text,
                  "leaves room for %.0f tokens of KV cache per replica on %s, less than one %s (%.0f tokens; raise "
                  "tp or pp)",
                  mem.kv_tokens, acc.name.c_str(),
                  spec.is_reasoning() ? "query's prompt + samples x (thinking + output)" : "request's input + output",
                  one_request);
    return text;
  }
  return "";
}

}  // namespace fleetsim
