#include "oauth/relay_token.h"

#include <boost/json.hpp>

namespace devauth::oauth {

std::string serializeRelayToken(const RelayToken& token) {
  boost::json::object object;
  object["access_token"] = token.access_token;
  object["token_type"] = token.token_type;
  if (token.expires_in) {
    object["expires_in"] = *token.expires_in;
  }
  if (!token.scope.empty()) {
    object["scope"] = token.scope;
  }
  return boost::json::serialize(object);
}

std::optional<RelayToken> parseRelayToken(std::string_view json) {
  boost::system::error_code error;
  const boost::json::value value = boost::json::parse(json, error);
  if (error || !value.is_object()) {
    return std::nullopt;
  }
  const boost::json::object& object = value.get_object();
  const auto* access_token = object.if_contains("access_token");
  const auto* token_type = object.if_contains("token_type");
  if (!access_token || !access_token->is_string() || !token_type || !token_type->is_string()) {
    return std::nullopt;
  }

  RelayToken token;
  token.access_token = access_token->get_string();
  token.token_type = token_type->get_string();
  if (const auto* expires_in = object.if_contains("expires_in");
      expires_in && expires_in->is_int64()) {
    token.expires_in = expires_in->get_int64();
  }
  if (const auto* scope = object.if_contains("scope"); scope && scope->is_string()) {
    token.scope = scope->get_string();
  }
  return token;
}

}  // namespace devauth::oauth
