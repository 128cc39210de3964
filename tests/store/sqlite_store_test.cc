// The storage conformance suite on SQLite, plus the SQLite-only behaviour: store locations,
// settings, schema versions and lock timeouts.

#include "store/sqlite/sqlite_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http/handler_pool.h"
#include "store/binding_store_conformance.h"
#include "store/client_code_conformance.h"
#include "store/grant_store_conformance.h"
#include "store/poll_store_conformance.h"
#include "store/sqlite/sqlite_schema.h"
#include "store/store_administration_conformance.h"
#include "store/store_conformance.h"

namespace devauth::testing {
namespace {

namespace fs = std::filesystem;

// A directory under the test temporary directory, deleted with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::path(::testing::TempDir()) / "devauth-store-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::unique_ptr<Store> openMigrated(const std::string& location) {
  auto opened = openStore(location);
  if (!opened) {
    ADD_FAILURE() << "openStore(" << location << ") failed: " << opened.error().message;
    return nullptr;
  }
  auto migrated = (*opened)->migrate();
  if (!migrated) {
    ADD_FAILURE() << "migrate failed: " << migrated.error().message;
    return nullptr;
  }
  return std::move(opened).value();
}

// Each create() makes a new database file in a directory of its own.
class SqliteStoreFactory {
 public:
  std::unique_ptr<Store> create() { return openMigrated(directory_.file("store.db")); }
  std::unique_ptr<Store> openAnother() { return openMigrated(directory_.file("store.db")); }

 private:
  TempDir directory_;
};

// A raw connection for inspecting what the store wrote.
class RawDatabase {
 public:
  explicit RawDatabase(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db_);
    }
  }
  ~RawDatabase() { sqlite3_close_v2(db_); }
  RawDatabase(const RawDatabase&) = delete;
  RawDatabase& operator=(const RawDatabase&) = delete;

  // Runs `sql` and returns one column of every row (by default the last), joined by '|'.
  std::string query(const std::string& sql, int column = -1) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot prepare " << sql << ": " << sqlite3_errmsg(db_);
      return {};
    }
    std::string rows;
    while (sqlite3_step(statement) == SQLITE_ROW) {
      const int index = column < 0 ? sqlite3_column_count(statement) - 1 : column;
      const auto* text = sqlite3_column_text(statement, index);
      if (!rows.empty()) {
        rows += '|';
      }
      rows += text == nullptr ? "" : reinterpret_cast<const char*>(text);
    }
    sqlite3_finalize(statement);
    return rows;
  }

  void execute(const std::string& sql) {
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sql << ": " << sqlite3_errmsg(db_);
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, StoreConformanceTest, SqliteStoreFactory);
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, PollStoreConformanceTest, SqliteStoreFactory);
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, GrantStoreConformanceTest, SqliteStoreFactory);
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, StoreAdministrationTest, SqliteStoreFactory);
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, BindingStoreConformanceTest, SqliteStoreFactory);
INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, ClientCodeStoreTest, SqliteStoreFactory);

namespace {

TEST(SqliteStoreLocationTest, SqlitePrefixOpensFile) {
  TempDir directory;
  const std::string path = directory.file("prefixed.db");

  auto store = openMigrated("sqlite:" + path);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(fs::exists(path));
  EXPECT_TRUE(store->ping());
}

TEST(SqliteStoreLocationTest, NewFileIsPrivateToOwner) {
  TempDir directory;
  const std::string path = directory.file("private.db");

  auto store = openMigrated(path);
  ASSERT_NE(store, nullptr);
  for (const std::string& file : {path, path + "-wal", path + "-shm"}) {
    SCOPED_TRACE(file);
    ASSERT_TRUE(fs::exists(file));
    EXPECT_EQ(fs::status(file).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
  }
}

TEST(SqliteStoreLocationTest, UnknownSchemeIsRejectedWithoutEchoingLocation) {
  auto opened = openStore("mysql://root:hunter2@127.0.0.1/devauth");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().kind, StoreError::Kind::Internal);
  EXPECT_EQ(opened.error().message,
            "unsupported store location scheme 'mysql:'; use a file path, sqlite:PATH or "
            "postgresql://...");
}

TEST(SqliteStoreLocationTest, EmptyLocationsAreRejected) {
  for (const std::string location : {"", "sqlite:"}) {
    SCOPED_TRACE(location);
    auto opened = openStore(location);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().kind, StoreError::Kind::Internal);
  }
}

TEST(SqliteStoreLocationTest, MissingDirectoryFailsAtOpen) {
  TempDir directory;

  auto opened = openStore(directory.file("no-such-directory/store.db"));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().kind, StoreError::Kind::Internal);
  EXPECT_NE(opened.error().message.find("unable to open database file"), std::string::npos)
      << opened.error().message;
}

TEST(SqliteStoreLocationTest, FileThatIsNotADatabaseFailsAtOpen) {
  TempDir directory;
  const std::string path = directory.file("notes.txt");
  std::ofstream(path) << "These are notes, not a SQLite database, and long enough to show it.\n";

  auto opened = openStore(path);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().kind, StoreError::Kind::Internal);
  EXPECT_NE(opened.error().message.find("file is not a database"), std::string::npos)
      << opened.error().message;
}

TEST(SqliteStoreSchemaTest, MigrateSetsVersionAndWalMode) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  auto store = openMigrated(path);
  ASSERT_NE(store, nullptr);

  RawDatabase raw(path);
  EXPECT_EQ(raw.query("PRAGMA user_version"), std::to_string(sqlite::latestSchemaVersion()));
  EXPECT_EQ(raw.query("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"),
            "authorizations|browser_sessions|clients|grants|rate_counters|refresh_tokens|"
            "signing_keys|tokens|users");
}

TEST(SqliteStoreSchemaTest, NewerSchemaIsRejected) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  auto store = openMigrated(path);
  ASSERT_NE(store, nullptr);
  RawDatabase(path).execute("PRAGMA user_version = 99");

  auto migrated = store->migrate();
  ASSERT_FALSE(migrated);
  EXPECT_EQ(migrated.error().kind, StoreError::Kind::Internal);
  EXPECT_NE(migrated.error().message.find("schema version 99"), std::string::npos)
      << migrated.error().message;
}

// Two server processes starting together both migrate the same new file.
TEST(SqliteStoreSchemaTest, ConcurrentMigrationsBothSucceed) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  auto first = openStore(path);
  auto second = openStore(path);
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);

  std::latch start(2);
  std::optional<StoreResult<void>> first_result;
  std::optional<StoreResult<void>> second_result;
  std::thread other([&] {
    start.arrive_and_wait();
    second_result = (*second)->migrate();
  });
  start.arrive_and_wait();
  first_result = (*first)->migrate();
  other.join();

  EXPECT_TRUE(*first_result) << first_result->error().message;
  EXPECT_TRUE(*second_result) << second_result->error().message;
  EXPECT_EQ(RawDatabase(path).query("PRAGMA user_version"),
            std::to_string(sqlite::latestSchemaVersion()));
}

