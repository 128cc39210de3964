#pragma once

// User code profiles: the character set, length and grouping of the user codes of one client
// (RFC 8628 §6.1). The letters profile suits screens; the digits profile suits phone keypads and
// codes read aloud, optionally with a Damm check digit so that a mistyped digit is caught before
// it counts as a wrong guess.
//
// The text form, parsed and printed only here, is
//   letters:LENGTH:GROUP          for example letters:8:4   -> BCDF-GHJK
//   digits:LENGTH:GROUP[:damm]    for example digits:9:3:damm -> 123-456-784
// LENGTH counts every character a person types, the check digit included; GROUP is the number
// of characters between dashes in the displayed form (the last group may be shorter).

#include <cstdint>
#include <string>
#include <string_view>

#include "core/expected.h"
#include "core/random.h"

namespace devauth {

enum class UserCodeCharset { Letters, Digits };
enum class CheckDigit { None, Damm };

inline constexpr std::size_t kMinUserCodeLength = 6;
inline constexpr std::size_t kMaxLetterCodeLength = 12;
inline constexpr std::size_t kMaxDigitCodeLength = 15;
inline constexpr std::size_t kMinUserCodeGroup = 2;

struct UserCodeProfile {
  UserCodeCharset charset = UserCodeCharset::Letters;
  // Characters a person types, the check digit included.
  std::size_t length = 8;
  // Characters between dashes in the displayed form.
  std::size_t group = 4;
  CheckDigit check_digit = CheckDigit::None;

  friend bool operator==(const UserCodeProfile&, const UserCodeProfile&) = default;
};

// Parses the text form. The error names the text and the rule it breaks.
Expected<UserCodeProfile, std::string> parseUserCodeProfile(std::string_view text);

// Prints the text form that parseUserCodeProfile reads back.
std::string toString(const UserCodeProfile& profile);

// Characters drawn at random: the length without the check digit.
std::size_t randomCharacters(const UserCodeProfile& profile);

// The number of distinct codes: 20^n for letters, 10^n for digits, where n is
// randomCharacters(). A check digit adds nothing, since it follows from the other digits.
double codeSpace(const UserCodeProfile& profile);

// Draws a canonical code (no dashes) by rejection sampling, so every character is equally
// likely, and appends the check digit when the profile has one.
std::string generateUserCode(RandomSource& random, const UserCodeProfile& profile);

// Inserts a dash after every `profile.group` characters of a canonical code.
std::string formatUserCode(std::string_view canonical, const UserCodeProfile& profile);

// Computes the Damm check digit of a string of ASCII digits. It catches every single-digit error
// and every swap of two adjacent digits.
char dammCheckDigit(std::string_view digits);

// Whether `digits`, ending in its check digit, passes the Damm check.
bool passesDammCheck(std::string_view digits);

// The code for reading aloud: letters in the ICAO spelling alphabet, digits as English words,
// a comma between groups. `displayed` is the dashed form, for example "BCDF-GHJK" gives
// "Bravo Charlie Delta Foxtrot, Golf Hotel Juliett Kilo".
std::string spokenUserCode(std::string_view displayed);

// The same as SSML 1.1: a <speak> document with a <break> between groups. Groups of digits are
// in <say-as interpret-as="characters">, so that a speech engine reads 123 as "one two three";
// letters are spelt with the ICAO words, which are clearer than letter names on a phone line.
std::string ssmlUserCode(std::string_view displayed);

}  // namespace devauth
