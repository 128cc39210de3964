#pragma once

// The storage conformance suite: every Store backend must pass these tests unchanged.
//
// A backend instantiates it with a factory type F:
//
//   struct F {
//     // A fresh, migrated store on a new, empty database.
//     std::unique_ptr<devauth::Store> create();
//     // A second, migrated Store on the database of the last create(), as a second server
//     // process would open it.
//     std::unique_ptr<devauth::Store> openAnother();
//     // The destructor deletes the database.
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(Backend, StoreConformanceTest, F);
//
// On failure create() and openAnother() record a GoogleTest failure and return nullptr. A
// create() that cannot run without an external server may instead record a skip.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/authorization.h"
#include "core/client.h"
#include "core/secret.h"
#include "store/store.h"

namespace devauth::testing {

namespace conformance {

// Threads in each race, enough for the calls to overlap on a two-core machine.
inline constexpr int kRaceThreads = 8;
inline constexpr const char* kClientId = "device-app";
inline const TimePoint kT0 = fromUnixMillis(1'800'000'000'000);
inline const TimePoint kExpiresAt = kT0 + seconds(600);

inline Client makeClient(const std::string& id) {
  Client client;
  client.id = id;
  client.name = "Client " + id;
  client.type = ClientType::Public;
  client.allowed_scopes = {"read", "write"};
  client.default_scopes = {"read"};
  client.created_at = kT0;
  return client;
}

// An authorization whose hashes derive from `id`, so distinct ids never collide.
inline Authorization makeAuthorization(const std::string& id,
                                       const std::string& client_id = kClientId) {
  Authorization authorization;
  authorization.id = id;
  authorization.device_code_hash = hashSecret("device code " + id);
  authorization.user_code_hash = hashSecret("user code " + id);
  authorization.client_id = client_id;
  authorization.scope = "read write";
  authorization.state = AuthorizationState::Pending;
  authorization.created_at = kT0;
  authorization.expires_at = kExpiresAt;
  authorization.interval = seconds(5);
  authorization.relay_public_key = hashSecret("relay key " + id);
  return authorization;
}

inline IssuedToken makeToken(const std::string& authorization_id, const std::string& seed,
                             TimePoint expires_at = kT0 + seconds(3600)) {
  IssuedToken token;
  token.token_hash = hashSecret("token " + seed);
  token.authorization_id = authorization_id;
  token.client_id = kClientId;
  token.subject = "subject-alice";
  token.scope = "read write";
  token.issued_at = kT0 + seconds(30);
  token.expires_at = expires_at;
  return token;
}

// A signing key record whose bytes derive from `kid`; the store treats them as opaque.
inline SigningKeyRecord makeSigningKey(const std::string& kid, TimePoint created_at) {
  SigningKeyRecord key;
  key.kid = kid;
  key.algorithm = "ES256";
  key.public_jwk = R"({"kty":"EC","crv":"P-256","x":")" + kid + R"(","y":"y"})";
  // Binary bytes, NUL included, as the encrypted key has.
  key.encrypted_private_key = std::string("sealed\0\xff ", 9) + kid;
  key.created_at = created_at;
  return key;
}

// The kids of `keys` in order.
inline std::vector<std::string> kidsOf(const StoreResult<std::vector<SigningKeyRecord>>& keys) {
  std::vector<std::string> kids;
  if (keys) {
    for (const auto& key : *keys) {
      kids.push_back(key.kid);
    }
  }
  return kids;
}

inline BrowserSession makeSession(const std::string& seed, TimePoint expires_at) {
  BrowserSession session;
  session.id_hash = hashSecret("session " + seed);
  session.created_at = kT0;
  session.expires_at = expires_at;
  return session;
}

// Succeeds when a state change ran and its condition held.
inline ::testing::AssertionResult won(const StoreResult<bool>& result) {
  if (!result) {
    return ::testing::AssertionFailure() << "store error: " << result.error().message;
  }
  if (!*result) {
    return ::testing::AssertionFailure() << "the condition of the state change did not hold";
  }
  return ::testing::AssertionSuccess();
}

// Outcomes of one race: how many calls returned true, false, or an error.
struct RaceResult {
  std::atomic<int> wins{0};
  std::atomic<int> losses{0};
  std::mutex mutex;
  std::vector<std::string> errors;
};

// Runs `attempt(thread_index, store)` on kRaceThreads threads released together. Thread i uses
// stores[i % stores.size()], so with two stores half the callers use each.
template <typename Attempt>
void race(const std::vector<Store*>& stores, RaceResult& result, Attempt attempt) {
  std::latch start(kRaceThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRaceThreads; ++i) {
    threads.emplace_back([&, i] {
      Store& store = *stores[static_cast<std::size_t>(i) % stores.size()];
      start.arrive_and_wait();
      StoreResult<bool> won = attempt(i, store);
      if (!won) {
        std::lock_guard lock(result.mutex);
        result.errors.push_back(won.error().message);
      } else if (*won) {
        ++result.wins;
      } else {
        ++result.losses;
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
}

}  // namespace conformance

template <typename Factory>
class StoreConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = factory_.create();
    // A factory whose database server is not configured records a skip.
    if (this->IsSkipped()) {
      return;
    }
    ASSERT_NE(store_, nullptr);
    // Authorizations and tokens belong to a registered client.
    ASSERT_TRUE(store_->insertClient(conformance::makeClient(conformance::kClientId)));
  }

  Store& store() { return *store_; }

  std::unique_ptr<Store> openAnother() { return factory_.openAnother(); }

  // Inserts a pending authorization and fails the test if that fails.
  Authorization addAuthorization(const std::string& id) {
    Authorization authorization = conformance::makeAuthorization(id);
    auto inserted = store_->insertAuthorization(authorization);
    EXPECT_TRUE(inserted) << inserted.error().message;
    return authorization;
  }

  // Reads the stored authorization back. Returns an empty Authorization, failing the test,
  // when it is missing.
  Authorization reload(const Authorization& authorization) {
    auto found = store_->findByDeviceCode(authorization.device_code_hash);
    if (!found) {
      ADD_FAILURE() << "findByDeviceCode failed: " << found.error().message;
      return {};
    }
    if (!found->has_value()) {
      ADD_FAILURE() << "authorization " << authorization.id << " is not stored";
      return {};
    }
    return **found;
  }

  // Runs the approve race for an authorization on `stores` and checks one winner.
  void expectOneApproval(const std::vector<Store*>& stores) {
    const Authorization authorization = addAuthorization("race-approve");
    conformance::RaceResult result;
    conformance::race(stores, result, [&](int i, Store& store) {
      return store.approve(authorization.id, "subject-" + std::to_string(i), std::nullopt,
                           conformance::kT0);
    });
    EXPECT_EQ(result.errors, std::vector<std::string>());
    EXPECT_EQ(result.wins.load(), 1);
    EXPECT_EQ(result.losses.load(), conformance::kRaceThreads - 1);
    EXPECT_EQ(reload(authorization).state, AuthorizationState::Approved);
  }

  // Runs the redeem race, each thread offering its own token, and checks that exactly one
  // redemption and one token were stored.
  void expectOneRedemption(const std::vector<Store*>& stores) {
    const Authorization authorization = addAuthorization("race-redeem");
    ASSERT_TRUE(conformance::won(
        store_->approve(authorization.id, "subject-alice", std::nullopt, conformance::kT0)));
    conformance::RaceResult result;
    conformance::race(stores, result, [&](int i, Store& store) {
      return store.redeem(authorization.id,
                          conformance::makeToken(authorization.id, std::to_string(i)),
                          conformance::kT0 + seconds(1));
    });
    EXPECT_EQ(result.errors, std::vector<std::string>());
    EXPECT_EQ(result.wins.load(), 1);
    EXPECT_EQ(result.losses.load(), conformance::kRaceThreads - 1);

    int tokens = 0;
    for (int i = 0; i < conformance::kRaceThreads; ++i) {
      auto found = store_->findToken(hashSecret("token " + std::to_string(i)));
      ASSERT_TRUE(found);
      tokens += found->has_value() ? 1 : 0;
    }
    EXPECT_EQ(tokens, 1);
    EXPECT_EQ(reload(authorization).state, AuthorizationState::Redeemed);
  }

  // Races approve (even threads) against deny (odd threads) and checks that one decision won
  // and the stored state is the winner's.
  void expectOneDecision(const std::vector<Store*>& stores) {
    const Authorization authorization = addAuthorization("race-decide");
    std::atomic<int> winner{-1};
    conformance::RaceResult result;
    conformance::race(stores, result, [&](int i, Store& store) {
      const std::string subject = "subject-" + std::to_string(i);
      auto won = i % 2 == 0
                     ? store.approve(authorization.id, subject, std::nullopt, conformance::kT0)
                     : store.deny(authorization.id, subject, conformance::kT0);
      if (won && *won) {
        winner = i;
      }
      return won;
    });
    EXPECT_EQ(result.errors, std::vector<std::string>());
    ASSERT_EQ(result.wins.load(), 1);
    EXPECT_EQ(result.losses.load(), conformance::kRaceThreads - 1);

    const auto stored = reload(authorization);
    EXPECT_EQ(stored.state,
              winner % 2 == 0 ? AuthorizationState::Approved : AuthorizationState::Denied);
    EXPECT_EQ(stored.subject, "subject-" + std::to_string(winner.load()));
  }

  Factory factory_;
  std::unique_ptr<Store> store_;
};

TYPED_TEST_SUITE_P(StoreConformanceTest);

// --- Schema and health ---------------------------------------------------------------------

TYPED_TEST_P(StoreConformanceTest, MigrateTwiceIsHarmless) {
  auto migrated = this->store().migrate();
  ASSERT_TRUE(migrated) << migrated.error().message;
  auto again = this->store().migrate();
  ASSERT_TRUE(again) << again.error().message;

  auto found = this->store().findClient(conformance::kClientId);
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->has_value());
}

TYPED_TEST_P(StoreConformanceTest, PingSucceeds) {
  auto pinged = this->store().ping();
  EXPECT_TRUE(pinged) << pinged.error().message;
}

// --- Clients ---------------------------------------------------------------------------------

TYPED_TEST_P(StoreConformanceTest, ClientRoundTrips) {
  Client confidential = conformance::makeClient("backend");
  confidential.name = "Backend Service";
  confidential.type = ClientType::Confidential;
  confidential.secret_hash = hashSecret("client secret");
  confidential.allowed_scopes = {"read", "write", "admin:all"};
  confidential.default_scopes = {};
  confidential.device_grant = false;
  confidential.may_approve = true;
  confidential.access_token_ttl = seconds(900);
  confidential.access_token_format = AccessTokenFormat::Jwt;
  confidential.created_at = conformance::kT0 + milliseconds(123);
  ASSERT_TRUE(this->store().insertClient(confidential));

  auto found = this->store().findClient("backend");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  const Client& client = **found;
  EXPECT_EQ(client.id, "backend");
  EXPECT_EQ(client.name, "Backend Service");
  EXPECT_EQ(client.type, ClientType::Confidential);
  EXPECT_EQ(client.secret_hash, hashSecret("client secret"));
  EXPECT_EQ(client.allowed_scopes, (std::vector<std::string>{"read", "write", "admin:all"}));
  EXPECT_EQ(client.default_scopes, std::vector<std::string>());
  EXPECT_FALSE(client.device_grant);
  EXPECT_TRUE(client.may_approve);
  EXPECT_EQ(client.access_token_ttl, seconds(900));
  EXPECT_EQ(client.access_token_format, AccessTokenFormat::Jwt);
  EXPECT_EQ(client.created_at, conformance::kT0 + milliseconds(123));

  auto public_client = this->store().findClient(conformance::kClientId);
  ASSERT_TRUE(public_client);
  ASSERT_TRUE(public_client->has_value());
  EXPECT_EQ((*public_client)->type, ClientType::Public);
  EXPECT_EQ((*public_client)->secret_hash, std::nullopt);
  EXPECT_EQ((*public_client)->default_scopes, std::vector<std::string>{"read"});
  EXPECT_TRUE((*public_client)->device_grant);
  EXPECT_FALSE((*public_client)->may_approve);
  EXPECT_EQ((*public_client)->access_token_format, AccessTokenFormat::Opaque);
}

TYPED_TEST_P(StoreConformanceTest, FindUnknownClientReturnsNothing) {
  auto found = this->store().findClient("nobody");
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

TYPED_TEST_P(StoreConformanceTest, DuplicateClientIdIsConflict) {
  Client duplicate = conformance::makeClient(conformance::kClientId);
  duplicate.name = "Another name";
  auto inserted = this->store().insertClient(duplicate);
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().kind, StoreError::Kind::Conflict);

  auto found = this->store().findClient(conformance::kClientId);
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->name, "Client device-app");
}

TYPED_TEST_P(StoreConformanceTest, ListClientsReturnsEveryClient) {
  ASSERT_TRUE(this->store().insertClient(conformance::makeClient("zeta")));
  ASSERT_TRUE(this->store().insertClient(conformance::makeClient("alpha")));

  auto listed = this->store().listClients();
  ASSERT_TRUE(listed) << listed.error().message;
  std::vector<std::string> ids;
  for (const auto& client : *listed) {
    ids.push_back(client.id);
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"alpha", "device-app", "zeta"}));
}

