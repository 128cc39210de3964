#pragma once

// The Store on a PostgreSQL server through libpq, for several devauth instances that share one
// database. Each call checks a connection out of a bounded pool. Each state change is one
// conditional UPDATE whose affected row count says whether this caller won, and redeem is one
// transaction, so exactly one caller wins a race across threads and processes.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/client_cache.h"
#include "store/postgres/pg_connection.h"
#include "store/store.h"

namespace devauth {

// A store location `postgresql://` or `postgres://` URL, split into libpq connection
// parameters and the pool settings that devauth reads from the query:
//   pool_size=N      connections open at most at once (default 8)
//   pool_timeout=S   seconds a request waits for a free connection (default 5)
// Every other query parameter (sslmode, connect_timeout, ...) goes to libpq unchanged.
struct PostgresLocation {
  // PQconnectdbParams keywords and values, without the final nullptr.
  std::vector<std::string> keywords;
  std::vector<std::string> values;
  postgres::PoolOptions pool;
};

// Fails with Internal when `location` is not a valid URL or a pool setting is not a positive
// integer. The message never repeats the location, which may contain a password.
StoreResult<PostgresLocation> parsePostgresLocation(const std::string& location);

class PostgresStore final : public Store {
 public:
  // Connects once to check that the server is reachable and the login works. Does not migrate.
  static StoreResult<std::unique_ptr<PostgresStore>> open(const std::string& location);

  StoreResult<void> migrate() override;
  StoreResult<void> ping() override;

  StoreResult<void> insertClient(const Client& client) override;
  StoreResult<std::optional<Client>> findClient(const std::string& client_id) override;
  std::optional<Client> findCachedClient(const std::string& client_id) override;
  StoreResult<std::vector<Client>> listClients() override;
  StoreResult<bool> removeClient(const std::string& client_id) override;

  StoreResult<void> insertUser(const User& user) override;
  StoreResult<std::optional<User>> findUser(const std::string& username) override;
  StoreResult<std::optional<User>> findUserBySubject(const std::string& subject) override;
  StoreResult<bool> removeUser(const std::string& username) override;
  StoreResult<std::size_t> countUsers() override;

  StoreResult<void> insertAuthorization(const Authorization& authorization) override;
  StoreResult<std::optional<Authorization>> findByDeviceCode(const SecretHash& hash) override;
  StoreResult<std::optional<Authorization>> findByUserCode(const SecretHash& hash) override;
  StoreResult<bool> updatePollState(const std::string& id, const PollState& expected,
                                    const PollState& updated) override;
  StoreResult<std::optional<PendingPoll>> pollPending(const SecretHash& device_code_hash,
                                                      const std::string& client_id, TimePoint now,
                                                      const PollPolicy& policy) override;
  StoreResult<bool> bindSubject(const std::string& id, const std::string& subject,
                                TimePoint now) override;
  StoreResult<bool> approve(const std::string& id, const std::string& subject,
                            const std::optional<std::string>& sealed_relay_token,
                            TimePoint now) override;
  StoreResult<bool> deny(const std::string& id, const std::string& subject, TimePoint now) override;
  StoreResult<std::unique_ptr<DecisionFeed>> watchDecisions(
      DecisionCallback callback, std::function<bool()> watching) override;
  StoreResult<bool> cancelAuthorization(const std::string& id, const std::string& subject,
                                        TimePoint now) override;
  StoreResult<bool> redeem(const std::string& id, const std::optional<IssuedToken>& token,
                           TimePoint now) override;
  StoreResult<std::size_t> countLiveAuthorizations(const std::string& client_id,
                                                   TimePoint now) override;
  StoreResult<std::size_t> purgeExpired(TimePoint cutoff, TimePoint now) override;

  StoreResult<std::vector<Authorization>> listLiveAuthorizations(
      const std::optional<std::string>& client_id, TimePoint now) override;
  StoreResult<std::size_t> countAllLiveAuthorizations(TimePoint now) override;
  StoreResult<std::vector<UserGrant>> listUserGrants(const std::string& subject) override;
  StoreResult<bool> revokeUserGrant(const std::string& authorization_id,
                                    const std::string& subject) override;
  StoreResult<bool> setClientSecret(const std::string& client_id,
                                    const SecretHash& secret_hash) override;
  StoreResult<bool> setClientCodeSettings(const std::string& client_id,
                                          const ClientCodeSettings& settings) override;
  StoreResult<bool> setClientAcceptsRelayedTokens(const std::string& client_id,
                                                  bool accepts) override;

  StoreResult<std::optional<IssuedToken>> findToken(const SecretHash& hash) override;
  StoreResult<bool> removeToken(const SecretHash& hash) override;

  StoreResult<bool> redeemWithRefreshToken(const std::string& id, const IssuedToken& token,
                                           const Grant& grant, const RefreshToken& refresh_token,
                                           TimePoint now) override;
  StoreResult<std::optional<Grant>> findGrant(const std::string& id) override;
  StoreResult<std::optional<RefreshTokenRecord>> findRefreshToken(const SecretHash& hash) override;
  StoreResult<bool> rotateRefreshToken(const SecretHash& used_hash, const RefreshToken& next,
                                       const IssuedToken& token, TimePoint now) override;
  StoreResult<bool> revokeGrant(const std::string& id, TimePoint now) override;

  StoreResult<void> insertSession(const BrowserSession& session) override;
  StoreResult<std::optional<BrowserSession>> findSession(const SecretHash& id_hash) override;
  StoreResult<bool> setSessionSubject(const SecretHash& id_hash,
                                      const std::string& subject) override;
  StoreResult<bool> removeSession(const SecretHash& id_hash) override;

  StoreResult<std::int64_t> incrementCounter(const std::string& key, milliseconds window,
                                             TimePoint now) override;
  StoreResult<std::int64_t> readCounter(const std::string& key, milliseconds window,
                                        TimePoint now) override;

  StoreResult<bool> insertSigningKey(const SigningKeyRecord& key,
                                     TimePoint unless_created_after) override;
  StoreResult<std::vector<SigningKeyRecord>> listSigningKeys() override;
  StoreResult<std::size_t> removeRetiredSigningKeys(TimePoint cutoff) override;

 private:
  explicit PostgresStore(PostgresLocation location)
      : keywords_(location.keywords),
        values_(location.values),
        pool_(std::move(location.keywords), std::move(location.values), location.pool) {}

  // Runs a decision statement (approve, deny or cancel) that calls pg_notify for the row it
  // changed, and wakes this process's held polls of `id` when it changed one.
  StoreResult<bool> decide(const std::string& sql, const postgres::Params& params,
                           std::string_view operation, const std::string& id);

  // approved -> redeemed, storing `token`, and `grant` with `refresh_token` when set, in one
  // transaction.
  StoreResult<bool> redeemStoring(const std::string& id, const IssuedToken* token,
                                  const Grant* grant, const RefreshToken* refresh_token,
                                  TimePoint now);

  // The connection parameters, for the decision feed's own connection.
  const std::vector<std::string> keywords_;
  const std::vector<std::string> values_;
  postgres::ConnectionPool pool_;
  // Subscribers to approve() and deny() of this store object.
  LocalDecisions decisions_;
  // findClient returns clients from here for up to ClientCache::kDefaultTtl.
  ClientCache clients_;
};

}  // namespace devauth
