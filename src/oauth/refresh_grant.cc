// The refresh_token grant at POST /oauth/device/token (RFC 6749 §6, RFC 9700 §4.14.2).
//
// handleToken has run the shared request checks and matched grant_type. Then, in this order:
//  1. refresh_token is present -> invalid_request; scope, when sent, is well-formed ->
//     invalid_scope;
//  2. client authentication (RFC 6749 §3.2.1; confidential clients must authenticate) ->
//     invalid_client or invalid_request;
//  3. the client may use the refresh token grant -> unauthorized_client;
//  4. the refresh token is known and was issued to this client -> invalid_grant, with the same
//     body for both cases;
//  5. the token was used before -> the grant is revoked with every token descending from it,
//     then invalid_grant (reuse detection, RFC 9700 §4.14.2);
//  6. the grant is revoked or past its absolute lifetime, or the token is past its idle
//     lifetime -> invalid_grant;
//  7. the requested scope is within the approved scope -> invalid_scope (RFC 6749 §6);
//  8. the token is rotated with one conditional update, which stores its successor and the
//     new access token. A request that loses that update to a concurrent one presented a used
//     token, so it is treated as a replay too.

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/scope.h"
#include "oauth/client_auth.h"
#include "oauth/endpoint_error.h"
#include "oauth/token_issue.h"

namespace devauth::oauth {
namespace {

// Refresh tokens issued here are 43 characters. A longer value cannot be one, so it is rejected
// with invalid_grant before any hashing or lookup.
constexpr std::size_t kMaxRefreshTokenLength = 256;

struct RefreshRequest {
  Client client;
  std::string refresh_token;
  // The scope parameter, parsed; nullopt when absent.
  std::optional<std::vector<std::string>> scope;
};

EndpointResult<RefreshRequest> validateRefreshRequest(Services& services,
                                                      const http::Request& request,
                                                      const http::FormParams& form) {
  auto refresh_token = form.get("refresh_token");
  if (!refresh_token) {
    return fail(OAuthErrorCode::InvalidRequest, "Missing refresh_token.");
  }
  std::optional<std::vector<std::string>> scope;
  if (const auto text = form.get("scope")) {
    scope = parseScope(*text);
    if (!scope) {
      return fail(OAuthErrorCode::InvalidScope, "The scope parameter is malformed.");
    }
  }

  auto authenticated = authenticateClient(services, request, form);
  if (!authenticated) {
    return unexpected(authenticated.error());
  }
  if (!authenticated->client.refresh_grant) {
    return fail(OAuthErrorCode::UnauthorizedClient,
                "The client is not allowed to use the refresh token grant.");
  }
  return RefreshRequest{std::move(authenticated->client), std::move(*refresh_token),
                        std::move(scope)};
}

// Loads the refresh token. Unknown tokens and tokens of other clients get the same
// invalid_grant body, so a client learns nothing about tokens that are not its own.
EndpointResult<RefreshTokenRecord> loadRefreshToken(Services& services,
                                                    const http::Request& request,
                                                    const RefreshRequest& refresh) {
  if (refresh.refresh_token.size() > kMaxRefreshTokenLength) {
    return fail(OAuthErrorCode::InvalidGrant);
  }
  auto found = services.store.findRefreshToken(hashSecret(refresh.refresh_token));
  if (!found) {
    return unexpected(storeFailure(request, "find_refresh_token", found.error()));
  }
  if (!found->has_value() || (*found)->grant.client_id != refresh.client.id) {
    return fail(OAuthErrorCode::InvalidGrant);
  }
  return std::move(**found);
}

// RFC 9700 §4.14.2: a used refresh token presented again means that it leaked, so the whole
// grant is revoked, and the legitimate client signs in again.
EndpointError revokeReplayedGrant(Services& services, const http::Request& request,
                                  const Grant& grant, TimePoint now) {
  auto revoked = services.store.revokeGrant(grant.id, now);
  if (!revoked) {
    return storeFailure(request, "revoke_grant", revoked.error());
  }
  spdlog::warn(
      "event=refresh_token_reused authorization_id={} client_id={} outcome=grant_revoked "
      "request_id={}",
      grant.id, grant.client_id, request.request_id);
  return EndpointError{makeError(OAuthErrorCode::InvalidGrant)};
}

// RFC 6749 §6: the requested scope may narrow the approved one, never widen it. Without a
// scope parameter the access token gets the approved scope. Either way, scopes removed from
// the client since approval are dropped.
EndpointResult<std::string> grantedScope(const RefreshRequest& refresh, const Grant& grant) {
  if (!refresh.scope) {
    return currentlyAllowedScope(refresh.client, grant.scope);
  }
  const auto approved = parseScope(grant.scope).value_or(std::vector<std::string>{});
  if (!scopesNotAllowed(*refresh.scope, approved).empty()) {
    return fail(OAuthErrorCode::InvalidScope,
                "The requested scope is wider than the scope that was approved.");
  }
  return currentlyAllowedScope(refresh.client, joinScope(*refresh.scope));
}

// Rotates the refresh token and mints the new access token (steps 7 and 8).
EndpointResult<TokenGrant> rotate(Services& services, const http::Request& request,
                                  const RefreshRequest& refresh, const RefreshTokenRecord& record,
                                  TimePoint now) {
  auto scope = grantedScope(refresh, record.grant);
  if (!scope) {
    return unexpected(scope.error());
  }
  // NOTE: auth_time is the redemption time, because grants do not store when the person
  // approved; the two differ by at most the device code lifetime.
  const AccessTokenClaims claims{
      record.grant.id, record.grant.subject, record.grant.created_at, *scope,
      std::min(now + refresh.client.access_token_ttl, record.grant.expires_at)};
  auto grant = mintAccessToken(services, request, refresh.client, claims, now);
  if (!grant) {
    return unexpected(grant.error());
  }
  auto [refresh_token, next] = mintRefreshToken(services, record.grant, now);
  grant->refresh_token = std::move(refresh_token);

  auto rotated =
      services.store.rotateRefreshToken(record.token.token_hash, next, *grant->issued, now);
  if (!rotated) {
    return unexpected(storeFailure(request, "rotate_refresh_token", rotated.error()));
  }
  if (!*rotated) {
    return unexpected(revokeReplayedGrant(services, request, record.grant, now));
  }
  return grant;
}

}  // namespace

http::Response handleRefreshTokenGrant(Services& services, const http::Request& request,
                                       const http::FormParams& form) {
  auto refresh = validateRefreshRequest(services, request, form);
  if (!refresh) {
    return errorResponse(request, refresh.error());
  }

  auto record = loadRefreshToken(services, request, *refresh);
  if (!record) {
    return errorResponse(request, record.error());
  }

  const TimePoint now = services.clock.now();
  switch (refreshTokenStatus(*record, now)) {
    case RefreshTokenStatus::Replayed:
      return errorResponse(request, revokeReplayedGrant(services, request, record->grant, now));
    case RefreshTokenStatus::Inactive:
      return errorResponse(request, EndpointError{makeError(OAuthErrorCode::InvalidGrant)});
    case RefreshTokenStatus::Active:
      break;
  }
  auto grant = rotate(services, request, *refresh, *record, now);
  if (!grant) {
    return errorResponse(request, grant.error());
  }

  spdlog::info("event=token_refreshed authorization_id={} client_id={} request_id={}",
               record->grant.id, refresh->client.id, request.request_id);
  return respondToken(request, *grant);
}

}  // namespace devauth::oauth
