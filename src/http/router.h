#pragma once

// Maps method and exact path to a handler. All routes are registered in one place
// (server/routes.cc), so a reviewer can see every endpoint at once.

#include <map>
#include <string>
#include <vector>

#include "http/message.h"

namespace devauth::http {

class Router {
 public:
  // Registers `handler` for `method` on `path`. Not thread-safe: register before serving.
  void add(beast_http::verb method, std::string path, Handler handler);

  // Runs the matching handler. Returns 404 for an unknown path and 405 with an Allow header for
  // a known path with another method. A handler that throws yields a 500 server_error whose
  // detail is logged, never sent. Safe to call concurrently once registration is done.
  Response dispatch(const Request& request) const;

 private:
  std::map<std::string, std::vector<std::pair<beast_http::verb, Handler>>, std::less<>> routes_;
};

}  // namespace devauth::http
