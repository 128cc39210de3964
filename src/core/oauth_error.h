#pragma once

// Protocol errors, one enum with one table: the wire string (RFC 6749 §5.2, RFC 8628 §3.5),
// the HTTP status and a default description. Stored authorization states are a separate type
// (core/authorization.h); a state becomes an error only when a poll is answered.

#include <string>
#include <string_view>

namespace devauth {

enum class OAuthErrorCode {
  // A parameter is missing, repeated, malformed or the request is not a form POST.
  InvalidRequest,
  // Client authentication failed: unknown client, wrong secret, or no authentication for a
  // confidential client. Status 401 when the client tried HTTP Basic (RFC 6749 §5.2).
  InvalidClient,
  // The device code is unknown, belongs to another client or was already redeemed.
  InvalidGrant,
  // The client is known but not allowed this grant or operation.
  UnauthorizedClient,
  UnsupportedGrantType,
  // A requested scope is unknown or not allowed for the client.
  InvalidScope,
  // RFC 8628 §3.5: the person has not approved or denied yet; the device keeps polling.
  AuthorizationPending,
  // RFC 8628 §3.5: the device polls too often; it must add 5 seconds to its interval.
  SlowDown,
  // RFC 8628 §3.5: the person denied the request.
  AccessDenied,
  // RFC 8628 §3.5: the device code expired; the device must start over.
  ExpiredToken,
  // Too many requests from one client or address; sent with status 429 and Retry-After. The
  // wire name is temporarily_unavailable (RFC 6749 §4.1.2.1), which clients already know as
  // "retry later"; slow_down would be wrong outside polling.
  RateLimited,
  // An internal fault; the detail is logged, never sent.
  ServerError,
  // The store did not respond in time; the client may retry.
  TemporarilyUnavailable,
};

struct OAuthErrorInfo {
  std::string_view wire_name;
  int http_status;
  std::string_view default_description;
};

const OAuthErrorInfo& describe(OAuthErrorCode code);

struct OAuthError {
  OAuthErrorCode code;
  // Safe to send: RFC 6749 §5.2 limits it to printable ASCII without '"' and '\'.
  std::string description;
};

OAuthError makeError(OAuthErrorCode code, std::string description = {});

// Replaces characters that RFC 6749 §5.2 forbids in error_description with '?'.
std::string sanitizeErrorDescription(std::string_view text);

}  // namespace devauth