TYPED_TEST_P(StoreConformanceTest, RemoveClientOnlyOnce) {
  ASSERT_TRUE(this->store().insertClient(conformance::makeClient("short-lived")));

  auto removed = this->store().removeClient("short-lived");
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed);
  auto again = this->store().removeClient("short-lived");
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  auto found = this->store().findClient("short-lived");
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

TYPED_TEST_P(StoreConformanceTest, RemoveClientRemovesItsAuthorizationsAndTokens) {
  const Authorization authorization = this->addAuthorization("of-removed-client");
  ASSERT_TRUE(conformance::won(
      this->store().approve(authorization.id, "subject-alice", std::nullopt, conformance::kT0)));
  const IssuedToken token = conformance::makeToken(authorization.id, "of-removed-client");
  ASSERT_TRUE(conformance::won(this->store().redeem(authorization.id, token, conformance::kT0)));

  ASSERT_TRUE(conformance::won(this->store().removeClient(conformance::kClientId)));

  auto found = this->store().findByDeviceCode(authorization.device_code_hash);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
  auto found_token = this->store().findToken(token.token_hash);
  ASSERT_TRUE(found_token);
  EXPECT_FALSE(found_token->has_value());
}

// --- Users -----------------------------------------------------------------------------------

TYPED_TEST_P(StoreConformanceTest, UserRoundTripsAndCounts) {
  auto empty = this->store().countUsers();
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, 0u);

  const User alice{"alice", "subject-alice", "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA",
                   conformance::kT0 + milliseconds(7)};
  ASSERT_TRUE(this->store().insertUser(alice));
  ASSERT_TRUE(this->store().insertUser({"bob", "subject-bob", "hash-bob", conformance::kT0}));

  auto found = this->store().findUser("alice");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->username, "alice");
  EXPECT_EQ((*found)->subject, "subject-alice");
  EXPECT_EQ((*found)->password_hash, alice.password_hash);
  EXPECT_EQ((*found)->created_at, conformance::kT0 + milliseconds(7));
  auto count = this->store().countUsers();
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 2u);
}

TYPED_TEST_P(StoreConformanceTest, UserFoundBySubject) {
  ASSERT_TRUE(this->store().insertUser({"alice", "subject-alice", "hash-alice", conformance::kT0}));
  ASSERT_TRUE(this->store().insertUser({"bob", "subject-bob", "hash-bob", conformance::kT0}));

  auto found = this->store().findUserBySubject("subject-bob");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->username, "bob");
  EXPECT_EQ((*found)->subject, "subject-bob");
  EXPECT_EQ((*found)->password_hash, "hash-bob");
  // A username is not a subject.
  auto by_username = this->store().findUserBySubject("alice");
  ASSERT_TRUE(by_username);
  EXPECT_FALSE(by_username->has_value());
  auto unknown = this->store().findUserBySubject("customer-42");
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->has_value());
}

