#include "server/routes.h"

#include "http/response.h"
#include "oauth/endpoints.h"
#include "web/assets.h"
#include "web/display_page.h"
#include "web/verification_pages.h"

namespace devauth {

void registerRoutes(http::Router& router, Services& services) {
  using http::beast_http::verb;
  auto bind = [&services](http::Response (*handler)(Services&, const http::Request&)) {
    return
        [&services, handler](const http::Request& request) { return handler(services, request); };
  };

  router.add(verb::post, "/oauth/device/begin", bind(oauth::handleDeviceAuthorization));
  router.add(verb::post, "/oauth/device/token", bind(oauth::handleToken));
  router.add(verb::post, "/oauth/device/approve", bind(oauth::handleApprove));
  router.add(verb::post, "/oauth/device/deny", bind(oauth::handleDeny));
  router.add(verb::post, "/oauth/introspect", bind(oauth::handleIntrospection));
  router.add(verb::post, "/oauth/revoke", bind(oauth::handleRevocation));
  // RFC 8414 §3: the metadata at the well-known path of the issuer, and at the root path too
  // when the issuer has a path, so both a proxy that strips the path and one that keeps it work.
  router.add(verb::get, "/.well-known/oauth-authorization-server", bind(oauth::handleMetadata));
  if (const std::string path = oauth::metadataPath(services.config.issuer);
      path != "/.well-known/oauth-authorization-server") {
    router.add(verb::get, path, bind(oauth::handleMetadata));
  }
  router.add(verb::get, "/oauth/jwks", bind(oauth::handleJwks));
  // OpenID Connect Discovery 1.0 §4 appends the well-known path to the issuer, so with an
  // issuer path both that and the root path are served, as for the metadata above.
  router.add(verb::get, "/.well-known/openid-configuration",
             bind(oauth::handleOpenIdConfiguration));
  if (const std::string path = oauth::openIdConfigurationPath(services.config.issuer);
      path != "/.well-known/openid-configuration") {
    router.add(verb::get, path, bind(oauth::handleOpenIdConfiguration));
  }

  router.add(verb::get, "/device", bind(web::handleDevicePage));
  router.add(verb::post, "/device", bind(web::handleCodeSubmit));
  router.add(verb::post, "/device/login", bind(web::handleLogin));
  router.add(verb::post, "/device/decision", bind(web::handleDecision));
  router.add(verb::get, "/device/style.css", bind(web::handleStylesheet));
  router.add(verb::get, "/device/display", bind(web::handleDisplayPage));
  router.add(verb::get, "/assets/device.js", bind(web::handleScript));
  router.add(verb::get, "/assets/brand.css", bind(web::handleBrandStylesheet));
  router.add(verb::get, "/assets/logo.svg", bind(web::handleLogo));

  router.add(verb::get, "/healthz",
             [](const http::Request& request) { return http::textResponse(request, 200, "ok\n"); });
}

}  // namespace devauth