// The verification page looks an authorization up by user code on every submission, so the
// lookup must use an index instead of scanning the table.
TEST(SqliteStoreSchemaTest, UserCodeLookupUsesIndex) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  auto store = openMigrated(path);
  ASSERT_NE(store, nullptr);

  const std::string plan = RawDatabase(path).query(
      "EXPLAIN QUERY PLAN SELECT id FROM authorizations WHERE user_code_hash = x'00'");
  EXPECT_NE(plan.find("USING INDEX"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("SCAN"), std::string::npos) << plan;
}

// The queries by client and expiry search the (client_id, expires_at) index, the only index
// of authorizations besides those of its UNIQUE columns, and none scans the table.
TEST(SqliteStoreSchemaTest, ExpiryQueriesUseClientExpiryIndex) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  auto store = openMigrated(path);
  ASSERT_NE(store, nullptr);

  RawDatabase database(path);
  EXPECT_EQ(database.query("SELECT name FROM sqlite_master WHERE type = 'index' AND "
                           "tbl_name = 'authorizations' AND sql IS NOT NULL ORDER BY name"),
            "authorizations_client_id_expires_at");
  // The statements of countLiveAuthorizations, purgeExpired, countAllLiveAuthorizations and
  // listLiveAuthorizations.
  for (const std::string sql :
       {"SELECT count(*) FROM authorizations WHERE client_id = 'c' AND state = 'pending' AND "
        "expires_at > 0",
        "DELETE FROM authorizations WHERE client_id IN (SELECT id FROM clients) AND "
        "expires_at < 0",
        "SELECT count(*) FROM authorizations WHERE client_id IN (SELECT id FROM clients) AND "
        "state = 'pending' AND expires_at > 0",
        "SELECT id FROM authorizations WHERE client_id IN (SELECT id FROM clients WHERE NULL IS "
        "NULL OR id = NULL) AND state = 'pending' AND expires_at > 0 ORDER BY created_at, id"}) {
    SCOPED_TRACE(sql);
    const std::string plan = database.query("EXPLAIN QUERY PLAN " + sql);
    EXPECT_NE(plan.find("SEARCH authorizations USING INDEX authorizations_client_id_expires_at"),
              std::string::npos)
        << plan;
    EXPECT_EQ(plan.find("SCAN authorizations"), std::string::npos) << plan;
  }
}

// SQLite 3.40 evaluates a CHECK with an IN list of four constants through a temporary b-tree at
// every execution. The authorization writes run for every device authorization request and
// every decision, so their checks must not build one.
TEST(SqliteStoreSchemaTest, AuthorizationWritesBuildNoTemporaryTable) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  auto store = openMigrated(path);
  ASSERT_NE(store, nullptr);

  for (const std::string sql : {"INSERT INTO authorizations (id, state) VALUES ('x', 'pending')",
                                "UPDATE authorizations SET state = 'approved' WHERE id = 'x'"}) {
    SCOPED_TRACE(sql);
    // Column 1 of EXPLAIN is the opcode.
    const std::string opcodes = RawDatabase(path).query("EXPLAIN " + sql, 1);
    EXPECT_NE(opcodes.find("Halt"), std::string::npos) << opcodes;
    EXPECT_EQ(opcodes.find("OpenEphemeral"), std::string::npos) << opcodes;
  }
}

// Connections for decisions sync every commit (synchronous=FULL, 2); those for polling state,
// new authorizations and counters do not (NORMAL, 1).
TEST(SqliteStoreDurabilityTest, ConnectionsApplyTheirSynchronousMode) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  ASSERT_NE(openMigrated(path), nullptr);
  for (const auto& [durability, expected] :
       {std::pair{sqlite::Durability::Synced, 2LL}, std::pair{sqlite::Durability::Unsynced, 1LL}}) {
    auto connection = sqlite::Connection::open(path, milliseconds(100), durability);
    ASSERT_TRUE(connection) << connection.error().message;
    auto pragma = (*connection)->prepare("PRAGMA synchronous");
    ASSERT_TRUE(pragma) << pragma.error().message;
    auto row = pragma->step();
    ASSERT_TRUE(row) << row.error().message;
    ASSERT_TRUE(*row);
    EXPECT_EQ(pragma->columnInt(0), expected);
  }
}

// The page cache is set in KiB, which PRAGMA cache_size reports as a negative number.
TEST(SqliteStoreCacheTest, ConnectionsApplyTheirPageCacheSize) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  ASSERT_NE(openMigrated(path), nullptr);
  for (const auto& [cache_kib, expected] :
       {std::pair{std::optional<std::int64_t>(), -sqlite::kDefaultCacheKib},
        std::pair{std::optional<std::int64_t>(4096), std::int64_t{-4096}}}) {
    auto connection =
        cache_kib ? sqlite::Connection::open(path, milliseconds(100), sqlite::Durability::Synced,
                                             *cache_kib)
                  : sqlite::Connection::open(path, milliseconds(100), sqlite::Durability::Synced);
    ASSERT_TRUE(connection) << connection.error().message;
    auto pragma = (*connection)->prepare("PRAGMA cache_size");
    ASSERT_TRUE(pragma) << pragma.error().message;
    auto row = pragma->step();
    ASSERT_TRUE(row) << row.error().message;
    ASSERT_TRUE(*row);
    EXPECT_EQ(pragma->columnInt(0), expected);
  }
}

// A poll's state, written without a sync, is what the next read and the next decision see.
TEST(SqliteStoreDurabilityTest, UnsyncedPollStateIsReadBackAndGuardsTheDecision) {
  TempDir directory;
  auto store = openMigrated(directory.file("store.db"));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->insertClient(conformance::makeClient(conformance::kClientId)));
  const Authorization authorization = conformance::makeAuthorization("polled");
  ASSERT_TRUE(store->insertAuthorization(authorization));

  const PollState first{conformance::kT0, seconds(10)};
  ASSERT_TRUE(conformance::won(store->updatePollState(
      authorization.id, PollState{authorization.last_poll_at, authorization.interval}, first)));
  auto found = store->findByDeviceCode(authorization.device_code_hash);
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->last_poll_at, first.last_poll_at);
  EXPECT_EQ((*found)->interval, seconds(10));

  ASSERT_TRUE(conformance::won(
      store->approve(authorization.id, "subject-alice", std::nullopt, conformance::kT0)));
  // An approved authorization takes no more polling state.
  auto late = store->updatePollState(authorization.id, first,
                                     PollState{conformance::kT0 + seconds(20), seconds(10)});
  ASSERT_TRUE(late) << late.error().message;
  EXPECT_FALSE(*late);
}

