#include "oauth/signed_tokens.h"

#include <algorithm>

#include "core/scope.h"
#include "core/secret.h"

namespace devauth::oauth {
namespace {

std::int64_t unixSeconds(TimePoint time) {
  return std::chrono::duration_cast<seconds>(time.time_since_epoch()).count();
}

Expected<std::string, std::string> signClaims(Services& services, std::string_view typ,
                                              const boost::json::object& claims) {
  if (services.signing_keys == nullptr) {
    return unexpected(std::string("this server has no signing keys"));
  }
  auto active = services.signing_keys->activeKey();
  if (!active) {
    return unexpected(active.error());
  }
  return jose::sign(active->key, active->kid, typ, claims);
}

}  // namespace

bool hasOpenIdScope(const std::string& scope) {
  if (scope.empty()) {
    return false;
  }
  const auto tokens = parseScope(scope).value_or(std::vector<std::string>{});
  return std::find(tokens.begin(), tokens.end(), kOpenIdScope) != tokens.end();
}

std::string accessTokenAudience(const Config& config) {
  return config.access_token_audience.empty() ? config.issuer : config.access_token_audience;
}

Expected<std::string, std::string> signAccessToken(Services& services, const Client& client,
                                                   const std::string& subject,
                                                   std::optional<TimePoint> auth_time,
                                                   const std::string& scope, TimePoint now,
                                                   TimePoint expires_at) {
  boost::json::object claims;
  claims["iss"] = services.config.issuer;
  claims["sub"] = subject;
  claims["aud"] = accessTokenAudience(services.config);
  claims["client_id"] = client.id;
  if (!scope.empty()) {
    claims["scope"] = scope;
  }
  claims["iat"] = unixSeconds(now);
  claims["exp"] = unixSeconds(expires_at);
  // RFC 9068 §2.2: jti is unique per token; 256 random bits make collisions negligible.
  claims["jti"] = generateSecret(services.random);
  if (auth_time) {
    claims["auth_time"] = unixSeconds(*auth_time);
  }
  // RFC 9068 §2.1: typ at+jwt tells resource servers that this is an access token, so an ID
  // token cannot be replayed in its place.
  return signClaims(services, "at+jwt", claims);
}

Expected<std::string, std::string> signIdToken(Services& services, const Client& client,
                                               const Authorization& authorization, TimePoint now) {
  boost::json::object claims;
  claims["iss"] = services.config.issuer;
  claims["sub"] = authorization.subject.value_or("");
  claims["aud"] = client.id;
  claims["exp"] = unixSeconds(now + client.access_token_ttl);
  claims["iat"] = unixSeconds(now);
  claims["auth_time"] = unixSeconds(authorization.decided_at.value_or(now));
  // NOTE: no nonce, because the device authorization request has no nonce parameter, and no
  // at_hash, which OpenID Connect Core 1.0 §3.1.3.6 makes optional at the token endpoint.
  return signClaims(services, "JWT", claims);
}

}  // namespace devauth::oauth
