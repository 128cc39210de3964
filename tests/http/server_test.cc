#include "http/server.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "http/deferred.h"
#include "http/response.h"
#include "support/http_client.h"

namespace devauth::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using beast_http::field;
using beast_http::verb;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using RawResponse = beast_http::response<beast_http::string_body>;

constexpr std::string_view kGetHello = "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
constexpr milliseconds kSlowHandlerTime{300};

// A client socket that sends raw bytes, for requests that a well-behaved client cannot send.
// Every read is bounded by a timeout.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  void send(std::string_view data) { asio::write(socket_, asio::buffer(data)); }

  // Reads one response. Returns nullopt when the connection closed or `timeout` passed first.
  std::optional<RawResponse> readResponse(milliseconds timeout = milliseconds(5000)) {
    beast_http::response_parser<beast_http::string_body> parser;
    beast::error_code result;
    const bool completed = runFor(timeout, [&](auto done) {
      beast_http::async_read(socket_, buffer_, parser,
                             [&result, done](beast::error_code error, std::size_t) {
                               result = error;
                               done();
                             });
    });
    if (!completed || result) {
      return std::nullopt;
    }
    return parser.release();
  }

  // Reads until the server closes the connection or `timeout` passes, and returns the bytes
  // that arrived, including those already buffered.
  std::string readUntilClose(milliseconds timeout) {
    std::string received = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    runFor(timeout, [&](auto done) { collectUntilError(received, done); });
    return received;
  }

  // Reads until the server closes the connection and returns whether it closed within
  // `timeout`. `received` counts the bytes that arrived meanwhile.
  bool waitForClose(milliseconds timeout, std::size_t* received = nullptr) {
    std::size_t total = buffer_.size();
    bool closed = false;
    const bool completed = runFor(timeout, [&](auto done) { readUntilError(total, closed, done); });
    if (received != nullptr) {
      *received = total;
    }
    return completed && closed;
  }

 private:
  template <typename Done>
  void collectUntilError(std::string& received, Done done) {
    socket_.async_read_some(asio::buffer(chunk_),
                            [this, &received, done](beast::error_code error, std::size_t bytes) {
                              received.append(chunk_.data(), bytes);
                              if (error) {
                                done();
                                return;
                              }
                              collectUntilError(received, done);
                            });
  }

  template <typename Done>
  void readUntilError(std::size_t& total, bool& closed, Done done) {
    socket_.async_read_some(asio::buffer(chunk_), [this, &total, &closed, done](
                                                      beast::error_code error, std::size_t bytes) {
      total += bytes;
      if (error) {
        closed = error != asio::error::operation_aborted;
        done();
        return;
      }
      readUntilError(total, closed, done);
    });
  }

  // Runs the operation that `start` begins until it calls done() or `timeout` passes. Returns
  // whether it completed in time.
  template <typename Start>
  bool runFor(milliseconds timeout, Start start) {
    bool completed = false;
    start([&completed] { completed = true; });
    io_.restart();
    io_.run_for(timeout);
    if (completed) {
      return true;
    }
    beast::error_code ignored;
    socket_.cancel(ignored);
    io_.restart();
    io_.run();
    return false;
  }

  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::array<char, 4096> chunk_{};
};

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() {
    options_.port = 0;
    options_.io_threads = 2;
    options_.max_header_bytes = 2048;
    options_.max_body_bytes = 1024;
    options_.read_timeout = std::chrono::seconds(1);
    options_.idle_timeout = std::chrono::seconds(5);
    options_.shutdown_grace = std::chrono::seconds(5);
    addRoutes();
  }

  ~HttpServerTest() override {
    if (server_) {
      server_->stop();
    }
  }

  void startServer() {
    server_ = std::make_unique<Server>(options_, router_);
    server_->start();
  }

  std::uint16_t port() const { return server_->port(); }

  // Adds GET /blocking, whose handler sets `started` and then waits for `released`, for 10 s
  // at most, before it responds "released".
  void addBlockingRoute(std::promise<void>& started, std::shared_future<void> released) {
    router_.add(verb::get, "/blocking", [&started, released](const Request& request) {
      started.set_value();
      released.wait_for(std::chrono::seconds(10));
      return textResponse(request, 200, "released\n");
    });
  }

  // Blocks until the /slow handler has started, or fails the test after 5 seconds.
  void awaitSlowHandler() {
    std::unique_lock lock(mutex_);
    ASSERT_TRUE(slow_started_changed_.wait_for(lock, std::chrono::seconds(5),
                                               [this] { return slow_started_; }));
  }

  ServerOptions options_;
  Router router_;
  std::unique_ptr<Server> server_;

 private:
  void addRoutes() {
    router_.add(verb::get, "/hello",
                [](const Request& request) { return textResponse(request, 200, "hello\n"); });
    router_.add(verb::post, "/echo", [](const Request& request) {
      return textResponse(request, 200, request.message.body());
    });
    router_.add(verb::get, "/whoami", [](const Request& request) {
      return textResponse(request, 200, request.remote_address);
    });
    router_.add(verb::get, "/page", [](const Request& request) {
      return htmlResponse(request, 200, "<!doctype html><title>t</title>");
    });
    router_.add(verb::post, "/oauth/token", [](const Request& request) {
      const bool tried_basic = request.message.find(field::authorization) != request.message.end();
      return oauthErrorResponse(request, makeError(OAuthErrorCode::InvalidClient), tried_basic);
    });
    router_.add(verb::get, "/slow", [this](const Request& request) {
      {
        std::lock_guard lock(mutex_);
        slow_started_ = true;
      }
      slow_started_changed_.notify_all();
      std::this_thread::sleep_for(kSlowHandlerTime);
      return textResponse(request, 200, "slow\n");
    });
  }

  std::mutex mutex_;
  std::condition_variable slow_started_changed_;
  bool slow_started_ = false;  // guarded by mutex_
};

