#include "store/sqlite/sqlite_checkpointer.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace devauth::sqlite {

Checkpointer::Checkpointer(std::string path, std::chrono::milliseconds busy_timeout,
                           CheckpointerOptions options)
    : path_(std::move(path)), busy_timeout_(busy_timeout), options_(std::move(options)) {
  thread_ = std::thread([this] { run(); });
}

Checkpointer::~Checkpointer() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void Checkpointer::attach(sqlite3* db) { sqlite3_wal_hook(db, &Checkpointer::onCommit, this); }

// Runs inside the commit, on the committing connection's thread, after the commit is durable
// as its synchronous setting makes it. What it returns is reported by the statement that
// committed, so it always returns SQLITE_OK.
int Checkpointer::onCommit(void* self, sqlite3* db, const char* schema, int wal_pages) {
  auto* checkpointer = static_cast<Checkpointer*>(self);
  if (wal_pages >= checkpointer->options_.inline_pages) {
    checkpointer->inline_runs_.fetch_add(1);
    // A failure is not logged here, because it would repeat at every commit. The thread fails
    // the same way and logs it at most once per retry_delay.
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  // The thread runs again once start_pages more pages have come since its last checkpoint, or
  // once the WAL has started over and grown to start_pages. A commit adds pages, so a WAL no
  // larger than the thread's last checkpoint copied has started over since, even one that has
  // grown back to the same size.
  const int checkpointed = checkpointer->checkpointed_pages_.load();
  const int start = checkpointer->options_.start_pages;
  const bool due =
      wal_pages >= start && (wal_pages <= checkpointed || wal_pages - checkpointed >= start);
  if (due && !checkpointer->requested_.exchange(true)) {
    // Notifying under the mutex: the thread reads requested_ and starts waiting while it holds
    // the mutex, so the wake-up cannot fall between the two.
    const std::lock_guard lock(checkpointer->mutex_);
    checkpointer->wake_.notify_one();
  }
  return SQLITE_OK;
}

void Checkpointer::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || requested_.load(); });
    if (stopping_) {
      break;
    }
    // Cleared before the checkpoint, so that a commit during it requests the next one.
    requested_.store(false);
    lock.unlock();
    const bool checkpointed = checkpoint();
    lock.lock();
    if (!checkpointed) {
      wake_.wait_for(lock, options_.retry_delay, [this] { return stopping_; });
    }
  }
  lock.unlock();
  connection_.reset();
}

bool Checkpointer::checkpoint() {
  if (options_.before_checkpoint) {
    options_.before_checkpoint();
  }
  background_runs_.fetch_add(1);
  if (!connection_) {
    auto opened = Connection::open(path_, busy_timeout_, Durability::Synced);
    if (!opened) {
      spdlog::warn("event=sqlite_checkpoint_failed path=\"{}\" error=\"{}\"", path_,
                   opened.error().message);
      return false;
    }
    connection_ = std::move(opened).value();
  }
  // PASSIVE copies the pages that no reader still needs and does not call the busy handler,
  // so the writers go on meanwhile. SQLITE_BUSY usually means that another connection is
  // checkpointing.
  int wal_pages = 0;
  int checkpointed = 0;
  const int result = sqlite3_wal_checkpoint_v2(
      connection_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_pages, &checkpointed);
  if (result == SQLITE_OK) {
    checkpointed_pages_.store(checkpointed);
    return true;
  }
  if (result == SQLITE_BUSY) {
    return true;
  }
  spdlog::warn("event=sqlite_checkpoint_failed path=\"{}\" error=\"{}\"", path_,
               sqlite3_errmsg(connection_->handle()));
  return false;
}

}  // namespace devauth::sqlite
