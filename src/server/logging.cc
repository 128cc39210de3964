#include "server/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <optional>
#include <string>

namespace devauth {
namespace {

constexpr std::string_view kLoggerName = "devauth";
constexpr std::string_view kPattern = "%Y-%m-%dT%H:%M:%S.%e%z %l %v";

std::optional<spdlog::level::level_enum> parseLevel(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, spdlog::level::level_enum>, 7> kLevels = {
      {{"trace", spdlog::level::trace},
       {"debug", spdlog::level::debug},
       {"info", spdlog::level::info},
       {"warn", spdlog::level::warn},
       {"error", spdlog::level::err},
       {"critical", spdlog::level::critical},
       {"off", spdlog::level::off}}};
  for (const auto& [text, level] : kLevels) {
    if (text == name) {
      return level;
    }
  }
  return std::nullopt;
}

}  // namespace

void configureLogging(std::string_view level) {
  auto logger = spdlog::get(std::string(kLoggerName));
  if (!logger) {
    logger = spdlog::stderr_logger_mt(std::string(kLoggerName));
  }
  logger->set_pattern(std::string(kPattern));
  spdlog::set_default_logger(logger);

  const auto parsed = parseLevel(level);
  spdlog::set_level(parsed.value_or(spdlog::level::info));
  if (!parsed) {
    spdlog::warn(
        "event=invalid_log_level level=\"{}\" error=\"expected trace, debug, info, warn, "
        "error, critical or off; using info\"",
        level);
  }
}

}  // namespace devauth
