#pragma once

// User codes (RFC 8628 §6.1). The default profile is 8 characters from 20 consonants without
// look-alikes, which gives 20^8 ≈ 2^34.6 codes, shown as XXXX-XXXX. Clients may have other
// profiles (core/user_code_profile.h). The canonical form, which is hashed and stored, is the
// code without dashes. Letter codes and digit codes never share a canonical form, and neither do
// codes of different lengths, so one hash finds a code whatever its profile.

#include <optional>
#include <string>
#include <string_view>

#include "core/random.h"

namespace devauth {

inline constexpr std::string_view kUserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ";
inline constexpr std::size_t kUserCodeLength = 8;

// Draws a canonical code of the default profile.
std::string generateUserCode(RandomSource& random);

// Formats a canonical code for display: letters in groups of 4, digits in groups of 3.
// NOTE: a client whose profile groups differently shows its codes with that grouping; pages
// that know only the canonical code use this one.
std::string formatUserCode(std::string_view canonical);

// Turns what a person typed into the canonical form: ASCII letters are upper-cased and spaces,
// dashes and other separators are dropped (RFC 8628 §6.1). Returns nullopt unless what remains
// is 6 to 12 characters of the alphabet or 6 to 15 digits, so a vowel, a mix of letters and
// digits or a wrong length makes the input invalid.
std::optional<std::string> normalizeUserCode(std::string_view input);

}  // namespace devauth
