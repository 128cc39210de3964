#include "store/postgres/pg_connection.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstring>

#include "core/blocking.h"
#include "metrics/metrics.h"

namespace devauth::postgres {
namespace {

constexpr int kTextFormat = 0;
constexpr int kBinaryFormat = 1;

// SQLSTATE codes (PostgreSQL 15 documentation, Appendix A) after which a retry may succeed.
constexpr std::array<std::string_view, 9> kRetryableStates = {
    "40001",  // serialization_failure
    "40P01",  // deadlock_detected
    "55P03",  // lock_not_available
    "57014",  // query_canceled, which statement_timeout raises
    "57P01",  // admin_shutdown
    "57P02",  // crash_shutdown
    "57P03",  // cannot_connect_now
    "53300",  // too_many_connections
    "53400",  // configuration_limit_exceeded
};
constexpr std::string_view kUniqueViolation = "23505";
// Class 08: connection exceptions.
constexpr std::string_view kConnectionClass = "08";

StoreError::Kind kindOf(std::string_view state, bool connection_ok) {
  if (state.empty()) {
    // libpq reports a lost connection without a SQLSTATE.
    return connection_ok ? StoreError::Kind::Internal : StoreError::Kind::Unavailable;
  }
  if (state == kUniqueViolation) {
    return StoreError::Kind::Conflict;
  }
  if (state.substr(0, 2) == kConnectionClass) {
    return StoreError::Kind::Unavailable;
  }
  for (const std::string_view retryable : kRetryableStates) {
    if (state == retryable) {
      return StoreError::Kind::Unavailable;
    }
  }
  return StoreError::Kind::Internal;
}

}  // namespace

std::string oneLine(const char* message) {
  std::string text = message == nullptr ? "" : message;
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  while (!text.empty() && text.back() == ' ') {
    text.pop_back();
  }
  return text;
}

PGconn* connectWith(const std::vector<std::string>& keywords,
                    const std::vector<std::string>& values) {
  std::vector<const char*> keyword_list;
  std::vector<const char*> value_list;
  for (std::size_t i = 0; i < keywords.size(); ++i) {
    keyword_list.push_back(keywords[i].c_str());
    value_list.push_back(values[i].c_str());
  }
  keyword_list.push_back(nullptr);
  value_list.push_back(nullptr);
  return PQconnectdbParams(keyword_list.data(), value_list.data(), /*expand_dbname=*/1);
}

void discardNotices(PGconn* connection) {
  PQsetNoticeProcessor(
      connection, [](void*, const char*) {}, nullptr);
}

// --- Params ------------------------------------------------------------------------------

Params& Params::add(std::string value, int format) {
  lengths_.push_back(static_cast<int>(value.size()));
  values_.push_back(std::move(value));
  nulls_.push_back(false);
  formats_.push_back(format);
  return *this;
}

Params& Params::text(std::string_view value) { return add(std::string(value), kTextFormat); }

Params& Params::text(const std::optional<std::string>& value) {
  return value ? text(*value) : null();
}

Params& Params::integer(long long value) { return add(std::to_string(value), kTextFormat); }

Params& Params::integer(const std::optional<long long>& value) {
  return value ? integer(*value) : null();
}

Params& Params::bytes(std::string_view value) { return add(std::string(value), kBinaryFormat); }

Params& Params::bytes(const std::optional<std::string>& value) {
  return value ? bytes(std::string_view(*value)) : null();
}

Params& Params::bytes(const SecretHash& value) {
  return bytes(std::string_view(reinterpret_cast<const char*>(value.data()), value.size()));
}

Params& Params::bytes(const std::optional<SecretHash>& value) {
  return value ? bytes(*value) : null();
}

Params& Params::null() {
  values_.emplace_back();
  nulls_.push_back(true);
  lengths_.push_back(0);
  formats_.push_back(kTextFormat);
  return *this;
}

std::vector<const char*> Params::values() const {
  std::vector<const char*> pointers;
  pointers.reserve(values_.size());
  for (std::size_t i = 0; i < values_.size(); ++i) {
    pointers.push_back(nulls_[i] ? nullptr : values_[i].data());
  }
  return pointers;
}

// --- Result ------------------------------------------------------------------------------

long long Result::changed() const {
  const char* count = PQcmdTuples(result_.get());
  long long value = 0;
  std::from_chars(count, count + std::strlen(count), value);
  return value;
}

std::string Result::text(int row, int column) const {
  return std::string(PQgetvalue(result_.get(), row, column),
                     static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::optional<std::string> Result::optionalText(int row, int column) const {
  if (isNull(row, column)) {
    return std::nullopt;
  }
  return text(row, column);
}

std::optional<long long> Result::integer(int row, int column) const {
  const char* value = PQgetvalue(result_.get(), row, column);
  const std::size_t length = static_cast<std::size_t>(PQgetlength(result_.get(), row, column));
  if (length == 1 && (value[0] == 't' || value[0] == 'f')) {
    return value[0] == 't' ? 1 : 0;
  }
  long long parsed = 0;
  const auto [end, error] = std::from_chars(value, value + length, parsed);
  if (error != std::errc() || end != value + length) {
    return std::nullopt;
  }
  return parsed;
}

std::optional<std::string> Result::bytes(int row, int column) const {
  const auto* escaped =
      reinterpret_cast<const unsigned char*>(PQgetvalue(result_.get(), row, column));
  std::size_t length = 0;
  unsigned char* raw = PQunescapeBytea(escaped, &length);
  if (raw == nullptr) {
    return std::nullopt;
  }
  std::string decoded(reinterpret_cast<const char*>(raw), length);
  PQfreemem(raw);
  return decoded;
}

// --- Connection --------------------------------------------------------------------------

StoreResult<std::unique_ptr<Connection>> Connection::open(const std::vector<std::string>& keywords,
                                                          const std::vector<std::string>& values) {
  // Every call into libpq below waits for the database server.
  const BlockingRegion waiting;
  PGconn* connection = connectWith(keywords, values);
  if (connection == nullptr) {
    return unexpected(StoreError{StoreError::Kind::Unavailable,
                                 "PostgreSQL: connecting failed: libpq is out of memory"});
  }
  if (PQstatus(connection) != CONNECTION_OK) {
    // libpq's message names the host, port and user, never the password.
    std::string message =
        fmt::format("PostgreSQL: connecting failed: {}", oneLine(PQerrorMessage(connection)));
    PQfinish(connection);
    return unexpected(StoreError{StoreError::Kind::Unavailable, std::move(message)});
  }
  // Notices such as "relation already exists, skipping" stay out of stderr.
  discardNotices(connection);
  return std::unique_ptr<Connection>(new Connection(connection));
}

Connection::~Connection() { PQfinish(connection_); }

StoreError Connection::errorFrom(const PGresult* result, std::string_view context) const {
  const char* state = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary =
      result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  // The primary message only: the DETAIL of a unique violation would repeat the key value.
  std::string message =
      primary != nullptr ? oneLine(primary) : oneLine(PQerrorMessage(connection_));
  const bool connection_ok = PQstatus(connection_) == CONNECTION_OK;
  return StoreError{kindOf(state == nullptr ? "" : state, connection_ok),
                    fmt::format("PostgreSQL: {} failed: {}", context, message)};
}

StoreResult<Result> Connection::execute(const std::string& sql, const Params& params,
                                        std::string_view context) {
  const BlockingRegion waiting;
  auto found = prepared_.find(sql);
  if (found == prepared_.end()) {
    std::string name = fmt::format("devauth_{}", prepared_.size());
    PGresult* prepared = PQprepare(connection_, name.c_str(), sql.c_str(), params.size(), nullptr);
    if (prepared == nullptr || PQresultStatus(prepared) != PGRES_COMMAND_OK) {
      StoreError error = errorFrom(prepared, context);
      PQclear(prepared);
      return unexpected(std::move(error));
    }
    PQclear(prepared);
    found = prepared_.emplace(sql, std::move(name)).first;
  }
  const std::vector<const char*> values = params.values();
  const auto started = std::chrono::steady_clock::now();
  PGresult* raw = PQexecPrepared(connection_, found->second.c_str(), params.size(), values.data(),
                                 params.lengths(), params.formats(), kTextFormat);
  metrics::recordStoreStatement(std::chrono::steady_clock::now() - started);
  const ExecStatusType status = raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    StoreError error = errorFrom(raw, context);
    PQclear(raw);
    return unexpected(std::move(error));
  }
  return Result(raw);
}

StoreResult<void> Connection::executeScript(const char* sql, std::string_view context) {
  const BlockingRegion waiting;
  PGresult* raw = PQexec(connection_, sql);
  const ExecStatusType status = raw == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(raw);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    StoreError error = errorFrom(raw, context);
    PQclear(raw);
    return unexpected(std::move(error));
  }
  PQclear(raw);
  return {};
}

bool Connection::reusable() const {
  return PQstatus(connection_) == CONNECTION_OK && PQtransactionStatus(connection_) == PQTRANS_IDLE;
}

// --- Transaction -------------------------------------------------------------------------

StoreResult<Transaction> Transaction::begin(Connection& connection) {
  auto begun = connection.executeScript("BEGIN", "BEGIN");
  if (!begun) {
    return unexpected(begun.error());
  }
  return Transaction(connection);
}

Transaction::Transaction(Transaction&& other) noexcept
    : connection_(std::exchange(other.connection_, nullptr)) {}

Transaction::~Transaction() {
  if (connection_ != nullptr) {
    // A failed ROLLBACK leaves the connection inside a transaction or broken, and the pool then
    // closes it instead of reusing it.
    (void)connection_->executeScript("ROLLBACK", "ROLLBACK");
  }
}

StoreResult<void> Transaction::commit() {
  Connection* connection = std::exchange(connection_, nullptr);
  return connection->executeScript("COMMIT", "COMMIT");
}

// --- ConnectionPool ----------------------------------------------------------------------

ConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr && connection_ != nullptr) {
    pool_->release(std::move(connection_));
  }
}

ConnectionPool::ConnectionPool(std::vector<std::string> keywords, std::vector<std::string> values,
                               PoolOptions options)
    : keywords_(std::move(keywords)),
      values_(std::move(values)),
      options_(options),
      slots_(options.max_connections) {}

StoreResult<ConnectionPool::Lease> ConnectionPool::acquire() {
  auto checkout = slots_.take(options_.acquire_timeout);
  if (!checkout.granted) {
    return unexpected(StoreError{
        StoreError::Kind::Unavailable,
        fmt::format("PostgreSQL: no pool connection became free within {} ms; all {} are in use",
                    options_.acquire_timeout.count(), options_.max_connections)});
  }
  if (checkout.idle != nullptr) {
    return Lease(this, std::move(checkout.idle));
  }
  auto opened = Connection::open(keywords_, values_);
  if (!opened) {
    slots_.abandon();
    return unexpected(opened.error());
  }
  return Lease(this, std::move(opened).value());
}

void ConnectionPool::release(std::unique_ptr<Connection> connection) {
  const bool reusable = connection->reusable();
  slots_.put(std::move(connection), reusable);
}

}  // namespace devauth::postgres
