#pragma once

// The storage interface. Endpoints and pages reach the database only through it, so both
// backends (SQLite and PostgreSQL) run the same conformance tests.
//
// Contract for every backend:
// - All methods are safe to call concurrently from many threads and many processes that share
//   the database.
// - Every state change is one conditional update that succeeds for exactly one caller. The
//   method returns whether this caller won, and false when the condition did not hold.
// - Secrets are passed and stored as SHA-256 hashes only.
// - Errors are values: a method fails with StoreError (I/O, busy, corrupt), never by throwing.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/authorization.h"
#include "core/client.h"
#include "core/expected.h"
#include "core/grant.h"
#include "core/signing_key.h"
#include "store/decision_feed.h"

namespace devauth {

struct StoreError {
  enum class Kind {
    // The database is busy or unreachable, so retrying later may succeed (HTTP 503).
    Unavailable,
    // A uniqueness constraint failed, for example a user code that collides with a live one.
    Conflict,
    // Anything else, such as a broken invariant, a corrupt file or a failed migration (HTTP 500).
    Internal,
  };
  Kind kind = Kind::Internal;
  std::string message;
};

template <typename T>
using StoreResult = Expected<T, StoreError>;

// An approved authorization of a person and the tokens issued from it. Revoking the grant
// deletes the tokens and keeps a device that has not redeemed yet from redeeming.
struct UserGrant {
  Authorization authorization;
  std::vector<IssuedToken> tokens;
};

// The polling state read before a poll, used as the compare-and-set condition.
struct PollState {
  std::optional<TimePoint> last_poll_at;
  seconds interval{0};
};

// A poll of a pending authorization that pollPending decided and recorded (RFC 8628 §3.5).
struct PendingPoll {
  std::string authorization_id;
  // Pending (authorization_pending) or SlowDown (slow_down).
  PollOutcome outcome = PollOutcome::Pending;
  TimePoint expires_at{};
  // The polling state stored after this poll.
  PollState state;
};

// A rate-limit counter that Store::insertCountedThen adds one to in the transaction that
// inserts the row, as incrementCounter would.
struct RequestCounter {
  std::string key;
  milliseconds window{};
  // The row is inserted only when the new count is at most this.
  std::int64_t max_count = 0;
};

// The counters of one insertCountedThen call, and the time their windows are taken at.
struct InsertLimits {
  std::vector<RequestCounter> counters;
  TimePoint now{};
};

// The outcome of insertCountedThen: each counter's count after its increment, in the order of
// InsertLimits::counters, and whether the row was inserted, which it is only when no count
// went over its max_count.
struct CountedInsert {
  bool inserted = false;
  std::vector<std::int64_t> counts;
};

// The steps of Store::insertCountedThen, for a store to run in its own transaction: adds one
// to each counter of `limits` with `increment`, then runs `insert` unless a count went over its
// max_count.
StoreResult<CountedInsert> countThenInsert(
    const InsertLimits& limits,
    const std::function<StoreResult<std::int64_t>(const RequestCounter&)>& increment,
    const std::function<StoreResult<void>()>& insert);

class Store {
 public:
  virtual ~Store() = default;

  // Creates or upgrades the schema. Safe to run at every start and from several processes.
  virtual StoreResult<void> migrate() = 0;

  // Checks that the database responds to a trivial query.
  virtual StoreResult<void> ping() = 0;

  // --- Clients ---------------------------------------------------------------------------

  // Fails with Conflict when a client with the same id exists.
  virtual StoreResult<void> insertClient(const Client& client) = 0;
  // May read from a per-store cache (store/client_cache.h): a client removed, or a secret
  // changed, through another store object or process is still found for up to
  // ClientCache::kDefaultTtl. A method that changes a client must forget its cache entry.
  virtual StoreResult<std::optional<Client>> findClient(const std::string& client_id) = 0;
  // Returns the client from that cache, without a database read. Returns nullopt when it is not
  // cached or its entry expired, and always for a store without a cache.
  virtual std::optional<Client> findCachedClient(const std::string& /*client_id*/) {
    return std::nullopt;
  }
  virtual StoreResult<std::vector<Client>> listClients() = 0;
  // Returns whether a client was removed. Its device authorizations and tokens go with it.
  virtual StoreResult<bool> removeClient(const std::string& client_id) = 0;

