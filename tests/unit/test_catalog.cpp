// The catalog: the names SCENARIO.md promises, published figures, and the loader's
// refusal of bad entries (with file, line and key path).
#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "catalog/failure_rates.hpp"
#include "catalog/prices.hpp"
#include "core/error.hpp"

using namespace fleetsim;

namespace {

// A small valid catalog for the loader tests; each test breaks one thing.
const std::string kAccelerators = R"(accelerators:
  X1:
    vendor: Acme
    peak_bf16: 100TFLOPS
    hbm: 80GiB
    hbm_bandwidth: 2TBps
    tdp: 500W
    idle: 50W
    matmul_efficiency:
      bf16: 0.8
    attention_efficiency: 0.6
    sources:
      peak_bf16: "datasheet"
      hbm: "datasheet"
      hbm_bandwidth: "datasheet"
      tdp: "datasheet"
      idle: "measured"
      matmul_efficiency: "benchmark"
      attention_efficiency: "paper"
)";

const std::string kNodes = R"(node_types:
  box:
    accelerator: X1
    accelerators: 8
    scale_up_domain: 8
    scale_up_bandwidth: 450GBps
    scale_up_technology: link
    nics: 8
    nic_bandwidth: 400Gbps
    idle_power: 1kW
    max_power: 6kW
    sources:
      accelerators: "datasheet"
      scale_up_domain: "datasheet"
      scale_up_bandwidth: "datasheet"
      nics: "datasheet"
      nic_bandwidth: "datasheet"
      idle_power: "estimate"
      max_power: "datasheet"
)";

const std::string kModels = R"(models:
  tiny:
    kind: llm
    layers: 2
    hidden: 64
    ffn_hidden: 256
    heads: 4
    kv_heads: 2
    vocab: 1000
    sources:
      layers: "config.json"
      hidden: "config.json"
      ffn_hidden: "config.json"
      heads: "config.json"
      kv_heads: "config.json"
      vocab: "config.json"
)";

std::string replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

// Line (1-based) of the first occurrence of `needle` in `text`.
int line_of(const std::string& text, const std::string& needle) {
  size_t at = text.find(needle);
  REQUIRE(at != std::string::npos);
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
}

std::vector<Problem> problems_of(const std::string& accelerators, const std::string& nodes, const std::string& models) {
  try {
    Catalog::from_yaml(accelerators, nodes, models);
  } catch (const InputError& e) {
    return e.problems();
  }
  FAIL("expected an InputError");
  return {};
}

