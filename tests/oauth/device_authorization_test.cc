// The device authorization endpoint (RFC 8628 §3.1-3.2) and the client authentication and
// request checks it shares with the other OAuth endpoints.

#include <regex>
#include <set>

#include "oauth/request_checks.h"
#include "oauth_fixture.h"

namespace devauth::testing {
namespace {

class OAuthDeviceAuthorizationTest : public OAuthFixture {};

TEST_F(OAuthDeviceAuthorizationTest, BeginReturnsCodesAndNumbers) {
  const HttpResult result = begin({{"client_id", "pub1"}, {"scope", "read"}});

  ASSERT_EQ(result.status, 200u) << result.body;
  expectNoStoreJson(result);
  EXPECT_EQ(result.header("Pragma"), "no-cache");
  const boost::json::object body = jsonObject(result);
  ASSERT_TRUE(body.at("device_code").is_string());
  ASSERT_TRUE(body.at("user_code").is_string());
  ASSERT_TRUE(body.at("verification_uri").is_string());
  ASSERT_TRUE(body.at("verification_uri_complete").is_string());
  ASSERT_TRUE(body.at("expires_in").is_int64());
  ASSERT_TRUE(body.at("interval").is_int64());

  // 8 order bytes and 256 random bits as unpadded base64url.
  EXPECT_TRUE(
      std::regex_match(stringField(body, "device_code"), std::regex("^[A-Za-z0-9_-]{54}$")));
  const std::string user_code = stringField(body, "user_code");
  EXPECT_TRUE(std::regex_match(
      user_code, std::regex("^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")));
  EXPECT_EQ(stringField(body, "verification_uri"), server().config().issuer + "/device");
  EXPECT_EQ(stringField(body, "verification_uri_complete"),
            server().config().issuer + "/device?user_code=" + user_code);
  EXPECT_EQ(body.at("expires_in").as_int64(), server().config().device_code_ttl.count());
  EXPECT_EQ(body.at("interval").as_int64(), server().config().poll_interval.count());
}

TEST_F(OAuthDeviceAuthorizationTest, BeginStoresOnlyHashesOfTheCodes) {
  const DeviceCodes codes = beginFor("pub1");

  const Authorization authorization = stored(codes.device_code);
  EXPECT_EQ(authorization.client_id, "pub1");
  EXPECT_EQ(authorization.state, AuthorizationState::Pending);
  EXPECT_EQ(authorization.id.size(), 32u);
  EXPECT_EQ(authorization.interval, server().config().poll_interval);
  EXPECT_EQ(authorization.expires_at, server().clock().now() + server().config().device_code_ttl);
  EXPECT_FALSE(authorization.last_poll_at.has_value());
  const std::string bytes = databaseBytes();
  EXPECT_EQ(bytes.find(codes.device_code), std::string::npos);
  EXPECT_EQ(bytes.find(codes.user_code.substr(0, 4) + codes.user_code.substr(5)),
            std::string::npos);
}

TEST_F(OAuthDeviceAuthorizationTest, ThousandBeginsGiveDistinctCodes) {
  const std::regex user_code_format("^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$");
  std::set<std::string> device_codes;
  std::set<std::string> user_codes;
  for (int i = 0; i < 1000; ++i) {
    // 30 requests per minute stay under the default limit of 60 per address.
    server().clock().advance(seconds(2));
    const DeviceCodes codes = beginFor("pub1");
    ASSERT_TRUE(std::regex_match(codes.user_code, user_code_format)) << codes.user_code;
    ASSERT_EQ(codes.device_code.size(), 54u);
    device_codes.insert(codes.device_code);
    user_codes.insert(codes.user_code);
  }
  EXPECT_EQ(device_codes.size(), 1000u);
  EXPECT_EQ(user_codes.size(), 1000u);
}

// The device code, the user code and the authorization id of one request come from one call
// of the random source, since each call of the CSPRNG is a system call.
TEST_F(OAuthDeviceAuthorizationTest, BeginDrawsRandomBytesOnce) {
  const std::size_t before = server().random().fills();
  const DeviceCodes codes = beginFor("pub1");
  EXPECT_FALSE(codes.device_code.empty());
  EXPECT_EQ(server().random().fills() - before, 1U);
}

TEST_F(OAuthDeviceAuthorizationTest, UnknownClientIsInvalidClient) {
  expectOAuthError(begin({{"client_id", "nobody"}}), 400, "invalid_client");
}

TEST_F(OAuthDeviceAuthorizationTest, ClientWithoutDeviceGrantIsUnauthorizedClient) {
  expectOAuthError(begin({{"client_id", "nodev"}}), 400, "unauthorized_client");
}

TEST_F(OAuthDeviceAuthorizationTest, ScopeNotAllowedIsInvalidScope) {
  expectOAuthError(begin({{"client_id", "pub2"}, {"scope", "write"}}), 400, "invalid_scope");
}

TEST_F(OAuthDeviceAuthorizationTest, UnknownScopeIsInvalidScope) {
  expectOAuthError(begin({{"client_id", "pub1"}, {"scope", "read nonexistent"}}), 400,
                   "invalid_scope");
}

TEST_F(OAuthDeviceAuthorizationTest, MalformedScopeIsInvalidScope) {
  expectOAuthError(begin({{"client_id", "pub1"}, {"scope", "read  write"}}), 400, "invalid_scope");
}

TEST_F(OAuthDeviceAuthorizationTest, MissingScopeGrantsDefaultScopes) {
  Client client = makePublicClient("narrow", {"read", "write"});
  client.default_scopes = {"read"};
  insertClient(client);

  const DeviceCodes codes = beginFor("narrow");

  EXPECT_EQ(stored(codes.device_code).scope, "read");
}

TEST_F(OAuthDeviceAuthorizationTest, EmptyScopeCountsAsAbsent) {
  Client client = makePublicClient("narrow", {"read", "write"});
  client.default_scopes = {"read"};
  insertClient(client);

  const HttpResult result = begin({{"client_id", "narrow"}, {"scope", ""}});

  ASSERT_EQ(result.status, 200u) << result.body;
  EXPECT_EQ(stored(stringField(jsonObject(result), "device_code")).scope, "read");
}

TEST_F(OAuthDeviceAuthorizationTest, RequestedScopeIsStored) {
  const HttpResult result = begin({{"client_id", "pub1"}, {"scope", "write read write"}});

  ASSERT_EQ(result.status, 200u) << result.body;
  EXPECT_EQ(stored(stringField(jsonObject(result), "device_code")).scope, "write read");
}

TEST_F(OAuthDeviceAuthorizationTest, UnknownParametersAreIgnored) {
  const HttpResult result = begin({{"client_id", "pub1"}, {"foo", "bar"}});

  EXPECT_EQ(result.status, 200u) << result.body;
}

TEST_F(OAuthDeviceAuthorizationTest, RepeatedParameterIsInvalidRequest) {
  expectOAuthError(begin({{"client_id", "pub1"}, {"client_id", "pub1"}}), 400, "invalid_request");
}

TEST_F(OAuthDeviceAuthorizationTest, RepeatedScopeIsInvalidRequest) {
  expectOAuthError(begin({{"client_id", "pub1"}, {"scope", "read"}, {"scope", "write"}}), 400,
                   "invalid_request");
}

TEST_F(OAuthDeviceAuthorizationTest, JsonBodyIsInvalidRequest) {
  const HttpResult result = httpRequest(port(), "POST", kBeginPath, R"({"client_id":"pub1"})",
                                        {{"Content-Type", "application/json"}});

  expectOAuthError(result, 400, "invalid_request");
}

TEST_F(OAuthDeviceAuthorizationTest, MissingContentTypeIsInvalidRequest) {
  const HttpResult result = httpRequest(port(), "POST", kBeginPath, "client_id=pub1");

  expectOAuthError(result, 400, "invalid_request");
}

TEST_F(OAuthDeviceAuthorizationTest, CharsetParameterIsAccepted) {
  const HttpResult result =
      httpRequest(port(), "POST", kBeginPath, "client_id=pub1",
                  {{"Content-Type", "application/x-www-form-urlencoded; charset=UTF-8"}});

  EXPECT_EQ(result.status, 200u) << result.body;
}

TEST_F(OAuthDeviceAuthorizationTest, MalformedBodyIsInvalidRequest) {
  const HttpResult result = httpRequest(port(), "POST", kBeginPath, "client_id=pub1&scope=%zz",
                                        {{"Content-Type", "application/x-www-form-urlencoded"}});

  expectOAuthError(result, 400, "invalid_request");
}

TEST_F(OAuthDeviceAuthorizationTest, GetIsMethodNotAllowed) {
  const HttpResult result = httpRequest(port(), "GET", std::string(kBeginPath) + "?client_id=pub1");

  EXPECT_EQ(result.status, 405u);
  EXPECT_EQ(result.header("Allow"), "POST");
}

TEST_F(OAuthDeviceAuthorizationTest, ClientSecretInQueryIsInvalidRequest) {
  const std::string target = std::string(kBeginPath) + "?client_secret=" + kConfidentialSecret;

  const HttpResult result = postForm(port(), target, {{"client_id", "conf1"}});

  expectOAuthError(result, 400, "invalid_request");
}

TEST_F(OAuthDeviceAuthorizationTest, BodyParameterRepeatedInQueryIsInvalidRequest) {
  const HttpResult result =
      postForm(port(), std::string(kBeginPath) + "?client_id=pub1", {{"client_id", "pub1"}});

  expectOAuthError(result, 400, "invalid_request");
}

TEST_F(OAuthDeviceAuthorizationTest, ConfidentialClientAuthenticatesWithBasic) {
  const HttpResult result =
      begin({}, {{"Authorization", basicAuthorization("conf1", kConfidentialSecret)}});

  EXPECT_EQ(result.status, 200u) << result.body;
  EXPECT_EQ(stored(stringField(jsonObject(result), "device_code")).client_id, "conf1");
}

TEST_F(OAuthDeviceAuthorizationTest, BasicWithMatchingBodyClientIdIsAccepted) {
  const HttpResult result =
      begin({{"client_id", "conf1"}},
            {{"Authorization", basicAuthorization("conf1", kConfidentialSecret)}});

  EXPECT_EQ(result.status, 200u) << result.body;
}

TEST_F(OAuthDeviceAuthorizationTest, ConfidentialClientAuthenticatesWithClientSecretPost) {
  const HttpResult result = begin({{"client_id", "conf1"}, {"client_secret", kConfidentialSecret}});

  EXPECT_EQ(result.status, 200u) << result.body;
}

// RFC 6749 §2.3.1: id and secret are form-encoded before base64, so ':' in either survives.
TEST_F(OAuthDeviceAuthorizationTest, BasicDecodesFormEncodedSpecialCharacters) {
  const std::string id = "odd+client/:%id x";
  const std::string secret = "s3cr+t/with:colon%25 and space";
  server().addConfidentialClient(id, secret);

  const HttpResult result = begin({}, {{"Authorization", basicAuthorization(id, secret)}});

  EXPECT_EQ(result.status, 200u) << result.body;
  EXPECT_EQ(stored(stringField(jsonObject(result), "device_code")).client_id, id);
}

TEST_F(OAuthDeviceAuthorizationTest, WrongSecretWithBasicIsUnauthorizedWithChallenge) {
  const HttpResult result = begin({}, {{"Authorization", basicAuthorization("conf1", "wrong")}});

  expectOAuthError(result, 401, "invalid_client");
  EXPECT_EQ(result.header("WWW-Authenticate").rfind("Basic realm=", 0), 0u)
      << result.header("WWW-Authenticate");
}

TEST_F(OAuthDeviceAuthorizationTest, UnknownClientWithBasicIsUnauthorizedWithChallenge) {
  const HttpResult result = begin({}, {{"Authorization", basicAuthorization("nobody", "x")}});

  expectOAuthError(result, 401, "invalid_client");
  EXPECT_FALSE(result.header("WWW-Authenticate").empty());
}

TEST_F(OAuthDeviceAuthorizationTest, MalformedBasicIsUnauthorizedWithChallenge) {
  const HttpResult result = begin({}, {{"Authorization", "Basic %%%not-base64"}});

  expectOAuthError(result, 401, "invalid_client");
  EXPECT_FALSE(result.header("WWW-Authenticate").empty());
}

TEST_F(OAuthDeviceAuthorizationTest, WrongSecretWithPostIsInvalidClient) {
  const HttpResult result = begin({{"client_id", "conf1"}, {"client_secret", "wrong"}});

  expectOAuthError(result, 400, "invalid_client");
  EXPECT_TRUE(result.header("WWW-Authenticate").empty());
}

TEST_F(OAuthDeviceAuthorizationTest, ConfidentialClientWithoutSecretIsInvalidClient) {
  expectOAuthError(begin({{"client_id", "conf1"}}), 400, "invalid_client");
}

TEST_F(OAuthDeviceAuthorizationTest, PublicClientSendingSecretIsInvalidClient) {
  expectOAuthError(begin({{"client_id", "pub1"}, {"client_secret", "anything"}}), 400,
                   "invalid_client");
}

TEST_F(OAuthDeviceAuthorizationTest, BasicAndClientSecretTogetherAreInvalidRequest) {
  const HttpResult result =
      begin({{"client_id", "conf1"}, {"client_secret", kConfidentialSecret}},
            {{"Authorization", basicAuthorization("conf1", kConfidentialSecret)}});

  expectOAuthError(result, 400, "invalid_request");
}

TEST_F(OAuthDeviceAuthorizationTest, BasicWithDifferentBodyClientIdIsInvalidClient) {
  const HttpResult result =
      begin({{"client_id", "pub1"}},
            {{"Authorization", basicAuthorization("conf1", kConfidentialSecret)}});

  expectOAuthError(result, 401, "invalid_client");
}

TEST_F(OAuthDeviceAuthorizationTest, NoClientIdentificationIsInvalidRequest) {
  expectOAuthError(begin({{"scope", "read"}}), 400, "invalid_request");
}

TEST(OAuthRequestChecksTest, FormContentTypeVariants) {
  EXPECT_TRUE(oauth::isFormContentType("application/x-www-form-urlencoded"));
  EXPECT_TRUE(oauth::isFormContentType("Application/X-WWW-Form-Urlencoded"));
  EXPECT_TRUE(oauth::isFormContentType("application/x-www-form-urlencoded;charset=utf-8"));
  EXPECT_TRUE(oauth::isFormContentType("application/x-www-form-urlencoded; charset=\"UTF-8\""));
  EXPECT_FALSE(oauth::isFormContentType(""));
  EXPECT_FALSE(oauth::isFormContentType("application/json"));
  EXPECT_FALSE(oauth::isFormContentType("multipart/form-data; boundary=x"));
  EXPECT_FALSE(oauth::isFormContentType("application/x-www-form-urlencoded; charset=latin1"));
  EXPECT_FALSE(oauth::isFormContentType("application/x-www-form-urlencoded; boundary=x"));
  EXPECT_FALSE(oauth::isFormContentType("application/x-www-form-urlencoded; charset=utf-8; x=y"));
  EXPECT_FALSE(oauth::isFormContentType("application/x-www-form-urlencodedx"));
}

}  // namespace
}  // namespace devauth::testing
