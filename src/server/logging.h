#pragma once

// Process-wide logging setup. Log lines are `key=value` pairs with a fixed set of keys: event,
// request_id, client_id, endpoint, outcome, error, authorization_id.

#include <string_view>

namespace devauth {

// Installs a stderr logger as spdlog's default, with the pattern
// `2024-01-31T12:00:00.123+0000 info message`. `level` is one of trace, debug, info, warn,
// error, critical or off. An unknown level selects info and logs a warning.
void configureLogging(std::string_view level);

}  // namespace devauth