TYPED_TEST_P(StoreConformanceTest, DuplicateUsernameIsConflict) {
  ASSERT_TRUE(this->store().insertUser({"alice", "subject-1", "hash-1", conformance::kT0}));

  auto inserted = this->store().insertUser({"alice", "subject-2", "hash-2", conformance::kT0});
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().kind, StoreError::Kind::Conflict);
  auto found = this->store().findUser("alice");
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->subject, "subject-1");
}

// The subject is the stable identifier placed in tokens, so two users never share one.
TYPED_TEST_P(StoreConformanceTest, DuplicateSubjectIsConflict) {
  ASSERT_TRUE(this->store().insertUser({"alice", "subject-1", "hash-1", conformance::kT0}));

  auto inserted = this->store().insertUser({"bob", "subject-1", "hash-2", conformance::kT0});
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().kind, StoreError::Kind::Conflict);
  auto found = this->store().findUser("bob");
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

TYPED_TEST_P(StoreConformanceTest, RemoveUserOnlyOnce) {
  ASSERT_TRUE(this->store().insertUser({"alice", "subject-alice", "hash", conformance::kT0}));

  auto removed = this->store().removeUser("alice");
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed);
  auto again = this->store().removeUser("alice");
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  auto found = this->store().findUser("alice");
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
  auto count = this->store().countUsers();
  ASSERT_TRUE(count);
  EXPECT_EQ(*count, 0u);
}

TYPED_TEST_P(StoreConformanceTest, RemoveUserRemovesItsSessions) {
  ASSERT_TRUE(this->store().insertUser({"alice", "subject-alice", "hash", conformance::kT0}));
  ASSERT_TRUE(this->store().insertUser({"bob", "subject-bob", "hash", conformance::kT0}));
  const SecretHash alice_session = hashSecret("alice-session");
  const SecretHash bob_session = hashSecret("bob-session");
  ASSERT_TRUE(this->store().insertSession(
      {alice_session, "subject-alice", conformance::kT0, conformance::kT0 + seconds(600)}));
  ASSERT_TRUE(this->store().insertSession(
      {bob_session, "subject-bob", conformance::kT0, conformance::kT0 + seconds(600)}));

  auto removed = this->store().removeUser("alice");
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed);

  auto alice_found = this->store().findSession(alice_session);
  ASSERT_TRUE(alice_found);
  EXPECT_FALSE(alice_found->has_value());
  auto bob_found = this->store().findSession(bob_session);
  ASSERT_TRUE(bob_found);
  EXPECT_TRUE(bob_found->has_value());
}

// --- Authorizations: insert and find --------------------------------------------------------

