#pragma once

// libpq wrappers for the PostgreSQL store: query parameters, results, connections with a cache
// of prepared statements, transactions, and a bounded connection pool. Every failure becomes a
// StoreError whose message names the operation and never contains a password or a parameter.

#include <libpq-fe.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/secret.h"
#include "store/connection_slots.h"
#include "store/store.h"

namespace devauth::postgres {

// Returns `message` on one line for the log: its lines joined by spaces, without the final
// newline. libpq puts a newline at the end of its messages and between the lines of a long one.
std::string oneLine(const char* message);

// Connects with PQconnectdbParams. `keywords` and `values` are parallel lists without the final
// nullptr that libpq expects. Returns null only when libpq is out of memory, so the caller
// checks PQstatus and frees the connection with PQfinish.
PGconn* connectWith(const std::vector<std::string>& keywords,
                    const std::vector<std::string>& values);

// Discards the notices that the server sends on `connection`, which libpq would otherwise
// print to stderr, outside the structured log. Among them is the FATAL message of a backend
// that an administrator terminated while the connection was idle.
void discardNotices(PGconn* connection);

// Parameters of one statement. Integers and text go in text format; bytea goes in binary
// format, so hashes are sent as their raw 32 bytes without escaping.
class Params {
 public:
  Params& text(std::string_view value);
  Params& text(const std::string& value) { return text(std::string_view(value)); }
  Params& text(const char* value) { return text(std::string_view(value)); }
  Params& text(const std::optional<std::string>& value);
  Params& integer(long long value);
  Params& integer(const std::optional<long long>& value);
  Params& bytes(std::string_view value);
  Params& bytes(const std::string& value) { return bytes(std::string_view(value)); }
  Params& bytes(const std::optional<std::string>& value);
  Params& bytes(const SecretHash& value);
  Params& bytes(const std::optional<SecretHash>& value);
  Params& null();

  int size() const { return static_cast<int>(values_.size()); }
  // Arrays in the form PQexecPrepared takes. Valid until the next change to this object.
  std::vector<const char*> values() const;
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  Params& add(std::string value, int format);

  std::vector<std::string> values_;
  std::vector<bool> nulls_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// A query result in text format. Columns are read by index.
class Result {
 public:
  explicit Result(PGresult* result) : result_(result, &PQclear) {}

  int rows() const { return PQntuples(result_.get()); }
  // The number of rows an INSERT, UPDATE or DELETE changed.
  long long changed() const;

  bool isNull(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  std::string text(int row, int column) const;
  std::optional<std::string> optionalText(int row, int column) const;
  // Parses a bigint, integer or boolean ('t'/'f') column. Returns nullopt when the text is
  // neither.
  std::optional<long long> integer(int row, int column) const;
  // Decodes a bytea column. Returns nullopt when the text is not in bytea hex format.
  std::optional<std::string> bytes(int row, int column) const;

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> result_;
};

class Connection {
 public:
  // Connects with libpq (connectWith). Fails with Unavailable when the server cannot be reached
  // or rejects the login.
  static StoreResult<std::unique_ptr<Connection>> open(const std::vector<std::string>& keywords,
                                                       const std::vector<std::string>& values);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs `sql` with `params` as a prepared statement, preparing it on first use on this
  // connection. `context` names the operation in error messages.
  StoreResult<Result> execute(const std::string& sql, const Params& params,
                              std::string_view context);

  // Runs one or more statements without parameters through the simple query protocol.
  StoreResult<void> executeScript(const char* sql, std::string_view context);

  // Whether the connection is open and outside a transaction, so the pool may hand it out again.
  bool reusable() const;

 private:
  explicit Connection(PGconn* connection) : connection_(connection) {}

  StoreError errorFrom(const PGresult* result, std::string_view context) const;

  PGconn* connection_;
  // Statement text to prepared statement name.
  std::unordered_map<std::string, std::string> prepared_;
};

// BEGIN on construction; ROLLBACK on destruction unless commit() succeeded.
class Transaction {
 public:
  static StoreResult<Transaction> begin(Connection& connection);
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();

  StoreResult<void> commit();

 private:
  explicit Transaction(Connection& connection) : connection_(&connection) {}

  Connection* connection_;
};

struct PoolOptions {
  // Connections open at most at once. Callers beyond it wait for a free one.
  std::size_t max_connections = 8;
  // How long a caller waits for a free connection before failing with Unavailable.
  std::chrono::milliseconds acquire_timeout{5000};
};

// A bounded pool of connections to one server, opened on demand. A connection that broke or was
// left inside a transaction is closed instead of being returned to the pool.
class ConnectionPool {
 public:
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();

    Connection& operator*() const { return *connection_; }
    Connection* operator->() const { return connection_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  // `keywords` and `values` as for connectWith.
  ConnectionPool(std::vector<std::string> keywords, std::vector<std::string> values,
                 PoolOptions options);

  // Returns an idle connection, opens a new one while fewer than max_connections are open, or
  // waits up to acquire_timeout for one to be released. Fails with Unavailable on timeout or
  // when connecting fails.
  StoreResult<Lease> acquire();

 private:
  void release(std::unique_ptr<Connection> connection);

  const std::vector<std::string> keywords_;
  const std::vector<std::string> values_;
  const PoolOptions options_;
  ConnectionSlots<Connection> slots_;
};

}  // namespace devauth::postgres
