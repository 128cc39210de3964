// Assisted approval over real HTTP: a trusted backend binds a pending code to a customer with
// login_hint at POST /oauth/device/begin or later with POST /oauth/device/bind, and the approval
// API then accepts decisions for that customer only.

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <sstream>

#include "oauth_fixture.h"

namespace devauth::testing {
namespace {

constexpr char kBindPath[] = "/oauth/device/bind";

// Replaces the spdlog default logger with one that writes into a string, for the lifetime of
// the object.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>(
        "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_));
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  std::string text() const { return stream_.str(); }

  // The first line that contains every string of `parts`, or "" when none does.
  std::string lineWith(const std::vector<std::string>& parts) const {
    std::istringstream lines(stream_.str());
    std::string line;
    while (std::getline(lines, line)) {
      const bool all = std::all_of(parts.begin(), parts.end(), [&](const std::string& part) {
        return line.find(part) != std::string::npos;
      });
      if (all) {
        return line;
      }
    }
    return {};
  }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> previous_;
};

// A well-formed user code that differs from `user_code` in its last letter.
std::string otherUserCode(const std::string& user_code) {
  std::string other = user_code;
  other.back() = other.back() == 'B' ? 'C' : 'B';
  return other;
}

class AssistedApprovalTest : public OAuthFixture {
 protected:
  void adjustConfig(Config& config) override {
    config.limits.user_code_failures_per_session = {4, seconds(60)};
    config.limits.user_code_failures_per_address = {0, seconds(60)};
    config.limits.user_code_failures_total = {0, seconds(60)};
  }

  void SetUp() override {
    OAuthFixture::SetUp();
    // Every 60-second window restarts at a whole minute, so each test starts with a full budget.
    const long long now = toUnixMillis(server().clock().now());
    server().clock().set(fromUnixMillis(now - now % 60'000 + 60'000));
  }

  // POSTs `fields` to `path` as the trusted backend "bank".
  HttpResult asBank(const char* path, const Fields& fields) {
    return postForm(port(), path, fields,
                    {{"Authorization", basicAuthorization("bank", kApproverSecret)}});
  }

  HttpResult bind(const std::string& user_code, const std::string& subject) {
    return asBank(kBindPath, {{"user_code", user_code}, {"subject", subject}});
  }

  HttpResult approve(const std::string& user_code, const std::string& subject) {
    return asBank(kApprovePath, {{"user_code", user_code}, {"subject", subject}});
  }

  HttpResult deny(const std::string& user_code, const std::string& subject) {
    return asBank(kDenyPath, {{"user_code", user_code}, {"subject", subject}});
  }

  // Begins as the bank itself, bound to `subject` with login_hint.
  DeviceCodes beginBound(const std::string& subject) {
    const HttpResult result = asBank(kBeginPath, {{"login_hint", subject}});
    EXPECT_EQ(result.status, 200u) << result.body;
    const boost::json::object body = jsonObject(result);
    return DeviceCodes{stringField(body, "device_code"), stringField(body, "user_code")};
  }

