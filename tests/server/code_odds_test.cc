// The guessing odds of user code profiles under the configured limits (RFC 8628 §5.1).

#include "server/code_odds.h"

#include <gtest/gtest.h>

namespace devauth {
namespace {

ClientCodeSettings withProfile(const char* text) {
  ClientCodeSettings settings;
  settings.user_code_profile = *parseUserCodeProfile(text);
  return settings;
}

// Defaults: 20 wrong codes per address per minute over a 600-second lifetime (11 windows), and
// 10,000 live codes.
TEST(CodeOddsTest, DefaultProfileUnderDefaultLimits) {
  const auto odds = guessingOdds(ClientCodeSettings{}, Config{});
  ASSERT_TRUE(odds.has_value());
  EXPECT_EQ(odds->guesses, 220);
  EXPECT_EQ(odds->live_codes, 10'000);
  EXPECT_DOUBLE_EQ(odds->code_space, 2.56e10);
  EXPECT_DOUBLE_EQ(odds->probability, 220.0 * 10'000 / 2.56e10);
  EXPECT_TRUE(checkGuessingOdds("tv", ClientCodeSettings{}, Config{}).hasValue());
}

TEST(CodeOddsTest, ShortDigitsCodeIsRejectedWithTheNumbers) {
  const auto checked = checkGuessingOdds("keypad", withProfile("digits:9:3:damm"), Config{});
  ASSERT_FALSE(checked.hasValue());
  EXPECT_EQ(checked.error(),
            "the user codes of client 'keypad' (digits:9:3:damm, 1e+08 codes, 600 s lifetime) "
            "are too easy to guess: 220 wrong codes per address per lifetime x 10000 live codes "
            "/ 1e+08 codes = odds of 0.022, above the limit of 0.0001 (1 in 10,000). Use a "
            "longer code (more characters, or letters instead of digits), a shorter --expires-in "
            "for the client, or a lower --user-code-failures-per-address or "
            "--max-live-authorizations for the server");
}

TEST(CodeOddsTest, LongDigitsCodeIsAccepted) {
  // 11 random digits: 220 x 10^4 / 10^11 = 2.2 x 10^-5.
  EXPECT_TRUE(checkGuessingOdds("keypad", withProfile("digits:12:3:damm"), Config{}).hasValue());
}

TEST(CodeOddsTest, ClientLifetimeAndServerLimitsEnterTheOdds) {
  ClientCodeSettings settings = withProfile("digits:9:3");
  settings.device_code_ttl = seconds(90);
  Config config;
  config.limits.max_live_authorizations_per_client = 100;
  config.limits.user_code_failures_per_address = {5, seconds(60)};

  const auto odds = guessingOdds(settings, config);
  ASSERT_TRUE(odds.has_value());
  // 90 seconds touch at most 3 windows of 60 seconds.
  EXPECT_EQ(odds->guesses, 15);
  EXPECT_EQ(odds->live_codes, 100);
  EXPECT_DOUBLE_EQ(odds->probability, 15.0 * 100 / 1e9);
  EXPECT_TRUE(checkGuessingOdds("keypad", settings, config).hasValue());
}

TEST(CodeOddsTest, TotalBudgetCountsWhenAddressBudgetIsOff) {
  Config config;
  config.limits.user_code_failures_per_address = {0, seconds(60)};
  const auto odds = guessingOdds(ClientCodeSettings{}, config);
  ASSERT_TRUE(odds.has_value());
  EXPECT_EQ(odds->guesses, 2000 * 11);
  EXPECT_FALSE(checkGuessingOdds("tv", ClientCodeSettings{}, config).hasValue());
}

TEST(CodeOddsTest, LimitsOffGiveUnboundedOdds) {
  Config budgets_off;
  budgets_off.limits.user_code_failures_per_address = {0, seconds(60)};
  budgets_off.limits.user_code_failures_total = {0, seconds(60)};
  EXPECT_FALSE(guessingOdds(ClientCodeSettings{}, budgets_off).has_value());
  EXPECT_TRUE(checkGuessingOdds("keypad", withProfile("digits:6:3"), budgets_off).hasValue());

  Config cap_off;
  cap_off.limits.max_live_authorizations_per_client = 0;
  EXPECT_FALSE(guessingOdds(ClientCodeSettings{}, cap_off).has_value());
}

}  // namespace
}  // namespace devauth
