// Loads the catalog YAML files (see catalog.hpp and sim/catalog/data/*.yaml).
//
// Every problem found is collected with its file, line, column and key path, and all of
// them are thrown together as one InputError, so a broken catalog is fixed in one pass.
#include "catalog/catalog.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "catalog/yaml_location.hpp"

namespace fleetsim {

// Defined in the file embed_data.cmake generates from sim/catalog/data/*.yaml.
namespace catalog_data {
extern const std::string accelerators;
extern const std::string nodes;
extern const std::string models;
}  // namespace catalog_data

namespace {

const char* const kAcceleratorsFile = "catalog/accelerators.yaml";
const char* const kNodesFile = "catalog/nodes.yaml";
const char* const kModelsFile = "catalog/models.yaml";

SourceLocation location(const std::string& file, const YAML::Mark& mark) { return yaml_location(file, mark); }

// "got ..." wording for a YAML node.
std::string describe_node(const YAML::Node& node) {
  if (!node.IsDefined()) return "nothing (the field is missing)";
  switch (node.Type()) {
    case YAML::NodeType::Null: return "an empty value";
    case YAML::NodeType::Scalar: return "'" + node.Scalar() + "'";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

std::string trim(const std::string& s) {
  size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  size_t end = s.find_last_not_of(" \t");
  return s.substr(begin, end - begin + 1);
}

std::vector<std::string> split_dots(const std::string& key) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::string match = closest_match(word, candidates);
  return match.empty() ? "" : " (did you mean '" + match + "'?)";
}

// Reads the fields of one catalog entry (a mapping), remembering which fields exist and
// which of them are numbers, so that finish() can refuse unknown fields and numbers
// without a source.
class EntryReader {
 public:
  EntryReader(std::string file, std::string path, YAML::Node entry, ProblemList& problems)
      : file_(std::move(file)), path_(std::move(path)), entry_(std::move(entry)), problems_(problems) {}

  void problem_at(const YAML::Node& node, const std::string& key, const std::string& message) {
    YAML::Mark mark = node.IsDefined() ? node.Mark() : entry_.Mark();
    problems_.add(location(file_, mark), key.empty() ? path_ : path_ + "." + key, message);
  }

  // The node at a dotted key ("matmul_efficiency.bf16"); not IsDefined() when absent.
  // Records the key as a field this entry may have.
  YAML::Node find(const std::string& key) {
    known_.insert(key);
    std::vector<std::string> parts = split_dots(key);
    std::string prefix;  // dotted path of `node`
    YAML::Node node = entry_;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i > 0) containers_.insert(prefix);
      if (!node.IsDefined()) return undefined();
      if (!node.IsMap()) {
        if (i > 0 && !node.IsNull() && reported_containers_.insert(prefix).second)
          problem_at(node, prefix, "expected a mapping (" + parts[i] + ": ...), got " + describe_node(node));
        return undefined();
      }
      const YAML::Node& map = node;
      YAML::Node child = map[parts[i]];
      if (!child.IsDefined()) return undefined();  // also guards reset() from invalid nodes
      node.reset(child);  // rebinds `node`; operator= would rewrite the tree
      prefix += (i > 0 ? "." : "") + parts[i];
    }
    if (node.IsDefined()) present_.insert(key);
    return node;
  }

  std::optional<std::string> text(const std::string& key, bool required,
                                  const std::vector<std::string>& allowed = {}) {
    YAML::Node node = find(key);
    std::string expected = allowed.empty() ? "a name" : "one of " + join(allowed);
    if (!node.IsDefined()) {
      if (required) problem_at(node, key, "expected " + expected + ", got nothing (the field is missing)");
      return std::nullopt;
    }
    if (!node.IsScalar() || trim(node.Scalar()).empty()) {
      problem_at(node, key, "expected " + expected + ", got " + describe_node(node));
      return std::nullopt;
    }
    std::string value = trim(node.Scalar());
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
      problem_at(node, key, "expected " + expected + ", got '" + value + "'" + did_you_mean(value, allowed));
      return std::nullopt;
    }
    return value;
  }

  // A physical quantity with its unit. Zero is refused unless allow_zero.
  std::optional<double> quantity(const std::string& key, Dimension dim, bool required, bool allow_zero = false) {
    YAML::Node node = find(key);
    std::string expected = std::string("expected ") + std::string(dimension_name(dim)) +
                           " with a unit (for example " + std::string(dimension_example(dim)) + ")";
    if (!node.IsDefined()) {
      if (required) problem_at(node, key, expected + ", got nothing (the field is missing)");
      return std::nullopt;
    }
    numbers_.emplace_back(key, node);
    if (!node.IsScalar()) {
      problem_at(node, key, expected + ", got " + describe_node(node));
      return std::nullopt;
    }
    std::string error;
    std::optional<double> value = parse_quantity(node.Scalar(), dim, &error);
    if (!value) {
      problem_at(node, key, error);
      return std::nullopt;
    }
    if (*value == 0 && !allow_zero) {
      problem_at(node, key, expected + " greater than zero, got '" + trim(node.Scalar()) + "'");
      return std::nullopt;
    }
    return value;
  }

