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
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
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

// Without the region, the same first job takes the only active place, and the second job runs
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

// Waits until every thread of `pool` sleeps with nothing queued and no wake-up pending, at most
// 10 seconds, and returns the counters then. Called once the jobs finished, it waits milliseconds.
HandlerPool::Counters awaitIdle(const HandlerPool& pool, unsigned threads) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  HandlerPool::Counters counters = pool.counters();
  while ((counters.sleeping != threads || counters.wakes != 0 || counters.queued != 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
    counters = pool.counters();
  }
  return counters;
}

void expectIdle(const HandlerPool& pool, unsigned threads) {
  const HandlerPool::Counters counters = awaitIdle(pool, threads);
  EXPECT_EQ(counters.sleeping, threads);
  EXPECT_EQ(counters.running, 0U);
  EXPECT_EQ(counters.wakes, 0U);
  EXPECT_EQ(counters.queued, 0U);
}

// Counts finished jobs and lets a test wait until a number of them finished. The 30 second limit
// only ends a failing test: a passing one waits milliseconds.
class Finished {
 public:
  // Notifies with the mutex held, so that a waiter that then destroys this object cannot do so
  // while notify_all() still runs.
  void add() {
    const std::lock_guard lock(mutex_);
    ++count_;
    changed_.notify_all();
  }
  bool awaitCount(int expected) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30), [&] { return count_ >= expected; });
  }
  int count() {
    const std::lock_guard lock(mutex_);
    return count_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int count_ = 0;
};

// What one stress job does, chosen by its poster from a seeded generator, so that every run
// makes the same choices.
struct JobPlan {
  int regions = 0;  // 0 none, 1 a region, 2 a region nested in another
  bool posts_child = false;
  bool throws = false;
};

JobPlan planJob(std::minstd_rand& random) {
  JobPlan plan;
  plan.regions = static_cast<int>(random() % 3);
  plan.posts_child = random() % 4 == 0;
  plan.throws = random() % 32 == 0;
  return plan;
}

// Runs `plan` on the pool: a little work, inside regions as planned, maybe a child job (which
// itself runs inside a region), maybe an exception at the end.
void runPlanned(HandlerPool& pool, Finished& finished, const JobPlan& plan) {
  const auto work = [] {
    volatile unsigned sum = 0;
    for (unsigned i = 0; i < 200; ++i) {
      sum = sum + i;
    }
  };
  if (plan.regions >= 1) {
    const BlockingRegion outer;
    work();
    if (plan.regions == 2) {
      const BlockingRegion inner;
      std::this_thread::yield();
    }
    if (plan.posts_child) {
      // A job posted from inside a region, while this thread does not count as running.
      pool.post([&finished] {
        const BlockingRegion waiting;
        finished.add();
      });
    }
  } else {
    work();
    if (plan.posts_child) {
      pool.post([&finished] { finished.add(); });
    }
  }
  finished.add();
  if (plan.throws) {
    throw std::runtime_error("planned failure");
  }
}

// Several threads post jobs that enter regions (nested or not), post jobs of their own, and
// throw. Every job runs, and once they are done the counters are back where they started.
TEST(HandlerPoolJobsTest, StressRegionsChildJobsAndThrows) {
  constexpr int kPosters = 3;
  constexpr int kJobsPerPoster = 500;
  struct Shape {
    unsigned threads;
    unsigned active;
  };
  for (const Shape shape : {Shape{1, 1}, Shape{3, 1}, Shape{4, 2}, Shape{2, 2}}) {
    SCOPED_TRACE(testing::Message() << shape.threads << " threads, " << shape.active << " active");
    Finished finished;
    std::atomic<int> expected{0};
    HandlerPool pool(shape.threads, shape.active);
    std::vector<std::thread> posters;
    for (int i = 0; i < kPosters; ++i) {
      posters.emplace_back([&pool, &finished, &expected, i] {
        std::minstd_rand random(static_cast<unsigned>(i + 1));
        for (int j = 0; j < kJobsPerPoster; ++j) {
          const JobPlan plan = planJob(random);
          expected += plan.posts_child ? 2 : 1;
          pool.post([&pool, &finished, plan] { runPlanned(pool, finished, plan); });
        }
      });
    }
    for (auto& poster : posters) {
      poster.join();
    }
    ASSERT_TRUE(finished.awaitCount(expected.load())) << finished.count() << " of " << expected;
    expectIdle(pool, shape.threads);
    pool.join();
    EXPECT_EQ(finished.count(), expected.load());
  }
}

