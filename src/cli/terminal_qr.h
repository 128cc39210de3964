#pragma once

// QR codes drawn in a terminal with Unicode half blocks, two module rows per text line.

#include <optional>
#include <string>
#include <string_view>

namespace devauth::cli {

enum class QrColors {
  // ANSI escapes set black modules on a bright white background, so the code scans on dark and
  // light terminals alike. Use it when the output is a terminal.
  Ansi,
  // No escapes, and light modules are drawn as blocks, which scans on a terminal with light text
  // on a dark background. Use it for logs and pipes, where escapes would show as text.
  Plain,
};

// Renders `text` as a QR code (error correction level M) with a light quiet zone of 4 modules
// on every side, so that scanners find the edges. Each line ends with '\n'. Returns nullopt when
// libqrencode fails, for example when `text` is too long for a QR code.
std::optional<std::string> renderQrCode(std::string_view text, QrColors colors);

}  // namespace devauth::cli
