#pragma once

// Throwaway PostgreSQL databases for tests. The server comes from DEVAUTH_TEST_POSTGRES_URL
// (scripts/with-postgres.sh sets it). Without it the PostgreSQL tests skip, except under CI=true,
// where they fail so that CI never passes without running them. Header-only, because
// tests/CMakeLists.txt compiles only the *_test.cc files of a test folder.

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>

namespace devauth::testing {

inline constexpr const char* kPostgresUrlVariable = "DEVAUTH_TEST_POSTGRES_URL";

// The server URL, or nullopt when the variable is unset or empty.
inline std::optional<std::string> testPostgresUrl() {
  const char* url = std::getenv(kPostgresUrlVariable);
  if (url == nullptr || *url == '\0') {
    return std::nullopt;
  }
  return std::string(url);
}

inline bool runningInCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// The message for a test that cannot run without a server: a failure under CI, else a skip.
// Returns the URL when the server is configured.
#define DEVAUTH_REQUIRE_POSTGRES_URL(url_variable)                                          \
  const std::optional<std::string> url_variable = ::devauth::testing::testPostgresUrl();    \
  if (!url_variable) {                                                                      \
    if (::devauth::testing::runningInCi()) {                                                \
      FAIL() << ::devauth::testing::kPostgresUrlVariable                                    \
             << " is not set; CI must run the PostgreSQL tests (scripts/with-postgres.sh)"; \
    }                                                                                       \
    GTEST_SKIP() << ::devauth::testing::kPostgresUrlVariable                                \
                 << " is not set; run the tests through scripts/with-postgres.sh";          \
  }

// Returns `url` with its path replaced by `/database`.
inline std::string withDatabase(const std::string& url, const std::string& database) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    ADD_FAILURE() << kPostgresUrlVariable << " is not a valid URL";
    return url;
  }
  boost::urls::url changed(*parsed);
  changed.set_path("/" + database);
  return std::string(changed.buffer());
}

// Runs `sql` on the server of `url` and returns the first column of the first row, or an empty
// string. Records a failure when the statement fails.
inline std::string runAdminSql(const std::string& url, const std::string& sql) {
  PGconn* connection = PQconnectdb(url.c_str());
  if (PQstatus(connection) != CONNECTION_OK) {
    ADD_FAILURE() << "connecting to " << kPostgresUrlVariable
                  << " failed: " << PQerrorMessage(connection);
    PQfinish(connection);
    return {};
  }
  PGresult* result = PQexec(connection, sql.c_str());
  std::string value;
  const ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    ADD_FAILURE() << sql << ": " << PQresultErrorMessage(result);
  } else if (status == PGRES_TUPLES_OK && PQntuples(result) > 0) {
    value = PQgetvalue(result, 0, 0);
  }
  PQclear(result);
  PQfinish(connection);
  return value;
}

// A new database with a random name on the test server, dropped (with its open connections)
// on destruction.
class TestDatabase {
 public:
  explicit TestDatabase(std::string server_url) : server_url_(std::move(server_url)) {
    std::random_device random;
    name_ = "devauth_test_" + std::to_string(random()) + "_" + std::to_string(random());
    runAdminSql(server_url_, "CREATE DATABASE " + name_);
  }
  ~TestDatabase() {
    runAdminSql(server_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  // The store location of this database, with `query` (such as "pool_size=2") appended.
  std::string url(const std::string& query = "") const {
    const std::string base = withDatabase(server_url_, name_);
    if (query.empty()) {
      return base;
    }
    return base + (base.find('?') == std::string::npos ? "?" : "&") + query;
  }
  // Runs `sql` in this database and returns the first column of the first row.
  std::string query(const std::string& sql) const { return runAdminSql(url(), sql); }

 private:
  std::string server_url_;
  std::string name_;
};

}  // namespace devauth::testing
