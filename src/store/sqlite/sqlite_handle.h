#pragma once

// RAII wrappers around the SQLite C API: a connection with its cached prepared statements, a
// lease of one statement, an IMMEDIATE transaction, and a pool that hands each call its own
// connection. A sqlite3 handle is never used by two threads at once: the pool gives a
// connection to one caller at a time, and connections are opened in multi-thread mode.

#include <sqlite3.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/connection_slots.h"
#include "store/store.h"

namespace devauth::sqlite {

class Checkpointer;

// Maps a SQLite result code to a StoreError: busy or locked (after the busy timeout) becomes
// Unavailable, a UNIQUE or PRIMARY KEY violation becomes Conflict, anything else Internal.
// `context` names the operation. SQLite's messages name tables and columns, never bound values,
// so no secret reaches the message.
StoreError errorFromCode(int code, std::string_view context, sqlite3* db);

// A prepared statement checked out of a Connection's cache. The destructor resets it and
// clears its bindings, so a finished lease never keeps a read transaction open.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* statement, std::string_view sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds the parameters 1..N in order. A bind failure is reported by the next step().
  template <typename... Args>
  void bindAll(const Args&... args) {
    int index = 1;
    (bind(index++, args), ...);
  }

  void bind(int index, std::nullopt_t);
  void bind(int index, long long value);
  void bind(int index, std::string_view text);
  void bind(int index, std::span<const std::uint8_t> bytes);
  void bind(int index, const std::string& text) { bind(index, std::string_view(text)); }
  void bind(int index, const char* text) { bind(index, std::string_view(text)); }
  template <std::size_t N>
  void bind(int index, const std::array<std::uint8_t, N>& bytes) {
    bind(index, std::span<const std::uint8_t>(bytes));
  }
  template <typename T>
  void bind(int index, const std::optional<T>& value) {
    if (value) {
      bind(index, *value);
    } else {
      bind(index, std::nullopt);
    }
  }

  // Advances to the next row. Returns true when a row is available, false when done.
  StoreResult<bool> step();

  // Runs a statement that returns no rows.
  StoreResult<void> run();

  bool isNull(int column) const;
  long long columnInt(int column) const;
  std::string columnText(int column) const;
  // The bytes of a BLOB column; valid until the next step() or the end of the lease.
  std::span<const std::uint8_t> columnBytes(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* statement_;
  std::string_view sql_;
  int bind_error_ = SQLITE_OK;
};

// How a connection commits (PRAGMA synchronous, a per-connection setting).
enum class Durability {
  // synchronous=FULL: every commit syncs the WAL before it returns, so a change reported as
  // done survives a power loss.
  Synced,
  // synchronous=NORMAL: a commit returns without a sync. In WAL mode the database stays
  // consistent, and a power loss loses only the commits after the last sync. The WAL is one
  // append-only file, so any later Synced commit, or checkpoint, makes the earlier commits
  // durable too: a lost unsynced commit is never followed by a surviving one.
  Unsynced,
};

// The page cache of each connection by default, in KiB (PRAGMA cache_size). It is sized for the
// index and table pages that polls of 1,000 codes in a store of 1,000,000 live authorizations
// read, about 2,500 pages of 4 KiB by estimate. SQLite's own default is 2,000 KiB. The cache
// takes memory only for the pages a connection has read.
inline constexpr std::int64_t kDefaultCacheKib = std::int64_t{32} * 1024;

// One open database connection with the settings every connection needs.
class Connection {
 public:
  // Opens (creating if needed) the database file at `path` and applies WAL journal mode,
  // `durability`, foreign keys, the busy timeout and a page cache of `cache_kib` KiB.
  static StoreResult<std::unique_ptr<Connection>> open(const std::string& path,
                                                       std::chrono::milliseconds busy_timeout,
                                                       Durability durability,
                                                       std::int64_t cache_kib = kDefaultCacheKib);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Returns a lease of the prepared statement for `sql`, preparing it on first use.
  StoreResult<Statement> prepare(std::string_view sql);

  // Runs one or more statements that return no rows, without caching them.
  StoreResult<void> execute(const char* sql, std::string_view context);

  // Rows changed by the last INSERT, UPDATE or DELETE on this connection.
  int changes() const;

  sqlite3* handle() const { return db_; }

  // Whether a commit on this connection waits for the disk (Durability::Synced).
  bool syncsCommits() const { return durability_ == Durability::Synced; }

 private:
  Connection(sqlite3* db, Durability durability, std::chrono::milliseconds busy_timeout)
      : db_(db), durability_(durability), busy_timeout_(busy_timeout) {}

  // The busy handler (sqlite3_busy_handler): sleeps, in a BlockingRegion, while another
  // connection holds a lock that this one needs, until busy_timeout_ has passed in all.
  // Returns 1 to try again and 0 to give up with SQLITE_BUSY.
  static int sleepWhileBusy(void* context, int attempts);

  sqlite3* db_;
  const Durability durability_;
  const std::chrono::milliseconds busy_timeout_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

// A BEGIN IMMEDIATE transaction. It takes the write lock at the start, waiting up to the busy
// timeout, so a read-then-write inside it cannot fail with SQLITE_BUSY halfway through. Rolls
// back on destruction unless committed.
class Transaction {
 public:
  static StoreResult<Transaction> beginImmediate(Connection& connection);
  // Begins a plain (deferred) transaction. It reads until its first write, which then takes
  // the write lock and fails at once with SQLITE_BUSY (Unavailable) if another connection
  // holds that lock or has written since the read began.
  static StoreResult<Transaction> beginDeferred(Connection& connection);
  ~Transaction();
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  StoreResult<void> commit();

 private:
  explicit Transaction(Connection* connection) : connection_(connection) {}

  Connection* connection_;
};

// A bounded set of connections to one database file. Each store call checks one out and
// returns it when the lease ends; callers beyond the limit wait for a free one.
class ConnectionPool {
 public:
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    ~Lease();
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;

    Connection& operator*() const { return *connection_; }
    Connection* operator->() const { return connection_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  // When `checkpointer` is set, it checkpoints for every connection the pool opens
  // (sqlite_checkpointer.h) and must outlive the pool.
  ConnectionPool(std::string path, std::size_t max_connections,
                 std::chrono::milliseconds busy_timeout, Durability durability,
                 std::int64_t cache_kib = kDefaultCacheKib, Checkpointer* checkpointer = nullptr);

  // Checks out a connection, opening a new one while fewer than max_connections exist. Fails
  // with Unavailable when none becomes free within the wait limit.
  StoreResult<Lease> acquire();

 private:
  void release(std::unique_ptr<Connection> connection);

  const std::string path_;
  const std::chrono::milliseconds busy_timeout_;
  const Durability durability_;
  const std::int64_t cache_kib_;
  Checkpointer* const checkpointer_;
  ConnectionSlots<Connection> slots_;
};

}  // namespace devauth::sqlite
