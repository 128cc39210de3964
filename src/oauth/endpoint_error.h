#pragma once

// The error value that the steps of an OAuth handler return, and the one place that turns it
// into a response.

#include <optional>
#include <string_view>

#include "core/expected.h"
#include "core/oauth_error.h"
#include "http/message.h"
#include "store/store.h"

namespace devauth::oauth {

struct EndpointError {
  OAuthError error;
  // Set when the client tried HTTP Basic and failed, so the response is 401 with
  // WWW-Authenticate (RFC 6749 §5.2).
  bool basic_auth_failed = false;
  // Set for rate_limited answers: the Retry-After value (RFC 9110 §10.2.3).
  std::optional<seconds> retry_after = std::nullopt;
};

template <typename T>
using EndpointResult = Expected<T, EndpointError>;

inline Unexpected<EndpointError> fail(OAuthErrorCode code, std::string description = {}) {
  return unexpected(EndpointError{makeError(code, std::move(description))});
}

// A 429 with Retry-After, for a request over one of the abuse limits.
inline Unexpected<EndpointError> rateLimited(seconds retry_after) {
  return unexpected(EndpointError{makeError(OAuthErrorCode::RateLimited), false, retry_after});
}

// Writes the RFC 6749 §5.2 error response and logs the rejection at debug level.
http::Response errorResponse(const http::Request& request, const EndpointError& error);

// Logs a store failure with its detail and maps it to the error sent instead: Unavailable
// becomes temporarily_unavailable (503), anything else server_error (500). The detail is never
// sent.
EndpointError storeFailure(const http::Request& request, std::string_view operation,
                           const StoreError& error);

}  // namespace devauth::oauth
