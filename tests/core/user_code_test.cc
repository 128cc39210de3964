#include "core/user_code.h"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <regex>
#include <set>

#include "core/random.h"
#include "support/fixed_random.h"

namespace devauth {
namespace {

TEST(UserCodeTest, GeneratedCodesUseAlphabetAndLength) {
  CsprngRandom random;
  const std::regex pattern("^[BCDFGHJKLMNPQRSTVWXZ]{8}$");
  for (int i = 0; i < 1000; ++i) {
    const std::string code = generateUserCode(random);
    EXPECT_TRUE(std::regex_match(code, pattern)) << code;
  }
}

TEST(UserCodeTest, ThousandCodesAreDistinct) {
  CsprngRandom random;
  std::set<std::string> codes;
  for (int i = 0; i < 1000; ++i) {
    codes.insert(generateUserCode(random));
  }
  // 1000 draws from 20^8 codes collide with probability about 2e-5.
  EXPECT_EQ(codes.size(), 1000u);
}

TEST(UserCodeTest, RejectionSamplingSkipsHighBytes) {
  // Bytes 240..255 would bias the first 16 characters under a plain modulo, so they are skipped.
  testing::FixedRandom random({240, 255, 0, 250, 1, 2, 3, 4, 5, 6, 19});
  EXPECT_EQ(generateUserCode(random), "BCDFGHJZ");
}

TEST(UserCodeTest, CharactersAreRoughlyUniform) {
  CsprngRandom random;
  std::map<char, int> counts;
  constexpr int kCodes = 20000;
  for (int i = 0; i < kCodes; ++i) {
    for (char c : generateUserCode(random)) {
      ++counts[c];
    }
  }
  ASSERT_EQ(counts.size(), kUserCodeAlphabet.size());
  // Expected 8000 per character; the bound is more than 10 standard deviations (about 87).
  for (const auto& [character, count] : counts) {
    EXPECT_GT(count, 7000) << character;
    EXPECT_LT(count, 9000) << character;
  }
}

TEST(UserCodeTest, FormatInsertsDash) { EXPECT_EQ(formatUserCode("WDJBMJHT"), "WDJB-MJHT"); }

TEST(UserCodeTest, NormalizeAcceptsCaseDashesAndSpaces) {
  for (const char* input : {"WDJB-MJHT", "wdjb-mjht", "WDJBMJHT", " wdjb mjht ", "wdjb  -  MJHT",
                            "W-D-J-B-M-J-H-T", "wdjb.mjht", "wdjb_mjht\t"}) {
    const auto normalized = normalizeUserCode(input);
    ASSERT_TRUE(normalized.has_value()) << input;
    EXPECT_EQ(*normalized, "WDJBMJHT") << input;
  }
}

TEST(UserCodeTest, NormalizeRejectsWrongLengthAndForeignCharacters) {
  for (const char* input : {"", "WDJB-M", "WDJB-MJHT-XWDJB", "WDJB-MJHA", "WDJB-MJH0", "WDJB/MJHT",
                            "WDJB-MJHT\xc3\xa9", "<script>", "WDJB-MJH\x01T"}) {
    EXPECT_FALSE(normalizeUserCode(input).has_value()) << input;
  }
}

TEST(UserCodeTest, NormalizeRejectsOverlongInput) {
  const std::string input(65, '-');
  EXPECT_FALSE(normalizeUserCode(input + "WDJBMJHT").has_value());
}

}  // namespace
}  // namespace devauth
