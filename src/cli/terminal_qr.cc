#include "cli/terminal_qr.h"

#include <qrencode.h>

#include <memory>
#include <string>

namespace devauth::cli {
namespace {

inline constexpr int kQuietZone = 4;

struct QrCodeDeleter {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

// Whether the module at (row, column) is dark. The quiet zone around the symbol is light.
bool isDark(const QRcode& code, int row, int column) {
  if (row < 0 || column < 0 || row >= code.width || column >= code.width) {
    return false;
  }
  // Bit 0 of each byte is the module's colour (1 = dark), and the other bits describe its role.
  return (code.data[row * code.width + column] & 1) != 0;
}

const char* halfBlock(bool upper, bool lower) {
  if (upper && lower) {
    return "\u2588";  // █
  }
  if (upper) {
    return "\u2580";  // ▀
  }
  if (lower) {
    return "\u2584";  // ▄
  }
  return " ";
}

}  // namespace

std::optional<std::string> renderQrCode(std::string_view text, QrColors colors) {
  const std::string input(text);
  std::unique_ptr<QRcode, QrCodeDeleter> code(
      QRcode_encodeString(input.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
  if (!code) {
    return std::nullopt;
  }

  // With ANSI colours the foreground (the drawn blocks) is black, so blocks mark dark modules.
  // Without colours the blocks take the terminal's usually light text colour, so they mark
  // light modules.
  const bool blocks_are_dark = colors == QrColors::Ansi;
  const int first = -kQuietZone;
  const int last = code->width + kQuietZone;
  std::string out;
  for (int row = first; row < last; row += 2) {
    if (colors == QrColors::Ansi) {
      out += "\x1b[30;107m";
    }
    for (int column = first; column < last; ++column) {
      const bool upper = isDark(*code, row, column) == blocks_are_dark;
      const bool lower = row + 1 < last && isDark(*code, row + 1, column) == blocks_are_dark;
      out += halfBlock(upper, lower);
    }
    if (colors == QrColors::Ansi) {
      out += "\x1b[0m";
    }
    out += "\n";
  }
  return out;
}

}  // namespace devauth::cli