const Problem* find_problem(const std::vector<Problem>& problems, const std::string& key_path) {
  for (const auto& p : problems)
    if (p.key_path == key_path) return &p;
  return nullptr;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("the built-in catalog loads and has every name SCENARIO.md promises") {
  const Catalog& c = Catalog::builtin();
  for (const char* name :
       {"A100-SXM-80G", "H100-SXM", "H200", "H20", "B200", "TPU-v4", "TPU-v5p", "TPU-v6e", "Trainium2", "Inferentia2"}) {
    INFO(name);
    CHECK(c.accelerator(name) != nullptr);
  }
  struct NodeCount {
    const char* name;
    int accelerators;
  };
  for (const auto& n : {NodeCount{"dgx-a100", 8}, NodeCount{"dgx-h100", 8}, NodeCount{"hgx-h200", 8},
                        NodeCount{"hgx-h20", 8}, NodeCount{"dgx-b200", 8}, NodeCount{"tpu-v4-host", 4},
                        NodeCount{"tpu-v5p-host", 4}, NodeCount{"tpu-v6e-host", 8}, NodeCount{"trn2-48xl", 16},
                        NodeCount{"inf2-48xl", 12}}) {
    INFO(n.name);
    const NodeType* node = c.node_type(n.name);
    REQUIRE(node != nullptr);
    CHECK(node->accelerators == n.accelerators);
  }
  for (const char* name : {"gpt3-175b", "llama2-70b", "llama3-8b", "llama3-70b", "llama3-405b", "deepseek-v3",
                           "mixtral-8x7b", "wan2.1-14b"}) {
    INFO(name);
    CHECK(c.model(name) != nullptr);
  }
  CHECK(c.accelerator("no-such-chip") == nullptr);
  CHECK(c.accelerator_names().size() >= 10);
  CHECK(c.node_type_names().size() >= 10);
  CHECK(c.model_names().size() >= 8);
}

TEST_CASE("built-in figures match the published numbers") {
  const Catalog& c = Catalog::builtin();
  const Accelerator& h100 = *c.accelerator("H100-SXM");
  CHECK(h100.peak_bf16.value() == Approx(989e12));
  CHECK(h100.peak_fp8.value() == Approx(1979e12));
  CHECK(h100.peak(Precision::FP8).value() == Approx(1979e12));
  CHECK(h100.hbm_bandwidth.value() == Approx(3.35e12));
  CHECK(h100.tdp.value() == Approx(700));
  CHECK(h100.matmul_efficiency(Precision::BF16) == Approx(794.5 / 989).epsilon(0.002));
  CHECK(h100.vendor == "NVIDIA");

  CHECK(c.accelerator("H20")->hbm_bandwidth.value() == Approx(4.0e12));
  CHECK(c.accelerator("H20")->peak_bf16.value() == Approx(148e12));
  CHECK(c.accelerator("H200")->hbm_bandwidth.value() == Approx(4.8e12));
  CHECK(c.accelerator("B200")->tdp.value() == Approx(1000));
  CHECK(c.accelerator("A100-SXM-80G")->peak_bf16.value() == Approx(312e12));
  CHECK(c.accelerator("A100-SXM-80G")->peak_fp8.value() == 0);  // no FP8 on Ampere
  CHECK(c.accelerator("A100-SXM-80G")->hbm_capacity.value() == Approx(80.0 * 1024 * 1024 * 1024));
  CHECK(c.accelerator("TPU-v4")->peak_fp8.value() == 0);
  CHECK(c.accelerator("TPU-v4")->tdp.value() == Approx(192));  // measured max (Google docs)
  CHECK(c.accelerator("TPU-v4")->idle.value() == Approx(90));  // measured min
  CHECK(c.accelerator("TPU-v5p")->peak_fp8.value() == c.accelerator("TPU-v5p")->peak_bf16.value());
  CHECK(c.accelerator("TPU-v5p")->hbm_bandwidth.value() == Approx(2765e9));
  CHECK(c.accelerator("TPU-v6e")->peak_bf16.value() == Approx(918e12));
  CHECK(c.accelerator("Trainium2")->peak_fp8.value() == Approx(1299e12));
  CHECK(c.accelerator("Inferentia2")->peak_bf16.value() == Approx(190e12));

  const NodeType& dgx = *c.node_type("dgx-h100");
  CHECK(dgx.scale_up_bandwidth.value() == Approx(450e9));  // NVLink4 900 GB/s bidirectional
  CHECK(dgx.nic_bandwidth.value() == Approx(50e9));        // 400 Gb/s
  CHECK(dgx.nics == 8);
  CHECK(dgx.max_power.value() == Approx(10.2e3));
  CHECK(c.node_type("dgx-b200")->max_power.value() == Approx(14.3e3));
  CHECK(c.node_type("dgx-a100")->max_power.value() == Approx(6.5e3));
  CHECK(c.node_type("dgx-a100")->nic_bandwidth.value() == Approx(25e9));  // 200 Gb/s HDR
  CHECK(c.node_type("trn2-48xl")->nics * c.node_type("trn2-48xl")->nic_bandwidth.value() == Approx(3.2e12 / 8));

  const ModelSpec& ds = *c.model("deepseek-v3");
  CHECK(ds.is_moe());
  CHECK(ds.layers == 61);
  CHECK(ds.experts == 256);
  CHECK(ds.top_k == 8);
  CHECK(ds.expert_ffn_hidden == 2048);
  CHECK(ds.shared_experts == 1);
  CHECK(ds.dense_layers == 3);
  CHECK(ds.vocab == 129280);
  CHECK(c.model("gpt3-175b")->mlp == MlpKind::GeLU);
  CHECK(c.model("gpt3-175b")->ffn_hidden == 4 * 12288);
  CHECK(c.model("llama2-70b")->mlp == MlpKind::SwiGLU);
  CHECK_FALSE(c.model("llama3-70b")->is_moe());
  const ModelSpec& wan = *c.model("wan2.1-14b");
  CHECK(wan.kind == "dit");
  CHECK(wan.hidden == 5120);
  CHECK(wan.vocab == 0);
  // 1280x720, 81 frames -> 21 x 45 x 80 tokens.
  CHECK((1 + (81 - 1) / wan.vae_stride_t) / wan.patch_t == 21);
  CHECK(720 / wan.vae_stride_s / wan.patch_s == 45);
  CHECK(1280 / wan.vae_stride_s / wan.patch_s == 80);
}

TEST_CASE("every node type's accelerator resolves and every number has a source") {
  const Catalog& c = Catalog::builtin();
  for (const auto& name : c.node_type_names()) {
    INFO(name);
    const NodeType& n = *c.node_type(name);
    REQUIRE(c.accelerator(n.accelerator) != nullptr);
    CHECK(n.scale_up_domain >= 1);
    CHECK(n.max_power.value() >= n.accelerators * c.accelerator(n.accelerator)->tdp.value());
    for (const char* key : {"accelerators", "scale_up_domain", "scale_up_bandwidth", "nics", "nic_bandwidth",
                            "idle_power", "max_power"})
      CHECK(n.sources.count(key) == 1);
  }
  for (const auto& name : c.accelerator_names()) {
    INFO(name);
    const Accelerator& a = *c.accelerator(name);
    for (const char* key :
         {"peak_bf16", "hbm", "hbm_bandwidth", "tdp", "idle", "matmul_efficiency.bf16", "attention_efficiency"})
      CHECK(a.sources.count(key) == 1);
    if (a.peak_fp8.value() > 0) {
      CHECK(a.sources.count("peak_fp8") == 1);
      CHECK(a.matmul_efficiency_fp8 > 0);
    }
    CHECK(a.matmul_efficiency_bf16 > 0.5);
    CHECK(a.matmul_efficiency_bf16 <= 1.0);
    CHECK(a.idle < a.tdp);
  }
  for (const auto& name : c.model_names()) {
    INFO(name);
    const ModelSpec& m = *c.model(name);
    for (const char* key : {"layers", "hidden", "ffn_hidden", "heads", "kv_heads", "vocab"})
      CHECK(m.sources.count(key) == 1);
    CHECK(m.heads % m.kv_heads == 0);
  }
}

TEST_CASE("llama3-405b's fields give ~405B parameters") {
  const ModelSpec& m = *Catalog::builtin().model("llama3-405b");
  double h = m.hidden;
  double kv_width = static_cast<double>(m.kv_heads) * h / m.heads;
  double attention = h * h + 2 * h * kv_width + h * h;  // q, k and v, o
  double mlp = 3 * h * m.ffn_hidden;                    // SwiGLU: gate, up, down
  double embeddings = 2.0 * m.vocab * h;                // untied input and output
  double params = m.layers * (attention + mlp) + embeddings;
  CHECK(params == Approx(405e9).epsilon(0.01));
}

TEST_CASE("describe() lists every entry with units") {
  const Catalog& c = Catalog::builtin();
  std::string text = c.describe();
  for (const auto& name : c.accelerator_names()) CHECK(contains(text, name));
  for (const auto& name : c.node_type_names()) CHECK(contains(text, name));
  for (const auto& name : c.model_names()) CHECK(contains(text, name));
  CHECK(contains(text, "989 TFLOP/s"));
  CHECK(contains(text, "3.35 TB/s"));
  CHECK(contains(text, "10.2 kW"));
  CHECK(contains(text, "400 Gb/s"));
  CHECK(contains(text, "80 GiB"));     // A100 HBM
  CHECK(contains(text, "405.8B"));     // llama3-405b parameters
}

TEST_CASE("the small test catalog is valid") {
  Catalog c = Catalog::from_yaml(kAccelerators, kNodes, kModels);
  REQUIRE(c.accelerator("X1") != nullptr);
  CHECK(c.accelerator("X1")->hbm_capacity.value() == Approx(80.0 * 1024 * 1024 * 1024));
  CHECK(c.accelerator("X1")->matmul_efficiency_bf16 == Approx(0.8));
  CHECK(c.accelerator("X1")->sources.at("matmul_efficiency") == "benchmark");
  CHECK(c.node_type("box")->accelerator == "X1");
  CHECK(c.model("tiny")->mlp == MlpKind::SwiGLU);  // the default
}

TEST_CASE("a malformed value is an InputError with file, line and key path") {
  std::string bad = replace(kAccelerators, "peak_bf16: 100TFLOPS", "peak_bf16: 100");
  auto problems = problems_of(bad, kNodes, kModels);
  const Problem* p = find_problem(problems, "accelerators.X1.peak_bf16");
  REQUIRE(p != nullptr);
  CHECK(p->where.file == "catalog/accelerators.yaml");
  CHECK(p->where.line == line_of(bad, "peak_bf16: 100"));
  CHECK(p->where.column == 16);
  CHECK(contains(p->message, "expected"));
  CHECK(contains(p->message, "TFLOPS"));  // says which unit to append
  CHECK(contains(p->to_string(), "catalog/accelerators.yaml:4:16: accelerators.X1.peak_bf16: expected"));

  std::string wrong_unit = replace(kNodes, "nic_bandwidth: 400Gbps", "nic_bandwidth: 400W");
  problems = problems_of(kAccelerators, wrong_unit, kModels);
  p = find_problem(problems, "node_types.box.nic_bandwidth");
  REQUIRE(p != nullptr);
  CHECK(p->where.file == "catalog/nodes.yaml");
  CHECK(p->where.line == line_of(wrong_unit, "400W"));
  CHECK(contains(p->message, "bandwidth"));

  std::string not_a_count = replace(kModels, "layers: 2", "layers: 2.5");
  problems = problems_of(kAccelerators, kNodes, not_a_count);
  p = find_problem(problems, "models.tiny.layers");
  REQUIRE(p != nullptr);
  CHECK(p->where.file == "catalog/models.yaml");
  CHECK(contains(p->message, "whole number"));
}

TEST_CASE("broken YAML, missing and unknown fields are refused") {
  auto problems = problems_of(kAccelerators + "  X2: [unclosed\n", kNodes, kModels);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].where.file == "catalog/accelerators.yaml");
  CHECK(problems[0].where.line > 0);
  CHECK(contains(problems[0].message, "expected valid YAML"));

  std::string missing = replace(kAccelerators, "    tdp: 500W\n", "");
  missing = replace(missing, "      tdp: \"datasheet\"\n", "");
  problems = problems_of(missing, kNodes, kModels);
  const Problem* p = find_problem(problems, "accelerators.X1.tdp");
  REQUIRE(p != nullptr);
  CHECK(p->where.line == line_of(missing, "vendor"));  // the entry's first line
  CHECK(contains(p->message, "missing"));

  std::string unknown = replace(kModels, "    heads: 4\n", "    heads: 4\n    head: 4\n");
  problems = problems_of(kAccelerators, kNodes, unknown);
  p = find_problem(problems, "models.tiny.head");
  REQUIRE(p != nullptr);
  CHECK(p->where.line == line_of(unknown, "head: 4\n    kv"));
  CHECK(contains(p->message, "unknown field"));

  problems = problems_of(kAccelerators, kNodes, replace(kModels, "models:", "modles:"));
  p = find_problem(problems, "modles");
  REQUIRE(p != nullptr);
  CHECK(p->where.line == 1);
  CHECK(contains(p->message, "did you mean 'models'"));
}