// Each job waits inside a region until the job queued after it has started, so the last job
// runs only if every region let one more thread run. The pool has exactly as many threads as the
// chain needs, and the chain runs several times on the same pool. A job gives up after 2 seconds,
// and once one gave up the others do not wait, so a failing run still ends within seconds.
TEST(HandlerPoolJobsTest, ChainOfWaitingJobsUsesEveryThread) {
  constexpr unsigned kLength = 6;
  constexpr int kRounds = 20;
  struct Round {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<bool> started = std::vector<bool>(kLength, false);
    int gave_up = 0;
    Finished finished;
  };
  HandlerPool pool(kLength, 1);
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(round);
    // Shared with the jobs, so that a failed assertion below does not end the round under them.
    auto state = std::make_shared<Round>();
    for (unsigned k = 0; k < kLength; ++k) {
      pool.post([state, k] {
        std::unique_lock lock(state->mutex);
        state->started[k] = true;
        state->changed.notify_all();
        if (k + 1 < kLength && state->gave_up == 0) {
          const BlockingRegion waiting;
          if (!state->changed.wait_for(lock, std::chrono::seconds(2),
                                       [&] { return static_cast<bool>(state->started[k + 1]); })) {
            ++state->gave_up;
          }
        }
        lock.unlock();
        state->finished.add();
      });
    }
    ASSERT_TRUE(state->finished.awaitCount(kLength))
        << state->finished.count() << " of " << kLength;
    const std::lock_guard lock(state->mutex);
    ASSERT_EQ(state->gave_up, 0);
  }
  expectIdle(pool, kLength);
}

// join() while jobs post further jobs, some from inside a region: every job that a job posted
// runs before join() returns. A thread that posts during join() has its jobs run at most once,
// and a job posted after join() returned never runs.
TEST(HandlerPoolJobsTest, JoinWhileJobsPostJobs) {
  constexpr int kChains = 20;
  constexpr int kChainLength = 20;
  constexpr int kOutsidePosts = 200;
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE(round);
    std::atomic<int> chained{0};
    std::atomic<int> outside{0};
    std::atomic<bool> late_ran{false};
    {
      HandlerPool pool(3, 1);
      // Each link runs, then posts the next one; odd links post from inside a region.
      std::function<void(int)> link = [&](int remaining) {
        ++chained;
        if (remaining == 0) {
          return;
        }
        if (remaining % 2 == 1) {
          const BlockingRegion waiting;
          pool.post([&link, remaining] { link(remaining - 1); });
        } else {
          pool.post([&link, remaining] { link(remaining - 1); });
        }
      };
      for (int i = 0; i < kChains; ++i) {
        pool.post([&link] { link(kChainLength - 1); });
      }
      std::thread poster([&pool, &outside] {
        for (int i = 0; i < kOutsidePosts; ++i) {
          pool.post([&outside] { ++outside; });
        }
      });
      std::thread second_joiner([&pool] { pool.join(); });
      pool.join();
      second_joiner.join();
      poster.join();
      EXPECT_EQ(chained.load(), kChains * kChainLength);
      EXPECT_LE(outside.load(), kOutsidePosts);
      const int outside_at_join = outside.load();
      pool.post([&late_ran] { late_ran = true; });
      pool.join();
      EXPECT_EQ(outside.load(), outside_at_join);
    }
    EXPECT_FALSE(late_ran.load());
  }
}

// A client that sends GET requests on one keep-alive connection and counts the responses with
// the expected body, until a request fails or `limit` responses arrived.
int requestRepeatedly(std::uint16_t port, int limit, std::atomic<int>& answered) {
  int valid = 0;
  try {
    Connection connection(port);
    for (int i = 0; i < limit; ++i) {
      const bool region = i % 2 == 0;
      connection.send(region ? "GET /region HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" : kGetHello);
      const auto response = connection.readResponse();
      if (!response) {
        break;
      }
      if (response->result_int() == 200U && response->body() == (region ? "region\n" : "hello\n")) {
        ++valid;
      }
      ++answered;
      if (!response->keep_alive()) {
        break;
      }
    }
  } catch (const boost::system::system_error&) {
    // The server closed the connection while it stopped.
  }
  return valid;
}

// Several keep-alive clients at once on two I/O threads, with handlers that enter a region on a
// pool that runs one thread at a time, then stop() while clients still send. Every response that
// arrives is the right one, and stop() returns.
TEST(HandlerPoolLoadTest, ServerUnderLoadThenStop) {
  constexpr int kClients = 6;
  constexpr int kRequests = 30;
  ServerOptions options;
  options.port = 0;
  options.io_threads = 2;
  options.handler_threads = 3;
  options.handler_active_threads = 1;
  options.shutdown_grace = std::chrono::seconds(5);
  Router router;
  router.add(verb::get, "/hello",
             [](const Request& request) { return textResponse(request, 200, "hello\n"); });
  router.add(verb::get, "/region", [](const Request& request) {
    const BlockingRegion waiting;
    std::this_thread::yield();
    return textResponse(request, 200, "region\n");
  });
  Server server(options, router);
  server.start();

  std::atomic<int> answered{0};
  std::atomic<int> valid{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&server, &answered, &valid] {
      valid += requestRepeatedly(server.port(), kRequests, answered);
    });
  }
  for (auto& client : clients) {
    client.join();
  }
  EXPECT_EQ(valid.load(), kClients * kRequests);
  EXPECT_EQ(answered.load(), kClients * kRequests);

  // The same load again, and stop() once some responses arrived.
  answered = 0;
  valid = 0;
  clients.clear();
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&server, &answered, &valid] {
      valid += requestRepeatedly(server.port(), kRequests, answered);
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (answered.load() < kClients && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  server.stop();
  for (auto& client : clients) {
    client.join();
  }
  EXPECT_GE(answered.load(), kClients);
  EXPECT_EQ(valid.load(), answered.load());
}

}  // namespace
}  // namespace devauth::http