  // A whole number (a count) of at least `minimum`.
  std::optional<int> count(const std::string& key, bool required, int minimum) {
    YAML::Node node = find(key);
    std::string expected = "expected a whole number of at least " + std::to_string(minimum) + " (a count)";
    if (!node.IsDefined()) {
      if (required) problem_at(node, key, expected + ", got nothing (the field is missing)");
      return std::nullopt;
    }
    numbers_.emplace_back(key, node);
    if (!node.IsScalar()) {
      problem_at(node, key, expected + ", got " + describe_node(node));
      return std::nullopt;
    }
    std::string s = trim(node.Scalar());
    char* end = nullptr;
    errno = 0;
    long value = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || value > 1000000000L ||
        value < -1000000000L) {
      problem_at(node, key, expected + ", got '" + s + "'");
      return std::nullopt;
    }
    if (value < minimum) {
      problem_at(node, key, expected + ", got " + s);
      return std::nullopt;
    }
    return static_cast<int>(value);
  }

  // A bare number in (0, 1].
  std::optional<double> ratio(const std::string& key, bool required) {
    YAML::Node node = find(key);
    std::string expected = "expected a fraction as a bare number in (0, 1] (for example 0.8)";
    if (!node.IsDefined()) {
      if (required) problem_at(node, key, expected + ", got nothing (the field is missing)");
      return std::nullopt;
    }
    numbers_.emplace_back(key, node);
    if (!node.IsScalar()) {
      problem_at(node, key, expected + ", got " + describe_node(node));
      return std::nullopt;
    }
    std::string s = trim(node.Scalar());
    char* end = nullptr;
    double value = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(value) || value <= 0 || value > 1) {
      problem_at(node, key, expected + ", got '" + s + "'");
      return std::nullopt;
    }
    return value;
  }

  bool has(const std::string& key) const { return present_.count(key) > 0; }

  YAML::Node node_of(const std::string& key) const {
    YAML::Node node = entry_;
    for (const auto& part : split_dots(key)) {
      if (!node.IsDefined() || !node.IsMap()) return undefined();
      const YAML::Node& map = node;
      YAML::Node child = map[part];
      if (!child.IsDefined()) return undefined();
      node.reset(child);
    }
    return node;
  }

  // Refuses fields nobody asked for, numbers without a source and sources for fields
  // that do not exist. Returns the sources.
  std::map<std::string, std::string> finish() {
    check_unknown(entry_, "");
    std::map<std::string, std::string> sources;
    const YAML::Node& entry = entry_;
    const YAML::Node node = entry["sources"];
    if (node.IsDefined() && !node.IsMap()) {
      problem_at(node, "sources",
                 "expected a mapping from each numeric field to its citation, got " + describe_node(node));
    } else if (node.IsDefined()) {
      std::vector<std::string> fields(present_.begin(), present_.end());
      for (auto it = node.begin(); it != node.end(); ++it) {
        std::string key = it->first.IsScalar() ? trim(it->first.Scalar()) : "";
        if (key.empty()) {
          problem_at(it->first, "sources", "expected a field name as the key, got " + describe_node(it->first));
          continue;
        }
        if (sources.count(key)) {
          problem_at(it->first, "sources." + key, "expected each field to be cited once, got a second citation");
          continue;
        }
        if (!names_field(key)) {
          problem_at(it->first, "sources." + key,
                     "expected a citation for a field of this entry, got one for '" + key +
                         "', which the entry does not have" + did_you_mean(key, fields));
          continue;
        }
        if (!it->second.IsScalar() || trim(it->second.Scalar()).empty()) {
          problem_at(it->second, "sources." + key,
                     "expected a citation (paper, datasheet or URL, with the arithmetic if derived), got " +
                         describe_node(it->second));
          continue;
        }
        sources[key] = trim(it->second.Scalar());
      }
    }
    for (const auto& [key, value] : numbers_) {
      if (!cited(key, sources))
        problem_at(value, key,
                   "expected a citation for this number under sources: " + key +
                       " (paper, datasheet or URL, with the arithmetic if derived), got none");
    }
    return sources;
  }

 private:
  static YAML::Node undefined() { return YAML::Node(YAML::NodeType::Undefined); }

  static std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (size_t i = 0; i < words.size(); ++i) out += (i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") + words[i];
    return out;
  }

  // A source key may name a field or a mapping of fields ("matmul_efficiency").
  bool names_field(const std::string& key) const {
    for (const auto& field : present_)
      if (field == key || field.compare(0, key.size() + 1, key + ".") == 0) return true;
    return false;
  }

  static bool cited(const std::string& key, const std::map<std::string, std::string>& sources) {
    std::string prefix = key;
    while (true) {
      if (sources.count(prefix)) return true;
      size_t dot = prefix.rfind('.');
      if (dot == std::string::npos) return false;
      prefix.resize(dot);
    }
  }

  void check_unknown(const YAML::Node& map, const std::string& prefix) {
    if (!map.IsMap()) return;
    std::set<std::string> seen;
    std::vector<std::string> candidates;
    for (const auto& k : known_) {
      if (k.compare(0, prefix.size(), prefix) != 0) continue;
      std::string rest = k.substr(prefix.size());
      candidates.push_back(rest.substr(0, rest.find('.')));
    }
    if (prefix.empty()) candidates.push_back("sources");
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar()) {
        problem_at(it->first, prefix.empty() ? "" : prefix.substr(0, prefix.size() - 1),
                   "expected a field name as the key, got " + describe_node(it->first));
        continue;
      }
      std::string name = it->first.Scalar();
      std::string full = prefix + name;
      if (!seen.insert(name).second) {
        problem_at(it->first, full, "expected each field once, got '" + name + "' a second time");
        continue;
      }
      if (prefix.empty() && name == "sources") continue;
      if (containers_.count(full)) {
        check_unknown(it->second, full + ".");
      } else if (!known_.count(full)) {
        problem_at(it->first, full, "expected a known field, got the unknown field '" + name + "'" +
                                        did_you_mean(name, candidates));
      }
    }
  }

  std::string file_;
  std::string path_;
  YAML::Node entry_;
  ProblemList& problems_;
  std::set<std::string> known_;       // dotted keys read
  std::set<std::string> containers_;  // dotted keys that hold a mapping of known keys
  std::set<std::string> present_;     // dotted keys found in the entry
  std::set<std::string> reported_containers_;
  std::vector<std::pair<std::string, YAML::Node>> numbers_;  // numeric fields found
};

