#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "core/blocking.h"
#include "core/scope.h"
#include "store/sqlite/sqlite_decision_feed.h"
#include "store/sqlite/sqlite_rows.h"
#include "store/sqlite/sqlite_schema.h"

namespace devauth {
namespace {

using sqlite::bytesOrNull;
using sqlite::Connection;
using sqlite::ConnectionPool;
using sqlite::kAuthorizationColumns;
using sqlite::kClientColumns;
using sqlite::millisOrNull;
using sqlite::readAuthorization;
using sqlite::readClient;
using sqlite::readSession;
using sqlite::readSigningKey;
using sqlite::readToken;
using sqlite::readUser;
using sqlite::Statement;
using sqlite::Transaction;

// A lifetime in whole seconds, or NULL for "use the server's setting".
std::optional<long long> secondsOrNull(const std::optional<seconds>& value) {
  if (!value) {
    return std::nullopt;
  }
  return static_cast<long long>(value->count());
}

// --- Statement runners -------------------------------------------------------------------

// Runs a statement that returns no rows and returns the number of rows it changed.
template <typename... Args>
StoreResult<int> runChange(Connection& connection, std::string_view sql, const Args&... args) {
  auto statement = connection.prepare(sql);
  if (!statement) {
    return unexpected(statement.error());
  }
  statement->bindAll(args...);
  // Outside a transaction the statement commits by itself, and a synced commit waits for the
  // disk.
  const BlockingRegion syncing(connection.syncsCommits() &&
                               sqlite3_get_autocommit(connection.handle()) != 0);
  auto done = statement->run();
  if (!done) {
    return unexpected(done.error());
  }
  return connection.changes();
}

template <typename... Args>
StoreResult<int> change(ConnectionPool& pool, std::string_view sql, const Args&... args) {
  auto lease = pool.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  return runChange(**lease, sql, args...);
}

// Runs a query that matches at most one row and converts it with `read`.
template <typename T, typename Reader, typename... Args>
StoreResult<std::optional<T>> findOne(ConnectionPool& pool, std::string_view sql, Reader read,
                                      const Args&... args) {
  auto lease = pool.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  auto statement = (*lease)->prepare(sql);
  if (!statement) {
    return unexpected(statement.error());
  }
  statement->bindAll(args...);
  auto row = statement->step();
  if (!row) {
    return unexpected(row.error());
  }
  if (!*row) {
    return std::optional<T>();
  }
  StoreResult<T> value = read(*statement);
  if (!value) {
    return unexpected(value.error());
  }
  return std::optional<T>(std::move(value).value());
}

// Runs a query and converts every row with `read`.
template <typename T, typename Reader, typename... Args>
StoreResult<std::vector<T>> findAll(Connection& connection, std::string_view sql, Reader read,
                                    const Args&... args) {
  auto statement = connection.prepare(sql);
  if (!statement) {
    return unexpected(statement.error());
  }
  statement->bindAll(args...);
  std::vector<T> rows;
  while (true) {
    auto row = statement->step();
    if (!row) {
      return unexpected(row.error());
    }
    if (!*row) {
      return rows;
    }
    StoreResult<T> value = read(*statement);
    if (!value) {
      return unexpected(value.error());
    }
    rows.push_back(std::move(value).value());
  }
}

StoreResult<bool> changedOne(const StoreResult<int>& changed) {
  if (!changed) {
    return unexpected(changed.error());
  }
  return *changed == 1;
}

StoreResult<void> changedAny(const StoreResult<int>& changed) {
  if (!changed) {
    return unexpected(changed.error());
  }
  return {};
}

// --- Rate-limit counters -----------------------------------------------------------------

// The start of the fixed window of length `window` that contains `now` (Store contract).
long long windowStart(milliseconds window, TimePoint now) {
  const long long length = std::max<long long>(window.count(), 1);
  const long long millis = toUnixMillis(now);
  return millis - ((millis % length) + length) % length;
}

StoreResult<long long> readCount(const Statement& row) { return row.columnInt(0); }

// Adds one to `key` on `connection`, as Store::incrementCounter describes, and returns the new
// count. The caller holds the write mutex.
StoreResult<std::int64_t> addToCounter(Connection& connection, const std::string& key,
                                       milliseconds window, TimePoint now) {
  // One statement, so concurrent increments from any process serialise on the write lock. An
  // increment dated before the stored window counts in the stored window, so the window never
  // moves backwards when instances' clocks differ slightly.
  const long long start = windowStart(window, now);
  auto counts = findAll<long long>(
      connection,
      "INSERT INTO rate_counters (key, window_start, window_end, count) VALUES (?, ?, ?, 1) "
      "ON CONFLICT (key) DO UPDATE SET "
      "count = CASE WHEN excluded.window_start > window_start THEN 1 ELSE count + 1 END, "
      "window_end = max(window_end, excluded.window_end), "
      "window_start = max(window_start, excluded.window_start) "
      "RETURNING count",
      readCount, key, start, start + window.count());
  if (!counts) {
    return unexpected(counts.error());
  }
  if (counts->size() != 1) {
    return unexpected(
        StoreError{StoreError::Kind::Internal, "SQLite: the counter upsert returned no row"});
  }
  return static_cast<std::int64_t>(counts->front());
}

StoreResult<int> insertToken(Connection& connection, const IssuedToken& token) {
  return runChange(connection,
                   "INSERT INTO tokens (token_hash, authorization_id, client_id, "
                   "subject, scope, issued_at, expires_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                   token.token_hash, token.authorization_id, token.client_id, token.subject,
                   token.scope, toUnixMillis(token.issued_at), toUnixMillis(token.expires_at));
}

StoreResult<int> insertGrant(Connection& connection, const Grant& grant) {
  static const std::string sql =
      fmt::format("INSERT INTO grants ({}) VALUES (?, ?, ?, ?, ?, ?, ?)", sqlite::kGrantColumns);
  return runChange(connection, sql, grant.id, grant.client_id, grant.subject, grant.scope,
                   toUnixMillis(grant.created_at), toUnixMillis(grant.expires_at),
                   millisOrNull(grant.revoked_at));
}

StoreResult<int> insertRefreshToken(Connection& connection, const RefreshToken& token) {
  return runChange(connection,
                   "INSERT INTO refresh_tokens (token_hash, grant_id, issued_at, expires_at, "
                   "used_at) VALUES (?, ?, ?, ?, ?)",
                   token.token_hash, token.grant_id, toUnixMillis(token.issued_at),
                   toUnixMillis(token.expires_at), millisOrNull(token.used_at));
}

}  // namespace

StoreResult<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path,
                                                            const SqliteStoreOptions& options) {
  // The file contains password hashes, so a new one is readable by its owner only. SQLite gives
  // the -wal and -shm files the permissions of the database file.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
  }

  std::unique_ptr<SqliteStore> store(new SqliteStore(path, options));
  // Open the first connection now, so that a bad path or a file that is not a database fails
  // here and not at the first request.
  auto lease = store->pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  return store;
}

