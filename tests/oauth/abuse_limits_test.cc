// The abuse limits of the OAuth endpoints and the metadata document, over real HTTP. Each test
// sets small limits, so the budgets run out in a few requests, and moves the manual clock to
// the next window to show that a block ends.

#include "limits/abuse_limits.h"

#include <gtest/gtest.h>

#include "oauth_fixture.h"

namespace devauth::testing {
namespace {

class OAuthAbuseLimitsTest : public OAuthFixture {
 protected:
  void adjustConfig(Config& config) override {
    AbuseLimits& limits = config.limits;
    limits.device_requests_per_address = {3, seconds(60)};
    limits.device_requests_per_client = {0, seconds(60)};
    limits.max_live_authorizations_per_client = 0;
    limits.client_auth_failures_per_client = {3, seconds(60)};
    limits.client_auth_failures_per_address = {5, seconds(60)};
    limits.user_code_failures_per_address = {0, seconds(60)};
    limits.user_code_failures_per_session = {3, seconds(60)};
    limits.user_code_failures_total = {0, seconds(60)};
  }

  // Moves the clock to the start of the next minute, where every 60-second window restarts.
  void nextWindow() {
    const long long now = toUnixMillis(server().clock().now());
    server().clock().set(fromUnixMillis(now - now % 60'000 + 60'000));
  }

  static void expectRateLimited(const HttpResult& result) {
    expectOAuthError(result, 429, "temporarily_unavailable");
    const std::string retry_after = result.header("Retry-After");
    ASSERT_FALSE(retry_after.empty());
    EXPECT_GE(std::stoi(retry_after), 1);
    EXPECT_LE(std::stoi(retry_after), 60);
  }

  HttpResult approveCode(const std::string& user_code) {
    return postForm(port(), kApprovePath, {{"user_code", user_code}, {"subject", "customer-1"}},
                    {{"Authorization", basicAuthorization("bank", kApproverSecret)}});
  }

  HttpResult tokenWithSecret(const std::string& secret) {
    return postForm(port(), kTokenPath,
                    {{"grant_type", kDeviceCodeUrn}, {"device_code", "unknown-device-code"}},
                    {{"Authorization", basicAuthorization("conf1", secret)}});
  }
};

TEST_F(OAuthAbuseLimitsTest, BeginOverAddressBudgetIsRateLimited) {
  nextWindow();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(begin({{"client_id", "pub1"}}).status, 200u);
  }
  // The budget is per address, so another client from the same address is blocked too.
  expectRateLimited(begin({{"client_id", "pub2"}}));

  nextWindow();
  EXPECT_EQ(begin({{"client_id", "pub1"}}).status, 200u);
}

// Once the address budget is spent, further requests are refused with reads only and are not
// counted.
TEST_F(OAuthAbuseLimitsTest, RequestsPastReachedLimitAreNotCounted) {
  nextWindow();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(begin({{"client_id", "pub1"}}).status, 200u);
  }
  for (int i = 0; i < 2; ++i) {
    expectRateLimited(begin({{"client_id", "pub1"}}));
  }
  const auto counters =
      limits::deviceRequestCounters(server().config().limits, "pub1", "127.0.0.1");
  ASSERT_EQ(counters.size(), 1u);
  auto count = server().store().readCounter(counters.front().key, counters.front().limit.window,
                                            server().clock().now());
  ASSERT_TRUE(count) << count.error().message;
  EXPECT_EQ(*count, 3);
}

TEST_F(OAuthAbuseLimitsTest, WrongSecretsBlockEvenTheRightSecret) {
  nextWindow();
  for (int i = 0; i < 3; ++i) {
    const HttpResult result = tokenWithSecret("wrong-secret");
    expectOAuthError(result, 401, "invalid_client");
    EXPECT_EQ(result.header("WWW-Authenticate").rfind("Basic realm=\"devauth\"", 0), 0u);
  }
  // RFC 6749 §2.3.1: once over budget the secret is not checked at all.
  expectRateLimited(tokenWithSecret(kConfidentialSecret));

  nextWindow();
  expectOAuthError(tokenWithSecret(kConfidentialSecret), 400, "invalid_grant");
}

TEST_F(OAuthAbuseLimitsTest, UnknownClientsCountAgainstAddressBudget) {
  nextWindow();
  for (int i = 0; i < 5; ++i) {
    expectOAuthError(begin({{"client_id", "nobody-" + std::to_string(i)}}), 400, "invalid_client");
  }
  expectRateLimited(begin({{"client_id", "conf1"}, {"client_secret", kConfidentialSecret}}));
}

