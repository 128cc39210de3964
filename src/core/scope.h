#pragma once

// Scope strings (RFC 6749 §3.3): space-delimited, case-sensitive tokens of printable ASCII
// other than '"' and '\'.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace devauth {

// Splits a scope string into tokens, dropping repeats and keeping the first order. Returns
// nullopt when a token has a forbidden character or the tokens are separated by anything but
// single spaces.
std::optional<std::vector<std::string>> parseScope(std::string_view text);

std::string joinScope(const std::vector<std::string>& scopes);

// Returns the tokens of `requested` that are not in `allowed`.
std::vector<std::string> scopesNotAllowed(const std::vector<std::string>& requested,
                                          const std::vector<std::string>& allowed);

}  // namespace devauth
