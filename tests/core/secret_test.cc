#include "core/secret.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace devauth {
namespace {

TEST(SecretTest, GeneratedSecretIs256BitBase64Url) {
  CsprngRandom random;
  const std::string secret = generateSecret(random);
  EXPECT_EQ(secret.size(), 43u);
  EXPECT_TRUE(std::regex_match(secret, std::regex("^[A-Za-z0-9_-]{43}$"))) << secret;
}

TEST(SecretTest, GeneratedSecretsAreDistinct) {
  CsprngRandom random;
  std::set<std::string> secrets;
  for (int i = 0; i < 1000; ++i) {
    secrets.insert(generateSecret(random));
  }
  EXPECT_EQ(secrets.size(), 1000u);
}

TEST(SecretTest, HashIsSha256) {
  // SHA-256("abc") from FIPS 180-2, appendix B.1.
  EXPECT_EQ(toHex(hashSecret("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(SecretTest, HexRoundTrips) {
  const SecretHash hash = hashSecret("device code");
  const auto parsed = fromHex(toHex(hash));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(constantTimeEquals(*parsed, hash));
  EXPECT_FALSE(fromHex("zz").has_value());
  EXPECT_FALSE(fromHex(std::string(64, 'g')).has_value());
}

TEST(SecretTest, ConstantTimeEqualsDetectsOneBit) {
  SecretHash a = hashSecret("x");
  SecretHash b = a;
  EXPECT_TRUE(constantTimeEquals(a, b));
  b[31] ^= 1;
  EXPECT_FALSE(constantTimeEquals(a, b));
}

TEST(SecretTest, Base64UrlHasNoPadding) {
  EXPECT_EQ(base64UrlEncode(std::string("\xfb\xff", 2)), "-_8");
  EXPECT_EQ(base64UrlEncode(""), "");
}

TEST(SecretTest, PasswordHashVerifies) {
  const std::string hash = hashPassword("correct horse");
  ASSERT_FALSE(hash.empty());
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u) << hash;
  EXPECT_TRUE(verifyPassword("correct horse", hash));
  EXPECT_FALSE(verifyPassword("correct horsf", hash));
  EXPECT_FALSE(verifyPassword("correct horse", ""));
}

TEST(SecretTest, RelayTokenOpensOnlyWithDeviceCode) {
  const RelayPublicKey key = relayPublicKeyFor("device-code-1");
  const std::string sealed = sealRelayToken(key, "bank-issued-token");
  EXPECT_EQ(sealed.find("bank-issued-token"), std::string::npos);

  const auto opened = openRelayToken("device-code-1", sealed);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, "bank-issued-token");

  EXPECT_FALSE(openRelayToken("device-code-2", sealed).has_value());
  EXPECT_FALSE(openRelayToken("device-code-1", sealed.substr(0, 10)).has_value());
}

TEST(SecretTest, RelayKeyDiffersFromDeviceCodeHash) {
  const RelayPublicKey key = relayPublicKeyFor("device-code-1");
  const SecretHash hash = hashSecret("device-code-1");
  EXPECT_NE(std::vector<std::uint8_t>(key.begin(), key.end()),
            std::vector<std::uint8_t>(hash.begin(), hash.end()));
}

}  // namespace
}  // namespace devauth
