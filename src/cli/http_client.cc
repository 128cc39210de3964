#include "cli/http_client.h"

#include <openssl/ssl.h>
#include <sodium.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <optional>

namespace devauth::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

inline constexpr std::size_t kMaxResponseBytes = std::size_t{1024} * 1024;

std::string describe(std::string_view step, const beast::error_code& error) {
  if (error == beast::error::timeout) {
    return std::string(step) + " timed out";
  }
  return std::string(step) + " failed: " + error.message();
}

// Runs `io` until the started operation has completed. The tcp_stream's expiry closes the
// socket when it passes, which completes the operation with beast::error::timeout.
void runOperation(asio::io_context& io) {
  io.restart();
  io.run();
}

Expected<tcp::resolver::results_type, std::string> resolve(asio::io_context& io,
                                                           const std::string& host,
                                                           const std::string& port,
                                                           std::chrono::seconds timeout) {
  tcp::resolver resolver(io);
  std::optional<beast::error_code> result;
  tcp::resolver::results_type endpoints;
  resolver.async_resolve(host, port,
                         [&](const beast::error_code& error, tcp::resolver::results_type found) {
                           result = error;
                           endpoints = std::move(found);
                         });
  io.restart();
  io.run_for(timeout);
  if (!result) {
    resolver.cancel();
    runOperation(io);
    return unexpected("resolving " + host + " timed out");
  }
  if (*result) {
    return unexpected(describe("resolving " + host, *result));
  }
  return endpoints;
}

template <typename Stream>
Expected<HttpReply, std::string> exchange(asio::io_context& io, Stream& stream,
                                          const http::request<http::string_body>& request,
                                          std::chrono::seconds timeout,
                                          std::chrono::seconds read_timeout) {
  beast::error_code error;
  beast::get_lowest_layer(stream).expires_after(timeout);
  http::async_write(stream, request,
                    [&](const beast::error_code& result, std::size_t) { error = result; });
  runOperation(io);
  if (error) {
    return unexpected(describe("sending the request", error));
  }

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  beast::get_lowest_layer(stream).expires_after(read_timeout);
  http::async_read(stream, buffer, parser,
                   [&](const beast::error_code& result, std::size_t) { error = result; });
  runOperation(io);
  if (error) {
    return unexpected(describe("reading the response", error));
  }

  auto response = parser.release();
  HttpReply reply;
  reply.status = response.result_int();
  reply.content_type = std::string(response[http::field::content_type]);
  reply.preference_applied = std::string(response["Preference-Applied"]);
  reply.body = std::move(response.body());
  return reply;
}

Expected<void, std::string> connect(asio::io_context& io, beast::tcp_stream& stream,
                                    const tcp::resolver::results_type& endpoints,
                                    const std::string& host, std::chrono::seconds timeout) {
  beast::error_code error;
  stream.expires_after(timeout);
  stream.async_connect(
      endpoints, [&](const beast::error_code& result, const tcp::endpoint&) { error = result; });
  runOperation(io);
  if (error) {
    return unexpected(describe("connecting to " + host, error));
  }
  return {};
}

Expected<void, std::string> handshake(asio::io_context& io,
                                      beast::ssl_stream<beast::tcp_stream>& stream,
                                      const std::string& host, std::chrono::seconds timeout) {
  // SNI carries host names only (RFC 6066 §3), never IP literals.
  beast::error_code address_error;
  asio::ip::make_address(host, address_error);
  if (address_error && !SSL_set_tlsext_host_name(stream.native_handle(), host.c_str())) {
    return unexpected("setting the TLS server name " + host + " failed");
  }
  stream.set_verify_mode(ssl::verify_peer);
  stream.set_verify_callback(ssl::host_name_verification(host));

  beast::error_code error;
  beast::get_lowest_layer(stream).expires_after(timeout);
  stream.async_handshake(ssl::stream_base::client,
                         [&](const beast::error_code& result) { error = result; });
  runOperation(io);
  if (error) {
    return unexpected(describe("the TLS handshake with " + host, error));
  }
  return {};
}

