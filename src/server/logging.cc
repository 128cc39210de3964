#include "server/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/json.hpp>
#include <charconv>
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

bool isKeyCharacter(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

// A value that reads as a JSON number (status, duration_ms, counts) is written as one.
boost::json::value jsonValue(const std::string& text, bool quoted) {
  if (!quoted && !text.empty()) {
    if (text == "true" || text == "false") {
      return text == "true";
    }
    std::int64_t integer = 0;
    const char* end = text.data() + text.size();
    if (auto [last, error] = std::from_chars(text.data(), end, integer);
        error == std::errc() && last == end) {
      return integer;
    }
    double number = 0;
    if (auto [last, error] = std::from_chars(text.data(), end, number);
        error == std::errc() && last == end) {
      return number;
    }
  }
  return boost::json::string(text);
}

// Parses `key=value key="quoted value"` pairs; returns false when the message has another form.
bool parsePairs(std::string_view message, boost::json::object& fields) {
  std::size_t i = 0;
  while (i < message.size()) {
    while (i < message.size() && message[i] == ' ') {
      ++i;
    }
    if (i == message.size()) {
      break;
    }
    const std::size_t key_start = i;
    while (i < message.size() && isKeyCharacter(message[i])) {
      ++i;
    }
    if (i == key_start || i == message.size() || message[i] != '=') {
      return false;
    }
    const std::string key(message.substr(key_start, i - key_start));
    ++i;
    std::string value;
    const bool quoted = i < message.size() && message[i] == '"';
    if (quoted) {
      ++i;
      while (i < message.size() && message[i] != '"') {
        if (message[i] == '\\' && i + 1 < message.size()) {
          ++i;
        }
        value.push_back(message[i++]);
      }
      if (i == message.size()) {
        return false;
      }
      ++i;
    } else {
      while (i < message.size() && message[i] != ' ') {
        value.push_back(message[i++]);
      }
    }
    fields[key == "event" ? "msg" : key] = jsonValue(value, quoted);
  }
  return true;
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& destination) override {
    spdlog::memory_buf_t timestamp;
    timestamp_formatter_->format(message, timestamp);
    const spdlog::string_view_t level = spdlog::level::to_string_view(message.level);
    const std::string line =
        jsonLogLine(std::string_view(timestamp.data(), timestamp.size()),
                    std::string_view(level.data(), level.size()),
                    std::string_view(message.payload.data(), message.payload.size()));
    destination.append(line.data(), line.data() + line.size());
    destination.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }

 private:
  std::unique_ptr<spdlog::pattern_formatter> timestamp_formatter_ =
      std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%e%z",
                                                  spdlog::pattern_time_type::local, "");
};

}  // namespace

std::string jsonLogLine(std::string_view timestamp, std::string_view level,
                        std::string_view message) {
  boost::json::object line;
  line["ts"] = timestamp;
  line["level"] = level;
  line["msg"] = "";
  boost::json::object fields;
  if (parsePairs(message, fields)) {
    for (auto& [key, value] : fields) {
      line[key] = std::move(value);
    }
  } else {
    line["msg"] = message;
  }
  return boost::json::serialize(line);
}

namespace {

void applyFormat(spdlog::logger& logger, std::string_view format) {
  if (format == "json") {
    logger.set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger.set_pattern(std::string(kPattern));
  }
}

void applyLevel(std::string_view level) {
  const auto parsed = parseLevel(level);
  spdlog::set_level(parsed.value_or(spdlog::level::info));
  if (!parsed) {
    spdlog::warn(
        "event=invalid_log_level level=\"{}\" error=\"expected trace, debug, info, warn, "
        "error, critical or off; using info\"",
        level);
  }
}

}  // namespace

void configureLogging(std::string_view level, std::string_view format) {
  auto logger = spdlog::get(std::string(kLoggerName));
  if (!logger) {
    logger = spdlog::stderr_logger_mt(std::string(kLoggerName));
  }
  applyFormat(*logger, format);
  if (spdlog::default_logger_raw() != logger.get()) {
    spdlog::set_default_logger(logger);
  }
  applyLevel(level);
}

void reconfigureLogging(std::string_view level, std::string_view format) {
  // The sinks of spdlog's loggers take their own mutex to change the formatter, and the level
  // is atomic, so threads that are logging see either the old or the new settings.
  applyFormat(*spdlog::default_logger_raw(), format);
  applyLevel(level);
}

}  // namespace devauth