TEST_F(HttpServerTest, TwoRequestsOnOneKeepAliveConnection) {
  startServer();
  RawConnection connection(port());

  connection.send(kGetHello);
  const auto first = connection.readResponse();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->result_int(), 200U);
  EXPECT_EQ(first->body(), "hello\n");
  EXPECT_TRUE(first->keep_alive());

  connection.send(kGetHello);
  const auto second = connection.readResponse();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->result_int(), 200U);
  EXPECT_EQ(second->body(), "hello\n");
  EXPECT_NE((*first)["X-Request-Id"], (*second)["X-Request-Id"]);
}

TEST_F(HttpServerTest, PipelinedRequestsAnsweredInOrder) {
  startServer();
  RawConnection connection(port());
  connection.send(std::string(kGetHello) +
                  "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nabcde");

  const auto first = connection.readResponse();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->body(), "hello\n");
  const auto second = connection.readResponse();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->body(), "abcde");
}

TEST_F(HttpServerTest, Http10WithoutKeepAliveCloses) {
  startServer();
  RawConnection connection(port());
  connection.send("GET /hello HTTP/1.0\r\n\r\n");

  const auto response = connection.readResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->result_int(), 200U);
  EXPECT_EQ(response->version(), 10U);
  EXPECT_FALSE(response->keep_alive());
  EXPECT_TRUE(connection.waitForClose(milliseconds(2000)));
}

TEST_F(HttpServerTest, ConnectionCloseHonoured) {
  startServer();
  RawConnection connection(port());
  connection.send("GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");

  const auto response = connection.readResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ((*response)[field::connection], "close");
  EXPECT_TRUE(connection.waitForClose(milliseconds(2000)));
}

TEST_F(HttpServerTest, BodyAtLimitAccepted) {
  startServer();
  const std::string body(options_.max_body_bytes, 'x');
  const auto result = testing::httpRequest(port(), "POST", "/echo", body);
  EXPECT_EQ(result.status, 200U);
  EXPECT_EQ(result.body, body);
}

