#include "core/client.h"

namespace devauth {

std::string_view toString(ClientType type) {
  return type == ClientType::Confidential ? "confidential" : "public";
}

std::optional<ClientType> parseClientType(std::string_view text) {
  if (text == "public") {
    return ClientType::Public;
  }
  if (text == "confidential") {
    return ClientType::Confidential;
  }
  return std::nullopt;
}

std::string_view toString(AccessTokenFormat format) {
  return format == AccessTokenFormat::Jwt ? "jwt" : "opaque";
}

std::optional<AccessTokenFormat> parseAccessTokenFormat(std::string_view text) {
  if (text == "opaque") {
    return AccessTokenFormat::Opaque;
  }
  if (text == "jwt") {
    return AccessTokenFormat::Jwt;
  }
  return std::nullopt;
}

}  // namespace devauth
