#include "support/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace devauth::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string lower(std::string text) {
  for (auto& c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

std::string encodeComponent(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace

std::string HttpResult::header(std::string name) const {
  auto it = headers.find(lower(std::move(name)));
  return it == headers.end() ? std::string() : it->second;
}

HttpResult httpRequest(std::uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body, const Fields& headers) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));

  http::request<http::string_body> request;
  request.method_string(method);
  request.target(target);
  request.version(11);
  request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  for (const auto& [name, value] : headers) {
    request.insert(name, value);
  }
  request.body() = body;
  if (!body.empty() || method == "POST") {
    request.prepare_payload();
  }
  http::write(stream, request);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(stream, buffer, parser);
  auto response = parser.release();

  HttpResult result;
  result.status = response.result_int();
  for (const auto& field : response) {
    result.headers[lower(std::string(field.name_string()))] = std::string(field.value());
  }
  result.body = std::move(response.body());
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  return result;
}

std::string encodeForm(const Fields& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out += encodeComponent(name) + "=" + encodeComponent(value);
  }
  return out;
}

HttpResult postForm(std::uint16_t port, const std::string& target, const Fields& fields,
                    const Fields& headers) {
  Fields all = headers;
  all.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  return httpRequest(port, "POST", target, encodeForm(fields), all);
}

std::string basicAuthorization(const std::string& client_id, const std::string& secret) {
  const std::string credentials = encodeComponent(client_id) + ":" + encodeComponent(secret);
  std::string encoded(beast::detail::base64::encoded_size(credentials.size()), '\0');
  encoded.resize(
      beast::detail::base64::encode(encoded.data(), credentials.data(), credentials.size()));
  return "Basic " + encoded;
}

}  // namespace devauth::testing