// Parses one catalog file and returns its `top_key:` mapping (undefined on error).
YAML::Node load_section(const std::string& text, const std::string& file, const std::string& top_key,
                        ProblemList& problems) {
  YAML::Node root;
  try {
    root.reset(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    problems.add(location(file, e.mark), "", "expected valid YAML, got a syntax error: " + e.msg);
    return YAML::Node(YAML::NodeType::Undefined);
  }
  YAML::Mark start;  // line 1, column 1
  if (!root.IsMap()) {
    problems.add(location(file, root.IsDefined() && !root.IsNull() ? root.Mark() : start), "",
                 "expected a mapping with the single key '" + top_key + ":', got " + describe_node(root));
    return YAML::Node(YAML::NodeType::Undefined);
  }
  YAML::Node section(YAML::NodeType::Undefined);
  for (auto it = root.begin(); it != root.end(); ++it) {
    std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
    if (key == top_key && !section.IsDefined()) {
      section.reset(it->second);
    } else {
      problems.add(location(file, it->first.Mark()), key,
                   "expected only the key '" + top_key + ":' at the top level, got '" + key + "'" +
                       did_you_mean(key, {top_key}));
    }
  }
  if (!section.IsDefined()) {
    problems.add(location(file, root.Mark()), top_key, "expected a mapping of entries, got nothing (the key is missing)");
    return section;
  }
  if (!section.IsMap()) {
    problems.add(location(file, section.Mark()), top_key,
                 "expected a mapping from each name to its entry, got " + describe_node(section));
    return YAML::Node(YAML::NodeType::Undefined);
  }
  return section;
}

// Calls fn(name, name_node, entry_node) for each entry with a valid, unique name.
template <typename Fn>
void for_each_entry(const YAML::Node& section, const std::string& file, const std::string& top_key,
                    ProblemList& problems, Fn fn) {
  if (!section.IsDefined()) return;
  std::set<std::string> seen;
  for (auto it = section.begin(); it != section.end(); ++it) {
    if (!it->first.IsScalar() || trim(it->first.Scalar()).empty()) {
      problems.add(location(file, it->first.Mark()), top_key, "expected a name as the key, got " + describe_node(it->first));
      continue;
    }
    std::string name = trim(it->first.Scalar());
    std::string path = top_key + "." + name;
    if (!seen.insert(name).second) {
      problems.add(location(file, it->first.Mark()), path, "expected each name once, got '" + name + "' a second time");
      continue;
    }
    if (!it->second.IsMap()) {
      problems.add(location(file, it->second.IsDefined() && !it->second.IsNull() ? it->second.Mark() : it->first.Mark()),
                   path, "expected a mapping of the entry's fields, got " + describe_node(it->second));
      continue;
    }
    fn(name, path, it->second);
  }
}

std::map<std::string, Accelerator> parse_accelerators(const std::string& text, ProblemList& problems) {
  std::map<std::string, Accelerator> out;
  const std::string file = kAcceleratorsFile;
  YAML::Node section = load_section(text, file, "accelerators", problems);
  for_each_entry(section, file, "accelerators", problems,
                 [&](const std::string& name, const std::string& path, const YAML::Node& entry) {
                   EntryReader r(file, path, entry, problems);
                   Accelerator a;
                   a.name = name;
                   if (auto v = r.text("vendor", true)) a.vendor = *v;
                   if (auto v = r.quantity("peak_bf16", Dimension::FlopPerSecond, true)) a.peak_bf16 = FlopRate(*v);
                   if (auto v = r.quantity("peak_fp8", Dimension::FlopPerSecond, false, true)) a.peak_fp8 = FlopRate(*v);
                   if (auto v = r.quantity("peak_fp4", Dimension::FlopPerSecond, false, true)) a.peak_fp4 = FlopRate(*v);
                   if (auto v = r.quantity("hbm", Dimension::Size, true)) a.hbm_capacity = Bytes(*v);
                   if (auto v = r.quantity("hbm_bandwidth", Dimension::Bandwidth, true)) a.hbm_bandwidth = ByteRate(*v);
                   auto tdp = r.quantity("tdp", Dimension::Power, true);
                   auto idle = r.quantity("idle", Dimension::Power, true);
                   if (tdp) a.tdp = Watts(*tdp);
                   if (idle) a.idle = Watts(*idle);
                   if (auto v = r.ratio("matmul_efficiency.bf16", true)) a.matmul_efficiency_bf16 = *v;
                   // A precision's efficiency is required with its peak and refused without it.
                   auto precision_efficiency = [&r](const std::string& precision, const std::string& label,
                                                    double peak, double& into) {
                     const std::string key = "matmul_efficiency." + precision;
                     auto v = r.ratio(key, peak > 0);
                     if (!v) return;
                     if (peak > 0)
                       into = *v;
                     else
                       r.problem_at(r.node_of(key), key,
                                    "expected no " + label + " efficiency for an accelerator without peak_" +
                                        precision + ", got " + describe_node(r.node_of(key)));
                   };
                   precision_efficiency("fp8", "FP8", a.peak_fp8.value(), a.matmul_efficiency_fp8);
                   precision_efficiency("fp4", "FP4", a.peak_fp4.value(), a.matmul_efficiency_fp4);
                   if (auto v = r.ratio("attention_efficiency", true)) a.attention_efficiency = *v;
                   if (auto v = r.count("streaming_multiprocessors", false, 1)) a.streaming_multiprocessors = *v;
                   if (tdp && idle && *idle >= *tdp)
                     r.problem_at(r.node_of("idle"), "idle",
                                  "expected idle power below the TDP (" + format_quantity(*tdp, Dimension::Power) +
                                      "), got " + format_quantity(*idle, Dimension::Power));
                   a.sources = r.finish();
                   out.emplace(name, std::move(a));
                 });
  return out;
}

std::map<std::string, NodeType> parse_nodes(const std::string& text, const std::map<std::string, Accelerator>& accels,
                                            bool accelerators_ok, ProblemList& problems) {
  std::map<std::string, NodeType> out;
  const std::string file = kNodesFile;
  std::vector<std::string> accel_names;
  for (const auto& [name, a] : accels) accel_names.push_back(name);
  YAML::Node section = load_section(text, file, "node_types", problems);
  for_each_entry(section, file, "node_types", problems,
                 [&](const std::string& name, const std::string& path, const YAML::Node& entry) {
                   EntryReader r(file, path, entry, problems);
                   NodeType n;
                   n.name = name;
                   auto accel = r.text("accelerator", true);
                   if (accel) n.accelerator = *accel;
                   if (auto v = r.count("accelerators", true, 1)) n.accelerators = *v;
                   if (auto v = r.count("scale_up_domain", true, 1)) n.scale_up_domain = *v;
                   if (auto v = r.quantity("scale_up_bandwidth", Dimension::Bandwidth, true))
                     n.scale_up_bandwidth = ByteRate(*v);
                   if (auto v = r.text("scale_up_technology", true)) n.scale_up_technology = *v;
                   if (auto v = r.count("scale_up_torus_dims", false, 2)) {
                     if (*v > 3)
                       r.problem_at(r.node_of("scale_up_torus_dims"), "scale_up_torus_dims",
                                    "expected 2 or 3 (omit it for a switched domain), got " + std::to_string(*v));
                     n.scale_up_torus_dims = *v;
                   }
                   if (auto v = r.count("nics", true, 1)) n.nics = *v;
                   if (auto v = r.quantity("nic_bandwidth", Dimension::Bandwidth, true)) n.nic_bandwidth = ByteRate(*v);
                   auto idle = r.quantity("idle_power", Dimension::Power, true);
                   auto max = r.quantity("max_power", Dimension::Power, true);
                   if (idle) n.idle_power = Watts(*idle);
                   if (max) n.max_power = Watts(*max);
                   if (idle && max && *idle >= *max)
                     r.problem_at(r.node_of("idle_power"), "idle_power",
                                  "expected idle power below max_power (" + format_quantity(*max, Dimension::Power) +
                                      "), got " + format_quantity(*idle, Dimension::Power));
                   auto it = accel ? accels.find(*accel) : accels.end();
                   if (accel && it == accels.end() && accelerators_ok) {
                     r.problem_at(r.node_of("accelerator"), "accelerator",
                                  "expected an accelerator of catalog/accelerators.yaml, got the unknown '" + *accel +
                                      "'" + did_you_mean(*accel, accel_names));
                   }
                   if (it != accels.end() && n.accelerators > 0) {
                     // Catches a unit slip (10.2W for 10.2kW): the node must at least
                     // power its accelerators.
                     double chips = static_cast<double>(n.accelerators);
                     if (max && *max < chips * it->second.tdp.value())
                       r.problem_at(r.node_of("max_power"), "max_power",
                                    "expected at least the accelerators' TDP (" + std::to_string(n.accelerators) +
                                        " x " + format_quantity(it->second.tdp.value(), Dimension::Power) +
                                        "), got " + format_quantity(*max, Dimension::Power));
                     if (idle && *idle < chips * it->second.idle.value())
                       r.problem_at(r.node_of("idle_power"), "idle_power",
                                    "expected at least the accelerators' idle power (" +
                                        std::to_string(n.accelerators) + " x " +
                                        format_quantity(it->second.idle.value(), Dimension::Power) + "), got " +
                                        format_quantity(*idle, Dimension::Power));
                   }
                   n.sources = r.finish();
                   out.emplace(name, std::move(n));
                 });
  return out;
}

std::map<std::string, ModelSpec> parse_models(const std::string& text, ProblemList& problems) {
  std::map<std::string, ModelSpec> out;
  const std::string file = kModelsFile;
  YAML::Node section = load_section(text, file, "models", problems);
  for_each_entry(section, file, "models", problems,
                 [&](const std::string& name, const std::string& path, const YAML::Node& entry) {
                   EntryReader r(file, path, entry, problems);
                   ModelSpec m;
                   m.name = name;
                   if (auto v = r.text("kind", true, {"llm", "dit"})) m.kind = *v;
                   bool dit = m.kind == "dit";
                   if (auto v = r.count("layers", true, 1)) m.layers = *v;
                   if (auto v = r.count("hidden", true, 1)) m.hidden = *v;
                   if (auto v = r.count("ffn_hidden", true, 1)) m.ffn_hidden = *v;
                   auto heads = r.count("heads", true, 1);
                   auto kv_heads = r.count("kv_heads", true, 1);
                   if (heads) m.heads = *heads;
                   if (kv_heads) m.kv_heads = *kv_heads;
                   if (auto v = r.count("vocab", !dit, dit ? 0 : 1)) m.vocab = *v;
                   if (auto v = r.text("mlp", false, {"swiglu", "gelu"}))
                     m.mlp = *v == "gelu" ? MlpKind::GeLU : MlpKind::SwiGLU;
                   if (auto v = r.text("dropout", false, {"true", "false"})) m.dropout = *v == "true";
                   if (heads && kv_heads && *heads % *kv_heads != 0)
                     r.problem_at(r.node_of("kv_heads"), "kv_heads",
                                  "expected a divisor of heads (" + std::to_string(*heads) + "), got " +
                                      std::to_string(*kv_heads));
                   if (heads && m.hidden > 0 && m.hidden % *heads != 0)
                     r.problem_at(r.node_of("heads"), "heads",
                                  "expected a divisor of hidden (" + std::to_string(m.hidden) + "), got " +
                                      std::to_string(*heads));

                   // Mixture of experts.
                   auto experts = r.count("experts", false, 1);
                   bool moe = experts.has_value();
                   auto top_k = r.count("top_k", moe, 1);
                   auto expert_ffn = r.count("expert_ffn_hidden", moe, 1);
                   auto shared = r.count("shared_experts", false, 0);
                   auto dense_layers = r.count("dense_layers", false, 0);
                   auto routed_nodes = r.count("max_routed_nodes", false, 1);
                   if (moe) {
                     if (routed_nodes) m.max_routed_nodes = *routed_nodes;
                     m.experts = *experts;
                     if (top_k) m.top_k = *top_k;
                     if (expert_ffn) m.expert_ffn_hidden = *expert_ffn;
                     if (shared) m.shared_experts = *shared;
                     if (dense_layers) m.dense_layers = *dense_layers;
                     if (top_k && *top_k > *experts)
                       r.problem_at(r.node_of("top_k"), "top_k",
                                    "expected at most experts (" + std::to_string(*experts) + "), got " +
                                        std::to_string(*top_k));
                     if (dense_layers && m.layers > 0 && *dense_layers >= m.layers)
                       r.problem_at(r.node_of("dense_layers"), "dense_layers",
                                    "expected fewer dense layers than layers (" + std::to_string(m.layers) +
                                        "), got " + std::to_string(*dense_layers));
                   } else {
                     for (const char* key :
                          {"top_k", "expert_ffn_hidden", "shared_experts", "dense_layers", "max_routed_nodes"})
                       if (r.has(key))
                         r.problem_at(r.node_of(key), key,
                                      std::string("expected no ") + key +
                                          " in a dense model (add experts: to make it a mixture of experts), got " +
                                          describe_node(r.node_of(key)));
                   }

                   // Multi-head Latent Attention: kv_lora_rank and the three head dimensions
                   // together; q_lora_rank optional (absent: q projected directly).
                   {
                     auto q_lora = r.count("q_lora_rank", false, 1);
                     auto kv_lora = r.count("kv_lora_rank", false, 1);
                     auto nope = r.count("qk_nope_head_dim", false, 1);
                     auto rope = r.count("qk_rope_head_dim", false, 1);
                     auto v_dim = r.count("v_head_dim", false, 1);
                     const char* keys[] = {"q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim",
                                           "v_head_dim"};
                     bool any = false;
                     for (const char* key : keys) any = any || r.has(key);
                     if (any && dit) {
                       for (const char* key : keys)
                         if (r.has(key))
                           r.problem_at(r.node_of(key), key,
                                        std::string("expected no ") + key +
                                            " for kind dit (Multi-head Latent Attention is an llm option), got " +
                                            describe_node(r.node_of(key)));
                     } else if (any) {
                       for (const char* key : {"kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"})
                         if (!r.has(key))
                           r.problem_at(r.node_of(key), key,
                                        std::string("expected a whole number of at least 1 (Multi-head Latent "
                                                    "Attention needs kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim "
                                                    "and v_head_dim together), got nothing (the field is missing)"));
                       if (q_lora) m.q_lora_rank = *q_lora;
                       if (kv_lora) m.kv_lora_rank = *kv_lora;
                       if (nope) m.qk_nope_head_dim = *nope;
                       if (rope) m.qk_rope_head_dim = *rope;
                       if (v_dim) m.v_head_dim = *v_dim;
                     }
                   }

                   // Diffusion-transformer video geometry.
                   auto vae_t = r.count("vae_stride_t", dit, 1);
                   auto vae_s = r.count("vae_stride_s", dit, 1);
                   auto patch_t = r.count("patch_t", dit, 1);
                   auto patch_s = r.count("patch_s", dit, 1);
                   auto text_len = r.count("text_len", false, 0);
                   if (dit) {
                     if (vae_t) m.vae_stride_t = *vae_t;
                     if (vae_s) m.vae_stride_s = *vae_s;
                     if (patch_t) m.patch_t = *patch_t;
                     if (patch_s) m.patch_s = *patch_s;
                     if (text_len) m.text_len = *text_len;
                   } else {
                     for (const char* key : {"vae_stride_t", "vae_stride_s", "patch_t", "patch_s", "text_len"})
                       if (r.has(key))
                         r.problem_at(r.node_of(key), key,
                                      std::string("expected no ") + key + " for kind llm (it describes a kind dit model), got " +
                                          describe_node(r.node_of(key)));
                   }
                   m.sources = r.finish();
                   out.emplace(name, std::move(m));
                 });
  return out;
}

// Parameter count in the GQA/SwiGLU convention of catalog.hpp (untied embeddings, a
// DiT block also cross-attends to its text context); for the listing only.
struct ParamEstimate {
  double total = 0;
  double active = 0;
};

ParamEstimate estimate_parameters(const ModelSpec& m) {
  double h = m.hidden;
  double kv_width = m.heads > 0 ? static_cast<double>(m.kv_heads) * h / m.heads : h;
  double attention = 2 * h * h + 2 * h * kv_width;
  if (m.is_mla()) {
    // Multi-head Latent Attention (models/transformer.hpp has the same count).
    const double heads = m.heads, qk = double(m.qk_nope_head_dim) + m.qk_rope_head_dim;
    attention = (m.q_lora_rank > 0 ? h * m.q_lora_rank + m.q_lora_rank * heads * qk : h * heads * qk) +
                h * (double(m.kv_lora_rank) + m.qk_rope_head_dim) +
                m.kv_lora_rank * heads * (double(m.qk_nope_head_dim) + m.v_head_dim) + heads * m.v_head_dim * h;
  }
  if (m.kind == "dit" && m.text_len > 0) attention += 4 * h * h;  // cross-attention q, k, v, o
  double matrices = m.mlp == MlpKind::SwiGLU ? 3 : 2;
  double dense_mlp = matrices * h * m.ffn_hidden;
  ParamEstimate p;
  if (m.is_moe()) {
    double expert = matrices * h * m.expert_ffn_hidden;
    double router = h * m.experts;
    double moe_layers = m.layers - m.dense_layers;
    p.total = m.layers * attention + m.dense_layers * dense_mlp +
              moe_layers * ((m.experts + m.shared_experts) * expert + router);
    p.active = m.layers * attention + m.dense_layers * dense_mlp +
               moe_layers * ((m.top_k + m.shared_experts) * expert + router);
  } else {
    p.total = p.active = m.layers * (attention + dense_mlp);
  }
  double embedding = 2.0 * m.vocab * h;
  p.total += embedding;
  p.active += embedding;
  return p;
}

std::string format_count(double value) {
  char buffer[32];
  if (value >= 1e9)
    std::snprintf(buffer, sizeof buffer, "%.1fB", value / 1e9);
  else
    std::snprintf(buffer, sizeof buffer, "%.0fM", value / 1e6);
  return buffer;
}

// A bandwidth in bits per second ("400 Gb/s").
std::string format_bits(double bytes_per_second) {
  std::string s = format_quantity(bytes_per_second * 8, Dimension::Bandwidth);
  if (s.size() >= 3 && s.compare(s.size() - 3, 3, "B/s") == 0) s.replace(s.size() - 3, 3, "b/s");
  return s;
}

// Accelerator memory in GiB, the unit HBM stacks and frameworks count in ("80 GiB").
std::string format_gib(double bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return buffer;
}

std::string format_ratio(double r) {
  if (r <= 0) return "-";
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%.2f", r);
  return buffer;
}

// Left-aligned columns, two spaces apart, indented by two.
std::string render_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], row[i].size());
    }
  std::string out;
  for (const auto& row : rows) {
    std::string line = " ";
    for (size_t i = 0; i < row.size(); ++i) {
      line += " " + row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 1, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace

const Catalog& Catalog::builtin() {
  static const Catalog catalog =
      from_yaml(catalog_data::accelerators, catalog_data::nodes, catalog_data::models);
  return catalog;
}

Catalog Catalog::from_yaml(const std::string& accelerators_yaml, const std::string& nodes_yaml,
                           const std::string& models_yaml) {
  ProblemList problems;
  Catalog catalog;
  catalog.accelerators_ = parse_accelerators(accelerators_yaml, problems);
  // Unknown-accelerator errors only make sense when the accelerator file itself parsed.
  bool accelerators_ok = problems.empty();
  catalog.node_types_ = parse_nodes(nodes_yaml, catalog.accelerators_, accelerators_ok, problems);
  catalog.models_ = parse_models(models_yaml, problems);
  problems.throw_if_any();
  return catalog;
}

const Accelerator* Catalog::accelerator(const std::string& name) const {
  auto it = accelerators_.find(name);
  return it == accelerators_.end() ? nullptr : &it->second;
}

const NodeType* Catalog::node_type(const std::string& name) const {
  auto it = node_types_.find(name);
  return it == node_types_.end() ? nullptr : &it->second;
}

const ModelSpec* Catalog::model(const std::string& name) const {
  auto it = models_.find(name);
  return it == models_.end() ? nullptr : &it->second;
}

std::vector<std::string> Catalog::accelerator_names() const {
  std::vector<std::string> names;
  for (const auto& [name, a] : accelerators_) names.push_back(name);
  return names;
}

std::vector<std::string> Catalog::node_type_names() const {
  std::vector<std::string> names;
  for (const auto& [name, n] : node_types_) names.push_back(name);
  return names;
}

std::vector<std::string> Catalog::model_names() const {
  std::vector<std::string> names;
  for (const auto& [name, m] : models_) names.push_back(name);
  return names;
}

std::string Catalog::describe() const {
  std::string out;

  out += "Accelerators (" + std::to_string(accelerators_.size()) +
         "): dense peak per chip; GEMM eff. = fraction of peak large matmuls reach\n";
  std::vector<std::vector<std::string>> rows{
      {"NAME", "VENDOR", "BF16", "FP8", "FP4", "HBM", "HBM BW", "TDP", "IDLE", "GEMM EFF. BF16/FP8"}};
  for (const auto& [name, a] : accelerators_)
    rows.push_back({name, a.vendor, format_quantity(a.peak_bf16.value(), Dimension::FlopPerSecond),
                    a.peak_fp8.value() > 0 ? format_quantity(a.peak_fp8.value(), Dimension::FlopPerSecond) : "-",
                    a.peak_fp4.value() > 0 ? format_quantity(a.peak_fp4.value(), Dimension::FlopPerSecond) : "-",
                    format_gib(a.hbm_capacity.value()),
                    format_quantity(a.hbm_bandwidth.value(), Dimension::Bandwidth),
                    format_quantity(a.tdp.value(), Dimension::Power), format_quantity(a.idle.value(), Dimension::Power),
                    format_ratio(a.matmul_efficiency_bf16) + " / " + format_ratio(a.matmul_efficiency_fp8)});
  out += render_table(rows);

  out += "\nNode types (" + std::to_string(node_types_.size()) +
         "): scale-up bandwidth per accelerator per direction; NICs per direction; whole-node power\n";
  rows = {{"NAME", "ACCELERATORS", "SCALE-UP DOMAIN", "SCALE-UP BW/DIR", "SCALE-UP LINK", "SCALE-OUT", "IDLE", "MAX"}};
  for (const auto& [name, n] : node_types_)
    rows.push_back({name, std::to_string(n.accelerators) + " x " + n.accelerator, std::to_string(n.scale_up_domain),
                    format_quantity(n.scale_up_bandwidth.value(), Dimension::Bandwidth), n.scale_up_technology,
                    std::to_string(n.nics) + " x " + format_bits(n.nic_bandwidth.value()),
                    format_quantity(n.idle_power.value(), Dimension::Power),
                    format_quantity(n.max_power.value(), Dimension::Power)});
  out += render_table(rows);

  out += "\nModels (" + std::to_string(models_.size()) +
         "): parameters counted with untied embeddings and GQA-equivalent attention\n";
  rows = {{"NAME", "KIND", "LAYERS", "HIDDEN", "FFN", "HEADS/KV", "VOCAB", "MLP", "EXPERTS", "PARAMS"}};
  for (const auto& [name, m] : models_) {
    std::string experts = "-";
    if (m.is_moe()) {
      experts = std::to_string(m.experts) + " x " + std::to_string(m.expert_ffn_hidden) + ", top-" +
                std::to_string(m.top_k);
      if (m.shared_experts > 0) experts += " + " + std::to_string(m.shared_experts) + " shared";
      if (m.dense_layers > 0) experts += ", " + std::to_string(m.dense_layers) + " dense layers";
    }
    ParamEstimate p = estimate_parameters(m);
    std::string params = format_count(p.total);
    if (m.is_moe()) params += " (" + format_count(p.active) + " active)";
    rows.push_back({name, m.kind, std::to_string(m.layers), std::to_string(m.hidden), std::to_string(m.ffn_hidden),
                    std::to_string(m.heads) + "/" + std::to_string(m.kv_heads),
                    m.vocab > 0 ? std::to_string(m.vocab) : "-", m.mlp == MlpKind::SwiGLU ? "swiglu" : "gelu",
                    experts, params});
  }
  out += render_table(rows);
  out += "\nEvery number carries its source in sim/catalog/data/*.yaml.\n";
  return out;
}

const char* precision_name(Precision p) {
  return p == Precision::FP4 ? "fp4" : p == Precision::FP8 ? "fp8" : "bf16";
}

}  // namespace fleetsim