StoreResult<void> SqliteStore::migrate() {
  auto lease = pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  return sqlite::migrateSchema(**lease);
}

StoreResult<void> SqliteStore::ping() {
  auto found = findOne<long long>(
      pool_, "SELECT 1",
      [](const Statement& row) -> StoreResult<long long> { return row.columnInt(0); });
  if (!found) {
    return unexpected(found.error());
  }
  return {};
}

// --- Clients -----------------------------------------------------------------------------

StoreResult<void> SqliteStore::insertClient(const Client& client) {
  const auto writing = lockWrites();
  static const std::string sql = fmt::format(
      "INSERT INTO clients ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      kClientColumns);
  return changedAny(change(
      pool_, sql, client.id, client.name, toString(client.type), client.secret_hash,
      joinScope(client.allowed_scopes), joinScope(client.default_scopes),
      static_cast<long long>(client.device_grant), static_cast<long long>(client.may_approve),
      static_cast<long long>(client.access_token_ttl.count()), toUnixMillis(client.created_at),
      toString(client.access_token_format), static_cast<long long>(client.refresh_grant),
      static_cast<long long>(client.may_introspect),
      toString(client.code_settings.user_code_profile),
      secondsOrNull(client.code_settings.device_code_ttl),
      secondsOrNull(client.code_settings.poll_interval),
      static_cast<long long>(client.accepts_relayed_tokens)));
}

StoreResult<std::optional<Client>> SqliteStore::findClient(const std::string& client_id) {
  static const std::string sql = fmt::format("SELECT {} FROM clients WHERE id = ?", kClientColumns);
  if (auto cached = clients_.find(client_id)) {
    return cached;
  }
  const std::uint64_t generation = clients_.generation();
  auto found = findOne<Client>(pool_, sql, readClient, client_id);
  if (found && found->has_value()) {
    clients_.remember(**found, generation);
  }
  return found;
}

std::optional<Client> SqliteStore::findCachedClient(const std::string& client_id) {
  return clients_.find(client_id);
}

StoreResult<std::vector<Client>> SqliteStore::listClients() {
  static const std::string sql = fmt::format("SELECT {} FROM clients ORDER BY id", kClientColumns);
  auto lease = pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  auto statement = (*lease)->prepare(sql);
  if (!statement) {
    return unexpected(statement.error());
  }
  std::vector<Client> clients;
  while (true) {
    auto row = statement->step();
    if (!row) {
      return unexpected(row.error());
    }
    if (!*row) {
      return clients;
    }
    auto client = readClient(*statement);
    if (!client) {
      return unexpected(client.error());
    }
    clients.push_back(std::move(client).value());
  }
}

StoreResult<bool> SqliteStore::removeClient(const std::string& client_id) {
  const auto writing = lockWrites();
  auto removed = changedOne(change(pool_, "DELETE FROM clients WHERE id = ?", client_id));
  clients_.forget(client_id);
  return removed;
}

// --- Users -------------------------------------------------------------------------------

StoreResult<void> SqliteStore::insertUser(const User& user) {
  const auto writing = lockWrites();
  return changedAny(change(
      pool_, "INSERT INTO users (username, subject, password_hash, created_at) VALUES (?, ?, ?, ?)",
      user.username, user.subject, user.password_hash, toUnixMillis(user.created_at)));
}

StoreResult<std::optional<User>> SqliteStore::findUser(const std::string& username) {
  return findOne<User>(
      pool_, "SELECT username, subject, password_hash, created_at FROM users WHERE username = ?",
      readUser, username);
}

// The UNIQUE constraint on subject provides the index this lookup uses.
StoreResult<std::optional<User>> SqliteStore::findUserBySubject(const std::string& subject) {
  return findOne<User>(
      pool_, "SELECT username, subject, password_hash, created_at FROM users WHERE subject = ?",
      readUser, subject);
}

// The user's browser sessions go in the same transaction, so a removed user cannot approve
// from a page that was already open.
StoreResult<bool> SqliteStore::removeUser(const std::string& username) {
  const auto writing = lockWrites();
  auto lease = pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  Connection& connection = **lease;
  auto transaction = Transaction::beginImmediate(connection);
  if (!transaction) {
    return unexpected(transaction.error());
  }

  auto sessions = runChange(connection,
                            "DELETE FROM browser_sessions WHERE subject = "
                            "(SELECT subject FROM users WHERE username = ?)",
                            username);
  if (!sessions) {
    return unexpected(sessions.error());
  }
  auto removed = runChange(connection, "DELETE FROM users WHERE username = ?", username);
  if (!removed) {
    return unexpected(removed.error());
  }

  auto committed = transaction->commit();
  if (!committed) {
    return unexpected(committed.error());
  }
  return *removed == 1;
}

StoreResult<std::size_t> SqliteStore::countUsers() {
  auto count = findOne<long long>(
      pool_, "SELECT count(*) FROM users",
      [](const Statement& row) -> StoreResult<long long> { return row.columnInt(0); });
  if (!count) {
    return unexpected(count.error());
  }
  return static_cast<std::size_t>(count->value_or(0));
}

std::unique_lock<std::mutex> SqliteStore::lockWrites() {
  std::unique_lock writing(write_mutex_, std::try_to_lock);
  if (!writing.owns_lock()) {
    const BlockingRegion waiting;
    writing.lock();
  }
  return writing;
}

// --- Device authorizations ---------------------------------------------------------------

StoreResult<void> SqliteStore::insertAuthorization(const Authorization& authorization) {
  // Guarded by insert_queue_mutex_, and set by whichever thread inserts the row.
  std::optional<StoreResult<void>> result;
  std::unique_lock queue(insert_queue_mutex_);
  const std::uint64_t ticket = queueInsert(
      authorization, InsertLimits{}, [this, &result](const StoreResult<CountedInsert>& inserted) {
        const std::lock_guard lock(insert_queue_mutex_);
        result = inserted ? StoreResult<void>() : unexpected(inserted.error());
        insert_done_.notify_all();
      });
  while (!result) {
    if (!insert_leader_active_) {
      leadInserts(queue, ticket);
      continue;
    }
    // The leader inserts this row with one of its batches.
    const BlockingRegion waiting;
    insert_done_.wait(queue, [&] { return result.has_value() || !insert_leader_active_; });
  }
  return std::move(*result);
}

void SqliteStore::insertCountedThen(const Authorization& authorization, const InsertLimits& limits,
                                    CountedInsertDone done) {
  const std::lock_guard queue(insert_queue_mutex_);
  queueInsert(authorization, limits, std::move(done));
  if (!insert_writer_.joinable()) {
    insert_writer_ = std::thread([this] { runInsertWriter(); });
  }
  if (!insert_leader_active_) {
    insert_work_.notify_one();
  }
}

void SqliteStore::runInsertWriter() {
  std::unique_lock queue(insert_queue_mutex_);
  while (true) {
    insert_work_.wait(queue, [this] {
      return stopping_writer_ || (!insert_queue_.empty() && !insert_leader_active_);
    });
    if (insert_queue_.empty() || insert_leader_active_) {
      return;
    }
    try {
      leadInserts(queue, kNoTicket);
    } catch (...) {
      // leadInserts gave the rows of its batch an error. The thread stays for the next rows.
      if (!queue.owns_lock()) {
        queue.lock();
      }
    }
  }
}

void SqliteStore::finishBackgroundInserts() {
  const std::lock_guard finishing(finish_inserts_mutex_);
  {
    const std::lock_guard queue(insert_queue_mutex_);
    stopping_writer_ = true;
  }
  insert_work_.notify_one();
  if (insert_writer_.joinable()) {
    insert_writer_.join();
  }
  // A later insertCountedThen starts the thread again, and so do rows queued meanwhile.
  const std::lock_guard queue(insert_queue_mutex_);
  stopping_writer_ = false;
  if (!insert_queue_.empty()) {
    insert_writer_ = std::thread([this] { runInsertWriter(); });
  }
}

SqliteStore::~SqliteStore() { finishBackgroundInserts(); }

std::uint64_t SqliteStore::queueInsert(Authorization authorization, InsertLimits limits,
                                       CountedInsertDone done) {
  const std::uint64_t ticket = next_insert_ticket_++;
  insert_queue_.push_back(
      QueuedInsert{ticket, std::move(authorization), std::move(limits), std::move(done)});
  return ticket;
}

void SqliteStore::leadInserts(std::unique_lock<std::mutex>& queue, std::uint64_t own_ticket) {
  insert_leader_active_ = true;
  std::vector<QueuedInsert> batch;
  // The rows of `batch` whose callback has been called. It is 0 whenever a batch is taken.
  std::size_t completed = 0;
  try {
    while (!insert_queue_.empty()) {
      queue.unlock();
      std::vector<StoreResult<CountedInsert>> results;
      {
        const auto writing = lockWrites();
        if (before_insert_batch_) {
          before_insert_batch_();
        }
        queue.lock();
        const auto end = insert_queue_.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                     insert_queue_.size(), kMaxInsertBatch));
        batch.assign(std::make_move_iterator(insert_queue_.begin()), std::make_move_iterator(end));
        insert_queue_.erase(insert_queue_.begin(), end);
        queue.unlock();
        results = insertBatch(batch);
      }
      // The callbacks run without the store's locks, so they may insert again.
      while (completed < batch.size()) {
        const std::size_t row = completed++;
        batch[row].done(std::move(results[row]));
      }
      batch.clear();
      completed = 0;
      queue.lock();
    }
  } catch (...) {
    // An exception (out of memory) must not leave rows without a result or the store without
    // a leader. This call's own row gets an error too, also while still queued, because a
    // synchronous caller's callback refers to its stack.
    if (!queue.owns_lock()) {
      queue.lock();
    }
    const auto own =
        std::find_if(insert_queue_.begin(), insert_queue_.end(),
                     [own_ticket](const QueuedInsert& row) { return row.ticket == own_ticket; });
    if (own != insert_queue_.end()) {
      batch.push_back(std::move(*own));
      insert_queue_.erase(own);
    }
    insert_leader_active_ = false;
    queue.unlock();
    insert_done_.notify_all();
    insert_work_.notify_one();
    for (; completed < batch.size(); ++completed) {
      try {
        batch[completed].done(unexpected(StoreError{
            StoreError::Kind::Internal,
            "SQLite: inserting an authorization failed: the batch leader raised an exception"}));
      } catch (...) {
        // The exception being handled is the one this call rethrows.
      }
    }
    throw;
  }
  insert_leader_active_ = false;
  // Wakes the synchronous callers, whose rows are all inserted now.
  insert_done_.notify_all();
}

