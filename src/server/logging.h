#pragma once

// Process-wide logging setup. Log lines are `key=value` pairs with a fixed set of keys: event,
// request_id, client_id, endpoint, outcome, error, authorization_id, and for requests method,
// path, status and duration_ms. Audit lines (approvals, denials, token issuance, administrative
// actions) carry audit=true. In the JSON format each line is one object with ts, level and msg
// (the event), followed by the line's other keys.

#include <string>
#include <string_view>

namespace devauth {

// Installs a stderr logger as spdlog's default. `level` is one of trace, debug, info, warn,
// error, critical or off; an unknown level selects info and logs a warning. `format` is "text"
// (`2024-01-31T12:00:00.123+0000 info event=...`) or "json". Call it before other threads log:
// replacing spdlog's default logger races with threads that are logging through it.
void configureLogging(std::string_view level, std::string_view format = "text");

// Changes the level and the format of spdlog's current default logger without replacing it, so
// it is safe while other threads log (a SIGHUP reload calls it).
void reconfigureLogging(std::string_view level, std::string_view format);

// Turns one log message of key=value pairs into a JSON object with ts, level and msg first.
// A message that is not key=value pairs becomes the msg. Exposed for tests.
std::string jsonLogLine(std::string_view timestamp, std::string_view level,
                        std::string_view message);

}  // namespace devauth
