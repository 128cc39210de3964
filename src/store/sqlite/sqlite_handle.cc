#include "store/sqlite/sqlite_handle.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>
#include <utility>

#include "core/blocking.h"
#include "metrics/metrics.h"
#include "store/sqlite/sqlite_checkpointer.h"

namespace devauth::sqlite {
namespace {

// How long acquire() waits for a connection when all are checked out. Each holder keeps its
// connection for one store call, which waits at most the busy timeout for a lock.
constexpr std::chrono::seconds kAcquireTimeout{10};

StoreError internalError(std::string message) {
  return StoreError{StoreError::Kind::Internal, std::move(message)};
}

// Turns off SQLite's memory statistics, which take a process-wide mutex at every allocation
// and free inside SQLite. Nothing here reads them (sqlite3_memory_used). SQLite accepts the
// setting only before it initializes, so this runs before the first connection opens. If SQLite
// was initialized earlier, the statistics stay on and nothing else changes.
void configureSqliteOnce() {
  static std::once_flag once;
  std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

}  // namespace

StoreError errorFromCode(int code, std::string_view context, sqlite3* db) {
  StoreError error;
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      error.kind = StoreError::Kind::Unavailable;
      break;
    case SQLITE_CONSTRAINT:
      error.kind = (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
                       ? StoreError::Kind::Conflict
                       : StoreError::Kind::Internal;
      break;
    default:
      error.kind = StoreError::Kind::Internal;
      break;
  }
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  error.message = fmt::format("SQLite: {} failed: {} (code {})", context, detail, code);
  return error;
}

// --- Statement ---------------------------------------------------------------------------

Statement::Statement(sqlite3* db, sqlite3_stmt* statement, std::string_view sql)
    : db_(db), statement_(statement), sql_(sql) {}

Statement::~Statement() {
  if (statement_ != nullptr) {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      statement_(std::exchange(other.statement_, nullptr)),
      sql_(other.sql_),
      bind_error_(other.bind_error_) {}

void Statement::bind(int index, std::nullopt_t) {
  const int code = sqlite3_bind_null(statement_, index);
  if (bind_error_ == SQLITE_OK) {
    bind_error_ = code;
  }
}

void Statement::bind(int index, long long value) {
  const int code = sqlite3_bind_int64(statement_, index, value);
  if (bind_error_ == SQLITE_OK) {
    bind_error_ = code;
  }
}

void Statement::bind(int index, std::string_view text) {
  const int code = sqlite3_bind_text64(statement_, index, text.data(), text.size(),
                                       SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bind_error_ == SQLITE_OK) {
    bind_error_ = code;
  }
}

void Statement::bind(int index, std::span<const std::uint8_t> bytes) {
  const int code =
      sqlite3_bind_blob64(statement_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  if (bind_error_ == SQLITE_OK) {
    bind_error_ = code;
  }
}

StoreResult<bool> Statement::step() {
  if (bind_error_ != SQLITE_OK) {
    return unexpected(errorFromCode(bind_error_, fmt::format("binding `{}`", sql_), nullptr));
  }
  const auto started = std::chrono::steady_clock::now();
  const int code = sqlite3_step(statement_);
  metrics::recordStoreStatement(std::chrono::steady_clock::now() - started);
  if (code == SQLITE_ROW) {
    return true;
  }
  if (code == SQLITE_DONE) {
    return false;
  }
  return unexpected(errorFromCode(code, fmt::format("`{}`", sql_), db_));
}

StoreResult<void> Statement::run() {
  auto row = step();
  if (!row) {
    return unexpected(row.error());
  }
  if (*row) {
    return unexpected(internalError(fmt::format("SQLite: `{}` returned a row", sql_)));
  }
  return {};
}

bool Statement::isNull(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

long long Statement::columnInt(int column) const {
  return sqlite3_column_int64(statement_, column);
}

std::string Statement::columnText(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
  const int size = sqlite3_column_bytes(statement_, column);
  return text == nullptr ? std::string() : std::string(text, static_cast<std::size_t>(size));
}

std::span<const std::uint8_t> Statement::columnBytes(int column) const {
  const auto* bytes = static_cast<const std::uint8_t*>(sqlite3_column_blob(statement_, column));
  const int size = sqlite3_column_bytes(statement_, column);
  if (bytes == nullptr) {
    return {};
  }
  return {bytes, static_cast<std::size_t>(size)};
}

// --- Connection --------------------------------------------------------------------------

// SQLite's own handler (sqlite3_busy_timeout) sleeps in much the same way, but its sleep
// cannot be marked as a BlockingRegion, so a handler thread waiting for another process's lock
// would keep one of the handler pool's active places.
int Connection::sleepWhileBusy(void* context, int attempts) {
  const auto* connection = static_cast<const Connection*>(context);
  // The delays double from 1 ms up to kMaxBusyDelay, and their sum stops at the busy timeout.
  constexpr std::chrono::milliseconds kMaxBusyDelay{50};
  std::chrono::milliseconds slept{0};
  std::chrono::milliseconds delay{1};
  for (int attempt = 0; attempt < attempts; ++attempt) {
    slept += delay;
    delay = std::min(delay * 2, kMaxBusyDelay);
  }
  const std::chrono::milliseconds left = connection->busy_timeout_ - slept;
  if (left <= std::chrono::milliseconds::zero()) {
    return 0;
  }
  const BlockingRegion waiting;
  std::this_thread::sleep_for(std::min(delay, left));
  return 1;
}

StoreResult<std::unique_ptr<Connection>> Connection::open(const std::string& path,
                                                          std::chrono::milliseconds busy_timeout,
                                                          Durability durability,
                                                          std::int64_t cache_kib) {
  configureSqliteOnce();
  sqlite3* db = nullptr;
  const int code = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (code != SQLITE_OK) {
    StoreError error = errorFromCode(code, fmt::format("opening database {}", path), db);
    sqlite3_close_v2(db);
    return unexpected(std::move(error));
  }
  std::unique_ptr<Connection> connection(new Connection(db, durability, busy_timeout));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_handler(db, &Connection::sleepWhileBusy, connection.get());

  // WAL lets readers proceed while one writer commits. The mode is stored in the file, so
  // setting it again is a no-op. This is also the first read, so a file that is not a database
  // fails here.
  auto journal = connection->prepare("PRAGMA journal_mode = WAL");
  if (!journal) {
    return unexpected(journal.error());
  }
  auto row = journal->step();
  if (!row) {
    return unexpected(row.error());
  }
  const std::string mode = *row ? journal->columnText(0) : std::string();
  if (mode != "wal") {
    return unexpected(internalError(fmt::format(
        "SQLite: database {} did not switch to WAL journal mode (mode is '{}')", path, mode)));
  }

  // Both settings are per connection; Durability explains the two synchronous modes.
  auto settings = connection->execute(
      durability == Durability::Synced ? "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
                                       : "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
      "settings");
  if (!settings) {
    return unexpected(settings.error());
  }
  // A negative cache_size counts KiB, not pages. PRAGMA takes no bound parameters; the value
  // is an integer.
  const auto cache = fmt::format("PRAGMA cache_size = -{}", cache_kib);
  auto cached = connection->execute(cache.c_str(), "cache_size");
  if (!cached) {
    return unexpected(cached.error());
  }
  return connection;
}

Connection::~Connection() {
  for (auto& [sql, statement] : statements_) {
    sqlite3_finalize(statement);
  }
  sqlite3_close_v2(db_);
}

StoreResult<Statement> Connection::prepare(std::string_view sql) {
  auto found = statements_.find(std::string(sql));
  if (found == statements_.end()) {
    sqlite3_stmt* statement = nullptr;
    const int code = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                        SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
    if (code != SQLITE_OK) {
      return unexpected(errorFromCode(code, fmt::format("preparing `{}`", sql), db_));
    }
    found = statements_.emplace(std::string(sql), statement).first;
  }
  return Statement(db_, found->second, found->first);
}

StoreResult<void> Connection::execute(const char* sql, std::string_view context) {
  const int code = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (code != SQLITE_OK) {
    return unexpected(errorFromCode(code, context, db_));
  }
  return {};
}

int Connection::changes() const { return sqlite3_changes(db_); }

// --- Transaction -------------------------------------------------------------------------

namespace {

// Runs BEGIN, COMMIT or ROLLBACK from the connection's statement cache, so that a transaction
// does not parse its control statements again each time.
StoreResult<void> runControl(Connection& connection, std::string_view sql) {
  auto statement = connection.prepare(sql);
  if (!statement) {
    return unexpected(statement.error());
  }
  return statement->run();
}

}  // namespace

StoreResult<Transaction> Transaction::beginDeferred(Connection& connection) {
  auto begun = runControl(connection, "BEGIN");
  if (!begun) {
    return unexpected(begun.error());
  }
  return Transaction(&connection);
}

StoreResult<Transaction> Transaction::beginImmediate(Connection& connection) {
  auto begun = runControl(connection, "BEGIN IMMEDIATE");
  if (!begun) {
    return unexpected(begun.error());
  }
  return Transaction(&connection);
}

Transaction::~Transaction() {
  // SQLite rolls back by itself after some errors, so roll back only if a transaction is open.
  // sqlite3_exec, unlike the statement cache, allocates nothing in C++, so the destructor
  // cannot throw. Rollbacks are the rare case (an error, or a poll of a code that is not
  // pending), so parsing ROLLBACK each time costs little.
  if (connection_ != nullptr && sqlite3_get_autocommit(connection_->handle()) == 0) {
    (void)sqlite3_exec(connection_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Transaction::Transaction(Transaction&& other) noexcept
    : connection_(std::exchange(other.connection_, nullptr)) {}

StoreResult<void> Transaction::commit() {
  const BlockingRegion syncing(connection_->syncsCommits());
  auto committed = runControl(*connection_, "COMMIT");
  if (!committed) {
    return committed;
  }
  connection_ = nullptr;
  return {};
}

// --- ConnectionPool ----------------------------------------------------------------------

ConnectionPool::Lease::~Lease() {
  if (connection_ != nullptr) {
    pool_->release(std::move(connection_));
  }
}

ConnectionPool::ConnectionPool(std::string path, std::size_t max_connections,
                               std::chrono::milliseconds busy_timeout, Durability durability,
                               std::int64_t cache_kib, Checkpointer* checkpointer)
    : path_(std::move(path)),
      busy_timeout_(busy_timeout),
      durability_(durability),
      cache_kib_(cache_kib),
      checkpointer_(checkpointer),
      slots_(max_connections) {}

StoreResult<ConnectionPool::Lease> ConnectionPool::acquire() {
  auto checkout = slots_.take(kAcquireTimeout);
  if (!checkout.granted) {
    return unexpected(StoreError{StoreError::Kind::Unavailable,
                                 fmt::format("SQLite: no free connection to {} within {} s", path_,
                                             kAcquireTimeout.count())});
  }
  if (checkout.idle != nullptr) {
    return Lease(this, std::move(checkout.idle));
  }
  auto opened = Connection::open(path_, busy_timeout_, durability_, cache_kib_);
  if (!opened) {
    slots_.abandon();
    return unexpected(opened.error());
  }
  if (checkpointer_ != nullptr) {
    checkpointer_->attach((*opened)->handle());
  }
  return Lease(this, std::move(opened).value());
}

void ConnectionPool::release(std::unique_ptr<Connection> connection) {
  slots_.put(std::move(connection), /*reusable=*/true);
}

}  // namespace devauth::sqlite
