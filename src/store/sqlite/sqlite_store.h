#pragma once

// The Store on a SQLite database file in WAL mode, shared safely by several threads and several
// processes. Each call checks a connection out of a small pool. Each state change is one
// conditional UPDATE, or for redeem one IMMEDIATE transaction, so exactly one caller wins a
// race, whether the callers share a process or not.
//
// Concurrency: every write of this process takes one write mutex, because SQLite lets one
// connection write at a time. New device authorizations are committed in groups. Rows that
// arrive while another batch is inserting wait in a queue, and one leader at a time inserts up
// to kMaxInsertBatch of them in one IMMEDIATE transaction, so that one commit serves them all.
// Each row keeps its own result, and a lone row commits at once. insertAuthorization leads
// when no one else does, and otherwise waits for its row. insertCountedThen only queues its
// row, and the store's own thread leads, so that request handlers do not wait and the queue
// contains every begin in progress. The rate-limit counters queued with a row are counted in
// the row's batch, so a begin under limits adds no commit of its own.
//
// Durability: decisions and one-time use (bind, approve, deny, redeem, and the rows they depend on:
// clients, users, sessions) commit with a WAL sync. Polling state, new device authorizations and
// rate-limit counters commit without one (sqlite::Durability::Unsynced): a power loss can lose
// the last of them, which at worst lets one poll through without slow_down, makes a device
// start over with a code the server forgot (its polls get invalid_grant, its user code is
// unknown), or forgets a few counted attempts. None of these grants anything, and any later
// synced commit makes them durable too.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/client_cache.h"
#include "store/sqlite/sqlite_checkpointer.h"
#include "store/sqlite/sqlite_handle.h"
#include "store/store.h"

