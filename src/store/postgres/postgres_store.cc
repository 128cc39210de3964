#include "store/postgres/postgres_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <charconv>
#include <utility>

#include "core/scope.h"
#include "store/postgres/pg_decision_feed.h"
#include "store/postgres/pg_rows.h"
#include "store/postgres/pg_schema.h"

namespace devauth {
namespace {

using postgres::Connection;
using postgres::ConnectionPool;
using postgres::Params;
using postgres::Result;
using postgres::Transaction;

// A lifetime in whole seconds, or NULL for "use the server's setting".
std::optional<long long> secondsOrNull(const std::optional<seconds>& value) {
  if (!value) {
    return std::nullopt;
  }
  return static_cast<long long>(value->count());
}

constexpr std::string_view kPoolSizeParameter = "pool_size";
constexpr std::string_view kPoolTimeoutParameter = "pool_timeout";
// Seconds libpq waits for a connection to be established, unless the URL sets connect_timeout.
constexpr const char* kDefaultConnectTimeout = "5";

// The key of the advisory lock that lets one purge run at a time: the bytes of "devpurge". A
// purge that finds the lock taken waits, then finds little left to delete, so instances that
// purge together neither collide nor deadlock on the same rows.
constexpr long long kPurgeLockKey = 0x6465767075726765;
// The key of the advisory lock that serialises the conditional insert of signing keys: the
// bytes of "devkeys\0". Under READ COMMITTED two transactions could both find no recent key
// and both insert; the lock makes the check and the insert one step across instances.
constexpr long long kSigningKeyLockKey = 0x6465766b65797300;

StoreError invalidLocation(std::string problem) {
  return StoreError{StoreError::Kind::Internal,
                    fmt::format("invalid PostgreSQL store location: {}", problem)};
}

// Parses a positive integer query parameter. The value is a number, never a secret, so it may
// appear in the message.
StoreResult<long long> positiveInteger(std::string_view name, std::string_view text) {
  long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value <= 0) {
    return unexpected(
        invalidLocation(fmt::format("{}={} is not a positive integer", name, std::string(text))));
  }
  return value;
}

std::optional<long long> millisOrNull(const std::optional<TimePoint>& time) {
  if (!time) {
    return std::nullopt;
  }
  return toUnixMillis(*time);
}

// --- Statement runners -------------------------------------------------------------------

StoreResult<Result> run(ConnectionPool& pool, const std::string& sql, const Params& params,
                        std::string_view context) {
  auto lease = pool.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  return (*lease)->execute(sql, params, context);
}

StoreResult<bool> changedOne(const StoreResult<Result>& result) {
  if (!result) {
    return unexpected(result.error());
  }
  return result->changed() == 1;
}

StoreResult<void> changedAny(const StoreResult<Result>& result) {
  if (!result) {
    return unexpected(result.error());
  }
  return {};
}

// Runs a query that matches at most one row and converts it with `read`.
template <typename T, typename Reader>
StoreResult<std::optional<T>> findOne(ConnectionPool& pool, const std::string& sql,
                                      const Params& params, Reader read, std::string_view context) {
  auto result = run(pool, sql, params, context);
  if (!result) {
    return unexpected(result.error());
  }
  if (result->rows() == 0) {
    return std::optional<T>();
  }
  StoreResult<T> value = read(*result, 0);
  if (!value) {
    return unexpected(value.error());
  }
  return std::optional<T>(std::move(value).value());
}

// Runs a query and converts every row with `read`.
template <typename T, typename Reader>
StoreResult<std::vector<T>> findAll(ConnectionPool& pool, const std::string& sql,
                                    const Params& params, Reader read, std::string_view context) {
  auto result = run(pool, sql, params, context);
  if (!result) {
    return unexpected(result.error());
  }
  std::vector<T> rows;
  for (int row = 0; row < result->rows(); ++row) {
    StoreResult<T> value = read(*result, row);
    if (!value) {
      return unexpected(value.error());
    }
    rows.push_back(std::move(value).value());
  }
  return rows;
}

StoreResult<long long> readCount(const Result& result, int row) {
  const auto value = result.integer(row, 0);
  if (!value) {
    return unexpected(
        StoreError{StoreError::Kind::Internal, "PostgreSQL: a count is not an integer"});
  }
  return *value;
}

// Appended to a write that needs no sync at commit: polling state, new device authorizations
// and rate-limit counters. set_config(..., true) sets synchronous_commit for the statement's own
// transaction only, so the connection keeps the server's setting for the next statement. With
// synchronous_commit off, PostgreSQL reports the commit before its WAL reaches the disk; a
// crash of the server loses at most the last such commits (about three times wal_writer_delay)
// and never leaves the database inconsistent, and a later synced commit flushes them too. A
// lost one at worst lets one poll through without slow_down, makes a device start over, or
// forgets a few counted attempts; none grants anything. Decisions and one-time use (approve,
// deny, redeem) keep the server's setting.
constexpr std::string_view kWithoutCommitSync =
    " RETURNING set_config('synchronous_commit', 'off', true)";

std::string selectFrom(std::string_view columns, std::string_view table,
                       std::string_view condition) {
  return fmt::format("SELECT {} FROM {} WHERE {}", columns, table, condition);
}

StoreResult<Result> insertToken(Connection& connection, const IssuedToken& token) {
  static const std::string sql = fmt::format(
      "INSERT INTO tokens ({}) VALUES ($1, $2, $3, $4, $5, $6, $7)", postgres::kTokenColumns);
  Params params;
  params.bytes(token.token_hash)
      .text(token.authorization_id)
      .text(token.client_id)
      .text(token.subject)
      .text(token.scope)
      .integer(toUnixMillis(token.issued_at))
      .integer(toUnixMillis(token.expires_at));
  return connection.execute(sql, params, "storing a token");
}

StoreResult<Result> insertGrant(Connection& connection, const Grant& grant) {
  static const std::string sql = fmt::format(
      "INSERT INTO grants ({}) VALUES ($1, $2, $3, $4, $5, $6, $7)", postgres::kGrantColumns);
  Params params;
  params.text(grant.id)
      .text(grant.client_id)
      .text(grant.subject)
      .text(grant.scope)
      .integer(toUnixMillis(grant.created_at))
      .integer(toUnixMillis(grant.expires_at))
      .integer(millisOrNull(grant.revoked_at));
  return connection.execute(sql, params, "storing a grant");
}

StoreResult<Result> insertRefreshToken(Connection& connection, const RefreshToken& token) {
  Params params;
  params.bytes(token.token_hash)
      .text(token.grant_id)
      .integer(toUnixMillis(token.issued_at))
      .integer(toUnixMillis(token.expires_at))
      .integer(millisOrNull(token.used_at));
  return connection.execute(
      "INSERT INTO refresh_tokens (token_hash, grant_id, issued_at, expires_at, used_at) "
      "VALUES ($1, $2, $3, $4, $5)",
      params, "storing a refresh token");
}

}  // namespace

