// Regressions found by attacking a running server: requests that a conforming client never
// sends but that reach the Beast parser of every session.

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <memory>
#include <string>

#include "http/response.h"
#include "http/router.h"
#include "http/server.h"
#include "support/http_client.h"

namespace devauth::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Sends `data` on a new connection and returns everything the server sends back before it
// closes or 3 seconds pass.
std::string exchange(std::uint16_t port, const std::string& data) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  boost::system::error_code error;
  asio::write(socket, asio::buffer(data), error);
  std::string received;
  std::array<char, 4096> chunk{};
  socket.non_blocking(false);
  const timeval timeout{3, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  while (true) {
    const std::size_t bytes = socket.read_some(asio::buffer(chunk), error);
    if (error) {
      break;
    }
    received.append(chunk.data(), bytes);
  }
  return received;
}

class HttpRegressionTest : public ::testing::Test {
 protected:
  HttpRegressionTest() {
    options_.port = 0;
    options_.io_threads = 2;
    options_.max_header_bytes = 2048;
    options_.max_body_bytes = 1024;
    options_.read_timeout = std::chrono::seconds(2);
    router_.add(beast_http::verb::post, "/echo", [](const Request& request) {
      return textResponse(request, 200, request.message.body());
    });
    router_.add(beast_http::verb::get, "/hello",
                [](const Request& request) { return textResponse(request, 200, "hello\n"); });
    server_ = std::make_unique<Server>(options_, router_);
    server_->start();
  }

  ~HttpRegressionTest() override { server_->stop(); }

  std::uint16_t port() const { return server_->port(); }

  ServerOptions options_;
  Router router_;
  std::unique_ptr<Server> server_;
};

// A chunked request whose trailer has a field longer than Beast's 64 KiB field limit made
// basic_fields throw std::length_error inside async_read; the exception left io_context::run()
// and std::terminate() stopped the whole process. The server must answer 4xx or close, and
// keep serving other connections.
TEST_F(HttpRegressionTest, HugeChunkedTrailerFieldDoesNotStopTheServer) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        const std::string request =
            "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\r\nhello\r\n0\r\nX-Trailer: " +
            std::string(70000, 't') + "\r\n\r\n";
        // Whether Beast sees the whole trailer in one read depends on TCP segmentation, so the
        // request is sent several times.
        for (int attempt = 0; attempt < 5; ++attempt) {
          const std::string reply = exchange(port(), request);
          if (reply.rfind("HTTP/1.1 200", 0) == 0) {
            std::exit(2);  // the oversized trailer was accepted
          }
        }
        const auto hello = testing::httpRequest(port(), "GET", "/hello");
        std::exit(hello.status == 200 ? 0 : 3);
      },
      ::testing::ExitedWithCode(0), "");
}

// A chunk extension is part of the chunk header line, which Beast buffers until its CRLF. With
// no limit on the session's buffer, one connection made the server hold hundreds of megabytes
// for read_timeout. A chunk header far longer than max_header_bytes must be rejected.
TEST_F(HttpRegressionTest, ChunkExtensionLongerThanHeaderLimitIsRejected) {
  const std::string request =
      "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
      "Connection: close\r\n\r\n"
      "5;ext=" +
      std::string(256 * 1024, 'e') + "\r\nhello\r\n0\r\n\r\n";
  const std::string reply = exchange(port(), request);
  EXPECT_NE(reply.rfind("HTTP/1.1 200", 0), 0u) << reply.substr(0, 200);
}

// RFC 9112 §3.2: a server must answer 400 to an HTTP/1.1 request without a Host field.
TEST_F(HttpRegressionTest, Http11RequestWithoutHostIsBadRequest) {
  const std::string reply = exchange(port(), "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply.substr(0, 200);
}

// RFC 9110 §9.3.2: a response to HEAD has no content. The 405 for HEAD carried a body, so a
// client or proxy that reuses the connection read the body as the start of the next response.
TEST_F(HttpRegressionTest, ResponseToHeadHasNoBody) {
  const std::string reply =
      exchange(port(),
               "HEAD /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
               "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  const std::size_t end_of_head = reply.find("\r\n\r\n");
  ASSERT_NE(end_of_head, std::string::npos) << reply;
  EXPECT_EQ(reply.compare(end_of_head + 4, 9, "HTTP/1.1 "), 0) << reply;
}

}  // namespace
}  // namespace devauth::http
