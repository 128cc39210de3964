#include "core/user_code_profile.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/markup.h"
#include "core/user_code.h"

namespace devauth {
namespace {

constexpr std::string_view kDigitAlphabet = "0123456789";
constexpr std::string_view kProfileSyntax =
    "use letters:LENGTH:GROUP or digits:LENGTH:GROUP[:damm]";

// The totally anti-symmetric quasigroup of order 10 that is commonly published for the Damm
// algorithm. The row is the interim digit and the column the next digit. Every diagonal entry
// is 0, so a code followed by its check digit ends with interim 0.
constexpr std::array<std::array<std::uint8_t, 10>, 10> kDammTable = {{
    {0, 3, 1, 7, 5, 9, 8, 6, 4, 2},
    {7, 0, 9, 2, 1, 5, 4, 8, 6, 3},
    {4, 2, 0, 6, 8, 7, 1, 3, 5, 9},
    {1, 7, 5, 0, 9, 8, 3, 4, 2, 6},
    {6, 1, 2, 3, 0, 4, 5, 9, 7, 8},
    {3, 6, 7, 4, 2, 0, 9, 5, 8, 1},
    {5, 8, 6, 9, 7, 2, 0, 1, 3, 4},
    {8, 9, 4, 5, 3, 6, 2, 0, 1, 7},
    {9, 4, 3, 8, 6, 1, 7, 2, 0, 5},
    {2, 5, 8, 1, 4, 3, 6, 7, 9, 0},
}};

// ICAO Annex 10 spelling alphabet, A to Z.
constexpr std::array<std::string_view, 26> kSpellingWords = {
    "Alfa",    "Bravo", "Charlie", "Delta",  "Echo",     "Foxtrot", "Golf",   "Hotel",  "India",
    "Juliett", "Kilo",  "Lima",    "Mike",   "November", "Oscar",   "Papa",   "Quebec", "Romeo",
    "Sierra",  "Tango", "Uniform", "Victor", "Whiskey",  "X-ray",   "Yankee", "Zulu"};

constexpr std::array<std::string_view, 10> kDigitWords = {"zero", "one", "two",   "three", "four",
                                                          "five", "six", "seven", "eight", "nine"};

constexpr std::string_view kSsmlGroupBreak = "<break time=\"500ms\"/>";

Expected<std::size_t, std::string> parseCount(std::string_view text, std::string_view full,
                                              std::string_view what) {
  std::size_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || ptr != end) {
    return unexpected(
        fmt::format("invalid user code profile '{}': {} '{}' is not a number", full, what, text));
  }
  return value;
}

std::vector<std::string_view> splitFields(std::string_view text) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t colon = text.find(':', start);
    fields.push_back(text.substr(start, colon == std::string_view::npos ? colon : colon - start));
    if (colon == std::string_view::npos) {
      return fields;
    }
    start = colon + 1;
  }
}

Expected<void, std::string> checkLimits(const UserCodeProfile& profile, std::string_view text) {
  const bool letters = profile.charset == UserCodeCharset::Letters;
  const std::size_t max_length = letters ? kMaxLetterCodeLength : kMaxDigitCodeLength;
  if (profile.length < kMinUserCodeLength || profile.length > max_length) {
    return unexpected(
        fmt::format("invalid user code profile '{}': the length must be {} to {} for {} codes",
                    text, kMinUserCodeLength, max_length, letters ? "letters" : "digits"));
  }
  if (profile.group < kMinUserCodeGroup || profile.group > profile.length) {
    return unexpected(
        fmt::format("invalid user code profile '{}': the group size must be {} to the length {}",
                    text, kMinUserCodeGroup, profile.length));
  }
  return {};
}

// Appends `count` characters of `alphabet`, each drawn uniformly: bytes at or above the largest
// multiple of the alphabet size that fits in a byte are drawn again, because byte % size would
// favour the first characters.
void drawCharacters(RandomSource& random, std::string_view alphabet, std::size_t count,
                    std::string& out) {
  const unsigned rejection_limit = 256 / alphabet.size() * alphabet.size();
  std::array<std::uint8_t, 16> pool{};
  std::size_t drawn = 0;
  while (drawn < count) {
    random.fill(pool);
    for (std::uint8_t byte : pool) {
      if (byte >= rejection_limit) {
        continue;
      }
      out.push_back(alphabet[byte % alphabet.size()]);
      if (++drawn == count) {
        break;
      }
    }
  }
}

std::uint8_t dammInterim(std::string_view digits) {
  std::uint8_t interim = 0;
  for (char digit : digits) {
    interim = kDammTable[interim][static_cast<std::size_t>(digit - '0')];
  }
  return interim;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isUpperLetter(char c) { return c >= 'A' && c <= 'Z'; }

std::vector<std::string_view> splitGroups(std::string_view displayed) {
  std::vector<std::string_view> groups;
  std::size_t start = 0;
  while (start <= displayed.size()) {
    const std::size_t dash = displayed.find('-', start);
    const std::size_t end = dash == std::string_view::npos ? displayed.size() : dash;
    if (end > start) {
      groups.push_back(displayed.substr(start, end - start));
    }
    if (dash == std::string_view::npos) {
      break;
    }
    start = dash + 1;
  }
  return groups;
}

// Appends the spoken words of one group to `out`, separated by spaces. A character that is
// neither a digit nor an upper-case letter is appended as it is.
void appendWords(std::string_view group, std::string& out) {
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (i > 0) {
      out.push_back(' ');
    }
    const char c = group[i];
    if (isDigit(c)) {
      out += kDigitWords[static_cast<std::size_t>(c - '0')];
    } else if (isUpperLetter(c)) {
      out += kSpellingWords[static_cast<std::size_t>(c - 'A')];
    } else {
      out.push_back(c);
    }
  }
}

}  // namespace