StoreResult<PostgresLocation> parsePostgresLocation(const std::string& location) {
  auto parsed = boost::urls::parse_uri(location);
  if (!parsed) {
    return unexpected(
        invalidLocation("it is not a valid URL; use postgresql://USER@HOST/DATABASE"));
  }
  boost::urls::url url(*parsed);
  // libpq accepts only the lower-case schemes.
  url.set_scheme("postgresql");

  PostgresLocation result;
  auto params = url.params();
  for (auto it = params.begin(); it != params.end();) {
    const auto param = *it;
    if (param.key != kPoolSizeParameter && param.key != kPoolTimeoutParameter) {
      ++it;
      continue;
    }
    auto value = positiveInteger(param.key, param.value);
    if (!value) {
      return unexpected(value.error());
    }
    if (param.key == kPoolSizeParameter) {
      result.pool.max_connections = static_cast<std::size_t>(*value);
    } else {
      result.pool.acquire_timeout = std::chrono::seconds(*value);
    }
    it = params.erase(it);
  }
  if (url.params().empty()) {
    url.remove_query();
  }

  // The URL comes last: with expand_dbname, its settings override the defaults before it.
  result.keywords = {"connect_timeout", "application_name", "dbname"};
  result.values = {kDefaultConnectTimeout, "devauth", std::string(url.buffer())};
  return result;
}

StoreResult<std::unique_ptr<PostgresStore>> PostgresStore::open(const std::string& location) {
  auto parsed = parsePostgresLocation(location);
  if (!parsed) {
    return unexpected(parsed.error());
  }
  std::unique_ptr<PostgresStore> store(new PostgresStore(std::move(parsed).value()));
  // Connect now, so that a wrong host or login fails at start-up and not at the first request.
  auto lease = store->pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  return store;
}

StoreResult<void> PostgresStore::migrate() {
  auto lease = pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  return postgres::migrateSchema(**lease);
}

StoreResult<void> PostgresStore::ping() {
  return changedAny(run(pool_, "SELECT 1", Params(), "ping"));
}

// --- Clients -----------------------------------------------------------------------------

StoreResult<void> PostgresStore::insertClient(const Client& client) {
  static const std::string sql = fmt::format(
      "INSERT INTO clients ({}) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
      postgres::kClientColumns);
  Params params;
  params.text(client.id)
      .text(client.name)
      .text(toString(client.type))
      .bytes(client.secret_hash)
      .text(joinScope(client.allowed_scopes))
      .text(joinScope(client.default_scopes))
      .integer(client.device_grant ? 1 : 0)
      .integer(client.may_approve ? 1 : 0)
      .integer(static_cast<long long>(client.access_token_ttl.count()))
      .integer(toUnixMillis(client.created_at))
      .text(toString(client.access_token_format))
      .integer(client.refresh_grant ? 1 : 0)
      .integer(client.may_introspect ? 1 : 0)
      .text(toString(client.code_settings.user_code_profile))
      .integer(secondsOrNull(client.code_settings.device_code_ttl))
      .integer(secondsOrNull(client.code_settings.poll_interval))
      .integer(client.accepts_relayed_tokens ? 1 : 0);
  return changedAny(run(pool_, sql, params, "inserting a client"));
}

StoreResult<std::optional<Client>> PostgresStore::findClient(const std::string& client_id) {
  static const std::string sql = selectFrom(postgres::kClientColumns, "clients", "id = $1");
  if (auto cached = clients_.find(client_id)) {
    return cached;
  }
  const std::uint64_t generation = clients_.generation();
  auto found = findOne<Client>(pool_, sql, Params().text(client_id), postgres::readClient,
                               "finding a client");
  if (found && found->has_value()) {
    clients_.remember(**found, generation);
  }
  return found;
}