// The failure counters guard secret comparisons. A registered public client presenting no
// secret has none to guess, so it is not blocked, and its polls skip the counter reads.
TEST_F(OAuthAbuseLimitsTest, PublicClientWithoutSecretIsNotBlockedByFailureCounters) {
  nextWindow();
  for (int i = 0; i < 5; ++i) {
    expectOAuthError(begin({{"client_id", "nobody-" + std::to_string(i)}}), 400, "invalid_client");
  }
  expectRateLimited(begin({{"client_id", "conf1"}, {"client_secret", kConfidentialSecret}}));
  EXPECT_EQ(begin({{"client_id", "pub1"}}).status, 200u);
  // A public client that presents a secret is checked, and counted, as before.
  expectRateLimited(begin({{"client_id", "pub1"}, {"client_secret", "guess"}}));
}

TEST_F(OAuthAbuseLimitsTest, ApprovalApiWrongCodesAreRateLimited) {
  nextWindow();
  const DeviceCodes codes = beginFor("pub1");
  for (int i = 0; i < 3; ++i) {
    expectOAuthError(approveCode("BCDF-GHJK"), 400, "invalid_grant");
  }
  // The right code is blocked too while the budget is spent.
  expectRateLimited(approveCode(codes.user_code));

  nextWindow();
  EXPECT_EQ(approveCode(codes.user_code).status, 200u);
}

TEST_F(OAuthAbuseLimitsTest, ApprovalSuccessDoesNotResetFailures) {
  nextWindow();
  const DeviceCodes first = beginFor("pub1");
  const DeviceCodes second = beginFor("pub1");
  expectOAuthError(approveCode("BCDF-GHJK"), 400, "invalid_grant");
  expectOAuthError(approveCode("BCDF-GHJL"), 400, "invalid_grant");
  EXPECT_EQ(approveCode(first.user_code).status, 200u);
  expectOAuthError(approveCode("BCDF-GHJM"), 400, "invalid_grant");
  expectRateLimited(approveCode(second.user_code));
}

class OAuthLiveCapTest : public OAuthFixture {
 protected:
  void adjustConfig(Config& config) override {
    config.limits.max_live_authorizations_per_client = 2;
  }
};

TEST_F(OAuthLiveCapTest, LiveAuthorizationsPerClientAreCapped) {
  const DeviceCodes first = beginFor("pub1");
  beginFor("pub1");
  const HttpResult capped = begin({{"client_id", "pub1"}});
  expectOAuthError(capped, 429, "temporarily_unavailable");
  EXPECT_EQ(capped.header("Retry-After"), "60");
  // Other clients have their own cap.
  EXPECT_EQ(begin({{"client_id", "pub2"}}).status, 200u);

  // A decided authorization is no longer live, so it frees a slot.
  denyInStore(first.device_code);
  EXPECT_EQ(begin({{"client_id", "pub1"}}).status, 200u);
}

class OAuthLiveCapCountingTest : public OAuthFixture {
 protected:
  void adjustConfig(Config& config) override {
    config.limits.max_live_authorizations_per_client = 2;
    config.limits.device_requests_per_client = {3, seconds(60)};
    config.limits.device_requests_per_address = {0, seconds(60)};
  }
};

// A request that the live cap turns away is not counted against the request limits: after
// it, the client still has the third request of its budget, and only the fourth is throttled.
TEST_F(OAuthLiveCapCountingTest, CappedRequestIsNotCounted) {
  const long long now = toUnixMillis(server().clock().now());
  server().clock().set(fromUnixMillis(now - now % 60'000 + 60'000));
  const DeviceCodes first = beginFor("pub1");
  const DeviceCodes second = beginFor("pub1");
  const HttpResult capped = begin({{"client_id", "pub1"}});
  expectOAuthError(capped, 429, "temporarily_unavailable");
  EXPECT_EQ(capped.header("Retry-After"), "60");

  denyInStore(first.device_code);
  EXPECT_EQ(begin({{"client_id", "pub1"}}).status, 200u);
  denyInStore(second.device_code);
  const HttpResult throttled = begin({{"client_id", "pub1"}});
  expectOAuthError(throttled, 429, "temporarily_unavailable");
  EXPECT_EQ(throttled.header("Retry-After"), "60");
}