namespace {

// Inserts `a` on `connection`.
StoreResult<void> insertRow(Connection& connection, const Authorization& a) {
  static const std::string sql = fmt::format(
      "INSERT INTO authorizations ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      kAuthorizationColumns);
  return changedAny(
      runChange(connection, sql, a.id, a.device_code_hash, a.user_code_hash, a.client_id, a.scope,
                toString(a.state), toUnixMillis(a.created_at), toUnixMillis(a.expires_at),
                static_cast<long long>(a.interval.count()), millisOrNull(a.last_poll_at), a.subject,
                millisOrNull(a.decided_at), a.relay_public_key, bytesOrNull(a.sealed_relay_token),
                a.bound_subject, a.request_address, a.request_user_agent));
}

// Runs countThenInsert for `authorization` on `connection`, inside the caller's transaction.
StoreResult<CountedInsert> countAndInsertRow(Connection& connection,
                                             const Authorization& authorization,
                                             const InsertLimits& limits) {
  return countThenInsert(
      limits,
      [&connection, &limits](const RequestCounter& counter) {
        return addToCounter(connection, counter.key, counter.window, limits.now);
      },
      [&connection, &authorization] { return insertRow(connection, authorization); });
}

}  // namespace

std::vector<StoreResult<CountedInsert>> SqliteStore::insertBatch(
    const std::vector<QueuedInsert>& batch) {
  std::vector<StoreResult<CountedInsert>> results(batch.size(), CountedInsert{});
  const auto fail_all = [&results](const StoreError& error) {
    for (StoreResult<CountedInsert>& result : results) {
      result = unexpected(error);
    }
    return std::move(results);
  };

  // Unsynced: a lost insert only makes the device start over, and a lost count lets a few more
  // requests through (SqliteStore durability).
  auto lease = unsynced_pool_.acquire();
  if (!lease) {
    return fail_all(lease.error());
  }
  Connection& connection = **lease;
  if (batch.size() == 1 && batch.front().limits.counters.empty()) {
    // A lone row without counters commits by itself.
    results.front() = countAndInsertRow(connection, batch.front().authorization, InsertLimits{});
    return results;
  }

  auto transaction = Transaction::beginImmediate(connection);
  if (!transaction) {
    return fail_all(transaction.error());
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    results[i] = countAndInsertRow(connection, batch[i].authorization, batch[i].limits);
    if (results[i]) {
      continue;
    }
    // A constraint error (a code collision, an unknown client) undoes only its own statement
    // (SQLite's default ABORT resolution), so the row fails alone and the transaction goes
    // on. Any other error may have ended the transaction, so it fails the whole batch.
    const int code = sqlite3_extended_errcode(connection.handle());
    const bool transaction_open = sqlite3_get_autocommit(connection.handle()) == 0;
    if ((code & 0xff) != SQLITE_CONSTRAINT || !transaction_open) {
      const StoreError error = results[i].error();
      return fail_all(error);
    }
  }
  auto committed = transaction->commit();
  if (!committed) {
    return fail_all(committed.error());
  }
  return results;
}

std::size_t SqliteStore::queuedAuthorizationInserts() {
  const std::lock_guard queue(insert_queue_mutex_);
  return insert_queue_.size();
}

StoreResult<std::optional<Authorization>> SqliteStore::findByDeviceCode(const SecretHash& hash) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM authorizations WHERE device_code_hash = ?", kAuthorizationColumns);
  return findOne<Authorization>(pool_, sql, readAuthorization, hash);
}