std::optional<Client> PostgresStore::findCachedClient(const std::string& client_id) {
  return clients_.find(client_id);
}

StoreResult<std::vector<Client>> PostgresStore::listClients() {
  static const std::string sql =
      fmt::format("SELECT {} FROM clients ORDER BY id", postgres::kClientColumns);
  auto result = run(pool_, sql, Params(), "listing clients");
  if (!result) {
    return unexpected(result.error());
  }
  std::vector<Client> clients;
  for (int row = 0; row < result->rows(); ++row) {
    auto client = postgres::readClient(*result, row);
    if (!client) {
      return unexpected(client.error());
    }
    clients.push_back(std::move(client).value());
  }
  return clients;
}

StoreResult<bool> PostgresStore::removeClient(const std::string& client_id) {
  auto removed = changedOne(run(pool_, "DELETE FROM clients WHERE id = $1",
                                Params().text(client_id), "removing a client"));
  clients_.forget(client_id);
  return removed;
}

// --- Users -------------------------------------------------------------------------------

StoreResult<void> PostgresStore::insertUser(const User& user) {
  static const std::string sql =
      fmt::format("INSERT INTO users ({}) VALUES ($1, $2, $3, $4)", postgres::kUserColumns);
  Params params;
  params.text(user.username)
      .text(user.subject)
      .text(user.password_hash)
      .integer(toUnixMillis(user.created_at));
  return changedAny(run(pool_, sql, params, "inserting a user"));
}

StoreResult<std::optional<User>> PostgresStore::findUser(const std::string& username) {
  static const std::string sql = selectFrom(postgres::kUserColumns, "users", "username = $1");
  return findOne<User>(pool_, sql, Params().text(username), postgres::readUser, "finding a user");
}

// The UNIQUE constraint on subject provides the index this lookup uses.
StoreResult<std::optional<User>> PostgresStore::findUserBySubject(const std::string& subject) {
  static const std::string sql = selectFrom(postgres::kUserColumns, "users", "subject = $1");
  return findOne<User>(pool_, sql, Params().text(subject), postgres::readUser,
                       "finding a user by subject");
}

StoreResult<bool> PostgresStore::removeUser(const std::string& username) {
  // The user's browser sessions go in the same transaction, which signs the user out.
  auto lease = pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  Connection& connection = **lease;
  auto transaction = Transaction::begin(connection);
  if (!transaction) {
    return unexpected(transaction.error());
  }

  auto sessions = connection.execute(
      "DELETE FROM browser_sessions WHERE subject = "
      "(SELECT subject FROM users WHERE username = $1)",
      Params().text(username), "removing a user's sessions");
  if (!sessions) {
    return unexpected(sessions.error());
  }
  auto removed = connection.execute("DELETE FROM users WHERE username = $1",
                                    Params().text(username), "removing a user");
  if (!removed) {
    return unexpected(removed.error());
  }

  auto committed = transaction->commit();
  if (!committed) {
    return unexpected(committed.error());
  }
  return removed->changed() == 1;
}

StoreResult<std::size_t> PostgresStore::countUsers() {
  auto count = findOne<long long>(pool_, "SELECT count(*) FROM users", Params(), readCount,
                                  "counting users");
  if (!count) {
    return unexpected(count.error());
  }
  return static_cast<std::size_t>(count->value_or(0));
}

// --- Device authorizations ---------------------------------------------------------------

StoreResult<void> PostgresStore::insertAuthorization(const Authorization& authorization) {
  static const std::string sql = fmt::format(
      "INSERT INTO authorizations ({}) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17){}",
      postgres::kAuthorizationColumns, kWithoutCommitSync);
  const Authorization& a = authorization;
  Params params;
  params.text(a.id)
      .bytes(a.device_code_hash)
      .bytes(a.user_code_hash)
      .text(a.client_id)
      .text(a.scope)
      .text(toString(a.state))
      .integer(toUnixMillis(a.created_at))
      .integer(toUnixMillis(a.expires_at))
      .integer(static_cast<long long>(a.interval.count()))
      .integer(millisOrNull(a.last_poll_at))
      .text(a.subject)
      .integer(millisOrNull(a.decided_at))
      .bytes(a.relay_public_key)
      .bytes(a.sealed_relay_token)
      .text(a.bound_subject)
      .text(a.request_address)
      .text(a.request_user_agent);
  return changedAny(run(pool_, sql, params, "inserting an authorization"));
}

StoreResult<std::optional<Authorization>> PostgresStore::findByDeviceCode(const SecretHash& hash) {
  static const std::string sql =
      selectFrom(postgres::kAuthorizationColumns, "authorizations", "device_code_hash = $1");
  return findOne<Authorization>(pool_, sql, Params().bytes(hash), postgres::readAuthorization,
                                "finding an authorization by device code");
}

StoreResult<std::optional<Authorization>> PostgresStore::findByUserCode(const SecretHash& hash) {
  // The UNIQUE constraint on user_code_hash provides the index this lookup uses.
  static const std::string sql =
      selectFrom(postgres::kAuthorizationColumns, "authorizations", "user_code_hash = $1");
  return findOne<Authorization>(pool_, sql, Params().bytes(hash), postgres::readAuthorization,
                                "finding an authorization by user code");
}

