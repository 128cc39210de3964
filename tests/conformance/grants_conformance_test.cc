// Black-box checks of the refresh token grant (RFC 6749 §6, RFC 9700 §4.14.2) against the real
// `devauth serve` binary over HTTP. The comment above each test gives the requirement IDs of
// docs/conformance.md.

#include <atomic>
#include <latch>

#include "conformance/conformance_fixture.h"

namespace devauth::testing {
namespace {

DevauthServer* ConformanceTest::server_ = nullptr;

constexpr char kTokenPath[] = "/oauth/device/token";

// The fixture server plus clients with the refresh token grant: rpub1 (read write) and rpub2
// (read) are public, rconf1 (read) is confidential.
class RefreshConformanceTest : public ConformanceTest {
 protected:
  static void SetUpTestSuite() { startServer({}); }

  static void startServer(std::vector<std::string> flags) {
    flags.insert(flags.end(),
                 {"--client-auth-failures-per-address", "0", "--client-auth-failures-per-client",
                  "0", "--device-requests-per-address", "0", "--device-requests-per-client", "0",
                  "--user-code-failures-per-address", "0", "--user-code-failures-per-session", "0",
                  "--user-code-failures-total", "0"});
    server_ = new DevauthServer(flags);
    server_->run(
        {"client", "add", "rpub1", "--refresh-tokens", "--relay-tokens", "--scopes", "read write"});
    server_->run({"client", "add", "rpub2", "--refresh-tokens", "--scopes", "read"});
    rconf1_secret_ = server_->run(
        {"client", "add", "rconf1", "--confidential", "--refresh-tokens", "--scopes", "read"});
    rs1_secret_ = server_->run(
        {"client", "add", "rs1", "--confidential", "--may-introspect", "--no-device-grant"});
  }

  HttpResult introspect(const std::string& token, const Fields& extra = {}) {
    Fields fields = {{"token", token}};
    fields.insert(fields.end(), extra.begin(), extra.end());
    return post("/oauth/introspect", fields,
                {{"Authorization", basicAuthorization("rs1", rs1_secret_)}});
  }

  HttpResult revoke(const std::string& token, const std::string& client_id,
                    const Fields& extra = {}) {
    Fields fields = {{"token", token}, {"client_id", client_id}};
    fields.insert(fields.end(), extra.begin(), extra.end());
    return post("/oauth/revoke", fields);
  }

  bool isActive(const std::string& token) {
    const HttpResult result = introspect(token);
    EXPECT_EQ(result.status, 200u) << result.body;
    const auto body = jsonObject(result);
    const auto* active = body.if_contains("active");
    return active != nullptr && active->is_bool() && active->get_bool();
  }

  // Runs the device flow for a public client and returns the token response.
  boost::json::object issueTokens(const std::string& client_id) {
    const Codes codes = beginFor(client_id);
    approve(codes);
    const HttpResult issued = poll(codes, client_id);
    EXPECT_EQ(issued.status, 200u) << issued.body;
    return jsonObject(issued);
  }

  // Runs the device flow for rconf1, authenticating with HTTP Basic.
  boost::json::object issueConfidentialTokens() {
    const Fields basic = {{"Authorization", basicAuthorization("rconf1", rconf1_secret_)}};
    const HttpResult begun = begin({}, basic);
    EXPECT_EQ(begun.status, 200u) << begun.body;
    const Codes codes{stringField(begun, "device_code"), stringField(begun, "user_code")};
    approve(codes);
    const HttpResult issued =
        token({{"grant_type", kUrn}, {"device_code", codes.device_code}}, basic);
    EXPECT_EQ(issued.status, 200u) << issued.body;
    return jsonObject(issued);
  }

  HttpResult refresh(const std::string& refresh_token, const std::string& client_id,
                     const Fields& extra = {}) {
    Fields fields = {{"grant_type", "refresh_token"},
                     {"refresh_token", refresh_token},
                     {"client_id", client_id}};
    fields.insert(fields.end(), extra.begin(), extra.end());
    return token(fields);
  }