StoreResult<std::optional<Authorization>> SqliteStore::findByUserCode(const SecretHash& hash) {
  // The UNIQUE constraint on user_code_hash provides the index this lookup uses.
  static const std::string sql =
      fmt::format("SELECT {} FROM authorizations WHERE user_code_hash = ?", kAuthorizationColumns);
  return findOne<Authorization>(pool_, sql, readAuthorization, hash);
}

StoreResult<bool> SqliteStore::updatePollState(const std::string& id, const PollState& expected,
                                               const PollState& updated) {
  const auto writing = lockWrites();
  // Unsynced: polling state only throttles polls (SqliteStore durability).
  return changedOne(change(
      unsynced_pool_,
      "UPDATE authorizations SET last_poll_at = ?, interval_seconds = ? "
      "WHERE id = ? AND state = 'pending' AND last_poll_at IS ? "
      "AND interval_seconds = ?",
      millisOrNull(updated.last_poll_at), static_cast<long long>(updated.interval.count()), id,
      millisOrNull(expected.last_poll_at), static_cast<long long>(expected.interval.count())));
}

StoreResult<std::optional<PendingPoll>> SqliteStore::pollPending(const SecretHash& device_code_hash,
                                                                 const std::string& client_id,
                                                                 TimePoint now,
                                                                 const PollPolicy& policy) {
  // The read and the write are one transaction on one connection, so no other writer, in this
  // process or another, changes the polling state between them. The write mutex is taken
  // first so that this process's writers queue here, not in the busy handler.
  const auto writing = lockWrites();
  // Unsynced: polling state only throttles polls (SqliteStore durability).
  auto lease = unsynced_pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  // A slow_down at the largest interval writes nothing, so the first attempt reads in a plain
  // BEGIN transaction, which skips the WAL write lock and its two fcntl calls. This process's
  // writers hold the write mutex, so the attempt's write fails only when another process has
  // written since the read. The poll then starts over with the write lock taken first, and
  // reads again what that process left.
  auto polled =
      pollInTransaction(**lease, /*immediate=*/false, device_code_hash, client_id, now, policy);
  if (polled || polled.error().kind != StoreError::Kind::Unavailable) {
    return polled;
  }
  return pollInTransaction(**lease, /*immediate=*/true, device_code_hash, client_id, now, policy);
}

