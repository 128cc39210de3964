// Black-box conformance checks against the real `devauth serve` binary over HTTP. Each test
// names the behaviour; the comment above it gives the requirement ID of docs/conformance.md.
//
// The server runs with the short profile (interval 2 s, codes valid 10 s) so that timing
// checks stay short, and with the abuse limits turned off; LimitsConformanceTest starts a
// second server with small limits.

#include "conformance/conformance_fixture.h"

namespace devauth::testing {
namespace {

using namespace std::chrono_literals;

DevauthServer* ConformanceTest::server_ = nullptr;

// DA-1, DA-2, DA-3, DA-15, DA-16, DA-17, DA-18
TEST_F(ConformanceTest, DeviceAuthorizationReturnsCodesAndUris) {
  const HttpResult result = begin({{"client_id", "pub1"}, {"scope", "read"}});
  ASSERT_EQ(result.status, 200u) << result.body;
  EXPECT_EQ(result.header("Cache-Control"), "no-store");
  EXPECT_EQ(result.header("Pragma"), "no-cache");
  const auto body = jsonObject(result);
  EXPECT_TRUE(body.at("device_code").is_string());
  EXPECT_TRUE(body.at("user_code").is_string());
  EXPECT_EQ(body.at("expires_in").as_int64(), 10);
  EXPECT_EQ(body.at("interval").as_int64(), 2);
  const std::string uri(body.at("verification_uri").as_string());
  EXPECT_EQ(uri, "http://127.0.0.1:" + std::to_string(port()) + "/device");
  EXPECT_EQ(std::string(body.at("verification_uri_complete").as_string()),
            uri + "?user_code=" + std::string(body.at("user_code").as_string()));
}

// DA-5, DA-6, TK-12
TEST_F(ConformanceTest, ConfidentialClientMustAuthenticate) {
  EXPECT_EQ(begin({{"scope", "read"}},
                  {{"Authorization", basicAuthorization("conf1", server_->conf1Secret())}})
                .status,
            200u);
  // Without an Authorization header the status is 400; it is 401 only when Basic was tried.
  expectError(begin({{"client_id", "conf1"}}), 400, "invalid_client");
  const HttpResult wrong =
      begin({}, {{"Authorization", basicAuthorization("conf1", "wrong-secret")}});
  expectError(wrong, 401, "invalid_client");
  EXPECT_EQ(wrong.header("WWW-Authenticate").rfind("Basic realm=", 0), 0u);
  expectError(begin({{"client_id", "unknown"}}), 400, "invalid_client");
}

// DA-7, TK-19
TEST_F(ConformanceTest, TwoAuthenticationMethodsAreInvalidRequest) {
  expectError(begin({{"client_id", "conf1"}, {"client_secret", server_->conf1Secret()}},
                    {{"Authorization", basicAuthorization("conf1", server_->conf1Secret())}}),
              400, "invalid_request");
}

// DA-8, TK-16
TEST_F(ConformanceTest, RepeatedParametersAreInvalidRequest) {
  expectError(begin({{"client_id", "pub1"}, {"client_id", "pub1"}}), 400, "invalid_request");
  expectError(token({{"grant_type", kUrn},
                     {"grant_type", kUrn},
                     {"device_code", "x"},
                     {"client_id", "pub1"}}),
              400, "invalid_request");
}

// DA-9, DA-10, DA-11, TK-17, TK-18
TEST_F(ConformanceTest, EmptyIsAbsentAndUnknownIsIgnored) {
  EXPECT_EQ(begin({{"client_id", "pub1"}, {"scope", ""}, {"foo", "bar"}}).status, 200u);
  expectError(begin({{"client_id", "pub1"}, {"scope", "nonexistent"}}), 400, "invalid_scope");
  expectError(token({{"grant_type", kUrn}, {"device_code", ""}, {"client_id", "pub1"}}), 400,
              "invalid_request");
}

// DA-12, TK-15
TEST_F(ConformanceTest, ClientWithoutDeviceGrantIsUnauthorized) {
  expectError(begin({{"client_id", "nodev"}}), 400, "unauthorized_client");
  expectError(token({{"grant_type", kUrn}, {"device_code", "x"}, {"client_id", "nodev"}}), 400,
              "unauthorized_client");
}

// DA-13, DA-14
TEST_F(ConformanceTest, CodesAreDistinctAndWellFormed) {
  const std::regex user_code_format("^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$");
  std::set<std::string> device_codes;
  std::set<std::string> user_codes;
  for (int i = 0; i < 200; ++i) {
    const Codes codes = beginFor("pub2");
    EXPECT_GE(codes.device_code.size(), 43u);
    EXPECT_TRUE(std::regex_match(codes.user_code, user_code_format)) << codes.user_code;
    device_codes.insert(codes.device_code);
    user_codes.insert(codes.user_code);
  }
  EXPECT_EQ(device_codes.size(), 200u);
  EXPECT_EQ(user_codes.size(), 200u);
}

// DA-20, TK-20
TEST_F(ConformanceTest, OnlyFormPostsAreAccepted) {
  const HttpResult get = httpRequest(port(), "GET", "/oauth/device/begin?client_id=pub1");
  EXPECT_EQ(get.status, 405u);
  EXPECT_EQ(get.header("Allow"), "POST");
  expectError(httpRequest(port(), "POST", "/oauth/device/begin", "{\"client_id\":\"pub1\"}",
                          {{"Content-Type", "application/json"}}),
              400, "invalid_request");
  EXPECT_EQ(httpRequest(port(), "POST", "/oauth/device/begin", "client_id=pub1",
                        {{"Content-Type", "application/x-www-form-urlencoded; charset=UTF-8"}})
                .status,
            200u);
  EXPECT_EQ(httpRequest(port(), "GET", "/oauth/device/token").status, 405u);
}

// DA-21
TEST_F(ConformanceTest, CredentialsInUrlAreRejected) {
  expectError(
      post("/oauth/device/begin?client_secret=" + server_->conf1Secret(), {{"client_id", "conf1"}}),
      400, "invalid_request");
}

// TK-1, TK-2, TK-9, TK-23
TEST_F(ConformanceTest, ApprovedCodeIsRedeemedOnce) {
  const Codes codes = beginFor("pub1");
  approve(codes);
  const HttpResult issued = poll(codes);
  ASSERT_EQ(issued.status, 200u) << issued.body;
  EXPECT_EQ(issued.header("Cache-Control"), "no-store");
  EXPECT_EQ(issued.header("Pragma"), "no-cache");
  const auto body = jsonObject(issued);
  EXPECT_FALSE(std::string(body.at("access_token").as_string()).empty());
  EXPECT_EQ(std::string(body.at("token_type").as_string()), "Bearer");
  EXPECT_TRUE(body.at("expires_in").is_int64());
  expectError(poll(codes), 400, "invalid_grant");
}

// TK-3, TK-4, TK-7, D-1
TEST_F(ConformanceTest, PollingFasterThanIntervalGetsSlowDown) {
  // With the 2 s interval and the server's 1 s tolerance, a second poll is too early when it
  // reaches the server less than 1 s after the first. That is certain only when both round
  // trips fit in that second. A loaded machine can prevent it, so such an attempt is repeated
  // with a new code.
  constexpr int kAttempts = 3;
  bool measured = false;
  for (int attempt = 0; attempt < kAttempts && !measured; ++attempt) {
    const Codes codes = beginFor("pub1");
    const auto first_sent = std::chrono::steady_clock::now();
    expectError(poll(codes), 400, "authorization_pending");
    std::this_thread::sleep_for(200ms);
    const HttpResult early = poll(codes);
    if (std::chrono::steady_clock::now() - first_sent >= 1s) {
      continue;
    }
    measured = true;
    expectError(early, 400, "slow_down");
    // slow_down added 5 s: the interval is now 7 s, counted from the last accepted poll.
    std::this_thread::sleep_for(7100ms);
    expectError(poll(codes), 400, "authorization_pending");
  }
  EXPECT_TRUE(measured) << "no attempt got two polls within 1 s";
}

// TK-5, D-6, UV-10
TEST_F(ConformanceTest, DeniedCodeAnswersAccessDenied) {
  const Codes codes = beginFor("pub1");
  ASSERT_EQ(decide("/oauth/device/deny", codes.user_code).status, 200u);
  expectError(poll(codes), 400, "access_denied");
  expectError(decide("/oauth/device/approve", codes.user_code), 400, "invalid_grant");
  std::this_thread::sleep_for(2500ms);
  expectError(poll(codes), 400, "access_denied");
}

// TK-6, D-7, UV-9, SEC-4
TEST_F(ConformanceTest, ExpiredCodeAnswersExpiredToken) {
  const Codes approved = beginFor("pub1");
  const Codes pending = beginFor("pub1");
  approve(approved);
  std::this_thread::sleep_for(11s);
  expectError(poll(approved), 400, "expired_token");
  expectError(poll(pending), 400, "expired_token");
  expectError(decide("/oauth/device/approve", pending.user_code), 400, "invalid_grant");
}

// TK-8, TK-10
TEST_F(ConformanceTest, ForeignAndUnknownCodesAreInvalidGrant) {
  const Codes codes = beginFor("pub1");
  const HttpResult foreign = poll(codes, "pub2");
  const HttpResult unknown =
      token({{"grant_type", kUrn}, {"device_code", "garbage"}, {"client_id", "pub2"}});
  expectError(foreign, 400, "invalid_grant");
  expectError(unknown, 400, "invalid_grant");
  EXPECT_EQ(foreign.body, unknown.body);
}

// TK-11, TK-14
TEST_F(ConformanceTest, MalformedTokenRequestsAreRejected) {
  expectError(token({{"grant_type", kUrn}, {"device_code", "x"}}), 400, "invalid_request");
  expectError(
      token({{"grant_type", "urn:example:nope"}, {"device_code", "x"}, {"client_id", "pub1"}}), 400,
      "unsupported_grant_type");
  expectError(token({{"device_code", "x"}, {"client_id", "pub1"}}), 400, "invalid_request");
  expectError(token({{"grant_type", "URN:IETF:params:oauth:grant-type:device_code"},
                     {"device_code", "x"},
                     {"client_id", "pub1"}}),
              400, "unsupported_grant_type");
}

// TK-13
TEST_F(ConformanceTest, BasicAndPostSecretsBothWork) {
  expectError(token({{"grant_type", kUrn}, {"device_code", "x"}},
                    {{"Authorization", basicAuthorization("conf1", server_->conf1Secret())}}),
              400, "invalid_grant");
  expectError(token({{"grant_type", kUrn},
                     {"device_code", "x"},
                     {"client_id", "conf1"},
                     {"client_secret", server_->conf1Secret()}}),
              400, "invalid_grant");
}

// SEC-16, TK-22
TEST_F(ConformanceTest, HugeDeviceCodeIsRejectedQuickly) {
  expectError(
      token(
          {{"grant_type", kUrn}, {"device_code", std::string(60'000, 'A')}, {"client_id", "pub1"}}),
      400, "invalid_grant");
}

// MD-1 to MD-6, MD-8, MD-9
TEST_F(ConformanceTest, MetadataDescribesTheDeviceFlow) {
  const HttpResult result = httpRequest(port(), "GET", "/.well-known/oauth-authorization-server");
  ASSERT_EQ(result.status, 200u);
  const auto body = jsonObject(result);
  const std::string issuer = "http://127.0.0.1:" + std::to_string(port());
  EXPECT_EQ(std::string(body.at("issuer").as_string()), issuer);
  EXPECT_EQ(std::string(body.at("token_endpoint").as_string()), issuer + "/oauth/device/token");
  const std::string endpoint(body.at("device_authorization_endpoint").as_string());
  EXPECT_EQ(endpoint, issuer + "/oauth/device/begin");
  EXPECT_EQ(boost::json::serialize(body.at("grant_types_supported")),
            "[\"" + kUrn + "\",\"refresh_token\"]");
  EXPECT_EQ(boost::json::serialize(body.at("token_endpoint_auth_methods_supported")),
            "[\"none\",\"client_secret_basic\",\"client_secret_post\"]");
  EXPECT_EQ(boost::json::serialize(body.at("scopes_supported")), "[\"read\",\"write\"]");
  EXPECT_FALSE(body.contains("response_types_supported"));
}

// The verification page flow as a person on a phone drives it.
class PageFlow {
 public:
  explicit PageFlow(std::uint16_t port) : port_(port) {}

  HttpResult get(const std::string& target) { return remember(httpRequest(port_, "GET", target)); }
  HttpResult submit(const std::string& target, Fields fields) {
    fields.emplace_back("csrf_token", csrf_);
    return remember(postForm(port_, target, fields, {{"Cookie", "devauth_session=" + cookie_}}));
  }

 private:
  HttpResult remember(HttpResult result) {
    std::smatch match;
    const std::string set_cookie = result.header("Set-Cookie");
    if (std::regex_search(set_cookie, match, std::regex("devauth_session=([^;]+)"))) {
      cookie_ = match[1].str();
    }
    if (std::regex_search(result.body, match,
                          std::regex("name=\"csrf_token\" value=\"([^\"]+)\""))) {
      csrf_ = match[1].str();
    }
    return result;
  }

  std::uint16_t port_;
  std::string cookie_;
  std::string csrf_;
};

// UV-1, UV-3, UV-4, UV-6, UV-7, UV-8, UV-12, UV-13, UV-14, UV-16
TEST_F(ConformanceTest, VerificationPageApprovesAfterSignIn) {
  const Codes codes = beginFor("pub1");
  PageFlow phone(port());
  const HttpResult page = phone.get("/device?user_code=" + codes.user_code);
  ASSERT_EQ(page.status, 200u);
  EXPECT_NE(page.body.find(codes.user_code), std::string::npos);
  EXPECT_NE(page.header("Content-Security-Policy").find("frame-ancestors 'none'"),
            std::string::npos);
  EXPECT_EQ(page.header("X-Frame-Options"), "DENY");
  // A link alone approves nothing.
  expectError(poll(codes), 400, "authorization_pending");

  std::string lower = codes.user_code;
  for (char& c : lower) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  ASSERT_EQ(phone.submit("/device", {{"user_code", " " + lower + " "}}).status, 200u);
  const HttpResult consent =
      phone.submit("/device/login",
                   {{"username", "u1"}, {"password", kPassword}, {"user_code", codes.user_code}});
  ASSERT_EQ(consent.status, 200u) << consent.body;
  EXPECT_NE(consent.body.find("Public One"), std::string::npos);
  EXPECT_NE(consent.body.find("Deny"), std::string::npos);
  EXPECT_EQ(consent.body.find(codes.device_code), std::string::npos);

  const HttpResult forged = postForm(port(), "/device/decision",
                                     {{"decision", "approve"}, {"user_code", codes.user_code}});
  EXPECT_EQ(forged.status, 403u);
  const HttpResult done =
      phone.submit("/device/decision", {{"decision", "approve"}, {"user_code", codes.user_code}});
  ASSERT_EQ(done.status, 200u);
  EXPECT_NE(done.body.find("return to your device"), std::string::npos);
  std::this_thread::sleep_for(2100ms);
  EXPECT_EQ(poll(codes).status, 200u);
}

// UV-11, UV-15
TEST_F(ConformanceTest, UnusableCodesGetOneAnswer) {
  const Codes denied = beginFor("pub1");
  ASSERT_EQ(decide("/oauth/device/deny", denied.user_code).status, 200u);
  PageFlow phone(port());
  const HttpResult page = phone.get("/device?user_code=%3Cscript%3Ex%3C%2Fscript%3E");
  EXPECT_EQ(page.body.find("<script>x"), std::string::npos);
  const HttpResult unknown = phone.submit("/device", {{"user_code", "BCDF-GHJK"}});
  const HttpResult used = phone.submit("/device", {{"user_code", denied.user_code}});
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_EQ(used.status, unknown.status);
  EXPECT_EQ(used.body, unknown.body);
}

// SEC-15
TEST_F(ConformanceTest, LogNeverContainsCodesOrTokens) {
  const std::size_t issued = DevauthServer::occurrences(server_->log(), "event=token_issued");
  const Codes codes = beginFor("pub1");
  approve(codes);
  const std::string access_token = stringField(poll(codes), "access_token");
  ASSERT_FALSE(access_token.empty());
  // The issuing line is the last this test causes; waiting for it makes sure the log checked
  // below is complete.
  ASSERT_TRUE(server_->logs("event=token_issued", issued + 1));
  const std::string log = server_->log();
  EXPECT_EQ(log.find(codes.device_code), std::string::npos);
  EXPECT_EQ(log.find(codes.user_code), std::string::npos);
  EXPECT_EQ(log.find(access_token), std::string::npos);
  EXPECT_EQ(log.find(server_->conf1Secret()), std::string::npos);
}

// A second server with small limits, for the abuse checks.
class LimitsConformanceTest : public ConformanceTest {
 protected:
  static void SetUpTestSuite() {
    server_ = new DevauthServer(
        {"--device-requests-per-client", "20", "--device-requests-per-address", "0",
         "--client-auth-failures-per-client", "5", "--client-auth-failures-per-address", "50",
         "--user-code-failures-per-address", "8", "--user-code-failures-per-session", "8"});
  }
};

// DA-19
TEST_F(LimitsConformanceTest, BurstOfDeviceRequestsIsRateLimited) {
  int limited = 0;
  for (int i = 0; i < 60; ++i) {
    const HttpResult result = begin({{"client_id", "pub2"}});
    if (result.status == 429) {
      ++limited;
      expectError(result, 429, "temporarily_unavailable");
      EXPECT_FALSE(result.header("Retry-After").empty());
    }
  }
  // 20 per client per minute: a burst this short spans at most two windows, so at most 40 pass.
  EXPECT_GE(limited, 20);
}

// SEC-14
TEST_F(LimitsConformanceTest, SecretGuessingIsThrottledAndLogged) {
  HttpResult last;
  for (int i = 0; i < 12; ++i) {
    last = token({{"grant_type", kUrn}, {"device_code", "x"}},
                 {{"Authorization", basicAuthorization("conf1", "guess-" + std::to_string(i))}});
  }
  expectError(last, 429, "temporarily_unavailable");
  EXPECT_FALSE(last.header("Retry-After").empty());
  EXPECT_TRUE(server_->logs("event=client_authentication_failed client_id=conf1"));
}

// UV-5, SEC-3
TEST_F(LimitsConformanceTest, UserCodeGuessingIsBlocked) {
  const Codes codes = beginFor("pub1");
  PageFlow phone(port());
  phone.get("/device");
  HttpResult last;
  for (int i = 0; i < 20; ++i) {
    last = phone.submit("/device", {{"user_code", "BCDF-GHJK"}});
  }
  EXPECT_EQ(last.status, 429u);
  EXPECT_FALSE(last.header("Retry-After").empty());
  EXPECT_EQ(phone.submit("/device", {{"user_code", codes.user_code}}).status, 429u);
}

}  // namespace
}  // namespace devauth::testing
