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

}  // namespace devauth
