// The verification pages over real HTTP: a browser that keeps its session cookie and reads the
// CSRF token from each page, driving the flow a person follows on a phone.

#include <fmt/chrono.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cctype>
#include <ctime>
#include <optional>
#include <regex>
#include <string>

#include "core/client.h"
#include "core/secret.h"
#include "support/http_client.h"
#include "support/test_server.h"

namespace devauth {
namespace {

using testing::Fields;
using testing::HttpResult;

// The generic code message as it appears in HTML, with the apostrophe escaped.
constexpr std::string_view kCodeRejectedHtml =
    "That code didn&#39;t work. Check the code on your device and try again. If it has expired, "
    "start again on the device.";

// The value of the hidden input `name` in `html`, or "" when the page has none.
std::string hiddenValue(const std::string& html, const std::string& name) {
  const std::regex pattern("<input type=\"hidden\" name=\"" + name + "\" value=\"([^\"]*)\">");
  std::smatch match;
  return std::regex_search(html, match, pattern) ? match[1].str() : std::string();
}

// The devauth_session value of a Set-Cookie header, or "" when it sets another cookie.
std::string sessionCookieValue(const std::string& set_cookie) {
  constexpr std::string_view kPrefix = "devauth_session=";
  if (set_cookie.rfind(kPrefix, 0) != 0) {
    return {};
  }
  return set_cookie.substr(kPrefix.size(), set_cookie.find(';') - kPrefix.size());
}

// A browser: sends its session cookie, stores a new one from Set-Cookie and remembers the CSRF
// token of the last page that had one.
class Browser {
 public:
  explicit Browser(std::uint16_t port) : port_(port) {}

  HttpResult get(const std::string& target) {
    return remember(testing::httpRequest(port_, "GET", target, {}, cookieHeader()));
  }

  // POSTs `fields` plus the remembered CSRF token.
  HttpResult submit(const std::string& target, Fields fields) {
    fields.emplace_back("csrf_token", csrf_);
    return post(target, std::move(fields));
  }

  // POSTs `fields` as they are, without adding a CSRF token.
  HttpResult post(const std::string& target, const Fields& fields) {
    return remember(testing::postForm(port_, target, fields, cookieHeader()));
  }

  const std::string& cookie() const { return cookie_; }
  const std::string& csrf() const { return csrf_; }
  void setCookie(std::string cookie) { cookie_ = std::move(cookie); }
  void setCsrf(std::string csrf) { csrf_ = std::move(csrf); }
  // Sends `language` as Accept-Language with every later request.
  void setAcceptLanguage(std::string language) { accept_language_ = std::move(language); }

 private:
  Fields cookieHeader() const {
    Fields headers;
    if (!cookie_.empty()) {
      headers.emplace_back("Cookie", "devauth_session=" + cookie_);
    }
    if (!accept_language_.empty()) {
      headers.emplace_back("Accept-Language", accept_language_);
    }
    return headers;
  }

  HttpResult remember(HttpResult result) {
    const std::string cookie = sessionCookieValue(result.header("Set-Cookie"));
    if (!cookie.empty()) {
      cookie_ = cookie;
    }
    const std::string csrf = hiddenValue(result.body, "csrf_token");
    if (!csrf.empty()) {
      csrf_ = csrf;
    }
    return result;
  }

  std::uint16_t port_;
  std::string cookie_;
  std::string csrf_;
  std::string accept_language_;
};

struct DeviceCodes {
  std::string device_code;
  std::string user_code;
  std::string verification_uri_complete;
  long long expires_in = 0;
};

class VerificationPagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.addPublicClient("tv", {"read", "write"});
    server_.addUser("alice", "correct horse");
  }

  DeviceCodes beginAuthorization() {
    const HttpResult result =
        testing::postForm(server_.port(), "/oauth/device/begin", {{"client_id", "tv"}});
    EXPECT_EQ(result.status, 200u) << result.body;
    const auto body = boost::json::parse(result.body).as_object();
    return DeviceCodes{std::string(body.at("device_code").as_string()),
                       std::string(body.at("user_code").as_string()),
                       std::string(body.at("verification_uri_complete").as_string()),
                       body.at("expires_in").as_int64()};
  }

