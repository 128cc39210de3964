// Too-early polls of device codes at the largest interval, to which the I/O threads respond with
// slow_down from memory (oauth/slow_down_cache.h), over real HTTP.

#include "oauth_fixture.h"
#include "store/store.h"

namespace devauth::testing {
namespace {

// The interval starts at the largest one, so every code's first slow_down comes from
// memory. With the default tolerance of 1 s, the earliest accepted poll comes 4 s after the
// last one.
class EarlyPollTest : public OAuthFixture {
 protected:
  void adjustConfig(Config& config) override {
    config.poll_interval = seconds(5);
    config.poll_policy.max_interval = seconds(5);
  }

  // Starts an authorization for pub1 and polls it once (authorization_pending) and once too
  // early (slow_down, which remembers the code).
  DeviceCodes beginAndPollEarly() {
    DeviceCodes codes = beginFor("pub1");
    expectOAuthError(poll(codes.device_code), 400, "authorization_pending");
    server().clock().advance(seconds(1));
    expectOAuthError(poll(codes.device_code), 400, "slow_down");
    return codes;
  }
};

TEST_F(EarlyPollTest, EarlyPollsAreSlowDownAndChangeNothing) {
  const DeviceCodes codes = beginFor("pub1");
  expectOAuthError(poll(codes.device_code), 400, "authorization_pending");
  const TimePoint accepted_at = server().clock().now();

  for (int i = 0; i < 3; ++i) {
    server().clock().advance(seconds(1));
    expectOAuthError(poll(codes.device_code), 400, "slow_down");
  }

  const Authorization authorization = stored(codes.device_code);
  EXPECT_EQ(authorization.interval, seconds(5));
  EXPECT_EQ(authorization.last_poll_at, accepted_at);
}

TEST_F(EarlyPollTest, IntervalPollAcceptedAfterEarlyPolls) {
  const DeviceCodes codes = beginAndPollEarly();
  server().clock().advance(seconds(2));
  expectOAuthError(poll(codes.device_code), 400, "slow_down");

  server().clock().advance(seconds(1));  // 4 s after the accepted poll
  expectOAuthError(poll(codes.device_code), 400, "authorization_pending");
  EXPECT_EQ(stored(codes.device_code).last_poll_at, server().clock().now());
}

TEST_F(EarlyPollTest, ApprovalHereReachesEarlyPollAtOnce) {
  const DeviceCodes codes = beginAndPollEarly();
  approveInStore(codes.device_code);

  const HttpResult result = poll(codes.device_code);
  ASSERT_EQ(result.status, 200u) << result.body;
  EXPECT_FALSE(stringField(jsonObject(result), "access_token").empty()) << result.body;
  EXPECT_EQ(stored(codes.device_code).state, AuthorizationState::Redeemed);
}

TEST_F(EarlyPollTest, DenialHereReachesEarlyPollAtOnce) {
  const DeviceCodes codes = beginAndPollEarly();
  denyInStore(codes.device_code);

  expectOAuthError(poll(codes.device_code), 400, "access_denied");
}

// Another process on the same SQLite file (here a second store object) approves the code. No
// held poll waits, so no decision feed reads the file, and the code's early polls stay
// slow_down until the time a client polling at its interval would read the approval.
TEST_F(EarlyPollTest, OtherStoresDecisionWaitsForInterval) {
  const DeviceCodes codes = beginAndPollEarly();
  auto other = openStore(server().config().store);
  ASSERT_TRUE(other.hasValue()) << other.error().message;
  auto approved = (*other)->approve(stored(codes.device_code).id, "sub-alice", std::nullopt,
                                    server().clock().now());
  ASSERT_TRUE(approved.hasValue()) << approved.error().message;
  ASSERT_TRUE(*approved);

  expectOAuthError(poll(codes.device_code), 400, "slow_down");
  EXPECT_EQ(stored(codes.device_code).state, AuthorizationState::Approved);

  server().clock().advance(seconds(3));  // 4 s after the accepted poll
  const HttpResult result = poll(codes.device_code);
  ASSERT_EQ(result.status, 200u) << result.body;
  EXPECT_FALSE(stringField(jsonObject(result), "access_token").empty()) << result.body;
}

// A poll that reaches the store and finds the code decided drops it from memory. HTTP Basic
// with an empty secret (a public client) takes the store path.
TEST_F(EarlyPollTest, DecisionFoundInStoreEndsEarlyAnswers) {
  const DeviceCodes codes = beginAndPollEarly();
  auto other = openStore(server().config().store);
  ASSERT_TRUE(other.hasValue()) << other.error().message;
  auto denied = (*other)->deny(stored(codes.device_code).id, "sub-alice", server().clock().now());
  ASSERT_TRUE(denied.hasValue()) << denied.error().message;
  ASSERT_TRUE(*denied);
  expectOAuthError(poll(codes.device_code), 400, "slow_down");

  const HttpResult with_basic = postForm(
      port(), kTokenPath, {{"grant_type", kDeviceCodeUrn}, {"device_code", codes.device_code}},
      {{"Authorization", "Basic cHViMTo="}});  // pub1 and an empty secret
  expectOAuthError(with_basic, 400, "access_denied");

  expectOAuthError(poll(codes.device_code), 400, "access_denied");
}

// The remembered time ends at the code's expiry: 1 s before it, the earliest next poll lies
// 3 s past it, and the poll at expiry is expired_token.
TEST_F(EarlyPollTest, EarlyPollAtExpiryIsExpiredToken) {
  const DeviceCodes codes = beginFor("pub1");
  server().clock().advance(server().config().device_code_ttl - seconds(1));
  expectOAuthError(poll(codes.device_code), 400, "authorization_pending");
  expectOAuthError(poll(codes.device_code), 400, "slow_down");

  server().clock().advance(seconds(1));
  expectOAuthError(poll(codes.device_code), 400, "expired_token");
}

TEST_F(EarlyPollTest, AnotherClientGetsInvalidGrant) {
  const DeviceCodes codes = beginAndPollEarly();

  expectOAuthError(poll(codes.device_code, "pub2"), 400, "invalid_grant");
  expectOAuthError(poll(codes.device_code, "nodev"), 400, "unauthorized_client");
}

TEST_F(EarlyPollTest, MalformedEarlyPollIsStillRejected) {
  const DeviceCodes codes = beginAndPollEarly();

  const HttpResult repeated = postForm(port(), kTokenPath,
                                       {{"grant_type", kDeviceCodeUrn},
                                        {"device_code", codes.device_code},
                                        {"device_code", codes.device_code},
                                        {"client_id", "pub1"}});
  expectOAuthError(repeated, 400, "invalid_request");
  const HttpResult with_secret = postForm(port(), kTokenPath,
                                          {{"grant_type", kDeviceCodeUrn},
                                           {"device_code", codes.device_code},
                                           {"client_id", "pub1"},
                                           {"client_secret", "guess"}});
  expectOAuthError(with_secret, 400, "invalid_client");
}

// A reload may change the polling policy, so it drops every code. With a larger maximum, the
// next early poll raises the interval again.
TEST_F(EarlyPollTest, ReloadForgetsRememberedCodes) {
  const DeviceCodes codes = beginAndPollEarly();
  Config reloaded = server().config();
  reloaded.poll_policy.max_interval = seconds(30);
  server().reload(reloaded);

  expectOAuthError(poll(codes.device_code), 400, "slow_down");
  EXPECT_EQ(stored(codes.device_code).interval, seconds(10));
}

}  // namespace
}  // namespace devauth::testing
