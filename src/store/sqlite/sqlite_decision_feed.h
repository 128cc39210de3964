#pragma once

// Decisions for held polls on SQLite (store/decision_feed.h). Decisions of the same store
// object arrive through LocalDecisions. Other processes on the file are noticed by reading
// PRAGMA data_version on a connection of the feed's own every kCheckPeriod while held polls
// wait: the value changes after every commit of another connection, and each change is
// delivered with an empty id.
//
// NOTE: Commits of this process's own pools change data_version too, polls included, so under
// steady traffic every held poll re-reads its authorization up to 20 times a second.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/decision_feed.h"
#include "store/store.h"

namespace devauth::sqlite {

class SqliteDecisionFeed final : public DecisionFeed {
 public:
  static constexpr std::chrono::milliseconds kCheckPeriod{50};

  // Opens a read-only connection to `path` and starts the feed's thread.
  static StoreResult<std::unique_ptr<SqliteDecisionFeed>> open(const std::string& path,
                                                               LocalDecisions& local,
                                                               DecisionCallback callback,
                                                               std::function<bool()> watching);
  ~SqliteDecisionFeed() override;
  SqliteDecisionFeed(const SqliteDecisionFeed&) = delete;
  SqliteDecisionFeed& operator=(const SqliteDecisionFeed&) = delete;

 private:
  struct Handle;
  SqliteDecisionFeed(std::unique_ptr<Handle> handle, LocalDecisions& local,
                     DecisionCallback callback, std::function<bool()> watching);
  void run();

  std::unique_ptr<Handle> handle_;
  LocalDecisions& local_;
  std::uint64_t subscription_;
  DecisionCallback callback_;
  std::function<bool()> watching_;

  std::mutex mutex_;
  std::condition_variable stop_signal_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace devauth::sqlite