StoreResult<std::optional<PendingPoll>> SqliteStore::pollInTransaction(
    Connection& connection, bool immediate, const SecretHash& device_code_hash,
    const std::string& client_id, TimePoint now, const PollPolicy& policy) {
  auto transaction =
      immediate ? Transaction::beginImmediate(connection) : Transaction::beginDeferred(connection);
  if (!transaction) {
    return unexpected(transaction.error());
  }

  long long rowid = 0;
  Authorization polled;
  {
    auto statement = connection.prepare(
        "SELECT rowid, id, expires_at, interval_seconds, last_poll_at FROM authorizations "
        "WHERE device_code_hash = ? AND client_id = ? AND state = 'pending' AND expires_at > ?");
    if (!statement) {
      return unexpected(statement.error());
    }
    statement->bindAll(device_code_hash, client_id, toUnixMillis(now));
    auto row = statement->step();
    if (!row) {
      return unexpected(row.error());
    }
    if (!*row) {
      // Nothing was written; the transaction rolls back when it goes out of scope.
      return std::optional<PendingPoll>();
    }
    rowid = statement->columnInt(0);
    polled.id = statement->columnText(1);
    polled.expires_at = fromUnixMillis(statement->columnInt(2));
    polled.interval = seconds(statement->columnInt(3));
    if (!statement->isNull(4)) {
      polled.last_poll_at = fromUnixMillis(statement->columnInt(4));
    }
  }

  // core decidePoll is the only place of the rule. The query above selected only pending,
  // unexpired authorizations, for which it returns Pending or SlowDown.
  const PollDecision decision = decidePoll(polled, now, policy);
  if (decision.outcome != PollOutcome::Pending && decision.outcome != PollOutcome::SlowDown) {
    return unexpected(StoreError{StoreError::Kind::Internal,
                                 "SQLite: decidePoll did not treat a pending poll as pending"});
  }
  // A slow_down at the largest interval changes nothing, so it writes nothing.
  if (decision.new_last_poll_at != polled.last_poll_at ||
      decision.new_interval != polled.interval) {
    if (before_poll_write_) {
      before_poll_write_(immediate);
    }
    auto updated = runChange(
        connection,
        "UPDATE authorizations SET last_poll_at = ?, interval_seconds = ? WHERE rowid = ?",
        millisOrNull(decision.new_last_poll_at),
        static_cast<long long>(decision.new_interval.count()), rowid);
    if (!updated) {
      return unexpected(updated.error());
    }
  }
  auto committed = transaction->commit();
  if (!committed) {
    return unexpected(committed.error());
  }
  return std::optional<PendingPoll>(
      PendingPoll{std::move(polled.id), decision.outcome, polled.expires_at,
                  PollState{decision.new_last_poll_at, decision.new_interval}});
}

StoreResult<bool> SqliteStore::bindSubject(const std::string& id, const std::string& subject,
                                           TimePoint now) {
  const auto writing = lockWrites();
  // SQLite counts a matched row as changed even when the value stays the same, so binding
  // again to the same subject returns true.
  return changedOne(change(pool_,
                           "UPDATE authorizations SET bound_subject = ? "
                           "WHERE id = ? AND state = 'pending' AND expires_at > ? "
                           "AND (bound_subject IS NULL OR bound_subject = ?)",
                           subject, id, toUnixMillis(now), subject));
}

StoreResult<bool> SqliteStore::approve(const std::string& id, const std::string& subject,
                                       const std::optional<std::string>& sealed_relay_token,
                                       TimePoint now) {
  auto writing = lockWrites();
  auto approved = changedOne(change(pool_,
                                    "UPDATE authorizations SET state = 'approved', subject = ?, "
                                    "decided_at = ?, sealed_relay_token = ? "
                                    "WHERE id = ? AND state = 'pending' AND expires_at > ? "
                                    "AND (bound_subject IS NULL OR bound_subject = ?)",
                                    subject, toUnixMillis(now), bytesOrNull(sealed_relay_token), id,
                                    toUnixMillis(now), subject));
  writing.unlock();
  if (approved && *approved) {
    decisions_.publish(id);
  }
  return approved;
}

StoreResult<bool> SqliteStore::deny(const std::string& id, const std::string& subject,
                                    TimePoint now) {
  auto writing = lockWrites();
  auto denied = changedOne(change(pool_,
                                  "UPDATE authorizations SET state = 'denied', subject = ?, "
                                  "decided_at = ? WHERE id = ? AND state = 'pending' AND "
                                  "expires_at > ? AND (bound_subject IS NULL OR bound_subject = ?)",
                                  subject, toUnixMillis(now), id, toUnixMillis(now), subject));
  writing.unlock();
  if (denied && *denied) {
    decisions_.publish(id);
  }
  return denied;
}