TEST_CASE("a number without a source is refused") {
  std::string unsourced = replace(kAccelerators, "      idle: \"measured\"\n", "");
  auto problems = problems_of(unsourced, kNodes, kModels);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].key_path == "accelerators.X1.idle");
  CHECK(problems[0].where.line == line_of(unsourced, "idle: 50W"));
  CHECK(contains(problems[0].message, "sources"));

  // A nested number is covered by a source for its own key or for the mapping around it.
  std::string nested = replace(kAccelerators, "      matmul_efficiency: \"benchmark\"\n",
                               "      matmul_efficiency.bf16: \"benchmark\"\n");
  CHECK_NOTHROW(Catalog::from_yaml(nested, kNodes, kModels));
  std::string uncited = replace(kAccelerators, "      matmul_efficiency: \"benchmark\"\n", "");
  problems = problems_of(uncited, kNodes, kModels);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].key_path == "accelerators.X1.matmul_efficiency.bf16");

  // An empty citation is no citation; a citation for a field the entry lacks is a typo.
  problems = problems_of(replace(kAccelerators, "idle: \"measured\"", "idle: \"\""), kNodes, kModels);
  CHECK(find_problem(problems, "accelerators.X1.sources.idle") != nullptr);
  problems = problems_of(replace(kAccelerators, "      idle: \"measured\"\n", "      idel: \"measured\"\n"),
                         kNodes, kModels);
  CHECK(find_problem(problems, "accelerators.X1.sources.idel") != nullptr);
  CHECK(find_problem(problems, "accelerators.X1.idle") != nullptr);

  // Models too.
  problems = problems_of(kAccelerators, kNodes, replace(kModels, "      vocab: \"config.json\"\n", ""));
  CHECK(find_problem(problems, "models.tiny.vocab") != nullptr);
}

