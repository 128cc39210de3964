#pragma once

// QR codes as inline SVG for the device display page, drawn from libqrencode's module matrix.

#include <optional>
#include <string>
#include <string_view>

namespace devauth::web {

// The light margin on every side, in modules, that scanners need to find the symbol
// (ISO/IEC 18004 §6.3.8).
inline constexpr int kQrQuietZone = 4;

// Renders `text` as a QR code (error correction level M) in an <svg> element whose user units
// are modules: the viewBox is "0 0 N N" with N the symbol width plus both quiet zones, a white
// <rect> fills it and one black <path> holds a 1-module-high rectangle ("M{x} {y}h{n}v1h-{n}z")
// per horizontal run of n dark modules.
// `label` becomes the element's accessible name (role="img", aria-label), escaped here. Returns
// nullopt when libqrencode fails, for example when `text` is too long for a QR code.
std::optional<std::string> renderQrSvg(std::string_view text, std::string_view label);

}  // namespace devauth::web
