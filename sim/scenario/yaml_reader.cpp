#include "scenario/yaml_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace fleetsim {

std::string describe_yaml(const YAML::Node& node) {
  if (!node || node.IsNull()) return "nothing";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  return "'" + node.Scalar() + "'";
}

YamlReader YamlReader::child(const std::string& key) const {
  YAML::Node n = node_.IsMap() ? node_[key] : YAML::Node();
  YamlReader reader(n, child_path(key), context_);
  reader.from_set_ = from_set_ || context_->overridden.count(reader.path_) > 0;
  // Inside a --set value the keys are the --set text's too.
  if ((n && n.IsNull()) || (reader.from_set_ && !from_set_))
    for (const auto& entry : node_)
      if (entry.first.IsScalar() && entry.first.Scalar() == key && !entry.first.Mark().is_null())
        reader.key_mark_ = entry.first.Mark();
  reader.parent_location_ = location();
  return reader;
}

YamlReader YamlReader::element(std::size_t index) const {
  YamlReader reader(node_[index], child_path(std::to_string(index)), context_);
  reader.from_set_ = from_set_ || context_->overridden.count(reader.path_) > 0;
  reader.parent_location_ = location();
  return reader;
}

SourceLocation YamlReader::location() const {
  if (context_->pinned) return *context_->pinned;
  SourceLocation where{context_->file, 0, 0};
  if (key_mark_ && key_mark_->line >= 0) {
    where.line = key_mark_->line + 1;
    where.column = key_mark_->column + 1;
  } else if (node_ && !from_set_ && node_.Mark().line >= 0) {
    where.line = node_.Mark().line + 1;
    where.column = node_.Mark().column + 1;
  } else if (parent_location_) {
    where = *parent_location_;
  }
  return where;
}

SourceLocation YamlReader::location_of(const std::string& key) const {
  if (has(key)) return child(key).location();
  return location();
}

void YamlReader::problem(const std::string& message) const {
  std::string text = message;
  // Said of a value --set gave, of something inside it, or of the mapping --set wrote a
  // new key into (an unknown key, say).
  for (const auto& set_path : context_->overridden)
    if (path_ == set_path || path_.rfind(set_path + ".", 0) == 0 || set_path.rfind(path_ + ".", 0) == 0) {
      text += " (value given by --set " + set_path + ")";
      break;
    }
  context_->problems->add(location(), path_, text);
}

void YamlReader::problem_at(const std::string& key, const std::string& message) const {
  if (has(key))
    child(key).problem(message);
  else
    context_->problems->add(location(), child_path(key), message);
}

bool YamlReader::expect_map(const std::vector<std::string>& allowed) const {
  if (!node_.IsMap()) {
    problem("expected a mapping, got " + describe_yaml(node_));
    return false;
  }
  for (const auto& entry : node_) {
    const std::string key = entry.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string message = "unknown key '" + key + "'";
    const std::string close = closest_match(key, allowed);
    if (!close.empty()) message += "; did you mean '" + close + "'?";
    else {
      message += "; expected one of:";
      for (const auto& a : allowed) message += " " + a;
    }
    // A key --set added has no place in the file: point at the mapping it went into.
    SourceLocation where = entry.first.Mark().line >= 0
                               ? SourceLocation{context_->file, entry.first.Mark().line + 1, entry.first.Mark().column + 1}
                               : location();
    // The key itself, or a mapping --set made on the way to its value (filter.accept_rate).
    for (const auto& set_path : context_->overridden)
      if (set_path == child_path(key) || set_path.rfind(child_path(key) + ".", 0) == 0) {
        message += " (key given by --set " + set_path + ")";
        break;
      }
    context_->problems->add(context_->pinned ? *context_->pinned : where, child_path(key), message);
  }
  return true;
}

bool YamlReader::expect_sequence() const {
  if (node_.IsSequence()) return true;
  problem("expected a list, got " + describe_yaml(node_));
  return false;
}

