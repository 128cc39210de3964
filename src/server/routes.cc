#include "server/routes.h"

#include <chrono>
#include <optional>

#include "http/deferred.h"
#include "http/response.h"
#include "metrics/metrics.h"
#include "oauth/endpoints.h"
#include "web/assets.h"
#include "web/display_page.h"
#include "web/verification_pages.h"

namespace devauth {
namespace {

using http::beast_http::verb;
using SteadyClock = std::chrono::steady_clock;

using RouteHandler = http::Response (*)(Services&, const http::Request&);
// A handler that responds to some requests without waiting, and returns nullopt for the rest.
using QuickRouteHandler = std::optional<http::Response> (*)(Services&, const http::Request&);

// Whether a route's handler may wait, for the store, the disk or the network. A handler marked
// Never also serves as the route's quick handler (http::QuickHandler): the I/O thread that read
// the request runs it, also while every handler thread is busy. Nothing checks that it does
// not wait.
enum class Waits { Maybe, Never };

// Adds `handler` on `method path`, running it with the current Services and counting its
// status and latency in the route's metrics slot. `quick`, when given, is the route's quick
// handler, and must not wait.
void addRoute(http::Router& router, CurrentServices& current, verb method, const std::string& path,
              RouteHandler handler, Waits waits = Waits::Maybe,
              QuickRouteHandler quick_handler = nullptr) {
  const std::size_t slot = metrics::registerEndpoint(http::beast_http::to_string(method), path);
  http::Handler handle = [&current, handler, slot](const http::Request& request) {
    const auto started = SteadyClock::now();
    http::Response response = handler(*current.load(std::memory_order_acquire), request);
    if (request.deferral && request.deferral->held()) {
      // The server sends the held response only after this returns (http/deferred.h).
      request.deferral->onHeldResponseSent([slot, started](const http::Response& sent) {
        metrics::recordRequest(slot, sent.result_int(), SteadyClock::now() - started);
      });
      return response;
    }
    metrics::recordRequest(slot, response.result_int(), SteadyClock::now() - started);
    return response;
  };
  http::QuickHandler quick;
  if (waits == Waits::Never) {
    quick = [handle](const http::Request& request) {
      return std::optional<http::Response>(handle(request));
    };
  } else if (quick_handler != nullptr) {
    quick = [&current, quick_handler, slot](const http::Request& request) {
      const auto started = SteadyClock::now();
      auto response = quick_handler(*current.load(std::memory_order_acquire), request);
      if (response) {
        metrics::recordRequest(slot, response->result_int(), SteadyClock::now() - started);
      }
      return response;
    };
  }
  router.add(method, path, std::move(handle), std::move(quick));
}

http::Response handleHealth(Services&, const http::Request& request) {
  return http::textResponse(request, 200, "ok\n");
}

// Ready when the store responds. The routes exist only once the store is open and migrated, so
// a response here also means the migrations are done.
http::Response handleReady(Services& services, const http::Request& request) {
  auto pinged = services.store.ping();
  if (!pinged) {
    http::Response response = http::textResponse(request, 503, "store unavailable\n");
    response.set(http::beast_http::field::retry_after, "5");
    return response;
  }
  return http::textResponse(request, 200, "ready\n");
}

http::Response handleMetrics(Services&, const http::Request& request) {
  http::Response response = http::textResponse(request, 200, metrics::render());
  response.set(http::beast_http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  response.set(http::beast_http::field::cache_control, "no-store");
  return response;
}

}  // namespace

void registerRoutes(http::Router& router, CurrentServices& current, bool metrics) {
  const auto add = [&router, &current](verb method, const std::string& path, RouteHandler handler,
                                       Waits waits = Waits::Maybe) {
    addRoute(router, current, method, path, handler, waits);
  };
  const Services& services = *current.load();

  add(verb::post, "/oauth/device/begin", oauth::handleDeviceAuthorization);
  // Too-early polls of codes at the largest interval get their slow_down on the I/O thread
  // (oauth/slow_down_cache.h).
  addRoute(router, current, verb::post, "/oauth/device/token", oauth::handleToken, Waits::Maybe,
           oauth::answerEarlyPoll);
  add(verb::post, "/oauth/device/approve", oauth::handleApprove);
  add(verb::post, "/oauth/device/deny", oauth::handleDeny);
  add(verb::post, "/oauth/device/bind", oauth::handleBind);
  add(verb::post, "/oauth/introspect", oauth::handleIntrospection);
  add(verb::post, "/oauth/revoke", oauth::handleRevocation);
  // RFC 8414 §3: the metadata at the well-known path of the issuer, and at the root path too
  // when the issuer has a path, so both a proxy that strips the path and one that keeps it work.
  add(verb::get, "/.well-known/oauth-authorization-server", oauth::handleMetadata);
  if (const std::string path = oauth::metadataPath(services.config.issuer);
      path != "/.well-known/oauth-authorization-server") {
    add(verb::get, path, oauth::handleMetadata);
  }
  add(verb::get, "/oauth/jwks", oauth::handleJwks);
  // OpenID Connect Discovery 1.0 §4 appends the well-known path to the issuer, so with an
  // issuer path both that and the root path are served, as for the metadata above.
  add(verb::get, "/.well-known/openid-configuration", oauth::handleOpenIdConfiguration);
  if (const std::string path = oauth::openIdConfigurationPath(services.config.issuer);
      path != "/.well-known/openid-configuration") {
    add(verb::get, path, oauth::handleOpenIdConfiguration);
  }

  add(verb::get, "/device", web::handleDevicePage);
  add(verb::post, "/device", web::handleCodeSubmit);
  add(verb::post, "/device/login", web::handleLogin);
  add(verb::post, "/device/decision", web::handleDecision);
  add(verb::get, "/device/style.css", web::handleStylesheet, Waits::Never);
  add(verb::get, "/device/display", web::handleDisplayPage);
  add(verb::get, "/assets/device.js", web::handleScript, Waits::Never);
  add(verb::get, "/assets/brand.css", web::handleBrandStylesheet, Waits::Never);
  add(verb::get, "/assets/logo.svg", web::handleLogo, Waits::Never);

  add(verb::get, "/healthz", handleHealth, Waits::Never);
  add(verb::get, "/readyz", handleReady);
  if (metrics) {
    add(verb::get, "/metrics", handleMetrics);
  }
}

void registerMetricsRoute(http::Router& router, CurrentServices& current) {
  addRoute(router, current, verb::get, "/metrics", handleMetrics);
}

}  // namespace devauth
