#include "core/authorization.h"

#include <gtest/gtest.h>

#include <string>

#include "support/fixed_random.h"

namespace devauth {
namespace {

using std::chrono_literals::operator""ms;
using std::chrono_literals::operator""s;

class PollDecisionTest : public ::testing::Test {
 protected:
  PollDecisionTest() {
    authorization_.state = AuthorizationState::Pending;
    authorization_.created_at = start_;
    authorization_.expires_at = start_ + 600s;
    authorization_.interval = 5s;
  }

  // Decides a poll at `offset` after start and, like the token endpoint, stores the new
  // polling state for Pending and SlowDown.
  PollOutcome poll(milliseconds offset) {
    const PollDecision decision = decidePoll(authorization_, start_ + offset, policy_);
    if (decision.outcome == PollOutcome::Pending || decision.outcome == PollOutcome::SlowDown) {
      authorization_.last_poll_at = decision.new_last_poll_at;
      authorization_.interval = decision.new_interval;
    }
    return decision.outcome;
  }

  const TimePoint start_ = fromUnixMillis(1'800'000'000'000);
  Authorization authorization_;
  PollPolicy policy_;
};

TEST_F(PollDecisionTest, FirstPollIsNeverThrottled) {
  EXPECT_EQ(poll(0ms), PollOutcome::Pending);
  EXPECT_EQ(authorization_.last_poll_at, start_);
  EXPECT_EQ(authorization_.interval, 5s);
}

TEST_F(PollDecisionTest, PollsAtTheIntervalAreNeverThrottled) {
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(poll(i * 5000ms), PollOutcome::Pending) << "poll " << i;
  }
  EXPECT_EQ(authorization_.interval, 5s);
}

TEST_F(PollDecisionTest, JitterWithinToleranceIsAccepted) {
  EXPECT_EQ(poll(0ms), PollOutcome::Pending);
  EXPECT_EQ(poll(4100ms), PollOutcome::Pending);
  EXPECT_EQ(poll(8200ms), PollOutcome::Pending);
}

TEST_F(PollDecisionTest, EarlyPollGetsSlowDownAndIntervalGrowsByFive) {
  EXPECT_EQ(poll(0ms), PollOutcome::Pending);
  EXPECT_EQ(poll(1000ms), PollOutcome::SlowDown);
  EXPECT_EQ(authorization_.interval, 10s);
  // The rejected poll does not move the reference point: the next poll is measured from 0.
  EXPECT_EQ(authorization_.last_poll_at, start_);
}

TEST_F(PollDecisionTest, OldIntervalAfterSlowDownIsSlowDownAgain) {
  EXPECT_EQ(poll(0ms), PollOutcome::Pending);
  EXPECT_EQ(poll(1000ms), PollOutcome::SlowDown);
  EXPECT_EQ(poll(5000ms), PollOutcome::SlowDown);
  EXPECT_EQ(authorization_.interval, 15s);
}

TEST_F(PollDecisionTest, ClientThatAddsFiveAfterSlowDownIsNotThrottled) {
  // RFC 8628 §3.5: after slow_down the client adds 5 s to its interval for all later polls.
  EXPECT_EQ(poll(0ms), PollOutcome::Pending);
  EXPECT_EQ(poll(1000ms), PollOutcome::SlowDown);
  EXPECT_EQ(poll(11000ms), PollOutcome::Pending);
  EXPECT_EQ(poll(21000ms), PollOutcome::Pending);
  EXPECT_EQ(poll(31000ms), PollOutcome::Pending);
  EXPECT_EQ(authorization_.interval, 10s);
}

TEST_F(PollDecisionTest, IntervalStopsGrowingAtMaximum) {
  policy_.max_interval = 20s;
  EXPECT_EQ(poll(0ms), PollOutcome::Pending);
  for (int i = 1; i <= 10; ++i) {
    EXPECT_EQ(poll(milliseconds(i)), PollOutcome::SlowDown);
  }
  EXPECT_EQ(authorization_.interval, 20s);
}

TEST_F(PollDecisionTest, ApprovedIsRedeemedEvenWhenPolledEarly) {
  EXPECT_EQ(poll(0ms), PollOutcome::Pending);
  authorization_.state = AuthorizationState::Approved;
  EXPECT_EQ(poll(100ms), PollOutcome::Approved);
}

TEST_F(PollDecisionTest, DeniedStaysDeniedUntilExpiry) {
  authorization_.state = AuthorizationState::Denied;
  EXPECT_EQ(poll(0ms), PollOutcome::Denied);
  EXPECT_EQ(poll(100ms), PollOutcome::Denied);
  EXPECT_EQ(poll(600000ms), PollOutcome::Expired);
}

TEST_F(PollDecisionTest, ExpiryWinsOverApproval) {
  authorization_.state = AuthorizationState::Approved;
  EXPECT_EQ(poll(599999ms), PollOutcome::Approved);
  EXPECT_EQ(poll(600000ms), PollOutcome::Expired);
}

TEST_F(PollDecisionTest, PendingExpires) { EXPECT_EQ(poll(600001ms), PollOutcome::Expired); }

TEST_F(PollDecisionTest, RedeemedIsAlwaysInvalidGrant) {
  authorization_.state = AuthorizationState::Redeemed;
  EXPECT_EQ(poll(0ms), PollOutcome::Redeemed);
  EXPECT_EQ(poll(700000ms), PollOutcome::Redeemed);
}

TEST_F(PollDecisionTest, FinalOutcomesChangeNoPollingState) {
  authorization_.state = AuthorizationState::Denied;
  const PollDecision decision = decidePoll(authorization_, start_, policy_);
  EXPECT_FALSE(decision.new_last_poll_at.has_value());
}

TEST(PollOutcomeTest, MapsToRfcErrors) {
  EXPECT_EQ(errorForOutcome(PollOutcome::Pending), OAuthErrorCode::AuthorizationPending);
  EXPECT_EQ(errorForOutcome(PollOutcome::SlowDown), OAuthErrorCode::SlowDown);
  EXPECT_EQ(errorForOutcome(PollOutcome::Denied), OAuthErrorCode::AccessDenied);
  EXPECT_EQ(errorForOutcome(PollOutcome::Expired), OAuthErrorCode::ExpiredToken);
  EXPECT_EQ(errorForOutcome(PollOutcome::Redeemed), OAuthErrorCode::InvalidGrant);
  EXPECT_FALSE(errorForOutcome(PollOutcome::Approved).has_value());
}

TEST(AuthorizationStateTest, RoundTripsThroughText) {
  for (auto state : {AuthorizationState::Pending, AuthorizationState::Approved,
                     AuthorizationState::Denied, AuthorizationState::Redeemed}) {
    EXPECT_EQ(parseAuthorizationState(toString(state)), state);
  }
  EXPECT_FALSE(parseAuthorizationState("expired").has_value());
}

// The id starts with the creation time in milliseconds (6 bytes, most significant first) and
// ends with 10 random bytes, in lower-case hex.
TEST(AuthorizationIdTest, TimeThenRandomBytesInHex) {
  testing::FixedRandom random({0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0xff});
  const std::string id = newAuthorizationId(random, fromUnixMillis(0x0123456789ab));
  EXPECT_EQ(id, "0123456789ab001122334455667788ff");
}

// Ids made later sort after earlier ones whatever their random bytes, and ids made in the same
// millisecond differ.
TEST(AuthorizationIdTest, LaterIdsSortAfter) {
  testing::FixedRandom random({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  const TimePoint now = fromUnixMillis(1'796'000'000'000);
  const std::string first = newAuthorizationId(random, now);
  const std::string same_time = newAuthorizationId(random, now);
  const std::string later = newAuthorizationId(random, now + std::chrono::milliseconds(1));
  EXPECT_LT(first, later);
  EXPECT_LT(same_time, later);
  EXPECT_NE(first, same_time);
  EXPECT_EQ(first.size(), 32U);
}

}  // namespace
}  // namespace devauth