std::optional<std::string> YamlReader::scalar(const std::string& key, bool required, const char* what) const {
  if (!has(key)) {
    if (required) problem_at(key, std::string("expected ") + what + ", got nothing (the key is required)");
    return std::nullopt;
  }
  if (child(key).node().IsNull()) {
    // `zero:` with nothing after it: never taken as "absent", which would silently give the
    // default where the user meant to set something.
    problem_at(key, std::string("expected ") + what + ", got an empty value" +
                        (required ? "" : " (remove the key to get its default)"));
    return std::nullopt;
  }
  YamlReader c = child(key);
  if (!c.node().IsScalar()) {
    c.problem(std::string("expected ") + what + ", got " + describe_yaml(c.node()));
    return std::nullopt;
  }
  return c.node().Scalar();
}

std::optional<std::string> YamlReader::string(const std::string& key, bool required) const {
  auto text = scalar(key, required, "a string");
  if (text && text->empty()) {
    child(key).problem("expected a non-empty string, got ''");
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> YamlReader::choice(const std::string& key, const std::vector<std::string>& options,
                                              bool required) const {
  std::string expected = "one of";
  for (const auto& o : options) expected += " " + o;
  auto text = scalar(key, required, expected.c_str());
  if (!text) return std::nullopt;
  if (std::find(options.begin(), options.end(), *text) != options.end()) return text;
  std::string message = "expected " + expected + ", got '" + *text + "'";
  const std::string close = closest_match(*text, options);
  if (!close.empty()) message += "; did you mean '" + close + "'?";
  child(key).problem(message);
  return std::nullopt;
}

std::optional<long long> YamlReader::integer(const std::string& key, long long minimum, bool required) const {
  const std::string what = "an integer of at least " + std::to_string(minimum);
  auto text = scalar(key, required, what.c_str());
  if (!text) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text->c_str(), &end, 10);
  if (text->empty() || *end != '\0' || errno == ERANGE) {
    // Accept integral floats written as 1e3, refuse 2.5.
    char* fend = nullptr;
    const double f = std::strtod(text->c_str(), &fend);
    if (!text->empty() && *fend == '\0' && std::isfinite(f) && f == std::floor(f) && std::fabs(f) < 9e15) {
      if (f < double(minimum) || f > double(kMaxCount)) {
        child(key).problem("expected " + what + (f > double(kMaxCount) ? " and at most " + std::to_string(kMaxCount) : "") +
                           ", got " + *text);
        return std::nullopt;
      }
      return static_cast<long long>(f);
    }
    child(key).problem("expected " + what + ", got '" + *text + "'");
    return std::nullopt;
  }
  if (value < minimum) {
    child(key).problem("expected " + what + ", got " + *text);
    return std::nullopt;
  }
  if (value > kMaxCount) {
    child(key).problem("expected " + what + " and at most " + std::to_string(kMaxCount) + ", got " + *text);
    return std::nullopt;
  }
  return value;
}

std::optional<double> YamlReader::number(const std::string& key, double minimum, bool required) const {
  char what[64];
  std::snprintf(what, sizeof what, "a number of at least %g", minimum);
  auto text = scalar(key, required, what);
  if (!text) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text->c_str(), &end);
  if (text->empty() || *end != '\0' || !std::isfinite(value)) {
    child(key).problem(std::string("expected ") + what + ", got '" + *text + "'");
    return std::nullopt;
  }
  if (value < minimum) {
    child(key).problem(std::string("expected ") + what + ", got " + *text);
    return std::nullopt;
  }
  return value;
}

std::optional<bool> YamlReader::boolean(const std::string& key, bool required) const {
  auto text = scalar(key, required, "true or false");
  if (!text) return std::nullopt;
  if (*text == "true") return true;
  if (*text == "false") return false;
  child(key).problem("expected true or false, got '" + *text + "'");
  return std::nullopt;
}

std::optional<double> YamlReader::quantity(const std::string& key, Dimension dim, bool positive,
                                           bool required) const {
  const std::string what = std::string(dimension_name(dim)) + " with a unit (for example " +
                           std::string(dimension_example(dim)) + ")";
  auto text = scalar(key, required, what.c_str());
  if (!text) return std::nullopt;
  std::string error;
  auto value = parse_quantity(*text, dim, &error);
  if (!value) {
    child(key).problem(error);
    return std::nullopt;
  }
  if (positive && *value <= 0) {
    child(key).problem("expected " + std::string(dimension_name(dim)) + " greater than zero, got '" + *text + "'");
    return std::nullopt;
  }
  return value;
}

}  // namespace fleetsim