  // --- Users -----------------------------------------------------------------------------

  // Fails with Conflict when the username or the subject is taken.
  virtual StoreResult<void> insertUser(const User& user) = 0;
  virtual StoreResult<std::optional<User>> findUser(const std::string& username) = 0;
  // Finds the user whose subject is `subject`. Subjects that an approval API client set, such
  // as a call centre's customer id, have no user.
  virtual StoreResult<std::optional<User>> findUserBySubject(const std::string& subject) = 0;
  // Returns whether a user was removed. The user's browser sessions are removed with it, so a
  // removed user is signed out everywhere.
  virtual StoreResult<bool> removeUser(const std::string& username) = 0;
  virtual StoreResult<std::size_t> countUsers() = 0;

  // --- Device authorizations -------------------------------------------------------------

  // Fails with Conflict when the device code hash or user code hash is already stored; the
  // caller draws new codes and tries again. Fails with Internal when the client does not exist.
  virtual StoreResult<void> insertAuthorization(const Authorization& authorization) = 0;

  // Adds one to each counter of `limits`, then inserts the row unless a count went over its
  // max_count, and passes the outcome to `done`. An insert that fails as insertAuthorization
  // does fails the outcome. Counting and inserting are one transaction where the store can make
  // them one. A store whose insertsInBackground() is true may queue the row and call `done`
  // later on another thread. It then holds none of its locks, so `done` may call this function
  // again.
  using CountedInsertDone = std::function<void(StoreResult<CountedInsert>)>;
  virtual void insertCountedThen(const Authorization& authorization, const InsertLimits& limits,
                                 CountedInsertDone done);
  // insertCountedThen without counters.
  using InsertDone = std::function<void(StoreResult<void>)>;
  void insertAuthorizationThen(const Authorization& authorization, InsertDone done);
  // Whether insertCountedThen may return before it called `done`.
  virtual bool insertsInBackground() const { return false; }
  // Returns once every row queued by insertCountedThen is inserted and its `done` has
  // returned. The server calls it when it stops, while what the callbacks use still exists.
  virtual void finishBackgroundInserts() {}
  virtual StoreResult<std::optional<Authorization>> findByDeviceCode(const SecretHash& hash) = 0;
  virtual StoreResult<std::optional<Authorization>> findByUserCode(const SecretHash& hash) = 0;

  // Stores new polling state if the stored state still equals `expected` and the
  // authorization is pending. Returns false when another poll changed it first.
  virtual StoreResult<bool> updatePollState(const std::string& id, const PollState& expected,
                                            const PollState& updated) = 0;

  // Decides and records one poll in one atomic step, if the authorization with device code hash
  // `device_code_hash` belongs to `client_id` and is pending and unexpired at `now`. The
  // outcome and the new polling state are those of core decidePoll for the stored polling
  // state, `now` and `policy`, so of concurrent polls of one code each is decided on the state
  // that the one before it stored. Returns nullopt, changing nothing, for any other code:
  // unknown, of another client, approved, denied, redeemed or expired. The caller then reads
  // the authorization and decides from it.
  virtual StoreResult<std::optional<PendingPoll>> pollPending(const SecretHash& device_code_hash,
                                                              const std::string& client_id,
                                                              TimePoint now,
                                                              const PollPolicy& policy) = 0;

  // Sets the bound subject of `id` to `subject`, if at `now` it is pending, unexpired, and
  // unbound or already bound to `subject`. Returns false, changing nothing, when it is bound to
  // another subject or no longer open for a decision.
  virtual StoreResult<bool> bindSubject(const std::string& id, const std::string& subject,
                                        TimePoint now) = 0;

  // pending -> approved, if pending and unexpired at `now` and unbound or bound to `subject`.
  // `sealed_relay_token` is stored with it when set.
  virtual StoreResult<bool> approve(const std::string& id, const std::string& subject,
                                    const std::optional<std::string>& sealed_relay_token,
                                    TimePoint now) = 0;

