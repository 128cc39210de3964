// JWT access tokens (RFC 9068), ID tokens, the JWKS and the OpenID Provider metadata, over real
// sockets: exact headers and claims, signatures checked against the published keys, and key
// rotation with its overlap.

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "jose/jws.h"
#include "oauth_fixture.h"

namespace devauth::testing {
namespace {

constexpr char kJwksPath[] = "/oauth/jwks";
constexpr seconds kRotationAge{3600};
constexpr seconds kOverlap{7200};

class SignedTokensTest : public OAuthFixture {
 protected:
  void SetUp() override {
    OAuthFixture::SetUp();
    Client jwt_client = makePublicClient("jwt1", {"openid", "read"});
    jwt_client.default_scopes = {"read"};
    jwt_client.access_token_format = AccessTokenFormat::Jwt;
    jwt_client.access_token_ttl = seconds(900);
    insertClient(jwt_client);
    Client opaque_openid = makePublicClient("oidc1", {"openid", "read"});
    insertClient(opaque_openid);
  }

  void adjustConfig(Config& config) override {
    config.issuer = "https://auth.example.com";
    config.signing.rotation_age = kRotationAge;
    config.signing.overlap = kOverlap;
  }

  // Runs the flow for `client_id` with `scope`, approved in the store at the current time, and
  // returns the token response.
  boost::json::object issueTokens(const std::string& client_id, const std::string& scope = "") {
    Fields fields{{"client_id", client_id}};
    if (!scope.empty()) {
      fields.emplace_back("scope", scope);
    }
    const HttpResult begun = begin(fields);
    EXPECT_EQ(begun.status, 200u) << begun.body;
    const std::string device_code = stringField(jsonObject(begun), "device_code");
    approveInStore(device_code);
    const HttpResult result = poll(device_code, client_id);
    EXPECT_EQ(result.status, 200u) << result.body;
    expectNoStoreJson(result);
    return jsonObject(result);
  }

  boost::json::array jwks() {
    const HttpResult result = httpRequest(port(), "GET", kJwksPath);
    EXPECT_EQ(result.status, 200u) << result.body;
    const boost::json::object body = jsonObject(result);
    const auto* keys = body.if_contains("keys");
    if (keys == nullptr || !keys->is_array()) {
      ADD_FAILURE() << "the JWKS has no keys array: " << result.body;
      return {};
    }
    return keys->as_array();
  }

  // Verifies `token` with the JWKS key of its kid; fails the test when there is none.
  jose::VerifiedJws verifiedWithJwks(const std::string& token) {
    auto header = jose::decodeHeader(token);
    EXPECT_TRUE(header.hasValue());
    const std::string kid = header.hasValue() ? stringField(*header, "kid") : "";
    for (const auto& jwk : jwks()) {
      if (stringField(jwk.as_object(), "kid") != kid) {
        continue;
      }
      auto key = jose::Key::fromPublicJwk(jwk.as_object());
      EXPECT_TRUE(key.hasValue()) << key.error();
      auto verified = jose::verify(token, *key);
      EXPECT_TRUE(verified.hasValue()) << verified.error();
      return verified.hasValue() ? *verified : jose::VerifiedJws{};
    }
    ADD_FAILURE() << "no key in the JWKS has kid " << kid;
    return {};
  }

  static std::int64_t unixSeconds(TimePoint time) {
    return std::chrono::duration_cast<seconds>(time.time_since_epoch()).count();
  }

