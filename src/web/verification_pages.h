#pragma once

// The verification pages people use on their phones (RFC 8628 §3.3): enter the code, sign in,
// see the client and scopes, approve or deny. Server-rendered HTML that works without script.

#include "http/message.h"
#include "server/services.h"

namespace devauth::web {

// GET /device, optionally with ?user_code= from verification_uri_complete: the code form.
http::Response handleDevicePage(Services& services, const http::Request& request);

// POST /device: the code was entered. Shows sign-in, or the consent page when signed in.
http::Response handleCodeSubmit(Services& services, const http::Request& request);

// POST /device/login: username and password, then the consent page.
http::Response handleLogin(Services& services, const http::Request& request);

// POST /device/decision: Approve or Deny, CSRF-checked; then the done page.
http::Response handleDecision(Services& services, const http::Request& request);

// GET /device/style.css: the one stylesheet (the CSP forbids inline styles and scripts).
http::Response handleStylesheet(Services& services, const http::Request& request);

}  // namespace devauth::web