TYPED_TEST_P(StoreConformanceTest, AuthorizationRoundTripsWithEveryField) {
  Authorization full = conformance::makeAuthorization("full");
  full.state = AuthorizationState::Approved;
  full.scope = "read";
  full.created_at = conformance::kT0 + milliseconds(1);
  full.expires_at = conformance::kT0 + milliseconds(900'002);
  full.interval = seconds(15);
  full.last_poll_at = conformance::kT0 + milliseconds(40'003);
  full.subject = "subject-alice";
  full.decided_at = conformance::kT0 + milliseconds(50'004);
  // A sealed box is binary, so the value contains a zero byte and a byte above 0x7f.
  full.sealed_relay_token = std::string("sealed\0\x01\xff token", 15);
  full.request_address = "2001:db8::7";
  full.request_user_agent = "LivingRoomTV/2.1 (webOS 6.0; 'quoted')";
  ASSERT_TRUE(this->store().insertAuthorization(full));

  for (const bool by_user_code : {false, true}) {
    auto found = by_user_code ? this->store().findByUserCode(full.user_code_hash)
                              : this->store().findByDeviceCode(full.device_code_hash);
    ASSERT_TRUE(found) << found.error().message;
    ASSERT_TRUE(found->has_value());
    const Authorization& stored = **found;
    EXPECT_EQ(stored.id, "full");
    EXPECT_EQ(stored.device_code_hash, full.device_code_hash);
    EXPECT_EQ(stored.user_code_hash, full.user_code_hash);
    EXPECT_EQ(stored.client_id, conformance::kClientId);
    EXPECT_EQ(stored.scope, "read");
    EXPECT_EQ(stored.state, AuthorizationState::Approved);
    EXPECT_EQ(stored.created_at, full.created_at);
    EXPECT_EQ(stored.expires_at, full.expires_at);
    EXPECT_EQ(stored.interval, seconds(15));
    EXPECT_EQ(stored.last_poll_at, full.last_poll_at);
    EXPECT_EQ(stored.subject, "subject-alice");
    EXPECT_EQ(stored.decided_at, full.decided_at);
    EXPECT_EQ(stored.relay_public_key, full.relay_public_key);
    EXPECT_EQ(stored.sealed_relay_token, full.sealed_relay_token);
    EXPECT_EQ(stored.request_address, "2001:db8::7");
    EXPECT_EQ(stored.request_user_agent, "LivingRoomTV/2.1 (webOS 6.0; 'quoted')");
  }
}

TYPED_TEST_P(StoreConformanceTest, AuthorizationRoundTripsWithoutOptionalFields) {
  const Authorization minimal = this->addAuthorization("minimal");

  auto found = this->store().findByUserCode(minimal.user_code_hash);
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  const Authorization& stored = **found;
  EXPECT_EQ(stored.id, "minimal");
  EXPECT_EQ(stored.state, AuthorizationState::Pending);
  EXPECT_EQ(stored.scope, "read write");
  EXPECT_EQ(stored.interval, seconds(5));
  EXPECT_EQ(stored.last_poll_at, std::nullopt);
  EXPECT_EQ(stored.subject, std::nullopt);
  EXPECT_EQ(stored.decided_at, std::nullopt);
  EXPECT_EQ(stored.sealed_relay_token, std::nullopt);
  EXPECT_EQ(stored.relay_public_key, minimal.relay_public_key);
  EXPECT_EQ(stored.request_address, "");
  EXPECT_EQ(stored.request_user_agent, "");
}

// Authorizations of clients that do not accept relayed tokens have no relay key.
TYPED_TEST_P(StoreConformanceTest, AuthorizationWithoutRelayKeyRoundTrips) {
  Authorization keyless = conformance::makeAuthorization("keyless");
  keyless.relay_public_key.reset();
  ASSERT_TRUE(this->store().insertAuthorization(keyless));

  auto found = this->store().findByDeviceCode(keyless.device_code_hash);
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->relay_public_key, std::nullopt);
  auto approved = this->store().approve("keyless", "subject-alice", std::nullopt,
                                        conformance::kT0 + seconds(1));
  ASSERT_TRUE(approved) << approved.error().message;
  EXPECT_TRUE(*approved);
}

TYPED_TEST_P(StoreConformanceTest, FindUnknownAuthorizationReturnsNothing) {
  this->addAuthorization("known");

  auto by_device = this->store().findByDeviceCode(hashSecret("unknown device code"));
  ASSERT_TRUE(by_device);
  EXPECT_FALSE(by_device->has_value());
  auto by_user = this->store().findByUserCode(hashSecret("unknown user code"));
  ASSERT_TRUE(by_user);
  EXPECT_FALSE(by_user->has_value());
}

TYPED_TEST_P(StoreConformanceTest, DuplicateUserCodeHashIsConflict) {
  const Authorization first = this->addAuthorization("first");
  Authorization second = conformance::makeAuthorization("second");
  second.user_code_hash = first.user_code_hash;

  auto inserted = this->store().insertAuthorization(second);
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().kind, StoreError::Kind::Conflict);
  auto found = this->store().findByDeviceCode(second.device_code_hash);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

TYPED_TEST_P(StoreConformanceTest, DuplicateDeviceCodeHashIsConflict) {
  const Authorization first = this->addAuthorization("first");
  Authorization second = conformance::makeAuthorization("second");
  second.device_code_hash = first.device_code_hash;

  auto inserted = this->store().insertAuthorization(second);
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().kind, StoreError::Kind::Conflict);
  auto found = this->store().findByUserCode(second.user_code_hash);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

TYPED_TEST_P(StoreConformanceTest, DuplicateAuthorizationIdIsConflict) {
  this->addAuthorization("same-id");
  Authorization second = conformance::makeAuthorization("same-id");
  second.device_code_hash = hashSecret("other device code");
  second.user_code_hash = hashSecret("other user code");

  auto inserted = this->store().insertAuthorization(second);
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().kind, StoreError::Kind::Conflict);
}

// --- Authorizations: approve and deny -------------------------------------------------------

TYPED_TEST_P(StoreConformanceTest, ApproveMovesPendingToApproved) {
  const Authorization authorization = this->addAuthorization("approve");
  const TimePoint now = conformance::kT0 + seconds(20);

  auto approved =
      this->store().approve(authorization.id, "subject-alice", std::string("sealed-token"), now);
  ASSERT_TRUE(approved) << approved.error().message;
  EXPECT_TRUE(*approved);

  const auto stored = this->reload(authorization);
  EXPECT_EQ(stored.state, AuthorizationState::Approved);
  EXPECT_EQ(stored.subject, "subject-alice");
  EXPECT_EQ(stored.decided_at, now);
  EXPECT_EQ(stored.sealed_relay_token, "sealed-token");
}

TYPED_TEST_P(StoreConformanceTest, ApproveWithoutRelayTokenStoresNone) {
  const Authorization authorization = this->addAuthorization("approve-plain");

  ASSERT_TRUE(conformance::won(
      this->store().approve(authorization.id, "subject-alice", std::nullopt, conformance::kT0)));
  const auto stored = this->reload(authorization);
  EXPECT_EQ(stored.state, AuthorizationState::Approved);
  EXPECT_EQ(stored.sealed_relay_token, std::nullopt);
}

TYPED_TEST_P(StoreConformanceTest, ApproveUnknownIdReturnsFalse) {
  auto approved =
      this->store().approve("no-such-id", "subject-alice", std::nullopt, conformance::kT0);
  ASSERT_TRUE(approved);
  EXPECT_FALSE(*approved);
  auto denied = this->store().deny("no-such-id", "subject-alice", conformance::kT0);
  ASSERT_TRUE(denied);
  EXPECT_FALSE(*denied);
}

// An authorization is expired from expires_at on, so one millisecond before is the last chance.
TYPED_TEST_P(StoreConformanceTest, ApproveFailsOnceExpired) {
  const Authorization expired = this->addAuthorization("expired");
  const Authorization last_moment = this->addAuthorization("last-moment");

  auto at_expiry =
      this->store().approve(expired.id, "subject-alice", std::nullopt, conformance::kExpiresAt);
  ASSERT_TRUE(at_expiry);
  EXPECT_FALSE(*at_expiry);
  EXPECT_EQ(this->reload(expired).state, AuthorizationState::Pending);
  EXPECT_EQ(this->reload(expired).subject, std::nullopt);

  auto just_before = this->store().approve(last_moment.id, "subject-alice", std::nullopt,
                                           conformance::kExpiresAt - milliseconds(1));
  ASSERT_TRUE(just_before);
  EXPECT_TRUE(*just_before);
}

TYPED_TEST_P(StoreConformanceTest, DenyMovesPendingToDenied) {
  const Authorization authorization = this->addAuthorization("deny");
  const TimePoint now = conformance::kT0 + seconds(30);

  auto denied = this->store().deny(authorization.id, "subject-bob", now);
  ASSERT_TRUE(denied) << denied.error().message;
  EXPECT_TRUE(*denied);

  const auto stored = this->reload(authorization);
  EXPECT_EQ(stored.state, AuthorizationState::Denied);
  EXPECT_EQ(stored.subject, "subject-bob");
  EXPECT_EQ(stored.decided_at, now);
}

TYPED_TEST_P(StoreConformanceTest, DenyFailsOnceExpired) {
  const Authorization authorization = this->addAuthorization("deny-expired");

  auto denied =
      this->store().deny(authorization.id, "subject-bob", conformance::kExpiresAt + seconds(1));
  ASSERT_TRUE(denied);
  EXPECT_FALSE(*denied);
  EXPECT_EQ(this->reload(authorization).state, AuthorizationState::Pending);
}

// Approved, denied and redeemed authorizations are never decided again, so the first decision
// stays.
TYPED_TEST_P(StoreConformanceTest, DecidedAuthorizationIsNotDecidedAgain) {
  const Authorization approved = this->addAuthorization("approved");
  const Authorization denied = this->addAuthorization("denied");
  const Authorization redeemed = this->addAuthorization("redeemed");
  const TimePoint now = conformance::kT0 + seconds(10);
  ASSERT_TRUE(
      conformance::won(this->store().approve(approved.id, "subject-first", std::nullopt, now)));
  ASSERT_TRUE(conformance::won(this->store().deny(denied.id, "subject-first", now)));
  ASSERT_TRUE(
      conformance::won(this->store().approve(redeemed.id, "subject-first", std::nullopt, now)));
  ASSERT_TRUE(conformance::won(this->store().redeem(redeemed.id, std::nullopt, now)));

  const TimePoint later = now + seconds(5);
  for (const Authorization* authorization : {&approved, &denied, &redeemed}) {
    SCOPED_TRACE(authorization->id);
    const AuthorizationState before = this->reload(*authorization).state;
    auto approve_again = this->store().approve(authorization->id, "subject-second",
                                               std::string("late-token"), later);
    ASSERT_TRUE(approve_again);
    EXPECT_FALSE(*approve_again);
    auto deny_again = this->store().deny(authorization->id, "subject-second", later);
    ASSERT_TRUE(deny_again);
    EXPECT_FALSE(*deny_again);

    const auto stored = this->reload(*authorization);
    EXPECT_EQ(stored.state, before);
    EXPECT_EQ(stored.subject, "subject-first");
    EXPECT_EQ(stored.decided_at, now);
    EXPECT_EQ(stored.sealed_relay_token, std::nullopt);
  }
}

// --- Authorizations: redeem -----------------------------------------------------------------

TYPED_TEST_P(StoreConformanceTest, RedeemStoresTokenAndClearsRelayToken) {
  const Authorization authorization = this->addAuthorization("redeem");
  ASSERT_TRUE(conformance::won(this->store().approve(
      authorization.id, "subject-alice", std::string("sealed-token"), conformance::kT0)));
  const IssuedToken token = conformance::makeToken(authorization.id, "redeem");

  auto redeemed = this->store().redeem(authorization.id, token, conformance::kT0 + seconds(5));
  ASSERT_TRUE(redeemed) << redeemed.error().message;
  EXPECT_TRUE(*redeemed);

  const auto stored = this->reload(authorization);
  EXPECT_EQ(stored.state, AuthorizationState::Redeemed);
  EXPECT_EQ(stored.sealed_relay_token, std::nullopt);
  EXPECT_EQ(stored.subject, "subject-alice");

  auto found = this->store().findToken(token.token_hash);
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->token_hash, token.token_hash);
  EXPECT_EQ((*found)->authorization_id, authorization.id);
  EXPECT_EQ((*found)->client_id, conformance::kClientId);
  EXPECT_EQ((*found)->subject, "subject-alice");
  EXPECT_EQ((*found)->scope, "read write");
  EXPECT_EQ((*found)->issued_at, token.issued_at);
  EXPECT_EQ((*found)->expires_at, token.expires_at);
}

