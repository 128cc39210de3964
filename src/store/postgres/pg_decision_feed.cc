#include "store/postgres/pg_decision_feed.h"

#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

#include "store/postgres/pg_connection.h"

namespace devauth::postgres {
namespace {

// How often the listening thread looks at the stop flag while no notice arrives.
constexpr int kPollTimeoutMs = 100;
constexpr std::chrono::milliseconds kFirstRetryDelay{250};
constexpr std::chrono::milliseconds kMaxRetryDelay{5000};

using PgConnection = std::unique_ptr<PGconn, decltype(&PQfinish)>;

std::string errorOf(PGconn* connection) {
  return connection != nullptr ? oneLine(PQerrorMessage(connection)) : "out of memory";
}

}  // namespace

PostgresDecisionFeed::PostgresDecisionFeed(std::vector<std::string> keywords,
                                           std::vector<std::string> values, LocalDecisions& local,
                                           DecisionCallback callback)
    : keywords_(std::move(keywords)),
      values_(std::move(values)),
      local_(local),
      subscription_(local.subscribe(callback)),
      callback_(std::move(callback)) {
  thread_ = std::thread([this] { run(); });
}

PostgresDecisionFeed::~PostgresDecisionFeed() {
  local_.unsubscribe(subscription_);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_signal_.notify_all();
  thread_.join();
}

bool PostgresDecisionFeed::stopping() {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void PostgresDecisionFeed::pause(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  stop_signal_.wait_for(lock, delay, [this] { return stopping_; });
}

void PostgresDecisionFeed::run() {
  bool reconnected = false;
  std::chrono::milliseconds delay = kFirstRetryDelay;
  while (!stopping()) {
    const auto started = std::chrono::steady_clock::now();
    listenOnce(reconnected);
    if (stopping()) {
      return;
    }
    // A connection that worked for a while starts the backoff again.
    if (std::chrono::steady_clock::now() - started > kMaxRetryDelay) {
      delay = kFirstRetryDelay;
    }
    spdlog::info("event=decision_listen_retry duration_ms={}", delay.count());
    pause(delay);
    delay = std::min(delay * 2, kMaxRetryDelay);
    reconnected = true;
  }
}

void PostgresDecisionFeed::listenOnce(bool reconnected) {
  PgConnection connection(connectWith(keywords_, values_), &PQfinish);
  if (!connection || PQstatus(connection.get()) != CONNECTION_OK) {
    spdlog::warn("event=decision_listen_failed error=\"{}\"", errorOf(connection.get()));
    return;
  }
  discardNotices(connection.get());
  std::unique_ptr<PGresult, decltype(&PQclear)> listened(
      PQexec(connection.get(), (std::string("LISTEN ") + kDecisionChannel).c_str()), &PQclear);
  if (PQresultStatus(listened.get()) != PGRES_COMMAND_OK) {
    spdlog::warn("event=decision_listen_failed error=\"{}\"", errorOf(connection.get()));
    return;
  }
  if (reconnected) {
    spdlog::info("event=decision_listen_restored");
    callback_("");
  }

  pollfd socket{PQsocket(connection.get()), POLLIN, 0};
  while (!stopping()) {
    const int ready = ::poll(&socket, 1, kPollTimeoutMs);
    if (ready < 0 && errno != EINTR) {
      spdlog::warn("event=decision_listen_failed error=\"poll failed\"");
      return;
    }
    if (ready <= 0) {
      continue;
    }
    if (PQconsumeInput(connection.get()) == 0) {
      spdlog::warn("event=decision_listen_failed error=\"{}\"", errorOf(connection.get()));
      return;
    }
    while (PGnotify* notice = PQnotifies(connection.get())) {
      const std::string authorization_id = notice->extra;
      PQfreemem(notice);
      callback_(authorization_id);
    }
  }
}

}  // namespace devauth::postgres
