#include "core/user_code_profile.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/markup.h"
#include "core/user_code.h"
#include "support/fixed_random.h"

namespace devauth {
namespace {

TEST(UserCodeProfileTest, ParsesAndPrintsProfiles) {
  for (const char* text : {"letters:8:4", "letters:6:2", "letters:12:12", "digits:9:3",
                           "digits:9:3:damm", "digits:15:5:damm", "digits:6:6"}) {
    const auto profile = parseUserCodeProfile(text);
    ASSERT_TRUE(profile.hasValue()) << text << ": " << profile.error();
    EXPECT_EQ(toString(*profile), text);
  }
  const auto digits = parseUserCodeProfile("digits:9:3:damm");
  ASSERT_TRUE(digits.hasValue());
  EXPECT_EQ(digits->charset, UserCodeCharset::Digits);
  EXPECT_EQ(digits->length, 9U);
  EXPECT_EQ(digits->group, 3U);
  EXPECT_EQ(digits->check_digit, CheckDigit::Damm);
  EXPECT_EQ(UserCodeProfile{}, *parseUserCodeProfile("letters:8:4"));
}

TEST(UserCodeProfileTest, RejectsBadProfilesWithExactErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "invalid user code profile '': use letters:LENGTH:GROUP or digits:LENGTH:GROUP[:damm]"},
      {"letters:8",
       "invalid user code profile 'letters:8': use letters:LENGTH:GROUP or "
       "digits:LENGTH:GROUP[:damm]"},
      {"digits:9:3:damm:x",
       "invalid user code profile 'digits:9:3:damm:x': use letters:LENGTH:GROUP or "
       "digits:LENGTH:GROUP[:damm]"},
      {"hex:8:4",
       "invalid user code profile 'hex:8:4': unknown character set 'hex'; use "
       "letters:LENGTH:GROUP or digits:LENGTH:GROUP[:damm]"},
      {"letters:eight:4",
       "invalid user code profile 'letters:eight:4': the length 'eight' is not a number"},
      {"letters:+8:4", "invalid user code profile 'letters:+8:4': the length '+8' is not a number"},
      {"letters:8:", "invalid user code profile 'letters:8:': the group size '' is not a number"},
      {"letters:5:5",
       "invalid user code profile 'letters:5:5': the length must be 6 to 12 for letters codes"},
      {"letters:13:4",
       "invalid user code profile 'letters:13:4': the length must be 6 to 12 for letters codes"},
      {"digits:16:4",
       "invalid user code profile 'digits:16:4': the length must be 6 to 15 for digits codes"},
      {"digits:9:1",
       "invalid user code profile 'digits:9:1': the group size must be 2 to the length 9"},
      {"digits:9:10",
       "invalid user code profile 'digits:9:10': the group size must be 2 to the length 9"},
      {"digits:9:3:luhn",
       "invalid user code profile 'digits:9:3:luhn': unknown check digit 'luhn'; the only one is "
       "damm"},
      {"letters:8:4:damm",
       "invalid user code profile 'letters:8:4:damm': only digits codes can have a check digit"},
  };
  for (const auto& [text, message] : cases) {
    const auto profile = parseUserCodeProfile(text);
    ASSERT_FALSE(profile.hasValue()) << text;
    EXPECT_EQ(profile.error(), message);
  }
}

// 572 has check digit 4 and 5724 is valid: the published example of the Damm page of
// programmingalgorithms.com, which uses the same table. The other vectors were computed from
// that table by a separate script.
TEST(UserCodeProfileTest, DammMatchesPublishedVectors) {
  EXPECT_EQ(dammCheckDigit("572"), '4');
  EXPECT_EQ(dammCheckDigit("11294"), '6');
  EXPECT_TRUE(passesDammCheck("5724"));
  EXPECT_TRUE(passesDammCheck("112946"));
  EXPECT_FALSE(passesDammCheck("5727"));
  EXPECT_FALSE(passesDammCheck("112949"));
}

TEST(UserCodeProfileTest, DammCatchesEverySingleErrorAndAdjacentSwap) {
  for (std::string code : {"12345678", "00000000", "90817263", "55555555"}) {
    code.push_back(dammCheckDigit(code));
    ASSERT_TRUE(passesDammCheck(code)) << code;
    for (std::size_t i = 0; i < code.size(); ++i) {
      for (char digit = '0'; digit <= '9'; ++digit) {
        if (digit == code[i]) {
          continue;
        }
        std::string mistyped = code;
        mistyped[i] = digit;
        EXPECT_FALSE(passesDammCheck(mistyped)) << mistyped;
      }
      if (i + 1 < code.size() && code[i] != code[i + 1]) {
        std::string swapped = code;
        std::swap(swapped[i], swapped[i + 1]);
        EXPECT_FALSE(passesDammCheck(swapped)) << swapped;
      }
    }
  }
}