StoreResult<bool> PostgresStore::updatePollState(const std::string& id, const PollState& expected,
                                                 const PollState& updated) {
  // IS NOT DISTINCT FROM compares NULL with NULL as equal, for the first poll.
  Params params;
  params.integer(millisOrNull(updated.last_poll_at))
      .integer(static_cast<long long>(updated.interval.count()))
      .text(id)
      .integer(millisOrNull(expected.last_poll_at))
      .integer(static_cast<long long>(expected.interval.count()));
  static const std::string sql = fmt::format(
      "UPDATE authorizations SET last_poll_at = $1, interval_seconds = $2 "
      "WHERE id = $3 AND state = 'pending' "
      "AND last_poll_at IS NOT DISTINCT FROM $4::bigint "
      "AND interval_seconds = $5{}",
      kWithoutCommitSync);
  return changedOne(run(pool_, sql, params, "updating the polling state"));
}

StoreResult<std::optional<PendingPoll>> PostgresStore::pollPending(
    const SecretHash& device_code_hash, const std::string& client_id, TimePoint now,
    const PollPolicy& policy) {
  // One statement, so one round trip. FOR UPDATE makes concurrent polls of one code wait for
  // each other. Under READ COMMITTED the waiting one then reads the row that the first stored.
  // The CASE expressions are core decidePoll's rule for a pending, unexpired authorization. A
  // poll earlier than last_poll_at + interval - tolerance is slow_down and raises the interval
  // by the step up to the maximum, never lowering it. Any other poll is authorization_pending
  // and records `now`. The conformance test PollPendingAgreesWithDecidePoll compares the two
  // over a table of cases.
  static const std::string sql = std::string(
      "WITH polled AS ("
      "SELECT id, last_poll_at, interval_seconds FROM authorizations "
      "WHERE device_code_hash = $1 AND client_id = $2 AND state = 'pending' "
      "AND expires_at > $3::bigint FOR UPDATE), "
      "decided AS ("
      "SELECT id, last_poll_at, interval_seconds, "
      "(last_poll_at IS NOT NULL AND "
      "$3::bigint < last_poll_at + interval_seconds * 1000 - $4::bigint) AS too_early "
      "FROM polled) "
      "UPDATE authorizations AS a SET "
      "last_poll_at = CASE WHEN d.too_early THEN d.last_poll_at ELSE $3::bigint END, "
      "interval_seconds = CASE WHEN d.too_early THEN greatest(least(d.interval_seconds + "
      "$5::bigint, $6::bigint), d.interval_seconds) ELSE d.interval_seconds END "
      "FROM decided AS d WHERE a.id = d.id "
      "RETURNING a.id, d.too_early, a.expires_at, a.last_poll_at, a.interval_seconds, "
      "set_config('synchronous_commit', 'off', true)");
  Params params;
  params.bytes(device_code_hash)
      .text(client_id)
      .integer(toUnixMillis(now))
      .integer(static_cast<long long>(policy.tolerance.count()))
      .integer(static_cast<long long>(policy.slow_down_step.count()))
      .integer(static_cast<long long>(policy.max_interval.count()));
  // Unsynced: polling state only throttles polls (kWithoutCommitSync).
  auto result = run(pool_, sql, params, "recording a poll");
  if (!result) {
    return unexpected(result.error());
  }
  if (result->rows() == 0) {
    return std::optional<PendingPoll>();
  }
  const auto expires_at = result->integer(0, 2);
  if (!expires_at) {
    return unexpected(
        StoreError{StoreError::Kind::Internal, "PostgreSQL: a recorded poll has no expiry time"});
  }
  const auto last_poll_at = result->integer(0, 3);
  const auto interval = result->integer(0, 4);
  if (!interval) {
    return unexpected(
        StoreError{StoreError::Kind::Internal, "PostgreSQL: a recorded poll has no interval"});
  }
  PollState state{std::nullopt, seconds(*interval)};
  if (last_poll_at) {
    state.last_poll_at = fromUnixMillis(*last_poll_at);
  }
  return std::optional<PendingPoll>(PendingPoll{
      result->text(0, 0), result->text(0, 1) == "t" ? PollOutcome::SlowDown : PollOutcome::Pending,
      fromUnixMillis(*expires_at), state});
}

StoreResult<bool> PostgresStore::bindSubject(const std::string& id, const std::string& subject,
                                             TimePoint now) {
  // PostgreSQL counts a matched row as updated even when the value stays the same, so binding
  // again to the same subject returns true.
  Params params;
  params.text(subject).text(id).integer(toUnixMillis(now));
  return changedOne(run(pool_,
                        "UPDATE authorizations SET bound_subject = $1 "
                        "WHERE id = $2 AND state = 'pending' AND expires_at > $3 "
                        "AND (bound_subject IS NULL OR bound_subject = $1)",
                        params, "binding an authorization to a subject"));
}

