#include "oauth/request_checks.h"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <string>

namespace devauth::oauth {
namespace {

// ASCII case-insensitive comparison without a locale: media type names and charset names are
// ASCII (RFC 9110 §8.3.1), and a locale-aware comparison costs a facet lookup per character.
using boost::beast::iequals;

// Parameters that carry a credential or a grant. None of them may appear in the URL, because
// proxies and access logs record URLs (RFC 6749 §2.3.1, §10.8).
constexpr std::string_view kCredentialParameters[] = {"client_secret", "device_code",
                                                      "access_token"};

OAuthError invalidRequest(std::string description) {
  return makeError(OAuthErrorCode::InvalidRequest, std::move(description));
}

std::string_view trim(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// A parameter name as it may appear in an error description; names come from the client and
// may be as long as the body.
std::string shownName(std::string_view name) {
  constexpr std::size_t kMaxShown = 64;
  return name.size() <= kMaxShown ? std::string(name)
                                  : std::string(name.substr(0, kMaxShown)) + "...";
}

// Accepts `charset=UTF-8`, also quoted, as the only media type parameter.
bool isUtf8CharsetParameter(std::string_view parameter) {
  const std::size_t equals = parameter.find('=');
  if (equals == std::string_view::npos) {
    return false;
  }
  const std::string_view name = trim(parameter.substr(0, equals));
  std::string_view value = trim(parameter.substr(equals + 1));
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  return iequals(name, "charset") && iequals(value, "utf-8");
}

Expected<void, OAuthError> checkQuery(const http::Request& request, const http::FormParams& body) {
  if (request.query().empty()) {
    return {};
  }
  auto query = http::parseForm(request.query());
  if (!query) {
    return unexpected(invalidRequest("The URL query is malformed: " + query.error()));
  }
  for (const auto& [name, value] : query->entries) {
    const bool credential =
        std::find(std::begin(kCredentialParameters), std::end(kCredentialParameters), name) !=
        std::end(kCredentialParameters);
    if (credential) {
      return unexpected(invalidRequest("Credentials must not be sent in the URL: move " +
                                       shownName(name) + " to the request body."));
    }
    if (body.has(name)) {
      return unexpected(invalidRequest("Parameter " + shownName(name) +
                                       " must not appear in both the URL and the body."));
    }
  }
  return {};
}

}  // namespace

bool isFormContentType(std::string_view content_type) {
  const std::size_t semicolon = content_type.find(';');
  if (!iequals(trim(content_type.substr(0, semicolon)), "application/x-www-form-urlencoded")) {
    return false;
  }
  if (semicolon == std::string_view::npos) {
    return true;
  }
  const std::string_view parameters = content_type.substr(semicolon + 1);
  if (parameters.find(';') != std::string_view::npos) {
    return false;
  }
  return isUtf8CharsetParameter(parameters);
}

Expected<http::FormParams, OAuthError> checkOAuthRequest(const http::Request& request) {
  if (request.message.method() != http::beast_http::verb::post) {
    return unexpected(invalidRequest("The request must use POST."));
  }
  const auto content_type = request.message[http::beast_http::field::content_type];
  if (!isFormContentType(content_type)) {
    return unexpected(invalidRequest(
        "The body must be application/x-www-form-urlencoded (charset, if given, UTF-8)."));
  }

  auto form = http::parseForm(request.message.body());
  if (!form) {
    return unexpected(invalidRequest("The request body is malformed: " + form.error()));
  }
  if (auto repeated = form->firstRepeatedName()) {
    return unexpected(
        invalidRequest("Parameter " + shownName(*repeated) + " must not be repeated."));
  }

  if (auto query = checkQuery(request, *form); !query) {
    return unexpected(query.error());
  }
  return std::move(*form);
}

}  // namespace devauth::oauth