TEST(UserCodeProfileTest, GeneratesDigitsWithCheckDigit) {
  testing::FixedRandom random({1, 2, 3, 4, 5, 6, 7, 8});
  const auto profile = *parseUserCodeProfile("digits:9:3:damm");
  EXPECT_EQ(generateUserCode(random, profile), "123456786");
  for (int i = 0; i < 200; ++i) {
    const std::string code = generateUserCode(random, profile);
    ASSERT_EQ(code.size(), 9U);
    EXPECT_TRUE(passesDammCheck(code)) << code;
    EXPECT_EQ(code.find_first_not_of("0123456789"), std::string::npos) << code;
  }
}

// Bytes 250 to 255 would favour 0 to 5, so they are drawn again.
TEST(UserCodeProfileTest, DigitsRejectBiasedBytes) {
  testing::FixedRandom random({250, 255, 9, 251, 10, 19, 0, 99, 100, 249});
  EXPECT_EQ(generateUserCode(random, *parseUserCodeProfile("digits:7:7")), "9090909");
}

TEST(UserCodeProfileTest, GeneratesLettersOfTheProfileLength) {
  testing::FixedRandom random;
  const std::string code = generateUserCode(random, *parseUserCodeProfile("letters:10:5"));
  ASSERT_EQ(code.size(), 10U);
  EXPECT_EQ(code.find_first_not_of(kUserCodeAlphabet), std::string::npos) << code;
}

TEST(UserCodeProfileTest, FormatsGroupsOfTheProfile) {
  EXPECT_EQ(formatUserCode("123456789", *parseUserCodeProfile("digits:9:3")), "123-456-789");
  EXPECT_EQ(formatUserCode("1234567890", *parseUserCodeProfile("digits:10:4")), "1234-5678-90");
  EXPECT_EQ(formatUserCode("BCDFGHJK", UserCodeProfile{}), "BCDF-GHJK");
  EXPECT_EQ(formatUserCode("BCDFGH", *parseUserCodeProfile("letters:6:6")), "BCDFGH");
}

TEST(UserCodeProfileTest, CodeSpaceLeavesOutTheCheckDigit) {
  EXPECT_DOUBLE_EQ(codeSpace(UserCodeProfile{}), 25'600'000'000.0);
  EXPECT_DOUBLE_EQ(codeSpace(*parseUserCodeProfile("digits:9:3")), 1e9);
  EXPECT_DOUBLE_EQ(codeSpace(*parseUserCodeProfile("digits:9:3:damm")), 1e8);
}

TEST(UserCodeProfileTest, SpeaksLettersInTheSpellingAlphabet) {
  EXPECT_EQ(spokenUserCode("BCDF-GHJK"), "Bravo Charlie Delta Foxtrot, Golf Hotel Juliett Kilo");
  EXPECT_EQ(spokenUserCode("XWZV-LMNP"), "X-ray Whiskey Zulu Victor, Lima Mike November Papa");
}

TEST(UserCodeProfileTest, SpeaksDigitsOneByOne) {
  EXPECT_EQ(spokenUserCode("123-456-780"), "one two three, four five six, seven eight zero");
}

TEST(UserCodeProfileTest, WritesSsmlForBothProfiles) {
  EXPECT_EQ(ssmlUserCode("BCDF-GHJK"),
            "<speak>Bravo Charlie Delta Foxtrot<break time=\"500ms\"/>Golf Hotel Juliett "
            "Kilo</speak>");
  EXPECT_EQ(ssmlUserCode("123-456-780"),
            "<speak><say-as interpret-as=\"characters\">123</say-as><break time=\"500ms\"/>"
            "<say-as interpret-as=\"characters\">456</say-as><break time=\"500ms\"/>"
            "<say-as interpret-as=\"characters\">780</say-as></speak>");
}

TEST(UserCodeProfileTest, SsmlEscapesMarkup) {
  EXPECT_EQ(escapeMarkup("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(ssmlUserCode("<&>"), "<speak>&lt; &amp; &gt;</speak>");
}

TEST(UserCodeProfileTest, NormalizeAcceptsDigitsOfAnyProfile) {
  EXPECT_EQ(normalizeUserCode("123-456-789"), "123456789");
  EXPECT_EQ(normalizeUserCode(" 123 456 789 012 345"), "123456789012345");
  EXPECT_EQ(normalizeUserCode("bcdf-gh"), "BCDFGH");
  EXPECT_FALSE(normalizeUserCode("12345").has_value());
  EXPECT_FALSE(normalizeUserCode("1234567890123456").has_value());
  EXPECT_FALSE(normalizeUserCode("1234-BCDF").has_value());
}

}  // namespace
}  // namespace devauth