// approve() and deny() notify kDecisionChannel in the statement that decides, so the notice
// is sent with the commit and only when the update changed the row.
StoreResult<bool> PostgresStore::approve(const std::string& id, const std::string& subject,
                                         const std::optional<std::string>& sealed_relay_token,
                                         TimePoint now) {
  Params params;
  params.text(subject).integer(toUnixMillis(now)).bytes(sealed_relay_token).text(id);
  static const std::string sql = fmt::format(
      "WITH decided AS (UPDATE authorizations SET state = 'approved', subject = $1, "
      "decided_at = $2, sealed_relay_token = $3 "
      "WHERE id = $4 AND state = 'pending' AND expires_at > $2 "
      "AND (bound_subject IS NULL OR bound_subject = $1) RETURNING id) "
      "SELECT pg_notify('{}', id) FROM decided",
      postgres::kDecisionChannel);
  return decide(sql, params, "approving an authorization", id);
}

StoreResult<bool> PostgresStore::decide(const std::string& sql, const Params& params,
                                        std::string_view operation, const std::string& id) {
  auto changed = changedOne(run(pool_, sql, params, operation));
  if (changed && *changed) {
    decisions_.publish(id);
  }
  return changed;
}

StoreResult<bool> PostgresStore::deny(const std::string& id, const std::string& subject,
                                      TimePoint now) {
  Params params;
  params.text(subject).integer(toUnixMillis(now)).text(id);
  static const std::string sql = fmt::format(
      "WITH decided AS (UPDATE authorizations SET state = 'denied', subject = $1, "
      "decided_at = $2 WHERE id = $3 AND state = 'pending' AND expires_at > $2 "
      "AND (bound_subject IS NULL OR bound_subject = $1) RETURNING id) "
      "SELECT pg_notify('{}', id) FROM decided",
      postgres::kDecisionChannel);
  return decide(sql, params, "denying an authorization", id);
}

StoreResult<std::unique_ptr<DecisionFeed>> PostgresStore::watchDecisions(
    DecisionCallback callback, std::function<bool()> /*watching*/) {
  // LISTEN costs nothing while no notice comes, so the feed listens all the time.
  return std::unique_ptr<DecisionFeed>(std::make_unique<postgres::PostgresDecisionFeed>(
      keywords_, values_, decisions_, std::move(callback)));
}

// Notifies like deny(), so held polls of the cancelled code answer at once.
StoreResult<bool> PostgresStore::cancelAuthorization(const std::string& id,
                                                     const std::string& subject, TimePoint now) {
  Params params;
  params.text(subject).integer(toUnixMillis(now)).text(id);
  static const std::string sql = fmt::format(
      "WITH decided AS (UPDATE authorizations SET state = 'denied', subject = $1, "
      "decided_at = $2 WHERE id = $3 AND state = 'pending' AND expires_at > $2 RETURNING id) "
      "SELECT pg_notify('{}', id) FROM decided",
      postgres::kDecisionChannel);
  return decide(sql, params, "cancelling an authorization", id);
}

StoreResult<bool> PostgresStore::redeem(const std::string& id,
                                        const std::optional<IssuedToken>& token, TimePoint now) {
  return redeemStoring(id, token ? &*token : nullptr, nullptr, nullptr, now);
}

StoreResult<bool> PostgresStore::redeemWithRefreshToken(const std::string& id,
                                                        const IssuedToken& token,
                                                        const Grant& grant,
                                                        const RefreshToken& refresh_token,
                                                        TimePoint now) {
  return redeemStoring(id, &token, &grant, &refresh_token, now);
}

