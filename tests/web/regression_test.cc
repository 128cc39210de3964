// Regressions found by attacking the verification pages of a running server.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>
#include <string>

#include "core/client.h"
#include "support/http_client.h"
#include "support/test_server.h"

namespace devauth {
namespace {

using testing::HttpResult;

std::string hiddenValue(const std::string& html, const std::string& name) {
  const std::regex pattern("<input type=\"hidden\" name=\"" + name + "\" value=\"([^\"]*)\">");
  std::smatch match;
  return std::regex_search(html, match, pattern) ? match[1].str() : std::string();
}

std::string sessionCookie(const HttpResult& result) {
  const std::string set_cookie = result.header("Set-Cookie");
  return set_cookie.substr(0, set_cookie.find(';'));
}

class WebRegressionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.addPublicClient("tv", {"read"});
    server_.addUser("alice", "correct horse");
  }

  std::string beginAndGetUserCode(std::string* device_code) {
    const HttpResult result =
        testing::postForm(server_.port(), "/oauth/device/begin", {{"client_id", "tv"}});
    const auto body = boost::json::parse(result.body).as_object();
    *device_code = std::string(body.at("device_code").as_string());
    return std::string(body.at("user_code").as_string());
  }

  testing::TestServer server_;
};

// Removing an account with `devauth user remove` must sign it out everywhere: a page that was
// already open must not approve a code for a subject that no longer exists.
TEST_F(WebRegressionTest, SessionOfRemovedUserCannotApprove) {
  std::string device_code;
  const std::string user_code = beginAndGetUserCode(&device_code);

  const HttpResult page = testing::httpRequest(server_.port(), "GET", "/device");
  std::string cookie = sessionCookie(page);
  std::string csrf = hiddenValue(page.body, "csrf_token");
  const HttpResult consent = testing::postForm(server_.port(), "/device/login",
                                               {{"user_code", user_code},
                                                {"username", "alice"},
                                                {"password", "correct horse"},
                                                {"csrf_token", csrf}},
                                               {{"Cookie", cookie}});
  ASSERT_EQ(consent.status, 200u) << consent.body;
  cookie = sessionCookie(consent);
  csrf = hiddenValue(consent.body, "csrf_token");

  auto removed = server_.store().removeUser("alice");
  ASSERT_TRUE(removed.hasValue());
  ASSERT_TRUE(*removed);

  const HttpResult decided =
      testing::postForm(server_.port(), "/device/decision",
                        {{"user_code", user_code}, {"decision", "approve"}, {"csrf_token", csrf}},
                        {{"Cookie", cookie}});
  // Removing the user removed the session, so the form is no longer valid.
  EXPECT_EQ(decided.status, 403u) << decided.body;

  server_.clock().advance(server_.config().poll_interval + seconds(1));
  const HttpResult polled = testing::postForm(server_.port(), "/oauth/device/token",
                                              {{"grant_type", std::string(kDeviceCodeGrantType)},
                                               {"device_code", device_code},
                                               {"client_id", "tv"}});
  EXPECT_EQ(polled.status, 400u) << polled.body;
  EXPECT_EQ(boost::json::parse(polled.body).at("error").as_string(), "authorization_pending");
}

}  // namespace
}  // namespace devauth
