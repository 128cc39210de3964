// JWS signing and verification with both algorithms: round trips, the raw r || s form of
// ES256 signatures, JWK import and export, thumbprints, and rejection of tampered tokens.

#include "jose/jws.h"

#include <gtest/gtest.h>

#include <string>

#include "core/secret.h"

namespace devauth::jose {
namespace {

const boost::json::object kClaims{
    {"iss", "https://issuer.example"}, {"sub", "sub-alice"}, {"exp", 1800000600}};

Key generated(SigningAlgorithm algorithm) {
  auto key = Key::generate(algorithm);
  EXPECT_TRUE(key.hasValue()) << key.error();
  return std::move(key).value();
}

std::string signed_(const Key& key, const boost::json::object& claims = kClaims) {
  auto token = sign(key, "kid-1", "at+jwt", claims);
  EXPECT_TRUE(token.hasValue()) << token.error();
  return token.hasValue() ? *token : std::string();
}

// The three dot-separated parts of a compact JWS.
std::vector<std::string> parts(const std::string& compact) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = compact.find('.', start);
    out.push_back(compact.substr(start, dot - start));
    if (dot == std::string::npos) {
      return out;
    }
    start = dot + 1;
  }
}

class JwsTest : public ::testing::TestWithParam<SigningAlgorithm> {};

TEST_P(JwsTest, SignedTokenVerifiesWithPublicJwk) {
  const Key key = generated(GetParam());
  const std::string token = signed_(key);

  auto public_key = Key::fromPublicJwk(key.publicJwk());
  ASSERT_TRUE(public_key.hasValue()) << public_key.error();
  EXPECT_FALSE(public_key->hasPrivateKey());
  auto verified = verify(token, *public_key);
  ASSERT_TRUE(verified.hasValue()) << verified.error();
  EXPECT_EQ(verified->claims, kClaims);
  EXPECT_EQ(verified->header.at("alg").as_string(), toString(GetParam()));
  EXPECT_EQ(verified->header.at("typ").as_string(), "at+jwt");
  EXPECT_EQ(verified->header.at("kid").as_string(), "kid-1");
}

TEST_P(JwsTest, SignatureIsRawSixtyFourBytes) {
  // RFC 7518 §3.4: ES256 is r || s, 32 bytes each, not DER; Ed25519 signatures are 64 bytes.
  const std::string token = signed_(generated(GetParam()));
  const auto signature = base64UrlDecode(parts(token).at(2));
  ASSERT_TRUE(signature.has_value());
  EXPECT_EQ(signature->size(), 64u);
}

TEST_P(JwsTest, FlippedSignatureBitIsRejected) {
  const Key key = generated(GetParam());
  const std::string token = signed_(key);
  auto segments = parts(token);
  auto signature = *base64UrlDecode(segments[2]);
  signature[10] = static_cast<char>(signature[10] ^ 0x01);
  const std::string tampered = segments[0] + "." + segments[1] + "." + base64UrlEncode(signature);

  auto verified = verify(tampered, key);
  ASSERT_FALSE(verified.hasValue());
  EXPECT_EQ(verified.error(), "the signature does not verify");
}

TEST_P(JwsTest, ChangedPayloadIsRejected) {
  const Key key = generated(GetParam());
  auto segments = parts(signed_(key));
  boost::json::object claims = kClaims;
  claims["sub"] = "sub-mallory";
  const std::string tampered =
      segments[0] + "." + base64UrlEncode(boost::json::serialize(claims)) + "." + segments[2];
  EXPECT_FALSE(verify(tampered, key).hasValue());
}

TEST_P(JwsTest, OtherKeyIsRejected) {
  const std::string token = signed_(generated(GetParam()));
  EXPECT_FALSE(verify(token, generated(GetParam())).hasValue());
}

TEST_P(JwsTest, AlgNoneIsRejected) {
  const Key key = generated(GetParam());
  auto segments = parts(signed_(key));
  const std::string header = base64UrlEncode(R"({"alg":"none","typ":"at+jwt"})");
  auto verified = verify(header + "." + segments[1] + ".", key);
  ASSERT_FALSE(verified.hasValue());
  EXPECT_EQ(verified.error(), "the header's alg is not " + std::string(toString(GetParam())));
}

