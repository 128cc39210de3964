// Fuzzes the relay token JSON that the approval API accepts from a backend, and checks that a
// parsed token serialises and parses back to the same fields.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "oauth/relay_token.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);

  const auto token = devauth::oauth::parseRelayToken(json);
  if (!token) {
    return 0;
  }
  const auto again = devauth::oauth::parseRelayToken(devauth::oauth::serializeRelayToken(*token));
  if (!again || again->access_token != token->access_token ||
      again->token_type != token->token_type || again->expires_in != token->expires_in ||
      again->scope != token->scope) {
    std::abort();
  }
  return 0;
}