TEST_CASE("a node type naming an unknown accelerator is refused") {
  std::string bad = replace(kNodes, "accelerator: X1", "accelerator: X11");
  auto problems = problems_of(kAccelerators, bad, kModels);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].key_path == "node_types.box.accelerator");
  CHECK(problems[0].where.file == "catalog/nodes.yaml");
  CHECK(problems[0].where.line == line_of(bad, "X11"));
  CHECK(contains(problems[0].message, "did you mean 'X1'"));
}

TEST_CASE("inconsistent entries are refused") {
  // A unit slip that leaves the node unable to power its accelerators.
  auto problems = problems_of(kAccelerators, replace(kNodes, "max_power: 6kW", "max_power: 6W"), kModels);
  CHECK(find_problem(problems, "node_types.box.max_power") != nullptr);
  // GQA needs kv_heads to divide heads.
  problems = problems_of(kAccelerators, kNodes, replace(kModels, "kv_heads: 2", "kv_heads: 3"));
  CHECK(find_problem(problems, "models.tiny.kv_heads") != nullptr);
  // MoE fields need experts.
  problems = problems_of(kAccelerators, kNodes,
                         replace(kModels, "    vocab: 1000\n", "    vocab: 1000\n    top_k: 2\n"));
  CHECK(find_problem(problems, "models.tiny.top_k") != nullptr);
  // Multi-head Latent Attention needs kv_lora_rank and the three head dimensions together.
  {
    const std::string mla = replace(kModels, "    vocab: 1000\n",
                                    "    vocab: 1000\n    kv_lora_rank: 32\n    qk_nope_head_dim: 16\n"
                                    "    qk_rope_head_dim: 8\n");
    problems = problems_of(kAccelerators, kNodes, mla);
    const Problem* p = find_problem(problems, "models.tiny.v_head_dim");
    REQUIRE(p != nullptr);
    CHECK(p->message.find("together") != std::string::npos);
    problems = problems_of(kAccelerators, kNodes, replace(mla, "kv_lora_rank: 32", "kv_lora_rank: 0"));
    CHECK(find_problem(problems, "models.tiny.kv_lora_rank") != nullptr);
  }
  // An FP8 efficiency without FP8 peak.
  problems = problems_of(replace(kAccelerators, "      bf16: 0.8\n", "      bf16: 0.8\n      fp8: 0.7\n"), kNodes,
                         kModels);
  CHECK(find_problem(problems, "accelerators.X1.matmul_efficiency.fp8") != nullptr);
  // Efficiency is a fraction.
  problems = problems_of(replace(kAccelerators, "bf16: 0.8", "bf16: 80%"), kNodes, kModels);
  CHECK(find_problem(problems, "accelerators.X1.matmul_efficiency.bf16") != nullptr);
  // Two entries with one name.
  std::string twice = kModels + "  tiny:\n    kind: llm\n";
  problems = problems_of(kAccelerators, kNodes, twice);
  CHECK(find_problem(problems, "models.tiny") != nullptr);
}