  static std::string field(const boost::json::object& body, const char* name) {
    const auto* value = body.if_contains(name);
    return value && value->is_string() ? std::string(value->get_string()) : std::string();
  }

  static std::string rconf1_secret_;
  static std::string rs1_secret_;
};

std::string RefreshConformanceTest::rconf1_secret_;
std::string RefreshConformanceTest::rs1_secret_;

// RT-1, TK-2
TEST_F(RefreshConformanceTest, RefreshGrantReturnsNewTokens) {
  const auto issued = issueTokens("rpub1");
  const std::string refresh_token = field(issued, "refresh_token");
  ASSERT_EQ(refresh_token.size(), 43u);

  const HttpResult refreshed = refresh(refresh_token, "rpub1");
  ASSERT_EQ(refreshed.status, 200u) << refreshed.body;
  EXPECT_EQ(refreshed.header("Content-Type").rfind("application/json", 0), 0u);
  EXPECT_EQ(refreshed.header("Cache-Control"), "no-store");
  EXPECT_EQ(refreshed.header("Pragma"), "no-cache");
  const auto body = jsonObject(refreshed);
  EXPECT_EQ(field(body, "token_type"), "Bearer");
  EXPECT_EQ(body.at("expires_in").as_int64(), 3600);
  EXPECT_EQ(field(body, "scope"), "read write");
  EXPECT_EQ(field(body, "access_token").size(), 43u);
  EXPECT_NE(field(body, "access_token"), field(issued, "access_token"));
  EXPECT_EQ(field(body, "refresh_token").size(), 43u);
  EXPECT_NE(field(body, "refresh_token"), refresh_token);
}

// RT-2
TEST_F(RefreshConformanceTest, UnknownOrMissingRefreshTokenIsRejected) {
  expectError(refresh("not-a-refresh-token", "rpub1"), 400, "invalid_grant");
  expectError(refresh(std::string(1000, 'a'), "rpub1"), 400, "invalid_grant");
  expectError(token({{"grant_type", "refresh_token"}, {"client_id", "rpub1"}}), 400,
              "invalid_request");
  expectError(
      token({{"grant_type", "refresh_token"}, {"refresh_token", ""}, {"client_id", "rpub1"}}), 400,
      "invalid_request");
}

// RT-3
TEST_F(RefreshConformanceTest, RefreshTokenIsBoundToItsClient) {
  const std::string refresh_token = field(issueTokens("rpub1"), "refresh_token");
  const HttpResult foreign = refresh(refresh_token, "rpub2");
  expectError(foreign, 400, "invalid_grant");
  // The same body as for an unknown token, so the other client learns nothing.
  EXPECT_EQ(foreign.body, refresh("not-a-refresh-token", "rpub2").body);
  // Presenting it as another client is not a use: the owner still refreshes with it.
  EXPECT_EQ(refresh(refresh_token, "rpub1").status, 200u);
}

// RT-4
TEST_F(RefreshConformanceTest, ConfidentialClientMustAuthenticateToRefresh) {
  const std::string refresh_token = field(issueConfidentialTokens(), "refresh_token");
  ASSERT_FALSE(refresh_token.empty());
  expectError(refresh(refresh_token, "rconf1"), 400, "invalid_client");
  const HttpResult wrong =
      token({{"grant_type", "refresh_token"}, {"refresh_token", refresh_token}},
            {{"Authorization", basicAuthorization("rconf1", "wrong-secret")}});
  expectError(wrong, 401, "invalid_client");
  EXPECT_EQ(wrong.header("WWW-Authenticate").rfind("Basic realm=", 0), 0u);
  const HttpResult right = token({{"grant_type", "refresh_token"},
                                  {"refresh_token", refresh_token},
                                  {"client_id", "rconf1"},
                                  {"client_secret", rconf1_secret_}});
  EXPECT_EQ(right.status, 200u) << right.body;
}

// RT-5, RT-6
TEST_F(RefreshConformanceTest, ScopeCanNarrowButNotWiden) {
  const std::string first = field(issueTokens("rpub1"), "refresh_token");
  expectError(refresh(first, "rpub1", {{"scope", "read write admin"}}), 400, "invalid_scope");
  expectError(refresh(first, "rpub1", {{"scope", "read  write"}}), 400, "invalid_scope");

  // The rejected requests did not use the token.
  const HttpResult narrowed = refresh(first, "rpub1", {{"scope", "read"}});
  ASSERT_EQ(narrowed.status, 200u) << narrowed.body;
  EXPECT_EQ(stringField(narrowed, "scope"), "read");

  // The rotated token keeps the approved scope, not the narrowed one.
  const HttpResult widened_back = refresh(stringField(narrowed, "refresh_token"), "rpub1");
  ASSERT_EQ(widened_back.status, 200u) << widened_back.body;
  EXPECT_EQ(stringField(widened_back, "scope"), "read write");
}

// RT-7, SEC-12
TEST_F(RefreshConformanceTest, ReplayedRefreshTokenRevokesTheGrant) {
  const std::string first = field(issueTokens("rpub1"), "refresh_token");
  const HttpResult rotated = refresh(first, "rpub1");
  ASSERT_EQ(rotated.status, 200u) << rotated.body;
  const std::string second = stringField(rotated, "refresh_token");

  expectError(refresh(first, "rpub1"), 400, "invalid_grant");
  // The replay revoked the grant, so the token of the legitimate holder is dead too.
  expectError(refresh(second, "rpub1"), 400, "invalid_grant");
  EXPECT_TRUE(server_->logs("event=refresh_token_reused"));
  // The access token minted with the second refresh token is revoked with the grant.
  EXPECT_FALSE(isActive(stringField(rotated, "access_token")));
}

// RT-10
TEST_F(RefreshConformanceTest, AlteredRefreshTokenIsInvalidGrant) {
  const std::string refresh_token = field(issueTokens("rpub1"), "refresh_token");
  std::string altered = refresh_token;
  altered[10] = altered[10] == 'A' ? 'B' : 'A';
  expectError(refresh(altered, "rpub1"), 400, "invalid_grant");
  EXPECT_EQ(refresh(refresh_token, "rpub1").status, 200u);
}

// RT-11
TEST_F(RefreshConformanceTest, ConcurrentRefreshesHaveOneWinner) {
  constexpr int kThreads = 5;
  const std::string refresh_token = field(issueTokens("rpub1"), "refresh_token");
  std::latch start(kThreads);
  std::atomic<int> successes{0};
  std::atomic<int> invalid_grants{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      const HttpResult result = refresh(refresh_token, "rpub1");
      if (result.status == 200) {
        ++successes;
      } else if (result.status == 400 && stringField(result, "error") == "invalid_grant") {
        ++invalid_grants;
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(successes.load(), 1);
  EXPECT_EQ(invalid_grants.load(), kThreads - 1);
}

// TK-15 for the refresh grant: pub1 does not have it.
TEST_F(RefreshConformanceTest, ClientWithoutRefreshGrantGetsNoRefreshToken) {
  const Codes codes = beginFor("pub1");
  approve(codes);
  const HttpResult issued = poll(codes);
  ASSERT_EQ(issued.status, 200u) << issued.body;
  EXPECT_FALSE(jsonObject(issued).contains("refresh_token"));
  expectError(refresh("anything", "pub1"), 400, "unauthorized_client");
}

// A token relayed through the approval API was not minted here, so it gets no refresh token.
TEST_F(RefreshConformanceTest, RelayedTokenComesWithoutRefreshToken) {
  const Codes codes = beginFor("rpub1");
  const HttpResult approved =
      post("/oauth/device/approve",
           {{"user_code", codes.user_code},
            {"subject", "customer-1"},
            {"access_token", "relayed-access-token"},
            {"token_type", "Bearer"}},
           {{"Authorization", basicAuthorization("bank", server_->bankSecret())}});
  ASSERT_EQ(approved.status, 200u) << approved.body;
  const HttpResult issued = poll(codes, "rpub1");
  ASSERT_EQ(issued.status, 200u) << issued.body;
  EXPECT_EQ(stringField(issued, "access_token"), "relayed-access-token");
  EXPECT_FALSE(jsonObject(issued).contains("refresh_token"));
}

// SEC-15 for refresh tokens.
TEST_F(RefreshConformanceTest, LogNeverContainsRefreshTokens) {
  const std::size_t refreshed = DevauthServer::occurrences(server_->log(), "event=token_refreshed");
  const std::string first = field(issueTokens("rpub1"), "refresh_token");
  const std::string second = stringField(refresh(first, "rpub1"), "refresh_token");
  ASSERT_FALSE(second.empty());
  ASSERT_TRUE(server_->logs("event=token_refreshed", refreshed + 1));
  const std::string log = server_->log();
  EXPECT_EQ(log.find(first), std::string::npos);
  EXPECT_EQ(log.find(second), std::string::npos);
}

// IN-1, IN-8
TEST_F(RefreshConformanceTest, IntrospectionDescribesActiveAccessToken) {
  const auto issued = issueTokens("rpub1");
  const HttpResult result = introspect(field(issued, "access_token"));
  ASSERT_EQ(result.status, 200u) << result.body;
  EXPECT_EQ(result.header("Content-Type").rfind("application/json", 0), 0u);
  EXPECT_EQ(result.header("Cache-Control"), "no-store");
  const auto body = jsonObject(result);
  EXPECT_TRUE(body.at("active").as_bool());
  EXPECT_EQ(field(body, "client_id"), "rpub1");
  EXPECT_EQ(field(body, "scope"), "read write");
  EXPECT_EQ(field(body, "sub"), "customer-1");
  EXPECT_EQ(field(body, "token_type"), "Bearer");
  EXPECT_EQ(field(body, "iss"), "http://127.0.0.1:" + std::to_string(port()));
  EXPECT_EQ(body.at("exp").as_int64() - body.at("iat").as_int64(), 3600);
}

// IN-2
TEST_F(RefreshConformanceTest, IntrospectionRequiresAnAuthorizedCaller) {
  const std::string access_token = field(issueTokens("rpub1"), "access_token");
  const HttpResult anonymous = post("/oauth/introspect", {{"token", access_token}});
  expectError(anonymous, 401, "invalid_client");
  EXPECT_EQ(anonymous.header("WWW-Authenticate").rfind("Basic realm=", 0), 0u);
  EXPECT_EQ(anonymous.body.find("active"), std::string::npos);

  const HttpResult wrong = post("/oauth/introspect", {{"token", access_token}},
                                {{"Authorization", basicAuthorization("rs1", "wrong-secret")}});
  expectError(wrong, 401, "invalid_client");
  // A public client cannot authenticate, and a confidential one needs --may-introspect.
  expectError(post("/oauth/introspect", {{"token", access_token}, {"client_id", "rpub1"}}), 400,
              "unauthorized_client");
  expectError(post("/oauth/introspect", {{"token", access_token}},
                   {{"Authorization", basicAuthorization("rconf1", rconf1_secret_)}}),
              400, "unauthorized_client");
}

// IN-3, IN-6, SEC-11
TEST_F(RefreshConformanceTest, InactiveTokensGetOnlyActiveFalse) {
  const Codes codes = beginFor("rpub1");
  approve(codes);
  const std::string access_token = stringField(poll(codes, "rpub1"), "access_token");
  ASSERT_FALSE(access_token.empty());
  std::string altered = access_token;
  altered[5] = altered[5] == 'A' ? 'B' : 'A';
  for (const std::string& token :
       {std::string("garbage"), codes.device_code, codes.user_code, altered}) {
    const HttpResult result = introspect(token);
    EXPECT_EQ(result.status, 200u);
    EXPECT_EQ(result.header("Cache-Control"), "no-store");
    EXPECT_EQ(result.body, "{\"active\":false}") << token;
  }
  EXPECT_TRUE(isActive(access_token));
}

// IN-4, IN-5, IN-7
TEST_F(RefreshConformanceTest, IntrospectionTakesTheHintAsAHintOnly) {
  const auto issued = issueTokens("rpub1");
  const HttpResult access =
      introspect(field(issued, "access_token"), {{"token_type_hint", "refresh_token"}});
  EXPECT_TRUE(jsonObject(access).at("active").as_bool()) << access.body;

  const HttpResult refresh_result =
      introspect(field(issued, "refresh_token"), {{"token_type_hint", "access_token"}});
  const auto body = jsonObject(refresh_result);
  EXPECT_TRUE(body.at("active").as_bool()) << refresh_result.body;
  EXPECT_EQ(field(body, "token_type"), "refresh_token");
  EXPECT_EQ(field(body, "client_id"), "rpub1");
  EXPECT_TRUE(body.at("exp").is_int64());

  expectError(
      post("/oauth/introspect", {}, {{"Authorization", basicAuthorization("rs1", rs1_secret_)}}),
      400, "invalid_request");
}

// RV-1, RV-3, RT-8
TEST_F(RefreshConformanceTest, RevokingRefreshTokenRevokesTheGrant) {
  const auto issued = issueTokens("rpub1");
  const std::string refresh_token = field(issued, "refresh_token");
  const HttpResult revoked = revoke(refresh_token, "rpub1", {{"token_type_hint", "refresh_token"}});
  EXPECT_EQ(revoked.status, 200u) << revoked.body;
  EXPECT_EQ(revoked.header("Cache-Control"), "no-store");
  expectError(refresh(refresh_token, "rpub1"), 400, "invalid_grant");
  EXPECT_FALSE(isActive(field(issued, "access_token")));
  EXPECT_FALSE(isActive(refresh_token));
}

// RV-2, RV-5
TEST_F(RefreshConformanceTest, UnknownOrForeignTokensAreNotRevoked) {
  EXPECT_EQ(revoke("garbage", "rpub1").status, 200u);
  const auto issued = issueTokens("rpub1");
  expectError(revoke(field(issued, "refresh_token"), "rpub2"), 400, "invalid_grant");
  expectError(revoke(field(issued, "access_token"), "rpub2"), 400, "invalid_grant");
  EXPECT_TRUE(isActive(field(issued, "access_token")));
  EXPECT_EQ(refresh(field(issued, "refresh_token"), "rpub1").status, 200u);
}

// RV-4
TEST_F(RefreshConformanceTest, RevokingAccessTokenKeepsTheRefreshToken) {
  const auto issued = issueTokens("rpub1");
  EXPECT_EQ(revoke(field(issued, "access_token"), "rpub1").status, 200u);
  EXPECT_FALSE(isActive(field(issued, "access_token")));
  EXPECT_EQ(refresh(field(issued, "refresh_token"), "rpub1").status, 200u);
}

// RV-6
TEST_F(RefreshConformanceTest, UnknownHintStillFindsTheToken) {
  const auto issued = issueTokens("rpub1");
  EXPECT_EQ(revoke(field(issued, "refresh_token"), "rpub1", {{"token_type_hint", "bogus"}}).status,
            200u);
  expectError(refresh(field(issued, "refresh_token"), "rpub1"), 400, "invalid_grant");
}

// RV-8, and revocation authenticates confidential clients like the token endpoint.
TEST_F(RefreshConformanceTest, RevocationNeedsAnAuthenticatedPost) {
  const auto issued = issueTokens("rpub1");
  const HttpResult get =
      httpRequest(port(), "GET", "/oauth/revoke?token=" + field(issued, "refresh_token"));
  EXPECT_EQ(get.status, 405u);
  expectError(post("/oauth/revoke", {{"token", "x"}}), 400, "invalid_request");
  expectError(revoke("x", "rconf1"), 400, "invalid_client");
  expectError(post("/oauth/revoke", {{"client_id", "rpub1"}}), 400, "invalid_request");
  EXPECT_EQ(refresh(field(issued, "refresh_token"), "rpub1").status, 200u);
}

// MD-7
TEST_F(RefreshConformanceTest, MetadataListsIntrospectionAndRevocation) {
  const auto body =
      jsonObject(httpRequest(port(), "GET", "/.well-known/oauth-authorization-server"));
  const std::string issuer = "http://127.0.0.1:" + std::to_string(port());
  EXPECT_EQ(field(body, "introspection_endpoint"), issuer + "/oauth/introspect");
  EXPECT_EQ(field(body, "revocation_endpoint"), issuer + "/oauth/revoke");
  EXPECT_EQ(boost::json::serialize(body.at("introspection_endpoint_auth_methods_supported")),
            "[\"client_secret_basic\",\"client_secret_post\"]");
  EXPECT_EQ(boost::json::serialize(body.at("revocation_endpoint_auth_methods_supported")),
            "[\"none\",\"client_secret_basic\",\"client_secret_post\"]");
}

// A server with small introspection and revocation budgets.
class TokenEndpointLimitsConformanceTest : public RefreshConformanceTest {
 protected:
  static void SetUpTestSuite() {
    startServer(
        {"--introspection-requests-per-client", "5", "--revocation-requests-per-client", "5"});
  }
};

// RV-7, IN-8, SEC-18
TEST_F(TokenEndpointLimitsConformanceTest, BurstsAreRateLimited) {
  HttpResult last_revocation;
  HttpResult last_introspection;
  for (int i = 0; i < 12; ++i) {
    last_revocation = revoke("garbage", "rpub1");
    last_introspection = introspect("garbage");
  }
  expectError(last_revocation, 429, "temporarily_unavailable");
  EXPECT_FALSE(last_revocation.header("Retry-After").empty());
  expectError(last_introspection, 429, "temporarily_unavailable");
  EXPECT_FALSE(last_introspection.header("Retry-After").empty());
}

// A server with short refresh token lifetimes: 2 s idle, 4 s in all.
class RefreshLifetimeConformanceTest : public RefreshConformanceTest {
 protected:
  static void SetUpTestSuite() {
    startServer({"--refresh-token-idle-ttl", "2", "--refresh-token-max-ttl", "4"});
  }
};

// RT-9
TEST_F(RefreshLifetimeConformanceTest, UnusedRefreshTokenExpires) {
  const std::string refresh_token = field(issueTokens("rpub1"), "refresh_token");
  std::this_thread::sleep_for(2200ms);
  expectError(refresh(refresh_token, "rpub1"), 400, "invalid_grant");
}

// RT-9: each rotation starts a new idle lifetime, but none passes the absolute one.
TEST_F(RefreshLifetimeConformanceTest, RotationDoesNotPassTheAbsoluteLifetime) {
  std::string refresh_token = field(issueTokens("rpub1"), "refresh_token");
  for (int i = 0; i < 2; ++i) {
    std::this_thread::sleep_for(1500ms);
    const HttpResult refreshed = refresh(refresh_token, "rpub1");
    ASSERT_EQ(refreshed.status, 200u) << refreshed.body;
    // The access token does not outlive the grant either.
    EXPECT_LE(jsonObject(refreshed).at("expires_in").as_int64(), 4);
    refresh_token = stringField(refreshed, "refresh_token");
  }
  std::this_thread::sleep_for(1500ms);
  expectError(refresh(refresh_token, "rpub1"), 400, "invalid_grant");
}

}  // namespace
}  // namespace devauth::testing
