#include "core/scope.h"

#include <gtest/gtest.h>

namespace devauth {
namespace {

using Scopes = std::vector<std::string>;

TEST(ScopeTest, ParsesSpaceSeparatedTokens) {
  const auto scopes = parseScope("read write");
  ASSERT_TRUE(scopes.has_value());
  EXPECT_EQ(*scopes, (Scopes{"read", "write"}));
}

TEST(ScopeTest, DropsRepeatsKeepingOrder) {
  const auto scopes = parseScope("write read write");
  ASSERT_TRUE(scopes.has_value());
  EXPECT_EQ(*scopes, (Scopes{"write", "read"}));
}

TEST(ScopeTest, RejectsMalformedStrings) {
  for (const char* text :
       {"", " read", "read ", "read  write", "re\"ad", "re\\ad", "read\twrite", "caf\xc3\xa9"}) {
    EXPECT_FALSE(parseScope(text).has_value()) << text;
  }
}

TEST(ScopeTest, JoinsWithSpaces) {
  EXPECT_EQ(joinScope({"a", "b"}), "a b");
  EXPECT_EQ(joinScope({}), "");
}

TEST(ScopeTest, ListsScopesNotAllowed) {
  EXPECT_EQ(scopesNotAllowed({"read", "admin", "write"}, {"read", "write"}), (Scopes{"admin"}));
  EXPECT_TRUE(scopesNotAllowed({"read"}, {"read"}).empty());
}

}  // namespace
}  // namespace devauth
