#include "http/prefer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace devauth::http {
namespace {

RawRequest withPrefer(const std::vector<std::string>& values) {
  RawRequest message;
  for (const auto& value : values) {
    message.insert("Prefer", value);
  }
  return message;
}

TEST(PreferredWaitTest, ReadsPlainWait) { EXPECT_EQ(preferredWait(withPrefer({"wait=10"})), 10u); }

TEST(PreferredWaitTest, AbsentWithoutHeader) {
  EXPECT_EQ(preferredWait(RawRequest{}), std::nullopt);
}

TEST(PreferredWaitTest, FindsWaitAmongPreferences) {
  EXPECT_EQ(preferredWait(withPrefer({"respond-async, WAIT = 5 ; x=y"})), 5u);
  EXPECT_EQ(preferredWait(withPrefer({"return=minimal", "wait=\"7\""})), 7u);
}

// RFC 7240 §2: the first occurrence of a preference counts.
TEST(PreferredWaitTest, FirstWaitCounts) {
  EXPECT_EQ(preferredWait(withPrefer({"wait=3, wait=9"})), 3u);
  EXPECT_EQ(preferredWait(withPrefer({"wait=4", "wait=8"})), 4u);
}

TEST(PreferredWaitTest, InvalidValuesAreIgnored) {
  EXPECT_EQ(preferredWait(withPrefer({"wait"})), std::nullopt);
  EXPECT_EQ(preferredWait(withPrefer({"wait=-1"})), std::nullopt);
  EXPECT_EQ(preferredWait(withPrefer({"wait=1.5"})), std::nullopt);
  EXPECT_EQ(preferredWait(withPrefer({"wait="})), std::nullopt);
  EXPECT_EQ(preferredWait(withPrefer({"waiting=5"})), std::nullopt);
}

TEST(PreferredWaitTest, HugeValueIsCapped) {
  EXPECT_EQ(preferredWait(withPrefer({"wait=99999999999999999999999"})), 2147483647u);
}

}  // namespace
}  // namespace devauth::http
