#pragma once

// The OAuth endpoints. Each handler reads validate -> load -> decide -> respond and answers
// errors in RFC 6749 §5.2 JSON.

#include <optional>
#include <string>

#include "core/expected.h"
#include "http/message.h"
#include "oauth/endpoint_error.h"
#include "server/services.h"

namespace devauth::oauth {

// POST /oauth/device/begin (RFC 8628 §3.1-3.2).
http::Response handleDeviceAuthorization(Services& services, const http::Request& request);

// The parameters of a device authorization response (RFC 8628 §3.2).
struct DeviceAuthorizationResponse {
  std::string device_code;
  // Formatted as XXXX-XXXX.
  std::string user_code;
  std::string verification_uri;
  std::string verification_uri_complete;
  seconds expires_in{0};
  seconds interval{0};
};

// Starts a device authorization for the public client `client_id` without a client request,
// for a device that is part of this server (the display page). It runs the checks of
// POST /oauth/device/begin for a request with only client_id: the client must exist, be
// public and be allowed the device grant (else invalid_client or unauthorized_client), it gets
// its default scopes, and the flood limits count against `request`'s source address.
EndpointResult<DeviceAuthorizationResponse> beginDeviceAuthorization(Services& services,
                                                                     const http::Request& request,
                                                                     const std::string& client_id);

// POST /oauth/device/token with the device_code grant (RFC 8628 §3.4-3.5).
http::Response handleToken(Services& services, const http::Request& request);

// Returns the same endpoint's response to a poll that Services::slow_downs shows to be too
// early: slow_down, without waiting for anything, so that the I/O thread may run it. Returns
// nullopt for every other request, which handleToken then handles. Only a public client that
// sends its client_id in the body and is in the store's client cache gets a response here,
// because checking a secret reads the failure counters from the store.
std::optional<http::Response> answerEarlyPoll(Services& services, const http::Request& request);

// GET /.well-known/oauth-authorization-server: the authorization server metadata
// (RFC 8414 §2-3, RFC 8628 §4).
http::Response handleMetadata(Services& services, const http::Request& request);

// The path of the metadata for the configured issuer (RFC 8414 §3.1): the well-known suffix is
// inserted between the host and the issuer's path, so issuer https://h/t1 gives
// /.well-known/oauth-authorization-server/t1.
std::string metadataPath(const std::string& issuer);

// GET /oauth/jwks: the public signing keys as a JWK Set (RFC 7517 §5), cacheable.
http::Response handleJwks(Services& services, const http::Request& request);

// GET /.well-known/openid-configuration: the OpenID Provider metadata (OpenID Connect
// Discovery 1.0 §4), the RFC 8414 metadata plus the OpenID members.
http::Response handleOpenIdConfiguration(Services& services, const http::Request& request);

// The path of the OpenID Provider metadata for the configured issuer: the issuer's path with
// /.well-known/openid-configuration appended (OpenID Connect Discovery 1.0 §4).
std::string openIdConfigurationPath(const std::string& issuer);

// POST /oauth/introspect: token introspection for confidential clients with may_introspect
// (RFC 7662).
http::Response handleIntrospection(Services& services, const http::Request& request);

// POST /oauth/revoke: token revocation (RFC 7009).
http::Response handleRevocation(Services& services, const http::Request& request);

// POST /oauth/device/approve and /oauth/device/deny: the approval API for trusted backends.
http::Response handleApprove(Services& services, const http::Request& request);
http::Response handleDeny(Services& services, const http::Request& request);

// POST /oauth/device/bind: binds a pending code to the one subject that may approve or deny it,
// for the same trusted backends (oauth/assisted_approval.h).
http::Response handleBind(Services& services, const http::Request& request);

}  // namespace devauth::oauth
