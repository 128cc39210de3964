#pragma once

// The request checks that every OAuth endpoint runs before it reads a parameter, in this order:
//  1. the method is POST (RFC 6749 §3.2; the router already answers 405 to other methods);
//  2. Content-Type is application/x-www-form-urlencoded, optionally with charset=UTF-8
//     (RFC 8628 §3.1, RFC 6749 §3.2);
//  3. the body parses as a form (RFC 6749 Appendix B);
//  4. no parameter is repeated (RFC 6749 §3.2);
//  5. the URL query carries no credentials and no parameter that is also in the body
//     (RFC 6749 §2.3.1).
// Each failure is invalid_request with a description naming what was wrong.

#include "core/expected.h"
#include "core/oauth_error.h"
#include "http/form.h"
#include "http/message.h"

namespace devauth::oauth {

// Runs the checks above and returns the parsed body.
Expected<http::FormParams, OAuthError> checkOAuthRequest(const http::Request& request);

// Whether `content_type` is application/x-www-form-urlencoded with no parameter other than
// charset=UTF-8. Media type and charset are compared case-insensitively (RFC 9110 §8.3.1).
bool isFormContentType(std::string_view content_type);

}  // namespace devauth::oauth
