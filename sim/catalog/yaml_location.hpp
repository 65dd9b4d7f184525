// Where a node of a catalog data file is, for error messages: yaml-cpp's marks are
// 0-based and -1 when unknown; fleetsim's locations are 1-based, 0 when unknown.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "core/error.hpp"

namespace fleetsim {

inline SourceLocation yaml_location(const std::string& file, const YAML::Mark& mark) {
  SourceLocation at;
  at.file = file;
  if (mark.line >= 0) at.line = mark.line + 1;
  if (mark.column >= 0) at.column = mark.column + 1;
  return at;
}

}  // namespace fleetsim
