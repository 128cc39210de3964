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
    server_->run({"client", "add", "rpub1", "--refresh-tokens", "--scopes", "read write"});
    server_->run({"client", "add", "rpub2", "--refresh-tokens", "--scopes", "read"});
    rconf1_secret_ = server_->run(
        {"client", "add", "rconf1", "--confidential", "--refresh-tokens", "--scopes", "read"});
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
};

std::string RefreshConformanceTest::rconf1_secret_;

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
  EXPECT_NE(server_->log().find("event=refresh_token_reused"), std::string::npos);
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
  const std::string first = field(issueTokens("rpub1"), "refresh_token");
  const std::string second = stringField(refresh(first, "rpub1"), "refresh_token");
  ASSERT_FALSE(second.empty());
  const std::string log = server_->log();
  EXPECT_EQ(log.find(first), std::string::npos);
  EXPECT_EQ(log.find(second), std::string::npos);
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
