#pragma once

// The storage conformance suite for grants, refresh tokens and token revocation. Every Store
// backend instantiates it with the same factory type as StoreConformanceTest:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(Backend, GrantStoreConformanceTest, F);

#include "store/store_conformance.h"

namespace devauth::testing {

namespace conformance {

inline Grant makeGrant(const std::string& id, TimePoint expires_at = kT0 + seconds(86400)) {
  return Grant{id,         kClientId,   "subject-alice", "read write", kT0 + seconds(30),
               expires_at, std::nullopt};
}

inline RefreshToken makeRefreshToken(const std::string& grant_id, const std::string& seed,
                                     TimePoint expires_at = kT0 + seconds(3600)) {
  RefreshToken token;
  token.token_hash = hashSecret("refresh token " + seed);
  token.grant_id = grant_id;
  token.issued_at = kT0 + seconds(30);
  token.expires_at = expires_at;
  return token;
}

}  // namespace conformance

template <typename Factory>
class GrantStoreConformanceTest : public StoreConformanceTest<Factory> {
 protected:
  // Approves and redeems a new authorization `id`, storing its access token, grant and first
  // refresh token (seed `id`). Returns the grant.
  Grant redeemWithRefreshToken(const std::string& id,
                               TimePoint grant_expires_at = conformance::kT0 + seconds(86400)) {
    const Authorization authorization = this->addAuthorization(id);
    EXPECT_TRUE(conformance::won(
        this->store().approve(id, "subject-alice", std::nullopt, conformance::kT0)));
    const Grant grant = conformance::makeGrant(id, grant_expires_at);
    EXPECT_TRUE(conformance::won(this->store().redeemWithRefreshToken(
        id, conformance::makeToken(id, id), grant, conformance::makeRefreshToken(id, id),
        conformance::kT0 + seconds(30))));
    return grant;
  }

  std::optional<RefreshTokenRecord> findRefreshToken(const std::string& seed) {
    auto found = this->store().findRefreshToken(hashSecret("refresh token " + seed));
    EXPECT_TRUE(found) << found.error().message;
    return found ? *found : std::nullopt;
  }

  // Rotates the refresh token of seed `used` to one of seed `next`, with an access token of
  // seed `next`, at `now`.
  StoreResult<bool> rotate(Store& store, const std::string& grant_id, const std::string& used,
                           const std::string& next, TimePoint now) {
    return store.rotateRefreshToken(hashSecret("refresh token " + used),
                                    conformance::makeRefreshToken(grant_id, next),
                                    conformance::makeToken(grant_id, next), now);
  }

