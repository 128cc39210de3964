#pragma once

// Minting and sending the tokens of a token response (RFC 6749 §5.1), shared by the
// device_code grant and the refresh_token grant of the token endpoint.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "core/client.h"
#include "core/grant.h"
#include "http/form.h"
#include "http/message.h"
#include "oauth/endpoint_error.h"
#include "server/services.h"

namespace devauth::oauth {

// The token response sent to the device, and the stored records of what was minted here.
struct TokenGrant {
  std::string access_token;
  std::string token_type;
  std::optional<std::int64_t> expires_in;
  std::string scope;
  // The stored access token, unless a trusted backend relayed the token at approval.
  std::optional<IssuedToken> issued;
  // Set when the client has the refresh token grant.
  std::optional<std::string> refresh_token;
  // Set when the granted scope has openid (OpenID Connect Core 1.0 §3.1.3.3).
  std::optional<std::string> id_token;
};

// The contents of an access token: the approval it descends from and what it grants.
struct AccessTokenClaims {
  // The authorization id, which is also the id of the grant when there is one.
  std::string grant_id;
  std::string subject;
  // When the person approved, for the auth_time claim of JWT access tokens.
  std::optional<TimePoint> auth_time;
  std::string scope;
  TimePoint expires_at{};
};

// RFC 6749 §3.3: the granted scope may be narrower than requested. Returns the tokens of
// `scope` that `client` is still allowed, so scopes removed from the client are dropped.
std::string currentlyAllowedScope(const Client& client, const std::string& scope);

// Mints an access token in the client's format: an opaque random string, or a JWT as RFC 9068
// profiles it. Only its hash is stored either way, so introspection and revocation find both.
// Fails with server_error when signing fails.
EndpointResult<TokenGrant> mintAccessToken(Services& services, const http::Request& request,
                                           const Client& client, const AccessTokenClaims& claims,
                                           TimePoint now);

// Returns the signed token, or logs the signing failure and fails with server_error. Signing
// fails only on a server fault (store or key-encryption key), before anything is stored, so
// the client can try again once it is fixed.
EndpointResult<std::string> checkSigned(const http::Request& request, std::string_view what,
                                        Expected<std::string, std::string> token);

// Draws a refresh token of `grant` from the CSPRNG. Returns the token and its stored record,
// whose idle lifetime starts at `now` and ends no later than the grant's absolute lifetime.
std::pair<std::string, RefreshToken> mintRefreshToken(Services& services, const Grant& grant,
                                                      TimePoint now);

// Writes the RFC 6749 §5.1 success response with Cache-Control: no-store.
http::Response respondToken(const http::Request& request, const TokenGrant& grant);

// The refresh_token grant (RFC 6749 §6) at the token endpoint, called once the shared request
// checks passed and grant_type is refresh_token.
http::Response handleRefreshTokenGrant(Services& services, const http::Request& request,
                                       const http::FormParams& form);

}  // namespace devauth::oauth
