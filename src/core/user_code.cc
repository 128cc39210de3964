#include "core/user_code.h"

#include <array>
#include <cstdint>

namespace devauth {
namespace {

// The largest multiple of the alphabet size that fits in a byte; bytes at or above it are
// drawn again.
constexpr unsigned kRejectionLimit = 256 / kUserCodeAlphabet.size() * kUserCodeAlphabet.size();

bool isSeparator(char c) { return c == '-' || c == ' ' || c == '\t' || c == '.' || c == '_'; }

}  // namespace

std::string generateUserCode(RandomSource& random) {
  std::string code;
  code.reserve(kUserCodeLength);
  std::array<std::uint8_t, 16> pool{};
  while (code.size() < kUserCodeLength) {
    random.fill(pool);
    for (std::uint8_t byte : pool) {
      if (byte >= kRejectionLimit) {
        continue;
      }
      code.push_back(kUserCodeAlphabet[byte % kUserCodeAlphabet.size()]);
      if (code.size() == kUserCodeLength) {
        break;
      }
    }
  }
  return code;
}

std::string formatUserCode(std::string_view canonical) {
  const std::size_t half = canonical.size() / 2;
  std::string formatted(canonical.substr(0, half));
  formatted.push_back('-');
  formatted.append(canonical.substr(half));
  return formatted;
}

std::optional<std::string> normalizeUserCode(std::string_view input) {
  // Longer input cannot be a code with separators; the cap also bounds the work per request.
  if (input.size() > 64) {
    return std::nullopt;
  }
  std::string canonical;
  for (char c : input) {
    if (isSeparator(c)) {
      continue;
    }
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
    if (kUserCodeAlphabet.find(c) == std::string_view::npos ||
        canonical.size() == kUserCodeLength) {
      return std::nullopt;
    }
    canonical.push_back(c);
  }
  if (canonical.size() != kUserCodeLength) {
    return std::nullopt;
  }
  return canonical;
}

}  // namespace devauth