// findClient answers from the store's cache for at most its time-to-live: a client removed
// through another store object on the same file (another process) stops being found after it.
TEST(SqliteStoreClientCacheTest, ClientRemovedElsewhereIsGoneWithinTheTtl) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  SqliteStoreOptions options;
  options.client_cache_ttl = milliseconds(300);
  auto cached = SqliteStore::open(path, options);
  ASSERT_TRUE(cached) << cached.error().message;
  ASSERT_TRUE((*cached)->migrate());
  auto other = openMigrated(path);
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->insertClient(conformance::makeClient("short-lived")));

  auto first = (*cached)->findClient("short-lived");
  ASSERT_TRUE(first && first->has_value());
  ASSERT_TRUE(conformance::won(other->removeClient("short-lived")));
  auto stale = (*cached)->findClient("short-lived");
  ASSERT_TRUE(stale);
  EXPECT_TRUE(stale->has_value()) << "the cache should answer within its time-to-live";

  std::this_thread::sleep_for(milliseconds(350));
  auto gone = (*cached)->findClient("short-lived");
  ASSERT_TRUE(gone) << gone.error().message;
  EXPECT_FALSE(gone->has_value());
}

// A client removed through the same store object is gone at once.
TEST(SqliteStoreClientCacheTest, ClientRemovedHereIsGoneAtOnce) {
  TempDir directory;
  auto store = openMigrated(directory.file("store.db"));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->insertClient(conformance::makeClient("short-lived")));
  auto first = store->findClient("short-lived");
  ASSERT_TRUE(first && first->has_value());
  ASSERT_TRUE(conformance::won(store->removeClient("short-lived")));
  auto gone = store->findClient("short-lived");
  ASSERT_TRUE(gone) << gone.error().message;
  EXPECT_FALSE(gone->has_value());
}

// A writer that holds the lock past the busy timeout makes a state change fail with
// Unavailable (503), not Internal.
TEST(SqliteStoreLockTest, HeldWriteLockMapsToUnavailable) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  SqliteStoreOptions options;
  options.max_connections = 2;
  options.busy_timeout = milliseconds(100);
  auto opened = SqliteStore::open(path, options);
  ASSERT_TRUE(opened) << opened.error().message;
  SqliteStore& store = **opened;
  ASSERT_TRUE(store.migrate());
  ASSERT_TRUE(store.insertClient(conformance::makeClient(conformance::kClientId)));
  const Authorization authorization = conformance::makeAuthorization("locked");
  ASSERT_TRUE(store.insertAuthorization(authorization));

  RawDatabase holder(path);
  holder.execute("BEGIN IMMEDIATE");
  auto approved = store.approve(authorization.id, "subject-alice", std::nullopt, conformance::kT0);
  ASSERT_FALSE(approved);
  EXPECT_EQ(approved.error().kind, StoreError::Kind::Unavailable) << approved.error().message;
  auto redeemed = store.redeem(authorization.id, std::nullopt, conformance::kT0);
  ASSERT_FALSE(redeemed);
  EXPECT_EQ(redeemed.error().kind, StoreError::Kind::Unavailable) << redeemed.error().message;
  holder.execute("ROLLBACK");

  auto retried = store.approve(authorization.id, "subject-alice", std::nullopt, conformance::kT0);
  ASSERT_TRUE(retried) << retried.error().message;
  EXPECT_TRUE(*retried);
}

// An authorization must belong to a registered client. A missing client is a broken invariant,
// not a collision that new codes would fix, so it is Internal and not Conflict.
TEST(SqliteStoreConstraintTest, AuthorizationForUnknownClientIsInternal) {
  TempDir directory;
  auto store = openMigrated(directory.file("store.db"));
  ASSERT_NE(store, nullptr);

  auto inserted =
      store->insertAuthorization(conformance::makeAuthorization("orphan", "unregistered"));
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().kind, StoreError::Kind::Internal);
  EXPECT_NE(inserted.error().message.find("FOREIGN KEY constraint failed"), std::string::npos)
      << inserted.error().message;
}

// Holds the first batch of insertAuthorization until a given number of rows are queued, so
// that those rows are inserted in one transaction.
class HeldInsertBatch {
 public:
  // Opens a migrated store at `path` with one client. Its first batch waits until
  // releaseWhenQueued().
  HeldInsertBatch(const std::string& path, milliseconds busy_timeout = milliseconds(5000)) {
    SqliteStoreOptions options;
    options.busy_timeout = busy_timeout;
    options.before_insert_batch = [this] {
      if (batches_.fetch_add(1) == 0) {
        leading_.count_down();
        released_.wait();
      }
    };
    auto opened = SqliteStore::open(path, options);
    if (!opened) {
      ADD_FAILURE() << "open failed: " << opened.error().message;
      return;
    }
    store_ = std::move(opened).value();
    auto migrated = store_->migrate();
    EXPECT_TRUE(migrated) << migrated.error().message;
    auto client = store_->insertClient(conformance::makeClient(conformance::kClientId));
    EXPECT_TRUE(client) << client.error().message;
  }

  SqliteStore& store() { return *store_; }

  // Waits until the first batch's leader is held.
  void waitForLeader() { leading_.wait(); }

  // Waits, at most 10 s, until `rows` rows are queued, then lets the first batch go on.
  void releaseWhenQueued(std::size_t rows) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (store_->queuedAuthorizationInserts() < rows &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(1));
    }
    EXPECT_EQ(store_->queuedAuthorizationInserts(), rows);
    released_.count_down();
  }

  int batches() const { return batches_.load(); }

 private:
  std::unique_ptr<SqliteStore> store_;
  std::atomic<int> batches_{0};
  std::latch leading_{1};
  std::latch released_{1};
};

// Inserts `rows` on threads of their own, the first one alone until the held first batch
// leads, and returns each row's result. `holder` lets the first batch go on once every row is
// queued.
std::vector<StoreResult<void>> insertInOneBatch(HeldInsertBatch& holder,
                                                const std::vector<Authorization>& rows) {
  std::vector<StoreResult<void>> results(rows.size());
  std::vector<std::thread> threads;
  threads.emplace_back([&] { results[0] = holder.store().insertAuthorization(rows[0]); });
  holder.waitForLeader();
  for (std::size_t i = 1; i < rows.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = holder.store().insertAuthorization(rows[i]); });
  }
  holder.releaseWhenQueued(rows.size());
  for (auto& thread : threads) {
    thread.join();
  }
  return results;
}

