#pragma once

// Settings of `devauth serve`. Defaults are the documented behaviour; server/settings.h declares
// how the TOML file, the environment and the flags override them.

#include <cstdint>
#include <string>
#include <vector>

#include "core/authorization.h"
#include "http/server.h"
#include "keys/signing_keys.h"
#include "limits/abuse_limits.h"

namespace devauth {

// Branding of the verification pages and the display page.
struct Branding {
  // Shown in the page header and the window title. Empty: the catalogue's "Device sign-in".
  std::string product_name;
  // Accent colour of buttons and links as #rrggbb. Empty: the built-in blue.
  std::string accent_color;
  // The SVG logo file that devauth serve reads at start into logo_svg. Empty: no logo.
  std::string logo_file;
  // The contents of an SVG logo file, served at /assets/logo.svg. Empty: no logo.
  std::string logo_svg;
};

struct Config {
  http::ServerOptions http;
  // Base URL of this server as devices and browsers reach it, without a trailing slash. The
  // verification URI is `<issuer>/device`. Behind a TLS-terminating proxy set it to the https
  // URL people see.
  std::string issuer = "http://127.0.0.1:8080";
  // The store location: a SQLite file path, sqlite:PATH or a postgresql:// URL.
  std::string store = "devauth.db";
  // SQLite: the page cache of each store connection, in MiB (docs/deployment.md, "Durability
  // and caching"). PostgreSQL ignores it.
  std::int64_t store_cache_mib = 32;

  // RFC 8628 §3.2 expires_in: lifetime of the device and user codes.
  seconds device_code_ttl{600};
  // RFC 8628 §3.2 interval: the minimum time between polls that devices are told to keep.
  seconds poll_interval{5};
  PollPolicy poll_policy;
  // Prefer: wait on device token polls (RFC 7240 §4.3): the longest time a poll is held until
  // the authorization is decided (0 turns holding off), and how many polls may be held per
  // client and in the whole process. Beyond a bound a poll is answered at once.
  seconds max_poll_wait{20};
  std::size_t max_held_polls_per_client{100};
  std::size_t max_held_polls{1000};

  // Expired authorizations are kept this long after expiry so that their polls still get
  // expired_token, then purged.
  seconds purge_grace{3600};
  // How often the purge runs.
  seconds purge_period{60};

  // Lifetime of a browser session on the verification pages.
  seconds session_ttl{1800};

  // Refresh tokens (RFC 6749 §6, RFC 9700 §4.14.2): one unused for the idle lifetime expires,
  // and none of one approval is accepted after the absolute lifetime, counted from approval.
  seconds refresh_token_idle_ttl{14 * 24 * 3600};
  seconds refresh_token_max_ttl{90 * 24 * 3600};

  // Rate limits against user-code guessing, flooding and client-secret guessing.
  AbuseLimits limits;
  // Whether the limits count, and the consent page shows, the last X-Forwarded-For address
  // instead of the peer address. Set it only behind a reverse proxy that appends the client's
  // address to that header.
  bool trust_forwarded_for = false;

  // scopes_supported in the metadata (RFC 8414 §2). Empty: the union of the registered
  // clients' allowed scopes.
  std::vector<std::string> scopes_supported;

  // The keys that sign JWT access tokens and ID tokens: algorithm, rotation and key encryption.
  SigningSettings signing;
  // The aud claim of JWT access tokens (RFC 9068 §3): the resource server that accepts them.
  // Empty: the issuer.
  std::string access_token_audience;

  Branding branding;
  // The public client for which GET /device/display starts device authorizations, acting as
  // a TV or kiosk. Empty: the display page is off (404).
  std::string display_client;

  // Minimum level of log lines: trace, debug, info, warn, error, critical or off.
  std::string log_level = "info";
  // "text" for key=value lines, "json" for one JSON object per line.
  std::string log_format = "text";

  // Where /metrics is served: empty serves it on the main listener, "HOST:PORT" on a listener
  // of its own (and not on the main one), "off" nowhere.
  std::string metrics_listen;
};

}  // namespace devauth