TYPED_TEST_P(StoreConformanceTest, RedeemWithoutTokenMarksRedeemed) {
  const Authorization authorization = this->addAuthorization("relay");
  ASSERT_TRUE(conformance::won(this->store().approve(
      authorization.id, "subject-alice", std::string("sealed-token"), conformance::kT0)));

  auto redeemed = this->store().redeem(authorization.id, std::nullopt, conformance::kT0);
  ASSERT_TRUE(redeemed) << redeemed.error().message;
  EXPECT_TRUE(*redeemed);
  const auto stored = this->reload(authorization);
  EXPECT_EQ(stored.state, AuthorizationState::Redeemed);
  EXPECT_EQ(stored.sealed_relay_token, std::nullopt);
}

TYPED_TEST_P(StoreConformanceTest, RedeemRequiresApproval) {
  const Authorization pending = this->addAuthorization("pending");
  const Authorization denied = this->addAuthorization("denied");
  ASSERT_TRUE(conformance::won(this->store().deny(denied.id, "subject-bob", conformance::kT0)));

  for (const Authorization* authorization : {&pending, &denied}) {
    SCOPED_TRACE(authorization->id);
    const IssuedToken token = conformance::makeToken(authorization->id, authorization->id);
    auto redeemed = this->store().redeem(authorization->id, token, conformance::kT0);
    ASSERT_TRUE(redeemed) << redeemed.error().message;
    EXPECT_FALSE(*redeemed);
    auto found = this->store().findToken(token.token_hash);
    ASSERT_TRUE(found);
    EXPECT_FALSE(found->has_value());
  }
  EXPECT_EQ(this->reload(pending).state, AuthorizationState::Pending);
  EXPECT_EQ(this->reload(denied).state, AuthorizationState::Denied);
}

TYPED_TEST_P(StoreConformanceTest, RedeemFailsOnceExpired) {
  const Authorization authorization = this->addAuthorization("redeem-late");
  ASSERT_TRUE(conformance::won(this->store().approve(
      authorization.id, "subject-alice", std::string("sealed-token"), conformance::kT0)));
  const IssuedToken token = conformance::makeToken(authorization.id, "redeem-late");

  auto redeemed = this->store().redeem(authorization.id, token, conformance::kExpiresAt);
  ASSERT_TRUE(redeemed);
  EXPECT_FALSE(*redeemed);
  auto found = this->store().findToken(token.token_hash);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
  const auto stored = this->reload(authorization);
  EXPECT_EQ(stored.state, AuthorizationState::Approved);
  EXPECT_EQ(stored.sealed_relay_token, "sealed-token");
}

TYPED_TEST_P(StoreConformanceTest, RedeemSucceedsOnlyOnce) {
  const Authorization authorization = this->addAuthorization("redeem-twice");
  ASSERT_TRUE(conformance::won(
      this->store().approve(authorization.id, "subject-alice", std::nullopt, conformance::kT0)));
  const IssuedToken first = conformance::makeToken(authorization.id, "first");
  const IssuedToken second = conformance::makeToken(authorization.id, "second");

  ASSERT_TRUE(conformance::won(this->store().redeem(authorization.id, first, conformance::kT0)));
  auto again = this->store().redeem(authorization.id, second, conformance::kT0);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);

  auto found = this->store().findToken(second.token_hash);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

// A failed token insert undoes the redemption, so the device can still redeem its code.
TYPED_TEST_P(StoreConformanceTest, RedeemWithTakenTokenHashChangesNothing) {
  const Authorization first = this->addAuthorization("first");
  const Authorization second = this->addAuthorization("second");
  ASSERT_TRUE(conformance::won(
      this->store().approve(first.id, "subject-alice", std::nullopt, conformance::kT0)));
  ASSERT_TRUE(conformance::won(this->store().approve(
      second.id, "subject-alice", std::string("sealed-token"), conformance::kT0)));
  ASSERT_TRUE(conformance::won(
      this->store().redeem(first.id, conformance::makeToken(first.id, "same"), conformance::kT0)));

  auto redeemed =
      this->store().redeem(second.id, conformance::makeToken(second.id, "same"), conformance::kT0);
  ASSERT_FALSE(redeemed);
  EXPECT_EQ(redeemed.error().kind, StoreError::Kind::Conflict);

  const auto stored = this->reload(second);
  EXPECT_EQ(stored.state, AuthorizationState::Approved);
  EXPECT_EQ(stored.sealed_relay_token, "sealed-token");
  auto token = this->store().findToken(hashSecret("token same"));
  ASSERT_TRUE(token);
  ASSERT_TRUE(token->has_value());
  EXPECT_EQ((*token)->authorization_id, first.id);
}

TYPED_TEST_P(StoreConformanceTest, FindUnknownTokenReturnsNothing) {
  auto found = this->store().findToken(hashSecret("token nobody issued"));
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

// --- Authorizations: polling state ----------------------------------------------------------

TYPED_TEST_P(StoreConformanceTest, UpdatePollStateIsCompareAndSet) {
  const Authorization authorization = this->addAuthorization("poll");
  const PollState initial{std::nullopt, seconds(5)};
  const PollState first_poll{conformance::kT0 + seconds(5), seconds(5)};
  const PollState slowed{conformance::kT0 + seconds(5), seconds(10)};

  auto updated = this->store().updatePollState(authorization.id, initial, first_poll);
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_TRUE(*updated);

  // Two stale expectations, the old last_poll_at and then the current time with a wrong interval.
  auto stale_time = this->store().updatePollState(authorization.id, initial, slowed);
  ASSERT_TRUE(stale_time);
  EXPECT_FALSE(*stale_time);
  auto stale_interval = this->store().updatePollState(
      authorization.id, PollState{first_poll.last_poll_at, seconds(7)}, slowed);
  ASSERT_TRUE(stale_interval);
  EXPECT_FALSE(*stale_interval);
  auto stored = this->reload(authorization);
  EXPECT_EQ(stored.last_poll_at, first_poll.last_poll_at);
  EXPECT_EQ(stored.interval, seconds(5));

  auto slowed_down = this->store().updatePollState(authorization.id, first_poll, slowed);
  ASSERT_TRUE(slowed_down);
  EXPECT_TRUE(*slowed_down);
  stored = this->reload(authorization);
  EXPECT_EQ(stored.last_poll_at, slowed.last_poll_at);
  EXPECT_EQ(stored.interval, seconds(10));
}

TYPED_TEST_P(StoreConformanceTest, UpdatePollStateFailsUnlessPending) {
  const Authorization approved = this->addAuthorization("approved");
  const Authorization denied = this->addAuthorization("denied");
  ASSERT_TRUE(conformance::won(
      this->store().approve(approved.id, "subject-alice", std::nullopt, conformance::kT0)));
  ASSERT_TRUE(conformance::won(this->store().deny(denied.id, "subject-alice", conformance::kT0)));

  for (const Authorization* authorization : {&approved, &denied}) {
    SCOPED_TRACE(authorization->id);
    auto updated =
        this->store().updatePollState(authorization->id, PollState{std::nullopt, seconds(5)},
                                      PollState{conformance::kT0 + seconds(5), seconds(5)});
    ASSERT_TRUE(updated);
    EXPECT_FALSE(*updated);
    EXPECT_EQ(this->reload(*authorization).last_poll_at, std::nullopt);
  }
  auto unknown = this->store().updatePollState("no-such-id", PollState{std::nullopt, seconds(5)},
                                               PollState{conformance::kT0, seconds(5)});
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);
}

// --- Purge -----------------------------------------------------------------------------------

