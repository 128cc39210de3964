// Limits on wrong user codes at the verification page (RFC 8628 §5.1), over real HTTP.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>
#include <string>

#include "support/http_client.h"
#include "support/test_server.h"

namespace devauth {
namespace {

using testing::Fields;
using testing::HttpResult;

// A browser session: its cookie and the CSRF token of its forms.
struct PageSession {
  std::string cookie;
  std::string csrf;
};

class CodeAttemptLimitsTest : public ::testing::Test {
 protected:
  CodeAttemptLimitsTest()
      : server_([](Config& config) {
          config.limits.user_code_failures_per_session = {3, seconds(60)};
          config.limits.user_code_failures_per_address = {5, seconds(60)};
          config.limits.user_code_failures_total = {0, seconds(60)};
        }) {
    server_.addPublicClient("tv", {"read"});
    const long long now = toUnixMillis(server_.clock().now());
    server_.clock().set(fromUnixMillis(now - now % 60'000 + 60'000));
  }

  PageSession openPage() {
    const HttpResult page = testing::httpRequest(server_.port(), "GET", "/device");
    EXPECT_EQ(page.status, 200u);
    const std::string set_cookie = page.header("Set-Cookie");
    std::smatch cookie;
    std::smatch csrf;
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
        testing::postForm(server_.port(), "/oauth/device/begin", {{"client_id", "tv"}});
    EXPECT_EQ(result.status, 200u) << result.body;
    return std::string(boost::json::parse(result.body).at("user_code").as_string());
  }

  static void expectBlocked(const HttpResult& result) {
    EXPECT_EQ(result.status, 429u) << result.body;
    EXPECT_NE(result.body.find("Too many attempts"), std::string::npos);
    EXPECT_FALSE(result.header("Retry-After").empty());
    EXPECT_EQ(result.header("Cache-Control"), "no-store");
  }

  testing::TestServer server_;
};

TEST_F(CodeAttemptLimitsTest, SessionOverBudgetIsBlockedEvenForValidCode) {
  const std::string user_code = beginUserCode();
  const PageSession session = openPage();
  // Normalised variants of one wrong code each count as an attempt.
  for (const char* wrong : {"bcdf-ghjk", "BCDFGHJK", " bcdf ghjk "}) {
    EXPECT_EQ(enterCode(session, wrong).status, 400u);
  }
  expectBlocked(enterCode(session, user_code));

  server_.clock().advance(seconds(60));
  EXPECT_EQ(enterCode(session, user_code).status, 200u);
}

TEST_F(CodeAttemptLimitsTest, NewSessionsShareAddressBudget) {
  const std::string user_code = beginUserCode();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(enterCode(openPage(), "BCDF-GHJK").status, 400u);
  }
  expectBlocked(enterCode(openPage(), user_code));
}

TEST_F(CodeAttemptLimitsTest, SuccessDoesNotResetFailures) {
  const std::string user_code = beginUserCode();
  const PageSession session = openPage();
  EXPECT_EQ(enterCode(session, "BCDF-GHJK").status, 400u);
  EXPECT_EQ(enterCode(session, "BCDF-GHJL").status, 400u);
  EXPECT_EQ(enterCode(session, user_code).status, 200u);
  EXPECT_EQ(enterCode(session, "BCDF-GHJM").status, 400u);
  expectBlocked(enterCode(session, user_code));
}

}  // namespace
}  // namespace devauth
