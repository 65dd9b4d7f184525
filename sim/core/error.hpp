// Errors a user can cause (bad scenario, bad catalog entry, bad platform file) carry
// where they come from, so the CLI can print `FILE:LINE:COL: key.path: message` and
// exit 2. Bugs are asserts, never InputError.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace fleetsim {

struct SourceLocation {
  std::string file;  // as given by the user (relative paths stay relative)
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;    // 1-based; 0 when unknown
};

struct Problem {
  SourceLocation where;
  std::string key_path;  // "workloads.0.parallelism.tp"; empty for file-level problems
  std::string message;   // "expected ..., got ..."

  // FILE:LINE:COL: key.path: message
  std::string to_string() const;
};

// One or more problems found in user input. Loaders collect every problem they can
// before throwing, so a user fixes a file in one pass.
class InputError : public std::runtime_error {
 public:
  explicit InputError(std::vector<Problem> problems);
  explicit InputError(Problem problem) : InputError(std::vector<Problem>{std::move(problem)}) {}
  const std::vector<Problem>& problems() const { return problems_; }

 private:
  std::vector<Problem> problems_;
};

// Collects problems while validating; throws them all at once.
class ProblemList {
 public:
  void add(SourceLocation where, std::string key_path, std::string message) {
    problems_.push_back({std::move(where), std::move(key_path), std::move(message)});
  }
  bool empty() const { return problems_.empty(); }
  std::size_t size() const { return problems_.size(); }
  void throw_if_any() const {
    if (!problems_.empty()) throw InputError(problems_);
  }

 private:
  std::vector<Problem> problems_;
};

// The closest candidate by edit distance, for "did you mean" hints; empty if none is close.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace fleetsim