StoreResult<std::unique_ptr<DecisionFeed>> SqliteStore::watchDecisions(
    DecisionCallback callback, std::function<bool()> watching) {
  auto feed =
      sqlite::SqliteDecisionFeed::open(path_, decisions_, std::move(callback), std::move(watching));
  if (!feed) {
    return unexpected(feed.error());
  }
  return std::unique_ptr<DecisionFeed>(std::move(feed).value());
}

StoreResult<bool> SqliteStore::cancelAuthorization(const std::string& id,
                                                   const std::string& subject, TimePoint now) {
  auto writing = lockWrites();
  auto cancelled =
      changedOne(change(pool_,
                        "UPDATE authorizations SET state = 'denied', subject = ?, "
                        "decided_at = ? WHERE id = ? AND state = 'pending' AND expires_at > ?",
                        subject, toUnixMillis(now), id, toUnixMillis(now)));
  writing.unlock();
  if (cancelled && *cancelled) {
    decisions_.publish(id);
  }
  return cancelled;
}

StoreResult<bool> SqliteStore::redeem(const std::string& id,
                                      const std::optional<IssuedToken>& token, TimePoint now) {
  return redeemStoring(id, token ? &*token : nullptr, nullptr, nullptr, now);
}

StoreResult<bool> SqliteStore::redeemWithRefreshToken(const std::string& id,
                                                      const IssuedToken& token, const Grant& grant,
                                                      const RefreshToken& refresh_token,
                                                      TimePoint now) {
  return redeemStoring(id, &token, &grant, &refresh_token, now);
}

StoreResult<bool> SqliteStore::redeemStoring(const std::string& id, const IssuedToken* token,
                                             const Grant* grant, const RefreshToken* refresh_token,
                                             TimePoint now) {
  const auto writing = lockWrites();
  auto lease = pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  Connection& connection = **lease;
  auto transaction = Transaction::beginImmediate(connection);
  if (!transaction) {
    return unexpected(transaction.error());
  }

  auto redeemed = runChange(connection,
                            "UPDATE authorizations SET state = 'redeemed', "
                            "sealed_relay_token = NULL "
                            "WHERE id = ? AND state = 'approved' AND expires_at > ?",
                            id, toUnixMillis(now));
  if (!redeemed) {
    return unexpected(redeemed.error());
  }
  if (*redeemed != 1) {
    return false;
  }

  if (token) {
    auto inserted = insertToken(connection, *token);
    if (!inserted) {
      return unexpected(inserted.error());
    }
  }
  if (grant && refresh_token) {
    auto inserted = insertGrant(connection, *grant);
    if (inserted) {
      inserted = insertRefreshToken(connection, *refresh_token);
    }
    if (!inserted) {
      return unexpected(inserted.error());
    }
  }
  auto committed = transaction->commit();
  if (!committed) {
    return unexpected(committed.error());
  }
  return true;
}

StoreResult<std::size_t> SqliteStore::countLiveAuthorizations(const std::string& client_id,
                                                              TimePoint now) {
  auto count = findOne<long long>(
      pool_,
      "SELECT count(*) FROM authorizations WHERE client_id = ? AND state = 'pending' AND "
      "expires_at > ?",
      [](const Statement& row) -> StoreResult<long long> { return row.columnInt(0); }, client_id,
      toUnixMillis(now));
  if (!count) {
    return unexpected(count.error());
  }
  return static_cast<std::size_t>(count->value_or(0));
}

StoreResult<std::size_t> SqliteStore::purgeExpired(TimePoint cutoff, TimePoint now) {
  const auto writing = lockWrites();
  auto lease = pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  Connection& connection = **lease;
  auto transaction = Transaction::beginImmediate(connection);
  if (!transaction) {
    return unexpected(transaction.error());
  }

  // Every authorization belongs to a client (a foreign key), so the IN matches every row. It
  // lets SQLite search the (client_id, expires_at) index once per client instead of scanning.
  auto authorizations = runChange(connection,
                                  "DELETE FROM authorizations WHERE client_id IN "
                                  "(SELECT id FROM clients) AND expires_at < ?",
                                  toUnixMillis(cutoff));
  if (!authorizations) {
    return unexpected(authorizations.error());
  }
  auto sessions =
      runChange(connection, "DELETE FROM browser_sessions WHERE expires_at < ?", toUnixMillis(now));
  if (!sessions) {
    return unexpected(sessions.error());
  }
  auto tokens = runChange(connection, "DELETE FROM tokens WHERE expires_at < ?", toUnixMillis(now));
  if (!tokens) {
    return unexpected(tokens.error());
  }
  // Refresh tokens go with their grant (ON DELETE CASCADE).
  auto grants = runChange(connection, "DELETE FROM grants WHERE expires_at < ?", toUnixMillis(now));
  if (!grants) {
    return unexpected(grants.error());
  }
  auto counters =
      runChange(connection, "DELETE FROM rate_counters WHERE window_end <= ?", toUnixMillis(now));
  if (!counters) {
    return unexpected(counters.error());
  }

  auto committed = transaction->commit();
  if (!committed) {
    return unexpected(committed.error());
  }
  return static_cast<std::size_t>(*authorizations);
}

// --- Administration ----------------------------------------------------------------------

StoreResult<std::vector<Authorization>> SqliteStore::listLiveAuthorizations(
    const std::optional<std::string>& client_id, TimePoint now) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM authorizations WHERE client_id IN "
      "(SELECT id FROM clients WHERE ? IS NULL OR id = ?) AND state = 'pending' "
      "AND expires_at > ? ORDER BY created_at, id",
      kAuthorizationColumns);
  auto lease = pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  return findAll<Authorization>(**lease, sql, readAuthorization, client_id, client_id,
                                toUnixMillis(now));
}

