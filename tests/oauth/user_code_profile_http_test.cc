// Per-client user code profiles over HTTP: digits codes with a Damm check digit, per-client
// lifetimes and intervals, the spoken forms in the device authorization response, and the
// approval API's response to a mistyped check digit.

#include <regex>

#include "core/user_code.h"
#include "core/user_code_profile.h"
#include "limits/abuse_limits.h"
#include "oauth_fixture.h"

namespace devauth::testing {
namespace {

class UserCodeProfileHttpTest : public OAuthFixture {
 protected:
  void SetUp() override {
    OAuthFixture::SetUp();
    Client keypad = makePublicClient("keypad", {"read"});
    keypad.code_settings.user_code_profile = *parseUserCodeProfile("digits:9:3:damm");
    keypad.code_settings.device_code_ttl = seconds(300);
    keypad.code_settings.poll_interval = seconds(2);
    insertClient(keypad);
  }

  HttpResult approve(const std::string& user_code) {
    return postForm(port(), kApprovePath, {{"user_code", user_code}, {"subject", "customer-42"}},
                    {{"Authorization", basicAuthorization("bank", kApproverSecret)}});
  }

  // The approving client's wrong-code count per address and per caller in this window.
  std::vector<std::int64_t> approverFailureCounts() {
    std::vector<std::int64_t> counts;
    for (const auto& counter :
         limits::userCodeFailureCounters(server().config().limits, "127.0.0.1", "client:bank")) {
      auto count =
          server().store().readCounter(counter.key, counter.limit.window, server().clock().now());
      EXPECT_TRUE(count.hasValue());
      counts.push_back(count.hasValue() ? *count : -1);
    }
    return counts;
  }
};

TEST_F(UserCodeProfileHttpTest, DigitsClientGetsCheckedDigitsCode) {
  const HttpResult result = begin({{"client_id", "keypad"}});

  ASSERT_EQ(result.status, 200u) << result.body;
  expectNoStoreJson(result);
  const boost::json::object body = jsonObject(result);
  const std::string user_code = stringField(body, "user_code");
  ASSERT_TRUE(std::regex_match(user_code, std::regex("^[0-9]{3}-[0-9]{3}-[0-9]{3}$"))) << user_code;
  EXPECT_TRUE(passesDammCheck(*normalizeUserCode(user_code)));
  EXPECT_EQ(body.at("expires_in").as_int64(), 300);
  EXPECT_EQ(body.at("interval").as_int64(), 2);
  EXPECT_EQ(stringField(body, "devauth_user_code_spoken"), spokenUserCode(user_code));
  EXPECT_EQ(stringField(body, "devauth_user_code_ssml"), ssmlUserCode(user_code));

  const Authorization authorization = stored(stringField(body, "device_code"));
  EXPECT_EQ(authorization.expires_at, server().clock().now() + seconds(300));
  EXPECT_EQ(authorization.interval, seconds(2));
  EXPECT_EQ(authorization.user_code_hash, hashSecret(*normalizeUserCode(user_code)));
}

// The expected forms are built here from the digits, independently of core/user_code_profile.
TEST_F(UserCodeProfileHttpTest, SpokenFormsAreExact) {
  const boost::json::object body = jsonObject(begin({{"client_id", "keypad"}}));
  const std::string user_code = stringField(body, "user_code");
  ASSERT_EQ(user_code.size(), 11u) << user_code;

  static const char* const kWords[] = {"zero", "one", "two",   "three", "four",
                                       "five", "six", "seven", "eight", "nine"};
  std::string spoken;
  std::string ssml = "<speak>";
  for (std::size_t group = 0; group < 3; ++group) {
    const std::string digits = user_code.substr(group * 4, 3);
    spoken += group > 0 ? ", " : "";
    ssml += group > 0 ? "<break time=\"500ms\"/>" : "";
    for (std::size_t i = 0; i < digits.size(); ++i) {
      spoken += std::string(i > 0 ? " " : "") + kWords[digits[i] - '0'];
    }
    ssml += "<say-as interpret-as=\"characters\">" + digits + "</say-as>";
  }
  ssml += "</speak>";
  EXPECT_EQ(stringField(body, "devauth_user_code_spoken"), spoken);
  EXPECT_EQ(stringField(body, "devauth_user_code_ssml"), ssml);
}

TEST_F(UserCodeProfileHttpTest, LettersClientKeepsServerLifetimes) {
  const boost::json::object body = jsonObject(begin({{"client_id", "pub1"}}));

  EXPECT_TRUE(
      std::regex_match(stringField(body, "user_code"),
                       std::regex("^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")));
  EXPECT_EQ(body.at("expires_in").as_int64(), server().config().device_code_ttl.count());
  EXPECT_EQ(body.at("interval").as_int64(), server().config().poll_interval.count());
  EXPECT_EQ(stringField(body, "devauth_user_code_spoken"),
            spokenUserCode(stringField(body, "user_code")));
}

TEST_F(UserCodeProfileHttpTest, ApprovalAcceptsDigitsWithSpacesAndDashes) {
  const DeviceCodes codes = beginFor("keypad");
  const std::string digits = *normalizeUserCode(codes.user_code);
  const std::string typed =
      " " + digits.substr(0, 3) + " " + digits.substr(3, 3) + "-" + digits.substr(6) + " ";

  const HttpResult result = approve(typed);

  ASSERT_EQ(result.status, 200u) << result.body;
  EXPECT_EQ(stored(codes.device_code).state, AuthorizationState::Approved);
}

TEST_F(UserCodeProfileHttpTest, WrongCheckDigitIsNotCountedAsGuess) {
  const DeviceCodes codes = beginFor("keypad");
  std::string mistyped = *normalizeUserCode(codes.user_code);
  mistyped[4] = mistyped[4] == '9' ? '0' : static_cast<char>(mistyped[4] + 1);
  ASSERT_FALSE(passesDammCheck(mistyped));
  const std::vector<std::int64_t> before = approverFailureCounts();

  const HttpResult result = approve(mistyped);

  expectOAuthError(result, 400, "invalid_request");
  EXPECT_EQ(stringField(jsonObject(result), "error_description"),
            "The user_code has a wrong check digit: check the code, a digit is mistyped.");
  EXPECT_EQ(approverFailureCounts(), before);
  EXPECT_EQ(stored(codes.device_code).state, AuthorizationState::Pending);
}

TEST_F(UserCodeProfileHttpTest, WrongCodeWithValidCheckDigitIsCounted) {
  beginFor("keypad");
  std::string guess = "12345678";
  guess.push_back(dammCheckDigit(guess));
  const std::vector<std::int64_t> before = approverFailureCounts();

  expectOAuthError(approve(guess), 400, "invalid_grant");

  std::vector<std::int64_t> after = approverFailureCounts();
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i], before[i] + 1) << "counter " << i;
  }
}

// An unchecked digits profile of the same length makes every 9-digit input a possible code, so
// a failing check digit counts as a guess again.
TEST_F(UserCodeProfileHttpTest, UncheckedProfileOfSameLengthCountsEveryMiss) {
  Client plain = makePublicClient("plain-keypad", {"read"});
  plain.code_settings.user_code_profile = *parseUserCodeProfile("digits:9:3");
  insertClient(plain);
  std::string guess = "12345678";
  guess.push_back(
      static_cast<char>(dammCheckDigit(guess) == '9' ? '0' : dammCheckDigit(guess) + 1));
  const std::vector<std::int64_t> before = approverFailureCounts();

  expectOAuthError(approve(guess), 400, "invalid_grant");

  EXPECT_EQ(approverFailureCounts()[0], before[0] + 1);
}

}  // namespace
}  // namespace devauth::testing
