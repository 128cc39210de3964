#include "web/qr_svg.h"

#include <fmt/format.h>
#include <qrencode.h>

#include <memory>

#include "web/html.h"

namespace devauth::web {
namespace {

struct QrCodeDeleter {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

// Bit 0 of each byte is the module's colour (1 = dark); the other bits describe its role.
bool isDark(const QRcode& code, int row, int column) {
  return (code.data[row * code.width + column] & 1) != 0;
}

}  // namespace

std::optional<std::string> renderQrSvg(std::string_view text, std::string_view label) {
  const std::string input(text);
  const std::unique_ptr<QRcode, QrCodeDeleter> code(
      QRcode_encodeString(input.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
  if (!code) {
    return std::nullopt;
  }

  // Each run of dark modules in a row becomes one rectangle ("M{x} {y}h{n}v1h-{n}z"), which
  // keeps the path about a third of the size of one square per module.
  std::string path;
  for (int row = 0; row < code->width; ++row) {
    int column = 0;
    while (column < code->width) {
      if (!isDark(*code, row, column)) {
        ++column;
        continue;
      }
      const int start = column;
      while (column < code->width && isDark(*code, row, column)) {
        ++column;
      }
      path += fmt::format("M{} {}h{}v1h-{}z", start + kQrQuietZone, row + kQrQuietZone,
                          column - start, column - start);
    }
  }

  const int size = code->width + 2 * kQrQuietZone;
  // Fixed colours, not the page's theme: scanners expect dark modules on a light background.
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr\" viewBox=\"0 0 {0} {0}\" "
      "role=\"img\" aria-label=\"{1}\" shape-rendering=\"crispEdges\">"
      "<rect width=\"{0}\" height=\"{0}\" fill=\"#ffffff\"/>"
      "<path fill=\"#000000\" d=\"{2}\"/>"
      "</svg>",
      size, escapeMarkup(label), path);
}

}  // namespace devauth::web
