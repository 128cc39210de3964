#include "store/sqlite/sqlite_decision_feed.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <optional>

namespace devauth::sqlite {

struct SqliteDecisionFeed::Handle {
  ~Handle() {
    sqlite3_finalize(statement);
    sqlite3_close_v2(db);
  }

  // The current PRAGMA data_version, or nullopt when reading it failed.
  std::optional<long long> dataVersion() const {
    const int stepped = sqlite3_step(statement);
    std::optional<long long> version;
    if (stepped == SQLITE_ROW) {
      version = sqlite3_column_int64(statement, 0);
    }
    sqlite3_reset(statement);
    return version;
  }

  sqlite3* db = nullptr;
  sqlite3_stmt* statement = nullptr;
};

StoreResult<std::unique_ptr<SqliteDecisionFeed>> SqliteDecisionFeed::open(
    const std::string& path, LocalDecisions& local, DecisionCallback callback,
    std::function<bool()> watching) {
  auto handle = std::make_unique<Handle>();
  const int opened = sqlite3_open_v2(path.c_str(), &handle->db,
                                     SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (opened != SQLITE_OK) {
    return unexpected(StoreError{
        StoreError::Kind::Unavailable,
        "opening the decision watch connection failed: " + std::string(sqlite3_errstr(opened))});
  }
  const int prepared =
      sqlite3_prepare_v2(handle->db, "PRAGMA data_version", -1, &handle->statement, nullptr);
  if (prepared != SQLITE_OK) {
    return unexpected(StoreError{
        StoreError::Kind::Internal,
        "preparing PRAGMA data_version failed: " + std::string(sqlite3_errmsg(handle->db))});
  }
  return std::unique_ptr<SqliteDecisionFeed>(
      new SqliteDecisionFeed(std::move(handle), local, std::move(callback), std::move(watching)));
}

SqliteDecisionFeed::SqliteDecisionFeed(std::unique_ptr<Handle> handle, LocalDecisions& local,
                                       DecisionCallback callback, std::function<bool()> watching)
    : handle_(std::move(handle)),
      local_(local),
      subscription_(local.subscribe(callback)),
      callback_(std::move(callback)),
      watching_(std::move(watching)) {
  thread_ = std::thread([this] { run(); });
}

SqliteDecisionFeed::~SqliteDecisionFeed() {
  local_.unsubscribe(subscription_);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_signal_.notify_all();
  thread_.join();
}

void SqliteDecisionFeed::run() {
  std::optional<long long> seen = handle_->dataVersion();
  bool failing = false;
  std::unique_lock lock(mutex_);
  while (!stop_signal_.wait_for(lock, kCheckPeriod, [this] { return stopping_; })) {
    if (!watching_()) {
      // No poll waits, so nothing is read. The next change is compared with the last value
      // read, which at worst wakes the polls of the next hold once for nothing.
      continue;
    }
    const auto version = handle_->dataVersion();
    if (!version) {
      if (!failing) {
        spdlog::warn("event=decision_watch_failed error=\"{}\"", sqlite3_errmsg(handle_->db));
      }
      failing = true;
      continue;
    }
    failing = false;
    if (version != seen) {
      seen = version;
      lock.unlock();
      callback_("");
      lock.lock();
    }
  }
}

}  // namespace devauth::sqlite