  // Races rotations of one refresh token, each thread offering its own successor, and checks
  // that exactly one successor and one access token were stored.
  void expectOneRotation(const std::vector<Store*>& stores) {
    redeemWithRefreshToken("race-rotate");
    conformance::RaceResult result;
    conformance::race(stores, result, [&](int i, Store& store) {
      return rotate(store, "race-rotate", "race-rotate", "next-" + std::to_string(i),
                    conformance::kT0 + seconds(60));
    });
    EXPECT_EQ(result.errors, std::vector<std::string>());
    EXPECT_EQ(result.wins.load(), 1);
    EXPECT_EQ(result.losses.load(), conformance::kRaceThreads - 1);

    int successors = 0;
    int access_tokens = 0;
    for (int i = 0; i < conformance::kRaceThreads; ++i) {
      successors += findRefreshToken("next-" + std::to_string(i)) ? 1 : 0;
      auto token = this->store().findToken(hashSecret("token next-" + std::to_string(i)));
      ASSERT_TRUE(token);
      access_tokens += token->has_value() ? 1 : 0;
    }
    EXPECT_EQ(successors, 1);
    EXPECT_EQ(access_tokens, 1);
  }
};

TYPED_TEST_SUITE_P(GrantStoreConformanceTest);

TYPED_TEST_P(GrantStoreConformanceTest, ClientRoundTripsRefreshAndIntrospectFlags) {
  Client client = conformance::makeClient("resource-server");
  client.type = ClientType::Confidential;
  client.secret_hash = hashSecret("secret");
  client.refresh_grant = true;
  client.may_introspect = true;
  ASSERT_TRUE(this->store().insertClient(client));
  auto found = this->store().findClient("resource-server");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_TRUE((*found)->refresh_grant);
  EXPECT_TRUE((*found)->may_introspect);

  auto plain = this->store().findClient(conformance::kClientId);
  ASSERT_TRUE(plain) << plain.error().message;
  ASSERT_TRUE(plain->has_value());
  EXPECT_FALSE((*plain)->refresh_grant);
  EXPECT_FALSE((*plain)->may_introspect);
}

TYPED_TEST_P(GrantStoreConformanceTest, RedeemWithRefreshTokenStoresAllThree) {
  const Grant grant = this->redeemWithRefreshToken("grant-1");

  auto stored_grant = this->store().findGrant("grant-1");
  ASSERT_TRUE(stored_grant) << stored_grant.error().message;
  ASSERT_TRUE(stored_grant->has_value());
  EXPECT_EQ((*stored_grant)->client_id, conformance::kClientId);
  EXPECT_EQ((*stored_grant)->subject, "subject-alice");
  EXPECT_EQ((*stored_grant)->scope, "read write");
  EXPECT_EQ((*stored_grant)->created_at, grant.created_at);
  EXPECT_EQ((*stored_grant)->expires_at, grant.expires_at);
  EXPECT_EQ((*stored_grant)->revoked_at, std::nullopt);

  const auto record = this->findRefreshToken("grant-1");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->token.grant_id, "grant-1");
  EXPECT_EQ(record->token.issued_at, conformance::kT0 + seconds(30));
  EXPECT_EQ(record->token.expires_at, conformance::kT0 + seconds(3600));
  EXPECT_EQ(record->token.used_at, std::nullopt);
  EXPECT_EQ(record->grant.id, "grant-1");
  EXPECT_EQ(record->grant.expires_at, grant.expires_at);

  auto token = this->store().findToken(hashSecret("token grant-1"));
  ASSERT_TRUE(token);
  EXPECT_TRUE(token->has_value());
}

TYPED_TEST_P(GrantStoreConformanceTest, LostRedemptionStoresNoGrant) {
  this->redeemWithRefreshToken("grant-1");
  auto again = this->store().redeemWithRefreshToken(
      "grant-1", conformance::makeToken("grant-1", "second"), conformance::makeGrant("grant-1"),
      conformance::makeRefreshToken("grant-1", "second"), conformance::kT0 + seconds(31));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(*again);
  EXPECT_FALSE(this->findRefreshToken("second").has_value());
}

TYPED_TEST_P(GrantStoreConformanceTest, RotationMarksUsedAndStoresSuccessor) {
  this->redeemWithRefreshToken("grant-1");
  const TimePoint now = conformance::kT0 + seconds(60);
  ASSERT_TRUE(conformance::won(this->rotate(this->store(), "grant-1", "grant-1", "next", now)));

  const auto used = this->findRefreshToken("grant-1");
  ASSERT_TRUE(used.has_value());
  EXPECT_EQ(used->token.used_at, now);
  const auto next = this->findRefreshToken("next");
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->token.used_at, std::nullopt);
  EXPECT_EQ(next->grant.id, "grant-1");
  auto token = this->store().findToken(hashSecret("token next"));
  ASSERT_TRUE(token);
  EXPECT_TRUE(token->has_value());

  // A used token rotates no more.
  auto again = this->rotate(this->store(), "grant-1", "grant-1", "other", now);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  EXPECT_FALSE(this->findRefreshToken("other").has_value());
}

TYPED_TEST_P(GrantStoreConformanceTest, RotationFailsOnceIdleOrGrantExpired) {
  this->redeemWithRefreshToken("idle");
  auto idle =
      this->rotate(this->store(), "idle", "idle", "idle-next", conformance::kT0 + seconds(3600));
  ASSERT_TRUE(idle);
  EXPECT_FALSE(*idle);

  this->redeemWithRefreshToken("short", conformance::kT0 + seconds(100));
  auto expired =
      this->rotate(this->store(), "short", "short", "short-next", conformance::kT0 + seconds(100));
  ASSERT_TRUE(expired);
  EXPECT_FALSE(*expired);
  EXPECT_FALSE(this->findRefreshToken("idle-next").has_value());
  EXPECT_FALSE(this->findRefreshToken("short-next").has_value());
}

