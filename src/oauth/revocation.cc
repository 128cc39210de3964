// POST /oauth/revoke: token revocation for clients (RFC 7009).
//
// The checks run in this order:
//  1. the shared request checks (oauth/request_checks.h) -> invalid_request;
//  2. client authentication (RFC 7009 §2.1; a public client sends client_id) ->
//     invalid_client or invalid_request;
//  3. the client's and the address's request budgets -> 429 temporarily_unavailable
//     (RFC 7009 §5);
//  4. token is present -> invalid_request.
// Then the token is looked up, the hint only ordering the search. A refresh token of the
// calling client revokes its whole grant, with every access token minted from it; an access
// token of the calling client is deleted. An unknown token changes nothing and gets 200
// (RFC 7009 §2.2). A token issued to another client is refused with invalid_grant and stays
// valid (RFC 7009 §2.1). That tells the caller the token exists, which reveals nothing usable:
// tokens carry 256 random bits, so nobody holds another client's token by guessing.

#include <spdlog/spdlog.h>

#include "http/response.h"
#include "limits/abuse_limits.h"
#include "oauth/client_auth.h"
#include "oauth/endpoints.h"
#include "oauth/request_checks.h"
#include "oauth/token_lookup.h"

namespace devauth::oauth {
namespace {

struct RevocationRequest {
  Client client;
  std::string token;
  std::optional<std::string> token_type_hint;
};

EndpointResult<RevocationRequest> validateRevocation(Services& services,
                                                     const http::Request& request) {
  auto form = checkOAuthRequest(request);
  if (!form) {
    return unexpected(EndpointError{form.error()});
  }
  auto authenticated = authenticateClient(services, request, *form);
  if (!authenticated) {
    return unexpected(authenticated.error());
  }
  const Client& client = authenticated->client;

  auto wait =
      limits::countRequest(services.store,
                           limits::revocationCounters(
                               services.config.limits, client.id,
                               limits::sourceAddress(request, services.config.trust_forwarded_for)),
                           services.clock.now());
  if (!wait) {
    return unexpected(storeFailure(request, "count_request", wait.error()));
  }
  if (*wait) {
    spdlog::warn("event=revocation_throttled client_id={} request_id={}", client.id,
                 request.request_id);
    return rateLimited(**wait);
  }

  auto token = form->get("token");
  if (!token) {
    return fail(OAuthErrorCode::InvalidRequest, "Missing token.");
  }
  return RevocationRequest{std::move(authenticated->client), std::move(*token),
                           form->get("token_type_hint")};
}

// Revokes `found` if it belongs to the calling client. Returns what was revoked, for the log.
EndpointResult<std::string_view> revoke(Services& services, const http::Request& request,
                                        const RevocationRequest& revocation,
                                        const PresentedToken& found) {
  if (found.refresh_token && found.refresh_token->grant.client_id == revocation.client.id) {
    auto revoked = services.store.revokeGrant(found.refresh_token->grant.id, services.clock.now());
    if (!revoked) {
      return unexpected(storeFailure(request, "revoke_grant", revoked.error()));
    }
    return std::string_view("grant");
  }
  if (found.access_token && found.access_token->client_id == revocation.client.id) {
    auto removed = services.store.removeToken(found.access_token->token_hash);
    if (!removed) {
      return unexpected(storeFailure(request, "remove_token", removed.error()));
    }
    return std::string_view("access_token");
  }
  if (found.refresh_token || found.access_token) {
    return fail(OAuthErrorCode::InvalidGrant, "The token was not issued to this client.");
  }
  return std::string_view("nothing");
}

}  // namespace

http::Response handleRevocation(Services& services, const http::Request& request) {
  auto revocation = validateRevocation(services, request);
  if (!revocation) {
    return errorResponse(request, revocation.error());
  }

  auto found = findPresentedToken(services.store, revocation->token, revocation->token_type_hint);
  if (!found) {
    return errorResponse(request, storeFailure(request, "find_presented_token", found.error()));
  }

  auto revoked = revoke(services, request, *revocation, *found);
  if (!revoked) {
    return errorResponse(request, revoked.error());
  }
  spdlog::info("event=token_revoked client_id={} outcome={} request_id={}", revocation->client.id,
               *revoked, request.request_id);
  return http::jsonResponse(request, 200, boost::json::object());
}

}  // namespace devauth::oauth
