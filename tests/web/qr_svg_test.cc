// The SVG QR code of the display page, decoded back into modules and compared with the matrix
// libqrencode produces for the same text.

#include "web/qr_svg.h"

#include <gtest/gtest.h>
#include <qrencode.h>

#include <regex>
#include <string>
#include <vector>

namespace devauth::web {
namespace {

constexpr std::string_view kUri = "http://127.0.0.1:8080/device?user_code=BCDF-GHJK";

using Grid = std::vector<std::vector<bool>>;

// libqrencode's own matrix for `text` at level M, the reference the SVG must reproduce.
Grid referenceModules(std::string_view text) {
  const std::string input(text);
  QRcode* code = QRcode_encodeString(input.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  Grid grid(code->width, std::vector<bool>(code->width));
  for (int row = 0; row < code->width; ++row) {
    for (int column = 0; column < code->width; ++column) {
      grid[row][column] = (code->data[row * code->width + column] & 1) != 0;
    }
  }
  QRcode_free(code);
  return grid;
}

// Decodes the path's "M{x} {y}h{n}v1h-{n}z" runs into a grid of `size` x `size` modules. Fails
// the test on any other command.
Grid decodePath(const std::string& path, int size) {
  Grid grid(size, std::vector<bool>(size));
  const std::regex run(R"(M(\d+) (\d+)h(\d+)v1h-(\d+)z)");
  std::size_t consumed = 0;
  for (auto it = std::sregex_iterator(path.begin(), path.end(), run); it != std::sregex_iterator();
       ++it) {
    const std::smatch& match = *it;
    EXPECT_EQ(static_cast<std::size_t>(match.position()), consumed) << "unexpected path text";
    consumed = match.position() + match.length();
    const int x = std::stoi(match[1]);
    const int y = std::stoi(match[2]);
    const int length = std::stoi(match[3]);
    EXPECT_EQ(length, std::stoi(match[4]));
    for (int column = x; column < x + length; ++column) {
      EXPECT_FALSE(grid.at(y).at(column)) << "module drawn twice at " << column << "," << y;
      grid.at(y).at(column) = true;
    }
  }
  EXPECT_EQ(consumed, path.size()) << "unexpected path text";
  return grid;
}

TEST(QrSvgTest, ModulesMatchLibqrencodeWithQuietZone) {
  const auto svg = renderQrSvg(kUri, "QR code");
  ASSERT_TRUE(svg.has_value());
  const Grid reference = referenceModules(kUri);
  const int width = static_cast<int>(reference.size());
  // 49 bytes in byte mode at level M need version 4 (33 x 33 modules): version 3 holds 42.
  EXPECT_EQ(width, 33);

  std::smatch match;
  ASSERT_TRUE(std::regex_search(*svg, match, std::regex(R"re(viewBox="0 0 (\d+) (\d+)")re")));
  const int size = std::stoi(match[1]);
  EXPECT_EQ(size, width + 2 * kQrQuietZone);
  EXPECT_EQ(std::stoi(match[2]), size);
  ASSERT_TRUE(
      std::regex_search(*svg, match, std::regex(R"re(<path fill="#000000" d="([^"]*)"/>)re")));
  const Grid drawn = decodePath(match[1], size);

  int dark_modules = 0;
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      const bool in_symbol = x >= kQrQuietZone && y >= kQrQuietZone && x < kQrQuietZone + width &&
                             y < kQrQuietZone + width;
      const bool expected = in_symbol && reference[y - kQrQuietZone][x - kQrQuietZone];
      EXPECT_EQ(drawn[y][x], expected) << "module " << x << "," << y;
      dark_modules += expected ? 1 : 0;
    }
  }
  EXPECT_GT(dark_modules, 0);
  // The top-left finder pattern: a dark 7 x 7 ring with a dark 3 x 3 centre.
  for (int i = 0; i < 7; ++i) {
    EXPECT_TRUE(drawn[kQrQuietZone][kQrQuietZone + i]);
    EXPECT_TRUE(drawn[kQrQuietZone + 6][kQrQuietZone + i]);
  }
  EXPECT_FALSE(drawn[kQrQuietZone + 1][kQrQuietZone + 1]);
  EXPECT_TRUE(drawn[kQrQuietZone + 3][kQrQuietZone + 3]);
}

TEST(QrSvgTest, HasWhiteBackgroundAndEscapedLabel) {
  const auto svg = renderQrSvg(kUri, "Code \"A\" & <B>");
  ASSERT_TRUE(svg.has_value());

  EXPECT_EQ(svg->rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg->find("role=\"img\" aria-label=\"Code &quot;A&quot; &amp; &lt;B&gt;\""),
            std::string::npos);
  EXPECT_NE(svg->find("<rect width=\"41\" height=\"41\" fill=\"#ffffff\"/>"), std::string::npos);
  EXPECT_TRUE(svg->ends_with("</svg>"));
}

TEST(QrSvgTest, TooLongTextFails) {
  // Version 40 at level M holds at most 2,331 bytes.
  EXPECT_FALSE(renderQrSvg(std::string(4000, 'a'), "QR code").has_value());
}

}  // namespace
}  // namespace devauth::web
