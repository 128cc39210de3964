// Assisted approval on the verification pages, over real HTTP: a code that a trusted backend
// bound to one customer can be approved or denied only by the user with that subject. Anyone
// else gets the wrong-code page, and the attempt counts against the wrong-code budget.

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "core/client.h"
#include "core/secret.h"
#include "support/http_client.h"
#include "support/test_server.h"

namespace devauth {
namespace {

using testing::Fields;
using testing::HttpResult;

constexpr char kBankSecret[] = "bank-secret-0123456789";

// The value of the hidden input `name` in `html`, or "" when the page has none.
std::string hiddenValue(const std::string& html, const std::string& name) {
  const std::regex pattern("<input type=\"hidden\" name=\"" + name + "\" value=\"([^\"]*)\">");
  std::smatch match;
  return std::regex_search(html, match, pattern) ? match[1].str() : std::string();
}

// A browser session that keeps its cookie and the CSRF token of the last page with one.
class PageSession {
 public:
  explicit PageSession(std::uint16_t port) : port_(port) {}

  HttpResult open() { return remember(testing::httpRequest(port_, "GET", "/device", {}, {})); }

  HttpResult submit(const std::string& target, Fields fields) {
    fields.emplace_back("csrf_token", csrf_);
    return remember(
        testing::postForm(port_, target, fields, {{"Cookie", "devauth_session=" + cookie_}}));
  }

  HttpResult enterCode(const std::string& user_code) {
    return submit("/device", {{"user_code", user_code}});
  }

  HttpResult signIn(const std::string& user_code, const std::string& username) {
    return submit("/device/login",
                  {{"user_code", user_code}, {"username", username}, {"password", "pass phrase"}});
  }

  HttpResult decide(const std::string& user_code, const std::string& decision) {
    return submit("/device/decision", {{"user_code", user_code}, {"decision", decision}});
  }

 private:
  HttpResult remember(HttpResult result) {
    std::smatch cookie;
    const std::string set_cookie = result.header("Set-Cookie");
    if (std::regex_search(set_cookie, cookie, std::regex("devauth_session=([^;]+)"))) {
      cookie_ = cookie[1].str();
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
};

// A well-formed user code that differs from `user_code` in its last letter.
std::string otherUserCode(const std::string& user_code) {
  std::string other = user_code;
  other.back() = other.back() == 'B' ? 'C' : 'B';
  return other;
}

class AssistedApprovalPageTest : public ::testing::Test {
 protected:
  AssistedApprovalPageTest()
      : server_([](Config& config) {
          config.limits.user_code_failures_per_session = {3, seconds(60)};
          config.limits.user_code_failures_per_address = {0, seconds(60)};
          config.limits.user_code_failures_total = {0, seconds(60)};
        }) {
    server_.addPublicClient("tv", {"read"});
    server_.addConfidentialClient("bank", kBankSecret, /*may_approve=*/true);
    server_.addUser("alice", "pass phrase");
    server_.addUser("bob", "pass phrase");
    // Every 60-second window restarts at a whole minute, so each test starts with a full budget.
    const long long now = toUnixMillis(server_.clock().now());
    server_.clock().set(fromUnixMillis(now - now % 60'000 + 60'000));
  }

  // Begins for the TV and returns the user code as shown, XXXX-XXXX.
  std::string beginUserCode() {
    const HttpResult result =
        testing::postForm(server_.port(), "/oauth/device/begin", {{"client_id", "tv"}});
    EXPECT_EQ(result.status, 200u) << result.body;
    return std::string(boost::json::parse(result.body).at("user_code").as_string());
  }

  // Binds `user_code` to `subject` through the approval API, as the bank.
  void bind(const std::string& user_code, const std::string& subject) {
    const HttpResult result = testing::postForm(
        server_.port(), "/oauth/device/bind", {{"user_code", user_code}, {"subject", subject}},
        {{"Authorization", testing::basicAuthorization("bank", kBankSecret)}});
    ASSERT_EQ(result.status, 200u) << result.body;
  }

  Authorization stored(const std::string& user_code) {
    const std::string canonical = user_code.substr(0, 4) + user_code.substr(5);
    auto found = server_.store().findByUserCode(hashSecret(canonical));
    if (!found.hasValue() || !found->has_value()) {
      ADD_FAILURE() << "no authorization for the user code";
      return {};
    }
    return **found;
  }

  // Signs `username` in on `session` with an unbound code, which leaves the session signed in.
  void signInWithUnboundCode(PageSession& session, const std::string& username) {
    const std::string user_code = beginUserCode();
    session.open();
    ASSERT_EQ(session.enterCode(user_code).status, 200u);
    ASSERT_EQ(session.signIn(user_code, username).status, 200u);
  }

  static void expectSameAnswer(const HttpResult& result, const HttpResult& wrong_code) {
    EXPECT_EQ(wrong_code.status, 400u);
    EXPECT_EQ(result.status, wrong_code.status);
    EXPECT_EQ(result.body, wrong_code.body);
    EXPECT_EQ(result.header("Set-Cookie"), wrong_code.header("Set-Cookie"));
    EXPECT_EQ(result.header("Content-Type"), wrong_code.header("Content-Type"));
  }

  testing::TestServer server_;
};

TEST_F(AssistedApprovalPageTest, OtherUserSignInIsRejected) {
  const std::string user_code = beginUserCode();
  bind(user_code, "sub-bob");
  PageSession session(server_.port());
  session.open();
  ASSERT_EQ(session.enterCode(user_code).status, 200u);

  const HttpResult other_user = session.signIn(user_code, "alice");
  const HttpResult wrong_code = session.enterCode(otherUserCode(user_code));

  expectSameAnswer(other_user, wrong_code);
  EXPECT_EQ(other_user.header("Set-Cookie"), "");
  EXPECT_EQ(stored(user_code).state, AuthorizationState::Pending);
}

TEST_F(AssistedApprovalPageTest, SignedInOtherUserIsRejected) {
  PageSession session(server_.port());
  signInWithUnboundCode(session, "alice");
  const std::string user_code = beginUserCode();
  bind(user_code, "sub-bob");

  const HttpResult other_user = session.enterCode(user_code);
  const HttpResult wrong_code = session.enterCode(otherUserCode(user_code));

  expectSameAnswer(other_user, wrong_code);
}

// The consent page was shown before the backend bound the code to someone else.
TEST_F(AssistedApprovalPageTest, DecisionByOtherUserShowsWrongCodePage) {
  const std::string user_code = beginUserCode();
  PageSession session(server_.port());
  session.open();
  ASSERT_EQ(session.enterCode(user_code).status, 200u);
  ASSERT_EQ(session.signIn(user_code, "alice").status, 200u);
  bind(user_code, "sub-bob");
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured)));