  static std::set<std::string> kidsOf(const boost::json::array& keys) {
    std::set<std::string> kids;
    for (const auto& key : keys) {
      kids.insert(stringField(key.as_object(), "kid"));
    }
    return kids;
  }
};

TEST_F(SignedTokensTest, JwksIsCacheableAndEmptyBeforeFirstSignature) {
  const HttpResult result = httpRequest(port(), "GET", kJwksPath);
  EXPECT_EQ(result.status, 200u);
  EXPECT_EQ(result.header("Cache-Control"), "public, max-age=300");
  EXPECT_EQ(result.header("Pragma"), "");
  EXPECT_EQ(result.header("Content-Type").rfind("application/json", 0), 0u);
  EXPECT_EQ(result.body, R"({"keys":[]})");
}

TEST_F(SignedTokensTest, MetadataNamesJwksUri) {
  const HttpResult result = httpRequest(port(), "GET", "/.well-known/oauth-authorization-server");
  ASSERT_EQ(result.status, 200u);
  EXPECT_EQ(stringField(jsonObject(result), "jwks_uri"), "https://auth.example.com/oauth/jwks");
}

TEST_F(SignedTokensTest, OpenIdConfigurationHasDiscoveryMembers) {
  const HttpResult result = httpRequest(port(), "GET", "/.well-known/openid-configuration");
  ASSERT_EQ(result.status, 200u) << result.body;
  const boost::json::object body = jsonObject(result);
  EXPECT_EQ(stringField(body, "issuer"), "https://auth.example.com");
  EXPECT_EQ(stringField(body, "jwks_uri"), "https://auth.example.com/oauth/jwks");
  EXPECT_EQ(stringField(body, "token_endpoint"), "https://auth.example.com/oauth/device/token");
  EXPECT_EQ(stringField(body, "device_authorization_endpoint"),
            "https://auth.example.com/oauth/device/begin");
  EXPECT_EQ(body.at("subject_types_supported"), boost::json::array{"public"});
  EXPECT_EQ(body.at("id_token_signing_alg_values_supported"), boost::json::array{"ES256"});
  EXPECT_EQ(body.at("scopes_supported"), (boost::json::array{"openid", "read", "write"}));
  EXPECT_EQ(body.at("claims_supported"),
            (boost::json::array{"iss", "sub", "aud", "exp", "iat", "auth_time"}));
  EXPECT_EQ(body.at("grant_types_supported"),
            (boost::json::array{"urn:ietf:params:oauth:grant-type:device_code", "refresh_token"}));
  // No authorization endpoint, so no response types (OpenID Connect Discovery §4.2).
  EXPECT_FALSE(body.contains("authorization_endpoint"));
  EXPECT_FALSE(body.contains("response_types_supported"));
}

TEST_F(SignedTokensTest, JwtAccessTokenHasRfc9068HeaderAndClaims) {
  const TimePoint now = server().clock().now();
  const boost::json::object response = issueTokens("jwt1");
  const std::string token = stringField(response, "access_token");
  EXPECT_EQ(stringField(response, "token_type"), "Bearer");
  EXPECT_EQ(response.at("expires_in").as_int64(), 900);
  EXPECT_FALSE(response.contains("id_token"));

  const jose::VerifiedJws verified = verifiedWithJwks(token);
  EXPECT_EQ(stringField(verified.header, "typ"), "at+jwt");
  EXPECT_EQ(stringField(verified.header, "alg"), "ES256");
  EXPECT_EQ(verified.header.size(), 3u);
  const boost::json::object& claims = verified.claims;
  EXPECT_EQ(stringField(claims, "iss"), "https://auth.example.com");
  EXPECT_EQ(stringField(claims, "sub"), "sub-alice");
  EXPECT_EQ(stringField(claims, "aud"), "https://auth.example.com");
  EXPECT_EQ(stringField(claims, "client_id"), "jwt1");
  EXPECT_EQ(stringField(claims, "scope"), "read");
  EXPECT_EQ(claims.at("iat").as_int64(), unixSeconds(now));
  EXPECT_EQ(claims.at("exp").as_int64(), unixSeconds(now) + 900);
  EXPECT_EQ(claims.at("auth_time").as_int64(), unixSeconds(now));
  EXPECT_EQ(stringField(claims, "jti").size(), 43u);
  EXPECT_EQ(claims.size(), 9u);

  // Only the hash is stored, so revocation and introspection find a JWT like an opaque token.
  auto stored_token = server().store().findToken(hashSecret(token));
  ASSERT_TRUE(stored_token.hasValue());
  ASSERT_TRUE(stored_token->has_value());
  EXPECT_EQ((*stored_token)->client_id, "jwt1");
  EXPECT_EQ(databaseBytes().find(token), std::string::npos);
}

TEST_F(SignedTokensTest, EachJwtHasItsOwnJti) {
  const std::string first = stringField(issueTokens("jwt1"), "access_token");
  const std::string second = stringField(issueTokens("jwt1"), "access_token");
  EXPECT_NE(stringField(verifiedWithJwks(first).claims, "jti"),
            stringField(verifiedWithJwks(second).claims, "jti"));
}

TEST_F(SignedTokensTest, ConfiguredAudienceIsUsed) {
  // A second server with the audience set; the fixture's server keeps the default.
  TestServer other([](Config& config) { config.access_token_audience = "https://api.example"; });
  Client client = makePublicClient("jwt2", {"read"});
  client.access_token_format = AccessTokenFormat::Jwt;
  ASSERT_TRUE(other.store().insertClient(client).hasValue());
  const HttpResult begun = postForm(other.port(), kBeginPath, {{"client_id", "jwt2"}});
  const std::string device_code = stringField(jsonObject(begun), "device_code");
  auto found = other.store().findByDeviceCode(deviceCodeKey(device_code));
  ASSERT_TRUE(found.hasValue() && found->has_value());
  ASSERT_TRUE(*other.store().approve((*found)->id, "sub-bob", std::nullopt, other.clock().now()));
  const HttpResult result = postForm(
      other.port(), kTokenPath,
      {{"grant_type", kDeviceCodeUrn}, {"device_code", device_code}, {"client_id", "jwt2"}});
  ASSERT_EQ(result.status, 200u) << result.body;
  const std::string token = stringField(jsonObject(result), "access_token");
  const std::string payload = *jose::base64UrlDecode(
      token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1));
  EXPECT_EQ(stringField(boost::json::parse(payload).as_object(), "aud"), "https://api.example");
}

TEST_F(SignedTokensTest, OpaqueClientKeepsOpaqueTokens) {
  const std::string token = stringField(issueTokens("pub1"), "access_token");
  EXPECT_EQ(token.size(), 43u);
  EXPECT_EQ(token.find('.'), std::string::npos);
  EXPECT_EQ(jwks().size(), 0u);
}

TEST_F(SignedTokensTest, OpenIdScopeAddsIdToken) {
  const TimePoint approved_at = server().clock().now();
  const Fields fields{{"client_id", "oidc1"}, {"scope", "openid read"}};
  const std::string device_code = stringField(jsonObject(begin(fields)), "device_code");
  approveInStore(device_code);
  server().clock().advance(seconds(20));
  const TimePoint redeemed_at = server().clock().now();
  const HttpResult result = poll(device_code, "oidc1");
  ASSERT_EQ(result.status, 200u) << result.body;
  const boost::json::object response = jsonObject(result);
  EXPECT_EQ(stringField(response, "scope"), "openid read");
  // The client's access tokens stay opaque; the ID token is a JWT all the same.
  EXPECT_EQ(stringField(response, "access_token").find('.'), std::string::npos);

  const jose::VerifiedJws id_token = verifiedWithJwks(stringField(response, "id_token"));
  EXPECT_EQ(stringField(id_token.header, "typ"), "JWT");
  const boost::json::object& claims = id_token.claims;
  EXPECT_EQ(stringField(claims, "iss"), "https://auth.example.com");
  EXPECT_EQ(stringField(claims, "sub"), "sub-alice");
  EXPECT_EQ(stringField(claims, "aud"), "oidc1");
  EXPECT_EQ(claims.at("iat").as_int64(), unixSeconds(redeemed_at));
  EXPECT_EQ(claims.at("exp").as_int64(), unixSeconds(redeemed_at) + 3600);
  EXPECT_EQ(claims.at("auth_time").as_int64(), unixSeconds(approved_at));
  EXPECT_EQ(claims.size(), 6u);
}

TEST_F(SignedTokensTest, WithoutOpenIdScopeThereIsNoIdToken) {
  EXPECT_FALSE(issueTokens("oidc1", "read").contains("id_token"));
}

TEST_F(SignedTokensTest, RotationKeepsPreviousKeyForOverlap) {
  const std::string first = stringField(issueTokens("jwt1"), "access_token");
  const std::string first_kid = stringField(*jose::decodeHeader(first), "kid");

  // Past the rotation age the next token is signed with a new key; both are published.
  server().clock().advance(kRotationAge + seconds(1));
  const std::string second = stringField(issueTokens("jwt1"), "access_token");
  const std::string second_kid = stringField(*jose::decodeHeader(second), "kid");
  EXPECT_NE(first_kid, second_kid);
  EXPECT_EQ(kidsOf(jwks()), (std::set<std::string>{first_kid, second_kid}));
  EXPECT_EQ(stringField(verifiedWithJwks(first).claims, "client_id"), "jwt1");
  EXPECT_EQ(stringField(verifiedWithJwks(second).claims, "client_id"), "jwt1");

  // Within the overlap the old key stays; once it ends only the new key is published.
  server().clock().advance(kOverlap - seconds(2));
  EXPECT_EQ(jwks().size(), 2u);
  server().clock().advance(seconds(2));
  EXPECT_EQ(kidsOf(jwks()), std::set<std::string>{second_kid});
}

TEST_F(SignedTokensTest, PrivateKeysAreStoredEncrypted) {
  issueTokens("jwt1");
  auto keys = server().store().listSigningKeys();
  ASSERT_TRUE(keys.hasValue());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ(databaseBytes().find("PRIVATE KEY"), std::string::npos);
  const auto kek = server().directory() / "devauth.db.kek";
  struct stat status {};
  ASSERT_EQ(::stat(kek.c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 0777, 0600u);
}

class EdDsaSignedTokensTest : public SignedTokensTest {
 protected:
  void adjustConfig(Config& config) override {
    SignedTokensTest::adjustConfig(config);
    config.signing.algorithm = jose::SigningAlgorithm::EdDsa;
  }
};

TEST_F(EdDsaSignedTokensTest, TokensAreSignedWithEd25519) {
  const jose::VerifiedJws verified =
      verifiedWithJwks(stringField(issueTokens("jwt1"), "access_token"));
  EXPECT_EQ(stringField(verified.header, "alg"), "EdDSA");
  const boost::json::object jwk = jwks().at(0).as_object();
  EXPECT_EQ(stringField(jwk, "kty"), "OKP");
  EXPECT_EQ(stringField(jwk, "crv"), "Ed25519");
  EXPECT_EQ(stringField(jwk, "alg"), "EdDSA");
  EXPECT_EQ(stringField(jwk, "use"), "sig");
}

class UnreadableKekTest : public SignedTokensTest {
 protected:
  void adjustConfig(Config& config) override {
    SignedTokensTest::adjustConfig(config);
    kek_file_ = std::filesystem::temp_directory_path() /
                ("devauth-kek-" + std::to_string(::getpid()) + ".kek");
    std::ofstream(kek_file_) << "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
    std::filesystem::permissions(kek_file_, std::filesystem::perms(0644));
    config.signing.key_encryption_key_file = kek_file_.string();
  }
  void TearDown() override { std::filesystem::remove(kek_file_); }

  std::filesystem::path kek_file_;
};

TEST_F(UnreadableKekTest, SigningFailureKeepsTheCodeRedeemable) {
  // A key file readable by others is refused: server_error, and the code is not used up.
  const std::string device_code =
      stringField(jsonObject(begin({{"client_id", "jwt1"}})), "device_code");
  approveInStore(device_code);
  expectOAuthError(poll(device_code, "jwt1"), 500, "server_error");
  EXPECT_EQ(stored(device_code).state, AuthorizationState::Approved);

  std::filesystem::permissions(kek_file_, std::filesystem::perms(0600));
  const HttpResult result = poll(device_code, "jwt1");
  EXPECT_EQ(result.status, 200u) << result.body;
}

}  // namespace
}  // namespace devauth::testing
