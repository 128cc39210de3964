// The static files under /assets/ and the branding they carry.

#include "web/assets.h"

#include <gtest/gtest.h>

#include <string>

#include "support/http_client.h"
#include "support/test_server.h"

namespace devauth::web {
namespace {

using testing::HttpResult;

TEST(AssetsTest, ScriptIsCacheableSameOriginJavaScript) {
  testing::TestServer server;

  const HttpResult script = testing::httpRequest(server.port(), "GET", "/assets/device.js");
  const HttpResult page = testing::httpRequest(server.port(), "GET", "/device");

  EXPECT_EQ(script.status, 200u);
  EXPECT_EQ(script.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(script.header("Cache-Control"), "public, max-age=3600");
  EXPECT_EQ(script.header("X-Content-Type-Options"), "nosniff");
  EXPECT_NE(script.body.find("function formatCode"), std::string::npos);
  EXPECT_NE(page.body.find("<script src=\"/assets/device.js\" defer></script>"), std::string::npos);
  EXPECT_NE(page.header("Content-Security-Policy").find("script-src 'self';"), std::string::npos);
}

TEST(AssetsTest, BrandFilesAreMissingWithoutBranding) {
  testing::TestServer server;

  const HttpResult css = testing::httpRequest(server.port(), "GET", "/assets/brand.css");
  const HttpResult logo = testing::httpRequest(server.port(), "GET", "/assets/logo.svg");
  const HttpResult page = testing::httpRequest(server.port(), "GET", "/device");

  EXPECT_EQ(css.status, 404u);
  EXPECT_EQ(logo.status, 404u);
  EXPECT_EQ(page.body.find("/assets/brand.css"), std::string::npos);
  EXPECT_EQ(page.body.find("/assets/logo.svg"), std::string::npos);
  EXPECT_NE(page.body.find("<span class=\"product\">Device sign-in</span>"), std::string::npos);
}

TEST(AssetsTest, BrandingReachesPagesAndFiles) {
  const std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1 1\"/>";
  testing::TestServer server([&svg](Config& config) {
    config.branding.product_name = "Acme <TV>";
    config.branding.accent_color = "#ffeb3b";
    config.branding.logo_svg = svg;
  });

  const HttpResult page = testing::httpRequest(server.port(), "GET", "/device");
  const HttpResult css = testing::httpRequest(server.port(), "GET", "/assets/brand.css");
  const HttpResult logo = testing::httpRequest(server.port(), "GET", "/assets/logo.svg");

  EXPECT_NE(page.body.find("<span class=\"product\">Acme &lt;TV&gt;</span>"), std::string::npos);
  EXPECT_NE(page.body.find("<title>Connect a device - Acme &lt;TV&gt;</title>"), std::string::npos);
  EXPECT_NE(page.body.find("<link rel=\"stylesheet\" href=\"/assets/brand.css\">"),
            std::string::npos);
  EXPECT_NE(page.body.find("<img class=\"logo\" src=\"/assets/logo.svg\" alt=\"\""),
            std::string::npos);
  EXPECT_EQ(css.status, 200u);
  EXPECT_EQ(css.header("Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(css.body, ":root {\n  --accent: #ffeb3b;\n  --accent-text: #1b1b1f;\n}\n");
  EXPECT_EQ(logo.status, 200u);
  EXPECT_EQ(logo.header("Content-Type"), "image/svg+xml");
  EXPECT_EQ(logo.header("Content-Security-Policy"),
            "default-src 'none'; style-src 'unsafe-inline'; sandbox");
  EXPECT_EQ(logo.body, svg);
}

TEST(AssetsTest, TextColorHasHigherContrast) {
  // Yellow and light blue take dark text, and the built-in blue and near-black take white.
  EXPECT_EQ(textColorOn("#ffeb3b"), "#1b1b1f");
  EXPECT_EQ(textColorOn("#a8c7fa"), "#1b1b1f");
  EXPECT_EQ(textColorOn("#0b57d0"), "#ffffff");
  EXPECT_EQ(textColorOn("#000000"), "#ffffff");
}

TEST(AssetsTest, OnlyHexColorsAreAccepted) {
  EXPECT_TRUE(isHexColor("#0b57d0"));
  EXPECT_TRUE(isHexColor("#ABCDEF"));
  EXPECT_FALSE(isHexColor("0b57d0"));
  EXPECT_FALSE(isHexColor("#0b57d"));
  EXPECT_FALSE(isHexColor("#0b57d0;"));
  EXPECT_FALSE(isHexColor("#0g57d0"));
  EXPECT_FALSE(isHexColor("red"));
  EXPECT_FALSE(isHexColor(""));
}

}  // namespace
}  // namespace devauth::web