StoreResult<std::size_t> SqliteStore::countAllLiveAuthorizations(TimePoint now) {
  auto count = findOne<long long>(
      pool_,
      "SELECT count(*) FROM authorizations WHERE client_id IN (SELECT id FROM clients) "
      "AND state = 'pending' AND expires_at > ?",
      [](const Statement& row) -> StoreResult<long long> { return row.columnInt(0); },
      toUnixMillis(now));
  if (!count) {
    return unexpected(count.error());
  }
  return static_cast<std::size_t>(count->value_or(0));
}

StoreResult<std::vector<UserGrant>> SqliteStore::listUserGrants(const std::string& subject) {
  static const std::string authorizations_sql = fmt::format(
      "SELECT {} FROM authorizations WHERE subject = ? AND state IN ('approved', 'redeemed') "
      "ORDER BY decided_at DESC, id",
      kAuthorizationColumns);
  auto lease = pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  auto authorizations =
      findAll<Authorization>(**lease, authorizations_sql, readAuthorization, subject);
  if (!authorizations) {
    return unexpected(authorizations.error());
  }
  std::vector<UserGrant> grants;
  for (auto& authorization : *authorizations) {
    auto tokens = findAll<IssuedToken>(**lease,
                                       "SELECT token_hash, authorization_id, client_id, subject, "
                                       "scope, issued_at, expires_at FROM tokens "
                                       "WHERE authorization_id = ? ORDER BY issued_at",
                                       readToken, authorization.id);
    if (!tokens) {
      return unexpected(tokens.error());
    }
    grants.push_back(UserGrant{std::move(authorization), std::move(tokens).value()});
  }
  return grants;
}

StoreResult<bool> SqliteStore::revokeUserGrant(const std::string& authorization_id,
                                               const std::string& subject) {
  auto lease = pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  Connection& connection = **lease;
  auto transaction = Transaction::beginImmediate(connection);
  if (!transaction) {
    return unexpected(transaction.error());
  }

  auto found = runChange(connection,
                         "UPDATE authorizations SET state = CASE state WHEN 'approved' THEN "
                         "'denied' ELSE state END, sealed_relay_token = NULL "
                         "WHERE id = ? AND subject = ? AND state IN ('approved', 'redeemed')",
                         authorization_id, subject);
  if (!found) {
    return unexpected(found.error());
  }
  if (*found != 1) {
    return false;
  }
  auto tokens =
      runChange(connection, "DELETE FROM tokens WHERE authorization_id = ?", authorization_id);
  if (!tokens) {
    return unexpected(tokens.error());
  }

  auto committed = transaction->commit();
  if (!committed) {
    return unexpected(committed.error());
  }
  return true;
}

StoreResult<bool> SqliteStore::setClientSecret(const std::string& client_id,
                                               const SecretHash& secret_hash) {
  auto changed =
      changedOne(change(pool_, "UPDATE clients SET secret_hash = ? WHERE id = ? AND type = ?",
                        secret_hash, client_id, toString(ClientType::Confidential)));
  clients_.forget(client_id);
  return changed;
}

StoreResult<bool> SqliteStore::setClientCodeSettings(const std::string& client_id,
                                                     const ClientCodeSettings& settings) {
  auto changed = changedOne(
      change(pool_,
             "UPDATE clients SET user_code_profile = ?, device_code_ttl_seconds = ?, "
             "poll_interval_seconds = ? WHERE id = ?",
             toString(settings.user_code_profile), secondsOrNull(settings.device_code_ttl),
             secondsOrNull(settings.poll_interval), client_id));
  clients_.forget(client_id);
  return changed;
}

StoreResult<bool> SqliteStore::setClientAcceptsRelayedTokens(const std::string& client_id,
                                                             bool accepts) {
  auto changed =
      changedOne(change(pool_, "UPDATE clients SET accepts_relayed_tokens = ? WHERE id = ?",
                        static_cast<long long>(accepts), client_id));
  clients_.forget(client_id);
  return changed;
}

// --- Tokens ------------------------------------------------------------------------------

StoreResult<std::optional<IssuedToken>> SqliteStore::findToken(const SecretHash& hash) {
  return findOne<IssuedToken>(pool_,
                              "SELECT token_hash, authorization_id, client_id, subject, scope, "
                              "issued_at, expires_at FROM tokens WHERE token_hash = ?",
                              readToken, hash);
}

StoreResult<bool> SqliteStore::removeToken(const SecretHash& hash) {
  const auto writing = lockWrites();
  return changedOne(change(pool_, "DELETE FROM tokens WHERE token_hash = ?", hash));
}

// --- Grants and refresh tokens -----------------------------------------------------------

StoreResult<std::optional<Grant>> SqliteStore::findGrant(const std::string& id) {
  static const std::string sql =
      fmt::format("SELECT {} FROM grants WHERE id = ?", sqlite::kGrantColumns);
  return findOne<Grant>(pool_, sql, sqlite::readGrant, id);
}

StoreResult<std::optional<RefreshTokenRecord>> SqliteStore::findRefreshToken(
    const SecretHash& hash) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id WHERE r.token_hash = ?",
      sqlite::kRefreshTokenColumns);
  return findOne<RefreshTokenRecord>(pool_, sql, sqlite::readRefreshToken, hash);
}