TEST_P(JwsTest, PrivatePemRoundTrips) {
  const Key key = generated(GetParam());
  const std::string pem = key.privatePem();
  EXPECT_EQ(pem.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  auto read = Key::fromPrivatePem(pem, GetParam());
  ASSERT_TRUE(read.hasValue()) << read.error();
  EXPECT_EQ(read->thumbprint(), key.thumbprint());
  EXPECT_TRUE(verify(signed_(*read), key).hasValue());
}

TEST_P(JwsTest, MalformedCompactFormsAreRejected) {
  const Key key = generated(GetParam());
  const std::string token = signed_(key);
  for (const std::string& bad : {std::string(), std::string("a.b"), token + ".extra",
                                 std::string("!!.e30.AA"), "e30." + parts(token)[1] + ".AA"}) {
    EXPECT_FALSE(verify(bad, key).hasValue()) << bad;
  }
}

INSTANTIATE_TEST_SUITE_P(Algorithms, JwsTest,
                         ::testing::Values(SigningAlgorithm::Es256, SigningAlgorithm::EdDsa),
                         [](const auto& info) { return std::string(toString(info.param)); });

TEST(JwkTest, EcKeyHasP256Members) {
  const boost::json::object jwk = generated(SigningAlgorithm::Es256).publicJwk();
  EXPECT_EQ(jwk.at("kty").as_string(), "EC");
  EXPECT_EQ(jwk.at("crv").as_string(), "P-256");
  EXPECT_EQ(base64UrlDecode(jwk.at("x").as_string())->size(), 32u);
  EXPECT_EQ(base64UrlDecode(jwk.at("y").as_string())->size(), 32u);
  EXPECT_EQ(jwk.size(), 4u);
}

TEST(JwkTest, Ed25519KeyHasOkpMembers) {
  const boost::json::object jwk = generated(SigningAlgorithm::EdDsa).publicJwk();
  EXPECT_EQ(jwk.at("kty").as_string(), "OKP");
  EXPECT_EQ(jwk.at("crv").as_string(), "Ed25519");
  EXPECT_EQ(base64UrlDecode(jwk.at("x").as_string())->size(), 32u);
  EXPECT_EQ(jwk.size(), 3u);
}

TEST(JwkTest, ThumbprintMatchesRfc7638Example) {
  // RFC 8037 Appendix A.3: the thumbprint of its example Ed25519 key.
  auto key = Key::fromPublicJwk(
      {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}});
  ASSERT_TRUE(key.hasValue()) << key.error();
  EXPECT_EQ(key->thumbprint(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
}

TEST(JwkTest, PointOffTheCurveIsRejected) {
  const std::string zeros = base64UrlEncode(std::string(32, '\0'));
  EXPECT_FALSE(
      Key::fromPublicJwk({{"kty", "EC"}, {"crv", "P-256"}, {"x", zeros}, {"y", zeros}}).hasValue());
}

TEST(JwkTest, UnknownKeyTypeIsRejected) {
  auto key = Key::fromPublicJwk({{"kty", "RSA"}, {"n", "AQAB"}, {"e", "AQAB"}});
  ASSERT_FALSE(key.hasValue());
  EXPECT_EQ(key.error(), "unsupported JWK: kty RSA, crv ");
}

TEST(SigningAlgorithmTest, NamesAreCaseSensitive) {
  EXPECT_EQ(parseSigningAlgorithm("ES256"), SigningAlgorithm::Es256);
  EXPECT_EQ(parseSigningAlgorithm("EdDSA"), SigningAlgorithm::EdDsa);
  EXPECT_EQ(parseSigningAlgorithm("es256"), std::nullopt);
  EXPECT_EQ(parseSigningAlgorithm("none"), std::nullopt);
}

}  // namespace
}  // namespace devauth::jose
