#pragma once

// The form parser as Boost.URL's parse_query and its params iterator give it, with the decoding,
// parameter cap and UTF-8 check of http::parseForm. parseForm makes the same checks in its own
// pass, and the form tests and the form fuzz target compare the two.

#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse_query.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http/form.h"

namespace devauth::testing {

inline std::optional<std::vector<std::pair<std::string, std::string>>> parseFormWithBoostUrl(
    const std::string& text) {
  constexpr std::size_t kMaxParameters = 100;
  std::vector<std::pair<std::string, std::string>> entries;
  if (text.empty()) {
    return entries;
  }
  // std::string keeps a NUL after its bytes, which Boost.URL 1.81's parse_query reads up to
  // (boostorg/url#757).
  auto params = boost::urls::parse_query(text);
  if (!params || params->size() > kMaxParameters) {
    return std::nullopt;
  }
  const boost::urls::encoding_opts plus_as_space{/*space_as_plus_=*/true};
  for (const auto& param : *params) {
    if (param.key.empty()) {
      continue;
    }
    std::string name = param.key.decode(plus_as_space);
    std::string value = param.value.decode(plus_as_space);
    // formDecode rejects what is not UTF-8 after decoding, as parseForm does.
    if (!http::formDecode(http::formEncode(name)) || !http::formDecode(http::formEncode(value))) {
      return std::nullopt;
    }
    entries.emplace_back(std::move(name), std::move(value));
  }
  return entries;
}

}  // namespace devauth::testing
