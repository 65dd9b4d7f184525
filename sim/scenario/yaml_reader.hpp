// Typed access to a YAML mapping that records every problem with its file, line,
// column and key path instead of throwing at the first one. Internal to the scenario
// layer.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/error.hpp"
#include "core/units.hpp"

namespace fleetsim {

struct ReaderContext {
  std::string file;
  ProblemList* problems = nullptr;
  std::set<std::string> overridden;  // key paths set by --set
  // Every problem at this place instead of the YAML node's: for workloads made from a
  // trace row or a stream, whose YAML is generated (the row's file and line).
  std::optional<SourceLocation> pinned;
};

// The largest count a scenario may give (counts are stored as int).
inline constexpr long long kMaxCount = 2147483647;

class YamlReader {
 public:
  YamlReader(YAML::Node node, std::string path, ReaderContext* context)
      : node_(std::move(node)), path_(std::move(path)), context_(context) {}

  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }
  bool has(const std::string& key) const { return node_.IsMap() && node_[key]; }
  YamlReader child(const std::string& key) const;
  YamlReader element(std::size_t index) const;
  std::string child_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  // Records "unknown key" problems (with a "did you mean") for keys outside `allowed`.
  // Returns false (and records a problem) if the node is not a mapping.
  bool expect_map(const std::vector<std::string>& allowed) const;
  bool expect_sequence() const;

  std::optional<std::string> string(const std::string& key, bool required) const;
  std::optional<std::string> choice(const std::string& key, const std::vector<std::string>& options,
                                    bool required) const;
  // An integer count >= minimum, and at most kMaxCount (counts end up in int fields).
  std::optional<long long> integer(const std::string& key, long long minimum, bool required) const;
  // A plain number (ratios, token counts) >= minimum.
  std::optional<double> number(const std::string& key, double minimum, bool required) const;
  std::optional<bool> boolean(const std::string& key, bool required) const;
  // A unit string of the given dimension; `positive` refuses zero.
  std::optional<double> quantity(const std::string& key, Dimension dim, bool positive, bool required) const;

  // Where problems go (readers that check more than one node at a time add to it).
  ProblemList& problems() const { return *context_->problems; }

  // Records a problem at this node (or at `key` under it).
  void problem(const std::string& message) const;
  void problem_at(const std::string& key, const std::string& message) const;
  SourceLocation location() const;
  SourceLocation location_of(const std::string& key) const;

 private:
  std::optional<std::string> scalar(const std::string& key, bool required, const char* what) const;

  YAML::Node node_;
  std::string path_;
  ReaderContext* context_;
  // An empty value (`zero:`) carries the position after it; its key's is where to point.
  std::optional<YAML::Mark> key_mark_;
  // A value --set gave carries marks of the --set text, not of the file: it is placed at its
  // key when the file has that key, else (and everything inside it) at its parent's place.
  bool from_set_ = false;
  std::optional<SourceLocation> parent_location_;
};

// How a YAML value appears in an error message: 'abc', the number 7200, a mapping...
std::string describe_yaml(const YAML::Node& node);

}  // namespace fleetsim