StoreResult<bool> SqliteStore::rotateRefreshToken(const SecretHash& used_hash,
                                                  const RefreshToken& next,
                                                  const IssuedToken& token, TimePoint now) {
  const auto writing = lockWrites();
  auto lease = pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  Connection& connection = **lease;
  auto transaction = Transaction::beginImmediate(connection);
  if (!transaction) {
    return unexpected(transaction.error());
  }

  const long long now_millis = toUnixMillis(now);
  auto used = runChange(connection,
                        "UPDATE refresh_tokens SET used_at = ? "
                        "WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? "
                        "AND grant_id IN (SELECT id FROM grants "
                        "WHERE revoked_at IS NULL AND expires_at > ?)",
                        now_millis, used_hash, now_millis, now_millis);
  if (!used) {
    return unexpected(used.error());
  }
  if (*used != 1) {
    return false;
  }

  auto inserted = insertRefreshToken(connection, next);
  if (inserted) {
    inserted = insertToken(connection, token);
  }
  if (!inserted) {
    return unexpected(inserted.error());
  }
  auto committed = transaction->commit();
  if (!committed) {
    return unexpected(committed.error());
  }
  return true;
}

StoreResult<bool> SqliteStore::revokeGrant(const std::string& id, TimePoint now) {
  const auto writing = lockWrites();
  return changedOne(change(pool_,
                           "UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                           toUnixMillis(now), id));
}

// --- Browser sessions --------------------------------------------------------------------

StoreResult<void> SqliteStore::insertSession(const BrowserSession& session) {
  const auto writing = lockWrites();
  return changedAny(change(
      pool_,
      "INSERT INTO browser_sessions (id_hash, subject, created_at, expires_at) VALUES (?, ?, ?, ?)",
      session.id_hash, session.subject, toUnixMillis(session.created_at),
      toUnixMillis(session.expires_at)));
}

StoreResult<std::optional<BrowserSession>> SqliteStore::findSession(const SecretHash& id_hash) {
  return findOne<BrowserSession>(
      pool_,
      "SELECT id_hash, subject, created_at, expires_at FROM browser_sessions WHERE id_hash = ?",
      readSession, id_hash);
}

StoreResult<bool> SqliteStore::setSessionSubject(const SecretHash& id_hash,
                                                 const std::string& subject) {
  const auto writing = lockWrites();
  return changedOne(
      change(pool_, "UPDATE browser_sessions SET subject = ? WHERE id_hash = ?", subject, id_hash));
}

StoreResult<bool> SqliteStore::removeSession(const SecretHash& id_hash) {
  const auto writing = lockWrites();
  return changedOne(change(pool_, "DELETE FROM browser_sessions WHERE id_hash = ?", id_hash));
}

// --- Rate-limit counters -----------------------------------------------------------------

StoreResult<std::int64_t> SqliteStore::incrementCounter(const std::string& key, milliseconds window,
                                                        TimePoint now) {
  const auto writing = lockWrites();
  // Unsynced: a power loss may forget the last counted attempts (SqliteStore durability).
  auto lease = unsynced_pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  return addToCounter(**lease, key, window, now);
}

StoreResult<std::int64_t> SqliteStore::readCounter(const std::string& key, milliseconds window,
                                                   TimePoint now) {
  auto count = findOne<long long>(
      pool_, "SELECT count FROM rate_counters WHERE key = ? AND window_start = ?", readCount, key,
      windowStart(window, now));
  if (!count) {
    return unexpected(count.error());
  }
  return static_cast<std::int64_t>(count->value_or(0));
}

// --- Signing keys ------------------------------------------------------------------------

StoreResult<bool> SqliteStore::insertSigningKey(const SigningKeyRecord& key,
                                                TimePoint unless_created_after) {
  static const std::string sql = fmt::format(
      "INSERT INTO signing_keys ({}) SELECT ?, ?, ?, ?, ? "
      "WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE created_at > ?)",
      sqlite::kSigningKeyColumns);
  const auto writing = lockWrites();
  auto lease = pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  // IMMEDIATE takes the write lock before the NOT EXISTS check reads, so two processes cannot
  // both see no recent key.
  Connection& connection = **lease;
  auto transaction = Transaction::beginImmediate(connection);
  if (!transaction) {
    return unexpected(transaction.error());
  }
  const auto* sealed = reinterpret_cast<const std::uint8_t*>(key.encrypted_private_key.data());
  auto inserted = runChange(connection, sql, key.kid, key.algorithm, key.public_jwk,
                            std::span<const std::uint8_t>(sealed, key.encrypted_private_key.size()),
                            toUnixMillis(key.created_at), toUnixMillis(unless_created_after));
  if (!inserted) {
    return unexpected(inserted.error());
  }
  auto committed = transaction->commit();
  if (!committed) {
    return unexpected(committed.error());
  }
  return *inserted == 1;
}

StoreResult<std::vector<SigningKeyRecord>> SqliteStore::listSigningKeys() {
  static const std::string sql = fmt::format(
      "SELECT {} FROM signing_keys ORDER BY created_at DESC, kid DESC", sqlite::kSigningKeyColumns);
  auto lease = pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  auto statement = (*lease)->prepare(sql);
  if (!statement) {
    return unexpected(statement.error());
  }
  std::vector<SigningKeyRecord> keys;
  while (true) {
    auto row = statement->step();
    if (!row) {
      return unexpected(row.error());
    }
    if (!*row) {
      return keys;
    }
    auto key = readSigningKey(*statement);
    if (!key) {
      return unexpected(key.error());
    }
    keys.push_back(std::move(key).value());
  }
}

StoreResult<std::size_t> SqliteStore::removeRetiredSigningKeys(TimePoint cutoff) {
  const auto writing = lockWrites();
  auto removed =
      change(pool_,
             "DELETE FROM signing_keys WHERE EXISTS (SELECT 1 FROM signing_keys AS newer "
             "WHERE newer.created_at > signing_keys.created_at AND newer.created_at <= ?)",
             toUnixMillis(cutoff));
  if (!removed) {
    return unexpected(removed.error());
  }
  return static_cast<std::size_t>(*removed);
}

}  // namespace devauth
