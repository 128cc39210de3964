// The address row of the consent page, rendered without a server.

#include <gtest/gtest.h>

#include <string>

#include "server/config.h"
#include "web/pages.h"

namespace devauth::web {
namespace {

std::string renderAddressRow(const std::string& request_address,
                             const std::string& browser_address) {
  static const Branding branding;
  const PageContext context{Messages(Language::English), branding};
  ConsentView view;
  view.user_code = "BCDFGHJK";
  view.request_address = request_address;
  view.browser_address = browser_address;
  const std::string html = renderConsent(context, view);
  const std::string start = "<dd class=\"address\">";
  const std::size_t begin = html.find(start);
  if (begin == std::string::npos) {
    return {};
  }
  const std::size_t end = html.find("</dd>", begin);
  return html.substr(begin + start.size(), end - begin - start.size());
}

TEST(ConsentPageTest, SameIpv6PrefixIsSameNetwork) {
  EXPECT_EQ(renderAddressRow("2001:db8:1:2::7", "2001:db8:1:2:aaaa::1"),
            "2001:db8:1:2::7 <span class=\"muted\">(the same network as this browser)</span>");
}

TEST(ConsentPageTest, OtherNetworkShowsBrowserAddress) {
  EXPECT_EQ(renderAddressRow("203.0.113.7", "198.51.100.4"),
            "203.0.113.7 <span class=\"muted\">(a different network from this browser at "
            "198.51.100.4)</span>");
}

TEST(ConsentPageTest, UnknownBrowserAddressLeavesNoteOut) {
  EXPECT_EQ(renderAddressRow("203.0.113.7", ""), "203.0.113.7");
}

TEST(ConsentPageTest, UnknownRequestAddressIsShown) {
  EXPECT_EQ(renderAddressRow("", "198.51.100.4"), "Unknown address");
}

}  // namespace
}  // namespace devauth::web
