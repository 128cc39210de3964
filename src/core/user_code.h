#pragma once

// User codes (RFC 8628 §6.1): 8 characters from 20 consonants without look-alikes, which gives
// 20^8 ≈ 2^34.6 codes, shown as XXXX-XXXX. The canonical form, which is hashed and stored, is
// the 8 characters without the dash.

#include <optional>
#include <string>
#include <string_view>

#include "core/random.h"

namespace devauth {

inline constexpr std::string_view kUserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ";
inline constexpr std::size_t kUserCodeLength = 8;

// Draws a canonical user code from `random` by rejection sampling, so every character is
// equally likely (a plain byte % 20 would favour the first 16 characters).
std::string generateUserCode(RandomSource& random);

// Formats a canonical code as XXXX-XXXX for display.
std::string formatUserCode(std::string_view canonical);

// Turns what a person typed into the canonical form: ASCII letters are upper-cased and spaces,
// dashes and other separators are dropped (RFC 8628 §6.1). Returns nullopt unless exactly
// kUserCodeLength characters of the alphabet remain, so a vowel or digit makes the input invalid.
std::optional<std::string> normalizeUserCode(std::string_view input);

}  // namespace devauth
