// GET /oauth/jwks, the JSON Web Key Set of the signing keys (RFC 7517 §5), and
// GET /.well-known/openid-configuration, the OpenID Provider metadata (OpenID Connect
// Discovery 1.0 §3-4).
//
// The OpenID document is the RFC 8414 metadata plus the members OpenID Connect Discovery adds,
// so both documents list the same endpoints. Of the members that §3 marks REQUIRED, two are
// omitted because devauth runs only the device flow and has no authorization endpoint:
// - authorization_endpoint: there is none;
// - response_types_supported: response types are parameters of the authorization endpoint, so
//   the only true value is an empty array, and §4.2 omits members with zero elements.
// userinfo_endpoint (RECOMMENDED) is omitted as well: devauth has no UserInfo endpoint, and the
// ID token carries every claim it issues.

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <set>

#include "http/response.h"
#include "oauth/endpoint_error.h"
#include "oauth/endpoints.h"
#include "oauth/signed_tokens.h"

namespace devauth::oauth {
namespace {

constexpr std::string_view kOpenIdConfigurationSuffix = "/.well-known/openid-configuration";

// A verifier fetches the set again when it meets an unknown kid, so a short cache time only
// bounds how long a removed key stays trusted. The signing key overlap must exceed it.
constexpr std::string_view kJwksCacheControl = "public, max-age=300";

boost::json::array stringArray(const std::set<std::string>& values) {
  boost::json::array array;
  for (const auto& value : values) {
    array.emplace_back(value);
  }
  return array;
}

}  // namespace

std::string openIdConfigurationPath(const std::string& issuer) {
  auto url = boost::urls::parse_uri(issuer);
  std::string path = url ? std::string(url->encoded_path()) : std::string();
  while (path.ends_with('/')) {
    path.pop_back();
  }
  return path + std::string(kOpenIdConfigurationSuffix);
}

http::Response handleJwks(Services& services, const http::Request& request) {
  boost::json::array keys;
  if (services.signing_keys != nullptr) {
    auto published = services.signing_keys->publishedJwks();
    if (!published) {
      spdlog::error("event=jwks_failed request_id={} error=\"{}\"", request.request_id,
                    published.error());
      return errorResponse(request, EndpointError{makeError(OAuthErrorCode::ServerError)});
    }
    for (auto& jwk : *published) {
      keys.emplace_back(std::move(jwk));
    }
  }
  http::Response response =
      http::jsonResponse(request, 200, boost::json::object{{"keys", std::move(keys)}});
  // The key set holds public keys only, so shared caches may keep it (RFC 9111 §5.2.2.9).
  response.set(http::beast_http::field::cache_control, kJwksCacheControl);
  response.erase(http::beast_http::field::pragma);
  return response;
}

http::Response handleOpenIdConfiguration(Services& services, const http::Request& request) {
  http::Response metadata = handleMetadata(services, request);
  if (metadata.result_int() != 200) {
    return metadata;
  }
  boost::system::error_code error;
  boost::json::value parsed = boost::json::parse(metadata.body(), error);
  if (error || !parsed.is_object()) {
    return errorResponse(request, EndpointError{makeError(OAuthErrorCode::ServerError)});
  }
  boost::json::object& body = parsed.as_object();

  // The algorithm of new keys, and of the keys still published, which may differ after the
  // algorithm setting changed.
  std::set<std::string> algorithms{std::string(jose::toString(services.config.signing.algorithm))};
  if (services.signing_keys != nullptr) {
    auto published = services.signing_keys->publishedJwks();
    if (!published) {
      spdlog::error("event=jwks_failed request_id={} error=\"{}\"", request.request_id,
                    published.error());
      return errorResponse(request, EndpointError{makeError(OAuthErrorCode::ServerError)});
    }
    for (const auto& jwk : *published) {
      algorithms.insert(std::string(jwk.at("alg").as_string()));
    }
  }
  std::set<std::string> scopes{std::string(kOpenIdScope)};
  if (const auto* listed = body.if_contains("scopes_supported"); listed && listed->is_array()) {
    for (const auto& scope : listed->as_array()) {
      scopes.insert(std::string(scope.as_string()));
    }
  }
  body["scopes_supported"] = stringArray(scopes);
  body["subject_types_supported"] = boost::json::array{"public"};
  body["id_token_signing_alg_values_supported"] = stringArray(algorithms);
  body["claims_supported"] = boost::json::array{"iss", "sub", "aud", "exp", "iat", "auth_time"};
  return http::jsonResponse(request, 200, body);
}

}  // namespace devauth::oauth
