// The device display page over real HTTP: it starts a flow for the display client, carries its
// codes in a cookie for reloads, and reports the state the flow reached.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>
#include <string>

#include "core/authorization.h"
#include "support/http_client.h"
#include "support/test_server.h"

namespace devauth {
namespace {

using testing::HttpResult;

// The value of the data attribute `name` in `html`, or "".
std::string dataAttribute(const std::string& html, const std::string& name) {
  const std::regex pattern("data-" + name + "=\"([^\"]*)\"");
  std::smatch match;
  return std::regex_search(html, match, pattern) ? match[1].str() : std::string();
}

// The user code shown large on the page, or "".
std::string shownUserCode(const std::string& html) {
  const std::regex pattern("<p class=\"code-display display-code\">([A-Z-]+)</p>");
  std::smatch match;
  return std::regex_search(html, match, pattern) ? match[1].str() : std::string();
}

class DisplayPageTest : public ::testing::Test {
 protected:
  DisplayPageTest() : server_([](Config& config) { config.display_client = "tv"; }) {
    server_.addPublicClient("tv", {"read"});
    server_.addConfidentialClient("bank", "bank secret", true);
  }

  HttpResult open(const std::string& target = "/device/display", const std::string& cookie = {}) {
    testing::Fields headers;
    if (!cookie.empty()) {
      headers.emplace_back("Cookie", cookie);
    }
    return testing::httpRequest(server_.port(), "GET", target, {}, headers);
  }

  // The "name=value" part of the display cookie set by `result`.
  static std::string cookieOf(const HttpResult& result) {
    const std::string header = result.header("Set-Cookie");
    return header.substr(0, header.find(';'));
  }

  std::string pollError(const std::string& device_code) {
    server_.clock().advance(server_.config().poll_interval + seconds(1));
    const HttpResult result = testing::postForm(server_.port(), "/oauth/device/token",
                                                {{"grant_type", std::string(kDeviceCodeGrantType)},
                                                 {"device_code", device_code},
                                                 {"client_id", "tv"}});
    if (result.status == 200) {
      return "issued";
    }
    return std::string(boost::json::parse(result.body).at("error").as_string());
  }

  unsigned decide(const std::string& endpoint, const std::string& user_code) {
    return testing::postForm(
               server_.port(), endpoint, {{"user_code", user_code}, {"subject", "customer-1"}},
               {{"Authorization", testing::basicAuthorization("bank", "bank secret")}})
        .status;
  }

  testing::TestServer server_;
};

TEST(DisplayPageOffTest, DisplayPageIsOffWithoutDisplayClient) {
  testing::TestServer server;

  const HttpResult page = testing::httpRequest(server.port(), "GET", "/device/display");

  EXPECT_EQ(page.status, 404u);
  EXPECT_EQ(page.header("Set-Cookie"), "");
}

TEST_F(DisplayPageTest, StartsFlowWithCodeQrAndPrivateCookie) {
  const HttpResult page = open();

  ASSERT_EQ(page.status, 200u);
  EXPECT_EQ(page.header("Cache-Control"), "no-store");
  EXPECT_NE(page.body.find("<body data-page=\"display\">"), std::string::npos);
  const std::string user_code = shownUserCode(page.body);
  EXPECT_EQ(user_code.size(), 9u);
  EXPECT_NE(page.body.find("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr\""),
            std::string::npos);
  EXPECT_NE(page.body.find("<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>"),
            std::string::npos);
  EXPECT_EQ(dataAttribute(page.body, "client-id"), "tv");
  EXPECT_EQ(dataAttribute(page.body, "interval"), "5");
  EXPECT_EQ(dataAttribute(page.body, "expires-in"), "600");
  const std::string device_code = dataAttribute(page.body, "device-code");
  EXPECT_EQ(device_code.size(), 54u);
  EXPECT_EQ(page.header("Set-Cookie"),
            "devauth_display=" + device_code + "." + user_code +
                "; Path=/device/display; Max-Age=600; HttpOnly; SameSite=Strict");
  // The page's device code is the real one: the token endpoint answers for it.
  EXPECT_EQ(pollError(device_code), "authorization_pending");
}

TEST_F(DisplayPageTest, ReloadKeepsFlowAndShowsApproval) {
  const HttpResult first = open();
  const std::string cookie = cookieOf(first);
  const std::string user_code = shownUserCode(first.body);

  const HttpResult pending = open("/device/display", cookie);
  EXPECT_EQ(pending.status, 200u);
  EXPECT_EQ(pending.header("Set-Cookie"), "");
  EXPECT_EQ(shownUserCode(pending.body), user_code);
  EXPECT_NE(pending.body.find("data-state=\"approved\" hidden"), std::string::npos);

  ASSERT_EQ(decide("/oauth/device/approve", user_code), 200u);
  const HttpResult approved = open("/device/display", cookie);

  EXPECT_EQ(approved.status, 200u);
  EXPECT_NE(approved.body.find("data-state=\"approved\">"), std::string::npos);
  EXPECT_NE(approved.body.find("data-state=\"pending\" hidden"), std::string::npos);
  EXPECT_EQ(approved.body.find("data-device-code"), std::string::npos);
  EXPECT_EQ(approved.body.find("http-equiv=\"refresh\""), std::string::npos);
}

TEST_F(DisplayPageTest, DenialAndExpiryAreShown) {
  const HttpResult denied_flow = open();
  ASSERT_EQ(decide("/oauth/device/deny", shownUserCode(denied_flow.body)), 200u);
  const HttpResult expired_flow = open("/device/display?new=1");
  server_.clock().advance(server_.config().device_code_ttl + seconds(1));

  const HttpResult denied = open("/device/display", cookieOf(denied_flow));
  const HttpResult expired = open("/device/display", cookieOf(expired_flow));

  EXPECT_NE(denied.body.find("data-state=\"denied\">"), std::string::npos);
  EXPECT_NE(expired.body.find("data-state=\"expired\">"), std::string::npos);
  EXPECT_NE(expired.body.find("href=\"/device/display?new=1\""), std::string::npos);
}

TEST_F(DisplayPageTest, NewQueryStartsAnotherFlow) {
  const HttpResult first = open();

  const HttpResult second = open("/device/display?new=1", cookieOf(first));

  EXPECT_EQ(second.status, 200u);
  EXPECT_NE(cookieOf(second), cookieOf(first));
  EXPECT_NE(shownUserCode(second.body), shownUserCode(first.body));
}

TEST_F(DisplayPageTest, ForgedCookieStartsNewFlow) {
  const HttpResult page = open("/device/display", "devauth_display=forged.BCDF-GHJK");

  EXPECT_EQ(page.status, 200u);
  EXPECT_NE(cookieOf(page), "devauth_display=forged.BCDF-GHJK");
  EXPECT_NE(shownUserCode(page.body), "BCDF-GHJK");
}

}  // namespace
}  // namespace devauth
