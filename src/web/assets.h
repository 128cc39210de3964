#pragma once

// The static files of the pages under /assets/: the script that enhances them, the stylesheet
// of the configured brand colour and the configured logo. Each is public, the same for every
// visitor and cacheable for an hour.

#include <string>
#include <string_view>

#include "http/message.h"
#include "server/services.h"

namespace devauth::web {

// GET /assets/device.js: formats the code as XXXX-XXXX while it is typed, and makes the display
// page poll the token endpoint. Every page works without it.
http::Response handleScript(Services& services, const http::Request& request);

// GET /assets/brand.css: the accent colour of Branding::accent_color; 404 when none is set.
http::Response handleBrandStylesheet(Services& services, const http::Request& request);

// GET /assets/logo.svg: the SVG of Branding::logo_svg; 404 when none is set.
http::Response handleLogo(Services& services, const http::Request& request);

// Whether `color` is a #rrggbb colour, the only form the accent colour takes.
bool isHexColor(std::string_view color);

// The text colour, near-black or white, with the higher contrast ratio (WCAG 2.1 §1.4.3) on the
// #rrggbb background `color`.
std::string_view textColorOn(std::string_view color);

}  // namespace devauth::web
