#include "http/router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "http/response.h"

namespace devauth::http {
namespace {

// Paths of the OAuth endpoints, whose errors are RFC 6749 §5.2 JSON rather than text.
bool isOAuthPath(std::string_view path) { return path.starts_with("/oauth/"); }

Response methodNotAllowed(const Request& request, const std::string& allow) {
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

void Router::add(beast_http::verb method, std::string path, Handler handler,
                 InlineCheck inline_check) {
  routes_[std::move(path)].push_back(Route{method, std::move(handler), std::move(inline_check)});
}

const Router::Route* Router::find(const Request& request) const {
  const auto path = routes_.find(request.path());
  if (path == routes_.end()) {
    return nullptr;
  }
  const Routes& routes = path->second;
  const auto match = std::find_if(routes.begin(), routes.end(), [&](const Route& route) {
    return route.method == request.message.method();
  });
  return match == routes.end() ? nullptr : &*match;
}

bool Router::attemptsInline(const Request& request) const {
  const Route* route = find(request);
  // Without a route the response is a fixed 404 or 405, which takes no lock.
  return route == nullptr || (route->inline_check && route->inline_check());
}

Response Router::dispatch(const Request& request) const {
  const Route* match = find(request);
  if (match == nullptr) {
    const auto path = routes_.find(request.path());
    if (path == routes_.end()) {
      return textResponse(request, 404, "Not Found\n");
    }
    std::string allow;
    for (const Route& route : path->second) {
      if (!allow.empty()) {
        allow += ", ";
      }
      allow += beast_http::to_string(route.method);
    }
    return methodNotAllowed(request, allow);
  }

  // No exception crosses the handler boundary. The detail goes to the log, and the client gets
  // a generic 500 (RFC 6749 §5.2 server_error on the OAuth endpoints).
  try {
    return match->handler(request);
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