// In a batch, a row that collides with another row of the same batch fails with Conflict and
// a row of an unknown client with Internal, and the other rows commit.
TEST(SqliteStoreGroupCommitTest, FailingRowsFailAloneInBatch) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  HeldInsertBatch holder(path);

  Authorization colliding = conformance::makeAuthorization("colliding");
  colliding.device_code_hash = conformance::makeAuthorization("leader").device_code_hash;
  const std::vector<Authorization> rows = {conformance::makeAuthorization("leader"), colliding,
                                           conformance::makeAuthorization("orphan", "unregistered"),
                                           conformance::makeAuthorization("second"),
                                           conformance::makeAuthorization("third")};
  const auto results = insertInOneBatch(holder, rows);

  EXPECT_EQ(holder.batches(), 1);
  for (const std::size_t i : {0, 3, 4}) {
    EXPECT_TRUE(results[i]) << rows[i].id << ": " << results[i].error().message;
  }
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(results[1].error().kind, StoreError::Kind::Conflict) << results[1].error().message;
  ASSERT_FALSE(results[2]);
  EXPECT_EQ(results[2].error().kind, StoreError::Kind::Internal) << results[2].error().message;
  EXPECT_EQ(RawDatabase(path).query("SELECT id FROM authorizations ORDER BY id"),
            "leader|second|third");
}

// When the batch's transaction cannot start, every row of the batch fails with that error,
// and a later insert succeeds.
TEST(SqliteStoreGroupCommitTest, HeldWriteLockFailsWholeBatch) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  HeldInsertBatch holder(path, milliseconds(100));
  RawDatabase other_process(path);
  other_process.execute("BEGIN IMMEDIATE");

  const std::vector<Authorization> rows = {conformance::makeAuthorization("first"),
                                           conformance::makeAuthorization("second"),
                                           conformance::makeAuthorization("third")};
  const auto results = insertInOneBatch(holder, rows);
  other_process.execute("ROLLBACK");

  EXPECT_EQ(holder.batches(), 1);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ASSERT_FALSE(results[i]) << rows[i].id;
    EXPECT_EQ(results[i].error().kind, StoreError::Kind::Unavailable) << results[i].error().message;
  }
  EXPECT_EQ(RawDatabase(path).query("SELECT count(*) FROM authorizations"), "0");
  auto retried = holder.store().insertAuthorization(rows[0]);
  EXPECT_TRUE(retried) << retried.error().message;
}

// More queued rows than one batch takes are inserted in several batches, each row once.
TEST(SqliteStoreGroupCommitTest, LongQueueSplitsIntoBatches) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  HeldInsertBatch holder(path);

  std::vector<Authorization> rows;
  for (std::size_t i = 0; i < SqliteStore::kMaxInsertBatch + 6; ++i) {
    rows.push_back(conformance::makeAuthorization(fmt::format("row-{}", i)));
  }
  const auto results = insertInOneBatch(holder, rows);

  EXPECT_EQ(holder.batches(), 2);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_TRUE(results[i]) << rows[i].id << ": " << results[i].error().message;
  }
  EXPECT_EQ(RawDatabase(path).query("SELECT count(DISTINCT id) FROM authorizations"),
            std::to_string(rows.size()));
}

// Many threads insert at once. Every new row is stored exactly once and reported as
// inserted, and every row that repeats its thread's previous user code gets Conflict.
TEST(SqliteStoreGroupCommitTest, ConcurrentInsertsEachGetTheirOwnResult) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  // Each batch waits 200 us before it takes the queued rows, so that other threads queue
  // behind it and batches of several rows form.
  std::atomic<int> batches{0};
  SqliteStoreOptions options;
  options.before_insert_batch = [&batches] {
    ++batches;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  };
  auto opened = SqliteStore::open(path, options);
  ASSERT_TRUE(opened) << opened.error().message;
  std::unique_ptr<SqliteStore> store = std::move(opened).value();
  ASSERT_TRUE(store->migrate());
  ASSERT_TRUE(store->insertClient(conformance::makeClient(conformance::kClientId)));

  constexpr int kThreads = 8;
  constexpr int kRowsPerThread = 60;
  // Every fifth row of a thread repeats the user code of the row before it.
  const auto repeats = [](int row) { return row % 5 == 4; };
  std::vector<std::vector<StoreResult<void>>> results(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int row = 0; row < kRowsPerThread; ++row) {
        Authorization authorization = conformance::makeAuthorization(fmt::format("t{}-{}", t, row));
        if (repeats(row)) {
          authorization.user_code_hash =
              conformance::makeAuthorization(fmt::format("t{}-{}", t, row - 1)).user_code_hash;
        }
        results[t].push_back(store->insertAuthorization(authorization));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }

  RawDatabase database(path);
  int stored = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int row = 0; row < kRowsPerThread; ++row) {
      const std::string id = fmt::format("t{}-{}", t, row);
      const StoreResult<void>& result = results[t][row];
      const std::string count =
          database.query(fmt::format("SELECT count(*) FROM authorizations WHERE id = '{}'", id));
      if (repeats(row)) {
        ASSERT_FALSE(result) << id;
        EXPECT_EQ(result.error().kind, StoreError::Kind::Conflict) << result.error().message;
        EXPECT_EQ(count, "0") << id;
      } else {
        EXPECT_TRUE(result) << id << ": " << result.error().message;
        EXPECT_EQ(count, "1") << id;
        ++stored;
      }
    }
  }
  EXPECT_EQ(database.query("SELECT count(*) FROM authorizations"), std::to_string(stored));
  EXPECT_LT(batches.load(), kThreads * kRowsPerThread);
}

// A migrated SQLite store with one client, opened with `options`.
std::unique_ptr<SqliteStore> openWithClient(const std::string& path,
                                            const SqliteStoreOptions& options) {
  auto opened = SqliteStore::open(path, options);
  if (!opened) {
    ADD_FAILURE() << "open failed: " << opened.error().message;
    return nullptr;
  }
  std::unique_ptr<SqliteStore> store = std::move(opened).value();
  auto migrated = store->migrate();
  auto inserted = store->insertClient(conformance::makeClient(conformance::kClientId));
  if (!migrated || !inserted) {
    ADD_FAILURE() << "migrating or inserting the client failed";
    return nullptr;
  }
  return store;
}

// Collects the results that insertAuthorizationThen or insertCountedThen hands to its
// callbacks, and the threads that call them.
template <typename Result = StoreResult<void>>
class BackgroundResults {
 public:
  explicit BackgroundResults(std::size_t rows)
      : results_(rows, Result(unexpected(StoreError{StoreError::Kind::Internal, "not called"}))),
        threads_(rows),
        left_(rows) {}

  std::function<void(Result)> doneFor(std::size_t row) {
    return [this, row](Result inserted) {
      const std::lock_guard lock(mutex_);
      results_[row] = std::move(inserted);
      threads_[row] = std::this_thread::get_id();
      if (--left_ == 0) {
        all_done_.notify_all();
      }
    };
  }

