#include "core/user_code.h"

#include <algorithm>

#include "core/user_code_profile.h"

namespace devauth {
namespace {

bool isSeparator(char c) { return c == '-' || c == ' ' || c == '\t' || c == '.' || c == '_'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Longer input cannot be a code with separators; the cap also bounds the work per request.
constexpr std::size_t kMaxInputBytes = 64;

}  // namespace

std::string generateUserCode(RandomSource& random) {
  return generateUserCode(random, UserCodeProfile{});
}

std::string formatUserCode(std::string_view canonical) {
  UserCodeProfile profile;
  if (!canonical.empty() && std::all_of(canonical.begin(), canonical.end(), isDigit)) {
    profile.charset = UserCodeCharset::Digits;
    profile.group = 3;
  }
  return formatUserCode(canonical, profile);
}

std::optional<std::string> normalizeUserCode(std::string_view input) {
  if (input.size() > kMaxInputBytes) {
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
    canonical.push_back(c);
  }

  const bool letters = std::all_of(canonical.begin(), canonical.end(), [](char c) {
    return kUserCodeAlphabet.find(c) != std::string_view::npos;
  });
  const bool digits = std::all_of(canonical.begin(), canonical.end(), isDigit);
  const std::size_t max_length = digits ? kMaxDigitCodeLength : kMaxLetterCodeLength;
  if ((!letters && !digits) || canonical.size() < kMinUserCodeLength ||
      canonical.size() > max_length) {
    return std::nullopt;
  }
  return canonical;
}

}  // namespace devauth
