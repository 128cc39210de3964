// The approval API for trusted backends: POST /oauth/device/approve and /oauth/device/deny.

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <latch>
#include <sstream>
#include <thread>

#include "oauth_fixture.h"

namespace devauth::testing {
namespace {

class OAuthApprovalApiTest : public OAuthFixture {
 protected:
  void SetUp() override {
    OAuthFixture::SetUp();
    Client relaying = makePublicClient("relay1", {"read", "write"});
    relaying.accepts_relayed_tokens = true;
    insertClient(relaying);
  }

  HttpResult decide(const char* path, Fields fields, const std::string& client_id = "bank",
                    const std::string& secret = kApproverSecret) {
    return postForm(port(), path, fields,
                    {{"Authorization", basicAuthorization(client_id, secret)}});
  }

  HttpResult approve(const std::string& user_code, Fields extra = {}) {
    Fields fields = {{"user_code", user_code}, {"subject", "customer-42"}};
    fields.insert(fields.end(), extra.begin(), extra.end());
    return decide(kApprovePath, fields);
  }

  HttpResult deny(const std::string& user_code) {
    return decide(kDenyPath, {{"user_code", user_code}, {"subject", "customer-42"}});
  }
};

TEST_F(OAuthApprovalApiTest, ApproveReturnsDecision) {
  const DeviceCodes codes = beginFor("pub1");

  const HttpResult result = approve(codes.user_code);

  ASSERT_EQ(result.status, 200u) << result.body;
  expectNoStoreJson(result);
  const boost::json::object body = jsonObject(result);
  const Authorization authorization = stored(codes.device_code);
  EXPECT_EQ(stringField(body, "authorization_id"), authorization.id);
  EXPECT_EQ(stringField(body, "state"), "approved");
  EXPECT_EQ(stringField(body, "client_id"), "pub1");
  EXPECT_EQ(stringField(body, "scope"), "read write");
  EXPECT_EQ(authorization.state, AuthorizationState::Approved);
  EXPECT_EQ(authorization.subject, "customer-42");
}

TEST_F(OAuthApprovalApiTest, ApproveWithoutTokenLetsDeviceReceiveMintedToken) {
  const DeviceCodes codes = beginFor("pub1");
  ASSERT_EQ(approve(codes.user_code).status, 200u);

  const HttpResult result = poll(codes.device_code);

  ASSERT_EQ(result.status, 200u) << result.body;
  auto found =
      server().store().findToken(hashSecret(stringField(jsonObject(result), "access_token")));
  ASSERT_TRUE(found.hasValue());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->subject, "customer-42");
}

TEST_F(OAuthApprovalApiTest, RelayedTokenIsDeliveredOnceAndNeverStoredInClear) {
  const std::string relayed = "bank-issued-token-7f3a9c1e5b2d4086";
  const DeviceCodes codes = beginFor("relay1");
  const HttpResult approved = approve(
      codes.user_code, {{"access_token", relayed}, {"expires_in", "1200"}, {"scope", "read"}});
  ASSERT_EQ(approved.status, 200u) << approved.body;
  EXPECT_EQ(databaseBytes().find(relayed), std::string::npos);

  const HttpResult result = poll(codes.device_code, "relay1");

  ASSERT_EQ(result.status, 200u) << result.body;
  expectNoStoreJson(result);
  const boost::json::object body = jsonObject(result);
  EXPECT_EQ(stringField(body, "access_token"), relayed);
  EXPECT_EQ(stringField(body, "token_type"), "Bearer");
  ASSERT_TRUE(body.contains("expires_in"));
  EXPECT_EQ(body.at("expires_in").as_int64(), 1200);
  EXPECT_EQ(stringField(body, "scope"), "read");
  EXPECT_EQ(databaseBytes().find(relayed), std::string::npos);
  EXPECT_FALSE(stored(codes.device_code).sealed_relay_token.has_value());
  server().clock().advance(seconds(5));
  expectOAuthError(poll(codes.device_code, "relay1"), 400, "invalid_grant");
}

TEST_F(OAuthApprovalApiTest, RelayedTokenKeepsItsTokenType) {
  const DeviceCodes codes = beginFor("relay1");
  ASSERT_EQ(approve(codes.user_code, {{"access_token", "abc"}, {"token_type", "DPoP"}}).status,
            200u);

  const HttpResult result = poll(codes.device_code, "relay1");

  ASSERT_EQ(result.status, 200u) << result.body;
  const boost::json::object body = jsonObject(result);
  EXPECT_EQ(stringField(body, "token_type"), "DPoP");
  EXPECT_FALSE(body.contains("expires_in"));
  EXPECT_FALSE(body.contains("scope"));
}

TEST_F(OAuthApprovalApiTest, InvalidExpiresInIsInvalidRequest) {
  const DeviceCodes codes = beginFor("relay1");

  for (const char* expires_in : {"0", "-5", "12s", "99999999999"}) {
    SCOPED_TRACE(expires_in);
    expectOAuthError(
        approve(codes.user_code, {{"access_token", "abc"}, {"expires_in", expires_in}}), 400,
        "invalid_request");
  }
  EXPECT_EQ(stored(codes.device_code).state, AuthorizationState::Pending);
}

TEST_F(OAuthApprovalApiTest, BeginDerivesRelayKeyOnlyForRelayingClient) {
  const DeviceCodes plain = beginFor("pub1");
  const DeviceCodes relaying = beginFor("relay1");

  EXPECT_EQ(stored(plain.device_code).relay_public_key, std::nullopt);
  EXPECT_EQ(stored(relaying.device_code).relay_public_key, relayPublicKeyFor(relaying.device_code));
}

TEST_F(OAuthApprovalApiTest, RelayToOptedOutClientIsInvalidRequest) {
  const DeviceCodes codes = beginFor("pub1");

  const HttpResult rejected = approve(codes.user_code, {{"access_token", "bank-token-1"}});

  expectOAuthError(rejected, 400, "invalid_request");
  EXPECT_NE(stringField(jsonObject(rejected), "error_description").find("relayed tokens"),
            std::string::npos)
      << rejected.body;
  const Authorization authorization = stored(codes.device_code);
  EXPECT_EQ(authorization.state, AuthorizationState::Pending);
  EXPECT_EQ(authorization.subject, std::nullopt);
  EXPECT_EQ(authorization.sealed_relay_token, std::nullopt);
  expectOAuthError(poll(codes.device_code), 400, "authorization_pending");
  // The code stays usable: an approval without a relayed token goes through.
  ASSERT_EQ(approve(codes.user_code).status, 200u);
  server().clock().advance(seconds(5));
  EXPECT_EQ(poll(codes.device_code).status, 200u);
}

// The relay check runs only once the code is known to be decidable, so an unknown code gets the
// same invalid_grant with or without a relayed token.
TEST_F(OAuthApprovalApiTest, RelayToUnknownCodeIsInvalidGrant) {
  expectOAuthError(approve("BCDF-GHJK", {{"access_token", "bank-token-1"}}), 400, "invalid_grant");
}

TEST_F(OAuthApprovalApiTest, TokenDetailsWithoutTokenAreInvalidRequest) {
  const DeviceCodes codes = beginFor("pub1");

  expectOAuthError(approve(codes.user_code, {{"expires_in", "60"}}), 400, "invalid_request");
}

TEST_F(OAuthApprovalApiTest, DenyMakesDeviceReceiveAccessDenied) {
  const DeviceCodes codes = beginFor("pub1");

  const HttpResult result = deny(codes.user_code);

  ASSERT_EQ(result.status, 200u) << result.body;
  expectNoStoreJson(result);
  EXPECT_EQ(stringField(jsonObject(result), "state"), "denied");
  expectOAuthError(poll(codes.device_code), 400, "access_denied");
}

TEST_F(OAuthApprovalApiTest, UserCodeIsNormalized) {
  const DeviceCodes codes = beginFor("pub1");
  std::string typed = codes.user_code;
  for (auto& c : typed) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  typed.erase(typed.find('-'), 1);

  EXPECT_EQ(approve(typed).status, 200u);
}

TEST_F(OAuthApprovalApiTest, MissingCredentialsAreInvalidRequest) {
  const DeviceCodes codes = beginFor("pub1");

  const HttpResult result =
      postForm(port(), kApprovePath, {{"user_code", codes.user_code}, {"subject", "customer-42"}});

  expectOAuthError(result, 400, "invalid_request");
}

TEST_F(OAuthApprovalApiTest, ApproverWithoutSecretIsInvalidClient) {
  const DeviceCodes codes = beginFor("pub1");

  const HttpResult result =
      postForm(port(), kApprovePath,
               {{"client_id", "bank"}, {"user_code", codes.user_code}, {"subject", "customer-42"}});

  expectOAuthError(result, 400, "invalid_client");
  EXPECT_EQ(stored(codes.device_code).state, AuthorizationState::Pending);
}

TEST_F(OAuthApprovalApiTest, WrongApproverSecretIsUnauthorizedWithChallenge) {
  const DeviceCodes codes = beginFor("pub1");

  const HttpResult result = decide(
      kApprovePath, {{"user_code", codes.user_code}, {"subject", "customer-42"}}, "bank", "wrong");

  expectOAuthError(result, 401, "invalid_client");
  EXPECT_FALSE(result.header("WWW-Authenticate").empty());
  EXPECT_EQ(stored(codes.device_code).state, AuthorizationState::Pending);
}

TEST_F(OAuthApprovalApiTest, PublicClientIsInvalidClient) {
  const DeviceCodes codes = beginFor("pub1");

  const HttpResult result =
      postForm(port(), kApprovePath,
               {{"client_id", "pub1"}, {"user_code", codes.user_code}, {"subject", "customer-42"}});

  expectOAuthError(result, 400, "invalid_client");
  EXPECT_EQ(stored(codes.device_code).state, AuthorizationState::Pending);
}

TEST_F(OAuthApprovalApiTest, NonApproverIsUnauthorizedClient) {
  const DeviceCodes codes = beginFor("pub1");

  const HttpResult result =
      decide(kDenyPath, {{"user_code", codes.user_code}, {"subject", "customer-42"}}, "conf1",
             kConfidentialSecret);

  expectOAuthError(result, 400, "unauthorized_client");
  EXPECT_EQ(stored(codes.device_code).state, AuthorizationState::Pending);
}

TEST_F(OAuthApprovalApiTest, MissingSubjectIsInvalidRequest) {
  const DeviceCodes codes = beginFor("pub1");

  expectOAuthError(decide(kApprovePath, {{"user_code", codes.user_code}}), 400, "invalid_request");
}

TEST_F(OAuthApprovalApiTest, OverlongSubjectIsInvalidRequest) {
  const DeviceCodes codes = beginFor("pub1");

  const HttpResult result =
      decide(kApprovePath, {{"user_code", codes.user_code}, {"subject", std::string(256, 's')}});

  expectOAuthError(result, 400, "invalid_request");
}

TEST_F(OAuthApprovalApiTest, MalformedUserCodeIsInvalidRequest) {
  expectOAuthError(approve("AEIO-1234"), 400, "invalid_request");
}

TEST_F(OAuthApprovalApiTest, UnknownExpiredAndDecidedCodesGetOneBody) {
  const DeviceCodes decided = beginFor("pub1");
  ASSERT_EQ(deny(decided.user_code).status, 200u);
  const DeviceCodes expiring = beginFor("pub1");
  server().clock().advance(server().config().device_code_ttl + seconds(1));

  const HttpResult unknown = approve("BCDF-GHJK");
  const HttpResult expired = approve(expiring.user_code);
  const HttpResult already_decided = approve(decided.user_code);

  expectOAuthError(unknown, 400, "invalid_grant");
  expectOAuthError(expired, 400, "invalid_grant");
  expectOAuthError(already_decided, 400, "invalid_grant");
  EXPECT_EQ(expired.body, unknown.body);
  EXPECT_EQ(already_decided.body, unknown.body);
  EXPECT_EQ(stored(decided.device_code).state, AuthorizationState::Denied);
}

TEST_F(OAuthApprovalApiTest, ConcurrentApproveAndDenyHaveOneWinner) {
  const DeviceCodes codes = beginFor("pub1");
  std::latch start(2);
  HttpResult approved;
  HttpResult denied;

  std::thread approver([&] {
    start.arrive_and_wait();
    approved = approve(codes.user_code);
  });
  std::thread denier([&] {
    start.arrive_and_wait();
    denied = deny(codes.user_code);
  });
  approver.join();
  denier.join();

  ASSERT_NE(approved.status == 200u, denied.status == 200u)
      << approved.status << " " << denied.status;
  const HttpResult& loser = approved.status == 200u ? denied : approved;
  expectOAuthError(loser, 400, "invalid_grant");
  if (approved.status == 200u) {
    EXPECT_EQ(poll(codes.device_code).status, 200u);
  } else {
    expectOAuthError(poll(codes.device_code), 400, "access_denied");
  }
}

// Logs carry ids only: no device code, user code, token or secret, even at debug level.
TEST_F(OAuthApprovalApiTest, LogsContainNoCodesOrTokens) {
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  auto capture = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  capture->set_level(spdlog::level::debug);
  spdlog::set_default_logger(capture);

  const std::string relayed = "bank-issued-token-5d1c8e2a";
  const DeviceCodes codes = beginFor("relay1");
  const HttpResult pending = poll(codes.device_code, "relay1");
  const HttpResult approved = approve(codes.user_code, {{"access_token", relayed}});
  const HttpResult issued = poll(codes.device_code, "relay1");
  const HttpResult rejected =
      decide(kApprovePath, {{"user_code", codes.user_code}}, "bank", "wrong-secret-value");
  spdlog::set_default_logger(previous);

  EXPECT_EQ(pending.status, 400u);
  EXPECT_EQ(approved.status, 200u);
  EXPECT_EQ(issued.status, 200u);
  EXPECT_EQ(rejected.status, 401u);
  const std::string log = captured.str();
  const std::string canonical_user_code = codes.user_code.substr(0, 4) + codes.user_code.substr(5);
  EXPECT_NE(log.find("event=authorization_approved"), std::string::npos) << log;
  EXPECT_NE(log.find("event=token_issued"), std::string::npos) << log;
  EXPECT_NE(log.find("event=request_rejected"), std::string::npos) << log;
  EXPECT_EQ(log.find(codes.device_code), std::string::npos) << log;
  EXPECT_EQ(log.find(codes.user_code), std::string::npos) << log;
  EXPECT_EQ(log.find(canonical_user_code), std::string::npos) << log;
  EXPECT_EQ(log.find(relayed), std::string::npos) << log;
  EXPECT_EQ(log.find(kApproverSecret), std::string::npos) << log;
  EXPECT_EQ(log.find("wrong-secret-value"), std::string::npos) << log;
}

}  // namespace
}  // namespace devauth::testing