  // Waits, at most 10 s, for every callback. Returns whether all of them ran.
  bool waitForAll() {
    std::unique_lock lock(mutex_);
    return all_done_.wait_for(lock, std::chrono::seconds(10), [this] { return left_ == 0; });
  }

  std::size_t left() {
    const std::lock_guard lock(mutex_);
    return left_;
  }

  const Result& result(std::size_t row) const { return results_[row]; }
  std::thread::id thread(std::size_t row) const { return threads_[row]; }

 private:
  std::mutex mutex_;
  std::condition_variable all_done_;
  std::vector<Result> results_;
  std::vector<std::thread::id> threads_;
  std::size_t left_;
};

// insertAuthorizationThen returns before its row is inserted. The store's own thread inserts
// the queued rows in one batch and calls each callback with that row's result: a collision
// fails only its own row.
TEST(SqliteStoreBackgroundInsertTest, QueuedRowsShareOneBatch) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  HeldInsertBatch holder(path);

  Authorization colliding = conformance::makeAuthorization("colliding");
  colliding.user_code_hash = conformance::makeAuthorization("first").user_code_hash;
  const std::vector<Authorization> rows = {conformance::makeAuthorization("first"), colliding,
                                           conformance::makeAuthorization("second")};
  BackgroundResults results(rows.size());
  holder.store().insertAuthorizationThen(rows[0], results.doneFor(0));
  holder.waitForLeader();
  for (std::size_t i = 1; i < rows.size(); ++i) {
    holder.store().insertAuthorizationThen(rows[i], results.doneFor(i));
  }
  EXPECT_EQ(results.left(), rows.size());
  holder.releaseWhenQueued(rows.size());
  ASSERT_TRUE(results.waitForAll());

  EXPECT_EQ(holder.batches(), 1);
  EXPECT_TRUE(results.result(0)) << results.result(0).error().message;
  ASSERT_FALSE(results.result(1));
  EXPECT_EQ(results.result(1).error().kind, StoreError::Kind::Conflict);
  EXPECT_TRUE(results.result(2)) << results.result(2).error().message;
  EXPECT_NE(results.thread(0), std::this_thread::get_id());
  EXPECT_EQ(RawDatabase(path).query("SELECT id FROM authorizations ORDER BY id"), "first|second");
}

// The counters queued with rows are counted in the rows' batch: one transaction counts every
// request and inserts the rows under the limit.
TEST(SqliteStoreBackgroundInsertTest, CountersAreCountedInTheRowsBatch) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  HeldInsertBatch holder(path);

  BackgroundResults<StoreResult<CountedInsert>> results(4);
  holder.store().insertCountedThen(conformance::makeAuthorization("uncounted"), InsertLimits{},
                                   results.doneFor(0));
  holder.waitForLeader();
  const InsertLimits limits{{RequestCounter{"begins", seconds(60), 2}}, conformance::kT0};
  for (std::size_t i = 1; i < 4; ++i) {
    holder.store().insertCountedThen(conformance::makeAuthorization("counted-" + std::to_string(i)),
                                     limits, results.doneFor(i));
  }
  holder.releaseWhenQueued(4);
  ASSERT_TRUE(results.waitForAll());

  EXPECT_EQ(holder.batches(), 1);
  for (std::size_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(results.result(i)) << i << ": " << results.result(i).error().message;
    EXPECT_EQ(results.result(i)->inserted, i <= 2) << i;
  }
  EXPECT_TRUE(results.result(0)->counts.empty());
  EXPECT_EQ(results.result(3)->counts, std::vector<std::int64_t>{3});
  EXPECT_EQ(RawDatabase(path).query("SELECT id FROM authorizations ORDER BY id"),
            "counted-1|counted-2|uncounted");
  EXPECT_EQ(RawDatabase(path).query("SELECT count FROM rate_counters"), "3");
}

// A callback may queue another row; the store's thread inserts it too.
TEST(SqliteStoreBackgroundInsertTest, CallbackMayInsertAgain) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  auto store = openWithClient(path, {});
  ASSERT_NE(store, nullptr);

  BackgroundResults results(2);
  const Store::InsertDone second = results.doneFor(1);
  const Store::InsertDone first = results.doneFor(0);
  store->insertAuthorizationThen(conformance::makeAuthorization("first"),
                                 [&store, &first, &second](StoreResult<void> inserted) {
                                   store->insertAuthorizationThen(
                                       conformance::makeAuthorization("second"), second);
                                   first(std::move(inserted));
                                 });
  ASSERT_TRUE(results.waitForAll());

  EXPECT_TRUE(results.result(0)) << results.result(0).error().message;
  EXPECT_TRUE(results.result(1)) << results.result(1).error().message;
  EXPECT_EQ(RawDatabase(path).query("SELECT id FROM authorizations ORDER BY id"), "first|second");
}

// After finishBackgroundInserts, which the server calls when it stops, a new row still gets
// inserted and its callback called.
TEST(SqliteStoreBackgroundInsertTest, InsertAfterFinishingStartsAgain) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  auto store = openWithClient(path, {});
  ASSERT_NE(store, nullptr);

  BackgroundResults results(2);
  store->insertAuthorizationThen(conformance::makeAuthorization("before"), results.doneFor(0));
  store->finishBackgroundInserts();
  EXPECT_EQ(results.left(), 1U);
  store->insertAuthorizationThen(conformance::makeAuthorization("after"), results.doneFor(1));
  ASSERT_TRUE(results.waitForAll());

  EXPECT_TRUE(results.result(0)) << results.result(0).error().message;
  EXPECT_TRUE(results.result(1)) << results.result(1).error().message;
  EXPECT_EQ(RawDatabase(path).query("SELECT id FROM authorizations ORDER BY id"), "after|before");
}

// A synchronous insert that arrives while the store's thread leads waits for that thread to
// insert its row in the same batch.
TEST(SqliteStoreBackgroundInsertTest, SynchronousInsertJoinsBackgroundBatch) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  HeldInsertBatch holder(path);

  BackgroundResults results(1);
  holder.store().insertAuthorizationThen(conformance::makeAuthorization("background"),
                                         results.doneFor(0));
  holder.waitForLeader();
  auto synchronous = std::async(std::launch::async, [&holder] {
    return holder.store().insertAuthorization(conformance::makeAuthorization("synchronous"));
  });
  holder.releaseWhenQueued(2);
  const StoreResult<void> inserted = synchronous.get();
  ASSERT_TRUE(results.waitForAll());

  EXPECT_TRUE(inserted) << inserted.error().message;
  EXPECT_TRUE(results.result(0)) << results.result(0).error().message;
  EXPECT_EQ(holder.batches(), 1);
  EXPECT_EQ(RawDatabase(path).query("SELECT id FROM authorizations ORDER BY id"),
            "background|synchronous");
}