TEST_CASE("every problem is reported at once") {
  std::string accels = replace(kAccelerators, "tdp: 500W", "tdp: 500");
  std::string models = replace(kModels, "kind: llm", "kind: lmm");
  auto problems = problems_of(accels, kNodes, models);
  CHECK(find_problem(problems, "accelerators.X1.tdp") != nullptr);
  const Problem* kind = find_problem(problems, "models.tiny.kind");
  REQUIRE(kind != nullptr);
  CHECK(contains(kind->message, "did you mean 'llm'"));
}

TEST_CASE("Every catalog node type has a price, and every price a dated source") {
  const Catalog& c = Catalog::builtin();
  const PriceBook& p = PriceBook::builtin();
  const std::regex year("(19|20)[0-9][0-9]");
  for (const auto& name : c.node_type_names()) {
    INFO(name);
    auto it = p.node_usd.find(name);
    REQUIRE(it != p.node_usd.end());
    CHECK(it->second.value > 0);
    CHECK(std::regex_search(it->second.source, year));
  }
  for (const PricedValue* v : {&p.energy_usd_per_kwh, &p.facility_usd_per_w, &p.network_usd_per_port,
                               &p.hardware_years, &p.facility_years}) {
    CHECK(v->value > 0);
    CHECK(!v->source.empty());
  }
}

