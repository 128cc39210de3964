// Fuzzes client authentication at the token endpoint (RFC 6749 §2.3.1): the HTTP Basic header
// and the form body of a token request. The input is the Authorization header value, a newline,
// then the body. No response may be a server error.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_environment.h"

namespace {

// The wire parser rejects CR, LF and NUL in a field value, so none reaches a handler.
std::string fieldValue(std::string_view text) {
  std::string value;
  for (const char c : text) {
    if (c != '\r' && c != '\n' && c != '\0') {
      value += c;
    }
  }
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace beast_http = devauth::http::beast_http;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string_view header = input.substr(0, newline);
  const std::string_view body =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  devauth::http::Request request;
  request.message.method(beast_http::verb::post);
  request.message.target("/oauth/device/token");
  request.message.version(11);
  request.message.set(beast_http::field::content_type, "application/x-www-form-urlencoded");
  if (!header.empty()) {
    request.message.set(beast_http::field::authorization, fieldValue(header));
  }
  request.message.body() = std::string(body);
  request.message.prepare_payload();
  request.remote_address = "127.0.0.1";
  request.request_id = "fuzz";

  const auto response = devauth::fuzzing::Environment::instance().router().dispatch(request);
  if (response.result_int() >= 500) {
    std::fprintf(stderr, "fuzz: server error %u: %s\n", response.result_int(),
                 response.body().c_str());
    std::abort();
  }
  return 0;
}
