#include "http/request_origin.h"

#include <gtest/gtest.h>

#include <string>

namespace devauth::http {
namespace {

TEST(RequestOriginTest, CanonicalAddressKeepsIpv4) {
  EXPECT_EQ(canonicalAddress("203.0.113.7"), "203.0.113.7");
}

TEST(RequestOriginTest, CanonicalAddressWritesIpv6InRfc5952Form) {
  EXPECT_EQ(canonicalAddress("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
}

TEST(RequestOriginTest, CanonicalAddressUnmapsIpv4MappedIpv6) {
  EXPECT_EQ(canonicalAddress("::ffff:203.0.113.7"), "203.0.113.7");
}

TEST(RequestOriginTest, CanonicalAddressRejectsNonAddresses) {
  EXPECT_EQ(canonicalAddress(""), "");
  EXPECT_EQ(canonicalAddress("unknown"), "");
  EXPECT_EQ(canonicalAddress("203.0.113.7:8080"), "");
  EXPECT_EQ(canonicalAddress("<b>203.0.113.7</b>"), "");
  EXPECT_EQ(canonicalAddress("203.0.113.7, 198.51.100.1"), "");
}

TEST(RequestOriginTest, SameNetworkComparesWholeIpv4Address) {
  EXPECT_TRUE(sameNetwork("203.0.113.7", "203.0.113.7"));
  EXPECT_FALSE(sameNetwork("203.0.113.7", "203.0.113.8"));
}

TEST(RequestOriginTest, SameNetworkComparesIpv6Prefix) {
  EXPECT_TRUE(sameNetwork("2001:db8:1:2::7", "2001:db8:1:2:aaaa::1"));
  EXPECT_FALSE(sameNetwork("2001:db8:1:2::7", "2001:db8:1:3::7"));
}

TEST(RequestOriginTest, SameNetworkRejectsUnknownAndMixedFamilies) {
  EXPECT_FALSE(sameNetwork("", ""));
  EXPECT_FALSE(sameNetwork("203.0.113.7", ""));
  EXPECT_FALSE(sameNetwork("203.0.113.7", "::ffff:203.0.113.7"));
}

TEST(RequestOriginTest, ShortenUserAgentKeepsShortValue) {
  EXPECT_EQ(shortenUserAgent("LivingRoomTV/2.1 (webOS 6.0)"), "LivingRoomTV/2.1 (webOS 6.0)");
}

TEST(RequestOriginTest, ShortenUserAgentFoldsUnprintableBytes) {
  // U+202E (right-to-left override) is three bytes of UTF-8; each byte becomes a space.
  EXPECT_EQ(shortenUserAgent("  TV/1\t\u202e(evil)\x7f\n x  "), "TV/1 (evil) x");
  EXPECT_EQ(shortenUserAgent("\x01\x02"), "");
  EXPECT_EQ(shortenUserAgent(""), "");
}

TEST(RequestOriginTest, ShortenUserAgentCutsLongValue) {
  const std::string exact(kMaxUserAgentLength, 'a');
  EXPECT_EQ(shortenUserAgent(exact), exact);
  EXPECT_EQ(shortenUserAgent(exact + "b"), exact + "...");
  // A cut that ends on a space drops it before the "...".
  const std::string words = std::string(kMaxUserAgentLength - 1, 'a') + " bcd";
  EXPECT_EQ(shortenUserAgent(words), std::string(kMaxUserAgentLength - 1, 'a') + "...");
}

}  // namespace
}  // namespace devauth::http