TYPED_TEST_P(GrantStoreConformanceTest, RevokedGrantStopsRotation) {
  this->redeemWithRefreshToken("grant-1");
  const TimePoint now = conformance::kT0 + seconds(60);
  ASSERT_TRUE(conformance::won(this->store().revokeGrant("grant-1", now)));
  auto again = this->store().revokeGrant("grant-1", now + seconds(1));
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  auto unknown = this->store().revokeGrant("unknown", now);
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);

  const auto record = this->findRefreshToken("grant-1");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->grant.revoked_at, now);
  auto rotated = this->rotate(this->store(), "grant-1", "grant-1", "next", now);
  ASSERT_TRUE(rotated);
  EXPECT_FALSE(*rotated);
}

TYPED_TEST_P(GrantStoreConformanceTest, RemoveTokenOnlyOnce) {
  this->redeemWithRefreshToken("grant-1");
  const SecretHash hash = hashSecret("token grant-1");
  ASSERT_TRUE(conformance::won(this->store().removeToken(hash)));
  auto again = this->store().removeToken(hash);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  auto found = this->store().findToken(hash);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->has_value());
}

TYPED_TEST_P(GrantStoreConformanceTest, PurgeDeletesExpiredGrantsWithTheirTokens) {
  this->redeemWithRefreshToken("old", conformance::kT0 + seconds(100));
  this->redeemWithRefreshToken("live", conformance::kT0 + seconds(1000));
  auto purged = this->store().purgeExpired(conformance::kT0, conformance::kT0 + seconds(500));
  ASSERT_TRUE(purged) << purged.error().message;

  auto old_grant = this->store().findGrant("old");
  ASSERT_TRUE(old_grant);
  EXPECT_FALSE(old_grant->has_value());
  EXPECT_FALSE(this->findRefreshToken("old").has_value());
  auto live_grant = this->store().findGrant("live");
  ASSERT_TRUE(live_grant);
  EXPECT_TRUE(live_grant->has_value());
  EXPECT_TRUE(this->findRefreshToken("live").has_value());
}

TYPED_TEST_P(GrantStoreConformanceTest, RemoveClientRemovesItsGrants) {
  this->redeemWithRefreshToken("grant-1");
  ASSERT_TRUE(conformance::won(this->store().removeClient(conformance::kClientId)));
  auto grant = this->store().findGrant("grant-1");
  ASSERT_TRUE(grant);
  EXPECT_FALSE(grant->has_value());
  EXPECT_FALSE(this->findRefreshToken("grant-1").has_value());
}

TYPED_TEST_P(GrantStoreConformanceTest, RacingRotationsHaveOneWinner) {
  this->expectOneRotation({&this->store()});
}

TYPED_TEST_P(GrantStoreConformanceTest, RacingRotationsAcrossTwoStoresHaveOneWinner) {
  auto other = this->openAnother();
  ASSERT_NE(other, nullptr);
  this->expectOneRotation({&this->store(), other.get()});
}

REGISTER_TYPED_TEST_SUITE_P(GrantStoreConformanceTest, ClientRoundTripsRefreshAndIntrospectFlags,
                            RedeemWithRefreshTokenStoresAllThree, LostRedemptionStoresNoGrant,
                            RotationMarksUsedAndStoresSuccessor,
                            RotationFailsOnceIdleOrGrantExpired, RevokedGrantStopsRotation,
                            RemoveTokenOnlyOnce, PurgeDeletesExpiredGrantsWithTheirTokens,
                            RemoveClientRemovesItsGrants, RacingRotationsHaveOneWinner,
                            RacingRotationsAcrossTwoStoresHaveOneWinner);

}  // namespace devauth::testing
