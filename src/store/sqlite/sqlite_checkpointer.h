#pragma once
// Moves SQLite's WAL checkpoints off the commits that trigger them.
//
// By default a connection checkpoints in the commit that brings the WAL to 1,000 pages. It
// copies the pages into the database file and syncs both files while its caller still holds
// the store's write mutex, and every other write of the process waits for those syncs. A
// Checkpointer replaces that with a wal hook (sqlite3_wal_hook) on each writing connection. The
// hook only wakes a thread, which checkpoints on its own connection in PASSIVE mode, beside
// the writers, each time start_pages more pages have come.
//
// SQLite starts the WAL over only when a write begins after a checkpoint copied all of it.
// Under a steady stream of writes, pages come in during every checkpoint of the thread, so the
// WAL keeps growing. When it reaches inline_pages, the committing connection checkpoints
// itself, as SQLite would by default, and the next write starts the WAL over. The same happens
// when the thread falls behind or fails.
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/sqlite/sqlite_handle.h"

namespace devauth::sqlite {

struct CheckpointerOptions {
  // WAL size, in pages, at which a commit wakes the checkpoint thread. SQLite's own automatic
  // checkpoint starts at 1,000.
  int start_pages = 1000;
  // WAL size, in pages, at which the committing connection checkpoints itself. With 4,000 and
  // with 10,000, begins and polls ran at about the same rate in the benchmarks, and begin's
  // p99 was a little lower with 4,000.
  int inline_pages = 4000;
  // After a failed checkpoint, the thread starts no other one for this long. A full disk, for
  // example, fails every checkpoint, and each failure is logged.
  std::chrono::milliseconds retry_delay{1000};
  // Test seam: called by the checkpoint thread before each checkpoint. Empty outside tests.
  std::function<void()> before_checkpoint;
};

class Checkpointer {
 public:
  Checkpointer(std::string path, std::chrono::milliseconds busy_timeout,
               CheckpointerOptions options = {});
  // Stops the thread, waiting for a checkpoint in progress to end.
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Installs the wal hook on `db`, replacing its automatic checkpoint. The Checkpointer must
  // outlive the connection.
  void attach(sqlite3* db);

  // Checkpoints the thread has run, successful or not.
  std::uint64_t backgroundCheckpoints() const { return background_runs_.load(); }
  // Checkpoints run by committing connections because the WAL reached inline_pages.
  std::uint64_t inlineCheckpoints() const { return inline_runs_.load(); }

 private:
  static int onCommit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void run();
  // Runs one checkpoint. Returns false when it failed.
  bool checkpoint();

  const std::string path_;
  const std::chrono::milliseconds busy_timeout_;
  const CheckpointerOptions options_;

  std::mutex mutex_;
  std::condition_variable wake_;
  // Set by a commit, cleared by the thread when it starts a checkpoint.
  std::atomic<bool> requested_{false};
  // The WAL pages that the thread's last checkpoint had copied, counted from the WAL's start.
  std::atomic<int> checkpointed_pages_{0};
  bool stopping_ = false;  // guarded by mutex_
  // The thread's own connection, opened at its first checkpoint. Used by the thread only.
  std::unique_ptr<Connection> connection_;
  std::atomic<std::uint64_t> background_runs_{0};
  std::atomic<std::uint64_t> inline_runs_{0};
  std::thread thread_;
};

}  // namespace devauth::sqlite
