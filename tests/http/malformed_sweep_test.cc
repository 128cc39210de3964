// Malformed requests against every route of the real server over loopback sockets: truncated
// bodies, huge fields, bad percent escapes, invalid UTF-8, wrong content types, repeated
// headers, slow clients and pipelined garbage. Every response must be a 4xx in the endpoint's
// format (RFC 6749 §5.2 JSON under /oauth/, HTML or text elsewhere) or a closed connection,
// never a 5xx, and a well-formed request sent after each bad one must be served normally.

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.h"
#include "support/test_server.h"

namespace devauth::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace beast_http = beast::http;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using RawResponse = beast_http::response<beast_http::string_body>;

// Time allowed for a response. The server's read_timeout in this test is kReadTimeout.
constexpr milliseconds kAnswerTimeout{5000};
constexpr std::chrono::seconds kReadTimeout{2};

struct Route {
  std::string method;
  std::string path;
};

// Every route that server/routes.cc registers.
const std::vector<Route> kRoutes = {
    {"POST", "/oauth/device/begin"},
    {"POST", "/oauth/device/token"},
    {"POST", "/oauth/device/approve"},
    {"POST", "/oauth/device/deny"},
    {"POST", "/oauth/device/bind"},
    {"GET", "/device"},
    {"POST", "/device"},
    {"POST", "/device/login"},
    {"POST", "/device/decision"},
    {"GET", "/device/style.css"},
    {"GET", "/device/display"},
    {"GET", "/assets/device.js"},
    {"GET", "/healthz"},
};

// RFC 6749 §5.2 and RFC 8628 §3.5 error codes.
const std::set<std::string> kOAuthErrors = {
    "invalid_request",        "invalid_client", "invalid_grant", "unauthorized_client",
    "unsupported_grant_type", "invalid_scope",  "access_denied", "expired_token",
    "authorization_pending",  "slow_down",      "server_error",  "temporarily_unavailable"};

bool isOAuthPath(const std::string& path) { return path.starts_with("/oauth/"); }

// A client socket that sends raw bytes. Every read is bounded by a timeout.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  void send(std::string_view data) {
    beast::error_code ignored;
    asio::write(socket_, asio::buffer(data), ignored);
  }

  void shutdownSend() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
  }

  // Reads responses until the server closes the connection, `count` responses arrived, or
  // `timeout` passed. Returns them in order.
  std::vector<RawResponse> readResponses(std::size_t count, milliseconds timeout = kAnswerTimeout) {
    std::vector<RawResponse> responses;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (responses.size() < count && !closed_) {
      const auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= milliseconds(0)) {
        break;
      }
      beast_http::response_parser<beast_http::string_body> parser;
      parser.body_limit(16 * 1024 * 1024);
      beast::error_code result = asio::error::timed_out;
      bool done = false;
      beast_http::async_read(socket_, buffer_, parser, [&](beast::error_code error, std::size_t) {
        result = error;
        done = true;
      });
      io_.restart();
      io_.run_for(left);
      if (!done) {
        beast::error_code ignored;
        socket_.cancel(ignored);
        io_.restart();
        io_.run();
        break;
      }
      if (result) {
        closed_ = true;
        break;
      }
      responses.push_back(parser.release());
    }
    return responses;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  bool closed_ = false;
};

std::string request(const std::string& method, const std::string& target,
                    const std::vector<std::string>& headers, const std::string& body,
                    bool content_length = true) {
  std::string text = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& header : headers) {
    text += header + "\r\n";
  }
  if (content_length) {
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return text + "\r\n" + body;
}

const std::string kFormType = "Content-Type: application/x-www-form-urlencoded";

struct BadRequest {
  std::string name;
  std::string bytes;
  // Close the sending side after the bytes, as a client that gave up would.
  bool shutdown_send = false;
  // Responses to wait for: two when a second request is pipelined behind the first.
  std::size_t responses = 1;
  // Some endpoints accept the request, because HTTP lets a server take the first of repeated
  // headers and the request is otherwise well-formed, so a 2xx is correct there too.
  bool may_succeed = false;
};

