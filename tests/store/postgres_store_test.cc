// The storage conformance suite on PostgreSQL, plus the PostgreSQL-only behaviour: store
// locations, the connection pool, error mapping and concurrent migrations. Every test runs on a
// database of its own on the server that DEVAUTH_TEST_POSTGRES_URL names.

#include "store/postgres/postgres_store.h"

#include <gtest/gtest.h>

#include <latch>
#include <memory>
#include <string>
#include <thread>

#include "store/binding_store_conformance.h"
#include "store/client_code_conformance.h"
#include "store/grant_store_conformance.h"
#include "store/poll_store_conformance.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/pg_schema.h"
#include "store/postgres_test_database.h"
#include "store/store_administration_conformance.h"
#include "store/store_conformance.h"

namespace devauth::testing {
namespace {

std::unique_ptr<Store> openMigrated(const std::string& location) {
  auto opened = openStore(location);
  if (!opened) {
    ADD_FAILURE() << "openStore failed: " << opened.error().message;
    return nullptr;
  }
  auto migrated = (*opened)->migrate();
  if (!migrated) {
    ADD_FAILURE() << "migrate failed: " << migrated.error().message;
    return nullptr;
  }
  return std::move(opened).value();
}

// Each create() makes a new database; the destructor drops it.
class PostgresStoreFactory {
 public:
  std::unique_ptr<Store> create() {
    const auto url = testPostgresUrl();
    if (!url) {
      if (runningInCi()) {
        ADD_FAILURE() << kPostgresUrlVariable << " is not set; CI must run the PostgreSQL tests";
      } else {
        // The fixture's SetUp sees the skip and stops before the test body.
        [] { GTEST_SKIP() << kPostgresUrlVariable << " is not set"; }();
      }
      return nullptr;
    }
    database_.emplace(*url);
    return openMigrated(database_->url());
  }

  std::unique_ptr<Store> openAnother() { return openMigrated(database_->url()); }

 private:
  // Destroyed after the fixture's stores, whose connections DROP DATABASE ... WITH (FORCE)
  // would otherwise end.
  std::optional<TestDatabase> database_;
};

}  // namespace

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, StoreConformanceTest, PostgresStoreFactory);
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, PollStoreConformanceTest, PostgresStoreFactory);
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, GrantStoreConformanceTest, PostgresStoreFactory);
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, StoreAdministrationTest, PostgresStoreFactory);
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, BindingStoreConformanceTest, PostgresStoreFactory);
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, ClientCodeStoreTest, PostgresStoreFactory);

namespace {

// --- Messages: no server needed ----------------------------------------------------------

// A message shaped like libpq's for a connection that the server closed: lines that end with a
// newline, one of them indented with a tab. A log entry must stay on one line.
TEST(PostgresMessageTest, OneLineJoinsMessageLines) {
  EXPECT_EQ(postgres::oneLine("FATAL:  terminating connection due to administrator command\n"
                              "server closed the connection unexpectedly\n"
                              "\tThis probably means the server terminated abnormally\n"),
            "FATAL:  terminating connection due to administrator command server closed the "
            "connection unexpectedly  This probably means the server terminated abnormally");
  EXPECT_EQ(postgres::oneLine("no connection to the server\r\n"), "no connection to the server");
  EXPECT_EQ(postgres::oneLine(nullptr), "");
}

// --- Locations: no server needed ---------------------------------------------------------

TEST(PostgresLocationTest, PoolSettingsAreReadAndRemoved) {
  auto parsed = parsePostgresLocation(
      "postgresql://devauth@db.example:5433/auth?sslmode=require&pool_size=3&pool_timeout=2");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->pool.max_connections, 3u);
  EXPECT_EQ(parsed->pool.acquire_timeout, std::chrono::seconds(2));
  ASSERT_EQ(parsed->keywords.back(), "dbname");
  EXPECT_EQ(parsed->values.back(), "postgresql://devauth@db.example:5433/auth?sslmode=require");
}

