#include "core/units.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

namespace fleetsim {
namespace {

struct Prefix {
  std::string_view symbol;
  double factor;
};

// SI prefixes, then IEC binary prefixes (meaningful for bytes and bits only).
constexpr std::array<Prefix, 12> kSiPrefixes{{{"", 1.0},    {"k", 1e3},  {"M", 1e6},  {"G", 1e9},
                                              {"T", 1e12},  {"P", 1e15}, {"E", 1e18}, {"Z", 1e21},
                                              {"m", 1e-3},  {"u", 1e-6}, {"n", 1e-9}, {"p", 1e-12}}};
constexpr std::array<Prefix, 6> kIecPrefixes{{{"Ki", 1024.0},
                                              {"Mi", 1048576.0},
                                              {"Gi", 1073741824.0},
                                              {"Ti", 1099511627776.0},
                                              {"Pi", 1125899906842624.0},
                                              {"Ei", 1152921504606846976.0}}};

struct BaseUnit {
  std::string_view symbol;
  double factor;          // to SI base unit of the dimension
  bool takes_prefix;      // "min" and "h" take none
  bool takes_iec_prefix;  // bytes and bits
};

std::vector<BaseUnit> base_units(Dimension d) {
  switch (d) {
    case Dimension::FlopCount:
      return {{"FLOP", 1, true, false}, {"FLOPs", 1, true, false}, {"flop", 1, true, false}};
    case Dimension::FlopPerSecond:
      return {{"FLOPS", 1, true, false}, {"FLOP/s", 1, true, false}, {"flops", 1, true, false}};
    case Dimension::Size:
      return {{"B", 1, true, true}, {"b", 0.125, true, true}};
    case Dimension::Bandwidth:
      return {{"Bps", 1, true, true}, {"B/s", 1, true, true}, {"bps", 0.125, true, true},
              {"b/s", 0.125, true, true}};
    case Dimension::Duration:
      return {{"s", 1, true, false},    {"min", 60, false, false},   {"h", 3600, false, false},
              {"d", 86400, false, false}, {"w", 604800, false, false}};
    case Dimension::Power:
      return {{"W", 1, true, false}};
    case Dimension::Energy:
      return {{"J", 1, true, false}, {"Wh", 3600, true, false}};
    case Dimension::EventRate:
      return {{"/s", 1, false, false}, {"/min", 1.0 / 60, false, false}, {"/h", 1.0 / 3600, false, false},
              {"/d", 1.0 / 86400, false, false}};
  }
  return {};
}

std::optional<double> unit_factor(std::string_view suffix, Dimension d) {
  for (const auto& unit : base_units(d)) {
    if (suffix.size() < unit.symbol.size() || suffix.substr(suffix.size() - unit.symbol.size()) != unit.symbol)
      continue;
    std::string_view prefix = suffix.substr(0, suffix.size() - unit.symbol.size());
    if (prefix.empty()) return unit.factor;
    if (unit.takes_prefix)
      for (const auto& p : kSiPrefixes)
        if (p.symbol == prefix) return unit.factor * p.factor;
    if (unit.takes_iec_prefix)
      for (const auto& p : kIecPrefixes)
        if (p.symbol == prefix) return unit.factor * p.factor;
  }
  return std::nullopt;
}

// The unit suggested when a bare number was given.
std::string_view typical_unit(Dimension d) {
  switch (d) {
    case Dimension::FlopCount: return "FLOP";
    case Dimension::FlopPerSecond: return "TFLOPS";
    case Dimension::Size: return "GiB";
    case Dimension::Bandwidth: return "Gbps";
    case Dimension::Duration: return "s";
    case Dimension::Power: return "W";
    case Dimension::Energy: return "J";
    case Dimension::EventRate: return "/s";
  }
  return "";
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view dimension_name(Dimension d) {
  switch (d) {
    case Dimension::FlopCount: return "an amount of FLOP";
    case Dimension::FlopPerSecond: return "a FLOP/s rate";
    case Dimension::Size: return "a size";
    case Dimension::Bandwidth: return "a bandwidth";
    case Dimension::Duration: return "a duration";
    case Dimension::Power: return "a power";
    case Dimension::Energy: return "an energy";
    case Dimension::EventRate: return "a rate";
  }
  return "a quantity";
}

std::string_view dimension_example(Dimension d) {
  switch (d) {
    case Dimension::FlopCount: return "1e21FLOP";
    case Dimension::FlopPerSecond: return "989TFLOPS";
    case Dimension::Size: return "80GiB";
    case Dimension::Bandwidth: return "400Gbps or 3.35TBps";
    case Dimension::Duration: return "30min";
    case Dimension::Power: return "700W";
    case Dimension::Energy: return "5MWh";
    case Dimension::EventRate: return "50/s";
  }
  return "";
}

std::optional<double> parse_quantity(std::string_view text, Dimension dim, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<double> {
    if (error) *error = why;
    return std::nullopt;
  };
  std::string expected = std::string("expected ") + std::string(dimension_name(dim)) +
                         " with a unit (for example " + std::string(dimension_example(dim)) + ")";
  std::string s(trim(text));
  if (s.empty()) return fail(expected + ", got an empty value");

  const char* begin = s.c_str();
  char* end = nullptr;
  double number = std::strtod(begin, &end);
  if (end == begin) return fail(expected + ", got '" + s + "'");
  // strtod reads "inf"/"nan" and hex floats; none of them is a quantity here.
  if (!std::isfinite(number)) return fail(expected + ", got '" + s + "'");
  std::string_view suffix = trim(std::string_view(end));
  if (suffix.empty())
    return fail(expected + ", got the bare number " + s + "; append the unit, for example " + s +
                std::string(typical_unit(dim)));
  if (number < 0) return fail(expected + " that is not negative, got '" + s + "'");
  auto factor = unit_factor(suffix, dim);
  if (!factor) return fail(expected + ", got the unknown unit '" + std::string(suffix) + "' in '" + s + "'");
  return number * *factor;
}

std::string format_quantity(double base_value, Dimension dim) {
  static const std::array<std::pair<double, const char*>, 7> prefixes{
      {{1e21, "Z"}, {1e18, "E"}, {1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}}};
  const char* unit = "";
  switch (dim) {
    case Dimension::FlopCount: unit = "FLOP"; break;
    case Dimension::FlopPerSecond: unit = "FLOP/s"; break;
    case Dimension::Size: unit = "B"; break;
    case Dimension::Bandwidth: unit = "B/s"; break;
    case Dimension::Duration: unit = "s"; break;
    case Dimension::Power: unit = "W"; break;
    case Dimension::Energy: unit = "J"; break;
    case Dimension::EventRate: unit = "/s"; break;
  }
  if (dim == Dimension::Duration) {
    // Durations read best in the largest unit that keeps the number at or above 1.
    static const std::array<std::pair<double, const char*>, 4> spans{{{86400, "d"}, {3600, "h"}, {60, "min"}, {1, "s"}}};
    for (const auto& [seconds, symbol] : spans)
      if (std::fabs(base_value) >= seconds || seconds == 1) {
        char buffer[64];
        std::snprintf(buffer, sizeof buffer, "%.4g %s", base_value / seconds, symbol);
        return buffer;
      }
  }
  const char* prefix = "";
  double shown = base_value;
  if (dim != Dimension::Duration && dim != Dimension::EventRate)
    for (const auto& [factor, symbol] : prefixes)
      if (std::fabs(base_value) >= factor) {
        shown = base_value / factor;
        prefix = symbol;
        break;
      }
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.4g %s%s", shown, prefix, unit);
  return buffer;
}

}  // namespace fleetsim
