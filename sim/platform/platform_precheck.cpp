// Not an XML parser: a scanner that finds start tags, their attributes and their nesting,
// skipping comments, processing instructions, the DOCTYPE and CDATA. SimGrid's parser,
// which runs next, judges whether the file is well-formed; this only looks for the values
// SimGrid would die on, and reads a file of 131,072 hand-written hosts in tens of ms.
#include "platform/platform_precheck.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <utility>

namespace fleetsim {

namespace {

constexpr const char* kKeyPath = "cluster.platform";

// The routings SimGrid 3.32 knows (sg_platf.cpp compares them ignoring case).
const std::vector<std::string> kRoutings = {"Full", "Floyd", "Dijkstra", "DijkstraCache", "None", "Vivaldi",
                                            "Cluster", "ClusterTorus", "ClusterFatTree", "ClusterDragonfly", "Wifi"};

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> fields;
  for (std::size_t start = 0;;) {
    const std::size_t end = text.find(separator, start);
    fields.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return fields;
    start = end + 1;
  }
}

// As xbt_str_parse_double: strtod, which skips leading blanks, must use the whole field.
std::optional<double> parse_double(std::string_view field) {
  const std::string text(field);
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

bool is_positive_int(std::string_view text) {
  if (text.empty() || text.size() > 9) return false;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return false;
  return std::stoi(std::string(text)) >= 1;
}

std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

struct Element {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;
  int line = 0;
  int column = 0;

  const std::string* attribute(std::string_view key) const {
    for (const auto& [k, v] : attributes)
      if (k == key) return &v;
    return nullptr;
  }
  bool is_host_like() const { return name == "host" || name == "cluster" || name == "peer"; }
  // "host \"a\"", "cluster \"pod0\"": how messages name the element.
  std::string label() const {
    const std::string* id = attribute("id");
    return name + " " + in_quotes(id != nullptr ? *id : std::string("?"));
  }
};

class Scanner {
 public:
  Scanner(const std::string& file, std::string_view text) : file_(file), text_(text) {}

  std::vector<Problem> run() {
    while (advance_to('<')) {
      const std::size_t at = pos_;
      if (starts_with("<!--")) {
        skip_past("-->");
      } else if (starts_with("<![CDATA[")) {
        skip_past("]]>");
      } else if (starts_with("<?") ) {
        skip_past("?>");
      } else if (starts_with("<!")) {
        skip_past(">");
      } else if (starts_with("</")) {
        pos_ += 2;
        const std::string name = read_name();
        skip_past(">");
        if (!open_.empty() && open_.back().name == name) open_.pop_back();
      } else {
        Element element;
        element.line = line_;
        element.column = static_cast<int>(at - line_begin_) + 1;
        ++pos_;
        element.name = read_name();
        const bool self_closing = read_attributes(element);
        check(element);
        if (!self_closing) open_.push_back(std::move(element));
      }
    }
    return std::move(problems_);
  }

 private:
  bool starts_with(std::string_view prefix) const { return text_.substr(pos_, prefix.size()) == prefix; }

  void step() {
    if (text_[pos_] == '\n') {
      ++line_;
      line_begin_ = pos_ + 1;
    }
    ++pos_;
  }

  bool advance_to(char c) {
    while (pos_ < text_.size() && text_[pos_] != c) step();
    return pos_ < text_.size();
  }

  void skip_past(std::string_view end) {
    while (pos_ < text_.size() && !starts_with(end)) step();
    pos_ = std::min(text_.size(), pos_ + end.size());
  }

  void skip_blanks() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) step();
  }