Expected<UserCodeProfile, std::string> parseUserCodeProfile(std::string_view text) {
  const std::vector<std::string_view> fields = splitFields(text);
  if (fields.size() < 3 || fields.size() > 4) {
    return unexpected(fmt::format("invalid user code profile '{}': {}", text, kProfileSyntax));
  }

  UserCodeProfile profile;
  if (fields[0] == "letters") {
    profile.charset = UserCodeCharset::Letters;
  } else if (fields[0] == "digits") {
    profile.charset = UserCodeCharset::Digits;
  } else {
    return unexpected(fmt::format("invalid user code profile '{}': unknown character set '{}'; {}",
                                  text, fields[0], kProfileSyntax));
  }

  auto length = parseCount(fields[1], text, "the length");
  if (!length) {
    return unexpected(length.error());
  }
  auto group = parseCount(fields[2], text, "the group size");
  if (!group) {
    return unexpected(group.error());
  }
  profile.length = *length;
  profile.group = *group;

  if (fields.size() == 4) {
    if (fields[3] != "damm") {
      return unexpected(fmt::format(
          "invalid user code profile '{}': unknown check digit '{}'; the only one is damm", text,
          fields[3]));
    }
    if (profile.charset != UserCodeCharset::Digits) {
      return unexpected(fmt::format(
          "invalid user code profile '{}': only digits codes can have a check digit", text));
    }
    profile.check_digit = CheckDigit::Damm;
  }

  auto checked = checkLimits(profile, text);
  if (!checked) {
    return unexpected(checked.error());
  }
  return profile;
}

std::string toString(const UserCodeProfile& profile) {
  const bool letters = profile.charset == UserCodeCharset::Letters;
  std::string text =
      fmt::format("{}:{}:{}", letters ? "letters" : "digits", profile.length, profile.group);
  if (profile.check_digit == CheckDigit::Damm) {
    text += ":damm";
  }
  return text;
}

std::size_t randomCharacters(const UserCodeProfile& profile) {
  return profile.check_digit == CheckDigit::None ? profile.length : profile.length - 1;
}

double codeSpace(const UserCodeProfile& profile) {
  const double base = profile.charset == UserCodeCharset::Letters ? kUserCodeAlphabet.size()
                                                                  : kDigitAlphabet.size();
  return std::pow(base, static_cast<double>(randomCharacters(profile)));
}

std::string generateUserCode(RandomSource& random, const UserCodeProfile& profile) {
  std::string code;
  code.reserve(profile.length);
  const std::string_view alphabet =
      profile.charset == UserCodeCharset::Letters ? kUserCodeAlphabet : kDigitAlphabet;
  drawCharacters(random, alphabet, randomCharacters(profile), code);
  if (profile.check_digit == CheckDigit::Damm) {
    code.push_back(dammCheckDigit(code));
  }
  return code;
}

std::string formatUserCode(std::string_view canonical, const UserCodeProfile& profile) {
  const std::size_t group = std::max<std::size_t>(profile.group, 1);
  std::string formatted;
  formatted.reserve(canonical.size() + canonical.size() / group);
  for (std::size_t i = 0; i < canonical.size(); ++i) {
    if (i > 0 && i % group == 0) {
      formatted.push_back('-');
    }
    formatted.push_back(canonical[i]);
  }
  return formatted;
}

char dammCheckDigit(std::string_view digits) {
  return static_cast<char>('0' + dammInterim(digits));
}

bool passesDammCheck(std::string_view digits) { return dammInterim(digits) == 0; }

// Both functions run for every device authorization response, so they append into one string
// instead of joining vectors of words.
std::string spokenUserCode(std::string_view displayed) {
  std::string spoken;
  bool first = true;
  for (std::string_view group : splitGroups(displayed)) {
    if (!first) {
      spoken += ", ";
    }
    first = false;
    appendWords(group, spoken);
  }
  return spoken;
}

std::string ssmlUserCode(std::string_view displayed) {
  std::string ssml = "<speak>";
  std::string words;
  bool first = true;
  for (std::string_view group : splitGroups(displayed)) {
    if (!first) {
      ssml += kSsmlGroupBreak;
    }
    first = false;
    const bool digits = std::all_of(group.begin(), group.end(), isDigit);
    if (digits) {
      ssml += "<say-as interpret-as=\"characters\">";
      ssml += escapeMarkup(group);
      ssml += "</say-as>";
    } else {
      words.clear();
      appendWords(group, words);
      ssml += escapeMarkup(words);
    }
  }
  ssml += "</speak>";
  return ssml;
}

}  // namespace devauth
