#pragma once

// The OAuth endpoints. Each handler reads validate -> load -> decide -> respond and answers
// errors in RFC 6749 §5.2 JSON.

#include "http/message.h"
#include "server/services.h"

namespace devauth::oauth {

// POST /oauth/device/begin (RFC 8628 §3.1-3.2).
http::Response handleDeviceAuthorization(Services& services, const http::Request& request);

// POST /oauth/device/token with the device_code grant (RFC 8628 §3.4-3.5).
http::Response handleToken(Services& services, const http::Request& request);

// POST /oauth/device/approve and /oauth/device/deny: the approval API for trusted backends.
http::Response handleApprove(Services& services, const http::Request& request);
http::Response handleDeny(Services& services, const http::Request& request);

}  // namespace devauth::oauth