// The malformed requests for `route`, each on its own connection.
std::vector<BadRequest> badRequestsFor(const Route& route) {
  const std::string& m = route.method;
  const std::string& p = route.path;
  // Two fields of this size stay just under the 64 KiB body limit.
  const std::string huge(30 * 1024, 'A');
  std::vector<BadRequest> cases = {
      {"truncated body", request(m, p, {kFormType, "Content-Length: 100"}, "client_id=pu", false),
       true},
      {"huge field", request(m, p, {kFormType}, "client_id=" + huge + "&user_code=" + huge)},
      {"body over the limit", request(m, p, {kFormType}, "client_id=" + huge + huge + huge)},
      {"huge header", request(m, p, {kFormType, "X-Filler: " + std::string(9000, 'x')}, "")},
      {"huge query", request(m, p + "?user_code=" + std::string(9000, 'B'), {}, "")},
      {"bad percent escape", request(m, p, {kFormType}, "client_id=%zz&user_code=%4")},
      {"bad percent escape in query", request(m, p + "?user_code=%G1%", {}, "")},
      {"invalid utf-8 escaped", request(m, p, {kFormType}, "client_id=%ff%fe&subject=%c3%28")},
      {"invalid utf-8 raw", request(m, p, {kFormType}, "client_id=\xff\xfe\xc3\x28")},
      {"invalid utf-8 in query", request(m, p + "?user_code=%ED%A0%80", {}, "")},
      {"json body", request(m, p, {"Content-Type: application/json"}, R"({"client_id":"pub1"})")},
      {"text body", request(m, p, {"Content-Type: text/plain"}, "client_id=pub1")},
      {"multipart body",
       request(m, p, {"Content-Type: multipart/form-data; boundary=x"},
               "--x\r\nContent-Disposition: form-data; name=\"client_id\"\r\n\r\npub1\r\n--x--")},
      {"latin1 charset", request(m, p, {kFormType + "; charset=iso-8859-1"}, "client_id=pub1")},
      {"no content type", request(m, p, {}, "client_id=pub1")},
      {"repeated content type",
       request(m, p, {kFormType, "Content-Type: application/json"}, "client_id=pub1"), false, 1,
       true},
      {"repeated authorization",
       request(m, p, {kFormType, "Authorization: Basic YTpi", "Authorization: Basic Yzpk"},
               "client_id=pub1")},
      {"repeated cookie",
       request(m, p, {kFormType, "Cookie: devauth_session=a", "Cookie: devauth_session=b"},
               "client_id=pub1"),
       false, 1, true},
      {"conflicting content lengths",
       request(m, p, {kFormType, "Content-Length: 4", "Content-Length: 9"}, "abcd", false)},
      {"bad chunk size", request(m, p, {kFormType, "Transfer-Encoding: chunked"},
                                 "zz\r\nclient_id\r\n0\r\n\r\n", false)},
      {"chunked and content length",
       request(m, p, {kFormType, "Transfer-Encoding: chunked", "Content-Length: 5"},
               "5\r\nhello\r\n0\r\n\r\n", false)},
      {"repeated parameters", request(m, p, {kFormType}, "client_id=pub1&client_id=pub2")},
      {"nul in body", request(m, p, {kFormType}, std::string("client_id=pub1\0x", 16))},
      {"wrong method", request(m == "GET" ? "DELETE" : "PUT", p, {kFormType}, "client_id=pub1")},
      {"pipelined garbage", request(m, p, {kFormType}, "client_id=pub1") + "GARBAGE\r\n\r\n", false,
       2, true},
      {"garbage request line", std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1", 9) + "\r\n\r\n"},
      {"bad version", m + " " + p + " HTTP/9.9\r\nHost: x\r\n\r\n"},
      {"space in target", m + " " + p + " x HTTP/1.1\r\nHost: x\r\n\r\n"},
  };
  return cases;
}

class MalformedSweepTest : public ::testing::Test {
 protected:
  MalformedSweepTest() : server_([](Config& config) { config.http.read_timeout = kReadTimeout; }) {
    server_.addPublicClient("pub1", {"read"});
  }

  // Checks one response to a malformed request on `route`.
  void checkAnswer(const Route& route, const RawResponse& response, bool may_succeed) {
    const unsigned status = response.result_int();
    EXPECT_LT(status, 500u) << response;
    if (may_succeed && status < 400) {
      return;
    }
    EXPECT_GE(status, 400u) << response;
    const std::string content_type(response[beast_http::field::content_type]);
    // Requests whose header cannot be parsed are rejected before routing, as plain text. A
    // body over the limit under /oauth/ still gets RFC 6749 §5.2 JSON.
    const bool parse_rejection =
        content_type.starts_with("text/plain") && (status == 400 || status == 431);
    if (isOAuthPath(route.path) && !parse_rejection) {
      EXPECT_TRUE(content_type.starts_with("application/json")) << response;
      EXPECT_EQ(response[beast_http::field::cache_control], "no-store") << response;
      boost::system::error_code error;
      const auto body = boost::json::parse(response.body(), error);
      ASSERT_FALSE(error) << response.body();
      ASSERT_TRUE(body.is_object()) << response.body();
      const auto* code = body.as_object().if_contains("error");
      ASSERT_NE(code, nullptr) << response.body();
      ASSERT_TRUE(code->is_string()) << response.body();
      EXPECT_TRUE(kOAuthErrors.contains(std::string(code->get_string()))) << response.body();
    } else {
      EXPECT_TRUE(content_type.starts_with("text/html") || content_type.starts_with("text/plain"))
          << response;
    }
  }

  // A well-formed request on a new connection is served as usual.
  void checkGoodClient() {
    const HttpResult health = httpRequest(server_.port(), "GET", "/healthz");
    EXPECT_EQ(health.status, 200u);
    EXPECT_EQ(health.body, "ok\n");
  }

  TestServer server_;
};

TEST_F(MalformedSweepTest, EveryRouteAnswersMalformedRequestsWith4xx) {
  for (const Route& route : kRoutes) {
    for (const BadRequest& bad : badRequestsFor(route)) {
      SCOPED_TRACE(route.method + " " + route.path + ": " + bad.name);
      {
        RawConnection connection(server_.port());
        connection.send(bad.bytes);
        if (bad.shutdown_send) {
          connection.shutdownSend();
        }
        // A closed connection gets no response. Behind a pipelined request only the first
        // response may be a success. GET routes ignore the body, and the /device page shows its
        // code entry form for an unusable user_code in the query, so they may succeed too.
        const auto responses = connection.readResponses(bad.responses);
        for (std::size_t i = 0; i < responses.size(); ++i) {
          const bool may_succeed = (bad.may_succeed || route.method == "GET") && i == 0;
          EXPECT_NO_FATAL_FAILURE(checkAnswer(route, responses[i], may_succeed));
        }
      }
      ASSERT_NO_FATAL_FAILURE(checkGoodClient());
    }
    // A real device authorization still works after the sweep of this route.
    const HttpResult begun =
        postForm(server_.port(), "/oauth/device/begin", {{"client_id", "pub1"}});
    EXPECT_EQ(begun.status, 200u) << route.path << ": " << begun.body;
  }
}

// A client that sends its request in small pieces within the read timeout is served. Clients
// that stop halfway are disconnected after the read timeout, and others are served meanwhile.
TEST_F(MalformedSweepTest, SlowClientsAreBoundedAndOthersServed) {
  const std::string good = request("POST", "/oauth/device/begin", {kFormType}, "client_id=pub1");
  RawConnection slow(server_.port());
  for (std::size_t i = 0; i < good.size(); i += 8) {
    slow.send(std::string_view(good).substr(i, 8));
    std::this_thread::sleep_for(milliseconds(5));
  }
  const auto served = slow.readResponses(1);
  ASSERT_EQ(served.size(), 1u);
  EXPECT_EQ(served[0].result_int(), 200u) << served[0];

  std::vector<std::unique_ptr<RawConnection>> stalled;
  for (const Route& route : kRoutes) {
    stalled.push_back(std::make_unique<RawConnection>(server_.port()));
    stalled.back()->send(
        request(route.method, route.path, {kFormType, "Content-Length: 50"}, "client_id=", false));
  }
  ASSERT_NO_FATAL_FAILURE(checkGoodClient());

  const auto started = std::chrono::steady_clock::now();
  for (auto& connection : stalled) {
    // The server closes each stalled connection after its read timeout, without a response.
    EXPECT_TRUE(connection->readResponses(1, kReadTimeout * 3).empty());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, kReadTimeout * 3);
  ASSERT_NO_FATAL_FAILURE(checkGoodClient());
}

}  // namespace
}  // namespace devauth::testing