  std::string read_name() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && !std::isspace(static_cast<unsigned char>(text_[pos_])) && text_[pos_] != '>' &&
           text_[pos_] != '/' && text_[pos_] != '=')
      ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  // Reads name="value" pairs up to '>' or '/>'; true for '/>'.
  bool read_attributes(Element& element) {
    for (;;) {
      skip_blanks();
      if (pos_ >= text_.size()) return true;
      if (starts_with("/>")) {
        pos_ += 2;
        return true;
      }
      if (text_[pos_] == '>') {
        ++pos_;
        return false;
      }
      std::string key = read_name();
      skip_blanks();
      std::string value;
      if (pos_ < text_.size() && text_[pos_] == '=') {
        ++pos_;
        skip_blanks();
        if (pos_ < text_.size() && (text_[pos_] == '"' || text_[pos_] == '\'')) {
          const char quote = text_[pos_++];
          const std::size_t start = pos_;
          advance_to(quote);
          value = std::string(text_.substr(start, pos_ - start));
          if (pos_ < text_.size()) ++pos_;
        }
      } else if (key.empty()) {
        ++pos_;  // a stray character: SimGrid's parser will say what is wrong
        continue;
      }
      element.attributes.emplace_back(std::move(key), std::move(value));
    }
  }

  void add(const Element& at, const std::string& message) {
    problems_.push_back({{file_, at.line, at.column}, kKeyPath, message});
  }

  void check(const Element& element) {
    if (const std::string* routing = element.attribute("routing")) {
      const bool known = std::any_of(kRoutings.begin(), kRoutings.end(),
                                     [&](const std::string& r) { return equal_ignoring_case(r, *routing); });
      if (!known) {
        const std::string hint = closest_match(*routing, kRoutings);
        std::string list;
        for (const auto& r : kRoutings) list += (list.empty() ? "" : ", ") + r;
        add(element, element.label() + ": routing " + in_quotes(*routing) +
                         " is not one SimGrid 3.32 knows; expected one of " + list +
                         (hint.empty() ? "" : "; did you mean " + in_quotes(hint) + "?"));
      }
    }
    if (element.is_host_like()) {
      if (const std::string* core = element.attribute("core"); core != nullptr && !is_positive_int(*core))
        add(element, element.label() + ": attribute \"core\" is " + in_quotes(*core) +
                         "; expected a whole number of cores, at least 1");
    }
    if (element.name != "prop" || open_.empty() || !open_.back().is_host_like()) return;

    const Element& owner = open_.back();
    const std::string* id = element.attribute("id");
    const std::string* value = element.attribute("value");
    if (id == nullptr || value == nullptr) return;
    if (*id == "wattage_per_state") {
      const auto pstates = parse_wattage_per_state(*value);
      if (!pstates) {
        add(element, owner.label() + ": property \"wattage_per_state\" is " + in_quotes(*value) +
                         "; expected \"IDLE:BUSY\" in watts per pstate (pstates separated by commas), for "
                         "example 1500:10200");
        return;
      }
      const std::string* speed = owner.attribute("speed");
      const std::size_t speeds = speed == nullptr ? 1 : split(*speed, ',').size();
      if (pstates->size() != speeds) {
        add(element, owner.label() + ": property \"wattage_per_state\" gives " + std::to_string(pstates->size()) +
                         " pstate(s) but the speed " + in_quotes(speed == nullptr ? "" : *speed) + " gives " +
                         std::to_string(speeds) + "; expected one IDLE:BUSY pair per speed");
      }
    } else if (*id == "wattage_off") {
      const auto watts = parse_double(*value);
      if (!watts || *watts < 0)
        add(element, owner.label() + ": property \"wattage_off\" is " + in_quotes(*value) +
                         "; expected a power in watts, for example 0");
    }
  }

  const std::string& file_;
  std::string_view text_;
  std::size_t pos_ = 0;
  int line_ = 1;
  std::size_t line_begin_ = 0;
  std::vector<Element> open_;
  std::vector<Problem> problems_;
};

}  // namespace

std::optional<std::vector<PstateWattage>> parse_wattage_per_state(std::string_view text) {
  std::vector<PstateWattage> pstates;
  for (std::string_view pstate : split(text, ',')) {
    const auto fields = split(pstate, ':');
    if (fields.size() != 2 && fields.size() != 3) return std::nullopt;
    PstateWattage watts;
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const auto value = parse_double(fields[i]);
      if (!value || *value < 0) return std::nullopt;
      if (i == 0) watts.idle = *value;
      watts.busy = *value;
    }
    pstates.push_back(watts);
  }
  return pstates;
}

std::vector<Problem> precheck_platform_xml(const std::string& file, std::string_view text) {
  return Scanner(file, text).run();
}

}  // namespace fleetsim