StoreResult<bool> PostgresStore::redeemStoring(const std::string& id, const IssuedToken* token,
                                               const Grant* grant,
                                               const RefreshToken* refresh_token, TimePoint now) {
  auto lease = pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  Connection& connection = **lease;
  auto transaction = Transaction::begin(connection);
  if (!transaction) {
    return unexpected(transaction.error());
  }

  // Under READ COMMITTED a second redemption blocks on the row lock of the first, then
  // re-checks the WHERE clause against the committed row and matches nothing.
  auto redeemed = connection.execute(
      "UPDATE authorizations SET state = 'redeemed', sealed_relay_token = NULL "
      "WHERE id = $1 AND state = 'approved' AND expires_at > $2",
      Params().text(id).integer(toUnixMillis(now)), "redeeming an authorization");
  if (!redeemed) {
    return unexpected(redeemed.error());
  }
  if (redeemed->changed() != 1) {
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

StoreResult<std::size_t> PostgresStore::countLiveAuthorizations(const std::string& client_id,
                                                                TimePoint now) {
  auto count = findOne<long long>(pool_,
                                  "SELECT count(*) FROM authorizations WHERE client_id = $1 "
                                  "AND state = 'pending' AND expires_at > $2",
                                  Params().text(client_id).integer(toUnixMillis(now)), readCount,
                                  "counting live authorizations");
  if (!count) {
    return unexpected(count.error());
  }
  return static_cast<std::size_t>(count->value_or(0));
}

StoreResult<std::size_t> PostgresStore::purgeExpired(TimePoint cutoff, TimePoint now) {
  auto lease = pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  Connection& connection = **lease;
  auto transaction = Transaction::begin(connection);
  if (!transaction) {
    return unexpected(transaction.error());
  }
  auto locked = connection.execute("SELECT pg_advisory_xact_lock($1::bigint)",
                                   Params().integer(kPurgeLockKey), "taking the purge lock");
  if (!locked) {
    return unexpected(locked.error());
  }

  // Every authorization belongs to a client (a foreign key), so the IN matches every row. It
  // lets the planner search the (client_id, expires_at) index once per client.
  auto authorizations = connection.execute(
      "DELETE FROM authorizations WHERE client_id IN "
      "(SELECT id FROM clients) AND expires_at < $1",
      Params().integer(toUnixMillis(cutoff)), "purging authorizations");
  if (!authorizations) {
    return unexpected(authorizations.error());
  }
  auto sessions = connection.execute("DELETE FROM browser_sessions WHERE expires_at < $1",
                                     Params().integer(toUnixMillis(now)), "purging sessions");
  if (!sessions) {
    return unexpected(sessions.error());
  }
  auto tokens = connection.execute("DELETE FROM tokens WHERE expires_at < $1",
                                   Params().integer(toUnixMillis(now)), "purging tokens");
  if (!tokens) {
    return unexpected(tokens.error());
  }
  // Refresh tokens go with their grant (ON DELETE CASCADE).
  auto grants = connection.execute("DELETE FROM grants WHERE expires_at < $1",
                                   Params().integer(toUnixMillis(now)), "purging grants");
  if (!grants) {
    return unexpected(grants.error());
  }
  auto counters = connection.execute("DELETE FROM rate_counters WHERE window_end <= $1",
                                     Params().integer(toUnixMillis(now)), "purging counters");
  if (!counters) {
    return unexpected(counters.error());
  }

  auto committed = transaction->commit();
  if (!committed) {
    return unexpected(committed.error());
  }
  return static_cast<std::size_t>(authorizations->changed());
}

// --- Administration ----------------------------------------------------------------------

StoreResult<std::vector<Authorization>> PostgresStore::listLiveAuthorizations(
    const std::optional<std::string>& client_id, TimePoint now) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM authorizations WHERE client_id IN "
      "(SELECT id FROM clients WHERE $2::text IS NULL OR id = $2) AND state = 'pending' "
      "AND expires_at > $1 ORDER BY created_at, id",
      postgres::kAuthorizationColumns);
  return findAll<Authorization>(pool_, sql, Params().integer(toUnixMillis(now)).text(client_id),
                                postgres::readAuthorization, "listing live authorizations");
}

StoreResult<std::size_t> PostgresStore::countAllLiveAuthorizations(TimePoint now) {
  auto count = findOne<long long>(
      pool_,
      "SELECT count(*) FROM authorizations WHERE client_id IN (SELECT id FROM clients) "
      "AND state = 'pending' AND expires_at > $1",
      Params().integer(toUnixMillis(now)), readCount, "counting live authorizations");
  if (!count) {
    return unexpected(count.error());
  }
  return static_cast<std::size_t>(count->value_or(0));
}

StoreResult<std::vector<UserGrant>> PostgresStore::listUserGrants(const std::string& subject) {
  static const std::string authorizations_sql = fmt::format(
      "SELECT {} FROM authorizations WHERE subject = $1 AND state IN ('approved', 'redeemed') "
      "ORDER BY decided_at DESC, id",
      postgres::kAuthorizationColumns);
  static const std::string tokens_sql =
      fmt::format("SELECT {} FROM tokens WHERE authorization_id = $1 ORDER BY issued_at",
                  postgres::kTokenColumns);
  auto authorizations = findAll<Authorization>(pool_, authorizations_sql, Params().text(subject),
                                               postgres::readAuthorization, "listing grants");
  if (!authorizations) {
    return unexpected(authorizations.error());
  }
  std::vector<UserGrant> grants;
  for (auto& authorization : *authorizations) {
    auto tokens = findAll<IssuedToken>(pool_, tokens_sql, Params().text(authorization.id),
                                       postgres::readToken, "listing a grant's tokens");
    if (!tokens) {
      return unexpected(tokens.error());
    }
    grants.push_back(UserGrant{std::move(authorization), std::move(tokens).value()});
  }
  return grants;
}

StoreResult<bool> PostgresStore::revokeUserGrant(const std::string& authorization_id,
                                                 const std::string& subject) {
  auto lease = pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  Connection& connection = **lease;
  auto transaction = Transaction::begin(connection);
  if (!transaction) {
    return unexpected(transaction.error());
  }

  // The row lock of the UPDATE orders a revocation against a concurrent redemption.
  auto found = connection.execute(
      "UPDATE authorizations SET state = CASE state WHEN 'approved' THEN 'denied' ELSE state "
      "END, sealed_relay_token = NULL "
      "WHERE id = $1 AND subject = $2 AND state IN ('approved', 'redeemed')",
      Params().text(authorization_id).text(subject), "revoking a grant");
  if (!found) {
    return unexpected(found.error());
  }
  if (found->changed() != 1) {
    return false;
  }
  auto tokens = connection.execute("DELETE FROM tokens WHERE authorization_id = $1",
                                   Params().text(authorization_id), "revoking a grant's tokens");
  if (!tokens) {
    return unexpected(tokens.error());
  }

  auto committed = transaction->commit();
  if (!committed) {
    return unexpected(committed.error());
  }
  return true;
}