http::request<http::string_body> makeRequest(http::verb method, boost::urls::url_view url,
                                             const std::string& body,
                                             const RequestOptions& options) {
  http::request<http::string_body> request;
  request.method(method);
  request.target(url.encoded_target().empty() ? std::string("/")
                                              : std::string(url.encoded_target()));
  request.version(11);
  request.set(http::field::host, url.encoded_host_and_port());
  request.set(http::field::user_agent, "devauth-login");
  request.set(http::field::accept, "application/json");
  if (method == http::verb::post) {
    request.set(http::field::content_type, "application/x-www-form-urlencoded");
  }
  request.set(http::field::connection, "close");
  if (!options.authorization.empty()) {
    request.set(http::field::authorization, options.authorization);
  }
  if (!options.prefer.empty()) {
    request.set("Prefer", options.prefer);
  }
  request.body() = body;
  request.prepare_payload();
  return request;
}

Expected<HttpReply, std::string> send(boost::urls::url_view url,
                                      const http::request<http::string_body>& request,
                                      std::chrono::seconds timeout,
                                      std::chrono::seconds read_timeout) {
  const bool tls = url.scheme_id() == boost::urls::scheme::https;
  const std::string host(url.host_name().empty() ? url.encoded_host() : url.host_name());
  const std::string host_for_lookup =
      url.host_type() == boost::urls::host_type::ipv6 ? url.host_ipv6_address().to_string() : host;
  const std::string port = url.has_port() ? std::string(url.port()) : (tls ? "443" : "80");

  asio::io_context io;
  auto endpoints = resolve(io, host_for_lookup, port, timeout);
  if (!endpoints) {
    return unexpected(endpoints.error());
  }
  if (!tls) {
    beast::tcp_stream stream(io);
    auto connected = connect(io, stream, endpoints.value(), host, timeout);
    if (!connected) {
      return unexpected(connected.error());
    }
    return exchange(io, stream, request, timeout, read_timeout);
  }

  ssl::context context(ssl::context::tls_client);
  context.set_default_verify_paths();
  beast::ssl_stream<beast::tcp_stream> stream(io, context);
  auto connected = connect(io, beast::get_lowest_layer(stream), endpoints.value(), host, timeout);
  if (!connected) {
    return unexpected(connected.error());
  }
  auto secured = handshake(io, stream, host_for_lookup, timeout);
  if (!secured) {
    return unexpected(secured.error());
  }
  return exchange(io, stream, request, timeout, read_timeout);
}

}  // namespace

std::string encodeFormComponent(std::string_view text) {
  boost::urls::encoding_opts options;
  options.space_as_plus = true;
  return boost::urls::encode(text, boost::urls::unreserved_chars, options);
}

std::string encodeForm(const FormFields& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) {
      out.push_back('&');
    }
    out += encodeFormComponent(name) + "=" + encodeFormComponent(value);
  }
  return out;
}

std::string basicAuthorization(std::string_view client_id, std::string_view secret) {
  const std::string credentials =
      encodeFormComponent(client_id) + ":" + encodeFormComponent(secret);
  std::string encoded(sodium_base64_ENCODED_LEN(credentials.size(), sodium_base64_VARIANT_ORIGINAL),
                      '\0');
  sodium_bin2base64(encoded.data(), encoded.size(),
                    reinterpret_cast<const unsigned char*>(credentials.data()), credentials.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  // sodium_base64_ENCODED_LEN counts the terminating NUL.
  encoded.pop_back();
  return "Basic " + encoded;
}

Expected<HttpReply, std::string> postForm(boost::urls::url_view url, const std::string& body,
                                          const std::string& authorization,
                                          std::chrono::seconds timeout) {
  RequestOptions options;
  options.authorization = authorization;
  return postForm(url, body, timeout, options);
}

Expected<HttpReply, std::string> postForm(boost::urls::url_view url, const std::string& body,
                                          std::chrono::seconds timeout,
                                          const RequestOptions& options) {
  return send(url, makeRequest(http::verb::post, url, body, options), timeout,
              timeout + options.extra_read_time);
}

Expected<HttpReply, std::string> getUrl(boost::urls::url_view url, std::chrono::seconds timeout) {
  return send(url, makeRequest(http::verb::get, url, {}, RequestOptions{}), timeout, timeout);
}

}  // namespace devauth::cli