  // Asserts that `result` is the exact response to a wrong code: same status, headers that
  // matter and body.
  void expectSameAsWrongCode(const HttpResult& result, const HttpResult& wrong_code) {
    EXPECT_EQ(wrong_code.status, 400u) << wrong_code.body;
    EXPECT_EQ(result.status, wrong_code.status);
    EXPECT_EQ(result.body, wrong_code.body);
    EXPECT_EQ(result.header("Content-Type"), wrong_code.header("Content-Type"));
    EXPECT_EQ(result.header("Cache-Control"), wrong_code.header("Cache-Control"));
    EXPECT_EQ(result.header("WWW-Authenticate"), wrong_code.header("WWW-Authenticate"));
    expectOAuthError(result, 400, "invalid_grant");
  }
};

TEST_F(AssistedApprovalTest, LoginHintBindsAtBegin) {
  const DeviceCodes codes = beginBound("customer-42");

  const Authorization authorization = stored(codes.device_code);
  EXPECT_EQ(authorization.client_id, "bank");
  EXPECT_EQ(authorization.bound_subject, "customer-42");
  EXPECT_EQ(authorization.state, AuthorizationState::Pending);
}

TEST_F(AssistedApprovalTest, LoginHintWithoutPermissionIsUnauthorizedClient) {
  expectOAuthError(begin({{"client_id", "pub1"}, {"login_hint", "customer-42"}}), 400,
                   "unauthorized_client");
  expectOAuthError(begin({{"login_hint", "customer-42"}},
                         {{"Authorization", basicAuthorization("conf1", kConfidentialSecret)}}),
                   400, "unauthorized_client");

  auto live = server().store().countAllLiveAuthorizations(server().clock().now());
  ASSERT_TRUE(live.hasValue()) << live.error().message;
  EXPECT_EQ(*live, 0u);
}

// An empty login_hint counts as omitted (RFC 6749 §3.1), so it is not among these.
TEST_F(AssistedApprovalTest, MalformedLoginHintIsInvalidRequest) {
  for (const std::string& hint : {std::string(256, 'a'), std::string("a\tb")}) {
    SCOPED_TRACE(hint.size());
    expectOAuthError(asBank(kBeginPath, {{"login_hint", hint}}), 400, "invalid_request");
  }
}

TEST_F(AssistedApprovalTest, BindStoresSubjectAndReturnsIt) {
  const DeviceCodes codes = beginFor("pub1");

  const HttpResult result = bind(codes.user_code, "customer-42");

  ASSERT_EQ(result.status, 200u) << result.body;
  expectNoStoreJson(result);
  const boost::json::object body = jsonObject(result);
  const Authorization authorization = stored(codes.device_code);
  EXPECT_EQ(body.size(), 5u) << result.body;
  EXPECT_EQ(stringField(body, "authorization_id"), authorization.id);
  EXPECT_EQ(stringField(body, "state"), "pending");
  EXPECT_EQ(stringField(body, "client_id"), "pub1");
  EXPECT_EQ(stringField(body, "scope"), "read write");
  EXPECT_EQ(stringField(body, "bound_subject"), "customer-42");
  EXPECT_EQ(authorization.bound_subject, "customer-42");
  EXPECT_EQ(authorization.state, AuthorizationState::Pending);
}

TEST_F(AssistedApprovalTest, BindAgainToSameSubjectSucceeds) {
  const DeviceCodes codes = beginFor("pub1");
  ASSERT_EQ(bind(codes.user_code, "customer-42").status, 200u);

  EXPECT_EQ(bind(codes.user_code, "customer-42").status, 200u);
}

// A second bind to another subject gets the wrong-code response and keeps the first binding.
TEST_F(AssistedApprovalTest, BindToAnotherSubjectLooksLikeWrongCode) {
  const DeviceCodes codes = beginFor("pub1");
  ASSERT_EQ(bind(codes.user_code, "customer-42").status, 200u);

  const HttpResult rebind = bind(codes.user_code, "customer-7");
  const HttpResult wrong_code = bind(otherUserCode(codes.user_code), "customer-7");

  expectSameAsWrongCode(rebind, wrong_code);
  EXPECT_EQ(stored(codes.device_code).bound_subject, "customer-42");
}

TEST_F(AssistedApprovalTest, BindOfDecidedCodeIsInvalidGrant) {
  const DeviceCodes codes = beginFor("pub1");
  ASSERT_EQ(approve(codes.user_code, "customer-42").status, 200u);

  expectOAuthError(bind(codes.user_code, "customer-42"), 400, "invalid_grant");
  EXPECT_EQ(stored(codes.device_code).bound_subject, std::nullopt);
}

TEST_F(AssistedApprovalTest, BindWithoutPermissionIsRejected) {
  const DeviceCodes codes = beginFor("pub1");
  const Fields fields = {{"user_code", codes.user_code}, {"subject", "customer-42"}};

  // A confidential client without may_approve.
  expectOAuthError(postForm(port(), kBindPath, fields,
                            {{"Authorization", basicAuthorization("conf1", kConfidentialSecret)}}),
                   400, "unauthorized_client");
  // A public client cannot authenticate, which the approval API requires.
  Fields public_fields = fields;
  public_fields.emplace_back("client_id", "pub1");
  expectOAuthError(postForm(port(), kBindPath, public_fields), 400, "invalid_client");
  // The trusted backend with a wrong secret.
  const HttpResult wrong_secret = postForm(
      port(), kBindPath, fields, {{"Authorization", basicAuthorization("bank", "wrong-secret")}});
  expectOAuthError(wrong_secret, 401, "invalid_client");
  EXPECT_EQ(wrong_secret.header("WWW-Authenticate").rfind("Basic realm=\"devauth\"", 0), 0u);

  EXPECT_EQ(stored(codes.device_code).bound_subject, std::nullopt);
}

TEST_F(AssistedApprovalTest, BindWithoutSubjectIsInvalidRequest) {
  const DeviceCodes codes = beginFor("pub1");

  expectOAuthError(asBank(kBindPath, {{"user_code", codes.user_code}}), 400, "invalid_request");
  expectOAuthError(bind(codes.user_code, std::string(256, 'a')), 400, "invalid_request");
  EXPECT_EQ(stored(codes.device_code).bound_subject, std::nullopt);
}

TEST_F(AssistedApprovalTest, ApprovalForOtherSubjectLooksLikeWrongCode) {
  const DeviceCodes codes = beginBound("customer-42");

  const HttpResult other_subject = approve(codes.user_code, "customer-7");
  const HttpResult wrong_code = approve(otherUserCode(codes.user_code), "customer-7");

  expectSameAsWrongCode(other_subject, wrong_code);
  EXPECT_EQ(stored(codes.device_code).state, AuthorizationState::Pending);
}

TEST_F(AssistedApprovalTest, DenialForOtherSubjectLooksLikeWrongCode) {
  const DeviceCodes codes = beginFor("pub1");
  ASSERT_EQ(bind(codes.user_code, "customer-42").status, 200u);

  const HttpResult other_subject = deny(codes.user_code, "customer-7");
  const HttpResult wrong_code = deny(otherUserCode(codes.user_code), "customer-7");

  expectSameAsWrongCode(other_subject, wrong_code);
  EXPECT_EQ(stored(codes.device_code).state, AuthorizationState::Pending);
}

TEST_F(AssistedApprovalTest, ApprovalForBoundSubjectIssuesToken) {
  const DeviceCodes codes = beginFor("pub1");
  ASSERT_EQ(bind(codes.user_code, "customer-42").status, 200u);

  const HttpResult approved = approve(codes.user_code, "customer-42");

  ASSERT_EQ(approved.status, 200u) << approved.body;
  EXPECT_EQ(stringField(jsonObject(approved), "state"), "approved");
  const HttpResult token = poll(codes.device_code);
  ASSERT_EQ(token.status, 200u) << token.body;
  auto found =
      server().store().findToken(hashSecret(stringField(jsonObject(token), "access_token")));
  ASSERT_TRUE(found.hasValue());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->subject, "customer-42");
}

