#pragma once

// Response builders shared by every endpoint.

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "core/oauth_error.h"
#include "http/message.h"

namespace devauth::http {

// A JSON response with Cache-Control: no-store and Pragma: no-cache (RFC 6749 §5.1), used for
// every response that carries or may carry credentials.
Response jsonResponse(const Request& request, unsigned status, const boost::json::value& body);

// The JSON text {"error": error, "error_description": description}, with the characters that
// RFC 6749 §5.2 forbids in the description replaced by '?'.
std::string oauthErrorBody(std::string_view error, std::string_view description);

// The RFC 6749 §5.2 error body {"error", "error_description"} with the status from the error
// table. When `basic_auth_failed` is set, the status is 401 with
// WWW-Authenticate: Basic realm="devauth" (RFC 6749 §5.2).
Response oauthErrorResponse(const Request& request, const OAuthError& error,
                            bool basic_auth_failed = false);

// An HTML page with the security headers every page carries: a Content-Security-Policy without
// inline script and with frame-ancestors 'none', X-Frame-Options: DENY, nosniff, no-referrer
// and Cache-Control: no-store.
Response htmlResponse(const Request& request, unsigned status, std::string body);

// A 303 See Other to `location`, with the same security headers as htmlResponse.
Response redirectResponse(const Request& request, std::string_view location);

// A plain-text response, for errors outside any protocol (404, 405, 413).
Response textResponse(const Request& request, unsigned status, std::string_view text);

}  // namespace devauth::http