  const HttpResult approve = session.decide(user_code, "approve");
  const HttpResult deny = session.decide(user_code, "deny");
  spdlog::set_default_logger(previous);
  const HttpResult wrong_code = session.enterCode(otherUserCode(user_code));

  expectSameAnswer(approve, wrong_code);
  expectSameAnswer(deny, wrong_code);
  EXPECT_EQ(stored(user_code).state, AuthorizationState::Pending);
  const std::string id = stored(user_code).id;
  const std::string log = captured.str();
  EXPECT_NE(log.find("event=authorization_approval_rejected audit=true authorization_id=" + id +
                     " client_id=tv subject=sub-alice actor=user:sub-alice "
                     "outcome=subject_mismatch"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("event=authorization_denial_rejected audit=true authorization_id=" + id +
                     " client_id=tv subject=sub-alice actor=user:sub-alice "
                     "outcome=subject_mismatch"),
            std::string::npos)
      << log;
}

// Three attempts per session per minute here: two codes bound to someone else and one wrong
// code spend the budget, so even the user's own unbound code is then refused with 429.
TEST_F(AssistedApprovalPageTest, OtherUserAttemptsSpendWrongCodeBudget) {
  PageSession session(server_.port());
  signInWithUnboundCode(session, "alice");
  const std::string first = beginUserCode();
  const std::string second = beginUserCode();
  bind(first, "sub-bob");
  bind(second, "sub-bob");
  const std::string own = beginUserCode();

  EXPECT_EQ(session.enterCode(first).status, 400u);
  EXPECT_EQ(session.enterCode(second).status, 400u);
  EXPECT_EQ(session.enterCode(otherUserCode(own)).status, 400u);
  const HttpResult blocked = session.enterCode(own);

  EXPECT_EQ(blocked.status, 429u) << blocked.body;
  EXPECT_FALSE(blocked.header("Retry-After").empty());
}

TEST_F(AssistedApprovalPageTest, BoundUserApprovesAndIsAudited) {
  const std::string user_code = beginUserCode();
  bind(user_code, "sub-bob");
  PageSession session(server_.port());
  session.open();
  ASSERT_EQ(session.enterCode(user_code).status, 200u);
  const HttpResult consent = session.signIn(user_code, "bob");
  ASSERT_EQ(consent.status, 200u) << consent.body;
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured)));

  const HttpResult done = session.decide(user_code, "approve");
  spdlog::set_default_logger(previous);

  EXPECT_EQ(done.status, 200u) << done.body;
  const Authorization authorization = stored(user_code);
  EXPECT_EQ(authorization.state, AuthorizationState::Approved);
  EXPECT_EQ(authorization.subject, "sub-bob");
  EXPECT_NE(captured.str().find(
                "event=authorization_approved audit=true authorization_id=" + authorization.id +
                " client_id=tv subject=sub-bob actor=user:sub-bob outcome=approved"),
            std::string::npos)
      << captured.str();
}

TEST_F(AssistedApprovalPageTest, UnboundDenialIsAudited) {
  const std::string user_code = beginUserCode();
  PageSession session(server_.port());
  session.open();
  ASSERT_EQ(session.enterCode(user_code).status, 200u);
  ASSERT_EQ(session.signIn(user_code, "alice").status, 200u);
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured)));

  const HttpResult done = session.decide(user_code, "deny");
  spdlog::set_default_logger(previous);

  EXPECT_EQ(done.status, 200u) << done.body;
  EXPECT_NE(captured.str().find(
                "event=authorization_denied audit=true authorization_id=" + stored(user_code).id +
                " client_id=tv subject=sub-alice actor=user:sub-alice "
                "outcome=denied"),
            std::string::npos)
      << captured.str();
  EXPECT_EQ(captured.str().find(user_code), std::string::npos) << captured.str();
}

}  // namespace
}  // namespace devauth