TYPED_TEST_P(StoreConformanceTest, PurgeExpiredDeletesExactlyTheExpired) {
  const TimePoint cutoff = conformance::kT0 + seconds(1000);
  const TimePoint now = conformance::kT0 + seconds(2000);
  Authorization old_one = conformance::makeAuthorization("old");
  old_one.expires_at = cutoff - milliseconds(1);
  Authorization at_cutoff = conformance::makeAuthorization("at-cutoff");
  at_cutoff.expires_at = cutoff;
  Authorization recent = conformance::makeAuthorization("recent");
  recent.expires_at = cutoff + seconds(1);
  for (const auto& authorization : {old_one, at_cutoff, recent}) {
    ASSERT_TRUE(this->store().insertAuthorization(authorization));
    ASSERT_TRUE(conformance::won(
        this->store().approve(authorization.id, "subject-alice", std::nullopt, conformance::kT0)));
  }
  // Tokens outlive the purge of their authorization, because only their own expiry counts.
  const IssuedToken expired_token = conformance::makeToken(old_one.id, "expired", now - seconds(1));
  const IssuedToken token_at_now = conformance::makeToken(at_cutoff.id, "at-now", now);
  const IssuedToken live_token = conformance::makeToken(recent.id, "live", now + seconds(1));
  ASSERT_TRUE(conformance::won(this->store().redeem(old_one.id, expired_token, conformance::kT0)));
  ASSERT_TRUE(conformance::won(this->store().redeem(at_cutoff.id, token_at_now, conformance::kT0)));
  ASSERT_TRUE(conformance::won(this->store().redeem(recent.id, live_token, conformance::kT0)));
  const BrowserSession expired_session = conformance::makeSession("expired", now - seconds(1));
  const BrowserSession session_at_now = conformance::makeSession("at-now", now);
  ASSERT_TRUE(this->store().insertSession(expired_session));
  ASSERT_TRUE(this->store().insertSession(session_at_now));

  auto purged = this->store().purgeExpired(cutoff, now);
  ASSERT_TRUE(purged) << purged.error().message;
  EXPECT_EQ(*purged, 1u);

  auto authorizationStored = [this](const Authorization& authorization) {
    auto found = this->store().findByDeviceCode(authorization.device_code_hash);
    EXPECT_TRUE(found) << found.error().message;
    return found && found->has_value();
  };
  auto tokenStored = [this](const IssuedToken& token) {
    auto found = this->store().findToken(token.token_hash);
    EXPECT_TRUE(found) << found.error().message;
    return found && found->has_value();
  };
  auto sessionStored = [this](const BrowserSession& session) {
    auto found = this->store().findSession(session.id_hash);
    EXPECT_TRUE(found) << found.error().message;
    return found && found->has_value();
  };
  EXPECT_FALSE(authorizationStored(old_one));
  EXPECT_TRUE(authorizationStored(at_cutoff));
  EXPECT_TRUE(authorizationStored(recent));
  EXPECT_FALSE(tokenStored(expired_token));
  EXPECT_TRUE(tokenStored(token_at_now));
  EXPECT_TRUE(tokenStored(live_token));
  EXPECT_FALSE(sessionStored(expired_session));
  EXPECT_TRUE(sessionStored(session_at_now));

  auto again = this->store().purgeExpired(cutoff, now);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0u);
}

// --- Browser sessions ------------------------------------------------------------------------

TYPED_TEST_P(StoreConformanceTest, SessionRoundTripsAndTakesSubject) {
  const BrowserSession session =
      conformance::makeSession("browser", conformance::kT0 + seconds(1800));
  ASSERT_TRUE(this->store().insertSession(session));

  auto found = this->store().findSession(session.id_hash);
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id_hash, session.id_hash);
  EXPECT_EQ((*found)->subject, std::nullopt);
  EXPECT_EQ((*found)->created_at, conformance::kT0);
  EXPECT_EQ((*found)->expires_at, conformance::kT0 + seconds(1800));

  auto signed_in = this->store().setSessionSubject(session.id_hash, "subject-alice");
  ASSERT_TRUE(signed_in);
  EXPECT_TRUE(*signed_in);
  found = this->store().findSession(session.id_hash);
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->subject, "subject-alice");
}

TYPED_TEST_P(StoreConformanceTest, SessionRemovalIsFinal) {
  const BrowserSession session =
      conformance::makeSession("browser", conformance::kT0 + seconds(1800));
  ASSERT_TRUE(this->store().insertSession(session));

  auto removed = this->store().removeSession(session.id_hash);
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed);
  auto again = this->store().removeSession(session.id_hash);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  auto signed_in = this->store().setSessionSubject(session.id_hash, "subject-alice");
  ASSERT_TRUE(signed_in);
  EXPECT_FALSE(*signed_in);
  auto found = this->store().findSession(session.id_hash);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

TYPED_TEST_P(StoreConformanceTest, DuplicateSessionIsConflict) {
  const BrowserSession session =
      conformance::makeSession("browser", conformance::kT0 + seconds(1800));
  ASSERT_TRUE(this->store().insertSession(session));

  auto inserted = this->store().insertSession(session);
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().kind, StoreError::Kind::Conflict);
}

// --- Races -----------------------------------------------------------------------------------

TYPED_TEST_P(StoreConformanceTest, RacingApprovalsHaveOneWinner) {
  this->expectOneApproval({&this->store()});
}

TYPED_TEST_P(StoreConformanceTest, RacingRedemptionsStoreOneToken) {
  this->expectOneRedemption({&this->store()});
}

TYPED_TEST_P(StoreConformanceTest, RacingApproveAndDenyHaveOneWinner) {
  this->expectOneDecision({&this->store()});
}

TYPED_TEST_P(StoreConformanceTest, RacingApprovalsAcrossTwoStoresHaveOneWinner) {
  auto second = this->openAnother();
  ASSERT_NE(second, nullptr);
  this->expectOneApproval({&this->store(), second.get()});
}

TYPED_TEST_P(StoreConformanceTest, RacingRedemptionsAcrossTwoStoresStoreOneToken) {
  auto second = this->openAnother();
  ASSERT_NE(second, nullptr);
  this->expectOneRedemption({&this->store(), second.get()});
}

TYPED_TEST_P(StoreConformanceTest, RacingApproveAndDenyAcrossTwoStoresHaveOneWinner) {
  auto second = this->openAnother();
  ASSERT_NE(second, nullptr);
  this->expectOneDecision({&this->store(), second.get()});
}

// Every poller read the same state, so only the first compare-and-set may land.
TYPED_TEST_P(StoreConformanceTest, RacingPollUpdatesHaveOneWinner) {
  auto second = this->openAnother();
  ASSERT_NE(second, nullptr);
  const Authorization authorization = this->addAuthorization("race-poll");
  const PollState expected{std::nullopt, seconds(5)};

  conformance::RaceResult result;
  conformance::race({&this->store(), second.get()}, result, [&](int i, Store& store) {
    return store.updatePollState(authorization.id, expected,
                                 PollState{conformance::kT0 + milliseconds(i), seconds(5)});
  });
  EXPECT_EQ(result.errors, std::vector<std::string>());
  EXPECT_EQ(result.wins.load(), 1);
  EXPECT_EQ(result.losses.load(), conformance::kRaceThreads - 1);
  EXPECT_TRUE(this->reload(authorization).last_poll_at.has_value());
}

// --- Live authorizations and rate-limit counters --------------------------------------------

TYPED_TEST_P(StoreConformanceTest, CountLiveAuthorizationsCountsPendingUnexpiredOfClient) {
  ASSERT_TRUE(this->store().insertClient(conformance::makeClient("other-app")));
  this->addAuthorization("live-1");
  this->addAuthorization("live-2");
  const Authorization approved = this->addAuthorization("approved");
  ASSERT_TRUE(conformance::won(
      this->store().approve(approved.id, "subject-alice", std::nullopt, conformance::kT0)));
  Authorization expired = conformance::makeAuthorization("expired");
  expired.expires_at = conformance::kT0 + seconds(10);
  ASSERT_TRUE(this->store().insertAuthorization(expired));
  ASSERT_TRUE(this->store().insertAuthorization(
      conformance::makeAuthorization("other-client", "other-app")));

  auto live =
      this->store().countLiveAuthorizations(conformance::kClientId, conformance::kT0 + seconds(10));
  ASSERT_TRUE(live) << live.error().message;
  EXPECT_EQ(*live, 2u);
  auto unknown = this->store().countLiveAuthorizations("no-such-client", conformance::kT0);
  ASSERT_TRUE(unknown) << unknown.error().message;
  EXPECT_EQ(*unknown, 0u);
}

