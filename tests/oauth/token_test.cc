// The token endpoint with the device_code grant (RFC 8628 §3.4-3.5, RFC 6749 §5).

#include <sqlite3.h>

#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include "oauth_fixture.h"
#include "store/client_cache.h"

namespace devauth::testing {
namespace {

class OAuthTokenTest : public OAuthFixture {};

TEST_F(OAuthTokenTest, PollBeforeApprovalIsAuthorizationPending) {
  const DeviceCodes codes = beginFor("pub1");
  server().clock().advance(seconds(5));

  expectOAuthError(poll(codes.device_code), 400, "authorization_pending");
}

TEST_F(OAuthTokenTest, FirstPollRightAfterBeginIsNotSlowDown) {
  const DeviceCodes codes = beginFor("pub1");

  expectOAuthError(poll(codes.device_code), 400, "authorization_pending");
  EXPECT_EQ(stored(codes.device_code).last_poll_at, server().clock().now());
}

TEST_F(OAuthTokenTest, PollAtIntervalIsAccepted) {
  const DeviceCodes codes = beginFor("pub1");
  expectOAuthError(poll(codes.device_code), 400, "authorization_pending");

  for (int i = 0; i < 3; ++i) {
    server().clock().advance(seconds(5));
    expectOAuthError(poll(codes.device_code), 400, "authorization_pending");
  }
  EXPECT_EQ(stored(codes.device_code).interval, seconds(5));
}

TEST_F(OAuthTokenTest, PollSoonerThanIntervalIsSlowDown) {
  const DeviceCodes codes = beginFor("pub1");
  expectOAuthError(poll(codes.device_code), 400, "authorization_pending");
  const TimePoint accepted_at = server().clock().now();
  server().clock().advance(seconds(1));

  expectOAuthError(poll(codes.device_code), 400, "slow_down");

  // RFC 8628 §3.5: the interval grows by 5 seconds; the rejected poll is not recorded.
  const Authorization authorization = stored(codes.device_code);
  EXPECT_EQ(authorization.interval, seconds(10));
  EXPECT_EQ(authorization.last_poll_at, accepted_at);
}

// After one slow_down the interval is 10 s, so a poll 5 s after the last accepted one is early.
TEST_F(OAuthTokenTest, PollAtOldIntervalAfterSlowDownIsSlowDown) {
  const DeviceCodes codes = beginFor("pub1");
  expectOAuthError(poll(codes.device_code), 400, "authorization_pending");
  server().clock().advance(seconds(1));
  expectOAuthError(poll(codes.device_code), 400, "slow_down");
  server().clock().advance(seconds(4));

  expectOAuthError(poll(codes.device_code), 400, "slow_down");
  EXPECT_EQ(stored(codes.device_code).interval, seconds(15));
}

TEST_F(OAuthTokenTest, PollAtNewIntervalAfterSlowDownIsPending) {
  const DeviceCodes codes = beginFor("pub1");
  expectOAuthError(poll(codes.device_code), 400, "authorization_pending");
  server().clock().advance(seconds(1));
  expectOAuthError(poll(codes.device_code), 400, "slow_down");
  server().clock().advance(seconds(9));

  expectOAuthError(poll(codes.device_code), 400, "authorization_pending");
  EXPECT_EQ(stored(codes.device_code).interval, seconds(10));
}

TEST_F(OAuthTokenTest, ApprovedCodeReturnsToken) {
  const DeviceCodes codes = beginFor("pub1");
  approveInStore(codes.device_code, "sub-alice");

  const HttpResult result = poll(codes.device_code);

  ASSERT_EQ(result.status, 200u) << result.body;
  expectNoStoreJson(result);
  EXPECT_EQ(result.header("Pragma"), "no-cache");
  const boost::json::object body = jsonObject(result);
  const std::string access_token = stringField(body, "access_token");
  EXPECT_EQ(access_token.size(), 43u);
  EXPECT_EQ(stringField(body, "token_type"), "Bearer");
  ASSERT_TRUE(body.contains("expires_in"));
  ASSERT_TRUE(body.at("expires_in").is_int64());
  EXPECT_EQ(body.at("expires_in").as_int64(), 3600);
  EXPECT_EQ(stringField(body, "scope"), "read write");
  EXPECT_EQ(stored(codes.device_code).state, AuthorizationState::Redeemed);
}

// A device code in the format of earlier versions (43 characters, stored under its whole
// SHA-256) is still polled and redeemed.
TEST_F(OAuthTokenTest, EarlierDeviceCodeFormatIsRedeemed) {
  CsprngRandom random;
  const std::string device_code = generateSecret(random);
  Authorization authorization;
  authorization.id = "earlier-format";
  authorization.device_code_hash = hashSecret(device_code);
  authorization.user_code_hash = hashSecret("BCDFGHJK");
  authorization.client_id = "pub1";
  authorization.scope = "read";
  authorization.created_at = server().clock().now();
  authorization.expires_at = authorization.created_at + seconds(600);
  authorization.interval = seconds(5);
  ASSERT_TRUE(server().store().insertAuthorization(authorization).hasValue());

  expectOAuthError(poll(device_code), 400, "authorization_pending");
  approveInStore(device_code, "sub-alice");
  server().clock().advance(seconds(5));
  const HttpResult result = poll(device_code);

  ASSERT_EQ(result.status, 200u) << result.body;
  EXPECT_EQ(stringField(jsonObject(result), "scope"), "read");
  EXPECT_EQ(stored(device_code).state, AuthorizationState::Redeemed);
}

TEST_F(OAuthTokenTest, IssuedTokenIsStoredOnlyAsHash) {
  const DeviceCodes codes = beginFor("pub1");
  approveInStore(codes.device_code, "sub-alice");

  const HttpResult result = poll(codes.device_code);

  ASSERT_EQ(result.status, 200u) << result.body;
  const std::string access_token = stringField(jsonObject(result), "access_token");
  ASSERT_FALSE(access_token.empty());
  auto found = server().store().findToken(hashSecret(access_token));
  ASSERT_TRUE(found.hasValue()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  const IssuedToken& token = **found;
  EXPECT_EQ(token.client_id, "pub1");
  EXPECT_EQ(token.subject, "sub-alice");
  EXPECT_EQ(token.scope, "read write");
  EXPECT_EQ(token.authorization_id, stored(codes.device_code).id);
  EXPECT_EQ(token.issued_at, server().clock().now());
  EXPECT_EQ(token.expires_at, server().clock().now() + seconds(3600));
  EXPECT_EQ(databaseBytes().find(access_token), std::string::npos);
}

TEST_F(OAuthTokenTest, ApprovedCodeIsRedeemedEvenWhenPolledEarly) {
  const DeviceCodes codes = beginFor("pub1");
  expectOAuthError(poll(codes.device_code), 400, "authorization_pending");
  approveInStore(codes.device_code);

  EXPECT_EQ(poll(codes.device_code).status, 200u);
}

TEST_F(OAuthTokenTest, SecondRedemptionIsInvalidGrant) {
  const DeviceCodes codes = beginFor("pub1");
  approveInStore(codes.device_code);
  ASSERT_EQ(poll(codes.device_code).status, 200u);
  server().clock().advance(seconds(5));

  expectOAuthError(poll(codes.device_code), 400, "invalid_grant");
}

TEST_F(OAuthTokenTest, ConcurrentPollsAfterApprovalIssueOneToken) {
  const DeviceCodes codes = beginFor("pub1");
  approveInStore(codes.device_code);
  constexpr int kPollers = 10;
  std::latch start(kPollers);
  std::mutex results_mutex;
  std::vector<HttpResult> results;

  std::vector<std::thread> pollers;
  for (int i = 0; i < kPollers; ++i) {
    pollers.emplace_back([&] {
      start.arrive_and_wait();
      HttpResult result = poll(codes.device_code);
      std::lock_guard lock(results_mutex);
      results.push_back(std::move(result));
    });
  }
  for (auto& poller : pollers) {
    poller.join();
  }

  int issued = 0;
  for (const auto& result : results) {
    if (result.status == 200) {
      ++issued;
    } else {
      expectOAuthError(result, 400, "invalid_grant");
    }
  }
  EXPECT_EQ(issued, 1);
  EXPECT_EQ(results.size(), static_cast<std::size_t>(kPollers));
}

TEST_F(OAuthTokenTest, DeniedCodeStaysAccessDenied) {
  const DeviceCodes codes = beginFor("pub1");
  denyInStore(codes.device_code);

  expectOAuthError(poll(codes.device_code), 400, "access_denied");
  server().clock().advance(seconds(5));
  expectOAuthError(poll(codes.device_code), 400, "access_denied");
  server().clock().advance(seconds(1));
  expectOAuthError(poll(codes.device_code), 400, "access_denied");
}

TEST_F(OAuthTokenTest, ExpiredCodeIsExpiredToken) {
  const DeviceCodes codes = beginFor("pub1");
  server().clock().advance(server().config().device_code_ttl + seconds(1));

  expectOAuthError(poll(codes.device_code), 400, "expired_token");
}

TEST_F(OAuthTokenTest, ApprovedButExpiredCodeIsExpiredTokenWithoutToken) {
  const DeviceCodes codes = beginFor("pub1");
  approveInStore(codes.device_code);
  server().clock().advance(server().config().device_code_ttl + seconds(1));

  expectOAuthError(poll(codes.device_code), 400, "expired_token");

  // Redemption stores the token in the same transaction, so an unredeemed code means none.
  EXPECT_EQ(stored(codes.device_code).state, AuthorizationState::Approved);
}

TEST_F(OAuthTokenTest, ForeignClientGetsSameBodyAsUnknownCode) {
  const DeviceCodes codes = beginFor("pub1");

  const HttpResult foreign = poll(codes.device_code, "pub2");
  const HttpResult unknown = poll("garbage-device-code", "pub2");

  expectOAuthError(foreign, 400, "invalid_grant");
  expectOAuthError(unknown, 400, "invalid_grant");
  EXPECT_EQ(foreign.body, unknown.body);
  // The foreign poll left the polling state alone.
  EXPECT_FALSE(stored(codes.device_code).last_poll_at.has_value());
}

TEST_F(OAuthTokenTest, UnsupportedGrantTypeIsRejected) {
  const HttpResult result =
      postForm(port(), kTokenPath,
               {{"grant_type", "urn:example:nope"}, {"device_code", "x"}, {"client_id", "pub1"}});

  expectOAuthError(result, 400, "unsupported_grant_type");
}

TEST_F(OAuthTokenTest, CaseVariantOfGrantTypeIsUnsupported) {
  const DeviceCodes codes = beginFor("pub1");

  const HttpResult result =
      postForm(port(), kTokenPath,
               {{"grant_type", "URN:IETF:params:oauth:grant-type:device_code"},
                {"device_code", codes.device_code},
                {"client_id", "pub1"}});

  expectOAuthError(result, 400, "unsupported_grant_type");
}

TEST_F(OAuthTokenTest, MissingGrantTypeIsInvalidRequest) {
  const DeviceCodes codes = beginFor("pub1");

  const HttpResult result =
      postForm(port(), kTokenPath, {{"device_code", codes.device_code}, {"client_id", "pub1"}});

  expectOAuthError(result, 400, "invalid_request");
}

TEST_F(OAuthTokenTest, EmptyDeviceCodeIsInvalidRequest) {
  const HttpResult result =
      postForm(port(), kTokenPath,
               {{"grant_type", kDeviceCodeUrn}, {"device_code", ""}, {"client_id", "pub1"}});

  expectOAuthError(result, 400, "invalid_request");
}

TEST_F(OAuthTokenTest, RepeatedDeviceCodeIsInvalidRequest) {
  const DeviceCodes codes = beginFor("pub1");
  approveInStore(codes.device_code);

  const HttpResult result = postForm(port(), kTokenPath,
                                     {{"grant_type", kDeviceCodeUrn},
                                      {"device_code", codes.device_code},
                                      {"device_code", codes.device_code},
                                      {"client_id", "pub1"}});

  expectOAuthError(result, 400, "invalid_request");
  EXPECT_EQ(stored(codes.device_code).state, AuthorizationState::Approved);
}

TEST_F(OAuthTokenTest, OverlongDeviceCodeIsInvalidGrant) {
  expectOAuthError(poll(std::string(300, 'A')), 400, "invalid_grant");
}

TEST_F(OAuthTokenTest, OneMegabyteDeviceCodeIsRejected) {
  const HttpResult result = poll(std::string(1024 * 1024, 'A'));

  EXPECT_GE(result.status, 400u);
  EXPECT_LT(result.status, 500u);
  // The server keeps serving requests.
  const DeviceCodes codes = beginFor("pub1");
  expectOAuthError(poll(codes.device_code), 400, "authorization_pending");
}

TEST_F(OAuthTokenTest, UnknownParametersAreIgnored) {
  const DeviceCodes codes = beginFor("pub1");

  const HttpResult result = postForm(port(), kTokenPath,
                                     {{"grant_type", kDeviceCodeUrn},
                                      {"device_code", codes.device_code},
                                      {"client_id", "pub1"},
                                      {"foo", "bar"}});

  expectOAuthError(result, 400, "authorization_pending");
}

TEST_F(OAuthTokenTest, NoClientIdentificationIsInvalidRequest) {
  const DeviceCodes codes = beginFor("pub1");

  const HttpResult result = postForm(
      port(), kTokenPath, {{"grant_type", kDeviceCodeUrn}, {"device_code", codes.device_code}});

  expectOAuthError(result, 400, "invalid_request");
}

TEST_F(OAuthTokenTest, ClientWithoutDeviceGrantIsUnauthorizedClient) {
  expectOAuthError(poll("any-device-code", "nodev"), 400, "unauthorized_client");
}

TEST_F(OAuthTokenTest, GetIsMethodNotAllowed) {
  const DeviceCodes codes = beginFor("pub1");
  approveInStore(codes.device_code);

  const HttpResult result = httpRequest(port(), "GET",
                                        std::string(kTokenPath) + "?grant_type=" + kDeviceCodeUrn +
                                            "&client_id=pub1&device_code=" + codes.device_code);

  EXPECT_EQ(result.status, 405u);
  EXPECT_EQ(stored(codes.device_code).state, AuthorizationState::Approved);
}

TEST_F(OAuthTokenTest, DeviceCodeInQueryIsInvalidRequest) {
  const DeviceCodes codes = beginFor("pub1");
  approveInStore(codes.device_code);

  const HttpResult result =
      postForm(port(), std::string(kTokenPath) + "?device_code=" + codes.device_code,
               {{"grant_type", kDeviceCodeUrn}, {"client_id", "pub1"}});

  expectOAuthError(result, 400, "invalid_request");
  EXPECT_EQ(stored(codes.device_code).state, AuthorizationState::Approved);
}

TEST_F(OAuthTokenTest, ConfidentialClientPollsWithBasic) {
  const HttpResult started =
      begin({}, {{"Authorization", basicAuthorization("conf1", kConfidentialSecret)}});
  ASSERT_EQ(started.status, 200u) << started.body;
  const std::string device_code = stringField(jsonObject(started), "device_code");
  approveInStore(device_code);

  const HttpResult result =
      postForm(port(), kTokenPath, {{"grant_type", kDeviceCodeUrn}, {"device_code", device_code}},
               {{"Authorization", basicAuthorization("conf1", kConfidentialSecret)}});

  EXPECT_EQ(result.status, 200u) << result.body;
}

TEST_F(OAuthTokenTest, ConfidentialClientWithoutSecretIsInvalidClient) {
  const HttpResult started =
      begin({}, {{"Authorization", basicAuthorization("conf1", kConfidentialSecret)}});
  ASSERT_EQ(started.status, 200u) << started.body;
  const std::string device_code = stringField(jsonObject(started), "device_code");
  approveInStore(device_code);

  expectOAuthError(poll(device_code, "conf1"), 400, "invalid_client");
  EXPECT_EQ(stored(device_code).state, AuthorizationState::Approved);
}

TEST_F(OAuthTokenTest, WrongSecretWithBasicIsUnauthorizedWithChallenge) {
  const HttpResult result =
      postForm(port(), kTokenPath, {{"grant_type", kDeviceCodeUrn}, {"device_code", "x"}},
               {{"Authorization", basicAuthorization("conf1", "wrong")}});

  expectOAuthError(result, 401, "invalid_client");
  EXPECT_EQ(result.header("WWW-Authenticate").rfind("Basic", 0), 0u);
}

// Narrows the allowed scopes of a client in place. The Store interface has no update, and
// removing and re-adding the client would delete its authorizations (ON DELETE CASCADE).
// NOTE: this writes the SQLite schema directly and must follow its clients table.
void setAllowedScopesInDatabase(const std::filesystem::path& database, const std::string& client_id,
                                const std::string& scopes) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(database.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* statement = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE clients SET allowed_scopes = ? WHERE id = ?", -1,
                               &statement, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_bind_text(statement, 1, scopes.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(statement, 2, client_id.c_str(), -1, SQLITE_TRANSIENT);
  EXPECT_EQ(sqlite3_step(statement), SQLITE_DONE) << sqlite3_errmsg(db);
  EXPECT_EQ(sqlite3_changes(db), 1);
  sqlite3_finalize(statement);
  sqlite3_close(db);
}

// RFC 6749 §3.3: a scope removed from the client after the request is not granted.
TEST_F(OAuthTokenTest, ScopeRemovedFromClientIsNotGranted) {
  const DeviceCodes codes = beginFor("pub1");
  approveInStore(codes.device_code);
  setAllowedScopesInDatabase(server().directory() / "devauth.db", "pub1", "read");
  // A change made outside the store object reaches findClient once its cache entry expires.
  std::this_thread::sleep_for(ClientCache::kDefaultTtl + milliseconds(100));
  auto client = server().store().findClient("pub1");
  ASSERT_TRUE(client.hasValue());
  ASSERT_TRUE(client->has_value());
  ASSERT_EQ((*client)->allowed_scopes, std::vector<std::string>{"read"});

  const HttpResult result = poll(codes.device_code);

  ASSERT_EQ(result.status, 200u) << result.body;
  EXPECT_EQ(stringField(jsonObject(result), "scope"), "read");
  auto token =
      server().store().findToken(hashSecret(stringField(jsonObject(result), "access_token")));
  ASSERT_TRUE(token.hasValue());
  ASSERT_TRUE(token->has_value());
  EXPECT_EQ((*token)->scope, "read");
}

TEST_F(OAuthTokenTest, EmptyScopeIsOmittedFromTokenResponse) {
  Client client = makePublicClient("noscope", {"read"});
  client.default_scopes = {};
  insertClient(client);
  const DeviceCodes codes = beginFor("noscope");
  approveInStore(codes.device_code);

  const HttpResult result = poll(codes.device_code, "noscope");

  ASSERT_EQ(result.status, 200u) << result.body;
  EXPECT_FALSE(jsonObject(result).contains("scope"));
}

}  // namespace
}  // namespace devauth::testing