  // Polls once, after waiting out the interval so the poll never gets slow_down.
  HttpResult poll(const std::string& device_code) {
    server_.clock().advance(server_.config().poll_interval + seconds(1));
    return testing::postForm(server_.port(), "/oauth/device/token",
                             {{"grant_type", std::string(kDeviceCodeGrantType)},
                              {"device_code", device_code},
                              {"client_id", "tv"}});
  }

  std::string pollError(const std::string& device_code) {
    const HttpResult result = poll(device_code);
    EXPECT_EQ(result.status, 400u) << result.body;
    const auto body = boost::json::parse(result.body).as_object();
    return std::string(body.at("error").as_string());
  }

  // Opens /device, enters `user_code`, signs in and returns the consent page.
  HttpResult openConsent(Browser& browser, const std::string& user_code,
                         const std::string& password = "correct horse") {
    browser.get("/device");
    const HttpResult sign_in = browser.submit("/device", {{"user_code", user_code}});
    EXPECT_EQ(sign_in.status, 200u) << sign_in.body;
    return browser.submit("/device/login", {{"user_code", hiddenValue(sign_in.body, "user_code")},
                                            {"username", "alice"},
                                            {"password", password}});
  }

  HttpResult decide(Browser& browser, const HttpResult& consent, const std::string& decision) {
    return browser.submit(
        "/device/decision",
        {{"user_code", hiddenValue(consent.body, "user_code")}, {"decision", decision}});
  }

  testing::TestServer server_;
};

