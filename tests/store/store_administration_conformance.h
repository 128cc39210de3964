#pragma once

// The conformance tests of the administrative store methods (list and cancel pending
// authorizations, list and revoke grants, rotate a client secret), run on every backend with
// the factory of store_conformance.h:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(Backend, StoreAdministrationTest, F);

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "store/store_conformance.h"

namespace devauth::testing {

template <typename Factory>
class StoreAdministrationTest : public StoreConformanceTest<Factory> {
 protected:
  // Inserts a pending authorization of `client_id` created at kT0 + `offset`.
  Authorization addFor(const std::string& id, const std::string& client_id, seconds offset) {
    Authorization authorization = conformance::makeAuthorization(id, client_id);
    authorization.created_at = conformance::kT0 + offset;
    auto inserted = this->store().insertAuthorization(authorization);
    EXPECT_TRUE(inserted) << inserted.error().message;
    return authorization;
  }

  // Approves `id` for `subject` at kT0 + `offset`, then redeems it with a token when `redeem`
  // is set.
  void approveFor(const std::string& id, const std::string& subject, seconds offset, bool redeem) {
    const TimePoint at = conformance::kT0 + offset;
    ASSERT_TRUE(conformance::won(this->store().approve(id, subject, std::nullopt, at)));
    if (redeem) {
      IssuedToken token = conformance::makeToken(id, "token of " + id);
      token.subject = subject;
      ASSERT_TRUE(conformance::won(this->store().redeem(id, token, at)));
    }
  }