TYPED_TEST_P(StoreConformanceTest, CounterCountsWithinOneWindow) {
  const milliseconds window = seconds(60);
  // kT0 is a multiple of 60 s, so kT0 starts a window.
  for (int expected = 1; expected <= 3; ++expected) {
    auto count = this->store().incrementCounter("counter-a", window,
                                                conformance::kT0 + seconds(20 * (expected - 1)));
    ASSERT_TRUE(count) << count.error().message;
    EXPECT_EQ(*count, expected);
  }
  auto read = this->store().readCounter("counter-a", window, conformance::kT0 + seconds(59));
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(*read, 3);
  auto other = this->store().readCounter("counter-b", window, conformance::kT0);
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_EQ(*other, 0);
}

TYPED_TEST_P(StoreConformanceTest, CounterStartsAgainInNextWindow) {
  const milliseconds window = seconds(60);
  ASSERT_TRUE(this->store().incrementCounter("counter", window, conformance::kT0));
  ASSERT_TRUE(this->store().incrementCounter("counter", window, conformance::kT0 + seconds(1)));

  auto next_window = this->store().readCounter("counter", window, conformance::kT0 + seconds(60));
  ASSERT_TRUE(next_window) << next_window.error().message;
  EXPECT_EQ(*next_window, 0);
  auto count = this->store().incrementCounter("counter", window, conformance::kT0 + seconds(60));
  ASSERT_TRUE(count) << count.error().message;
  EXPECT_EQ(*count, 1);
  // An increment dated in the earlier window counts in the stored, later one.
  auto late = this->store().incrementCounter("counter", window, conformance::kT0 + seconds(59));
  ASSERT_TRUE(late) << late.error().message;
  EXPECT_EQ(*late, 2);
}

TYPED_TEST_P(StoreConformanceTest, PurgeExpiredDeletesEndedCounters) {
  const milliseconds window = seconds(60);
  ASSERT_TRUE(this->store().incrementCounter("ended", window, conformance::kT0));
  ASSERT_TRUE(this->store().incrementCounter("current", window, conformance::kT0 + seconds(60)));

  auto purged = this->store().purgeExpired(conformance::kT0, conformance::kT0 + seconds(60));
  ASSERT_TRUE(purged) << purged.error().message;

  // The purge leaves the count of the current window alone.
  auto current = this->store().readCounter("current", window, conformance::kT0 + seconds(60));
  ASSERT_TRUE(current) << current.error().message;
  EXPECT_EQ(*current, 1);
  // The ended counter's row is gone, so a late increment for its window starts at one.
  auto restarted = this->store().incrementCounter("ended", window, conformance::kT0);
  ASSERT_TRUE(restarted) << restarted.error().message;
  EXPECT_EQ(*restarted, 1);
}

TYPED_TEST_P(StoreConformanceTest, RacingCounterIncrementsAcrossTwoStoresLoseNone) {
  auto second = this->openAnother();
  ASSERT_NE(second, nullptr);
  constexpr int kIncrementsPerThread = 25;
  conformance::RaceResult result;
  conformance::race({&this->store(), second.get()}, result, [&](int, Store& store) {
    for (int i = 0; i < kIncrementsPerThread; ++i) {
      auto count = store.incrementCounter("raced", seconds(60), conformance::kT0);
      if (!count) {
        return StoreResult<bool>(unexpected(count.error()));
      }
    }
    return StoreResult<bool>(true);
  });
  EXPECT_EQ(result.errors, std::vector<std::string>());
  auto total = this->store().readCounter("raced", seconds(60), conformance::kT0);
  ASSERT_TRUE(total) << total.error().message;
  EXPECT_EQ(*total, conformance::kRaceThreads * kIncrementsPerThread);
}

// Runs insertCountedThen and waits, at most 10 s, for its callback, which a store may call on
// another thread.
inline StoreResult<CountedInsert> insertCounted(Store& store, const Authorization& authorization,
                                                const InsertLimits& limits) {
  // Shared with the callback, which may still run after a timed-out wait returned.
  struct Call {
    std::mutex mutex;
    std::condition_variable called;
    std::optional<StoreResult<CountedInsert>> outcome;
  };
  auto call = std::make_shared<Call>();
  store.insertCountedThen(authorization, limits, [call](StoreResult<CountedInsert> result) {
    const std::lock_guard lock(call->mutex);
    call->outcome = std::move(result);
    call->called.notify_all();
  });
  std::unique_lock lock(call->mutex);
  if (!call->called.wait_for(lock, std::chrono::seconds(10),
                             [&call] { return call->outcome.has_value(); })) {
    return unexpected(
        StoreError{StoreError::Kind::Internal, "insertCountedThen never called back"});
  }
  return std::move(*call->outcome);
}

// The row is inserted while every count stays at most its max_count; the request that goes
// over is counted and its row is not inserted.
TYPED_TEST_P(StoreConformanceTest, CountedInsertStopsAtTheLimit) {
  const InsertLimits limits{{RequestCounter{"begins-client", seconds(60), 2},
                             RequestCounter{"begins-address", seconds(60), 5}},
                            conformance::kT0};
  const std::vector<std::string> ids = {"first", "second", "third"};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto outcome = insertCounted(this->store(), conformance::makeAuthorization(ids[i]), limits);
    ASSERT_TRUE(outcome) << ids[i] << ": " << outcome.error().message;
    const auto expected = static_cast<std::int64_t>(i + 1);
    EXPECT_EQ(outcome->counts, (std::vector<std::int64_t>{expected, expected})) << ids[i];
    EXPECT_EQ(outcome->inserted, i < 2) << ids[i];
  }
  const auto stored = [this](const std::string& id) {
    auto found =
        this->store().findByDeviceCode(conformance::makeAuthorization(id).device_code_hash);
    EXPECT_TRUE(found) << found.error().message;
    return found && found->has_value();
  };
  EXPECT_TRUE(stored("second"));
  EXPECT_FALSE(stored("third"));
  auto counted = this->store().readCounter("begins-client", seconds(60), conformance::kT0);
  ASSERT_TRUE(counted) << counted.error().message;
  EXPECT_EQ(*counted, 3);
}

// A colliding row fails with Conflict as insertAuthorization does, and the request it belongs
// to stays counted; without counters the outcome has no counts.
TYPED_TEST_P(StoreConformanceTest, CountedInsertOfCollidingRowIsConflict) {
  ASSERT_TRUE(this->store().insertAuthorization(conformance::makeAuthorization("stored")));
  Authorization colliding = conformance::makeAuthorization("colliding");
  colliding.user_code_hash = conformance::makeAuthorization("stored").user_code_hash;
  const InsertLimits limits{{RequestCounter{"begins", seconds(60), 10}}, conformance::kT0};
  auto outcome = insertCounted(this->store(), colliding, limits);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().kind, StoreError::Kind::Conflict);
  auto counted = this->store().readCounter("begins", seconds(60), conformance::kT0);
  ASSERT_TRUE(counted) << counted.error().message;
  EXPECT_EQ(*counted, 1);

  auto uncounted =
      insertCounted(this->store(), conformance::makeAuthorization("uncounted"), InsertLimits{});
  ASSERT_TRUE(uncounted) << uncounted.error().message;
  EXPECT_TRUE(uncounted->inserted);
  EXPECT_TRUE(uncounted->counts.empty());
}

// --- Signing keys ----------------------------------------------------------------------------

TYPED_TEST_P(StoreConformanceTest, SigningKeyRoundTripsNewestFirst) {
  const auto older = conformance::makeSigningKey("kid-older", conformance::kT0);
  const auto newer = conformance::makeSigningKey("kid-newer", conformance::kT0 + seconds(10));
  ASSERT_TRUE(
      conformance::won(this->store().insertSigningKey(older, conformance::kT0 - seconds(1))));
  ASSERT_TRUE(conformance::won(this->store().insertSigningKey(newer, conformance::kT0)));

  auto keys = this->store().listSigningKeys();
  ASSERT_TRUE(keys) << keys.error().message;
  ASSERT_EQ(conformance::kidsOf(keys), (std::vector<std::string>{"kid-newer", "kid-older"}));
  const SigningKeyRecord& read = keys->back();
  EXPECT_EQ(read.algorithm, "ES256");
  EXPECT_EQ(read.public_jwk, older.public_jwk);
  EXPECT_EQ(read.encrypted_private_key, older.encrypted_private_key);
  EXPECT_EQ(read.created_at, conformance::kT0);
}