TEST_F(HttpServerTest, BodyOverLimitReturns413) {
  startServer();
  RawConnection connection(port());
  const std::string body(options_.max_body_bytes + 1, 'x');
  connection.send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body);

  const auto response = connection.readResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->result_int(), 413U);
  EXPECT_FALSE(response->keep_alive());
  EXPECT_TRUE(connection.waitForClose(milliseconds(3000)));
}

TEST_F(HttpServerTest, ChunkedBodyOverLimitReturns413) {
  startServer();
  RawConnection connection(port());
  const std::string chunk(600, 'x');
  connection.send(
      "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "258\r\n" +
      chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n");

  const auto response = connection.readResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->result_int(), 413U);
}

TEST_F(HttpServerTest, HeadersOverLimitReturns431) {
  startServer();
  RawConnection connection(port());
  connection.send("GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: " +
                  std::string(options_.max_header_bytes, 'a') + "\r\n\r\n");

  const auto response = connection.readResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->result_int(), 431U);
  EXPECT_TRUE(connection.waitForClose(milliseconds(3000)));
}

TEST_F(HttpServerTest, GarbageRequestLineReturns400) {
  startServer();
  for (const std::string_view garbage :
       {"THIS IS NOT HTTP\r\n\r\n", "\x01\x02\x03\r\n\r\n",
        "GET /hello HTTP/1.1\r\nBad Header\r\n\r\n",
        "GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"}) {
    RawConnection connection(port());
    connection.send(garbage);
    const auto response = connection.readResponse();
    ASSERT_TRUE(response.has_value()) << garbage;
    EXPECT_EQ(response->result_int(), 400U) << garbage;
    EXPECT_TRUE(connection.waitForClose(milliseconds(3000))) << garbage;
  }
}

TEST_F(HttpServerTest, ServerStillServesAfterBadRequests) {
  startServer();
  {
    RawConnection connection(port());
    connection.send("\x01\x02\x03\r\n\r\n");
    EXPECT_TRUE(connection.waitForClose(milliseconds(3000)));
  }
  EXPECT_EQ(testing::httpRequest(port(), "GET", "/hello").status, 200U);
}

TEST_F(HttpServerTest, SlowClientDisconnectedAfterReadTimeout) {
  startServer();
  RawConnection connection(port());
  const auto started = steady_clock::now();
  connection.send("GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n");

  std::size_t received = 0;
  EXPECT_TRUE(connection.waitForClose(milliseconds(5000), &received));
  const auto elapsed = steady_clock::now() - started;
  EXPECT_EQ(received, 0U);
  EXPECT_GE(elapsed, milliseconds(900));
  EXPECT_LT(elapsed, milliseconds(3000));
}

// Between requests a connection gets idle_timeout (2 s here), not the shorter read_timeout.
TEST_F(HttpServerTest, IdleConnectionClosesAfterIdleTimeout) {
  options_.idle_timeout = std::chrono::seconds(2);
  startServer();
  RawConnection connection(port());
  connection.send(kGetHello);
  ASSERT_TRUE(connection.readResponse().has_value());
  const auto answered = steady_clock::now();

  EXPECT_FALSE(connection.waitForClose(milliseconds(1500)));
  EXPECT_TRUE(connection.waitForClose(milliseconds(3000)));
  const auto elapsed = steady_clock::now() - answered;
  EXPECT_GE(elapsed, milliseconds(1900));
  EXPECT_LT(elapsed, milliseconds(4000));
}

// Each request moves the connection's deadline, so a client that keeps sending is served for
// longer than read_timeout and idle_timeout together.
TEST_F(HttpServerTest, BusyConnectionOutlivesItsTimeouts) {
  options_.idle_timeout = std::chrono::seconds(1);
  startServer();
  RawConnection connection(port());
  const auto started = steady_clock::now();
  int answered = 0;
  while (steady_clock::now() - started < milliseconds(2600)) {
    connection.send(kGetHello);
    const auto response = connection.readResponse();
    ASSERT_TRUE(response.has_value()) << "request " << answered;
    EXPECT_EQ(response->body(), "hello\n");
    ++answered;
    std::this_thread::sleep_for(milliseconds(200));
  }
  EXPECT_GE(answered, 10);
}

