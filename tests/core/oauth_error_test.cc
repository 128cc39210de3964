#include "core/oauth_error.h"

#include <gtest/gtest.h>

namespace devauth {
namespace {

TEST(OAuthErrorTest, TableHoldsRfcNamesAndStatuses) {
  EXPECT_EQ(describe(OAuthErrorCode::InvalidRequest).wire_name, "invalid_request");
  EXPECT_EQ(describe(OAuthErrorCode::InvalidClient).http_status, 401);
  EXPECT_EQ(describe(OAuthErrorCode::AuthorizationPending).wire_name, "authorization_pending");
  EXPECT_EQ(describe(OAuthErrorCode::AuthorizationPending).http_status, 400);
  EXPECT_EQ(describe(OAuthErrorCode::SlowDown).wire_name, "slow_down");
  EXPECT_EQ(describe(OAuthErrorCode::SlowDown).http_status, 400);
  EXPECT_EQ(describe(OAuthErrorCode::AccessDenied).wire_name, "access_denied");
  EXPECT_EQ(describe(OAuthErrorCode::ExpiredToken).wire_name, "expired_token");
  EXPECT_EQ(describe(OAuthErrorCode::UnsupportedGrantType).wire_name, "unsupported_grant_type");
  EXPECT_EQ(describe(OAuthErrorCode::ServerError).http_status, 500);
  EXPECT_EQ(describe(OAuthErrorCode::TemporarilyUnavailable).http_status, 503);
}

TEST(OAuthErrorTest, DefaultDescriptionsUseAllowedCharacters) {
  for (int i = 0; i <= static_cast<int>(OAuthErrorCode::TemporarilyUnavailable); ++i) {
    const auto& info = describe(static_cast<OAuthErrorCode>(i));
    EXPECT_EQ(sanitizeErrorDescription(info.default_description), info.default_description)
        << info.wire_name;
  }
}

TEST(OAuthErrorTest, SanitizeReplacesQuoteBackslashAndControl) {
  EXPECT_EQ(sanitizeErrorDescription("a\"b\\c\nd\xc3\xa9"), "a?b?c?d??");
}

TEST(OAuthErrorTest, MakeErrorFallsBackToDefaultDescription) {
  const OAuthError error = makeError(OAuthErrorCode::InvalidGrant);
  EXPECT_EQ(error.code, OAuthErrorCode::InvalidGrant);
  EXPECT_EQ(error.description, describe(OAuthErrorCode::InvalidGrant).default_description);
  EXPECT_EQ(makeError(OAuthErrorCode::InvalidRequest, "missing \"x\"").description, "missing ?x?");
}

}  // namespace
}  // namespace devauth
