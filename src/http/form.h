#pragma once

// application/x-www-form-urlencoded bodies and query strings (RFC 6749 Appendix B): '+' is a
// space and %XX is a byte. Parsing rejects malformed percent escapes and decoded values that are
// not valid UTF-8.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/expected.h"

namespace devauth::http {

class FormParams {
 public:
  // Parameters in the order they appeared, names and values decoded.
  std::vector<std::pair<std::string, std::string>> entries;

  // The value of `name`, or nullopt when absent. An empty value counts as absent
  // (RFC 6749 §3.1, RFC 8628 §3.1).
  std::optional<std::string> get(std::string_view name) const;

  // Returns a pointer to the value of `name`, or nullptr when get() would return nullopt. The
  // pointer is valid while `entries` is not changed.
  const std::string* find(std::string_view name) const;

  // The first name that appears more than once with a non-empty value in any occurrence, or
  // nullopt. RFC 6749 §3.2 forbids repeated parameters.
  std::optional<std::string> firstRepeatedName() const;

  bool has(std::string_view name) const { return find(name) != nullptr; }
};

// Parses `text` (a body or query string). Fails with a short reason that is safe to send.
Expected<FormParams, std::string> parseForm(std::string_view text);

// Decodes one form-encoded component ('+' as space, %XX escapes). Used for the parts of an
// HTTP Basic credential (RFC 6749 §2.3.1).
Expected<std::string, std::string> formDecode(std::string_view text);

// Percent-encodes `text` for a form or query component.
std::string formEncode(std::string_view text);

}  // namespace devauth::http
