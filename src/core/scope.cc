#include "core/scope.h"

#include <algorithm>

namespace devauth {
namespace {

bool isScopeChar(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte == 0x21 || (byte >= 0x23 && byte <= 0x5b) || (byte >= 0x5d && byte <= 0x7e);
}

}  // namespace

std::optional<std::vector<std::string>> parseScope(std::string_view text) {
  std::vector<std::string> scopes;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(' ', start), text.size());
    const std::string_view token = text.substr(start, end - start);
    if (token.empty() || !std::all_of(token.begin(), token.end(), isScopeChar)) {
      return std::nullopt;
    }
    if (std::find(scopes.begin(), scopes.end(), token) == scopes.end()) {
      scopes.emplace_back(token);
    }
    start = end + 1;
  }
  return scopes;
}

std::string joinScope(const std::vector<std::string>& scopes) {
  std::string joined;
  for (const auto& scope : scopes) {
    if (!joined.empty()) {
      joined.push_back(' ');
    }
    joined += scope;
  }
  return joined;
}

std::vector<std::string> scopesNotAllowed(const std::vector<std::string>& requested,
                                          const std::vector<std::string>& allowed) {
  std::vector<std::string> missing;
  for (const auto& scope : requested) {
    if (std::find(allowed.begin(), allowed.end(), scope) == allowed.end()) {
      missing.push_back(scope);
    }
  }
  return missing;
}

}  // namespace devauth