namespace devauth {

struct SqliteStoreOptions {
  // Connections open at most at once; callers beyond it wait for a free one.
  std::size_t max_connections = 4;
  // How long a statement waits for another connection's lock before failing with Unavailable.
  std::chrono::milliseconds busy_timeout{5000};
  // How long findClient may return a cached client (store/client_cache.h). Zero turns it off.
  std::chrono::milliseconds client_cache_ttl{ClientCache::kDefaultTtl};
  // The page cache of each connection, in KiB (sqlite::kDefaultCacheKib).
  std::int64_t cache_kib = sqlite::kDefaultCacheKib;
  // Test seam: called by the thread that commits a batch of new authorizations, holding the
  // write mutex, just before it takes the queued rows. Empty outside tests.
  std::function<void()> before_insert_batch;
  // Test seam: called by pollPending between its read and its write, with whether the
  // transaction holds the write lock already. Empty outside tests.
  std::function<void(bool immediate)> before_poll_write;
  // Thresholds and test seam of the WAL checkpoints (sqlite_checkpointer.h).
  sqlite::CheckpointerOptions checkpoints;
};

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) the database file at `path` and checks that it is usable. Does
  // not migrate.
  static StoreResult<std::unique_ptr<SqliteStore>> open(const std::string& path,
                                                        const SqliteStoreOptions& options = {});

  // Inserts the rows that insertCountedThen queued, then ends its thread.
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

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
  void insertCountedThen(const Authorization& authorization, const InsertLimits& limits,
                         CountedInsertDone done) override;
  bool insertsInBackground() const override { return true; }
  void finishBackgroundInserts() override;
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

  // The number of insertAuthorization calls whose row is queued and not yet inserted.
  std::size_t queuedAuthorizationInserts();

  const sqlite::Checkpointer& checkpointer() const { return checkpointer_; }

  // The maximum number of rows that one transaction of insertAuthorization inserts.
  static constexpr std::size_t kMaxInsertBatch = 64;

 private:
  // A row waiting to be inserted, the counters counted with it, and the callback that takes
  // the outcome.
  struct QueuedInsert {
    std::uint64_t ticket = 0;
    Authorization authorization;
    InsertLimits limits;
    CountedInsertDone done;
  };

  SqliteStore(const std::string& path, const SqliteStoreOptions& options)
      : path_(path),
        checkpointer_(path, options.busy_timeout, options.checkpoints),
        pool_(path, options.max_connections, options.busy_timeout, sqlite::Durability::Synced,
              options.cache_kib, &checkpointer_),
        unsynced_pool_(path, options.max_connections, options.busy_timeout,
                       sqlite::Durability::Unsynced, options.cache_kib, &checkpointer_),
        clients_(options.client_cache_ttl),
        before_insert_batch_(options.before_insert_batch),
        before_poll_write_(options.before_poll_write) {}

  // Runs one attempt of pollPending on `connection`, holding write_mutex_, in a BEGIN
  // IMMEDIATE transaction when `immediate`, else in a plain BEGIN one.
  StoreResult<std::optional<PendingPoll>> pollInTransaction(
      sqlite::Connection& connection, bool immediate, const SecretHash& device_code_hash,
      const std::string& client_id, TimePoint now, const PollPolicy& policy);

  // Locks write_mutex_. A thread that has to wait for it does so inside a BlockingRegion, so
  // that its handler pool can run another thread meanwhile.
  std::unique_lock<std::mutex> lockWrites();

  // Queues a row and returns its ticket. The caller holds insert_queue_mutex_.
  std::uint64_t queueInsert(Authorization authorization, InsertLimits limits,
                            CountedInsertDone done);

  // The thread of insertCountedThen: leads whenever rows are queued and no other caller
  // leads. It inserts what is still queued before it ends.
  void runInsertWriter();

  // Inserts queued rows in batches until the queue is empty, and calls each row's callback
  // after its batch. Called with `queue` locked and no leader active, and returns with it
  // locked. On an exception the row of `own_ticket` and the rows of the batch in progress get
  // an error, and the rows still queued wait for the next leader.
  void leadInserts(std::unique_lock<std::mutex>& queue, std::uint64_t own_ticket);

  // Inserts `batch`, holding write_mutex_, and returns each row's result.
  std::vector<StoreResult<CountedInsert>> insertBatch(const std::vector<QueuedInsert>& batch);

  // approved -> redeemed, storing `token`, and `grant` with `refresh_token` when set, in one
  // IMMEDIATE transaction.
  StoreResult<bool> redeemStoring(const std::string& id, const IssuedToken* token,
                                  const Grant* grant, const RefreshToken* refresh_token,
                                  TimePoint now);

  std::string path_;
  // Subscribers to approve() and deny() of this store object.
  LocalDecisions decisions_;
  // Checkpoints the WAL for the connections of both pools, so it is declared before them and
  // outlives them.
  sqlite::Checkpointer checkpointer_;
  // Connections that sync every commit, and connections for the writes that need no sync.
  sqlite::ConnectionPool pool_;
  sqlite::ConnectionPool unsynced_pool_;
  // Held by every write of this store object. SQLite lets one connection write at a time, and
  // a connection that finds the write lock taken sleeps in its busy handler (1 ms at first), so
  // this process's writers queue here instead. Writers in other processes still meet the busy
  // timeout.
  std::mutex write_mutex_;
  ClientCache clients_;

  // The group commit of new authorizations, described at the top of this file. The first
  // caller that finds no leader becomes the leader and inserts the queued rows.
  std::mutex insert_queue_mutex_;
  std::condition_variable insert_done_;
  // Guarded by insert_queue_mutex_: rows not yet taken by a leader, oldest first.
  std::deque<QueuedInsert> insert_queue_;
  // Guarded by insert_queue_mutex_.
  std::uint64_t next_insert_ticket_ = 0;
  bool insert_leader_active_ = false;
  bool stopping_writer_ = false;
  // Serializes finishBackgroundInserts calls.
  std::mutex finish_inserts_mutex_;
  // Wakes insert_writer_ when rows are queued and no caller leads.
  std::condition_variable insert_work_;
  // A ticket that no row has.
  static constexpr std::uint64_t kNoTicket = ~std::uint64_t{0};
  std::function<void()> before_insert_batch_;
  std::function<void(bool immediate)> before_poll_write_;
  // Started by the first insertCountedThen, and declared last so that it ends, in the
  // destructor, before the members it uses.
  std::thread insert_writer_;
};

}  // namespace devauth