  // pending -> denied, if pending and unexpired at `now` and unbound or bound to `subject`.
  virtual StoreResult<bool> deny(const std::string& id, const std::string& subject,
                                 TimePoint now) = 0;

  // pending -> denied like deny(), but whatever the bound subject: an administrator cancels the
  // code. `subject` names the administrator.
  virtual StoreResult<bool> cancelAuthorization(const std::string& id, const std::string& subject,
                                                TimePoint now) = 0;

  // approved -> redeemed, if approved and unexpired at `now`, and in the same transaction
  // stores `token` (when set). Returns false, storing nothing, when another redemption won.
  // Also clears the sealed relay token, which is delivered at most once.
  virtual StoreResult<bool> redeem(const std::string& id, const std::optional<IssuedToken>& token,
                                   TimePoint now) = 0;

  // Starts calling `callback` with the id of each authorization that approve(), deny() or
  // cancelAuthorization() moved out of pending: at once for this store object, and soon after for
  // other store objects and processes on the same database. While `watching` returns false, a
  // backend may skip the checks that cost database work. See store/decision_feed.h.
  virtual StoreResult<std::unique_ptr<DecisionFeed>> watchDecisions(
      DecisionCallback callback, std::function<bool()> watching) = 0;

  // Returns the number of authorizations of `client_id` that are pending and unexpired at
  // `now`, the codes a person could still enter.
  virtual StoreResult<std::size_t> countLiveAuthorizations(const std::string& client_id,
                                                           TimePoint now) = 0;

  // Deletes authorizations whose expires_at is before `cutoff`, and browser sessions, tokens
  // and grants that expired before `now`. A grant's refresh tokens go with it. Also deletes
  // counters whose window ended at or before `now`. Returns the number of authorizations
  // deleted.
  virtual StoreResult<std::size_t> purgeExpired(TimePoint cutoff, TimePoint now) = 0;

  // --- Administration --------------------------------------------------------------------

  // Authorizations that are pending and unexpired at `now`, oldest first: every client's, or
  // only those of `client_id` when it is set.
  virtual StoreResult<std::vector<Authorization>> listLiveAuthorizations(
      const std::optional<std::string>& client_id, TimePoint now) = 0;

  // The number of authorizations of every client that are pending and unexpired at `now`.
  virtual StoreResult<std::size_t> countAllLiveAuthorizations(TimePoint now) = 0;

  // The approved and redeemed authorizations of `subject`, newest first, with their stored
  // tokens.
  virtual StoreResult<std::vector<UserGrant>> listUserGrants(const std::string& subject) = 0;

  // In one transaction, deletes the tokens of the grant `authorization_id` of `subject` and
  // moves it from approved to denied when the device has not redeemed it yet. Returns false
  // when `subject` has no approved or redeemed authorization with that id.
  virtual StoreResult<bool> revokeUserGrant(const std::string& authorization_id,
                                            const std::string& subject) = 0;

  // Replaces the secret hash of the confidential client `client_id`. Returns false when there is
  // no confidential client with that id.
  virtual StoreResult<bool> setClientSecret(const std::string& client_id,
                                            const SecretHash& secret_hash) = 0;

  // Replaces the user code profile, code lifetime and poll interval of `client_id`. Returns
  // false when there is no client with that id. Authorizations already started keep theirs.
  virtual StoreResult<bool> setClientCodeSettings(const std::string& client_id,
                                                  const ClientCodeSettings& settings) = 0;
  // Sets whether `client_id` accepts relayed tokens. Returns false when there is no client with
  // that id. Authorizations already started keep their relay key, or their lack of one.
  virtual StoreResult<bool> setClientAcceptsRelayedTokens(const std::string& client_id,
                                                          bool accepts) = 0;

  // --- Tokens ----------------------------------------------------------------------------

  virtual StoreResult<std::optional<IssuedToken>> findToken(const SecretHash& hash) = 0;

  // Deletes one access token (RFC 7009 §2.1). Returns whether it was stored.
  virtual StoreResult<bool> removeToken(const SecretHash& hash) = 0;

  // --- Grants and refresh tokens ---------------------------------------------------------

