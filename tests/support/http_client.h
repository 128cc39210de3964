#pragma once

// A small blocking HTTP/1.1 client over a real loopback socket, for tests.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace devauth::testing {

using Fields = std::vector<std::pair<std::string, std::string>>;

struct HttpResult {
  unsigned status = 0;
  // Header names in lower case. A repeated header keeps its last value.
  std::map<std::string, std::string> headers;
  std::string body;

  // The header's value, or "" when absent. `name` is matched case-insensitively.
  std::string header(std::string name) const;
};

// Sends one request to 127.0.0.1:`port` on a new connection and reads the whole response.
// Throws boost::system::system_error on a socket failure.
HttpResult httpRequest(std::uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body = {}, const Fields& headers = {});

// POSTs `fields` form-encoded to `target`.
HttpResult postForm(std::uint16_t port, const std::string& target, const Fields& fields,
                    const Fields& headers = {});

// Encodes `fields` as application/x-www-form-urlencoded.
std::string encodeForm(const Fields& fields);

// The "Basic ..." value for an Authorization header, with id and secret form-encoded before
// base64 as RFC 6749 §2.3.1 requires.
std::string basicAuthorization(const std::string& client_id, const std::string& secret);

}  // namespace devauth::testing
