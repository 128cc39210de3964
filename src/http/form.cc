#include "http/form.h"

#include <algorithm>
#include <boost/locale/utf.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace devauth::http {
namespace {

namespace urls = boost::urls;

// The device flow requests of RFC 8628 carry fewer than ten parameters. The cap bounds the work
// that a body of many short parameters can cause.
constexpr std::size_t kMaxParameters = 100;

// RFC 6749 Appendix B: '+' in a form component is a space.
const urls::encoding_opts kFormEncoding{/*space_as_plus_=*/true};

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
  // A component without a percent escape or a '+' decodes to itself, as the device code and the
  // client id of a token request do. Copying it skips the decoder, about a third of the form
  // parser's instructions under callgrind.
  const std::string_view text(encoded.data(), encoded.size());
  std::string decoded =
      encoded.decoded_size() == text.size() && text.find('+') == std::string_view::npos
          ? std::string(text)
          : encoded.decode(kFormEncoding);
  if (!isValidUtf8(decoded)) {
    return unexpected(std::string("a parameter is not valid UTF-8 after percent-decoding"));
  }
  return decoded;
}

}  // namespace

std::optional<std::string> FormParams::get(std::string_view name) const {
  for (const auto& [entry_name, value] : entries) {
    if (entry_name == name && !value.empty()) {
      return value;
    }
  }
  return std::nullopt;
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
  // Boost.URL 1.81's parse_query reads past the end of a view up to the next NUL byte
  // (boostorg/url#757), so it gets a NUL-terminated copy that outlives the iteration below.
  const std::string terminated(text);
  auto params = urls::parse_query(terminated);
  if (!params) {
    return unexpected(
        std::string("the form data has a malformed percent escape or a character "
                    "that must be percent-encoded"));
  }
  if (params->size() > kMaxParameters) {
    return unexpected("the form data has more than " + std::to_string(kMaxParameters) +
                      " parameters");
  }

  form.entries.reserve(params->size());
  for (const auto& param : *params) {
    // "a=1&&b=2" and a leading or trailing '&' yield a parameter without a name, which is skipped.
    if (param.key.empty()) {
      continue;
    }
    auto name = decodeValidated(param.key);
    if (!name) {
      return unexpected(name.error());
    }
    auto value = decodeValidated(param.value);
    if (!value) {
      return unexpected(value.error());
    }
    form.entries.emplace_back(std::move(name.value()), std::move(value.value()));
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
