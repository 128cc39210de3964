#include "http/router.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "http/response.h"

namespace devauth::http {
namespace {

// Paths of the OAuth endpoints, whose errors are RFC 6749 §5.2 JSON rather than text.
bool isOAuthPath(std::string_view path) { return path.starts_with("/oauth/"); }

using Routes = Router::Routes;

std::string allowedMethods(const Routes& routes) {
  std::string allow;
  for (const auto& route : routes) {
    if (!allow.empty()) {
      allow += ", ";
    }
    allow += beast_http::to_string(route.method);
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

// Logs the exception being handled, which a handler of `request` threw. The detail goes to the
// log only, never to the client.
void logHandlerFailure(const Request& request) {
  try {
    throw;
  } catch (const std::exception& error) {
    spdlog::error("event=handler_failed request_id={} endpoint={} error=\"{}\"", request.request_id,
                  request.path(), error.what());
  } catch (...) {
    spdlog::error("event=handler_failed request_id={} endpoint={} error=\"unknown exception\"",
                  request.request_id, request.path());
  }
}

// The route of `routes` for `method`, or null.
const Router::Route* matchMethod(const Routes& routes, beast_http::verb method) {
  const auto match =
      std::find_if(routes.begin(), routes.end(),
                   [method](const Router::Route& route) { return route.method == method; });
  return match == routes.end() ? nullptr : &*match;
}

}  // namespace

void Router::add(beast_http::verb method, std::string path, Handler handler, QuickHandler quick) {
  routes_[std::move(path)].push_back(Route{method, std::move(handler), std::move(quick)});
}

const Router::Routes* Router::routesFor(const Request& request) const {
  const auto path = routes_.find(request.path());
  return path == routes_.end() ? nullptr : &path->second;
}

Response Router::dispatch(const Routes* routes, const Request& request) const {
  if (routes == nullptr) {
    return textResponse(request, 404, "Not Found\n");
  }
  const Route* route = matchMethod(*routes, request.message.method());
  if (route == nullptr) {
    return methodNotAllowed(request, *routes);
  }

  // No exception crosses the handler boundary. The detail goes to the log, and the client gets
  // a generic 500 (RFC 6749 §5.2 server_error on the OAuth endpoints).
  try {
    return route->handler(request);
  } catch (...) {
    logHandlerFailure(request);
  }
  return internalError(request);
}

std::optional<Response> Router::dispatchQuick(const Routes* routes, const Request& request) const {
  const Route* route = routes == nullptr ? nullptr : matchMethod(*routes, request.message.method());
  if (route == nullptr || !route->quick) {
    return std::nullopt;
  }
  // A quick handler that throws has changed nothing, so the handler gets the request.
  try {
    return route->quick(request);
  } catch (...) {
    logHandlerFailure(request);
  }
  return std::nullopt;
}

}  // namespace devauth::http