TEST_F(AssistedApprovalTest, DenialForBoundSubjectDenies) {
  const DeviceCodes codes = beginBound("customer-42");

  const HttpResult denied = deny(codes.user_code, "customer-42");

  ASSERT_EQ(denied.status, 200u) << denied.body;
  EXPECT_EQ(stringField(jsonObject(denied), "state"), "denied");
  EXPECT_EQ(stored(codes.device_code).state, AuthorizationState::Denied);
}

// Decisions for another subject spend the caller's wrong-code budget (4 per minute here) like
// wrong codes, so bound codes cannot be probed faster than codes can be guessed.
TEST_F(AssistedApprovalTest, OtherSubjectCountsAgainstWrongCodeBudget) {
  const DeviceCodes codes = beginBound("customer-42");
  for (int i = 0; i < 2; ++i) {
    expectOAuthError(approve(codes.user_code, "customer-7"), 400, "invalid_grant");
    expectOAuthError(approve(otherUserCode(codes.user_code), "customer-7"), 400, "invalid_grant");
  }

  const HttpResult blocked = approve(codes.user_code, "customer-42");

  expectOAuthError(blocked, 429, "temporarily_unavailable");
  EXPECT_FALSE(blocked.header("Retry-After").empty());
  EXPECT_EQ(stored(codes.device_code).state, AuthorizationState::Pending);
}