// Closing the store inserts the rows still queued and calls their callbacks first.
TEST(SqliteStoreBackgroundInsertTest, ClosingInsertsQueuedRows) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  constexpr std::size_t kRows = 20;
  BackgroundResults results(kRows);
  {
    HeldInsertBatch holder(path);
    holder.store().insertAuthorizationThen(conformance::makeAuthorization("row-0"),
                                           results.doneFor(0));
    holder.waitForLeader();
    for (std::size_t i = 1; i < kRows; ++i) {
      holder.store().insertAuthorizationThen(
          conformance::makeAuthorization(fmt::format("row-{}", i)), results.doneFor(i));
    }
    holder.releaseWhenQueued(kRows);
  }

  EXPECT_EQ(results.left(), 0U);
  for (std::size_t i = 0; i < kRows; ++i) {
    EXPECT_TRUE(results.result(i)) << i << ": " << results.result(i).error().message;
  }
  EXPECT_EQ(RawDatabase(path).query("SELECT count(*) FROM authorizations"), std::to_string(kRows));
}

// Inserts authorizations named `prefix`-0, -1, ... until `done` returns true, at most `limit`.
// Returns how many it inserted.
template <typename Done>
int insertUntil(SqliteStore& store, const std::string& prefix, int limit, Done done) {
  int inserted = 0;
  while (inserted < limit && !done()) {
    auto result = store.insertAuthorization(
        conformance::makeAuthorization(fmt::format("{}-{}", prefix, inserted)));
    if (!result) {
      ADD_FAILURE() << result.error().message;
      return inserted;
    }
    ++inserted;
  }
  return inserted;
}

std::string readFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// Waits up to 5 seconds for `condition`.
template <typename Condition>
bool eventually(Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

// A leader that raises an exception (out of memory, say) before it takes the queued rows
// passes them on: its own call rethrows, and another caller leads and inserts the other rows.
TEST(SqliteStoreGroupCommitTest, LeaderExceptionPassesQueueOn) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  std::latch leading(1);
  std::latch released(1);
  std::atomic<int> batches{0};
  SqliteStoreOptions options;
  options.before_insert_batch = [&] {
    if (batches.fetch_add(1) == 0) {
      leading.count_down();
      released.wait();
      throw std::runtime_error("injected");
    }
  };
  auto store = openWithClient(path, options);
  ASSERT_NE(store, nullptr);

  bool leader_threw = false;
  std::thread leader([&] {
    try {
      (void)store->insertAuthorization(conformance::makeAuthorization("leader"));
    } catch (const std::runtime_error&) {
      leader_threw = true;
    }
  });
  leading.wait();
  constexpr std::size_t kFollowers = 3;
  std::vector<StoreResult<void>> results(kFollowers);
  std::vector<std::thread> followers;
  for (std::size_t i = 0; i < kFollowers; ++i) {
    followers.emplace_back([&, i] {
      results[i] =
          store->insertAuthorization(conformance::makeAuthorization(fmt::format("follower-{}", i)));
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (store->queuedAuthorizationInserts() < kFollowers + 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  released.count_down();
  leader.join();
  for (auto& follower : followers) {
    follower.join();
  }

  EXPECT_TRUE(leader_threw);
  for (std::size_t i = 0; i < kFollowers; ++i) {
    EXPECT_TRUE(results[i]) << i << ": " << results[i].error().message;
  }
  EXPECT_EQ(RawDatabase(path).query("SELECT id FROM authorizations ORDER BY id"),
            "follower-0|follower-1|follower-2");
  EXPECT_EQ(store->queuedAuthorizationInserts(), 0U);
}

// Store options whose checkpoint thread starts at `start_pages` and whose commits checkpoint
// by themselves at `inline_pages`.
SqliteStoreOptions checkpointAt(int start_pages, int inline_pages) {
  SqliteStoreOptions options;
  options.checkpoints.start_pages = start_pages;
  options.checkpoints.inline_pages = inline_pages;
  return options;
}

// Once the WAL reaches start_pages, the checkpoint thread copies it into the database file,
// and no commit checkpoints by itself.
TEST(SqliteCheckpointTest, ThreadCopiesWalIntoDatabaseFile) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  auto store = openWithClient(path, checkpointAt(20, 1000000));
  ASSERT_NE(store, nullptr);
  // In WAL mode only a checkpoint writes to the database file itself. The migrations may have
  // started checkpoints already.
  const std::string before = readFile(path);
  const std::uint64_t runs_before = store->checkpointer().backgroundCheckpoints();

  const int inserted = insertUntil(*store, "row", 2000, [&] {
    return store->checkpointer().backgroundCheckpoints() > runs_before;
  });
  EXPECT_GT(inserted, 0);
  EXPECT_LT(inserted, 2000);
  ASSERT_TRUE(eventually([&] { return readFile(path) != before; }));
  EXPECT_EQ(store->checkpointer().inlineCheckpoints(), 0U);
  EXPECT_EQ(RawDatabase(path).query("SELECT count(*) FROM authorizations"),
            std::to_string(inserted));
}

// While the checkpoint thread is stuck, commits go on, and the one that brings the WAL to
// inline_pages checkpoints by itself, as SQLite does by default.
TEST(SqliteCheckpointTest, StuckThreadLeavesCheckpointToCommits) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  std::atomic<bool> release{false};
  std::atomic<int> stuck{0};
  SqliteStoreOptions options = checkpointAt(20, 200);
  options.checkpoints.before_checkpoint = [&] {
    ++stuck;
    while (!release.load()) {
      std::this_thread::sleep_for(milliseconds(1));
    }
  };
  auto store = openWithClient(path, options);
  ASSERT_NE(store, nullptr);

  insertUntil(*store, "row", 5000,
              [&store] { return store->checkpointer().inlineCheckpoints() > 0; });
  const std::uint64_t inline_runs = store->checkpointer().inlineCheckpoints();
  const int stuck_runs = stuck.load();
  release = true;
  EXPECT_GT(inline_runs, 0U);
  EXPECT_EQ(stuck_runs, 1);
}

// Writers on several threads commit while the thread checkpoints, and every row is stored.
TEST(SqliteCheckpointTest, ConcurrentWritersAndCheckpoints) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  auto store = openWithClient(path, checkpointAt(10, 400));
  ASSERT_NE(store, nullptr);

  constexpr int kThreads = 4;
  constexpr int kRowsPerThread = 150;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      insertUntil(*store, fmt::format("t{}", t), kRowsPerThread, [] { return false; });
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_GT(store->checkpointer().backgroundCheckpoints(), 0U);
  EXPECT_EQ(RawDatabase(path).query("SELECT count(*) FROM authorizations"),
            std::to_string(kThreads * kRowsPerThread));
}

// A handler pool thread that waits for another process's write lock sleeps in the busy handler
// inside a BlockingRegion, so the pool runs another job meanwhile: here the one that ends the
// other process's transaction.
TEST(SqliteStoreLockTest, BusyWaitLetsPoolRunAnotherJob) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  SqliteStoreOptions options;
  options.busy_timeout = milliseconds(5000);
  auto store = openWithClient(path, options);
  ASSERT_NE(store, nullptr);

  RawDatabase holder(path);
  holder.execute("BEGIN IMMEDIATE");
  StoreResult<std::int64_t> counted = 0;
  const auto started = std::chrono::steady_clock::now();
  {
    http::HandlerPool pool(2, 1);
    // A counter commits without a sync, so only the busy handler marks this wait.
    pool.post([&store, &counted] {
      counted = store->incrementCounter("busy", seconds(60), conformance::kT0);
    });
    pool.post([&holder] {
      // Lets the first job reach the busy handler before the lock goes away.
      std::this_thread::sleep_for(milliseconds(20));
      holder.execute("ROLLBACK");
    });
    pool.join();
  }

  ASSERT_TRUE(counted) << counted.error().message;
  EXPECT_EQ(*counted, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(4000));
}

