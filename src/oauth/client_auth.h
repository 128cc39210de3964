#pragma once

// Client authentication at the OAuth endpoints (RFC 6749 §2.3, §3.2.1). Three ways are
// accepted, one per request:
// - HTTP Basic with the client id and secret, each form-encoded before base64
//   (RFC 6749 §2.3.1 and Appendix B);
// - client_secret_post: client_id and client_secret in the body;
// - a public client identified by client_id alone (RFC 8628 §3.1, §3.4).

#include "core/client.h"
#include "http/form.h"
#include "http/message.h"
#include "oauth/endpoint_error.h"
#include "server/services.h"
#include "store/store.h"

namespace devauth::oauth {

struct AuthenticatedClient {
  Client client;
  // Whether the client authenticated with HTTP Basic.
  bool used_basic = false;
};

// Authenticates the client of `request`, whose body is `form`. Errors:
// - invalid_request: no client identification, or Basic and client_secret in the body together;
// - invalid_client: unknown client, wrong or missing secret of a confidential client, a public
//   client sending a secret, a malformed Authorization header, or a body client_id that
//   differs from the Basic one. When Basic was tried, basic_auth_failed is set (401 with
//   WWW-Authenticate);
// - rate_limited (429 temporarily_unavailable with Retry-After) while the failed
//   authentications of the client or of the source address are over their budget
//   (RFC 6749 §2.3.1 brute-force protection). The check runs before the secret is compared,
//   so a right guess made while blocked is rejected as well;
// - temporarily_unavailable or server_error when the store fails.
// Every failure counts against both budgets and is logged.
EndpointResult<AuthenticatedClient> authenticateClient(Services& services,
                                                       const http::Request& request,
                                                       const http::FormParams& form);

}  // namespace devauth::oauth
