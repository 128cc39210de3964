// Digits codes with a Damm check digit on the verification page, over real HTTP: a mistyped
// digit gets its own message and spends none of the wrong-code budget (RFC 8628 §5.1).

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>
#include <string>

#include "core/user_code.h"
#include "core/user_code_profile.h"
#include "support/http_client.h"
#include "support/test_server.h"

namespace devauth {
namespace {

using testing::HttpResult;

constexpr std::string_view kMistypedMessage = "Check the code: a digit is mistyped.";

struct PageSession {
  std::string cookie;
  std::string csrf;
};

class CheckDigitPageTest : public ::testing::Test {
 protected:
  CheckDigitPageTest()
      : server_([](Config& config) {
          config.limits.user_code_failures_per_session = {3, seconds(60)};
          config.limits.user_code_failures_per_address = {5, seconds(60)};
          config.limits.user_code_failures_total = {0, seconds(60)};
        }) {
    Client keypad;
    keypad.id = "keypad";
    keypad.name = "Keypad";
    keypad.allowed_scopes = {"read"};
    keypad.default_scopes = {"read"};
    keypad.code_settings.user_code_profile = *parseUserCodeProfile("digits:9:3:damm");
    keypad.created_at = server_.clock().now();
    EXPECT_TRUE(server_.store().insertClient(keypad).hasValue());
    // Start at a window boundary, so that no budget window ends during a test.
    const long long now = toUnixMillis(server_.clock().now());
    server_.clock().set(fromUnixMillis(now - now % 60'000 + 60'000));
  }

  PageSession openPage() {
    const HttpResult page = testing::httpRequest(server_.port(), "GET", "/device");
    EXPECT_EQ(page.status, 200u);
    std::smatch cookie;
    std::smatch csrf;
    const std::string set_cookie = page.header("Set-Cookie");
    EXPECT_TRUE(std::regex_search(set_cookie, cookie, std::regex("devauth_session=([^;]+)")));
    EXPECT_TRUE(
        std::regex_search(page.body, csrf, std::regex("name=\"csrf_token\" value=\"([^\"]+)\"")));
    return PageSession{cookie[1].str(), csrf[1].str()};
  }

  HttpResult enterCode(const PageSession& session, const std::string& user_code) {
    return testing::postForm(server_.port(), "/device",
                             {{"user_code", user_code}, {"csrf_token", session.csrf}},
                             {{"Cookie", "devauth_session=" + session.cookie}});
  }

  std::string beginUserCode() {
    const HttpResult result =
        testing::postForm(server_.port(), "/oauth/device/begin", {{"client_id", "keypad"}});
    EXPECT_EQ(result.status, 200u) << result.body;
    return std::string(boost::json::parse(result.body).at("user_code").as_string());
  }

  // `canonical` with its fifth digit changed, so that its check digit fails.
  static std::string mistype(std::string canonical) {
    canonical[4] = canonical[4] == '9' ? '0' : static_cast<char>(canonical[4] + 1);
    return canonical;
  }

  testing::TestServer server_;
};

TEST_F(CheckDigitPageTest, MistypedDigitGetsItsOwnMessageAndSpendsNoAttempt) {
  const std::string user_code = beginUserCode();
  const std::string mistyped = mistype(*normalizeUserCode(user_code));
  ASSERT_FALSE(passesDammCheck(mistyped));
  const PageSession session = openPage();

  // Twice the session budget of 3: none of them counts.
  for (int i = 0; i < 6; ++i) {
    const HttpResult result = enterCode(session, mistyped);
    EXPECT_EQ(result.status, 400u) << result.body;
    EXPECT_NE(result.body.find(kMistypedMessage), std::string::npos) << result.body;
  }

  const HttpResult right = enterCode(session, user_code);
  EXPECT_EQ(right.status, 200u) << right.body;
}

TEST_F(CheckDigitPageTest, WrongCodeWithValidCheckDigitSpendsAnAttempt) {
  const std::string user_code = beginUserCode();
  const PageSession session = openPage();
  std::string guess = *normalizeUserCode(user_code) == "123456786" ? "98765432" : "12345678";
  guess.push_back(dammCheckDigit(guess));

  for (int i = 0; i < 3; ++i) {
    const HttpResult result = enterCode(session, guess);
    EXPECT_EQ(result.status, 400u) << result.body;
    EXPECT_EQ(result.body.find(kMistypedMessage), std::string::npos);
  }
  EXPECT_EQ(enterCode(session, user_code).status, 429u);
}

TEST_F(CheckDigitPageTest, DigitsCodeAcceptsSpacesAndDashes) {
  const std::string canonical = *normalizeUserCode(beginUserCode());
  const std::string typed =
      " " + canonical.substr(0, 3) + " - " + canonical.substr(3, 3) + " " + canonical.substr(6);

  const HttpResult result = enterCode(openPage(), typed);

  EXPECT_EQ(result.status, 200u) << result.body;
}

}  // namespace
}  // namespace devauth
