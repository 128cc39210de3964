// Fuzzes request targets and bodies through every route: Request::path and Request::query, then
// Router::dispatch. The first byte picks the method and content type, the bytes up to the first
// newline are the target and the rest is the body. No response may be a server error.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_environment.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace beast_http = devauth::http::beast_http;
  if (size == 0) {
    return 0;
  }
  constexpr std::array kMethods = {beast_http::verb::get, beast_http::verb::post,
                                   beast_http::verb::head, beast_http::verb::put};
  constexpr std::array<std::string_view, 4> kContentTypes = {
      "application/x-www-form-urlencoded", "application/json", "text/plain; charset=utf-8", ""};
  const std::uint8_t selector = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t newline = input.find('\n');
  const std::string_view target = input.substr(0, newline);
  const std::string_view body =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  devauth::http::Request request;
  request.message.method(kMethods[selector % kMethods.size()]);
  request.message.target(target);
  request.message.version(11);
  const std::string_view content_type = kContentTypes[(selector / 4) % kContentTypes.size()];
  if (!content_type.empty()) {
    request.message.set(beast_http::field::content_type, content_type);
  }
  request.message.body() = std::string(body);
  request.message.prepare_payload();
  request.remote_address = "127.0.0.1";
  request.request_id = "fuzz";

  // The path and the query split the target at its first '?'.
  const std::string_view path = request.path();
  const std::string_view query = request.query();
  const bool has_query = target.find('?') != std::string_view::npos;
  const std::string joined =
      has_query ? std::string(path) + "?" + std::string(query) : std::string(path);
  if (joined != target) {
    std::abort();
  }

  const auto response = devauth::fuzzing::Environment::instance().router().dispatch(request);
  if (response.result_int() >= 500) {
    std::fprintf(stderr, "fuzz: server error %u: %s\n", response.result_int(),
                 response.body().c_str());
    std::abort();
  }
  return 0;
}
