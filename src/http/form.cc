#include "http/form.h"

#include <algorithm>
#include <array>
#include <boost/locale/utf.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/grammar/hexdig_chars.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <cstdint>

namespace devauth::http {
namespace {

namespace urls = boost::urls;

// The device flow requests of RFC 8628 carry fewer than ten parameters. The cap bounds the work
// that a body of many short parameters can cause.
constexpr std::size_t kMaxParameters = 100;

// RFC 6749 Appendix B: '+' in a form component is a space.
const urls::encoding_opts kFormEncoding{/*space_as_plus_=*/true};

// The characters that a query may hold without percent-encoding (RFC 3986 §3.4). The
// separators '&' and '=' are among them.
constexpr auto kQueryChars = urls::pchars + '/' + '?';

// The class of each byte in parseForm's first pass. Boost.URL's lut_chars tests a bit in a mask
// for each byte, but a table of the 256 bytes takes one load.
enum class ByteClass : std::uint8_t { Invalid, Plain, Ampersand, Percent };

constexpr std::array<ByteClass, 256> kByteClasses = [] {
  std::array<ByteClass, 256> classes{};
  for (std::size_t byte = 0; byte < classes.size(); ++byte) {
    const char c = static_cast<char>(byte);
    if (c == '&') {
      classes[byte] = ByteClass::Ampersand;
    } else if (c == '%') {
      classes[byte] = ByteClass::Percent;
    } else if (kQueryChars(c)) {
      classes[byte] = ByteClass::Plain;
    }
  }
  return classes;
}();

constexpr std::string_view kInvalidUtf8 = "a parameter is not valid UTF-8 after percent-decoding";

constexpr std::string_view kMalformedForm =
    "the form data has a malformed percent escape or a character that must be percent-encoded";

// Whether `text` is well-formed UTF-8 (RFC 3629): no overlong forms, surrogates or code points
// above U+10FFFF, and no truncated sequence.
bool isValidUtf8(std::string_view text) {
  // ASCII text is valid UTF-8, and nearly every parameter is ASCII.
  if (std::all_of(text.begin(), text.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    return true;
  }
  using Traits = boost::locale::utf::utf_traits<char>;
  auto position = text.begin();
  while (position != text.end()) {
    const auto code_point = Traits::decode(position, text.end());
    if (code_point == boost::locale::utf::illegal || code_point == boost::locale::utf::incomplete) {
      return false;
    }
  }
  return true;
}

Expected<std::string, std::string> decodeValidated(urls::pct_string_view encoded) {
  std::string decoded = encoded.decode(kFormEncoding);
  if (!isValidUtf8(decoded)) {
    return unexpected(std::string(kInvalidUtf8));
  }
  return decoded;
}

// Decodes one component of a form that parseForm has checked: '+' is a space and %XX the byte
// XX. A component without either, as the device code and the client id of a token request are,
// is ASCII and decodes to itself. The escapes were checked in parseForm's first pass, so this
// decodes them itself. Boost.URL's make_pct_string_view and decode would check every byte
// again, and took about 1,500 instructions for a token request's grant type under callgrind.
Expected<std::string, std::string> decodeComponent(std::string_view text) {
  if (text.find('%') == std::string_view::npos && text.find('+') == std::string_view::npos) {
    return std::string(text);
  }
  std::string decoded(text.size(), '\0');
  char* out = decoded.data();
  bool escaped = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      const auto high = static_cast<unsigned char>(urls::grammar::hexdig_value(text[i + 1]));
      const auto low = static_cast<unsigned char>(urls::grammar::hexdig_value(text[i + 2]));
      *out++ = static_cast<char>((high << 4U) | low);
      i += 2;
      escaped = true;
    } else {
      *out++ = c == '+' ? ' ' : c;
    }
  }
  decoded.resize(static_cast<std::size_t>(out - decoded.data()));
  // Unescaped bytes are ASCII, which parseForm checked, so only an escape can make the
  // component invalid UTF-8.
  if (escaped && !isValidUtf8(decoded)) {
    return unexpected(std::string(kInvalidUtf8));
  }
  return decoded;
}

}  // namespace

