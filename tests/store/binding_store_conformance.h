#pragma once

// The conformance tests of assisted approval in the store: binding a pending authorization to
// one subject, and approve and deny honouring the binding, run on every backend with the
// factory of store_conformance.h:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(Backend, BindingStoreConformanceTest, F);

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "store/store_conformance.h"

namespace devauth::testing {

template <typename Factory>
class BindingStoreConformanceTest : public StoreConformanceTest<Factory> {
 protected:
  // Races threads that bind `authorization` to "subject-customer" (even threads) against
  // threads that approve it for "subject-other" (odd threads), and checks that exactly one
  // side won: either the binding, and no approval, or the approval, and no binding.
  void expectBindOrApproval(const std::vector<Store*>& stores, const std::string& id) {
    const Authorization authorization = this->addAuthorization(id);
    std::atomic<int> binds{0};
    std::atomic<int> approvals{0};
    conformance::RaceResult result;
    conformance::race(stores, result, [&](int i, Store& store) {
      const bool binding = i % 2 == 0;
      auto won = binding ? store.bindSubject(authorization.id, "subject-customer", conformance::kT0)
                         : store.approve(authorization.id, "subject-other", std::nullopt,
                                         conformance::kT0);
      if (won && *won) {
        ++(binding ? binds : approvals);
      }
      return won;
    });
    EXPECT_EQ(result.errors, std::vector<std::string>());

    const Authorization stored = this->reload(authorization);
    if (approvals.load() > 0) {
      EXPECT_EQ(approvals.load(), 1);
      EXPECT_EQ(binds.load(), 0);
      EXPECT_EQ(stored.state, AuthorizationState::Approved);
      EXPECT_EQ(stored.subject, "subject-other");
      EXPECT_EQ(stored.bound_subject, std::nullopt);
    } else {
      EXPECT_EQ(binds.load(), conformance::kRaceThreads / 2);
      EXPECT_EQ(stored.state, AuthorizationState::Pending);
      EXPECT_EQ(stored.bound_subject, "subject-customer");
    }
  }
};

TYPED_TEST_SUITE_P(BindingStoreConformanceTest);

TYPED_TEST_P(BindingStoreConformanceTest, InsertStoresBoundSubject) {
  Authorization bound = conformance::makeAuthorization("bound-at-begin");
  bound.bound_subject = "subject-customer";
  ASSERT_TRUE(this->store().insertAuthorization(bound));
  const Authorization unbound = this->addAuthorization("unbound");

  EXPECT_EQ(this->reload(bound).bound_subject, "subject-customer");
  EXPECT_EQ(this->reload(unbound).bound_subject, std::nullopt);
}

TYPED_TEST_P(BindingStoreConformanceTest, BindKeepsFirstSubject) {
  const Authorization authorization = this->addAuthorization("bind");

  EXPECT_TRUE(conformance::won(
      this->store().bindSubject(authorization.id, "subject-customer", conformance::kT0)));
  // Binding again to the same subject is a repeat, not a change.
  EXPECT_TRUE(conformance::won(
      this->store().bindSubject(authorization.id, "subject-customer", conformance::kT0)));
  auto other = this->store().bindSubject(authorization.id, "subject-other", conformance::kT0);
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_FALSE(*other);

  const Authorization stored = this->reload(authorization);
  EXPECT_EQ(stored.bound_subject, "subject-customer");
  EXPECT_EQ(stored.state, AuthorizationState::Pending);
  EXPECT_EQ(stored.subject, std::nullopt);
}

TYPED_TEST_P(BindingStoreConformanceTest, BindFailsUnlessPendingAndUnexpired) {
  const Authorization approved = this->addAuthorization("approved");
  ASSERT_TRUE(conformance::won(
      this->store().approve(approved.id, "subject-alice", std::nullopt, conformance::kT0)));
  const Authorization expired = this->addAuthorization("expired");

  auto after_approval = this->store().bindSubject(approved.id, "subject-alice", conformance::kT0);
  ASSERT_TRUE(after_approval) << after_approval.error().message;
  EXPECT_FALSE(*after_approval);
  auto at_expiry = this->store().bindSubject(expired.id, "subject-alice", conformance::kExpiresAt);
  ASSERT_TRUE(at_expiry) << at_expiry.error().message;
  EXPECT_FALSE(*at_expiry);
  auto unknown = this->store().bindSubject("no-such-id", "subject-alice", conformance::kT0);
  ASSERT_TRUE(unknown) << unknown.error().message;
  EXPECT_FALSE(*unknown);

  EXPECT_EQ(this->reload(approved).bound_subject, std::nullopt);
  EXPECT_EQ(this->reload(expired).bound_subject, std::nullopt);
}

TYPED_TEST_P(BindingStoreConformanceTest, BoundAuthorizationRejectsOtherSubjects) {
  const Authorization authorization = this->addAuthorization("bound");
  ASSERT_TRUE(conformance::won(
      this->store().bindSubject(authorization.id, "subject-customer", conformance::kT0)));

  auto approved =
      this->store().approve(authorization.id, "subject-other", std::nullopt, conformance::kT0);
  ASSERT_TRUE(approved) << approved.error().message;
  EXPECT_FALSE(*approved);
  auto denied = this->store().deny(authorization.id, "subject-other", conformance::kT0);
  ASSERT_TRUE(denied) << denied.error().message;
  EXPECT_FALSE(*denied);

  const Authorization stored = this->reload(authorization);
  EXPECT_EQ(stored.state, AuthorizationState::Pending);
  EXPECT_EQ(stored.subject, std::nullopt);
}

TYPED_TEST_P(BindingStoreConformanceTest, BoundAuthorizationAcceptsItsSubject) {
  const Authorization to_approve = this->addAuthorization("bound-approve");
  const Authorization to_deny = this->addAuthorization("bound-deny");
  ASSERT_TRUE(conformance::won(
      this->store().bindSubject(to_approve.id, "subject-customer", conformance::kT0)));
  ASSERT_TRUE(conformance::won(
      this->store().bindSubject(to_deny.id, "subject-customer", conformance::kT0)));

  EXPECT_TRUE(conformance::won(
      this->store().approve(to_approve.id, "subject-customer", std::nullopt, conformance::kT0)));
  EXPECT_TRUE(
      conformance::won(this->store().deny(to_deny.id, "subject-customer", conformance::kT0)));

  const Authorization approved = this->reload(to_approve);
  EXPECT_EQ(approved.state, AuthorizationState::Approved);
  EXPECT_EQ(approved.subject, "subject-customer");
  EXPECT_EQ(approved.bound_subject, "subject-customer");
  EXPECT_EQ(this->reload(to_deny).state, AuthorizationState::Denied);
}

TYPED_TEST_P(BindingStoreConformanceTest, CancelDeniesWhateverTheBinding) {
  const Authorization bound = this->addAuthorization("cancel-bound");
  const Authorization expired = this->addAuthorization("cancel-expired");
  ASSERT_TRUE(
      conformance::won(this->store().bindSubject(bound.id, "subject-customer", conformance::kT0)));

  EXPECT_TRUE(
      conformance::won(this->store().cancelAuthorization(bound.id, "admin", conformance::kT0)));
  auto again = this->store().cancelAuthorization(bound.id, "admin", conformance::kT0);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(*again);
  auto too_late = this->store().cancelAuthorization(expired.id, "admin", conformance::kExpiresAt);
  ASSERT_TRUE(too_late) << too_late.error().message;
  EXPECT_FALSE(*too_late);

  const Authorization cancelled = this->reload(bound);
  EXPECT_EQ(cancelled.state, AuthorizationState::Denied);
  EXPECT_EQ(cancelled.subject, "admin");
  EXPECT_EQ(cancelled.decided_at, conformance::kT0);
  EXPECT_EQ(this->reload(expired).state, AuthorizationState::Pending);
}

TYPED_TEST_P(BindingStoreConformanceTest, RacingBindAndApproveHaveOneSide) {
  for (int round = 0; round < 5; ++round) {
    this->expectBindOrApproval({&this->store()}, "race-bind-" + std::to_string(round));
  }
}

TYPED_TEST_P(BindingStoreConformanceTest, RacingBindAndApproveAcrossTwoStoresHaveOneSide) {
  auto second = this->openAnother();
  ASSERT_NE(second, nullptr);
  for (int round = 0; round < 5; ++round) {
    this->expectBindOrApproval({&this->store(), second.get()},
                               "race-bind-two-" + std::to_string(round));
  }
}

REGISTER_TYPED_TEST_SUITE_P(BindingStoreConformanceTest, InsertStoresBoundSubject,
                            BindKeepsFirstSubject, BindFailsUnlessPendingAndUnexpired,
                            BoundAuthorizationRejectsOtherSubjects,
                            BoundAuthorizationAcceptsItsSubject, CancelDeniesWhateverTheBinding,
                            RacingBindAndApproveHaveOneSide,
                            RacingBindAndApproveAcrossTwoStoresHaveOneSide);

}  // namespace devauth::testing
