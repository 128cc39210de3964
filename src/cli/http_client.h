#pragma once

// A blocking HTTP/1.1 client for `devauth login`: one request per connection, over plain TCP or
// TLS, with a timeout on every step.

#include <boost/url/url_view.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/expected.h"

namespace devauth::cli {

using FormFields = std::vector<std::pair<std::string, std::string>>;

struct HttpReply {
  unsigned status = 0;
  std::string content_type;
  // The Preference-Applied header (RFC 7240 §3), or empty.
  std::string preference_applied;
  std::string body;
};

struct RequestOptions {
  // Sent as the Authorization header when not empty.
  std::string authorization;
  // Sent as the Prefer header (RFC 7240) when not empty.
  std::string prefer;
  // Added to the timeout of the step that reads the response, for a server that keeps the
  // request open (Prefer: wait).
  std::chrono::seconds extra_read_time{0};
};

// Encodes one name or value for application/x-www-form-urlencoded: unreserved characters stay,
// a space becomes '+', and every other byte is percent-encoded.
std::string encodeFormComponent(std::string_view text);

// Encodes `fields` as application/x-www-form-urlencoded.
std::string encodeForm(const FormFields& fields);

// Returns the value of an Authorization header with HTTP Basic client credentials. The id and
// secret are form-encoded before base64, as RFC 6749 §2.3.1 requires.
std::string basicAuthorization(std::string_view client_id, std::string_view secret);

// POSTs `body` as a form to `url`, which must be an absolute http or https URL. For https the
// peer is verified against the system CA store, with SNI and a host name check. Each step
// (resolve, connect, TLS handshake, write, read) is limited to `timeout`. `authorization` is
// sent as the Authorization header when not empty. The error is a message naming the step that
// failed.
Expected<HttpReply, std::string> postForm(boost::urls::url_view url, const std::string& body,
                                          const std::string& authorization,
                                          std::chrono::seconds timeout);

// Like the postForm above, with the headers and the read time of `options`.
Expected<HttpReply, std::string> postForm(boost::urls::url_view url, const std::string& body,
                                          std::chrono::seconds timeout,
                                          const RequestOptions& options);

// GETs `url` with Accept: application/json, with the same checks and timeouts as postForm.
Expected<HttpReply, std::string> getUrl(boost::urls::url_view url, std::chrono::seconds timeout);

}  // namespace devauth::cli
