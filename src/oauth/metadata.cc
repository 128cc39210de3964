// GET /.well-known/oauth-authorization-server: the authorization server metadata (RFC 8414).
//
// Members and the reasons for the choices:
// - issuer, token_endpoint and device_authorization_endpoint (RFC 8414 §2, RFC 8628 §4);
// - grant_types_supported lists the device code URN and refresh_token, because without the
//   member a client assumes authorization_code and implicit (RFC 8414 §2);
// - token_endpoint_auth_methods_supported: none for public clients, client_secret_basic and
//   client_secret_post for confidential ones (RFC 6749 §2.3.1);
// - jwks_uri: the keys that sign JWT access tokens and ID tokens (RFC 8414 §2);
// - scopes_supported: the configured list, else the union of the registered clients' scopes;
// - response_types_supported is omitted. devauth has no authorization endpoint, so the only
//   true value is an empty array, and RFC 8414 §3.2 requires members with zero elements to be
//   omitted. Strict validators that require the member will reject this document;
// - introspection_endpoint (RFC 7662) for confidential clients with may_introspect, so its
//   methods are the secret ones; revocation_endpoint (RFC 7009) for every client, so none is
//   listed too (RFC 8414 §2);
// - devauth_approval_endpoint and devauth_denial_endpoint: the approval API for trusted
//   backends, as extension members (RFC 8414 §2 allows additional members);
// - devauth_device_poll_max_wait: the maximum seconds that a device token request with
//   Prefer: wait=N (RFC 7240 §4.3) is held, as an extension member; absent when holding is off.

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <set>

#include "core/grant.h"
#include "http/response.h"
#include "oauth/endpoint_error.h"
#include "oauth/endpoints.h"

namespace devauth::oauth {
namespace {

constexpr std::string_view kWellKnownPath = "/.well-known/oauth-authorization-server";

StoreResult<boost::json::array> supportedScopes(Services& services) {
  std::set<std::string> scopes(services.config.scopes_supported.begin(),
                               services.config.scopes_supported.end());
  if (scopes.empty()) {
    auto clients = services.store.listClients();
    if (!clients) {
      return unexpected(clients.error());
    }
    for (const Client& client : *clients) {
      scopes.insert(client.allowed_scopes.begin(), client.allowed_scopes.end());
    }
  }
  boost::json::array array;
  for (const auto& scope : scopes) {
    array.emplace_back(scope);
  }
  return array;
}

}  // namespace

std::string metadataPath(const std::string& issuer) {
  auto url = boost::urls::parse_uri(issuer);
  if (!url || url->path().empty() || url->path() == "/") {
    return std::string(kWellKnownPath);
  }
  return std::string(kWellKnownPath) + std::string(url->encoded_path());
}

http::Response handleMetadata(Services& services, const http::Request& request) {
  auto scopes = supportedScopes(services);
  if (!scopes) {
    return errorResponse(request, storeFailure(request, "list_clients", scopes.error()));
  }

  const std::string& issuer = services.config.issuer;
  boost::json::object body;
  body["issuer"] = issuer;
  body["token_endpoint"] = issuer + "/oauth/device/token";
  body["device_authorization_endpoint"] = issuer + "/oauth/device/begin";
  body["jwks_uri"] = issuer + "/oauth/jwks";
  body["grant_types_supported"] = boost::json::array{kDeviceCodeGrantType, kRefreshTokenGrantType};
  body["token_endpoint_auth_methods_supported"] =
      boost::json::array{"none", "client_secret_basic", "client_secret_post"};
  if (!scopes->empty()) {
    body["scopes_supported"] = std::move(*scopes);
  }
  body["introspection_endpoint"] = issuer + "/oauth/introspect";
  body["introspection_endpoint_auth_methods_supported"] =
      boost::json::array{"client_secret_basic", "client_secret_post"};
  body["revocation_endpoint"] = issuer + "/oauth/revoke";
  body["revocation_endpoint_auth_methods_supported"] =
      boost::json::array{"none", "client_secret_basic", "client_secret_post"};
  body["devauth_approval_endpoint"] = issuer + "/oauth/device/approve";
  body["devauth_denial_endpoint"] = issuer + "/oauth/device/deny";
  body["devauth_binding_endpoint"] = issuer + "/oauth/device/bind";
  if (services.config.max_poll_wait.count() > 0) {
    body["devauth_device_poll_max_wait"] = services.config.max_poll_wait.count();
  }
  return http::jsonResponse(request, 200, body);
}

}  // namespace devauth::oauth
