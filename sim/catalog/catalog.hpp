// The catalog: what accelerators, node types and model presets fleetsim knows, loaded
// from the YAML files in sim/catalog/data/ (embedded into the binary at build time, so
// `build/fleetsim` runs from any directory). Every number in those files carries its
// source in the entry's `sources:` mapping; the loader refuses an entry whose number
// has no source.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/units.hpp"

namespace fleetsim {

enum class Precision { BF16, FP8, FP4 };

// "bf16", "fp8", "fp4": the scenario's spelling.
const char* precision_name(Precision p);

struct Accelerator {
  std::string name;    // "H100-SXM"
  std::string vendor;  // "NVIDIA"
  FlopRate peak_bf16;  // dense
  FlopRate peak_fp8;   // dense; 0 when the accelerator has no FP8 (A100, TPU v4)
  FlopRate peak_fp4;   // dense; 0 when the accelerator has no FP4 tensor cores (all but Blackwell)
  Bytes hbm_capacity;
  ByteRate hbm_bandwidth;
  Watts tdp;   // board power at full load
  Watts idle;  // board power when idle
  // Fraction of dense peak that large transformer GEMMs reach in training, per precision.
  double matmul_efficiency_bf16 = 0;
  double matmul_efficiency_fp8 = 0;
  double matmul_efficiency_fp4 = 0;
  // Fraction of dense BF16 peak a fused (flash) attention kernel reaches, forward and
  // backward together, on long sequences.
  double attention_efficiency = 0;
  // Streaming multiprocessors (NVIDIA): how many GEMM output tiles run at once, i.e. the
  // wave size of a tiled GEMM. 0 where the catalog does not model GEMM tiling (TPU,
  // Trainium): their GEMMs run at matmul_efficiency whatever their shape.
  int streaming_multiprocessors = 0;
  std::map<std::string, std::string> sources;  // key -> citation

  FlopRate peak(Precision p) const {
    return p == Precision::BF16 ? peak_bf16 : p == Precision::FP8 ? peak_fp8 : peak_fp4;
  }
  double matmul_efficiency(Precision p) const {
    return p == Precision::BF16 ? matmul_efficiency_bf16
           : p == Precision::FP8 ? matmul_efficiency_fp8
                                 : matmul_efficiency_fp4;
  }
  bool supports(Precision p) const { return peak(p).value() > 0; }
};

struct NodeType {
  std::string name;         // "dgx-h100"
  std::string accelerator;  // catalog name of its accelerators
  int accelerators = 0;     // per node
  // Scale-up domain (NVLink/NVSwitch, ICI, NeuronLink): how many accelerators share it
  // and the bandwidth one accelerator has into it, per direction.
  int scale_up_domain = 0;
  ByteRate scale_up_bandwidth;
  std::string scale_up_technology;  // "NVLink4 + NVSwitch"
  // 0 for a switched domain (NVSwitch: any group gets the full per-accelerator bandwidth);
  // 2 or 3 for a torus (ICI, NeuronLink), where scale_up_bandwidth is the sum over all of
  // an accelerator's links and a group only uses the links of the dimensions it spans.
  int scale_up_torus_dims = 0;
  // Scale-out NICs of the node.
  int nics = 0;
  ByteRate nic_bandwidth;  // per NIC, per direction
  Watts idle_power;        // whole node, accelerators idle
  Watts max_power;         // whole node at full load
  std::map<std::string, std::string> sources;
};

enum class MlpKind { SwiGLU, GeLU };

// A transformer: an LLM (decoder) or a diffusion transformer (kind "dit").
struct ModelSpec {
  std::string name;  // preset name, or "inline"
  std::string kind = "llm";
  int layers = 0;
  int hidden = 0;
  int ffn_hidden = 0;  // dense MLP width (for MoE: width of the dense layers, if any)
  int heads = 0;
  int kv_heads = 0;
  int vocab = 0;
  MlpKind mlp = MlpKind::SwiGLU;
  // Trains with hidden dropout, whose 1-byte masks it stores for the backward pass
  // (Megatron-LM's default: hidden_dropout 0.1, megatron/training/arguments.py); Llama,
  // Mixtral and DeepSeek-V3 have none.
  bool dropout = true;
  // Mixture of experts (experts == 0 means dense).
  int experts = 0;
  int top_k = 0;
  int expert_ffn_hidden = 0;
  int shared_experts = 0;
  int dense_layers = 0;  // leading layers with a dense MLP (DeepSeek-V3: 3)
  int max_routed_nodes = 0;  // node-limited routing: a token's experts span at most this many nodes (0: no limit)
  // Multi-head Latent Attention (DeepSeek-V2, arXiv 2405.04434, sec. 2.1; names as in
  // DeepSeek's config.json). kv_lora_rank == 0 means ordinary (grouped-query) attention and
  // kv_heads/hidden decide the shapes; otherwise these do and kv_heads is not used:
  // q: hidden -> q_lora_rank (norm) -> heads x (qk_nope + qk_rope) (q_lora_rank 0: hidden ->
  // heads x (qk_nope + qk_rope) directly); kv: hidden -> kv_lora_rank + qk_rope (norm on the
  // latent) -> heads x (qk_nope + v); o: heads x v -> hidden. The KV cache holds the latent
  // and the shared rope key: kv_lora_rank + qk_rope values per token and layer.
  int q_lora_rank = 0;
  int kv_lora_rank = 0;
  int qk_nope_head_dim = 0;
  int qk_rope_head_dim = 0;
  int v_head_dim = 0;
  // Diffusion transformer (kind "dit") video geometry; all 0 for LLMs. A video of F
  // frames at W x H pixels becomes (1 + (F-1)/vae_stride_t)/patch_t latent frames of
  // (H/vae_stride_s/patch_s) x (W/vae_stride_s/patch_s) tokens (Wan2.1 720p, 81 frames:
  // 21 x 45 x 80 = 75600 tokens).
  int vae_stride_t = 0;  // video frames per latent frame
  int vae_stride_s = 0;  // pixels per latent pixel, along height and width
  int patch_t = 0;       // latent frames per token
  int patch_s = 0;       // latent pixels per token, along height and width
  int text_len = 0;      // text tokens each block cross-attends to (0: no cross-attention)
  std::map<std::string, std::string> sources;

  bool is_moe() const { return experts > 0; }
  bool is_mla() const { return kv_lora_rank > 0; }
};

class Catalog {
 public:
  // The catalog built into the binary.
  static const Catalog& builtin();
  // Parses catalog YAML texts (for tests). Errors name the texts catalog/accelerators.yaml,
  // catalog/nodes.yaml and catalog/models.yaml; every problem found is thrown at once.
  static Catalog from_yaml(const std::string& accelerators_yaml, const std::string& nodes_yaml,
                           const std::string& models_yaml);

  const Accelerator* accelerator(const std::string& name) const;
  const NodeType* node_type(const std::string& name) const;
  const ModelSpec* model(const std::string& name) const;

  std::vector<std::string> accelerator_names() const;
  std::vector<std::string> node_type_names() const;
  std::vector<std::string> model_names() const;

  // The human listing printed by `fleetsim catalog`.
  std::string describe() const;

 private:
  std::map<std::string, Accelerator> accelerators_;
  std::map<std::string, NodeType> node_types_;
  std::map<std::string, ModelSpec> models_;
};

}  // namespace fleetsim
