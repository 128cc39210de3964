#include "oauth/token_issue.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>

#include "core/scope.h"
#include "http/response.h"
#include "oauth/signed_tokens.h"

namespace devauth::oauth {

std::string currentlyAllowedScope(const Client& client, const std::string& scope) {
  if (scope.empty()) {
    return {};
  }
  std::vector<std::string> granted;
  for (auto& token : parseScope(scope).value_or(std::vector<std::string>{})) {
    if (scopesNotAllowed({token}, client.allowed_scopes).empty()) {
      granted.push_back(std::move(token));
    }
  }
  return joinScope(granted);
}

EndpointResult<std::string> checkSigned(const http::Request& request, std::string_view what,
                                        Expected<std::string, std::string> token) {
  if (!token) {
    spdlog::error("event=token_signing_failed token={} request_id={} error=\"{}\"", what,
                  request.request_id, token.error());
    return fail(OAuthErrorCode::ServerError);
  }
  return std::move(token).value();
}

EndpointResult<TokenGrant> mintAccessToken(Services& services, const http::Request& request,
                                           const Client& client, const AccessTokenClaims& claims,
                                           TimePoint now) {
  TokenGrant grant;
  grant.token_type = "Bearer";
  grant.expires_in = std::chrono::duration_cast<seconds>(claims.expires_at - now).count();
  grant.scope = claims.scope;
  if (client.access_token_format == AccessTokenFormat::Jwt) {
    auto jwt = checkSigned(request, "access_token",
                           signAccessToken(services, client, claims.subject, claims.auth_time,
                                           claims.scope, now, claims.expires_at));
    if (!jwt) {
      return unexpected(jwt.error());
    }
    grant.access_token = std::move(*jwt);
  } else {
    grant.access_token = generateSecret(services.random);
  }
  grant.issued = IssuedToken{hashSecret(grant.access_token),
                             claims.grant_id,
                             client.id,
                             claims.subject,
                             claims.scope,
                             now,
                             claims.expires_at};
  return grant;
}

std::pair<std::string, RefreshToken> mintRefreshToken(Services& services, const Grant& grant,
                                                      TimePoint now) {
  std::string token = generateSecret(services.random);
  RefreshToken record;
  record.token_hash = hashSecret(token);
  record.grant_id = grant.id;
  record.issued_at = now;
  record.expires_at = std::min(now + services.config.refresh_token_idle_ttl, grant.expires_at);
  return {std::move(token), record};
}

http::Response respondToken(const http::Request& request, const TokenGrant& grant) {
  boost::json::object body;
  body["access_token"] = grant.access_token;
  body["token_type"] = grant.token_type;
  if (grant.expires_in) {
    body["expires_in"] = *grant.expires_in;
  }
  if (grant.refresh_token) {
    body["refresh_token"] = *grant.refresh_token;
  }
  if (!grant.scope.empty()) {
    body["scope"] = grant.scope;
  }
  if (grant.id_token) {
    body["id_token"] = *grant.id_token;
  }
  return http::jsonResponse(request, 200, body);
}

}  // namespace devauth::oauth