TEST(PostgresLocationTest, DefaultsApplyWithoutQuery) {
  auto parsed = parsePostgresLocation("POSTGRES://devauth@localhost/auth");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->pool.max_connections, 8u);
  EXPECT_EQ(parsed->pool.acquire_timeout, std::chrono::seconds(5));
  // libpq accepts only the lower-case scheme.
  EXPECT_EQ(parsed->values.back(), "postgresql://devauth@localhost/auth");
}

TEST(PostgresLocationTest, InvalidPoolSizeIsRejectedWithoutEchoingPassword) {
  for (const std::string value : {"0", "-1", "many", "8x", ""}) {
    SCOPED_TRACE(value);
    auto parsed =
        parsePostgresLocation("postgresql://devauth:hunter2@localhost/auth?pool_size=" + value);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().kind, StoreError::Kind::Internal);
    EXPECT_EQ(parsed.error().message, "invalid PostgreSQL store location: pool_size=" + value +
                                          " is not a positive integer");
  }
}

TEST(PostgresLocationTest, UnreachableServerIsUnavailableWithoutPassword) {
  // Port 1 on the loopback address refuses connections at once.
  auto opened = openStore("postgresql://devauth:hunter2@127.0.0.1:1/auth?connect_timeout=2");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().kind, StoreError::Kind::Unavailable);
  EXPECT_NE(opened.error().message.find("PostgreSQL: connecting failed"), std::string::npos)
      << opened.error().message;
  EXPECT_EQ(opened.error().message.find("hunter2"), std::string::npos) << opened.error().message;
}

// --- Pool and server behaviour -----------------------------------------------------------

class PostgresServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DEVAUTH_REQUIRE_POSTGRES_URL(url);
    database_.emplace(*url);
  }

  TestDatabase& database() { return *database_; }

 private:
  std::optional<TestDatabase> database_;
};

TEST_F(PostgresServerTest, MigrateRecordsLatestVersion) {
  auto store = openMigrated(database().url());
  ASSERT_NE(store, nullptr);

  EXPECT_EQ(database().query("SELECT version FROM devauth_schema"),
            std::to_string(postgres::latestSchemaVersion()));
  EXPECT_EQ(
      database().query("SELECT string_agg(tablename, '|' ORDER BY tablename) FROM "
                       "pg_tables WHERE schemaname = 'public'"),
      "authorizations|browser_sessions|clients|devauth_schema|grants|rate_counters|refresh_tokens|"
      "signing_keys|tokens|users");
}

TEST_F(PostgresServerTest, NewerSchemaIsRejected) {
  auto store = openMigrated(database().url());
  ASSERT_NE(store, nullptr);
  database().query("UPDATE devauth_schema SET version = 99");

  auto migrated = store->migrate();
  ASSERT_FALSE(migrated);
  EXPECT_EQ(migrated.error().kind, StoreError::Kind::Internal);
  EXPECT_NE(migrated.error().message.find("schema version 99"), std::string::npos)
      << migrated.error().message;
}

// Servers that start together all migrate the same empty database; the advisory lock makes
// each migration run once and the others wait.
TEST_F(PostgresServerTest, ConcurrentMigrationsAllSucceed) {
  constexpr int kServers = 4;
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kServers; ++i) {
    auto opened = openStore(database().url());
    ASSERT_TRUE(opened) << opened.error().message;
    stores.push_back(std::move(opened).value());
  }

  std::latch start(kServers);
  std::vector<std::optional<StoreResult<void>>> results(kServers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kServers; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[static_cast<std::size_t>(i)] = stores[static_cast<std::size_t>(i)]->migrate();
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }

  for (const auto& result : results) {
    ASSERT_TRUE(result.has_value());
    EXPECT_TRUE(*result) << result->error().message;
  }
  EXPECT_EQ(database().query("SELECT count(*) FROM devauth_schema"), "1");
  EXPECT_EQ(database().query("SELECT version FROM devauth_schema"),
            std::to_string(postgres::latestSchemaVersion()));
}

