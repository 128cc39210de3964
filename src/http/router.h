#pragma once

// Maps method and exact path to a handler. All routes are registered in one place
// (server/routes.cc), so a reviewer can see every endpoint at once.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "http/message.h"

namespace devauth::http {

// Says whether the server may first call a route's handler on the I/O thread that read the
// request, in an inline attempt (Deferral::inlineAttempt), before it hands the request to the
// handler pool. A response from the I/O thread saves two thread hand-offs. Called once per
// request, so it must be cheap.
using InlineCheck = std::function<bool()>;

class Router {
 public:
  // Registers `handler` for `method` on `path`. Not thread-safe: register before serving.
  // Without `inline_check`, the handler always runs on the handler pool, when the server has
  // one.
  void add(beast_http::verb method, std::string path, Handler handler,
           InlineCheck inline_check = {});

  // Whether the server may call the handler of `request` in an inline attempt: its route's
  // InlineCheck returns true, or no route matches and the response is a fixed 404 or 405.
  bool attemptsInline(const Request& request) const;

  // Runs the matching handler. Returns 404 for an unknown path and 405 with an Allow header for
  // a known path with another method. A handler that throws yields a 500 server_error whose
  // detail is logged, never sent. Safe to call concurrently once registration is done.
  Response dispatch(const Request& request) const;

 private:
  struct Route {
    beast_http::verb method;
    Handler handler;
    InlineCheck inline_check;
  };
  using Routes = std::vector<Route>;

  // The route of `request`'s path and method, or null.
  const Route* find(const Request& request) const;

  std::map<std::string, Routes, std::less<>> routes_;
};

}  // namespace devauth::http
