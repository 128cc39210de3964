#pragma once

// Conformance tests of Store::pollPending, the one-step poll of a pending authorization. A
// backend instantiates them with the factory type of store_conformance.h:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(Backend, PollStoreConformanceTest, F);
//
// core decidePoll is the rule, and a backend may compute it in SQL. The table of cases below
// checks that the store decides and records exactly what decidePoll returns.

#include <optional>
#include <string>
#include <vector>

#include "store/store_conformance.h"

namespace devauth::testing {

namespace poll_conformance {

enum class Owner { ThisClient, OtherClient, Unknown };

struct PollCase {
  std::string name;
  AuthorizationState state = AuthorizationState::Pending;
  seconds interval{5};
  // Relative to conformance::kT0; empty before the first poll.
  std::optional<milliseconds> last_poll_at = std::nullopt;
  milliseconds now{0};
  milliseconds expires_in = seconds(600);
  PollPolicy policy{};
  Owner owner = Owner::ThisClient;
};

inline std::vector<PollCase> pollCases() {
  const PollPolicy custom{seconds(7), milliseconds(250), seconds(30)};
  const PollPolicy wide_tolerance{seconds(5), seconds(10), seconds(120)};
  std::vector<PollCase> cases;
  auto add = [&cases](PollCase poll_case) { cases.push_back(std::move(poll_case)); };
  // Pending codes of the polling client: accepted or slow_down.
  add({.name = "first-poll", .now = seconds(3)});
  add({.name = "on-time", .last_poll_at = seconds(0), .now = seconds(5)});
  add({.name = "late", .last_poll_at = seconds(0), .now = seconds(90)});
  add({.name = "tolerance-edge", .last_poll_at = seconds(0), .now = milliseconds(4000)});
  add({.name = "one-ms-early", .last_poll_at = seconds(0), .now = milliseconds(3999)});
  add({.name = "same-ms", .last_poll_at = seconds(0), .now = seconds(0)});
  add({.name = "at-max-interval",
       .interval = seconds(120),
       .last_poll_at = seconds(0),
       .now = seconds(1)});
  add({.name = "near-max-interval",
       .interval = seconds(118),
       .last_poll_at = seconds(0),
       .now = seconds(1)});
  add({.name = "above-max-interval",
       .interval = seconds(150),
       .last_poll_at = seconds(0),
       .now = seconds(100)});
  add({.name = "custom-edge",
       .interval = seconds(25),
       .last_poll_at = seconds(0),
       .now = milliseconds(24750),
       .policy = custom});
  add({.name = "custom-early",
       .interval = seconds(25),
       .last_poll_at = seconds(0),
       .now = milliseconds(24749),
       .policy = custom});
  add({.name = "tolerance-above-interval",
       .last_poll_at = seconds(0),
       .now = seconds(0),
       .policy = wide_tolerance});
  add({.name = "last-ms-before-expiry", .now = milliseconds(9999), .expires_in = seconds(10)});

  // Expired, decided and foreign codes: nothing is recorded.
  add({.name = "expired", .now = seconds(10), .expires_in = seconds(10)});
  add({.name = "expired-early",
       .last_poll_at = seconds(9),
       .now = seconds(11),
       .expires_in = seconds(10)});
  add({.name = "approved", .state = AuthorizationState::Approved, .now = seconds(5)});
  add({.name = "denied", .state = AuthorizationState::Denied, .now = seconds(5)});
  add({.name = "redeemed", .state = AuthorizationState::Redeemed, .now = seconds(5)});
  add({.name = "approved-early",
       .state = AuthorizationState::Approved,
       .last_poll_at = seconds(0),
       .now = seconds(1)});
  add({.name = "other-client", .now = seconds(5), .owner = Owner::OtherClient});
  add({.name = "other-client-early",
       .last_poll_at = seconds(0),
       .now = seconds(1),
       .owner = Owner::OtherClient});
  add({.name = "unknown", .now = seconds(5), .owner = Owner::Unknown});
  return cases;
}

}  // namespace poll_conformance

template <typename Factory>
class PollStoreConformanceTest : public StoreConformanceTest<Factory> {};

TYPED_TEST_SUITE_P(PollStoreConformanceTest);

// For a pending, unexpired code of the polling client, pollPending returns and stores what core
// decidePoll decides. For any other code it returns nothing and changes nothing.
TYPED_TEST_P(PollStoreConformanceTest, PollPendingAgreesWithDecidePoll) {
  using poll_conformance::Owner;
  ASSERT_TRUE(this->store().insertClient(conformance::makeClient("other-app")));
  for (const auto& poll_case : poll_conformance::pollCases()) {
    SCOPED_TRACE(poll_case.name);
    Authorization authorization = conformance::makeAuthorization(
        poll_case.name,
        poll_case.owner == Owner::OtherClient ? "other-app" : conformance::kClientId);
    authorization.interval = poll_case.interval;
    authorization.expires_at = conformance::kT0 + poll_case.expires_in;
    if (poll_case.last_poll_at) {
      authorization.last_poll_at = conformance::kT0 + *poll_case.last_poll_at;
    }
    if (poll_case.owner != Owner::Unknown) {
      ASSERT_TRUE(this->store().insertAuthorization(authorization));
    }
    const std::string subject = "subject-alice";
    if (poll_case.state != AuthorizationState::Pending) {
      ASSERT_TRUE(conformance::won(
          poll_case.state == AuthorizationState::Denied
              ? this->store().deny(authorization.id, subject, conformance::kT0)
              : this->store().approve(authorization.id, subject, std::nullopt, conformance::kT0)));
    }
    if (poll_case.state == AuthorizationState::Redeemed) {
      ASSERT_TRUE(conformance::won(
          this->store().redeem(authorization.id, std::nullopt, conformance::kT0 + seconds(1))));
    }
    const Authorization before =
        poll_case.owner == Owner::Unknown ? authorization : this->reload(authorization);

    const TimePoint now = conformance::kT0 + poll_case.now;
    auto polled = this->store().pollPending(authorization.device_code_hash, conformance::kClientId,
                                            now, poll_case.policy);
    ASSERT_TRUE(polled) << polled.error().message;

    const PollDecision decision = decidePoll(before, now, poll_case.policy);
    const bool recorded =
        poll_case.owner == Owner::ThisClient &&
        (decision.outcome == PollOutcome::Pending || decision.outcome == PollOutcome::SlowDown);
    if (!recorded) {
      EXPECT_FALSE(polled->has_value());
      if (poll_case.owner != Owner::Unknown) {
        const Authorization after = this->reload(authorization);
        EXPECT_EQ(after.state, before.state);
        EXPECT_EQ(after.last_poll_at, before.last_poll_at);
        EXPECT_EQ(after.interval, before.interval);
      }
      continue;
    }
    ASSERT_TRUE(polled->has_value());
    EXPECT_EQ((*polled)->authorization_id, authorization.id);
    EXPECT_EQ((*polled)->outcome, decision.outcome);
    EXPECT_EQ((*polled)->expires_at, authorization.expires_at);
    const Authorization after = this->reload(authorization);
    EXPECT_EQ(after.state, AuthorizationState::Pending);
    EXPECT_EQ(after.last_poll_at, decision.new_last_poll_at);
    EXPECT_EQ(after.interval, decision.new_interval);
    // The returned polling state is the stored one.
    EXPECT_EQ((*polled)->state.last_poll_at, after.last_poll_at);
    EXPECT_EQ((*polled)->state.interval, after.interval);
  }
}

// Polls of one code at the same moment go through two store objects, as two server processes
// would send them. Exactly one is accepted. Each of the others is decided on the state that the
// one before it stored, so each raises the interval once (RFC 8628 §3.5).
TYPED_TEST_P(PollStoreConformanceTest, RacingPollsAcrossTwoStoresAcceptOne) {
  auto second = this->openAnother();
  ASSERT_NE(second, nullptr);
  const Authorization authorization = this->addAuthorization("race-poll-pending");
  const TimePoint now = conformance::kT0 + seconds(1);
  const PollPolicy policy{};

  conformance::RaceResult result;
  conformance::race(
      {&this->store(), second.get()}, result, [&](int, Store& store) -> StoreResult<bool> {
        auto polled =
            store.pollPending(authorization.device_code_hash, conformance::kClientId, now, policy);
        if (!polled) {
          return unexpected(polled.error());
        }
        if (!polled->has_value()) {
          return unexpected(
              StoreError{StoreError::Kind::Internal, "the pending code was not found"});
        }
        return (*polled)->outcome == PollOutcome::Pending;
      });
  EXPECT_EQ(result.errors, std::vector<std::string>());
  EXPECT_EQ(result.wins.load(), 1);
  EXPECT_EQ(result.losses.load(), conformance::kRaceThreads - 1);
  const Authorization stored = this->reload(authorization);
  EXPECT_EQ(stored.last_poll_at, now);
  EXPECT_EQ(stored.interval, seconds(5) + (conformance::kRaceThreads - 1) * policy.slow_down_step);
}

REGISTER_TYPED_TEST_SUITE_P(PollStoreConformanceTest, PollPendingAgreesWithDecidePoll,
                            RacingPollsAcrossTwoStoresAcceptOne);

}  // namespace devauth::testing
