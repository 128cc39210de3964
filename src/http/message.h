#pragma once

// The request and response types that handlers see. Handlers are synchronous functions from a
// Request to a Response; the server (http/server.h) runs them on its I/O threads.

#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <string>

namespace devauth::http {

namespace beast_http = boost::beast::http;

using RawRequest = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;

class Deferral;

struct Request {
  RawRequest message;
  // The peer's IP address as text, without port.
  std::string remote_address;
  // Random id for log correlation, also sent back in the X-Request-Id header.
  std::string request_id;
  // Lets the handler answer later (http/deferred.h). Set by the server; null when a handler is
  // called directly.
  std::shared_ptr<Deferral> deferral;

  // The path of the target without the query, percent-decoding not applied.
  std::string_view path() const;
  // The raw query string without '?', or empty.
  std::string_view query() const;
};

using Handler = std::function<Response(const Request&)>;

}  // namespace devauth::http