TEST_CASE("A price without a source, or an unknown price key, is refused with its line") {
  const std::string base =
      "defaults:\n"
      "  energy_usd_per_kwh: {value: 0.1, source: s 2024}\n"
      "  facility_usd_per_w: {value: 10, source: s 2024}\n"
      "  network_usd_per_port: {value: 1000, source: s 2024}\n"
      "  hardware_years: {value: 5, source: s 2024}\n"
      "  facility_years: {value: 15, source: s 2024}\n";
  REQUIRE_NOTHROW(PriceBook::from_yaml(base + "nodes:\n  n1: {value: 100, source: s 2024}\n"));
  try {
    PriceBook::from_yaml(base + "nodes:\n  n1: {value: 100}\n");
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    CHECK(e.problems().at(0).to_string() == "catalog/prices.yaml:8:7: nodes.n1.source: expected the figure's source and date, got nothing");
  }
  try {
    PriceBook::from_yaml(base + "  energy_usd_per_kWh: {value: 1, source: s}\nnodes: {}\n");
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    CHECK(e.problems().at(0).to_string() ==
          "catalog/prices.yaml:7:3: defaults.energy_usd_per_kWh: expected one of the default prices, got 'energy_usd_per_kWh' (did you mean 'energy_usd_per_kwh'?)");
  }
}

TEST_CASE("failure rates: derived from Llama 3's 54-day record, per node and per accelerator") {
  const FailureRates& rates = FailureRates::builtin();
  double events = 0;
  for (const auto& c : rates.components) events += c.events;
  // Table 5: 419 unexpected interruptions in 54 days on 16,384 H100 (2,048 nodes of 8).
  CHECK(events == 419);
  CHECK(rates.record_days == 54);
  CHECK(rates.record_nodes == 2048);
  CHECK(rates.per_node_day(8) == Approx(419.0 / (54 * 2048)));
  // GPU and HBM (196 + 72 events) scale with a node's accelerators, the rest per node.
  CHECK(rates.per_node_day(4) == Approx((268.0 / 2 + 151.0) / (54 * 2048)));
  CHECK(!rates.source.empty());
}

TEST_CASE("failure rates: a record without a source or a bad `per` is refused with its key") {
  const std::string text = R"(record: {days: 54, nodes: 2048, accelerators_per_node: 8}
components:
  gpu: {events: 1, per: socket, holds: "x"}
)";
  try {
    FailureRates::from_yaml(text);
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find("catalog/failures.yaml:1:9: record.source: expected the record's source") != std::string::npos);
    CHECK(what.find("components.gpu.per: expected node or accelerator, got 'socket'") != std::string::npos);
  }
}

TEST_CASE("FP4: peak_fp4 is optional and sourced; an FP4 efficiency needs it") {
  const Catalog& c = Catalog::builtin();
  CHECK(c.accelerator("B200")->peak(Precision::FP4).value() == Approx(9000e12));  // 144 PF sparse / 8 / 2
  CHECK(c.accelerator("B200")->supports(Precision::FP4));
  CHECK_FALSE(c.accelerator("H100-SXM")->supports(Precision::FP4));
  CHECK_FALSE(c.accelerator("H20")->supports(Precision::FP4));

  const std::string with_fp4 = replace(replace(kAccelerators, "    hbm: 80GiB\n", "    peak_fp4: 400TFLOPS\n    hbm: 80GiB\n"),
                                       "      bf16: 0.8\n", "      bf16: 0.8\n      fp4: 0.7\n");
  // Without its citation the FP4 peak is refused, like every number.
  const auto unsourced_problems = problems_of(with_fp4, kNodes, kModels);
  const Problem* unsourced = find_problem(unsourced_problems, "accelerators.X1.peak_fp4");
  REQUIRE(unsourced != nullptr);
  CHECK(contains(unsourced->message, "expected a citation for this number under sources: peak_fp4"));
  const Catalog ok = Catalog::from_yaml(
      replace(with_fp4, "      peak_bf16: \"datasheet\"\n", "      peak_bf16: \"datasheet\"\n      peak_fp4: \"datasheet\"\n"),
      kNodes, kModels);
  CHECK(ok.accelerator("X1")->peak(Precision::FP4).value() == Approx(400e12));
  CHECK(ok.accelerator("X1")->matmul_efficiency(Precision::FP4) == 0.7);
  // An FP4 efficiency without an FP4 peak.
  const std::string efficiency_only = replace(kAccelerators, "      bf16: 0.8\n", "      bf16: 0.8\n      fp4: 0.7\n");
  const auto problems = problems_of(efficiency_only, kNodes, kModels);
  const Problem* p = find_problem(problems, "accelerators.X1.matmul_efficiency.fp4");
  REQUIRE(p != nullptr);
  CHECK(contains(p->message, "expected no FP4 efficiency for an accelerator without peak_fp4"));
}
