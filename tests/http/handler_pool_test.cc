// The HTTP server with a handler pool (ServerOptions::handler_threads > 0): handlers run off the
// I/O threads, keep-alive and pipelined requests still get responses in order, and a graceful stop
// waits for handlers in flight. Then the HandlerPool itself: how many of its threads run at once.

#include "http/handler_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/blocking.h"
#include "http/response.h"
#include "http/server.h"

namespace devauth::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using beast_http::verb;
using std::chrono::milliseconds;
using RawResponse = beast_http::response<beast_http::string_body>;

constexpr std::string_view kGetHello = "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
constexpr std::string_view kGetSlow = "GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
constexpr milliseconds kSlowHandlerTime{500};

// A client connection whose reads give up after a timeout.
class Connection {
 public:
  explicit Connection(std::uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  void send(std::string_view data) { asio::write(socket_, asio::buffer(data)); }

  // Reads one response; nullopt when the connection closed or `timeout` passed first.
  std::optional<RawResponse> readResponse(milliseconds timeout = milliseconds(5000)) {
    beast_http::response_parser<beast_http::string_body> parser;
    std::optional<beast::error_code> result;
    beast_http::async_read(socket_, buffer_, parser,
                           [&result](beast::error_code error, std::size_t) { result = error; });
    io_.restart();
    io_.run_for(timeout);
    if (!result) {
      beast::error_code ignored;
      socket_.cancel(ignored);
      io_.restart();
      io_.run();
      return std::nullopt;
    }
    if (*result) {
      return std::nullopt;
    }
    return parser.release();
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

class HandlerPoolTest : public ::testing::Test {
 protected:
  HandlerPoolTest() {
    options_.port = 0;
    // One I/O thread: a handler that ran on it would hold up every other connection.
    options_.io_threads = 1;
    options_.handler_threads = 2;
    // Both threads may run at once, also on one core: the slow handler sleeps outside a
    // BlockingRegion.
    options_.handler_active_threads = 2;
    options_.shutdown_grace = std::chrono::seconds(5);
    router_.add(verb::get, "/hello",
                [](const Request& request) { return textResponse(request, 200, "hello\n"); });
    router_.add(verb::get, "/slow", [this](const Request& request) {
      slow_started_.set_value();
      std::this_thread::sleep_for(kSlowHandlerTime);
      return textResponse(request, 200, "slow\n");
    });
    server_ = std::make_unique<Server>(options_, router_);
    server_->start();
  }

  ~HandlerPoolTest() override { server_->stop(); }

  std::uint16_t port() const { return server_->port(); }

  // Blocks until the /slow handler has started, at most 5 seconds.
  bool awaitSlowHandler() {
    return slow_started_future_.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  }

  ServerOptions options_;
  Router router_;
  std::unique_ptr<Server> server_;

 private:
  std::promise<void> slow_started_;
  std::future<void> slow_started_future_ = slow_started_.get_future();
};

TEST_F(HandlerPoolTest, KeepAliveConnectionServesSeveralRequests) {
  Connection connection(port());

  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    connection.send(kGetHello);
    const auto response = connection.readResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->result_int(), 200U);
    EXPECT_EQ(response->body(), "hello\n");
    EXPECT_TRUE(response->keep_alive());
  }
}

TEST_F(HandlerPoolTest, PipelinedRequestsAnsweredInOrder) {
  Connection connection(port());
  connection.send(std::string(kGetSlow) + std::string(kGetHello));

  const auto first = connection.readResponse();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->body(), "slow\n");
  const auto second = connection.readResponse();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->body(), "hello\n");
}

// With handlers inline, the single I/O thread would sleep in /slow and /hello would wait.
TEST_F(HandlerPoolTest, SlowHandlerDoesNotBlockOtherConnections) {
  Connection slow(port());
  slow.send(kGetSlow);
  ASSERT_TRUE(awaitSlowHandler());

  const auto started = std::chrono::steady_clock::now();
  Connection fast(port());
  fast.send(kGetHello);
  const auto hello = fast.readResponse();
  const auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->body(), "hello\n");
  EXPECT_LT(waited, kSlowHandlerTime / 2);

  const auto slow_response = slow.readResponse();
  ASSERT_TRUE(slow_response.has_value());
  EXPECT_EQ(slow_response->body(), "slow\n");
}

// stop() during a handler lets it finish and delivers its response with Connection: close.
TEST_F(HandlerPoolTest, GracefulStopDeliversSlowHandlerResponse) {
  Connection connection(port());
  connection.send(kGetSlow);
  ASSERT_TRUE(awaitSlowHandler());

  std::thread stopper([this] { server_->stop(); });
  const auto response = connection.readResponse();
  stopper.join();

  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->result_int(), 200U);
  EXPECT_EQ(response->body(), "slow\n");
  EXPECT_FALSE(response->keep_alive());
  EXPECT_FALSE(connection.readResponse(milliseconds(1000)).has_value());
}

