#include "core/oauth_error.h"

#include <array>

namespace devauth {
namespace {

constexpr std::array<OAuthErrorInfo, 13> kErrorTable = {{
    {"invalid_request", 400, "The request is missing a parameter or is malformed."},
    {"invalid_client", 401, "Client authentication failed."},
    {"invalid_grant", 400,
     "The device code is invalid, was issued to another client, or was "
     "already used."},
    {"unauthorized_client", 400, "The client is not allowed to use this grant."},
    {"unsupported_grant_type", 400, "The grant type is not supported."},
    {"invalid_scope", 400, "The requested scope is unknown or not allowed for this client."},
    {"authorization_pending", 400, "The user has not yet approved or denied the request."},
    {"slow_down", 400, "Polling too often: add 5 seconds to the interval."},
    {"access_denied", 400, "The user denied the request."},
    {"expired_token", 400, "The device code has expired. Start a new authorization."},
    {"temporarily_unavailable", 429, "Too many requests. Retry after the time in Retry-After."},
    {"server_error", 500, "The server failed to process the request."},
    {"temporarily_unavailable", 503, "The server is temporarily unavailable. Retry later."},
}};

}  // namespace

const OAuthErrorInfo& describe(OAuthErrorCode code) {
  return kErrorTable.at(static_cast<std::size_t>(code));
}

OAuthError makeError(OAuthErrorCode code, std::string description) {
  if (description.empty()) {
    description = std::string(describe(code).default_description);
  }
  return OAuthError{code, sanitizeErrorDescription(description)};
}

std::string sanitizeErrorDescription(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool allowed = byte >= 0x20 && byte <= 0x7e && c != '"' && c != '\\';
    clean.push_back(allowed ? c : '?');
  }
  return clean;
}

}  // namespace devauth