StoreResult<bool> PostgresStore::setClientSecret(const std::string& client_id,
                                                 const SecretHash& secret_hash) {
  Params params;
  params.bytes(secret_hash).text(client_id).text(toString(ClientType::Confidential));
  auto changed =
      changedOne(run(pool_, "UPDATE clients SET secret_hash = $1 WHERE id = $2 AND type = $3",
                     params, "setting a client secret"));
  clients_.forget(client_id);
  return changed;
}

StoreResult<bool> PostgresStore::setClientCodeSettings(const std::string& client_id,
                                                       const ClientCodeSettings& settings) {
  Params params;
  params.text(toString(settings.user_code_profile))
      .integer(secondsOrNull(settings.device_code_ttl))
      .integer(secondsOrNull(settings.poll_interval))
      .text(client_id);
  auto changed = changedOne(run(pool_,
                                "UPDATE clients SET user_code_profile = $1, "
                                "device_code_ttl_seconds = $2, poll_interval_seconds = $3 "
                                "WHERE id = $4",
                                params, "setting a client's code settings"));
  clients_.forget(client_id);
  return changed;
}

StoreResult<bool> PostgresStore::setClientAcceptsRelayedTokens(const std::string& client_id,
                                                               bool accepts) {
  Params params;
  params.integer(accepts ? 1 : 0).text(client_id);
  auto changed =
      changedOne(run(pool_, "UPDATE clients SET accepts_relayed_tokens = $1 WHERE id = $2", params,
                     "setting whether a client accepts relayed tokens"));
  clients_.forget(client_id);
  return changed;
}

// --- Tokens ------------------------------------------------------------------------------

StoreResult<std::optional<IssuedToken>> PostgresStore::findToken(const SecretHash& hash) {
  static const std::string sql = selectFrom(postgres::kTokenColumns, "tokens", "token_hash = $1");
  return findOne<IssuedToken>(pool_, sql, Params().bytes(hash), postgres::readToken,
                              "finding a token");
}

StoreResult<bool> PostgresStore::removeToken(const SecretHash& hash) {
  return changedOne(run(pool_, "DELETE FROM tokens WHERE token_hash = $1", Params().bytes(hash),
                        "removing a token"));
}

// --- Grants and refresh tokens -----------------------------------------------------------

StoreResult<std::optional<Grant>> PostgresStore::findGrant(const std::string& id) {
  static const std::string sql = selectFrom(postgres::kGrantColumns, "grants", "id = $1");
  return findOne<Grant>(pool_, sql, Params().text(id), postgres::readGrant, "finding a grant");
}

StoreResult<std::optional<RefreshTokenRecord>> PostgresStore::findRefreshToken(
    const SecretHash& hash) {
  static const std::string sql =
      selectFrom(postgres::kRefreshTokenColumns,
                 "refresh_tokens r JOIN grants g ON g.id = r.grant_id", "r.token_hash = $1");
  return findOne<RefreshTokenRecord>(pool_, sql, Params().bytes(hash), postgres::readRefreshToken,
                                     "finding a refresh token");
}

