#pragma once

// The device display page: this server acting as a TV or kiosk for the configured display
// client. It starts a device authorization, shows the user code large with a QR code of
// verification_uri_complete, and turns to approved, denied or expired.
//
// The page must poll for its own authorization without handing the device code to anyone else.
// It therefore carries the device code only in the body of the no-store page it was served in
// (for its script, which polls the token endpoint as a device does) and in an HttpOnly,
// SameSite=Strict cookie limited to /device/display (for the meta refresh that replaces the
// script when scripts are off). Anyone who can open the page can start a flow for the display
// client, which is no more than POST /oauth/device/begin with its public client id allows. The
// display page is a demo and kiosk tool: it is off unless `display_client` is set.

#include "http/message.h"
#include "server/services.h"

namespace devauth::web {

inline constexpr std::string_view kDisplayCookieName = "devauth_display";

// GET /device/display, optionally with ?new=1 to drop the current flow and start another.
http::Response handleDisplayPage(Services& services, const http::Request& request);

}  // namespace devauth::web