// A handler pool thread that has to wait for the store's write mutex waits inside a
// BlockingRegion, so the pool runs another job meanwhile. Here that job is the one that lets the
// holder of the mutex go on.
TEST(SqliteWriteMutexTest, WaitingWriterLetsPoolRunAnotherJob) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  std::promise<void> holding;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::future_status holder_waited = std::future_status::timeout;
  SqliteStoreOptions options;
  options.before_insert_batch = [&holding, &holder_waited, released] {
    holding.set_value();
    holder_waited = released.wait_for(std::chrono::seconds(5));
  };
  auto store = openWithClient(path, options);
  ASSERT_NE(store, nullptr);

  // A thread outside the pool holds the write mutex inside the insert's test seam.
  StoreResult<void> inserted;
  std::thread holder([&store, &inserted] {
    inserted = store->insertAuthorization(conformance::makeAuthorization("held"));
  });
  ASSERT_EQ(holding.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);

  StoreResult<std::int64_t> counted = 0;
  {
    http::HandlerPool pool(2, 1);
    pool.post([&store, &counted] {
      counted = store->incrementCounter("waiting", seconds(60), conformance::kT0);
    });
    pool.post([&release] { release.set_value(); });
    pool.join();
  }
  holder.join();

  EXPECT_EQ(holder_waited, std::future_status::ready);
  ASSERT_TRUE(inserted) << inserted.error().message;
  ASSERT_TRUE(counted) << counted.error().message;
  EXPECT_EQ(*counted, 1);
}

// Many handler pool jobs write at once on a pool with one active thread. Inserts wait for the
// insert leader, counters wait for the write mutex, and all of them wait for one of two pooled
// connections, each inside a BlockingRegion. Every write succeeds, and afterwards the pool's
// counters show no thread still counted as running.
TEST(SqliteWriteMutexTest, PoolJobsWriteTogether) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  SqliteStoreOptions options;
  options.max_connections = 2;
  auto store = openWithClient(path, options);
  ASSERT_NE(store, nullptr);

  constexpr unsigned kThreads = 4;
  constexpr int kJobs = 120;
  std::atomic<int> failed{0};
  std::atomic<int> increments{0};
  std::atomic<int> finished{0};
  http::HandlerPool pool(kThreads, 1);
  for (int i = 0; i < kJobs; ++i) {
    pool.post([&store, &failed, &increments, &finished, i] {
      if (i % 2 == 0) {
        auto inserted = store->insertAuthorization(
            conformance::makeAuthorization("pooled-" + std::to_string(i)));
        failed += inserted ? 0 : 1;
      } else {
        auto counted = store->incrementCounter("pooled", seconds(60), conformance::kT0);
        failed += counted ? 0 : 1;
        ++increments;
      }
      ++finished;
    });
  }
  // Waits until every job finished and every thread sleeps with nothing queued. The 30 second
  // limit only ends a failing test, for example one with a job that no thread takes.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  http::HandlerPool::Counters counters = pool.counters();
  while ((finished.load() != kJobs || counters.queued != 0 || counters.sleeping != kThreads ||
          counters.wakes != 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
    counters = pool.counters();
  }
  EXPECT_EQ(finished.load(), kJobs);
  EXPECT_EQ(counters.queued, 0U);
  EXPECT_EQ(counters.sleeping, kThreads);
  EXPECT_EQ(counters.running, 0U);
  EXPECT_EQ(counters.wakes, 0U);
  pool.join();

  EXPECT_EQ(failed.load(), 0);
  auto counted = store->incrementCounter("pooled", seconds(60), conformance::kT0);
  ASSERT_TRUE(counted) << counted.error().message;
  EXPECT_EQ(*counted, increments.load() + 1);
}

// A poll reads first without the write lock. When another process writes between its read and
// its write, the write fails, and the poll starts over with the write lock taken first.
TEST(SqlitePollRetryTest, WriteByAnotherProcessRestartsPoll) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  std::vector<bool> attempts;
  // Opened once the store has created the file.
  std::unique_ptr<RawDatabase> other_process;
  SqliteStoreOptions options;
  options.before_poll_write = [&](bool immediate) {
    attempts.push_back(immediate);
    if (!immediate) {
      other_process->execute("UPDATE authorizations SET bound_subject = 'subject-bob'");
    }
  };
  auto store = openWithClient(path, options);
  ASSERT_NE(store, nullptr);
  other_process = std::make_unique<RawDatabase>(path);
  const Authorization authorization = conformance::makeAuthorization("polled");
  ASSERT_TRUE(store->insertAuthorization(authorization));

  const TimePoint now = conformance::kT0 + seconds(1);
  auto polled =
      store->pollPending(authorization.device_code_hash, conformance::kClientId, now, PollPolicy{});

  ASSERT_TRUE(polled) << polled.error().message;
  ASSERT_TRUE(polled->has_value());
  EXPECT_EQ((*polled)->outcome, PollOutcome::Pending);
  EXPECT_EQ(attempts, (std::vector<bool>{false, true}));
  EXPECT_EQ(other_process->query("SELECT last_poll_at FROM authorizations"),
            std::to_string(toUnixMillis(now)));
  EXPECT_EQ(other_process->query("SELECT bound_subject FROM authorizations"), "subject-bob");
}

