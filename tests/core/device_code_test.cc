#include "core/device_code.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>

#include "support/fixed_random.h"

namespace devauth {
namespace {

TimePoint at(long long millis) { return fromUnixMillis(millis); }

TEST(DeviceCodeTest, CodeIs54Base64UrlCharacters) {
  CsprngRandom random;
  const std::string code = generateDeviceCode(random, at(1'765'000'000'000));
  EXPECT_EQ(code.size(), kDeviceCodeLength);
  EXPECT_TRUE(std::regex_match(code, std::regex("^[A-Za-z0-9_-]{54}$"))) << code;
}

TEST(DeviceCodeTest, CodesOfOneMillisecondAreDistinct) {
  CsprngRandom random;
  std::set<std::string> codes;
  for (int i = 0; i < 1000; ++i) {
    codes.insert(generateDeviceCode(random, at(1'765'000'000'000)));
  }
  EXPECT_EQ(codes.size(), 1000u);
}

TEST(DeviceCodeTest, KeyIsOrderBytesThenTruncatedSha256) {
  testing::FixedRandom random({0xab, 0xcd});
  const std::string code = generateDeviceCode(random, at(0x0102'0304'0506));
  const SecretHash key = deviceCodeKey(code);
  const SecretHash digest = hashSecret(code);

  const std::array<std::uint8_t, kDeviceCodeOrderBytes> order{0x01, 0x02, 0x03, 0x04,
                                                              0x05, 0x06, 0xab, 0xcd};
  EXPECT_TRUE(std::equal(order.begin(), order.end(), key.begin()));
  EXPECT_TRUE(std::equal(key.begin() + kDeviceCodeOrderBytes, key.end(), digest.begin()));
}

TEST(DeviceCodeTest, KeysOfLaterCodesSortAfterEarlierOnes) {
  CsprngRandom random;
  SecretHash previous{};
  for (long long millis = 1'765'000'000'000; millis < 1'765'000'000'000 + 500; ++millis) {
    const SecretHash key = deviceCodeKey(generateDeviceCode(random, at(millis)));
    EXPECT_LT(previous, key) << millis;
    previous = key;
  }
}

TEST(DeviceCodeTest, KeyDependsOnEveryRandomCharacter) {
  CsprngRandom random;
  const std::string code = generateDeviceCode(random, at(1'765'000'000'000));
  const SecretHash key = deviceCodeKey(code);
  // The 11th character contains the last bits of the order bytes and the first of the random ones.
  for (std::size_t i = 10; i < code.size() - 1; ++i) {
    std::string changed = code;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    EXPECT_NE(deviceCodeKey(changed), key) << i;
  }
}

TEST(DeviceCodeTest, OtherStringsKeyAsTheirSha256) {
  // An earlier version's 43-character code, a code one character short or long, and one with
  // a character outside base64url among the characters of its order bytes.
  CsprngRandom random;
  const std::string code = generateDeviceCode(random, at(1'765'000'000'000));
  std::string bad_character = code;
  bad_character[5] = '.';
  for (const std::string& other :
       {generateSecret(random), code.substr(1), code + "A", bad_character, std::string()}) {
    EXPECT_EQ(deviceCodeKey(other), hashSecret(other)) << other;
  }
}

TEST(DeviceCodeTest, ChangedCodeKeepsOrderBytesOnly) {
  CsprngRandom random;
  const std::string code = generateDeviceCode(random, at(1'765'000'000'000));
  std::string changed = code;
  changed[30] = changed[30] == '.' ? '-' : '.';
  const SecretHash key = deviceCodeKey(code);
  const SecretHash changed_key = deviceCodeKey(changed);
  EXPECT_TRUE(std::equal(key.begin(), key.begin() + kDeviceCodeOrderBytes, changed_key.begin()));
  EXPECT_NE(changed_key, key);
}

}  // namespace
}  // namespace devauth
