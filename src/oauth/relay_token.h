#pragma once

// A token that a trusted backend hands in with its approval, to be delivered to the device in
// place of a token minted here. It travels sealed to the authorization's relay key
// (core/secret.h) as a small JSON object:
//   {"access_token": "...", "token_type": "Bearer", "expires_in": 3600, "scope": "read"}
// where expires_in and scope are optional.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace devauth::oauth {

struct RelayToken {
  std::string access_token;
  std::string token_type = "Bearer";
  // Lifetime in seconds as the backend stated it; absent when it did not.
  std::optional<std::int64_t> expires_in;
  // Space-separated scopes; empty when the backend did not state them.
  std::string scope;
};

std::string serializeRelayToken(const RelayToken& token);

// Parses the JSON form; nullopt when it is not an object with string access_token and
// token_type.
std::optional<RelayToken> parseRelayToken(std::string_view json);

}  // namespace devauth::oauth
