#include "http/router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "http/response.h"

namespace devauth::http {
namespace {

using Routes = std::vector<std::pair<beast_http::verb, Handler>>;

// Paths of the OAuth endpoints, whose errors are RFC 6749 §5.2 JSON rather than text.
bool isOAuthPath(std::string_view path) { return path.starts_with("/oauth/"); }

std::string allowedMethods(const Routes& routes) {
  std::string allow;
  for (const auto& [method, handler] : routes) {
    if (!allow.empty()) {
      allow += ", ";
    }
    allow += beast_http::to_string(method);
  }
  return allow;
}

Response methodNotAllowed(const Request& request, const Routes& routes) {
  const std::string allow = allowedMethods(routes);
  Response response =
      isOAuthPath(request.path())
          ? oauthErrorResponse(request, makeError(OAuthErrorCode::InvalidRequest,
                                                  "The endpoint accepts only " + allow + "."))
          : textResponse(request, 405, "Method Not Allowed\n");
  response.result(beast_http::status::method_not_allowed);
  response.set(beast_http::field::allow, allow);
  return response;
}

Response internalError(const Request& request) {
  if (isOAuthPath(request.path())) {
    return oauthErrorResponse(request, makeError(OAuthErrorCode::ServerError));
  }
  return textResponse(request, 500, "Internal Server Error\n");
}

}  // namespace

void Router::add(beast_http::verb method, std::string path, Handler handler) {
  routes_[std::move(path)].emplace_back(method, std::move(handler));
}

Response Router::dispatch(const Request& request) const {
  const auto route = routes_.find(request.path());
  if (route == routes_.end()) {
    return textResponse(request, 404, "Not Found\n");
  }
  const auto& routes = route->second;
  const auto match = std::find_if(routes.begin(), routes.end(), [&](const auto& entry) {
    return entry.first == request.message.method();
  });
  if (match == routes.end()) {
    return methodNotAllowed(request, routes);
  }

  // No exception crosses the handler boundary. The detail goes to the log, and the client gets
  // a generic 500 (RFC 6749 §5.2 server_error on the OAuth endpoints).
  try {
    return match->second(request);
  } catch (const std::exception& error) {
    spdlog::error("event=handler_failed request_id={} endpoint={} error=\"{}\"", request.request_id,
                  request.path(), error.what());
  } catch (...) {
    spdlog::error("event=handler_failed request_id={} endpoint={} error=\"unknown exception\"",
                  request.request_id, request.path());
  }
  return internalError(request);
}

}  // namespace devauth::http
