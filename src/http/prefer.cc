#include "http/prefer.h"

#include <boost/algorithm/string/predicate.hpp>
#include <charconv>
#include <string_view>

namespace devauth::http {
namespace {

constexpr std::uint32_t kMaxWait = 2'147'483'647;

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

// The value of one preference "wait = 10; param" (RFC 7240 §2), when it is `wait`.
std::optional<std::optional<std::uint32_t>> waitOf(std::string_view preference) {
  const std::string_view head = preference.substr(0, preference.find(';'));
  const auto equals = head.find('=');
  if (!boost::algorithm::iequals(trim(head.substr(0, equals)), "wait")) {
    return std::nullopt;
  }
  if (equals == std::string_view::npos) {
    return std::optional<std::uint32_t>{};
  }
  std::string_view value = trim(head.substr(equals + 1));
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  std::uint64_t seconds = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (value.empty() || error == std::errc::invalid_argument || end != value.data() + value.size()) {
    return std::optional<std::uint32_t>{};
  }
  if (error == std::errc::result_out_of_range || seconds > kMaxWait) {
    return std::optional<std::uint32_t>{kMaxWait};
  }
  return std::optional<std::uint32_t>{static_cast<std::uint32_t>(seconds)};
}

}  // namespace

// NOTE: Preferences are split at every comma, so a quoted value that contains a comma is read
// wrongly. No preference devauth reads has such a value.
std::optional<std::uint32_t> preferredWait(const RawRequest& message) {
  const auto [first, last] = message.equal_range("Prefer");
  for (auto field = first; field != last; ++field) {
    std::string_view rest = field->value();
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string_view preference = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (auto wait = waitOf(preference)) {
        return *wait;
      }
    }
  }
  return std::nullopt;
}

}  // namespace devauth::http