// Counts the jobs that run at once and keeps the largest count seen.
class Concurrency {
 public:
  void enter() {
    const int now = ++running_;
    int seen = most_.load();
    while (now > seen && !most_.compare_exchange_weak(seen, now)) {
    }
  }
  void leave() { --running_; }
  int most() const { return most_.load(); }

 private:
  std::atomic<int> running_{0};
  std::atomic<int> most_{0};
};

TEST(HandlerPoolJobsTest, RunsEveryJobFromSeveralThreads) {
  constexpr int kJobsPerPoster = 500;
  std::atomic<int> done{0};
  HandlerPool pool(4, 2);
  std::vector<std::thread> posters;
  for (int i = 0; i < 2; ++i) {
    posters.emplace_back([&pool, &done] {
      for (int j = 0; j < kJobsPerPoster; ++j) {
        pool.post([&done] { ++done; });
      }
    });
  }
  for (auto& poster : posters) {
    poster.join();
  }
  pool.join();
  EXPECT_EQ(done.load(), 2 * kJobsPerPoster);
}

// Jobs that neither wait in a BlockingRegion nor finish quickly still run one at a time when
// `active` is 1, although the pool has four threads.
TEST(HandlerPoolJobsTest, ActiveLimitHoldsWithoutBlockingRegion) {
  Concurrency concurrency;
  std::atomic<int> done{0};
  {
    HandlerPool pool(4, 1);
    for (int i = 0; i < 4; ++i) {
      pool.post([&concurrency, &done] {
        concurrency.enter();
        std::this_thread::sleep_for(milliseconds(30));
        concurrency.leave();
        ++done;
      });
    }
    pool.join();
  }
  EXPECT_EQ(done.load(), 4);
  EXPECT_EQ(concurrency.most(), 1);
}

// A job that waits inside a BlockingRegion lets another thread run, even when that other job is
// what it waits for.
TEST(HandlerPoolJobsTest, BlockingRegionLetsAnotherJobRun) {
  std::promise<void> second_ran;
  std::future<void> second_ran_future = second_ran.get_future();
  std::future_status waited = std::future_status::timeout;
  HandlerPool pool(2, 1);
  pool.post([&second_ran_future, &waited] {
    const BlockingRegion waiting;
    waited = second_ran_future.wait_for(std::chrono::seconds(5));
  });
  pool.post([&second_ran] { second_ran.set_value(); });
  pool.join();
  EXPECT_EQ(waited, std::future_status::ready);
}

// Without the region, the same first job holds the only active place, and the second job runs
// only after the first gave up waiting.
TEST(HandlerPoolJobsTest, WaitOutsideRegionHoldsUpQueue) {
  std::promise<void> second_ran;
  std::future<void> second_ran_future = second_ran.get_future();
  std::future_status waited = std::future_status::ready;
  HandlerPool pool(2, 1);
  pool.post(
      [&second_ran_future, &waited] { waited = second_ran_future.wait_for(milliseconds(200)); });
  pool.post([&second_ran] { second_ran.set_value(); });
  pool.join();
  EXPECT_EQ(waited, std::future_status::timeout);
}

// Once a region ends, the pool goes back to `active` threads at a time: the thread that waited
// and the one started meanwhile do not both take the jobs that follow.
TEST(HandlerPoolJobsTest, ActiveLimitReturnsAfterRegionEnds) {
  Concurrency concurrency;
  HandlerPool pool(3, 1);
  pool.post([] {
    const BlockingRegion waiting;
    std::this_thread::sleep_for(milliseconds(50));
  });
  // Lets the first job enter its region before the others are queued.
  std::this_thread::sleep_for(milliseconds(10));
  for (int i = 0; i < 6; ++i) {
    pool.post([&concurrency] {
      concurrency.enter();
      std::this_thread::sleep_for(milliseconds(20));
      concurrency.leave();
    });
  }
  pool.join();
  EXPECT_EQ(concurrency.most(), 1);
}

TEST(HandlerPoolJobsTest, JoinRunsQueuedJobs) {
  std::atomic<int> done{0};
  HandlerPool pool(2, 1);
  pool.post([] { std::this_thread::sleep_for(milliseconds(50)); });
  for (int i = 0; i < 10; ++i) {
    pool.post([&done] { ++done; });
  }
  pool.join();
  EXPECT_EQ(done.load(), 10);
  pool.join();
}

TEST(HandlerPoolJobsTest, ThrowingJobLeavesPoolRunning) {
  std::atomic<int> done{0};
  HandlerPool pool(1, 1);
  pool.post([] { throw std::runtime_error("handler failed"); });
  pool.post([&done] { ++done; });
  pool.join();
  EXPECT_EQ(done.load(), 1);
}

TEST(HandlerPoolJobsTest, JobPostsAnotherJob) {
  std::promise<void> inner_ran;
  std::future<void> inner_ran_future = inner_ran.get_future();
  HandlerPool pool(2, 1);
  pool.post([&pool, &inner_ran] { pool.post([&inner_ran] { inner_ran.set_value(); }); });
  EXPECT_EQ(inner_ran_future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  pool.join();
}

}  // namespace
}  // namespace devauth::http