  // Like redeem(), and in the same transaction stores `grant` and its first refresh token.
  // Returns false, storing nothing, when another redemption won.
  virtual StoreResult<bool> redeemWithRefreshToken(const std::string& id, const IssuedToken& token,
                                                   const Grant& grant,
                                                   const RefreshToken& refresh_token,
                                                   TimePoint now) = 0;

  virtual StoreResult<std::optional<Grant>> findGrant(const std::string& id) = 0;
  virtual StoreResult<std::optional<RefreshTokenRecord>> findRefreshToken(
      const SecretHash& hash) = 0;

  // Rotates a refresh token (RFC 9700 §4.14.2). In one transaction it marks `used_hash` as
  // used and stores `next` and the access token `token`, if at `now` the used token is unused
  // and within its idle lifetime and its grant is unrevoked and unexpired. Otherwise it stores
  // nothing and returns false, so exactly one of several concurrent rotations of a token wins.
  virtual StoreResult<bool> rotateRefreshToken(const SecretHash& used_hash,
                                               const RefreshToken& next, const IssuedToken& token,
                                               TimePoint now) = 0;

  // Revokes the grant `id`, and with it every refresh token and access token descending from
  // it, with one conditional update. Returns false when it was already revoked or is unknown.
  virtual StoreResult<bool> revokeGrant(const std::string& id, TimePoint now) = 0;

  // --- Browser sessions of the verification pages ----------------------------------------

  virtual StoreResult<void> insertSession(const BrowserSession& session) = 0;
  virtual StoreResult<std::optional<BrowserSession>> findSession(const SecretHash& id_hash) = 0;
  // Sets the subject after sign-in. Returns false when the session is gone.
  virtual StoreResult<bool> setSessionSubject(const SecretHash& id_hash,
                                              const std::string& subject) = 0;
  virtual StoreResult<bool> removeSession(const SecretHash& id_hash) = 0;

  // --- Rate-limit counters ---------------------------------------------------------------
  //
  // Fixed-window counters shared by every instance on the database. The window of length
  // `window` that contains `now` starts at the largest multiple of `window` since the Unix
  // epoch that is not after `now`, so every instance computes the same window. `key` is an
  // opaque string of at most 200 bytes that the caller builds without secrets in clear.
  // `window` is positive.

  // Adds one to `key` in the window containing `now` and returns the new count. A counter
  // from an earlier window starts again at one; an increment dated before the stored window
  // (clocks of instances differ) counts in the stored window. Concurrent increments are never
  // lost.
  virtual StoreResult<std::int64_t> incrementCounter(const std::string& key, milliseconds window,
                                                     TimePoint now) = 0;

  // Returns the count of `key` in the window containing `now`: 0 when it was not incremented
  // in that window.
  virtual StoreResult<std::int64_t> readCounter(const std::string& key, milliseconds window,
                                                TimePoint now) = 0;

  // --- Signing keys ----------------------------------------------------------------------

  // Inserts `key` unless a key created after `unless_created_after` is stored. The check and
  // the insert are atomic across every instance on the database, so instances that rotate at
  // the same moment add one key between them. Returns whether `key` was inserted. Fails with
  // Conflict when its kid is taken.
  virtual StoreResult<bool> insertSigningKey(const SigningKeyRecord& key,
                                             TimePoint unless_created_after) = 0;
  // Returns every stored key, the newest first (by created_at, then kid).
  virtual StoreResult<std::vector<SigningKeyRecord>> listSigningKeys() = 0;
  // Deletes every key that a newer key created at or before `cutoff` replaced, and returns how
  // many it deleted. The newest key is never deleted.
  virtual StoreResult<std::size_t> removeRetiredSigningKeys(TimePoint cutoff) = 0;
};

// Settings of openStore that one backend uses and the other ignores.
struct StoreOptions {
  // SQLite: the page cache of each connection, in KiB. Empty for the backend's default.
  std::optional<std::int64_t> sqlite_cache_kib;
};

// Opens the store named by `location`: a file path or `sqlite:PATH` for SQLite, and a
// `postgresql://` or `postgres://` URL for PostgreSQL. Does not migrate.
StoreResult<std::unique_ptr<Store>> openStore(const std::string& location,
                                              const StoreOptions& options = {});

}  // namespace devauth