TEST_F(AssistedApprovalTest, MetadataListsBindingEndpoint) {
  const HttpResult result = httpRequest(port(), "GET", "/.well-known/oauth-authorization-server");

  ASSERT_EQ(result.status, 200u) << result.body;
  EXPECT_EQ(stringField(jsonObject(result), "devauth_binding_endpoint"),
            server().config().issuer + kBindPath);
}

TEST_F(AssistedApprovalTest, EveryActionWritesOneAuditLine) {
  CapturedLog log;
  const DeviceCodes bound_at_begin = beginBound("customer-42");
  const DeviceCodes bound_later = beginFor("pub1");
  ASSERT_EQ(bind(bound_later.user_code, "customer-9").status, 200u);
  ASSERT_EQ(approve(bound_at_begin.user_code, "customer-7").status, 400u);
  ASSERT_EQ(approve(bound_at_begin.user_code, "customer-42").status, 200u);
  ASSERT_EQ(deny(bound_later.user_code, "customer-9").status, 200u);
  const std::string bank_id = stored(bound_at_begin.device_code).id;
  const std::string later_id = stored(bound_later.device_code).id;

  EXPECT_NE(log.lineWith({"event=authorization_bound audit=true authorization_id=" + bank_id,
                          "client_id=bank subject=customer-42 actor=client:bank outcome=bound"}),
            "")
      << log.text();
  EXPECT_NE(log.lineWith({"event=authorization_bound audit=true authorization_id=" + later_id,
                          "client_id=pub1 subject=customer-9 actor=client:bank outcome=bound"}),
            "")
      << log.text();
  EXPECT_NE(
      log.lineWith({"event=authorization_approval_rejected audit=true authorization_id=" + bank_id,
                    "subject=customer-7 actor=client:bank outcome=subject_mismatch"}),
      "")
      << log.text();
  EXPECT_NE(log.lineWith({"event=authorization_approved audit=true authorization_id=" + bank_id,
                          "subject=customer-42 actor=client:bank outcome=approved"}),
            "")
      << log.text();
  EXPECT_NE(log.lineWith({"event=authorization_denied audit=true authorization_id=" + later_id,
                          "subject=customer-9 actor=client:bank outcome=denied"}),
            "")
      << log.text();
  for (const DeviceCodes* codes : {&bound_at_begin, &bound_later}) {
    EXPECT_EQ(log.text().find(codes->device_code), std::string::npos);
    EXPECT_EQ(log.text().find(codes->user_code), std::string::npos);
    EXPECT_EQ(log.text().find(codes->user_code.substr(0, 4) + codes->user_code.substr(5)),
              std::string::npos);
  }
}

// A subject with spaces and quotes is quoted in the audit line, so it cannot add keys.
TEST_F(AssistedApprovalTest, AuditLineQuotesSubject) {
  CapturedLog log;
  const DeviceCodes codes = beginFor("pub1");

  ASSERT_EQ(bind(codes.user_code, R"(x outcome=approved "y)").status, 200u);

  EXPECT_NE(log.lineWith({R"(subject="x outcome=approved \"y" actor=client:bank outcome=bound)"}),
            "")
      << log.text();
}

}  // namespace
}  // namespace devauth::testing