TEST_F(PostgresServerTest, PoolWaitTimesOutAsUnavailable) {
  auto parsed = parsePostgresLocation(database().url());
  ASSERT_TRUE(parsed) << parsed.error().message;
  postgres::ConnectionPool pool(parsed->keywords, parsed->values,
                                postgres::PoolOptions{1, std::chrono::milliseconds(200)});

  auto held = pool.acquire();
  ASSERT_TRUE(held) << held.error().message;
  const auto started = std::chrono::steady_clock::now();
  auto waiting = pool.acquire();
  const auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(waiting);
  EXPECT_EQ(waiting.error().kind, StoreError::Kind::Unavailable);
  EXPECT_GE(waited, std::chrono::milliseconds(200));
}

TEST_F(PostgresServerTest, ReleasedConnectionIsReused) {
  auto parsed = parsePostgresLocation(database().url());
  ASSERT_TRUE(parsed) << parsed.error().message;
  postgres::ConnectionPool pool(parsed->keywords, parsed->values,
                                postgres::PoolOptions{1, std::chrono::milliseconds(200)});
  { ASSERT_TRUE(pool.acquire()); }
  auto again = pool.acquire();
  ASSERT_TRUE(again) << again.error().message;
}

// A connection that the server ends (a restart, a failover, an administrator) fails the call
// in progress with Unavailable; the pool drops it and the next call connects again.
TEST_F(PostgresServerTest, TerminatedConnectionIsReplaced) {
  auto store = openMigrated(database().url("pool_size=1"));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->ping());

  database().query(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '" +
      database().name() + "' AND pid <> pg_backend_pid()");
  auto failed = store->ping();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().kind, StoreError::Kind::Unavailable) << failed.error().message;

  auto recovered = store->ping();
  EXPECT_TRUE(recovered) << recovered.error().message;
}

// The DETAIL of a unique violation repeats the key; the message leaves it out.
TEST_F(PostgresServerTest, ConflictMessageOmitsKeyValue) {
  auto store = openMigrated(database().url());
  ASSERT_NE(store, nullptr);
  User user{"alice", "subject-alice", "argon2-hash-placeholder", conformance::kT0};
  ASSERT_TRUE(store->insertUser(user));
  user.username = "alice-2";

  auto inserted = store->insertUser(user);
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().kind, StoreError::Kind::Conflict);
  EXPECT_EQ(inserted.error().message.find("subject-alice"), std::string::npos)
      << inserted.error().message;
}

TEST_F(PostgresServerTest, AuthorizationForUnknownClientIsInternal) {
  auto store = openMigrated(database().url());
  ASSERT_NE(store, nullptr);

  auto inserted =
      store->insertAuthorization(conformance::makeAuthorization("orphan", "unregistered"));
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().kind, StoreError::Kind::Internal);
  EXPECT_NE(inserted.error().message.find("foreign key"), std::string::npos)
      << inserted.error().message;
}

// Every instance runs the purge on its own schedule; overlapping purges must all succeed.
TEST_F(PostgresServerTest, ConcurrentPurgesAllSucceed) {
  auto first = openMigrated(database().url());
  auto second = openMigrated(database().url());
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(first->insertClient(conformance::makeClient(conformance::kClientId)));
  for (int i = 0; i < 200; ++i) {
    Authorization authorization = conformance::makeAuthorization("old-" + std::to_string(i));
    authorization.expires_at = conformance::kT0;
    ASSERT_TRUE(first->insertAuthorization(authorization));
  }

  constexpr int kPurgers = 6;
  std::latch start(kPurgers);
  std::atomic<std::size_t> deleted{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kPurgers; ++i) {
    threads.emplace_back([&, i] {
      Store& store = i % 2 == 0 ? *first : *second;
      start.arrive_and_wait();
      auto purged = store.purgeExpired(conformance::kT0 + seconds(1), conformance::kT0);
      if (purged) {
        deleted += *purged;
      } else {
        ++failures;
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(deleted.load(), 200u);
}

}  // namespace
}  // namespace devauth::testing