// When the other process approved the code between the poll's read and its write, the poll
// that starts over finds it no longer pending and records nothing.
TEST(SqlitePollRetryTest, ApprovalByAnotherProcessEndsPoll) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  // Opened once the store has created the file.
  std::unique_ptr<RawDatabase> other_process;
  SqliteStoreOptions options;
  options.before_poll_write = [&](bool immediate) {
    if (!immediate) {
      other_process->execute(
          "UPDATE authorizations SET state = 'approved', subject = 'subject-alice', "
          "decided_at = 0");
    }
  };
  auto store = openWithClient(path, options);
  ASSERT_NE(store, nullptr);
  other_process = std::make_unique<RawDatabase>(path);
  const Authorization authorization = conformance::makeAuthorization("approved");
  ASSERT_TRUE(store->insertAuthorization(authorization));

  auto polled = store->pollPending(authorization.device_code_hash, conformance::kClientId,
                                   conformance::kT0 + seconds(1), PollPolicy{});

  ASSERT_TRUE(polled) << polled.error().message;
  EXPECT_FALSE(polled->has_value());
  EXPECT_EQ(other_process->query("SELECT state FROM authorizations"), "approved");
  EXPECT_EQ(other_process->query("SELECT last_poll_at IS NULL FROM authorizations"), "1");
}

// Opens a database in WAL mode at `path` with sqlite3_open, holding a table t of one row.
sqlite3* openWalTable(const std::string& path) {
  sqlite3* raw = nullptr;
  if (sqlite3_open(path.c_str(), &raw) != SQLITE_OK ||
      sqlite3_exec(raw,
                   "PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER); "
                   "INSERT INTO t VALUES (0); PRAGMA wal_checkpoint(TRUNCATE);",
                   nullptr, nullptr, nullptr) != SQLITE_OK) {
    throw std::runtime_error("creating the WAL test database " + path + " failed");
  }
  return raw;
}

// Commits `value` into the row of openWalTable's table, which adds one page to the WAL.
bool commitPage(sqlite3* raw, int value) {
  const std::string sql = fmt::format("UPDATE t SET x = {}", value);
  return sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
}

// After a background checkpoint copied the whole WAL, the next write starts the WAL over, and
// the thread runs again once the new WAL reaches start_pages. Each
// commit here rewrites one page, so the new WAL has as many pages as the old one had when the
// thread copied it.
TEST(SqliteCheckpointTest, ThreadRunsAgainAfterWalStartsOver) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  sqlite3* raw = openWalTable(path);
  constexpr int kStart = 10;
  sqlite::CheckpointerOptions options;
  options.start_pages = kStart;
  options.inline_pages = 1000000;
  auto checkpointer = std::make_unique<sqlite::Checkpointer>(path, milliseconds(1000), options);
  checkpointer->attach(raw);
  int value = 0;
  auto commit = [&] { ASSERT_TRUE(commitPage(raw, ++value)); };
  const std::string wal = path + "-wal";

  for (int i = 0; i < kStart; ++i) {
    commit();
  }
  // One frame (4,096 bytes and a 24-byte header) per commit after the 32-byte WAL header.
  EXPECT_EQ(fs::file_size(wal), 32U + kStart * (4096U + 24U));
  ASSERT_TRUE(eventually([&] { return checkpointer->backgroundCheckpoints() == 1; }));
  // The count goes up before the checkpoint runs. The sleep leaves the thread time to finish it
  // and record what it copied. Were it slower, the thread would run again anyway, and the test
  // would pass without showing anything.
  std::this_thread::sleep_for(milliseconds(200));

  // The first commit starts the WAL over, and after kStart commits it has kStart pages again.
  for (int i = 0; i < kStart; ++i) {
    commit();
  }
  EXPECT_EQ(fs::file_size(wal), 32U + kStart * (4096U + 24U));  // reused, not grown
  const bool ran_again = eventually([&] { return checkpointer->backgroundCheckpoints() == 2; });
  EXPECT_TRUE(ran_again) << "the WAL started over and reached start_pages, but the thread "
                            "was not woken";
  sqlite3_close_v2(raw);
  checkpointer.reset();
}

// The thread's connection cannot be opened, so every background checkpoint fails. The commits
// still succeed, the thread waits retry_delay before it tries again, the committing connection
// checkpoints at inline_pages so the WAL stops growing, and stopping does not wait for the
// delay to pass.
TEST(SqliteCheckpointTest, FailingThreadWaitsBeforeRetry) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  sqlite3* raw = openWalTable(path);
  constexpr int kStart = 5;
  constexpr int kInline = 20;
  sqlite::CheckpointerOptions options;
  options.start_pages = kStart;
  options.inline_pages = kInline;
  options.retry_delay = std::chrono::hours(1);
  auto checkpointer = std::make_unique<sqlite::Checkpointer>(
      directory.file("missing-directory/store.db"), milliseconds(1000), options);
  checkpointer->attach(raw);
  int value = 0;
  auto commit = [&] { ASSERT_TRUE(commitPage(raw, ++value)); };

  for (int i = 0; i < kStart; ++i) {
    commit();
  }
  ASSERT_TRUE(eventually([&] { return checkpointer->backgroundCheckpoints() == 1; }));

  // Each of these commits would wake the thread, were it not waiting after the failure.
  for (int i = 0; i < 3 * kInline; ++i) {
    commit();
  }
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(checkpointer->backgroundCheckpoints(), 1U);
  EXPECT_GE(checkpointer->inlineCheckpoints(), 1U);
  // The WAL started over after the commit's own checkpoint, so it never held more than kInline
  // frames, although 3 * kInline + kStart commits have written one each.
  EXPECT_LE(fs::file_size(path + "-wal"), 32U + kInline * (4096U + 24U));

  // The connection closes first, because the Checkpointer must outlive it.
  sqlite3_close_v2(raw);
  const auto stop_started = std::chrono::steady_clock::now();
  checkpointer.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, std::chrono::seconds(30));
}

// After retry_delay, a commit wakes the failing thread again.
TEST(SqliteCheckpointTest, FailingThreadRetriesAfterDelay) {
  TempDir directory;
  const std::string path = directory.file("store.db");
  sqlite3* raw = openWalTable(path);
  sqlite::CheckpointerOptions options;
  options.start_pages = 5;
  options.inline_pages = 1000000;
  options.retry_delay = milliseconds(10);
  auto checkpointer = std::make_unique<sqlite::Checkpointer>(
      directory.file("missing-directory/store.db"), milliseconds(1000), options);
  checkpointer->attach(raw);
  int value = 0;
  // Commits one page at a time until the thread has tried `attempts` times.
  auto commit_until = [&](std::uint64_t attempts) {
    return eventually([&] {
      return commitPage(raw, ++value) && checkpointer->backgroundCheckpoints() >= attempts;
    });
  };

  EXPECT_TRUE(commit_until(1));
  EXPECT_TRUE(commit_until(3)) << "the thread stopped trying after a failed checkpoint";
  sqlite3_close_v2(raw);
  checkpointer.reset();
}

}  // namespace
}  // namespace devauth::testing
