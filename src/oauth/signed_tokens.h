#pragma once

// The signed tokens of the token endpoint: JWT access tokens (RFC 9068) and OpenID Connect ID
// tokens (OpenID Connect Core 1.0 §2), both signed with the server's active key.

#include <optional>
#include <string>

#include "core/authorization.h"
#include "core/client.h"
#include "core/expected.h"
#include "server/services.h"

namespace devauth::oauth {

// The scope value that asks for an ID token (OpenID Connect Core 1.0 §3.1.2.1).
inline constexpr std::string_view kOpenIdScope = "openid";

// Whether the space-separated `scope` contains openid.
bool hasOpenIdScope(const std::string& scope);

// The aud of JWT access tokens: the configured audience, else the issuer.
std::string accessTokenAudience(const Config& config);

// Signs a JWT access token with header typ at+jwt and the claims iss, sub, aud, client_id,
// scope (when not empty), iat, exp, jti and auth_time when set (RFC 9068 §2.1-2.2). Fails when
// no key can be used.
Expected<std::string, std::string> signAccessToken(Services& services, const Client& client,
                                                   const std::string& subject,
                                                   std::optional<TimePoint> auth_time,
                                                   const std::string& scope, TimePoint now,
                                                   TimePoint expires_at);

// Signs an ID token with the claims iss, sub, aud (the client_id), exp, iat and auth_time, the
// time the person approved (OpenID Connect Core 1.0 §2). It lives as long as the client's
// access tokens.
Expected<std::string, std::string> signIdToken(Services& services, const Client& client,
                                               const Authorization& authorization, TimePoint now);

}  // namespace devauth::oauth
