// One named spdlog logger per layer ("scenario", "platform", "engine"...), writing to
// stderr with the *simulated* time in the pattern, never the wall clock, so that logs
// of the same run are identical and tests need not strip timestamps.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace fleetsim {

// The logger of a layer, created on first use.
std::shared_ptr<spdlog::logger> layer_logger(const std::string& layer);

// The engine installs the simulated clock; before it does, the time shows as 0.
void set_log_clock(std::function<double()> simulated_seconds);

// Level for every layer logger: "warn" for --quiet, "info" by default, "debug" for model internals.
void set_log_level(spdlog::level::level_enum level);

}  // namespace fleetsim
