// POST /oauth/introspect: token introspection for resource servers (RFC 7662).
//
// The checks run in this order:
//  1. the shared request checks (oauth/request_checks.h) -> invalid_request;
//  2. the caller identifies itself -> 401 invalid_client with WWW-Authenticate, because
//     introspection requires authentication (RFC 7662 §2.1, RFC 6749 §5.2);
//  3. client authentication -> invalid_client, and the caller is a confidential client with
//     may_introspect -> unauthorized_client;
//  4. the caller's request budget -> 429 temporarily_unavailable (RFC 7662 §4);
//  5. token is present -> invalid_request.
// Any token that is unknown, expired, revoked, altered, or not a token at all (a device code,
// for example) gets exactly {"active":false}, so the response reveals nothing else
// (RFC 7662 §2.2).

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "http/response.h"
#include "limits/abuse_limits.h"
#include "oauth/client_auth.h"
#include "oauth/endpoints.h"
#include "oauth/request_checks.h"
#include "oauth/token_lookup.h"

namespace devauth::oauth {
namespace {

struct IntrospectionRequest {
  std::string token;
  std::optional<std::string> token_type_hint;
};

EndpointResult<Client> authenticateCaller(Services& services, const http::Request& request,
                                          const http::FormParams& form) {
  if (request.message[http::beast_http::field::authorization].empty() && !form.get("client_id")) {
    return unexpected(EndpointError{
        makeError(OAuthErrorCode::InvalidClient, "Introspection requires client authentication."),
        true});
  }
  auto authenticated = authenticateClient(services, request, form);
  if (!authenticated) {
    return unexpected(authenticated.error());
  }
  Client& client = authenticated->client;
  if (client.type != ClientType::Confidential || !client.may_introspect) {
    return fail(OAuthErrorCode::UnauthorizedClient,
                "The client is not allowed to introspect tokens.");
  }

  auto wait = limits::countRequest(services.store,
                                   limits::introspectionCounters(services.config.limits, client.id),
                                   services.clock.now());
  if (!wait) {
    return unexpected(storeFailure(request, "count_request", wait.error()));
  }
  if (*wait) {
    spdlog::warn("event=introspection_throttled client_id={} request_id={}", client.id,
                 request.request_id);
    return rateLimited(**wait);
  }
  return std::move(client);
}

EndpointResult<IntrospectionRequest> validateIntrospection(Services& services,
                                                           const http::Request& request) {
  auto form = checkOAuthRequest(request);
  if (!form) {
    return unexpected(EndpointError{form.error()});
  }
  auto caller = authenticateCaller(services, request, *form);
  if (!caller) {
    return unexpected(caller.error());
  }
  auto token = form->get("token");
  if (!token) {
    return fail(OAuthErrorCode::InvalidRequest, "Missing token.");
  }
  return IntrospectionRequest{std::move(*token), form->get("token_type_hint")};
}

std::int64_t unixSeconds(TimePoint time) { return toUnixMillis(time) / 1000; }

// The RFC 7662 §2.2 response: the token's metadata when it is active, else active false only.
boost::json::object describeToken(const Config& config, const PresentedToken& found,
                                  TimePoint now) {
  boost::json::object body;
  if (isAccessTokenActive(found, now)) {
    const IssuedToken& token = *found.access_token;
    body["active"] = true;
    body["scope"] = token.scope;
    body["client_id"] = token.client_id;
    body["sub"] = token.subject;
    body["exp"] = unixSeconds(token.expires_at);
    body["iat"] = unixSeconds(token.issued_at);
    body["token_type"] = "Bearer";
    body["iss"] = config.issuer;
    return body;
  }
  if (found.refresh_token &&
      refreshTokenStatus(*found.refresh_token, now) == RefreshTokenStatus::Active) {
    const RefreshTokenRecord& record = *found.refresh_token;
    body["active"] = true;
    body["scope"] = record.grant.scope;
    body["client_id"] = record.grant.client_id;
    body["sub"] = record.grant.subject;
    body["exp"] = unixSeconds(record.token.expires_at);
    body["iat"] = unixSeconds(record.token.issued_at);
    // RFC 7662 names no type for refresh tokens; the grant type's name is the usual choice.
    body["token_type"] = kRefreshTokenGrantType;
    body["iss"] = config.issuer;
    return body;
  }
  body["active"] = false;
  return body;
}

}  // namespace

http::Response handleIntrospection(Services& services, const http::Request& request) {
  auto introspection = validateIntrospection(services, request);
  if (!introspection) {
    return errorResponse(request, introspection.error());
  }

  auto found =
      findPresentedToken(services.store, introspection->token, introspection->token_type_hint);
  if (!found) {
    return errorResponse(request, storeFailure(request, "find_presented_token", found.error()));
  }

  return http::jsonResponse(request, 200,
                            describeToken(services.config, *found, services.clock.now()));
}

}  // namespace devauth::oauth