TYPED_TEST_P(StoreConformanceTest, SigningKeyInsertSkipsWhenNewerKeyExists) {
  ASSERT_TRUE(conformance::won(this->store().insertSigningKey(
      conformance::makeSigningKey("kid-a", conformance::kT0), conformance::kT0 - seconds(1))));
  // Another instance saw nothing newer than kT0 - 1 s too, but kid-a is newer: nothing stored.
  auto skipped = this->store().insertSigningKey(
      conformance::makeSigningKey("kid-b", conformance::kT0 + seconds(1)),
      conformance::kT0 - seconds(1));
  ASSERT_TRUE(skipped) << skipped.error().message;
  EXPECT_FALSE(*skipped);
  EXPECT_EQ(conformance::kidsOf(this->store().listSigningKeys()),
            std::vector<std::string>{"kid-a"});
}

TYPED_TEST_P(StoreConformanceTest, DuplicateSigningKeyIdIsConflict) {
  ASSERT_TRUE(conformance::won(this->store().insertSigningKey(
      conformance::makeSigningKey("kid-a", conformance::kT0), conformance::kT0 - seconds(1))));
  auto duplicate = this->store().insertSigningKey(
      conformance::makeSigningKey("kid-a", conformance::kT0 + seconds(5)),
      conformance::kT0 + seconds(1));
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().kind, StoreError::Kind::Conflict);
}

TYPED_TEST_P(StoreConformanceTest, RemoveRetiredSigningKeysKeepsNewestAndOverlap) {
  // kid-1 was replaced at kT0 + 100 s, kid-2 at kT0 + 200 s; kid-3 signs.
  for (int i = 1; i <= 3; ++i) {
    const TimePoint created = conformance::kT0 + seconds(100 * (i - 1));
    ASSERT_TRUE(conformance::won(this->store().insertSigningKey(
        conformance::makeSigningKey("kid-" + std::to_string(i), created), created - seconds(1))));
  }
  auto none = this->store().removeRetiredSigningKeys(conformance::kT0 + seconds(99));
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_EQ(*none, 0u);

  auto one = this->store().removeRetiredSigningKeys(conformance::kT0 + seconds(100));
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(*one, 1u);
  EXPECT_EQ(conformance::kidsOf(this->store().listSigningKeys()),
            (std::vector<std::string>{"kid-3", "kid-2"}));

  auto rest = this->store().removeRetiredSigningKeys(conformance::kT0 + seconds(100'000));
  ASSERT_TRUE(rest) << rest.error().message;
  EXPECT_EQ(*rest, 1u);
  EXPECT_EQ(conformance::kidsOf(this->store().listSigningKeys()),
            std::vector<std::string>{"kid-3"});
}

TYPED_TEST_P(StoreConformanceTest, RacingSigningKeyInsertsAcrossTwoStoresAddOne) {
  // Every instance finds the key of kT0 due and rotates at once: exactly one new key results.
  ASSERT_TRUE(conformance::won(this->store().insertSigningKey(
      conformance::makeSigningKey("kid-old", conformance::kT0), conformance::kT0 - seconds(1))));
  auto second = this->openAnother();
  ASSERT_NE(second, nullptr);
  conformance::RaceResult result;
  conformance::race({&this->store(), second.get()}, result, [](int i, Store& store) {
    return store.insertSigningKey(
        conformance::makeSigningKey("kid-new-" + std::to_string(i),
                                    conformance::kT0 + seconds(3600) + milliseconds(i)),
        conformance::kT0);
  });
  EXPECT_EQ(result.errors, std::vector<std::string>());
  EXPECT_EQ(result.wins.load(), 1);
  EXPECT_EQ(result.losses.load(), conformance::kRaceThreads - 1);
  auto keys = this->store().listSigningKeys();
  ASSERT_TRUE(keys) << keys.error().message;
  EXPECT_EQ(keys->size(), 2u);
}

// --- Volume ----------------------------------------------------------------------------------

// Checks that lookups by user code keep working with many rows. It asserts no timing.
TYPED_TEST_P(StoreConformanceTest, TenThousandAuthorizationsFoundByUserCode) {
  constexpr int kCount = 10'000;
  for (int i = 0; i < kCount; ++i) {
    auto inserted = this->store().insertAuthorization(
        conformance::makeAuthorization("bulk-" + std::to_string(i)));
    ASSERT_TRUE(inserted) << "authorization " << i << ": " << inserted.error().message;
  }

  for (int i = 0; i < kCount; ++i) {
    const std::string id = "bulk-" + std::to_string(i);
    auto found = this->store().findByUserCode(hashSecret("user code " + id));
    ASSERT_TRUE(found) << found.error().message;
    ASSERT_TRUE(found->has_value()) << id;
    ASSERT_EQ((*found)->id, id);
  }
}

REGISTER_TYPED_TEST_SUITE_P(
    StoreConformanceTest, MigrateTwiceIsHarmless, PingSucceeds, ClientRoundTrips,
    FindUnknownClientReturnsNothing, DuplicateClientIdIsConflict, ListClientsReturnsEveryClient,
    RemoveClientOnlyOnce, RemoveClientRemovesItsAuthorizationsAndTokens, UserRoundTripsAndCounts,
    UserFoundBySubject, DuplicateUsernameIsConflict, DuplicateSubjectIsConflict, RemoveUserOnlyOnce,
    RemoveUserRemovesItsSessions, AuthorizationRoundTripsWithEveryField,
    AuthorizationRoundTripsWithoutOptionalFields, AuthorizationWithoutRelayKeyRoundTrips,
    FindUnknownAuthorizationReturnsNothing, DuplicateUserCodeHashIsConflict,
    DuplicateDeviceCodeHashIsConflict, DuplicateAuthorizationIdIsConflict,
    ApproveMovesPendingToApproved, ApproveWithoutRelayTokenStoresNone, ApproveUnknownIdReturnsFalse,
    ApproveFailsOnceExpired, DenyMovesPendingToDenied, DenyFailsOnceExpired,
    DecidedAuthorizationIsNotDecidedAgain, RedeemStoresTokenAndClearsRelayToken,
    RedeemWithoutTokenMarksRedeemed, RedeemRequiresApproval, RedeemFailsOnceExpired,
    RedeemSucceedsOnlyOnce, RedeemWithTakenTokenHashChangesNothing, FindUnknownTokenReturnsNothing,
    UpdatePollStateIsCompareAndSet, UpdatePollStateFailsUnlessPending,
    PurgeExpiredDeletesExactlyTheExpired, SessionRoundTripsAndTakesSubject, SessionRemovalIsFinal,
    DuplicateSessionIsConflict, RacingApprovalsHaveOneWinner, RacingRedemptionsStoreOneToken,
    RacingApproveAndDenyHaveOneWinner, RacingApprovalsAcrossTwoStoresHaveOneWinner,
    RacingRedemptionsAcrossTwoStoresStoreOneToken, RacingApproveAndDenyAcrossTwoStoresHaveOneWinner,
    RacingPollUpdatesHaveOneWinner, CountLiveAuthorizationsCountsPendingUnexpiredOfClient,
    CounterCountsWithinOneWindow, CounterStartsAgainInNextWindow, PurgeExpiredDeletesEndedCounters,
    RacingCounterIncrementsAcrossTwoStoresLoseNone, CountedInsertStopsAtTheLimit,
    CountedInsertOfCollidingRowIsConflict, SigningKeyRoundTripsNewestFirst,
    SigningKeyInsertSkipsWhenNewerKeyExists, DuplicateSigningKeyIdIsConflict,
    RemoveRetiredSigningKeysKeepsNewestAndOverlap, RacingSigningKeyInsertsAcrossTwoStoresAddOne,
    TenThousandAuthorizationsFoundByUserCode);

}  // namespace devauth::testing