  static std::vector<std::string> ids(const std::vector<Authorization>& authorizations) {
    std::vector<std::string> result;
    for (const auto& authorization : authorizations) {
      result.push_back(authorization.id);
    }
    return result;
  }
};

TYPED_TEST_SUITE_P(StoreAdministrationTest);

TYPED_TEST_P(StoreAdministrationTest, ListLiveAuthorizationsFiltersByClientAndState) {
  ASSERT_TRUE(this->store().insertClient(conformance::makeClient("other-app")));
  this->addFor("second", conformance::kClientId, seconds(2));
  this->addFor("first", conformance::kClientId, seconds(1));
  this->addFor("other", "other-app", seconds(3));
  this->addFor("approved", conformance::kClientId, seconds(4));
  ASSERT_TRUE(conformance::won(
      this->store().approve("approved", "subject-alice", std::nullopt, conformance::kT0)));
  Authorization expired = conformance::makeAuthorization("expired");
  expired.expires_at = conformance::kT0 + seconds(10);
  ASSERT_TRUE(this->store().insertAuthorization(expired));

  const TimePoint now = conformance::kT0 + seconds(10);
  auto all = this->store().listLiveAuthorizations(std::nullopt, now);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(this->ids(*all), (std::vector<std::string>{"first", "second", "other"}));

  auto of_client = this->store().listLiveAuthorizations(std::string(conformance::kClientId), now);
  ASSERT_TRUE(of_client) << of_client.error().message;
  EXPECT_EQ(this->ids(*of_client), (std::vector<std::string>{"first", "second"}));
  ASSERT_EQ(of_client->size(), 2u);
  EXPECT_EQ((*of_client)[0].user_code_hash, hashSecret("user code first"));

  auto unknown = this->store().listLiveAuthorizations(std::string("no-such-client"), now);
  ASSERT_TRUE(unknown) << unknown.error().message;
  EXPECT_TRUE(unknown->empty());
}

TYPED_TEST_P(StoreAdministrationTest, CountAllLiveAuthorizationsCountsEveryClient) {
  ASSERT_TRUE(this->store().insertClient(conformance::makeClient("other-app")));
  this->addFor("a", conformance::kClientId, seconds(0));
  this->addFor("b", "other-app", seconds(0));
  this->addFor("denied", "other-app", seconds(0));
  ASSERT_TRUE(conformance::won(this->store().deny("denied", "subject-alice", conformance::kT0)));

  auto live = this->store().countAllLiveAuthorizations(conformance::kT0);
  ASSERT_TRUE(live) << live.error().message;
  EXPECT_EQ(*live, 2u);
  auto after_expiry = this->store().countAllLiveAuthorizations(conformance::kExpiresAt);
  ASSERT_TRUE(after_expiry) << after_expiry.error().message;
  EXPECT_EQ(*after_expiry, 0u);
}

TYPED_TEST_P(StoreAdministrationTest, ListGrantsReturnsApprovedAndRedeemedWithTokens) {
  this->addFor("redeemed", conformance::kClientId, seconds(0));
  this->addFor("approved", conformance::kClientId, seconds(0));
  this->addFor("denied", conformance::kClientId, seconds(0));
  this->addFor("pending", conformance::kClientId, seconds(0));
  this->addFor("bob", conformance::kClientId, seconds(0));
  ASSERT_NO_FATAL_FAILURE(this->approveFor("redeemed", "subject-alice", seconds(1), true));
  ASSERT_NO_FATAL_FAILURE(this->approveFor("approved", "subject-alice", seconds(2), false));
  ASSERT_NO_FATAL_FAILURE(this->approveFor("bob", "subject-bob", seconds(3), true));
  ASSERT_TRUE(conformance::won(this->store().deny("denied", "subject-alice", conformance::kT0)));

  auto grants = this->store().listUserGrants("subject-alice");
  ASSERT_TRUE(grants) << grants.error().message;
  ASSERT_EQ(grants->size(), 2u);
  // Newest decision first.
  EXPECT_EQ((*grants)[0].authorization.id, "approved");
  EXPECT_EQ((*grants)[0].authorization.state, AuthorizationState::Approved);
  EXPECT_TRUE((*grants)[0].tokens.empty());
  EXPECT_EQ((*grants)[1].authorization.id, "redeemed");
  EXPECT_EQ((*grants)[1].authorization.state, AuthorizationState::Redeemed);
  ASSERT_EQ((*grants)[1].tokens.size(), 1u);
  EXPECT_EQ((*grants)[1].tokens[0].token_hash, hashSecret("token token of redeemed"));

  auto nobody = this->store().listUserGrants("subject-nobody");
  ASSERT_TRUE(nobody) << nobody.error().message;
  EXPECT_TRUE(nobody->empty());
}

TYPED_TEST_P(StoreAdministrationTest, RevokeGrantDeletesTokensAndDeniesUnredeemed) {
  const Authorization redeemed = this->addFor("redeemed", conformance::kClientId, seconds(0));
  const Authorization approved = this->addFor("approved", conformance::kClientId, seconds(0));
  ASSERT_NO_FATAL_FAILURE(this->approveFor("redeemed", "subject-alice", seconds(1), true));
  ASSERT_NO_FATAL_FAILURE(this->approveFor("approved", "subject-alice", seconds(2), false));

  ASSERT_TRUE(conformance::won(this->store().revokeUserGrant("redeemed", "subject-alice")));
  auto token = this->store().findToken(hashSecret("token token of redeemed"));
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_FALSE(token->has_value());
  EXPECT_EQ(this->reload(redeemed).state, AuthorizationState::Redeemed);

  ASSERT_TRUE(conformance::won(this->store().revokeUserGrant("approved", "subject-alice")));
  EXPECT_EQ(this->reload(approved).state, AuthorizationState::Denied);
  // The device can no longer redeem the revoked approval.
  auto redeem = this->store().redeem("approved", std::nullopt, conformance::kT0 + seconds(3));
  ASSERT_TRUE(redeem) << redeem.error().message;
  EXPECT_FALSE(*redeem);

  auto grants = this->store().listUserGrants("subject-alice");
  ASSERT_TRUE(grants) << grants.error().message;
  ASSERT_EQ(grants->size(), 1u);
  EXPECT_TRUE((*grants)[0].tokens.empty());
}

TYPED_TEST_P(StoreAdministrationTest, RevokeGrantOfAnotherSubjectChangesNothing) {
  const Authorization authorization = this->addFor("bob", conformance::kClientId, seconds(0));
  ASSERT_NO_FATAL_FAILURE(this->approveFor("bob", "subject-bob", seconds(1), true));
  const Authorization pending = this->addFor("pending", conformance::kClientId, seconds(0));

  auto wrong_subject = this->store().revokeUserGrant("bob", "subject-alice");
  ASSERT_TRUE(wrong_subject) << wrong_subject.error().message;
  EXPECT_FALSE(*wrong_subject);
  auto not_a_grant = this->store().revokeUserGrant("pending", "subject-alice");
  ASSERT_TRUE(not_a_grant) << not_a_grant.error().message;
  EXPECT_FALSE(*not_a_grant);

  auto token = this->store().findToken(hashSecret("token token of bob"));
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_TRUE(token->has_value());
  EXPECT_EQ(this->reload(pending).state, AuthorizationState::Pending);
}

TYPED_TEST_P(StoreAdministrationTest, SetClientSecretReplacesOnlyConfidentialSecrets) {
  Client confidential = conformance::makeClient("backend");
  confidential.type = ClientType::Confidential;
  confidential.secret_hash = hashSecret("old secret");
  ASSERT_TRUE(this->store().insertClient(confidential));
  // A cached lookup before the change must not hide the new secret.
  auto before = this->store().findClient("backend");
  ASSERT_TRUE(before) << before.error().message;

  ASSERT_TRUE(conformance::won(this->store().setClientSecret("backend", hashSecret("new secret"))));
  auto found = this->store().findClient("backend");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->secret_hash, hashSecret("new secret"));

  auto public_client = this->store().setClientSecret(conformance::kClientId, hashSecret("x"));
  ASSERT_TRUE(public_client) << public_client.error().message;
  EXPECT_FALSE(*public_client);
  auto unknown = this->store().setClientSecret("no-such-client", hashSecret("x"));
  ASSERT_TRUE(unknown) << unknown.error().message;
  EXPECT_FALSE(*unknown);
}

REGISTER_TYPED_TEST_SUITE_P(StoreAdministrationTest, ListLiveAuthorizationsFiltersByClientAndState,
                            CountAllLiveAuthorizationsCountsEveryClient,
                            ListGrantsReturnsApprovedAndRedeemedWithTokens,
                            RevokeGrantDeletesTokensAndDeniesUnredeemed,
                            RevokeGrantOfAnotherSubjectChangesNothing,
                            SetClientSecretReplacesOnlyConfidentialSecrets);

}  // namespace devauth::testing