StoreResult<bool> PostgresStore::rotateRefreshToken(const SecretHash& used_hash,
                                                    const RefreshToken& next,
                                                    const IssuedToken& token, TimePoint now) {
  auto lease = pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  Connection& connection = **lease;
  auto transaction = Transaction::begin(connection);
  if (!transaction) {
    return unexpected(transaction.error());
  }

  // Under READ COMMITTED a concurrent rotation of the same token blocks on the row lock, then
  // re-checks used_at IS NULL against the committed row and matches nothing.
  auto used = connection.execute(
      "UPDATE refresh_tokens SET used_at = $1 "
      "WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 "
      "AND grant_id IN (SELECT id FROM grants WHERE revoked_at IS NULL AND expires_at > $1)",
      Params().integer(toUnixMillis(now)).bytes(used_hash), "using a refresh token");
  if (!used) {
    return unexpected(used.error());
  }
  if (used->changed() != 1) {
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

StoreResult<bool> PostgresStore::revokeGrant(const std::string& id, TimePoint now) {
  return changedOne(run(pool_,
                        "UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                        Params().integer(toUnixMillis(now)).text(id), "revoking a grant"));
}

// --- Browser sessions --------------------------------------------------------------------

StoreResult<void> PostgresStore::insertSession(const BrowserSession& session) {
  static const std::string sql = fmt::format(
      "INSERT INTO browser_sessions ({}) VALUES ($1, $2, $3, $4)", postgres::kSessionColumns);
  Params params;
  params.bytes(session.id_hash)
      .text(session.subject)
      .integer(toUnixMillis(session.created_at))
      .integer(toUnixMillis(session.expires_at));
  return changedAny(run(pool_, sql, params, "inserting a session"));
}

StoreResult<std::optional<BrowserSession>> PostgresStore::findSession(const SecretHash& id_hash) {
  static const std::string sql =
      selectFrom(postgres::kSessionColumns, "browser_sessions", "id_hash = $1");
  return findOne<BrowserSession>(pool_, sql, Params().bytes(id_hash), postgres::readSession,
                                 "finding a session");
}

StoreResult<bool> PostgresStore::setSessionSubject(const SecretHash& id_hash,
                                                   const std::string& subject) {
  return changedOne(run(pool_, "UPDATE browser_sessions SET subject = $1 WHERE id_hash = $2",
                        Params().text(subject).bytes(id_hash), "setting a session's subject"));
}

StoreResult<bool> PostgresStore::removeSession(const SecretHash& id_hash) {
  return changedOne(run(pool_, "DELETE FROM browser_sessions WHERE id_hash = $1",
                        Params().bytes(id_hash), "removing a session"));
}

// --- Rate-limit counters -----------------------------------------------------------------

namespace {

// The start of the fixed window of length `window` that contains `now` (Store contract).
long long windowStart(milliseconds window, TimePoint now) {
  const long long length = std::max<long long>(window.count(), 1);
  const long long millis = toUnixMillis(now);
  return millis - ((millis % length) + length) % length;
}

}  // namespace

StoreResult<std::int64_t> PostgresStore::incrementCounter(const std::string& key,
                                                          milliseconds window, TimePoint now) {
  // INSERT ... ON CONFLICT DO UPDATE is atomic, so concurrent increments from any instance are
  // never lost. An increment dated before the stored window counts in the stored window, so the
  // window never moves backwards when the instances' clocks differ slightly. The increment
  // commits without a sync (kWithoutCommitSync).
  const long long start = windowStart(window, now);
  auto count = findOne<long long>(
      pool_,
      "INSERT INTO rate_counters AS c (key, window_start, window_end, count) "
      "VALUES ($1, $2, $3, 1) ON CONFLICT (key) DO UPDATE SET "
      "count = CASE WHEN excluded.window_start > c.window_start THEN 1 ELSE c.count + 1 END, "
      "window_end = greatest(c.window_end, excluded.window_end), "
      "window_start = greatest(c.window_start, excluded.window_start) "
      "RETURNING count, set_config('synchronous_commit', 'off', true)",
      Params().text(key).integer(start).integer(start + window.count()), readCount,
      "incrementing a counter");
  if (!count) {
    return unexpected(count.error());
  }
  if (!count->has_value()) {
    return unexpected(
        StoreError{StoreError::Kind::Internal, "PostgreSQL: the counter upsert returned no row"});
  }
  return static_cast<std::int64_t>(**count);
}

StoreResult<std::int64_t> PostgresStore::readCounter(const std::string& key, milliseconds window,
                                                     TimePoint now) {
  auto count = findOne<long long>(
      pool_, "SELECT count FROM rate_counters WHERE key = $1 AND window_start = $2",
      Params().text(key).integer(windowStart(window, now)), readCount, "reading a counter");
  if (!count) {
    return unexpected(count.error());
  }
  return static_cast<std::int64_t>(count->value_or(0));
}

// --- Signing keys ------------------------------------------------------------------------

StoreResult<bool> PostgresStore::insertSigningKey(const SigningKeyRecord& key,
                                                  TimePoint unless_created_after) {
  static const std::string sql = fmt::format(
      "INSERT INTO signing_keys ({}) SELECT $1, $2, $3, $4, $5 "
      "WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE created_at > $6)",
      postgres::kSigningKeyColumns);
  auto lease = pool_.acquire();
  if (!lease) {
    return unexpected(lease.error());
  }
  Connection& connection = **lease;
  auto transaction = Transaction::begin(connection);
  if (!transaction) {
    return unexpected(transaction.error());
  }
  auto locked =
      connection.execute("SELECT pg_advisory_xact_lock($1::bigint)",
                         Params().integer(kSigningKeyLockKey), "taking the signing key lock");
  if (!locked) {
    return unexpected(locked.error());
  }
  Params params;
  params.text(key.kid)
      .text(key.algorithm)
      .text(key.public_jwk)
      .bytes(key.encrypted_private_key)
      .integer(toUnixMillis(key.created_at))
      .integer(toUnixMillis(unless_created_after));
  auto inserted = connection.execute(sql, params, "inserting a signing key");
  if (!inserted) {
    return unexpected(inserted.error());
  }
  auto committed = transaction->commit();
  if (!committed) {
    return unexpected(committed.error());
  }
  return inserted->changed() == 1;
}

StoreResult<std::vector<SigningKeyRecord>> PostgresStore::listSigningKeys() {
  static const std::string sql =
      fmt::format("SELECT {} FROM signing_keys ORDER BY created_at DESC, kid DESC",
                  postgres::kSigningKeyColumns);
  auto result = run(pool_, sql, Params(), "listing signing keys");
  if (!result) {
    return unexpected(result.error());
  }
  std::vector<SigningKeyRecord> keys;
  for (int row = 0; row < result->rows(); ++row) {
    auto key = postgres::readSigningKey(*result, row);
    if (!key) {
      return unexpected(key.error());
    }
    keys.push_back(std::move(key).value());
  }
  return keys;
}

StoreResult<std::size_t> PostgresStore::removeRetiredSigningKeys(TimePoint cutoff) {
  auto removed = run(pool_,
                     "DELETE FROM signing_keys AS old WHERE EXISTS (SELECT 1 FROM signing_keys "
                     "AS newer WHERE newer.created_at > old.created_at AND newer.created_at <= $1)",
                     Params().integer(toUnixMillis(cutoff)), "removing retired signing keys");
  if (!removed) {
    return unexpected(removed.error());
  }
  return static_cast<std::size_t>(removed->changed());
}

}  // namespace devauth
