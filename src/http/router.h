#pragma once

// Maps method and exact path to a handler. All routes are registered in one place
// (server/routes.cc), so a reviewer can see every endpoint at once.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "http/message.h"

namespace devauth::http {

// A handler that runs on the thread that read the request. It returns the response when that
// needs no wait (for a lock, the disk or the network). Otherwise it returns nullopt, having
// changed nothing and held nothing, and the route's Handler runs instead.
using QuickHandler = std::function<std::optional<Response>(const Request&)>;

class Router {
 public:
  // One method of a path, with its handlers.
  struct Route {
    beast_http::verb method;
    Handler handler;
    QuickHandler quick;
  };
  using Routes = std::vector<Route>;

  // Registers `handler` for `method` on `path`, with an optional `quick` handler tried before
  // it. Not thread-safe: register before serving.
  void add(beast_http::verb method, std::string path, Handler handler, QuickHandler quick = {});

  // Returns the routes of the request's path, or null for an unknown path. The server passes
  // them to both dispatchQuick and dispatch, so it looks the path up once.
  const Routes* routesFor(const Request& request) const;

  // Runs the handler in `routes` (from routesFor) for the request's method. Returns 404 for an
  // unknown path, 405 with an Allow header for another method, and a 500 server_error when the
  // handler throws (the detail is logged, never sent). Safe to call concurrently after add().
  Response dispatch(const Routes* routes, const Request& request) const;
  Response dispatch(const Request& request) const { return dispatch(routesFor(request), request); }

  // Runs the quick handler in `routes` (from routesFor) for the request's method. Returns
  // nullopt when there is none, when it declines or when it throws (logged), and the request
  // then goes to dispatch(). Safe to call concurrently after add().
  std::optional<Response> dispatchQuick(const Routes* routes, const Request& request) const;
  std::optional<Response> dispatchQuick(const Request& request) const {
    return dispatchQuick(routesFor(request), request);
  }

 private:
  std::map<std::string, Routes, std::less<>> routes_;
};

}  // namespace devauth::http