const std::string* FormParams::find(std::string_view name) const {
  for (const auto& [entry_name, value] : entries) {
    if (entry_name == name && !value.empty()) {
      return &value;
    }
  }
  return nullptr;
}

std::optional<std::string> FormParams::get(std::string_view name) const {
  const std::string* value = find(name);
  return value != nullptr ? std::optional<std::string>(*value) : std::nullopt;
}

std::optional<std::string> FormParams::firstRepeatedName() const {
  // Compares each pair of names. parseForm caps the parameters at kMaxParameters, and for the
  // handful a request carries this costs less than building a set.
  for (auto entry = entries.begin(); entry != entries.end(); ++entry) {
    const std::string& name = entry->first;
    const auto same_name = [&name](const auto& other) { return other.first == name; };
    const bool seen_before = std::any_of(entries.begin(), entry, same_name);
    if (!seen_before && std::any_of(std::next(entry), entries.end(), same_name) && has(name)) {
      return name;
    }
  }
  return std::nullopt;
}

Expected<FormParams, std::string> parseForm(std::string_view text) {
  FormParams form;
  if (text.empty()) {
    return form;
  }
  // The checks of Boost.URL's query_rule, made here in one pass: every byte is a query character
  // of RFC 3986 §3.4 or a well-formed %XX escape. The parameters are then split at '&' and their
  // names at the first '='. Under callgrind, parsing a token poll's body with parse_query and
  // its iterator took about 6,650 instructions, and this parser takes about 3,200. parse_query
  // also needed a NUL-terminated copy of the text (boostorg/url#757).
  std::size_t parameters = 1;
  for (std::size_t i = 0; i < text.size();) {
    const ByteClass byte_class = kByteClasses[static_cast<unsigned char>(text[i])];
    if (byte_class == ByteClass::Plain) {
      ++i;
    } else if (byte_class == ByteClass::Ampersand) {
      ++parameters;
      ++i;
    } else if (byte_class == ByteClass::Percent && text.size() - i >= 3 &&
               urls::grammar::hexdig_chars(text[i + 1]) &&
               urls::grammar::hexdig_chars(text[i + 2])) {
      i += 3;
    } else {
      return unexpected(std::string(kMalformedForm));
    }
  }
  if (parameters > kMaxParameters) {
    return unexpected("the form data has more than " + std::to_string(kMaxParameters) +
                      " parameters");
  }

  form.entries.reserve(parameters);
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('&', start), text.size());
    const std::string_view parameter = text.substr(start, end - start);
    start = end + 1;
    const std::size_t equals = parameter.find('=');
    const std::string_view name = parameter.substr(0, equals);
    // "a=1&&b=2" and a leading or trailing '&' yield a parameter without a name, which is skipped.
    if (name.empty()) {
      continue;
    }
    auto decoded_name = decodeComponent(name);
    if (!decoded_name) {
      return unexpected(decoded_name.error());
    }
    auto value = decodeComponent(equals == std::string_view::npos ? std::string_view()
                                                                  : parameter.substr(equals + 1));
    if (!value) {
      return unexpected(value.error());
    }
    form.entries.emplace_back(std::move(decoded_name.value()), std::move(value.value()));
  }
  return form;
}

Expected<std::string, std::string> formDecode(std::string_view text) {
  auto encoded = urls::make_pct_string_view(text);
  if (!encoded) {
    return unexpected(std::string("the value has a malformed percent escape"));
  }
  return decodeValidated(*encoded);
}

std::string formEncode(std::string_view text) {
  return urls::encode(text, urls::unreserved_chars, kFormEncoding);
}

}  // namespace devauth::http