// read_timeout limits the client, not the handler, so a handler slower than it still responds.
// The handler runs on the handler pool, so the connection's I/O thread stays free meanwhile.
TEST_F(HttpServerTest, HandlerSlowerThanReadTimeoutResponds) {
  options_.handler_threads = 1;
  router_.add(verb::get, "/slower", [](const Request& request) {
    std::this_thread::sleep_for(milliseconds(1500));
    return textResponse(request, 200, "slower\n");
  });
  startServer();
  RawConnection connection(port());
  connection.send("GET /slower HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const auto response = connection.readResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body(), "slower\n");
}

// Each I/O thread alone runs the connections it was given, and accepted connections go to the
// threads in turn, the first to the thread that also accepts. Without a handler pool, a handler
// that blocks the second connection's thread leaves the third connection, on the first thread,
// served.
TEST_F(HttpServerTest, ConnectionsAlternateBetweenIoThreads) {
  std::promise<void> blocking_started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  addBlockingRoute(blocking_started, released);
  startServer();

  RawConnection first(port());
  first.send("GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const auto first_response = first.readResponse();
  ASSERT_TRUE(first_response.has_value());

  RawConnection second(port());
  second.send("GET /blocking HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  ASSERT_EQ(blocking_started.get_future().wait_for(std::chrono::seconds(5)),
            std::future_status::ready);

  RawConnection third(port());
  third.send("GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const auto third_response = third.readResponse(milliseconds(5000));
  release.set_value();
  ASSERT_TRUE(third_response.has_value());
  EXPECT_EQ(third_response->body(), "hello\n");

  const auto second_response = second.readResponse();
  ASSERT_TRUE(second_response.has_value());
  EXPECT_EQ(second_response->body(), "released\n");
}

// A quick handler runs on the I/O thread, so its route responds while the only handler thread
// is busy. A request that it declines waits for the handler thread.
TEST_F(HttpServerTest, QuickHandlerAnswersWhileHandlerThreadIsBusy) {
  options_.handler_threads = 1;
  options_.handler_active_threads = 1;
  std::promise<void> blocking_started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  addBlockingRoute(blocking_started, released);
  router_.add(
      verb::get, "/status",
      [](const Request& request) { return textResponse(request, 200, "from handler\n"); },
      [](const Request& request) -> std::optional<Response> {
        if (request.query() == "decline") {
          return std::nullopt;
        }
        return textResponse(request, 200, "quick\n");
      });
  startServer();

  RawConnection blocked(port());
  blocked.send("GET /blocking HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  ASSERT_EQ(blocking_started.get_future().wait_for(std::chrono::seconds(5)),
            std::future_status::ready);

  RawConnection quick(port());
  quick.send("GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const auto quick_response = quick.readResponse(milliseconds(5000));
  RawConnection declined(port());
  declined.send("GET /status?decline HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const auto early_response = declined.readResponse(milliseconds(300));
  release.set_value();
  ASSERT_TRUE(quick_response.has_value());
  EXPECT_EQ(quick_response->body(), "quick\n");
  EXPECT_FALSE(early_response.has_value());

  const auto declined_response = declined.readResponse();
  ASSERT_TRUE(declined_response.has_value());
  EXPECT_EQ(declined_response->body(), "from handler\n");
  const auto blocked_response = blocked.readResponse();
  ASSERT_TRUE(blocked_response.has_value());
  EXPECT_EQ(blocked_response->body(), "released\n");
}

// A quick handler may call Deferral::hold, and the server then sends the held response, as it
// does for a handler.
TEST_F(HttpServerTest, QuickHandlerMayHoldRequest) {
  options_.handler_threads = 1;
  router_.add(
      verb::get, "/held",
      [](const Request& request) { return textResponse(request, 200, "from handler\n"); },
      [](const Request& request) -> std::optional<Response> {
        auto held_response = request.deferral->hold(std::chrono::seconds(5), {});
        held_response->complete(textResponse(request, 200, "held\n"));
        return textResponse(request, 200, "discarded\n");
      });
  startServer();

  RawConnection connection(port());
  connection.send("GET /held HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const auto response = connection.readResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body(), "held\n");
}

// A client that stops reading a response is disconnected after read_timeout. The body is larger
// than the socket buffers of both ends together, so the rest of it is never sent.
TEST_F(HttpServerTest, ClientThatStopsReadingIsDisconnected) {
  constexpr std::size_t kBodyBytes = std::size_t{64} * 1024 * 1024;
  router_.add(verb::get, "/large", [](const Request& request) {
    return textResponse(request, 200, std::string(kBodyBytes, 'x'));
  });
  startServer();
  RawConnection connection(port());
  connection.send("GET /large HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  std::this_thread::sleep_for(milliseconds(2500));

  std::size_t received = 0;
  EXPECT_TRUE(connection.waitForClose(milliseconds(5000), &received));
  EXPECT_GT(received, 0U);
  EXPECT_LT(received, kBodyBytes);
}

TEST_F(HttpServerTest, GracefulStopDeliversResponseInFlight) {
  startServer();
  const std::uint16_t listen_port = port();
  RawConnection connection(listen_port);
  connection.send("GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  awaitSlowHandler();

  const auto stop_started = steady_clock::now();
  std::thread stopper([this] { server_->stop(); });
  const auto response = connection.readResponse();
  stopper.join();
  const auto stop_duration = steady_clock::now() - stop_started;

  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->result_int(), 200U);
  EXPECT_EQ(response->body(), "slow\n");
  EXPECT_EQ((*response)[field::connection], "close");
  EXPECT_TRUE(connection.waitForClose(milliseconds(2000)));
  EXPECT_LT(stop_duration, options_.shutdown_grace);
  EXPECT_THROW(RawConnection{listen_port}, boost::system::system_error);
}

TEST_F(HttpServerTest, StopClosesIdleKeepAliveConnection) {
  startServer();
  RawConnection connection(port());
  connection.send(kGetHello);
  ASSERT_TRUE(connection.readResponse().has_value());

  const auto stop_started = steady_clock::now();
  server_->stop();
  EXPECT_LT(steady_clock::now() - stop_started, milliseconds(1000));
  EXPECT_TRUE(connection.waitForClose(milliseconds(2000)));
}

TEST_F(HttpServerTest, StopTwiceAndWaitReturn) {
  startServer();
  std::thread waiter([this] { server_->wait(); });
  server_->stop();
  server_->stop();
  waiter.join();
}

TEST_F(HttpServerTest, SecondServerOnSamePortFailsToStart) {
  startServer();
  ServerOptions taken = options_;
  taken.port = port();
  Server second(taken, router_);
  EXPECT_THROW(second.start(), std::system_error);
}

TEST_F(HttpServerTest, ResponseCarriesRandomRequestId) {
  startServer();
  const auto first = testing::httpRequest(port(), "GET", "/hello");
  const auto second = testing::httpRequest(port(), "GET", "/hello");
  const std::regex hex16("[0-9a-f]{16}");
  EXPECT_TRUE(std::regex_match(first.header("X-Request-Id"), hex16))
      << first.header("X-Request-Id");
  EXPECT_TRUE(std::regex_match(second.header("X-Request-Id"), hex16));
  EXPECT_NE(first.header("X-Request-Id"), second.header("X-Request-Id"));
}

TEST_F(HttpServerTest, ResponseBytesOnTheWire) {
  // The status line, the fields in the order Beast keeps them, an empty line and the body.
  startServer();
  RawConnection connection(port());
  connection.send(
      "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: wire-1\r\n"
      "Connection: close\r\n\r\n");
  EXPECT_EQ(connection.readUntilClose(milliseconds(5000)),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "X-Content-Type-Options: nosniff\r\n"
            "X-Request-Id: wire-1\r\n"
            "Connection: close\r\n"
            "Content-Length: 6\r\n"
            "Cache-Control: no-store\r\n"
            "\r\n"
            "hello\n");
}

// RFC 9112 §4: the status line is HTTP-version SP 3DIGIT SP reason-phrase CRLF, here for an
// HTTP/1.0 request to an unknown path.
TEST_F(HttpServerTest, StatusLineCarriesVersionAndCode) {
  startServer();
  RawConnection connection(port());
  connection.send("GET /missing HTTP/1.0\r\n\r\n");
  const std::string reply = connection.readUntilClose(milliseconds(5000));
  EXPECT_EQ(reply.substr(0, reply.find("\r\n") + 2), "HTTP/1.0 404 Not Found\r\n") << reply;
}

TEST_F(HttpServerTest, RequestIdsStayDistinctOverManyRequests) {
  // 300 ids are more than one thread draws random bits for at once.
  startServer();
  RawConnection connection(port());
  const std::regex hex16("[0-9a-f]{16}");
  std::set<std::string> seen;
  constexpr int kRequests = 300;
  for (int i = 0; i < kRequests; ++i) {
    connection.send(kGetHello);
    const auto response = connection.readResponse();
    ASSERT_TRUE(response.has_value());
    const std::string id((*response)["X-Request-Id"]);
    EXPECT_TRUE(std::regex_match(id, hex16)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kRequests));
}

TEST_F(HttpServerTest, RemoteAddressFilled) {
  startServer();
  const auto result = testing::httpRequest(port(), "GET", "/whoami");
  EXPECT_EQ(result.status, 200U);
  EXPECT_EQ(result.body, "127.0.0.1");
}

TEST_F(HttpServerTest, UnknownPathReturns404OverTheWire) {
  startServer();
  const auto result = testing::httpRequest(port(), "GET", "/missing?secret=1");
  EXPECT_EQ(result.status, 404U);
  EXPECT_EQ(result.body.find("secret"), std::string::npos);
}

TEST_F(HttpServerTest, HtmlResponseCarriesSecurityHeaders) {
  startServer();
  const auto result = testing::httpRequest(port(), "GET", "/page");
  EXPECT_EQ(result.status, 200U);
  EXPECT_EQ(result.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(result.header("Content-Security-Policy"),
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'");
  EXPECT_EQ(result.header("X-Frame-Options"), "DENY");
  EXPECT_EQ(result.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(result.header("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(result.header("Cache-Control"), "no-store");
}

TEST_F(HttpServerTest, InvalidClientWithoutBasicReturns400) {
  startServer();
  const auto result = testing::postForm(port(), "/oauth/token", {{"client_id", "pub1"}});
  EXPECT_EQ(result.status, 400U);
  EXPECT_EQ(result.header("WWW-Authenticate"), "");
  EXPECT_EQ(result.header("Cache-Control"), "no-store");
  EXPECT_EQ(boost::json::parse(result.body).at("error").as_string(), "invalid_client");
}

TEST_F(HttpServerTest, InvalidClientAfterBasicReturns401WithChallenge) {
  startServer();
  const auto result =
      testing::postForm(port(), "/oauth/token", {},
                        {{"Authorization", testing::basicAuthorization("conf1", "wrong")}});
  EXPECT_EQ(result.status, 401U);
  EXPECT_EQ(result.header("WWW-Authenticate"), R"(Basic realm="devauth", charset="UTF-8")");
  EXPECT_EQ(result.header("Cache-Control"), "no-store");
  EXPECT_EQ(boost::json::parse(result.body).at("error").as_string(), "invalid_client");
}

TEST_F(HttpServerTest, RequestLogOmitsQuery) {
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  auto capture = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  capture->set_level(spdlog::level::debug);
  spdlog::set_default_logger(capture);

  startServer();
  const auto result = testing::httpRequest(port(), "GET", "/hello?user_code=WDJBMJHT");
  server_->stop();
  spdlog::set_default_logger(previous);

  EXPECT_EQ(result.status, 200U);
  const std::string log = captured.str();
  EXPECT_NE(log.find("event=request request_id=" + result.header("X-Request-Id") +
                     " method=GET path=/hello status=200"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("WDJBMJHT"), std::string::npos) << log;
}

}  // namespace
}  // namespace devauth::http
