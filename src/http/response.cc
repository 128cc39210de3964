#include "http/response.h"

#include <fmt/format.h>

#include <array>

namespace devauth::http {
namespace {

// Scripts, styles and fetches only from this origin (no inline script or style), and forms only
// back to this origin.
// frame-ancestors 'none', with X-Frame-Options: DENY (RFC 7034) for older browsers, stops
// clickjacking of the verification page.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'";

// RFC 6749 §5.2: a client that authenticated with HTTP Basic gets a challenge for that scheme.
constexpr std::string_view kBasicChallenge = R"(Basic realm="devauth", charset="UTF-8")";

Response makeResponse(const Request& request, unsigned status, std::string_view content_type,
                      std::string body) {
  Response response{static_cast<beast_http::status>(status), request.message.version()};
  response.set(beast_http::field::content_type, content_type);
  response.set("X-Content-Type-Options", "nosniff");
  response.set("X-Request-Id", request.request_id);
  response.keep_alive(request.message.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

void setPageSecurityHeaders(Response& response) {
  response.set("Content-Security-Policy", kContentSecurityPolicy);
  response.set("X-Frame-Options", "DENY");
  response.set("Referrer-Policy", "no-referrer");
  response.set(beast_http::field::cache_control, "no-store");
}

// Percent-encodes control characters, so that a Location value can never split the header
// block.
std::string escapeControlCharacters(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      escaped += fmt::format("%{:02X}", byte);
    } else {
      escaped.push_back(c);
    }
  }
  return escaped;
}

unsigned oauthErrorStatus(const OAuthError& error, bool basic_auth_failed) {
  if (basic_auth_failed) {
    return 401;
  }
  // RFC 6749 §5.2 allows 400 or 401 for invalid_client. 401 requires a WWW-Authenticate
  // challenge for the scheme the client used, so it is sent only after a failed Basic attempt.
  if (error.code == OAuthErrorCode::InvalidClient) {
    return 400;
  }
  return static_cast<unsigned>(describe(error.code).http_status);
}

Response serializedJsonResponse(const Request& request, unsigned status, std::string body) {
  Response response = makeResponse(request, status, "application/json", std::move(body));
  response.set(beast_http::field::cache_control, "no-store");
  response.set(beast_http::field::pragma, "no-cache");
  return response;
}

// The number of OAuthErrorCode values; TemporarilyUnavailable is the last.
constexpr std::size_t kErrorCodeCount =
    static_cast<std::size_t>(OAuthErrorCode::TemporarilyUnavailable) + 1;

// Returns the error body of each code with its default description. They are serialized once,
// because every authorization_pending and slow_down response to a token poll uses one.
const std::array<std::string, kErrorCodeCount>& defaultErrorBodies() {
  static const auto bodies = [] {
    std::array<std::string, kErrorCodeCount> built;
    for (std::size_t i = 0; i < kErrorCodeCount; ++i) {
      const OAuthErrorInfo& info = describe(static_cast<OAuthErrorCode>(i));
      built[i] = oauthErrorBody(info.wire_name, info.default_description);
    }
    return built;
  }();
  return bodies;
}

}  // namespace

std::string oauthErrorBody(std::string_view error, std::string_view description) {
  boost::json::object body;
  body["error"] = error;
  body["error_description"] = sanitizeErrorDescription(description);
  return boost::json::serialize(body);
}

Response jsonResponse(const Request& request, unsigned status, const boost::json::value& body) {
  return serializedJsonResponse(request, status, boost::json::serialize(body));
}

Response oauthErrorResponse(const Request& request, const OAuthError& error,
                            bool basic_auth_failed) {
  const OAuthErrorInfo& info = describe(error.code);
  const bool default_description =
      error.description.empty() || error.description == info.default_description;
  std::string body = default_description
                         ? defaultErrorBodies()[static_cast<std::size_t>(error.code)]
                         : oauthErrorBody(info.wire_name, error.description);

  Response response =
      serializedJsonResponse(request, oauthErrorStatus(error, basic_auth_failed), std::move(body));
  if (basic_auth_failed) {
    response.set(beast_http::field::www_authenticate, kBasicChallenge);
  }
  return response;
}

Response htmlResponse(const Request& request, unsigned status, std::string body) {
  Response response = makeResponse(request, status, "text/html; charset=utf-8", std::move(body));
  setPageSecurityHeaders(response);
  return response;
}

Response redirectResponse(const Request& request, std::string_view location) {
  Response response = makeResponse(request, 303, "text/html; charset=utf-8", {});
  response.set(beast_http::field::location, escapeControlCharacters(location));
  setPageSecurityHeaders(response);
  return response;
}

Response textResponse(const Request& request, unsigned status, std::string_view text) {
  Response response = makeResponse(request, status, "text/plain; charset=utf-8", std::string(text));
  response.set(beast_http::field::cache_control, "no-store");
  return response;
}

}  // namespace devauth::http