std::string toLower(std::string text) {
  for (auto& c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

TEST_F(VerificationPagesTest, DevicePageHasLabelledInputAndSecurityHeaders) {
  Browser browser(server_.port());
  const HttpResult page = browser.get("/device");

  EXPECT_EQ(page.status, 200u);
  EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<label for=\"user_code\">"), std::string::npos);
  EXPECT_NE(page.body.find("id=\"user_code\" name=\"user_code\""), std::string::npos);
  EXPECT_NE(page.body.find("autocomplete=\"one-time-code\""), std::string::npos);
  EXPECT_NE(page.body.find("<main>"), std::string::npos);
  EXPECT_NE(page.header("Content-Security-Policy").find("frame-ancestors 'none'"),
            std::string::npos);
  EXPECT_EQ(page.header("Content-Security-Policy").find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(page.header("X-Frame-Options"), "DENY");
  EXPECT_EQ(page.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(page.header("Cache-Control"), "no-store");

  const std::string cookie = page.header("Set-Cookie");
  EXPECT_EQ(sessionCookieValue(cookie).size(), 43u);
  EXPECT_NE(cookie.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("; SameSite=Lax"), std::string::npos);
  EXPECT_NE(cookie.find("; Path=/device"), std::string::npos);
  EXPECT_NE(cookie.find("; Max-Age=1800"), std::string::npos);
  EXPECT_EQ(cookie.find("Secure"), std::string::npos);
  EXPECT_FALSE(browser.csrf().empty());
}

TEST_F(VerificationPagesTest, SecondVisitKeepsSession) {
  Browser browser(server_.port());
  browser.get("/device");
  const std::string csrf = browser.csrf();

  const HttpResult again = browser.get("/device");

  EXPECT_EQ(again.status, 200u);
  EXPECT_EQ(again.header("Set-Cookie"), "");
  EXPECT_EQ(hiddenValue(again.body, "csrf_token"), csrf);
}

TEST_F(VerificationPagesTest, SessionCookieFoundAmongOtherCookies) {
  Browser browser(server_.port());
  browser.get("/device");
  const std::string header = "theme=dark;flag; devauth_session=\"" + browser.cookie() +
                             "\" ;  other = \"x;y\"; devauth_session=junk";

  const HttpResult page =
      testing::httpRequest(server_.port(), "GET", "/device", {}, {{"Cookie", header}});

  EXPECT_EQ(page.status, 200u);
  EXPECT_EQ(page.header("Set-Cookie"), "");
  EXPECT_EQ(hiddenValue(page.body, "csrf_token"), browser.csrf());
}

TEST_F(VerificationPagesTest, ExpiredSessionIsReplaced) {
  Browser browser(server_.port());
  browser.get("/device");
  const std::string cookie = browser.cookie();
  server_.clock().advance(server_.config().session_ttl + seconds(1));

  const HttpResult page = browser.get("/device");

  EXPECT_EQ(page.status, 200u);
  EXPECT_EQ(sessionCookieValue(page.header("Set-Cookie")).size(), 43u);
  EXPECT_NE(browser.cookie(), cookie);
}

TEST(VerificationPagesHttpsTest, CookieIsSecureWhenIssuerIsHttps) {
  testing::TestServer server([](Config& config) { config.issuer = "https://auth.example"; });

  const HttpResult page = testing::httpRequest(server.port(), "GET", "/device");

  EXPECT_EQ(page.status, 200u);
  EXPECT_NE(page.header("Set-Cookie").find("; Secure"), std::string::npos);
}

TEST_F(VerificationPagesTest, StylesheetIsCacheableCss) {
  const HttpResult css = testing::httpRequest(server_.port(), "GET", "/device/style.css");

  EXPECT_EQ(css.status, 200u);
  EXPECT_EQ(css.header("Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(css.header("Cache-Control"), "public, max-age=3600");
  EXPECT_EQ(css.header("X-Content-Type-Options"), "nosniff");
  EXPECT_NE(css.body.find("min-height: 2.75rem"), std::string::npos);
}

TEST_F(VerificationPagesTest, CodeNormalizedBeforeLookup) {
  // RFC 8628 §6.1: lower case, no dash, and spaces around or inside all find the same code.
  const DeviceCodes codes = beginAuthorization();
  std::string without_dash = codes.user_code;
  without_dash.erase(4, 1);
  const std::string variants[] = {
      toLower(codes.user_code),
      without_dash,
      " " + toLower(codes.user_code.substr(0, 4)) + " " + toLower(codes.user_code.substr(5)) + " ",
  };

  for (const auto& variant : variants) {
    Browser browser(server_.port());
    browser.get("/device");
    const HttpResult sign_in = browser.submit("/device", {{"user_code", variant}});

    EXPECT_EQ(sign_in.status, 200u) << "input: '" << variant << "'";
    EXPECT_NE(sign_in.body.find("name=\"password\""), std::string::npos) << variant;
    EXPECT_NE(sign_in.body.find("autocomplete=\"current-password\""), std::string::npos);
    EXPECT_EQ(hiddenValue(sign_in.body, "user_code"), without_dash) << variant;
  }
}

TEST_F(VerificationPagesTest, ApproveFlowIssuesTokenToDevice) {
  const DeviceCodes codes = beginAuthorization();
  Browser browser(server_.port());

  const HttpResult consent = openConsent(browser, codes.user_code);
  ASSERT_EQ(consent.status, 200u) << consent.body;
  EXPECT_NE(consent.body.find("Client tv"), std::string::npos);
  EXPECT_NE(consent.body.find("<li>Read your data <code>read</code></li>"), std::string::npos);
  EXPECT_NE(consent.body.find("<li>Change your data <code>write</code></li>"), std::string::npos);
  EXPECT_NE(consent.body.find(">" + codes.user_code + "<"), std::string::npos);
  EXPECT_NE(consent.body.find("Check that this code matches the one on your device"),
            std::string::npos);
  EXPECT_NE(consent.body.find("<dd class=\"account\">alice</dd>"), std::string::npos);
  EXPECT_NE(consent.body.find("value=\"approve\""), std::string::npos);
  EXPECT_NE(consent.body.find("value=\"deny\""), std::string::npos);
  EXPECT_EQ(consent.body.find(codes.device_code), std::string::npos);
  EXPECT_EQ(consent.header("X-Frame-Options"), "DENY");

  const HttpResult done = decide(browser, consent, "approve");
  EXPECT_EQ(done.status, 200u);
  EXPECT_NE(done.body.find("Done. You can return to your device."), std::string::npos);
  EXPECT_EQ(done.body.find(codes.device_code), std::string::npos);

  const HttpResult token = poll(codes.device_code);
  EXPECT_EQ(token.status, 200u) << token.body;
  EXPECT_TRUE(boost::json::parse(token.body).as_object().contains("access_token"));
}

TEST_F(VerificationPagesTest, DenyMakesPollReturnAccessDenied) {
  const DeviceCodes codes = beginAuthorization();
  Browser browser(server_.port());
  const HttpResult consent = openConsent(browser, codes.user_code);
  ASSERT_EQ(consent.status, 200u) << consent.body;

  const HttpResult done = decide(browser, consent, "deny");

  EXPECT_EQ(done.status, 200u);
  EXPECT_NE(done.body.find("Request denied. You can close this page."), std::string::npos);
  EXPECT_EQ(pollError(codes.device_code), "access_denied");
}

TEST_F(VerificationPagesTest, WrongExpiredAndUsedCodesGetIdenticalResponse) {
  const DeviceCodes expired = beginAuthorization();
  server_.clock().advance(seconds(expired.expires_in + 1));
  const DeviceCodes approved = beginAuthorization();
  const DeviceCodes denied = beginAuthorization();
  Browser browser(server_.port());
  ASSERT_EQ(decide(browser, openConsent(browser, approved.user_code), "approve").status, 200u);
  ASSERT_EQ(decide(browser, openConsent(browser, denied.user_code), "deny").status, 200u);
  const std::string wrong = "BBBB-BBBB";
  ASSERT_NE(wrong, expired.user_code);
  ASSERT_NE(wrong, approved.user_code);
  ASSERT_NE(wrong, denied.user_code);

  const HttpResult wrong_result = browser.submit("/device", {{"user_code", wrong}});
  const HttpResult expired_result = browser.submit("/device", {{"user_code", expired.user_code}});
  const HttpResult approved_result = browser.submit("/device", {{"user_code", approved.user_code}});
  const HttpResult denied_result = browser.submit("/device", {{"user_code", denied.user_code}});

  EXPECT_EQ(wrong_result.status, 400u);
  EXPECT_NE(wrong_result.body.find(std::string(kCodeRejectedHtml)), std::string::npos);
  for (const HttpResult* result : {&expired_result, &approved_result, &denied_result}) {
    EXPECT_EQ(result->status, wrong_result.status);
    EXPECT_EQ(result->body, wrong_result.body);
    EXPECT_EQ(result->header("Set-Cookie"), "");
  }
}

TEST_F(VerificationPagesTest, MissingCsrfTokenGets403) {
  // A missing or wrong token gets 403 on every form, and the authorization stays pending.
  const DeviceCodes codes = beginAuthorization();
  Browser browser(server_.port());
  const HttpResult consent = openConsent(browser, codes.user_code);
  ASSERT_EQ(consent.status, 200u) << consent.body;
  const std::string user_code = hiddenValue(consent.body, "user_code");

  const HttpResult missing =
      browser.post("/device/decision", {{"user_code", user_code}, {"decision", "approve"}});
  const HttpResult wrong =
      browser.post("/device/decision",
                   {{"user_code", user_code}, {"decision", "approve"}, {"csrf_token", "forged"}});
  const HttpResult code_form = browser.post("/device", {{"user_code", user_code}});

  for (const HttpResult* result : {&missing, &wrong, &code_form}) {
    EXPECT_EQ(result->status, 403u);
    EXPECT_NE(result->body.find("This form expired. Reload the page and try again."),
              std::string::npos);
    EXPECT_EQ(result->header("X-Frame-Options"), "DENY");
  }
  EXPECT_EQ(pollError(codes.device_code), "authorization_pending");
}

TEST_F(VerificationPagesTest, WrongPasswordGets401AndChangesNothing) {
  const DeviceCodes codes = beginAuthorization();
  Browser browser(server_.port());
  browser.get("/device");
  const std::string cookie = browser.cookie();
  const HttpResult sign_in = browser.submit("/device", {{"user_code", codes.user_code}});
  const std::string user_code = hiddenValue(sign_in.body, "user_code");

  const HttpResult wrong_password = browser.submit(
      "/device/login", {{"user_code", user_code}, {"username", "alice"}, {"password", "wrong"}});
  const HttpResult unknown_user = browser.submit(
      "/device/login", {{"user_code", user_code}, {"username", "mallory"}, {"password", "x"}});

  for (const HttpResult* result : {&wrong_password, &unknown_user}) {
    EXPECT_EQ(result->status, 401u);
    EXPECT_NE(result->body.find("Incorrect username or password."), std::string::npos);
    EXPECT_NE(result->body.find("name=\"password\""), std::string::npos);
    EXPECT_EQ(result->header("Set-Cookie"), "");
  }
  EXPECT_EQ(browser.cookie(), cookie);
  const HttpResult decision =
      browser.submit("/device/decision", {{"user_code", user_code}, {"decision", "approve"}});
  EXPECT_EQ(decision.status, 401u);
  EXPECT_EQ(pollError(codes.device_code), "authorization_pending");
}

TEST_F(VerificationPagesTest, UserCodeQueryIsEscaped) {
  const HttpResult page = testing::httpRequest(
      server_.port(), "GET", "/device?user_code=%3Cscript%3Ealert(1)%3C%2Fscript%3E");

  EXPECT_EQ(page.status, 200u);
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_NE(page.body.find("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""), std::string::npos)
      << page.body;
}

TEST_F(VerificationPagesTest, DecisionWithoutSignInIsRejected) {
  const DeviceCodes codes = beginAuthorization();
  Browser browser(server_.port());
  browser.get("/device");
  const HttpResult sign_in = browser.submit("/device", {{"user_code", codes.user_code}});
  ASSERT_EQ(sign_in.status, 200u);

  const HttpResult decision = browser.submit(
      "/device/decision",
      {{"user_code", hiddenValue(sign_in.body, "user_code")}, {"decision", "approve"}});

  EXPECT_EQ(decision.status, 401u);
  EXPECT_NE(decision.body.find("sign in again"), std::string::npos);
  EXPECT_EQ(pollError(codes.device_code), "authorization_pending");
}

TEST_F(VerificationPagesTest, PrefilledCodeStillNeedsExplicitApproval) {
  // Already signed in from an earlier code, the person opens verification_uri_complete.
  const DeviceCodes earlier = beginAuthorization();
  Browser browser(server_.port());
  ASSERT_EQ(openConsent(browser, earlier.user_code).status, 200u);
  const DeviceCodes codes = beginAuthorization();
  const std::string target =
      codes.verification_uri_complete.substr(codes.verification_uri_complete.find("/device"));

  const HttpResult page = browser.get(target);
  EXPECT_EQ(page.status, 200u);
  EXPECT_NE(page.body.find("value=\"" + codes.user_code + "\""), std::string::npos)
      << target << "\n"
      << page.body;
  EXPECT_EQ(pollError(codes.device_code), "authorization_pending");

  const HttpResult consent = browser.submit("/device", {{"user_code", codes.user_code}});
  ASSERT_EQ(consent.status, 200u);
  EXPECT_NE(consent.body.find("value=\"approve\""), std::string::npos);
  EXPECT_EQ(pollError(codes.device_code), "authorization_pending");

  EXPECT_EQ(decide(browser, consent, "approve").status, 200u);
  EXPECT_EQ(poll(codes.device_code).status, 200u);
}

TEST_F(VerificationPagesTest, SignInRotatesSessionCookie) {
  const DeviceCodes codes = beginAuthorization();
  Browser browser(server_.port());
  browser.get("/device");
  const std::string before_cookie = browser.cookie();
  const std::string before_csrf = browser.csrf();

  const HttpResult consent = openConsent(browser, codes.user_code);

  ASSERT_EQ(consent.status, 200u);
  EXPECT_FALSE(browser.cookie().empty());
  EXPECT_NE(browser.cookie(), before_cookie);
  EXPECT_NE(browser.csrf(), before_csrf);
  // The id planted before sign-in is gone, so its forms no longer work.
  Browser stale(server_.port());
  stale.setCookie(before_cookie);
  stale.setCsrf(before_csrf);
  EXPECT_EQ(stale.submit("/device", {{"user_code", codes.user_code}}).status, 403u);
}

// --- Consent details: where and when the device asked, and who is signed in ---------------

// `time` as the consent page writes it, for example "2027-01-15 08:00 UTC".
std::string describeUtcMinute(TimePoint time) {
  const std::time_t since_epoch = std::chrono::system_clock::to_time_t(
      std::chrono::time_point_cast<std::chrono::system_clock::duration>(time));
  return fmt::format("{:%Y-%m-%d %H:%M} UTC", fmt::gmtime(since_epoch));
}

// Starts a device authorization for "tv" on `server` with the extra request `headers` and
// returns its user code.
std::string beginAuthorizationWith(testing::TestServer& server, const Fields& headers) {
  const HttpResult result =
      testing::postForm(server.port(), "/oauth/device/begin", {{"client_id", "tv"}}, headers);
  EXPECT_EQ(result.status, 200u) << result.body;
  return std::string(boost::json::parse(result.body).as_object().at("user_code").as_string());
}

TEST_F(VerificationPagesTest, ConsentShowsDeviceAddressAndTime) {
  const std::string user_code =
      beginAuthorizationWith(server_, {{"User-Agent", "LivingRoomTV/2.1 (webOS 6.0)"}});
  const std::string requested_at = describeUtcMinute(server_.clock().now());
  server_.clock().advance(seconds(185));
  Browser browser(server_.port());

  const HttpResult consent = openConsent(browser, user_code);

  ASSERT_EQ(consent.status, 200u) << consent.body;
  EXPECT_NE(consent.body.find("<dt>Device, as it describes itself</dt>"
                              "<dd class=\"device\">LivingRoomTV/2.1 (webOS 6.0)</dd>"),
            std::string::npos)
      << consent.body;
  EXPECT_NE(consent.body.find("<dt>Requested from</dt><dd class=\"address\">127.0.0.1 "
                              "<span class=\"muted\">(the same network as this browser)</span>"
                              "</dd>"),
            std::string::npos)
      << consent.body;
  EXPECT_NE(consent.body.find("<dt>Requested</dt><dd>3 minutes ago (" + requested_at + ")</dd>"),
            std::string::npos)
      << consent.body;
}

TEST_F(VerificationPagesTest, ConsentDetailsInGerman) {
  const std::string user_code =
      beginAuthorizationWith(server_, {{"User-Agent", "LivingRoomTV/2.1 (webOS 6.0)"}});
  server_.clock().advance(seconds(185));
  Browser browser(server_.port());
  browser.setAcceptLanguage("de-DE, en;q=0.5");

  const HttpResult consent = openConsent(browser, user_code);

  ASSERT_EQ(consent.status, 200u) << consent.body;
  EXPECT_NE(consent.body.find("<dt>Gerät, nach eigener Angabe</dt>"), std::string::npos)
      << consent.body;
  EXPECT_NE(consent.body.find("<dt>Angefragt von</dt><dd class=\"address\">127.0.0.1 "
                              "<span class=\"muted\">(dasselbe Netz wie dieser Browser)</span>"),
            std::string::npos)
      << consent.body;
  EXPECT_NE(consent.body.find("<dd>Vor 3 Minuten ("), std::string::npos) << consent.body;
  EXPECT_NE(consent.body.find("<dt>Angemeldet als</dt><dd class=\"account\">alice</dd>"),
            std::string::npos)
      << consent.body;
}

TEST_F(VerificationPagesTest, ConsentEscapesAndShortensUserAgent) {
  // A bidirectional override (U+202E) and a tab become one space, markup is escaped, and the
  // text is cut after 80 bytes: 35 before the x's and 45 x's.
  const std::string user_agent =
      "<script>alert(1)</script>\u202e\t Evil/1.0 " + std::string(100, 'x');
  const std::string user_code = beginAuthorizationWith(server_, {{"User-Agent", user_agent}});
  Browser browser(server_.port());

  const HttpResult consent = openConsent(browser, user_code);

  ASSERT_EQ(consent.status, 200u) << consent.body;
  const std::string shown =
      "&lt;script&gt;alert(1)&lt;/script&gt; Evil/1.0 " + std::string(45, 'x') + "...";
  EXPECT_NE(consent.body.find("<dd class=\"device\">" + shown + "</dd>"), std::string::npos)
      << consent.body;
  EXPECT_EQ(consent.body.find("<script>alert"), std::string::npos);
  EXPECT_EQ(consent.body.find("\u202e"), std::string::npos);
}

TEST_F(VerificationPagesTest, ConsentWithoutUserAgentSaysNoDescription) {
  const std::string user_code = beginAuthorization().user_code;
  Browser browser(server_.port());

  const HttpResult consent = openConsent(browser, user_code);

  ASSERT_EQ(consent.status, 200u) << consent.body;
  EXPECT_NE(consent.body.find("<dd class=\"device\">No description</dd>"), std::string::npos)
      << consent.body;
}

TEST_F(VerificationPagesTest, ConsentNamesSubjectWithoutLocalUser) {
  // A session signed in as a subject that no local user has, as a relay or the approval API
  // may set, is named by its subject.
  const std::string user_code = beginAuthorization().user_code;
  // A session id is 43 base64url characters, as the cookie of a real session.
  const std::string session_id(43, 'R');
  ASSERT_TRUE(
      server_.store().insertSession({hashSecret(session_id), "customer-42", server_.clock().now(),
                                     server_.clock().now() + seconds(600)}));
  Browser browser(server_.port());
  browser.setCookie(session_id);
  browser.get("/device");

  const HttpResult consent = browser.submit("/device", {{"user_code", user_code}});

  ASSERT_EQ(consent.status, 200u) << consent.body;
  EXPECT_NE(consent.body.find("<dd class=\"account\">customer-42</dd>"), std::string::npos)
      << consent.body;
}

TEST(ConsentAddressTest, ForwardedAddressIsComparedWithBrowser) {
  testing::TestServer server([](Config& config) { config.trust_forwarded_for = true; });
  server.addPublicClient("tv", {"read"});
  server.addUser("alice", "correct horse");
  const std::string user_code = beginAuthorizationWith(
      server, {{"X-Forwarded-For", "198.51.100.1, 203.0.113.7"}, {"User-Agent", "TV/1"}});
  Browser browser(server.port());
  browser.get("/device");
  const HttpResult sign_in = browser.submit("/device", {{"user_code", user_code}});

  const HttpResult consent =
      browser.submit("/device/login", {{"user_code", hiddenValue(sign_in.body, "user_code")},
                                       {"username", "alice"},
                                       {"password", "correct horse"}});

  ASSERT_EQ(consent.status, 200u) << consent.body;
  EXPECT_NE(
      consent.body.find("<dd class=\"address\">203.0.113.7 <span class=\"muted\">(a different "
                        "network from this browser at 127.0.0.1)</span></dd>"),
      std::string::npos)
      << consent.body;
  EXPECT_EQ(consent.body.find("198.51.100.1"), std::string::npos);
}

TEST(ConsentAddressTest, MalformedForwardedAddressIsUnknown) {
  testing::TestServer server([](Config& config) { config.trust_forwarded_for = true; });
  server.addPublicClient("tv", {"read"});
  server.addUser("alice", "correct horse");
  const std::string user_code =
      beginAuthorizationWith(server, {{"X-Forwarded-For", "<b>not-an-address</b>"}});
  Browser browser(server.port());
  browser.get("/device");
  const HttpResult sign_in = browser.submit("/device", {{"user_code", user_code}});

  const HttpResult consent =
      browser.submit("/device/login", {{"user_code", hiddenValue(sign_in.body, "user_code")},
                                       {"username", "alice"},
                                       {"password", "correct horse"}});

  ASSERT_EQ(consent.status, 200u) << consent.body;
  EXPECT_NE(consent.body.find("<dd class=\"address\">Unknown address</dd>"), std::string::npos)
      << consent.body;
  EXPECT_EQ(consent.body.find("not-an-address"), std::string::npos);
}

}  // namespace
}  // namespace devauth
