#include "core/log.hpp"

#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace fleetsim {
namespace {

std::function<double()>& clock_source() {
  static std::function<double()> clock = [] { return 0.0; };
  return clock;
}

spdlog::level::level_enum& current_level() {
  static spdlog::level::level_enum level = spdlog::level::info;
  return level;
}

// %* in the pattern: the simulated time in seconds.
class SimulatedTimeFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    auto text = fmt::format("{:.3f}", clock_source()());
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<SimulatedTimeFlag>(); }
};

}  // namespace

std::shared_ptr<spdlog::logger> layer_logger(const std::string& layer) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  if (auto existing = spdlog::get(layer)) return existing;
  auto logger = std::make_shared<spdlog::logger>(layer, std::make_shared<spdlog::sinks::stderr_sink_st>());
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<SimulatedTimeFlag>('*').set_pattern("[%*s] [%n/%l] %v");
  logger->set_formatter(std::move(formatter));
  logger->set_level(current_level());
  spdlog::register_logger(logger);
  return logger;
}

void set_log_clock(std::function<double()> simulated_seconds) { clock_source() = std::move(simulated_seconds); }

void set_log_level(spdlog::level::level_enum level) {
  current_level() = level;
  spdlog::apply_all([level](const std::shared_ptr<spdlog::logger>& l) { l->set_level(level); });
}

}  // namespace fleetsim