class OAuthMetadataTest : public OAuthFixture {};

TEST_F(OAuthMetadataTest, MetadataListsEndpointsGrantAndMethods) {
  const HttpResult result = httpRequest(port(), "GET", "/.well-known/oauth-authorization-server");
  ASSERT_EQ(result.status, 200u) << result.body;
  EXPECT_EQ(result.header("Content-Type").rfind("application/json", 0), 0u);
  const boost::json::object body = jsonObject(result);
  const std::string issuer = server().config().issuer;
  EXPECT_EQ(stringField(body, "issuer"), issuer);
  EXPECT_EQ(stringField(body, "token_endpoint"), issuer + "/oauth/device/token");
  EXPECT_EQ(stringField(body, "device_authorization_endpoint"), issuer + "/oauth/device/begin");
  EXPECT_EQ(stringField(body, "devauth_approval_endpoint"), issuer + "/oauth/device/approve");
  EXPECT_EQ(stringField(body, "devauth_denial_endpoint"), issuer + "/oauth/device/deny");
  EXPECT_EQ(boost::json::serialize(body.at("grant_types_supported")),
            "[\"urn:ietf:params:oauth:grant-type:device_code\",\"refresh_token\"]");
  EXPECT_EQ(boost::json::serialize(body.at("token_endpoint_auth_methods_supported")),
            "[\"none\",\"client_secret_basic\",\"client_secret_post\"]");
  // The union of the registered clients' scopes, sorted.
  EXPECT_EQ(boost::json::serialize(body.at("scopes_supported")), "[\"read\",\"write\"]");
  // No authorization endpoint, so no response types (RFC 8414 §3.2 omits empty arrays).
  EXPECT_FALSE(body.contains("response_types_supported"));
}

TEST_F(OAuthMetadataTest, MetadataIsGetOnly) {
  const HttpResult result = postForm(port(), "/.well-known/oauth-authorization-server", {});
  EXPECT_EQ(result.status, 405u);
  EXPECT_EQ(result.header("Allow"), "GET");
}

class OAuthConfiguredMetadataTest : public OAuthFixture {
 protected:
  void adjustConfig(Config& config) override {
    config.issuer = "https://auth.example.com/tenant1";
    config.scopes_supported = {"profile", "email"};
  }
};

// RFC 8414 §3.1: for an issuer with a path the document is also served below that path.
TEST_F(OAuthConfiguredMetadataTest, IssuerPathAndConfiguredScopesAreUsed) {
  for (const char* path : {"/.well-known/oauth-authorization-server",
                           "/.well-known/oauth-authorization-server/tenant1"}) {
    const HttpResult result = httpRequest(port(), "GET", path);
    ASSERT_EQ(result.status, 200u) << path;
    const boost::json::object body = jsonObject(result);
    EXPECT_EQ(stringField(body, "issuer"), "https://auth.example.com/tenant1");
    EXPECT_EQ(stringField(body, "token_endpoint"),
              "https://auth.example.com/tenant1/oauth/device/token");
    EXPECT_EQ(boost::json::serialize(body.at("scopes_supported")), "[\"email\",\"profile\"]");
  }
}

class OAuthForwardedForTest : public OAuthFixture {
 protected:
  void adjustConfig(Config& config) override {
    config.trust_forwarded_for = true;
    config.limits.device_requests_per_address = {2, seconds(60)};
    config.limits.device_requests_per_client = {0, seconds(60)};
  }

  HttpResult beginFrom(const std::string& forwarded_for) {
    return begin({{"client_id", "pub1"}}, {{"X-Forwarded-For", forwarded_for}});
  }
};

// Behind a proxy, the last X-Forwarded-For entry (the one the proxy appended) is the address.
TEST_F(OAuthForwardedForTest, LastForwardedAddressIsCounted) {
  const long long now = toUnixMillis(server().clock().now());
  server().clock().set(fromUnixMillis(now - now % 60'000 + 60'000));
  EXPECT_EQ(beginFrom("198.51.100.7").status, 200u);
  EXPECT_EQ(beginFrom("10.0.0.1, 198.51.100.7").status, 200u);
  expectOAuthError(beginFrom("203.0.113.9, 198.51.100.7"), 429, "temporarily_unavailable");
  EXPECT_EQ(beginFrom("198.51.100.8").status, 200u);
}

}  // namespace
}  // namespace devauth::testing
